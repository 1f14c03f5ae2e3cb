//! Companions from the live cluster: kube-rs watchers of Services, PodDisruptionBudgets,
//! StatefulSets and ConfigMaps feed per-namespace indexes that admissions read from memory.
//! No admission waits on the API server, except to confirm a companion these caches lack
//! before denying for it ([`super::live`]).
//!
//! - **Projections.** A cache holds only what the rules read, packed into one allocation per
//!   object ([`crate::webhook::packed`]). Services and PDBs keep selector, clusterIP, type,
//!   ports; minAvailable / maxUnavailable ([`SvcLite`], [`PdbLite`]) and become an [`Object`]
//!   only when a lookup returns them. StatefulSets ([`Sts`]) keep metadata name/namespace/labels/`statelint.io/*` annotations, and of their
//!   spec what the rules, [`crate::role`], [`crate::system`] and [`crate::ensemble`] read
//!   (replicas, serviceName, selector, claim templates, the pod template's labels, containers'
//!   image / command / args / env / ports / volumeMounts / securityContext, volumes,
//!   securityContext, affinity, topology spread), packed in a binary form of that JSON, and are
//!   built when a lookup returns them; status, managedFields, probes, resources and the rest are
//!   dropped before the object is typed. Names are `Arc<str>`, shared by the store, its
//!   cross-namespace index and the pod label index. ConfigMaps keep only the files the
//!   ensemble rules read ([`crate::ensemble::config_file_matters`]); others are not kept.
//! - **Per-object decoding.** A list page or watch event is decoded as JSON only
//!   ([`Raw`]); each object is then projected on its own. One that does not decode is skipped,
//!   counted (`statelint_watch_decode_failures_total`) and logged once on one short line (kind,
//!   namespace, name, error; never the payload). A bad object never fails its page or kind.
//! - **Relists in place.** Every entry keeps a hash of its resourceVersion. A relist (start-up,
//!   or a watch that expired with 410 Gone) walks the pages into the same store: an unchanged
//!   object is only marked seen (nothing decoded, nothing allocated), a changed one replaces its
//!   entry, and when the list is done the entries it did not see are dropped. The old and the
//!   new list are never both held, and the kinds list one at a time in pages of [`LIST_PAGE`],
//!   so a relist costs one page of one kind over steady state, and admissions keep their
//!   answers during it.
//! - **Health.** Errors back off from 200 ms to at most 5 s and the backoff resets on the first
//!   event after a failure; a 410 relists at once. A kind is *up* once an event arrives or a
//!   retry has gone [`QUIET`] without failing; `/readyz` is 503 until every kind has synced
//!   once, and while a required kind (not ConfigMaps) has been failing for more than
//!   [`DOWN_UNREADY`]. If the service account may not list ConfigMaps, that kind is skipped
//!   with an error log instead of blocking readiness.
//! - StatefulSets are also indexed by pod template label ([`WorkloadLabelIndex`]), so SL010's
//!   `podAffinity` lookups (also cluster-wide) never scan every StatefulSet.
//! - `workloads()` (SL010 `dangling-pod-affinity`) returns the StatefulSets only: Deployments,
//!   DaemonSets and Jobs are not watched, so SL010 may warn about a podAffinity term that only
//!   matches pods of a Deployment.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource;
use kube::api::Api;
use kube::core::ObjectMeta;
use kube::runtime::watcher::{self, Event};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::catalog::{Companions, WorkloadLabelIndex};
use crate::object::{Body, Labels, Object, ObjectKey};
use crate::webhook::metrics::{KindLabels, WatchMetrics};
use crate::webhook::packed::{
    Reader, Writer, alloc_bytes, pack_into, pack_value, unpack_from, unpack_value,
};

/// A kind whose retries have gone this long without failing is up again (a failing kind
/// retries at least every [`MAX_BACKOFF`]).
pub const QUIET: Duration = Duration::from_secs(10);
/// `/readyz` turns 503 when a required kind has been failing for longer than this (the
/// default of `--watch-failure-grace-seconds`).
pub const DOWN_UNREADY: Duration = Duration::from_secs(15);
/// Backoff between failed list/watch attempts: from 200 ms, doubling, at most this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Objects per list page. A page is held whole while it is read (its body, then its items as
/// JSON), and the kinds list one at a time: a relist costs one page of one kind over the steady
/// state. kube's default, 500 StatefulSets a page with four kinds listing at once, made a relist
/// peak 20 MB above the steady state whatever the cluster's size (bench/cache-memory.sh).
pub const LIST_PAGE: u32 = 100;

/// The client the watchers use: `config` without kube's own retries of 429/503/504 (up to 15
/// attempts, waits doubling to minutes, so an outage stayed hidden and recovery waited out the
/// last delay). The watch loop retries itself, from 200 ms to at most [`MAX_BACKOFF`].
pub fn client(mut config: kube::Config) -> kube::Result<kube::Client> {
    config.default_retry = false;
    config.connect_timeout = Some(Duration::from_secs(10));
    kube::Client::try_from(config)
}

// ---------------------------------------------------------------------------------------------
// Raw list/watch items

/// A list or watch item of kind `K`, decoded as JSON only (plus name, namespace and
/// resourceVersion, read leniently): one object that does not match `K`'s schema cannot fail
/// the page or watch event it came in. [`Entry::decode`] types it, one object at a time.
pub struct Raw<K> {
    meta: ObjectMeta,
    value: Value,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Raw<K> {
    fn clone(&self) -> Self {
        Raw {
            meta: self.meta.clone(),
            value: self.value.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Raw<K> {
    /// Names the object only: a payload never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Raw({}/{})",
            self.meta.namespace.as_deref().unwrap_or(""),
            self.meta.name.as_deref().unwrap_or("")
        )
    }
}

impl<'de, K> Deserialize<'de> for Raw<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = d.deserialize_any(Keep(TOP))?;
        let meta = value.get("metadata");
        let s = |f: &str| {
            meta.and_then(|m| m.get(f))
                .and_then(Value::as_str)
                .map(String::from)
        };
        Ok(Raw {
            meta: ObjectMeta {
                name: s("name"),
                namespace: s("namespace"),
                resource_version: s("resourceVersion"),
                ..Default::default()
            },
            value,
            _kind: PhantomData,
        })
    }
}

/// Which keys of a JSON object a [`Keep`] decodes; the others are skipped as they are read
/// (never allocated): status, managedFields, most annotations (a last-applied-configuration
/// annotation holds a whole copy of the object).
#[derive(Clone, Copy)]
enum Fields {
    /// Only these keys, each decoded as `Keep(.1)` (or kept whole).
    Only(&'static [(&'static str, Option<Fields>)]),
    /// Keys starting with this prefix, kept whole.
    Prefix(&'static str),
}

const TOP: Fields = Fields::Only(&[
    ("apiVersion", None),
    ("kind", None),
    ("metadata", Some(META)),
    ("spec", None),
    ("data", None),
]);
const META: Fields = Fields::Only(&[
    ("name", None),
    ("namespace", None),
    ("resourceVersion", None),
    ("labels", None),
    ("deletionTimestamp", None),
    ("annotations", Some(Fields::Prefix("statelint.io/"))),
]);

/// Decodes a JSON object keeping only some [`Fields`]; any other JSON value becomes `null`
/// (so a malformed object fails alone, when it is projected, not the page it came in).
#[derive(Clone, Copy)]
struct Keep(Fields);

impl<'de> serde::de::DeserializeSeed<'de> for Keep {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Keep {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let keep = match self.0 {
                Fields::Only(fields) => fields.iter().find(|(k, _)| *k == key).map(|(_, f)| *f),
                Fields::Prefix(p) => key.starts_with(p).then_some(None),
            };
            match keep {
                Some(Some(inner)) => {
                    let v = map.next_value_seed(Keep(inner))?;
                    out.insert(key.into_owned(), v);
                }
                Some(None) => {
                    let v: Value = map.next_value()?;
                    out.insert(key.into_owned(), v);
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Raw<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

// ---------------------------------------------------------------------------------------------
// Projections

/// Keep only `keys` of a JSON object (absent keys stay absent).
fn pick(v: Option<&Value>, keys: &[&str]) -> Value {
    let mut out = Map::new();
    if let Some(m) = v.and_then(Value::as_object) {
        for k in keys {
            if let Some(x) = m.get(*k) {
                out.insert((*k).to_string(), x.clone());
            }
        }
    }
    Value::Object(out)
}

/// Apply `f` to each element of the array at `key` of `parent` (when it is an array).
fn each(parent: &mut Value, key: &str, f: impl Fn(&Value) -> Value) {
    if let Some(Value::Array(items)) = parent.get_mut(key) {
        for x in items.iter_mut() {
            *x = f(x);
        }
    }
}

/// metadata: name, namespace, (labels), `statelint.io/*` annotations, deletionTimestamp.
fn project_meta(meta: Option<&Value>, labels: bool) -> Value {
    let mut out = pick(
        meta,
        if labels {
            &["name", "namespace", "labels", "deletionTimestamp"]
        } else {
            &["name", "namespace", "deletionTimestamp"]
        },
    );
    if let Some(Value::Object(a)) = meta.and_then(|m| m.get("annotations")) {
        let kept: Map<String, Value> = a
            .iter()
            .filter(|(k, _)| k.starts_with("statelint.io/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            out["annotations"] = Value::Object(kept);
        }
    }
    out
}

const CONTAINER_FIELDS: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "ports",
    "volumeMounts",
    "securityContext",
];
const POD_FIELDS: &[&str] = &[
    "containers",
    "initContainers",
    "volumes",
    "securityContext",
    "affinity",
    "topologySpreadConstraints",
];
const STS_SPEC_FIELDS: &[&str] = &[
    "replicas",
    "serviceName",
    "selector",
    "volumeClaimTemplates",
    "template",
];

/// What the rules read of a StatefulSet (see the module docs).
fn project_statefulset(v: &Value) -> Value {
    let mut spec = pick(v.get("spec"), STS_SPEC_FIELDS);
    each(&mut spec, "volumeClaimTemplates", |t| {
        let mut out = pick(Some(t), &["spec"]);
        out["metadata"] = pick(t.get("metadata"), &["name", "annotations"]);
        out
    });
    if let Some(t) = spec.get("template") {
        let mut pod = pick(t.get("spec"), POD_FIELDS);
        each(&mut pod, "containers", |c| pick(Some(c), CONTAINER_FIELDS));
        each(&mut pod, "initContainers", |c| {
            pick(Some(c), CONTAINER_FIELDS)
        });
        let template = serde_json::json!({
            "metadata": pick(t.get("metadata"), &["labels"]),
            "spec": pod,
        });
        spec["template"] = template;
    }
    serde_json::json!({
        "apiVersion": v.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": v.get("kind").cloned().unwrap_or(Value::Null),
        "metadata": project_meta(v.get("metadata"), true),
        "spec": spec,
    })
}

/// A ConfigMap with only the files the ensemble rules read, or None when it has none.
fn project_config_map(v: &Value) -> Option<Value> {
    let data: Map<String, Value> = v
        .get("data")?
        .as_object()?
        .iter()
        .filter(|(k, val)| {
            val.as_str()
                .is_some_and(|s| crate::ensemble::config_file_matters(k, s))
        })
        .map(|(k, val)| (k.clone(), val.clone()))
        .collect();
    if data.is_empty() {
        return None;
    }
    Some(serde_json::json!({
        "apiVersion": v.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": v.get("kind").cloned().unwrap_or(Value::Null),
        "metadata": project_meta(v.get("metadata"), false),
        "data": data,
    }))
}

/// (namespace, name)
type NsName = (Arc<str>, Arc<str>);

/// What the rules read of a Service: selector, clusterIP(s), type, ports; packed into one
/// allocation ([`Writer`]): a flag byte for the selector, the selector's pairs, clusterIP,
/// `clusterIPs[0]` (read only when `clusterIP` is not set), type, then per port its number, name
/// and targetPort.
#[derive(Debug, Clone)]
pub struct SvcLite(Box<[u8]>);

impl SvcLite {
    fn from_service(s: Service) -> SvcLite {
        let spec = s.spec.unwrap_or_default();
        let first_cluster_ip = match spec.cluster_ip {
            Some(_) => None,
            None => spec.cluster_ips.and_then(|v| v.into_iter().next()),
        };
        let mut w = Writer::default();
        match &spec.selector {
            Some(sel) => {
                w.u8(1);
                w.pairs(sel.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            }
            None => w.u8(0),
        }
        w.opt_str(spec.cluster_ip.as_deref());
        w.opt_str(first_cluster_ip.as_deref());
        w.opt_str(spec.type_.as_deref());
        let ports = spec.ports.unwrap_or_default();
        w.varint(ports.len());
        for p in &ports {
            w.i32(p.port);
            w.opt_str(p.name.as_deref());
            w.int_or_str(p.target_port.as_ref());
        }
        SvcLite(w.finish())
    }

    /// `selector::map_matches` on the packed selector.
    fn selects(&self, labels: &Labels) -> bool {
        let mut r = Reader(&self.0);
        if r.u8() == 0 {
            return false;
        }
        let mut pairs = r.pairs().peekable();
        pairs.peek().is_some() && pairs.all(|(k, v)| labels.get(k).map(String::as_str) == Some(v))
    }

    fn service(&self) -> ServiceSpec {
        let mut r = Reader(&self.0);
        let selector = (r.u8() == 1).then(|| {
            r.pairs()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        });
        let cluster_ip = r.opt_str().map(String::from);
        let cluster_ips = r.opt_str().map(|s| vec![s.to_string()]);
        let type_ = r.opt_str().map(String::from);
        let n = r.varint();
        let ports: Vec<ServicePort> = (0..n)
            .map(|_| ServicePort {
                port: r.i32(),
                name: r.opt_str().map(String::from),
                target_port: r.int_or_str(),
                ..Default::default()
            })
            .collect();
        ServiceSpec {
            selector,
            cluster_ip,
            cluster_ips,
            type_,
            ports: (!ports.is_empty()).then_some(ports),
            ..Default::default()
        }
    }
}

/// What the rules read of a PodDisruptionBudget: selector, minAvailable, maxUnavailable;
/// packed into one allocation ([`Writer`]): whether there is a selector, its matchLabels (a flag,
/// then the pairs), its matchExpressions (a flag, then their JSON, packed), then minAvailable and
/// maxUnavailable.
#[derive(Debug, Clone)]
pub struct PdbLite(Box<[u8]>);

impl PdbLite {
    fn from_pdb(p: PodDisruptionBudget) -> PdbLite {
        let spec = p.spec.unwrap_or_default();
        let mut w = Writer::default();
        match &spec.selector {
            None => w.u8(0),
            Some(sel) => {
                w.u8(1);
                match &sel.match_labels {
                    None => w.u8(0),
                    Some(m) => {
                        w.u8(1);
                        w.pairs(m.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    }
                }
                match &sel.match_expressions {
                    None => w.u8(0),
                    Some(e) => {
                        w.u8(1);
                        let v = serde_json::to_value(e).expect("expressions serialize");
                        pack_into(&mut w, &v);
                    }
                }
            }
        }
        w.int_or_str(spec.min_available.as_ref());
        w.int_or_str(spec.max_unavailable.as_ref());
        PdbLite(w.finish())
    }

    /// selector, minAvailable, maxUnavailable
    fn read(
        &self,
    ) -> (
        Option<LabelSelector>,
        Option<IntOrString>,
        Option<IntOrString>,
    ) {
        let mut r = Reader(&self.0);
        let selector = (r.u8() == 1).then(|| {
            let match_labels = (r.u8() == 1).then(|| {
                r.pairs()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            });
            let match_expressions = (r.u8() == 1).then(|| {
                serde_json::from_value(unpack_from(&mut r)).expect("expressions we packed")
            });
            LabelSelector {
                match_labels,
                match_expressions,
            }
        });
        (selector, r.int_or_str(), r.int_or_str())
    }

    fn selects(&self, labels: &Labels) -> bool {
        crate::selector::pdb_matches(self.read().0.as_ref(), false, labels)
    }
}

/// A cached object of one kind, built from its JSON one object at a time.
pub trait Entry: Sized + Send + Sync + 'static {
    /// The entry of `value` (apiVersion and kind set); `Ok(None)` when it is not kept (a
    /// ConfigMap with no file the rules read); `Err` when it does not decode.
    fn decode(value: Value) -> Result<Option<Self>, String>;
    /// The object rules see.
    fn object(&self, namespace: &str, name: &str) -> Arc<Object>;
    /// Heap bytes it points to, estimated (its inline bytes sit in the store's map nodes).
    fn bytes(&self) -> usize;
    /// Heap bytes the kind holds outside its entries, estimated (StatefulSets: the objects
    /// built for lookups, [`HOT`]).
    fn shared_bytes() -> usize {
        0
    }
    /// The cross-namespace index key: a Service's name, a StatefulSet's `serviceName`.
    fn secondary<'a>(&'a self, name: &'a str) -> Option<&'a str>;
    /// A workload's pod template labels, for the pod label index (SL010's `podAffinity`).
    fn pod_labels(&self) -> Vec<(&str, &str)> {
        Vec::new()
    }
}

/// A projected [`Object`] (ConfigMaps; StatefulSets only while they are checked) and its
/// estimated heap bytes (ConfigMaps: [`config_map_bytes`]).
#[derive(Debug, Clone)]
pub struct Projected {
    pub object: Arc<Object>,
    bytes: usize,
}

fn typed_object(value: Value) -> Result<Option<Projected>, String> {
    match Object::from_value(value, None, "default") {
        Ok(Some(o)) => Ok(Some(Projected {
            bytes: config_map_bytes(&o),
            object: Arc::new(o),
        })),
        Ok(None) => Err("no apiVersion or kind".into()),
        Err(e) if e.pointer.is_empty() => Err(e.message),
        Err(e) => Err(format!("{}: {}", e.pointer, e.message)),
    }
}

/// Heap bytes of a projected ConfigMap [`Object`] (its `Arc`, the typed ConfigMap, the key's
/// and metadata's strings, the kept files); 0 for other kinds.
fn config_map_bytes(o: &Object) -> usize {
    use crate::heap::{alloc_bytes, btree};
    let Some(cm) = o.config_map() else { return 0 };
    let s = |t: &str| alloc_bytes(t.len());
    let k = &o.key;
    let meta = &cm.metadata;
    alloc_bytes(16 + size_of::<Object>())
        + alloc_bytes(size_of::<ConfigMap>())
        + s(&k.api_version)
        + s(&k.kind)
        + s(&k.namespace)
        + s(&k.name)
        + meta.name.as_deref().map_or(0, s)
        + meta.namespace.as_deref().map_or(0, s)
        + meta.annotations.as_ref().map_or(0, |a| {
            btree::<String, String>(a.len()) + a.iter().map(|(k, v)| s(k) + s(v)).sum::<usize>()
        })
        + cm.data.as_ref().map_or(0, |d| {
            btree::<String, String>(d.len()) + d.iter().map(|(k, v)| s(k) + s(v)).sum::<usize>()
        })
}

/// A StatefulSet, kept as its projection packed ([`pack_value`]; a typed `StatefulSet` costs
/// ~20 KB: k8s-openapi's `Volume` alone is 3 KB inline, `Container` 2 KB), with what lookups filter on
/// (`serviceName`, pod template labels, packed). It becomes an [`Object`] when a lookup returns
/// it, through a small cache of the last ones built ([`HOT_SLOTS`]).
#[derive(Debug, Clone)]
pub struct Sts {
    id: u64,
    packed: Box<[u8]>,
    service_name: Option<Box<str>>,
    /// The pod template's labels, packed ([`Writer::pairs`]).
    pod_labels: Box<[u8]>,
}

/// Objects built from [`Sts`] entries, direct-mapped by entry id: a lookup that returns the
/// same StatefulSet again (a ZooKeeper ensemble many Kafka StatefulSets name) does not rebuild
/// it. At most this many are held (~20 KB each), only once admissions have looked them up.
pub const HOT_SLOTS: usize = 512;
#[allow(clippy::type_complexity)]
static HOT: [Mutex<Option<(u64, Arc<Object>, usize)>>; HOT_SLOTS] =
    [const { Mutex::new(None) }; HOT_SLOTS];
/// Estimated heap bytes of the objects [`HOT`] holds ([`built_bytes`] each).
static HOT_BYTES: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Estimated heap bytes of `o`, an [`Object`] built from a packed StatefulSet projection of
/// `packed` bytes: the typed `StatefulSet` and its lists (their items are large inline: a
/// `Container` ~2 KB, a `Volume` ~3 KB), plus the strings, maps and boxes they point to, about
/// [`BUILT_PER_PACKED_BYTE`] per packed byte (examples/cache-probe.rs measures it).
fn built_bytes(o: &Object, packed: usize) -> usize {
    use crate::heap::{alloc_bytes, vec};
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, EnvVar, PersistentVolumeClaim, Volume, VolumeMount,
    };
    let mut b = alloc_bytes(16 + size_of::<Object>())
        + alloc_bytes(size_of::<StatefulSet>())
        + packed * BUILT_PER_PACKED_BYTE;
    let Some(spec) = o.statefulset().and_then(|s| s.spec.as_ref()) else {
        return b;
    };
    b += vec::<PersistentVolumeClaim>(spec.volume_claim_templates.as_ref().map_or(0, Vec::len));
    if let Some(pod) = spec.template.spec.as_ref() {
        b += vec::<Volume>(pod.volumes.as_ref().map_or(0, Vec::len));
        for list in [Some(&pod.containers), pod.init_containers.as_ref()]
            .into_iter()
            .flatten()
        {
            b += vec::<Container>(list.len());
            for c in list {
                b += vec::<EnvVar>(c.env.as_ref().map_or(0, Vec::len))
                    + vec::<ContainerPort>(c.ports.as_ref().map_or(0, Vec::len))
                    + vec::<VolumeMount>(c.volume_mounts.as_ref().map_or(0, Vec::len));
            }
        }
    }
    b
}
const BUILT_PER_PACKED_BYTE: usize = 6;

impl Sts {
    fn build(&self) -> Arc<Object> {
        let slot = &HOT[(self.id % HOT_SLOTS as u64) as usize];
        if let Some((id, o, _)) = &*slot.lock().unwrap_or_else(|e| e.into_inner())
            && *id == self.id
        {
            return o.clone();
        }
        let v = unpack_value(&self.packed);
        let o = match Object::from_value(v, None, "default") {
            Ok(Some(o)) => Arc::new(o),
            // it was built once when cached, from the same text
            _ => unreachable!("a cached StatefulSet projection no longer builds"),
        };
        let bytes = built_bytes(&o, self.packed.len());
        // the accounting under the slot's lock: the bytes of the object replaced were added
        // before it was put there, so the sum never dips below zero between the two updates
        let old = {
            let mut held = slot.lock().unwrap_or_else(|e| e.into_inner());
            HOT_BYTES.fetch_add(bytes, Ordering::Relaxed);
            let old = held.replace((self.id, o.clone(), bytes));
            if let Some((_, _, b)) = &old {
                HOT_BYTES.fetch_sub(*b, Ordering::Relaxed);
            }
            old
        };
        // the replaced object is freed outside the lock
        drop(old);
        o
    }

    fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut r = Reader(&self.pod_labels);
        let n = r.varint();
        (0..n).map(move |_| (r.str(), r.str()))
    }

    /// Does `sel` select the pod template's labels? (Without building the object.)
    fn pods_match(&self, sel: &LabelSelector) -> bool {
        let labels: Labels = self
            .labels()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        crate::selector::matches(sel, &labels)
    }
}

/// ConfigMaps.
#[derive(Debug, Clone)]
pub struct Cm(pub Projected);

impl Entry for Sts {
    fn decode(value: Value) -> Result<Option<Self>, String> {
        let projected = project_statefulset(&value);
        let packed = pack_value(&projected);
        // typed once here, so a StatefulSet that does not decode is skipped now, not at a lookup
        // (and not kept: built objects are held only for lookups, see `HOT`)
        let Some(p) = typed_object(projected)? else {
            return Ok(None);
        };
        let o = p.object;
        let mut labels = Writer::default();
        let none = Labels::new();
        let pod_labels = o.pod_labels().unwrap_or(&none);
        labels.pairs(pod_labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Ok(Some(Sts {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            packed,
            service_name: o.service_name().map(Box::from),
            pod_labels: labels.finish(),
        }))
    }
    fn object(&self, _: &str, _: &str) -> Arc<Object> {
        self.build()
    }
    fn bytes(&self) -> usize {
        alloc_bytes(self.packed.len())
            + self
                .service_name
                .as_deref()
                .map_or(0, |s| alloc_bytes(s.len()))
            + alloc_bytes(self.pod_labels.len())
    }
    fn secondary<'a>(&'a self, _: &'a str) -> Option<&'a str> {
        self.service_name.as_deref()
    }
    fn shared_bytes() -> usize {
        HOT_BYTES.load(Ordering::Relaxed)
    }
    fn pod_labels(&self) -> Vec<(&str, &str)> {
        self.labels().collect()
    }
}

impl Entry for Cm {
    fn decode(value: Value) -> Result<Option<Self>, String> {
        match project_config_map(&value) {
            Some(v) => Ok(typed_object(v)?.map(Cm)),
            None => Ok(None),
        }
    }
    fn object(&self, _: &str, _: &str) -> Arc<Object> {
        self.0.object.clone()
    }
    fn bytes(&self) -> usize {
        self.0.bytes
    }
    fn secondary<'a>(&'a self, _: &'a str) -> Option<&'a str> {
        None
    }
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        format!("{path}: {}", e.into_inner())
    })
}

fn lite_key(api_version: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn lite_meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        ..Default::default()
    }
}

fn lite_object(key: ObjectKey, body: Body) -> Arc<Object> {
    Arc::new(Object {
        key,
        labels: Labels::new(),
        ignore: Vec::new(),
        ignore_reason: None,
        origin: None,
        body,
        placeholders: Vec::new(),
        derived: Default::default(),
    })
}

impl Entry for SvcLite {
    fn decode(value: Value) -> Result<Option<Self>, String> {
        let mut spec = pick(
            value.get("spec"),
            &["selector", "clusterIP", "clusterIPs", "type", "ports"],
        );
        each(&mut spec, "ports", |p| {
            pick(Some(p), &["port", "name", "targetPort"])
        });
        let v = serde_json::json!({"metadata": project_meta(value.get("metadata"), false), "spec": spec});
        Ok(Some(SvcLite::from_service(typed(v)?)))
    }
    fn object(&self, namespace: &str, name: &str) -> Arc<Object> {
        let svc = Service {
            metadata: lite_meta(namespace, name),
            spec: Some(self.service()),
            status: None,
        };
        lite_object(
            lite_key("v1", "Service", namespace, name),
            Body::Service(Box::new(svc)),
        )
    }
    fn bytes(&self) -> usize {
        alloc_bytes(self.0.len())
    }
    fn secondary<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        Some(name)
    }
}

impl Entry for PdbLite {
    fn decode(value: Value) -> Result<Option<Self>, String> {
        let spec = pick(
            value.get("spec"),
            &["selector", "minAvailable", "maxUnavailable"],
        );
        let v = serde_json::json!({"metadata": project_meta(value.get("metadata"), false), "spec": spec});
        Ok(Some(PdbLite::from_pdb(typed(v)?)))
    }
    fn object(&self, namespace: &str, name: &str) -> Arc<Object> {
        let (selector, min_available, max_unavailable) = self.read();
        let pdb = PodDisruptionBudget {
            metadata: lite_meta(namespace, name),
            spec: Some(PodDisruptionBudgetSpec {
                selector,
                min_available,
                max_unavailable,
                ..Default::default()
            }),
            status: None,
        };
        lite_object(
            lite_key("policy/v1", "PodDisruptionBudget", namespace, name),
            Body::Pdb(Box::new(pdb)),
        )
    }
    fn bytes(&self) -> usize {
        alloc_bytes(self.0.len())
    }
    fn secondary<'a>(&'a self, _: &'a str) -> Option<&'a str> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Stores

fn rv_hash(rv: &str) -> u64 {
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    h.write(rv.as_bytes());
    h.finish()
}

struct Slot<E> {
    /// Hash of the resourceVersion it was built from (0: unknown).
    rv: u64,
    /// The relist that last saw it.
    generation: u32,
    bytes: u32,
    entry: E,
}

/// Objects of one kind: namespace -> name -> entry (sorted, for stable answers), and a
/// secondary index across namespaces: Services by name, StatefulSets by `serviceName` (to find
/// an ensemble wherever it runs). Names are `Arc<str>`, shared by the indexes.
pub struct Store<E> {
    by_ns: HashMap<Arc<str>, BTreeMap<Arc<str>, Slot<E>>>,
    /// secondary key -> (namespace, name), sorted
    by_key: HashMap<Arc<str>, Vec<NsName>>,
    /// Workloads by pod template label (SL010's cross-namespace `podAffinity` lookups).
    pods: WorkloadLabelIndex,
    /// Objects that did not decode: (namespace, name) -> (resourceVersion hash, generation).
    bad: HashMap<NsName, (u64, u32)>,
    generation: u32,
    len: usize,
    bytes: usize,
}

impl<E> Default for Store<E> {
    fn default() -> Self {
        Store {
            by_ns: HashMap::new(),
            by_key: HashMap::new(),
            pods: WorkloadLabelIndex::default(),
            bad: HashMap::new(),
            generation: 0,
            len: 0,
            bytes: 0,
        }
    }
}

/// What [`Store::apply`] did.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    Unchanged,
    Stored,
    /// Not kept (e.g. a ConfigMap with no file the rules read).
    Dropped,
    /// Did not decode; the message is Some the first time this version is seen.
    Failed(Option<String>),
}

impl<E: Entry> Store<E> {
    fn ns_key(&self, ns: &str) -> Arc<str> {
        self.by_ns
            .get_key_value(ns)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| Arc::from(ns))
    }

    fn put(&mut self, ns: &str, name: &str, rv: u64, entry: E) {
        self.remove(ns, name);
        let ns = self.ns_key(ns);
        let name: Arc<str> = Arc::from(name);
        // what the entry points to and its name (shared by the indexes); the maps and indexes
        // are counted by `bytes()`
        let bytes = entry.bytes() + crate::heap::arc_str(name.len());
        if let Some(k) = entry.secondary(&name) {
            let key = match self.by_key.get_key_value(k) {
                Some((key, _)) => key.clone(),
                None if k == &*name => name.clone(),
                None => Arc::from(k),
            };
            let list = self.by_key.entry(key).or_default();
            let item = (ns.clone(), name.clone());
            if let Err(i) = list.binary_search(&item) {
                list.insert(i, item);
            }
        }
        self.pods.add(&ns, &name, entry.pod_labels());
        self.len += 1;
        self.bytes += bytes;
        self.by_ns.entry(ns).or_default().insert(
            name,
            Slot {
                rv,
                generation: self.generation,
                bytes: bytes as u32,
                entry,
            },
        );
    }

    /// Insert or replace (tests and callers outside a watch).
    pub fn insert(&mut self, namespace: &str, name: &str, entry: E) {
        self.put(namespace, name, 0, entry);
    }

    pub fn remove(&mut self, ns: &str, name: &str) {
        let Some(m) = self.by_ns.get_mut(ns) else {
            return;
        };
        if let Some(old) = m.remove(name) {
            self.pods.remove(ns, name, old.entry.pod_labels());
            self.len -= 1;
            self.bytes -= old.bytes as usize;
            if let Some(k) = old.entry.secondary(name)
                && let Some(list) = self.by_key.get_mut(k)
            {
                list.retain(|(n, m)| !(&**n == ns && &**m == name));
                if list.is_empty() {
                    self.by_key.remove(k);
                }
            }
        }
        if m.is_empty() {
            self.by_ns.remove(ns);
        }
    }

    /// Apply a listed or watched object: unchanged (same resourceVersion) objects are only
    /// marked seen.
    fn apply(&mut self, ns: &str, name: &str, rv: Option<&str>, value: Value) -> Applied {
        let rv = rv.map_or(0, rv_hash);
        let generation = self.generation;
        if rv != 0
            && let Some(slot) = self.by_ns.get_mut(ns).and_then(|m| m.get_mut(name))
            && slot.rv == rv
        {
            slot.generation = generation;
            return Applied::Unchanged;
        }
        match E::decode(value) {
            Ok(Some(e)) => {
                if !self.bad.is_empty() {
                    self.bad.remove(&(Arc::from(ns), Arc::from(name)));
                }
                self.put(ns, name, rv, e);
                Applied::Stored
            }
            Ok(None) => {
                self.remove(ns, name);
                Applied::Dropped
            }
            Err(msg) => {
                // a stale version would answer for an object that changed: drop it
                self.remove(ns, name);
                let key = (self.ns_key(ns), Arc::from(name));
                let first = self.bad.get(&key).is_none_or(|(r, _)| *r != rv || rv == 0);
                self.bad.insert(key, (rv, generation));
                Applied::Failed(first.then_some(msg))
            }
        }
    }

    fn delete(&mut self, ns: &str, name: &str) {
        self.remove(ns, name);
        if !self.bad.is_empty() {
            self.bad.remove(&(Arc::from(ns), Arc::from(name)));
        }
    }

    /// A relist starts: entries it does not see again are dropped by [`Self::end_relist`].
    fn begin_relist(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The relist is complete: drop what it did not see; returns how many.
    fn end_relist(&mut self) -> usize {
        let g = self.generation;
        let stale: Vec<NsName> = self
            .by_ns
            .iter()
            .flat_map(|(ns, m)| {
                m.iter()
                    .filter(|(_, s)| s.generation != g)
                    .map(|(n, _)| (ns.clone(), n.clone()))
            })
            .collect();
        for (ns, name) in &stale {
            self.remove(ns, name);
        }
        self.bad.retain(|_, (_, gen_)| *gen_ == g);
        stale.len()
    }

    fn get(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
        self.by_ns
            .get(ns)?
            .get(name)
            .map(|s| s.entry.object(ns, name))
    }

    fn in_ns<'a>(&'a self, ns: &str) -> impl Iterator<Item = (&'a str, &'a E)> {
        self.by_ns
            .get(ns)
            .into_iter()
            .flat_map(|m| m.iter().map(|(n, s)| (&**n, &s.entry)))
    }

    /// Objects whose secondary key is `key`, every namespace.
    fn by_secondary(&self, key: &str) -> Vec<Arc<Object>> {
        self.by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|(ns, name)| self.get(ns, name))
            .collect()
    }

    /// Every entry, namespace by namespace.
    fn all(&self) -> impl Iterator<Item = (&str, &str, &E)> {
        self.by_ns
            .iter()
            .flat_map(|(ns, m)| m.iter().map(move |(n, s)| (&**ns, &**n, &s.entry)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Estimated heap bytes held: the entries and their names (counted as they come and go),
    /// the maps and indexes (from their lengths and capacities: a walk of the secondary and pod
    /// label indexes, not of the entries), and what the kind holds besides
    /// ([`Entry::shared_bytes`]). examples/cache-probe.rs compares it with the allocator's count.
    pub fn bytes(&self) -> usize {
        use crate::heap::{arc_str, btree, hash_table, vec};
        let maps: usize = self
            .by_ns
            .iter()
            .map(|(ns, m)| arc_str(ns.len()) + btree::<Arc<str>, Slot<E>>(m.len()))
            .sum::<usize>()
            + hash_table::<Arc<str>, BTreeMap<Arc<str>, Slot<E>>>(self.by_ns.capacity());
        // a key held by this index alone (a StatefulSet's serviceName) is its own allocation; a
        // Service's is its name
        let secondary: usize = self
            .by_key
            .iter()
            .map(|(k, list)| {
                vec::<NsName>(list.capacity())
                    + if Arc::strong_count(k) == 1 {
                        arc_str(k.len())
                    } else {
                        0
                    }
            })
            .sum::<usize>()
            + hash_table::<Arc<str>, Vec<NsName>>(self.by_key.capacity());
        let bad = self
            .bad
            .keys()
            .map(|(_, n)| arc_str(n.len()))
            .sum::<usize>()
            + hash_table::<NsName, (u64, u32)>(self.bad.capacity());
        self.bytes + maps + secondary + bad + self.pods.heap_bytes() + E::shared_bytes()
    }
}

// ---------------------------------------------------------------------------------------------
// Watch health

#[derive(Default)]
struct HealthState {
    last_event: Option<Instant>,
    /// Set by the first failure after a success.
    failing_since: Option<Instant>,
    last_error: Option<String>,
}

/// One kind's watch health, for `/readyz` and `/metrics`.
#[derive(Default)]
pub struct Health {
    state: Mutex<HealthState>,
    relists: AtomicU64,
    errors: AtomicU64,
    decode_failures: AtomicU64,
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn event(&self) {
        let mut s = self.lock();
        s.last_event = Some(Instant::now());
        s.failing_since = None;
    }

    fn recovered(&self) {
        self.lock().failing_since = None;
    }

    fn failed(&self, error: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut s = self.lock();
        s.failing_since.get_or_insert_with(Instant::now);
        s.last_error = Some(error);
    }

    /// How long it has been failing, with the last error.
    pub fn down_for(&self) -> Option<(Duration, String)> {
        let s = self.lock();
        let since = s.failing_since?;
        Some((since.elapsed(), s.last_error.clone().unwrap_or_default()))
    }

    pub fn is_up(&self) -> bool {
        self.lock().failing_since.is_none()
    }

    /// Seconds since the last event (None before the first).
    pub fn last_event_age(&self) -> Option<f64> {
        self.lock().last_event.map(|t| t.elapsed().as_secs_f64())
    }

    pub fn relists(&self) -> u64 {
        self.relists.load(Ordering::Relaxed)
    }

    pub fn decode_failures(&self) -> u64 {
        self.decode_failures.load(Ordering::Relaxed)
    }
}

/// One watched kind: its store, whether its initial list has completed, its health.
pub struct Watched<E> {
    pub kind: &'static str,
    pub store: RwLock<Store<E>>,
    pub synced: AtomicBool,
    /// Not needed for readiness once synced (ConfigMaps: an optional input).
    pub optional: bool,
    pub health: Health,
}

impl<E> Watched<E> {
    fn new(kind: &'static str, optional: bool) -> Self {
        Watched {
            kind,
            store: RwLock::new(Store::default()),
            synced: AtomicBool::new(false),
            optional,
            health: Health::default(),
        }
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Store<E>> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store<E>> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }
}

/// The watch caches, answering [`Companions`] from memory.
pub struct ClusterCache {
    pub services: Watched<SvcLite>,
    pub pdbs: Watched<PdbLite>,
    pub statefulsets: Watched<Sts>,
    pub config_maps: Watched<Cm>,
    metrics: WatchMetrics,
    down_unready: Duration,
    /// One kind lists at a time (see [`LIST_PAGE`]).
    listing: Arc<tokio::sync::Semaphore>,
}

impl Default for ClusterCache {
    fn default() -> Self {
        Self::new(WatchMetrics::default(), DOWN_UNREADY)
    }
}

/// One kind's state, for readiness and metrics (type-erased).
trait KindView: Sync {
    fn kind(&self) -> &'static str;
    fn synced(&self) -> bool;
    fn optional(&self) -> bool;
    fn health(&self) -> &Health;
    fn counts(&self) -> (usize, usize);
}

impl<E: Entry> KindView for Watched<E> {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn synced(&self) -> bool {
        self.is_synced()
    }
    fn optional(&self) -> bool {
        self.optional
    }
    fn health(&self) -> &Health {
        &self.health
    }
    fn counts(&self) -> (usize, usize) {
        let s = self.read();
        (s.len(), s.bytes())
    }
}

impl ClusterCache {
    pub fn new(metrics: WatchMetrics, down_unready: Duration) -> Self {
        ClusterCache {
            services: Watched::new("Service", false),
            pdbs: Watched::new("PodDisruptionBudget", false),
            statefulsets: Watched::new("StatefulSet", false),
            config_maps: Watched::new("ConfigMap", true),
            metrics,
            down_unready,
            listing: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    fn kinds(&self) -> [&dyn KindView; 4] {
        [
            &self.services,
            &self.pdbs,
            &self.statefulsets,
            &self.config_maps,
        ]
    }

    /// True once every kind has completed its initial list.
    pub fn synced(&self) -> bool {
        self.kinds().iter().all(|k| k.synced())
    }

    /// Ok when every kind has synced once and no required kind has been failing for longer
    /// than `down_unready` ([`DOWN_UNREADY`] by default); otherwise why not.
    pub fn readiness(&self) -> Result<(), String> {
        let unsynced: Vec<&str> = self
            .kinds()
            .iter()
            .filter(|k| !k.synced())
            .map(|k| k.kind())
            .collect();
        if !unsynced.is_empty() {
            return Err(format!("watch caches not synced: {}", unsynced.join(", ")));
        }
        for k in self.kinds().iter().filter(|k| !k.optional()) {
            if let Some((d, err)) = k.health().down_for()
                && d > self.down_unready
            {
                return Err(format!(
                    "watch of {} failing for {}s: {err}",
                    k.kind(),
                    d.as_secs()
                ));
            }
        }
        Ok(())
    }

    /// Bring the gauges of `/metrics` up to date (called at each scrape).
    pub fn export_metrics(&self) {
        let m = &self.metrics;
        for k in self.kinds() {
            let l = KindLabels { kind: k.kind() };
            let h = k.health();
            let (objects, bytes) = k.counts();
            m.up.get_or_create(&l)
                .set(i64::from(k.synced() && h.is_up()));
            m.synced.get_or_create(&l).set(i64::from(k.synced()));
            m.objects.get_or_create(&l).set(objects as i64);
            m.bytes.get_or_create(&l).set(bytes as i64);
            m.last_event_age
                .get_or_create(&l)
                .set(h.last_event_age().unwrap_or(f64::NAN));
        }
    }

    /// Start the watchers on the current tokio runtime.
    pub fn spawn(self: &Arc<Self>, client: kube::Client) {
        tokio::spawn(drive::<Service, SvcLite>(
            Api::all(client.clone()),
            self.clone(),
            |c| &c.services,
        ));
        tokio::spawn(drive::<PodDisruptionBudget, PdbLite>(
            Api::all(client.clone()),
            self.clone(),
            |c| &c.pdbs,
        ));
        tokio::spawn(drive::<StatefulSet, Sts>(
            Api::all(client.clone()),
            self.clone(),
            |c| &c.statefulsets,
        ));
        tokio::spawn(drive::<ConfigMap, Cm>(
            Api::all(client),
            self.clone(),
            |c| &c.config_maps,
        ));
    }
}

/// Exponential backoff with jitter; reset by the first event after a failure.
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff { next: MIN_BACKOFF }
    }

    fn reset(&mut self) {
        self.next = MIN_BACKOFF;
    }

    fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(MAX_BACKOFF);
        // +-20% jitter, so that replicas and kinds do not retry in step
        let r = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
        let frac = (r % 401) as f64 / 1000.0 + 0.8;
        d.mul_f64(frac)
    }
}

fn status_code(e: &watcher::Error) -> Option<u16> {
    match e {
        watcher::Error::WatchError(s) => Some(s.code),
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s.code),
        _ => None,
    }
}

/// One short line for an error (kube errors may quote a response body).
fn short(e: impl std::fmt::Display) -> String {
    let mut s = e.to_string();
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn raw_ns_name<K>(r: &Raw<K>) -> (String, String) {
    (
        r.meta
            .namespace
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".into()),
        r.meta.name.clone().unwrap_or_default(),
    )
}

/// Apply one listed or watched object to `w`, counting and logging (once) an object that does
/// not decode.
fn apply_raw<K: Resource<DynamicType = ()>, E: Entry>(
    w: &Watched<E>,
    metrics: &WatchMetrics,
    raw: Raw<K>,
) {
    let (ns, name) = raw_ns_name(&raw);
    let rv = raw.meta.resource_version;
    if name.is_empty() {
        w.health.decode_failures.fetch_add(1, Ordering::Relaxed);
        metrics
            .decode_failures
            .get_or_create(&KindLabels { kind: w.kind })
            .inc();
        tracing::warn!(
            kind = w.kind,
            namespace = %ns,
            "skipping a watched object without metadata.name"
        );
        return;
    }
    let mut value = raw.value;
    // list items carry no apiVersion/kind
    if let Some(m) = value.as_object_mut() {
        m.insert("apiVersion".into(), K::api_version(&()).into_owned().into());
        m.insert("kind".into(), K::kind(&()).into_owned().into());
    }
    let applied = w.write().apply(&ns, &name, rv.as_deref(), value);
    if let Applied::Failed(first) = applied {
        w.health.decode_failures.fetch_add(1, Ordering::Relaxed);
        metrics
            .decode_failures
            .get_or_create(&KindLabels { kind: w.kind })
            .inc();
        if let Some(error) = first {
            tracing::warn!(
                kind = w.kind,
                namespace = %ns,
                name = %name,
                error = %short(error),
                "skipping a watched object that does not decode"
            );
        }
    }
}

async fn drive<K, E>(
    api: Api<Raw<K>>,
    cache: Arc<ClusterCache>,
    pick: fn(&ClusterCache) -> &Watched<E>,
) where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
    E: Entry,
{
    let w = pick(&cache);
    let labels = KindLabels { kind: w.kind };
    let stream = watcher::watcher(api, watcher::Config::default().page_size(LIST_PAGE));
    futures::pin_mut!(stream);
    let mut backoff = Backoff::new();
    let mut listing = false;
    // held from a list's first page to its last, so that kinds list one at a time
    let mut permit: Option<tokio::sync::OwnedSemaphorePermit> = None;
    loop {
        let next = if w.health.is_up() {
            stream.next().await
        } else {
            // a retry that does not fail within QUIET has reconnected (a watch resumed from
            // its resourceVersion sends nothing until something changes)
            match tokio::time::timeout(QUIET, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    tracing::info!(kind = w.kind, "watch reconnected");
                    w.health.recovered();
                    backoff.reset();
                    continue;
                }
            }
        };
        let Some(ev) = next else { return };
        let ev = match ev {
            Ok(ev) => {
                backoff.reset();
                if !w.health.is_up() {
                    tracing::info!(kind = w.kind, "watch reconnected");
                }
                w.health.event();
                ev
            }
            Err(e) => {
                // a failed list starts again from its first page: let another kind list meanwhile
                permit = None;
                let code = status_code(&e);
                if code == Some(403) && w.optional && !w.is_synced() {
                    tracing::error!(
                        kind = w.kind,
                        error = %short(&e),
                        "no permission to list this kind; continuing without it"
                    );
                    w.synced.store(true, Ordering::Release);
                    return;
                }
                cache.metrics.errors.get_or_create(&labels).inc();
                if code == Some(410) {
                    // the watch (or a list page's continue token) expired: the watcher relists
                    // now; this is no outage, so no backoff
                    tracing::info!(kind = w.kind, "watch expired (410 Gone); relisting");
                    w.health.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                w.health.failed(short(&e));
                let wait = backoff.step();
                tracing::warn!(
                    kind = w.kind,
                    error = %short(&e),
                    retry_ms = wait.as_millis() as u64,
                    "watch failed; retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        match ev {
            Event::Init => {
                if permit.is_none() {
                    permit = cache.listing.clone().acquire_owned().await.ok();
                }
                if w.is_synced() {
                    w.health.relists.fetch_add(1, Ordering::Relaxed);
                    cache.metrics.relists.get_or_create(&labels).inc();
                }
                listing = true;
                w.write().begin_relist();
            }
            Event::InitApply(raw) => apply_raw(w, &cache.metrics, raw),
            Event::InitDone => {
                permit = None;
                let dropped = if listing { w.write().end_relist() } else { 0 };
                listing = false;
                let (n, bytes) = {
                    let s = w.read();
                    (s.len(), s.bytes())
                };
                tracing::info!(
                    kind = w.kind,
                    objects = n,
                    bytes_estimate = bytes,
                    dropped,
                    "watch cache synced"
                );
                w.synced.store(true, Ordering::Release);
            }
            Event::Apply(raw) => apply_raw(w, &cache.metrics, raw),
            Event::Delete(raw) => {
                let (ns, name) = raw_ns_name(&raw);
                w.write().delete(&ns, &name);
            }
        }
    }
}

impl Companions for ClusterCache {
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.services.read().get(namespace, name)
    }

    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.services
            .read()
            .in_ns(namespace)
            .filter(|(_, s)| s.selects(labels))
            .map(|(name, s)| s.object(namespace, name))
            .collect()
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.pdbs
            .read()
            .in_ns(namespace)
            .filter(|(_, p)| p.selects(labels))
            .map(|(name, p)| p.object(namespace, name))
            .collect()
    }

    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.statefulsets.read().get(namespace, name)
    }

    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>> {
        self.statefulsets
            .read()
            .in_ns(namespace)
            .map(|(_, s)| s.build())
            .collect()
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.config_maps.read().get(namespace, name)
    }

    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
        self.statefulsets.read().by_secondary(service_name)
    }

    fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
        self.services.read().by_secondary(name)
    }

    /// From the pod label index (a selector that requires no single pair is matched one by
    /// one).
    fn workloads_selecting(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Vec<Arc<Object>> {
        let s = self.statefulsets.read();
        let none = Labels::new();
        let matching =
            |o: &Arc<Object>| crate::selector::matches(sel, o.pod_labels().unwrap_or(&none));
        match s.pods.candidates(namespace, sel) {
            Some(c) => c
                .iter()
                .filter_map(|(ns, name)| s.get(ns, name))
                .filter(matching)
                .collect(),
            None => {
                let all: Box<dyn Iterator<Item = &Sts>> = match namespace {
                    Some(ns) => Box::new(s.in_ns(ns).map(|(_, e)| e)),
                    None => Box::new(s.all().map(|(_, _, e)| e)),
                };
                // filtered on the labels kept beside each StatefulSet: only matches are built
                all.filter(|e| e.pods_match(sel)).map(Sts::build).collect()
            }
        }
    }

    fn pod_label_values(
        &self,
        namespace: &str,
        key: &str,
        limit: usize,
    ) -> Vec<(String, Arc<Object>)> {
        let s = self.statefulsets.read();
        s.pods
            .values(namespace, key, limit)
            .into_iter()
            .filter_map(|(v, name)| Some((v, s.get(namespace, &name)?)))
            .collect()
    }

    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>> {
        let s = self.statefulsets.read();
        match namespace {
            Some(ns) => s.in_ns(ns).map(|(_, e)| e.build()).collect(),
            None => s.all().map(|(_, _, e)| e.build()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sts_value(ns: &str, name: &str, svc: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"serviceName": svc, "selector": {"matchLabels": {"a": name}},
                "template": {"metadata": {"labels": {"a": name}}, "spec": {"containers": []}}}
        })
    }

    fn put_sts(c: &ClusterCache, ns: &str, name: &str, svc: &str) {
        let e = Sts::decode(sts_value(ns, name, svc)).unwrap().unwrap();
        c.statefulsets.write().insert(ns, name, e);
    }

    fn names(v: Vec<Arc<Object>>) -> Vec<String> {
        v.iter()
            .map(|o| format!("{}/{}", o.key.namespace, o.key.name))
            .collect()
    }

    /// SL010's cross-namespace lookups come from the pod label index, which follows updates and
    /// deletes, and answer what a scan would.
    #[test]
    fn workload_label_index_follows_updates_and_deletes() {
        let c = ClusterCache::default();
        let put = |ns: &str, name: &str, app: &str| {
            let mut v = sts_value(ns, name, "x");
            v["spec"]["selector"]["matchLabels"] = json!({"a": app});
            v["spec"]["template"]["metadata"]["labels"] = json!({"a": app});
            let e = Sts::decode(v).unwrap().unwrap();
            c.statefulsets.write().insert(ns, name, e);
        };
        for (ns, name) in [("a", "zk"), ("b", "zk"), ("b", "web")] {
            put(ns, name, name);
        }
        let sel = |y: &str| -> LabelSelector { serde_json::from_str(y).unwrap() };
        let sorted = |v: Vec<Arc<Object>>| {
            let mut n = names(v);
            n.sort();
            n
        };
        let zk = sel(r#"{"matchLabels": {"a": "zk"}}"#);
        assert_eq!(sorted(c.workloads_selecting(None, &zk)), ["a/zk", "b/zk"]);
        assert_eq!(sorted(c.workloads_selecting(Some("b"), &zk)), ["b/zk"]);
        assert!(c.workloads_selecting(Some("c"), &zk).is_empty());
        // no required pair: matched one by one, same answer
        let not_web =
            sel(r#"{"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["web"]}]}"#);
        assert_eq!(
            sorted(c.workloads_selecting(None, &not_web)),
            ["a/zk", "b/zk"]
        );
        // an update moves it in the index; a delete removes it
        put("b", "zk", "zk2");
        assert_eq!(sorted(c.workloads_selecting(None, &zk)), ["a/zk"]);
        c.statefulsets.write().remove("a", "zk");
        assert!(c.workloads_selecting(None, &zk).is_empty());
        let values: Vec<(String, String)> = c
            .pod_label_values("b", "a", 5)
            .into_iter()
            .map(|(v, o)| (v, o.key.name.clone()))
            .collect();
        assert_eq!(
            values,
            [
                ("web".to_string(), "web".to_string()),
                ("zk2".into(), "zk".into())
            ]
        );
    }

    #[test]
    fn cross_namespace_indexes_follow_updates_and_deletes() {
        let c = ClusterCache::default();
        put_sts(&c, "data", "zk", "zk-hs");
        put_sts(&c, "other", "zk", "zk-hs");
        assert_eq!(
            names(c.statefulsets_by_service("zk-hs")),
            ["data/zk", "other/zk"]
        );
        // an update that changes serviceName moves it in the index
        put_sts(&c, "other", "zk", "zk-new");
        assert_eq!(names(c.statefulsets_by_service("zk-hs")), ["data/zk"]);
        assert_eq!(names(c.statefulsets_by_service("zk-new")), ["other/zk"]);
        c.statefulsets.write().remove("data", "zk");
        assert!(c.statefulsets_by_service("zk-hs").is_empty());
        let svc = SvcLite::decode(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "zk-cs", "namespace": "data"},
            "spec": {"selector": {"a": "zk"}}
        }))
        .unwrap()
        .unwrap();
        c.services.write().insert("data", "zk-cs", svc);
        assert_eq!(names(c.services_named("zk-cs")), ["data/zk-cs"]);
        c.services.write().remove("data", "zk-cs");
        assert!(c.services_named("zk-cs").is_empty());
        assert_eq!(c.services.read().len(), 0);
        // only the emptied tables are left
        let s = c.services.read();
        assert_eq!(
            s.bytes(),
            crate::heap::hash_table::<Arc<str>, BTreeMap<Arc<str>, Slot<SvcLite>>>(
                s.by_ns.capacity()
            ) + crate::heap::hash_table::<Arc<str>, Vec<NsName>>(s.by_key.capacity())
        );
    }

    /// A relist applies pages into the same store: unchanged objects are not rebuilt (the
    /// same entry), changed ones are, unseen ones are dropped at the end; a bad object is
    /// reported the first time only.
    #[test]
    fn relist_in_place_by_resource_version() {
        let mut s: Store<Sts> = Store::default();
        let v = |name: &str| sts_value("data", name, "hs");
        s.begin_relist();
        assert_eq!(s.apply("data", "a", Some("1"), v("a")), Applied::Stored);
        assert_eq!(s.apply("data", "b", Some("2"), v("b")), Applied::Stored);
        assert_eq!(s.end_relist(), 0);
        let id = |s: &Store<Sts>| s.by_ns["data"]["a"].entry.id;
        let a1 = id(&s);
        s.begin_relist();
        assert_eq!(s.apply("data", "a", Some("1"), v("a")), Applied::Unchanged);
        let mut bad = v("c");
        bad["spec"]["replicas"] = json!("three");
        assert!(matches!(
            s.apply("data", "c", Some("3"), bad.clone()),
            Applied::Failed(Some(_))
        ));
        assert_eq!(s.apply("data", "c", Some("3"), bad), Applied::Failed(None));
        assert_eq!(s.end_relist(), 1, "b was not listed again");
        assert_eq!(a1, id(&s), "an unchanged object is not rebuilt");
        assert!(s.get("data", "b").is_none());
        assert!(s.get("data", "c").is_none());
        assert_eq!(s.len(), 1);
    }

    /// A list page decodes whatever its items hold; only the fields projections read are
    /// kept (no status, managedFields or foreign annotations).
    #[test]
    fn raw_items_keep_only_what_projections_read() {
        let page = json!({"apiVersion": "v1", "kind": "ServiceList", "metadata": {"resourceVersion": "9"},
        "items": [
            {"metadata": {"name": "a", "namespace": "n", "resourceVersion": "5",
                "managedFields": [{"manager": "x"}],
                "annotations": {"statelint.io/ignore": "SL001", "kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
             "spec": {"ports": [{"port": "http"}]}, "status": {"loadBalancer": {}}},
            "not an object",
            {"metadata": "not a map", "spec": 3}
        ]});
        let list: kube::core::ObjectList<Raw<Service>> = serde_json::from_value(page).unwrap();
        assert_eq!(list.items.len(), 3);
        let a = &list.items[0];
        assert_eq!(a.meta.name.as_deref(), Some("a"));
        assert_eq!(a.meta.resource_version.as_deref(), Some("5"));
        assert_eq!(
            a.value,
            json!({"metadata": {"name": "a", "namespace": "n", "resourceVersion": "5",
                "annotations": {"statelint.io/ignore": "SL001"}},
                "spec": {"ports": [{"port": "http"}]}})
        );
        assert_eq!(list.items[1].value, Value::Null);
        assert!(list.items[2].meta.name.is_none());
    }

    /// What the projections keep is what rules read: Services and PDBs come back with their
    /// selector, clusterIP, type, ports, minAvailable.
    #[test]
    fn lite_entries_round_trip_what_rules_read() {
        let svc = SvcLite::decode(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "zk-hs", "namespace": "data", "uid": "x",
                "managedFields": [{"manager": "kubectl"}]},
            "spec": {"clusterIP": "None", "selector": {"app": "zk"}, "type": "ClusterIP",
                "ports": [{"name": "client", "port": 2181, "targetPort": "client", "protocol": "TCP"}],
                "sessionAffinity": "None"},
            "status": {"loadBalancer": {}}
        }))
        .unwrap()
        .unwrap();
        let o = svc.object("data", "zk-hs");
        assert!(o.is_headless_service());
        let labels: Labels = [("app".into(), "zk".into())].into_iter().collect();
        assert!(o.service_selects(&labels));
        assert!(svc.selects(&labels));
        assert!(!svc.selects(&Labels::new()));
        let spec = o.service().unwrap().spec.as_ref().unwrap();
        assert_eq!(spec.ports.as_ref().unwrap()[0].port, 2181);
        assert_eq!(o.key.to_string(), "Service data/zk-hs");

        let pdb = PdbLite::decode(json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "p", "namespace": "data"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "zk"}}}
        }))
        .unwrap()
        .unwrap();
        assert!(pdb.selects(&labels));
        let o = pdb.object("data", "p");
        assert!(o.pdb_selects(&labels));
        assert_eq!(
            o.pdb().unwrap().spec.as_ref().unwrap().min_available,
            Some(IntOrString::Int(2))
        );
        // an empty policy/v1 selector selects every pod; no selector none
        let all = PdbLite::decode(json!({"spec": {"selector": {}}}))
            .unwrap()
            .unwrap();
        assert!(all.selects(&labels));
        let none = PdbLite::decode(json!({"spec": {}})).unwrap().unwrap();
        assert!(!none.selects(&labels));
        // a wrong type is an error naming the field
        let err = SvcLite::decode(json!({"spec": {"ports": [{"port": "http"}]}})).unwrap_err();
        assert!(err.contains("spec.ports[0].port"), "{err}");
    }

    /// The projections keep everything the companion-reading rules and the role read: over
    /// every fixture, each StatefulSet built from its projection, with Services, PDBs and
    /// ConfigMaps from theirs, gets the same findings from those rules (and the same role) as
    /// the full objects.
    #[test]
    fn projections_keep_what_companion_rules_read() {
        use crate::catalog::Catalog;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && !p.ends_with("charts"))
            .collect();
        let mut loaded = crate::source::Loaded::default();
        let full = crate::source::load_paths(
            &dirs,
            "default",
            &crate::source::Limits::default(),
            &mut loaded,
        );
        let project = |o: &Arc<Object>| -> Option<Arc<Object>> {
            let (ns, name) = (o.key.namespace.as_str(), o.key.name.as_str());
            match &o.body {
                Body::StatefulSet(s) if o.key.api_version == "apps/v1" => Some(
                    Sts::decode(serde_json::to_value(s).unwrap())
                        .unwrap()?
                        .build(),
                ),
                Body::Service(s) => Some(
                    SvcLite::decode(serde_json::to_value(s).unwrap())
                        .unwrap()?
                        .object(ns, name),
                ),
                Body::Pdb(p) if !o.is_legacy_pdb() => Some(
                    PdbLite::decode(serde_json::to_value(p).unwrap())
                        .unwrap()?
                        .object(ns, name),
                ),
                Body::ConfigMap(c) => Some(
                    Cm::decode(serde_json::to_value(c).unwrap())
                        .unwrap()?
                        .0
                        .object,
                ),
                _ => None,
            }
        };
        let pairs: Vec<(Arc<Object>, Arc<Object>)> = full
            .iter()
            .filter_map(|o| Some((o.clone(), project(o)?)))
            .collect();
        let a = Catalog::new(pairs.iter().map(|(f, _)| f.clone()));
        let b = Catalog::new(pairs.iter().map(|(_, p)| p.clone()));
        let config = crate::config::Config::default();
        let reads_companions = |code: &str| {
            crate::rules::all()
                .iter()
                .any(|r| r.meta().code == code && !r.reads().is_empty())
        };
        let findings = |o: &Arc<Object>, c: &dyn Companions| -> Vec<String> {
            let out = crate::rules::run(std::slice::from_ref(o), c, &config);
            let mut v: Vec<String> = out
                .findings
                .iter()
                .chain(&out.suppressed)
                .filter(|f| reads_companions(f.rule.code))
                .map(|f| format!("{} {} | {}", f.rule.code, f.message, f.help))
                .collect();
            v.sort();
            v
        };
        let mut checked = 0;
        for (f, p) in pairs.iter().filter(|(f, _)| f.statefulset().is_some()) {
            assert_eq!(findings(f, &a), findings(p, &b), "{}", f.key);
            let role = |o, c| crate::role::of(o, c).map(|r| format!("{:?} {}", r.role, r.reason));
            assert_eq!(role(f, &a), role(p, &b), "{}", f.key);
            checked += 1;
        }
        assert!(checked > 50, "only {checked} StatefulSets in the fixtures");
    }
}
