//! The catalogue of known systems: which software a StatefulSet's pods run, and in which mode
//! (a Kafka KRaft controller or broker, an Elasticsearch node with its `node.roles`, a NATS
//! server with or without JetStream, a MongoDB arbiter...).
//!
//! Detection reads what the pods run — the main containers' command and args (also inside
//! `sh -c` scripts), their image, their env, and the ConfigMaps they mount — never the names
//! of objects or files. [`crate::role`] turns a [`Detection`] into a role (voter, replica,
//! stateless); other modules (ensembles, peer lists) use [`detect`] to find, e.g., the
//! ZooKeeper or etcd StatefulSets of an input.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde::Serialize;

use crate::catalog::Companions;
use crate::object::Object;

/// A known piece of software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum System {
    ZooKeeper,
    Etcd,
    Kafka,
    Consul,
    Vault,
    Nats,
    Elasticsearch,
    OpenSearch,
    MongoDB,
    RabbitMQ,
    Redis,
    Cassandra,
    BookKeeper,
    Pulsar,
    ClickHouse,
    ClickHouseKeeper,
    Redpanda,
    CockroachDB,
    YugabyteDB,
    Dapr,
    /// SeaweedFS (`weed master` votes in its Raft; volume servers and filers keep data).
    SeaweedFS,
    /// Web servers and proxies (nginx, Envoy, HAProxy...): known to keep no data.
    Proxy,
    Memcached,
    /// MariaDB Galera Cluster, Percona XtraDB Cluster: a primary component needs a majority.
    Galera,
}

impl System {
    /// The name people use for it: `ZooKeeper`, `etcd`, `Kafka`...
    pub fn name(self) -> &'static str {
        match self {
            System::ZooKeeper => "ZooKeeper",
            System::Etcd => "etcd",
            System::Kafka => "Kafka",
            System::Consul => "Consul",
            System::Vault => "Vault",
            System::Nats => "NATS",
            System::Elasticsearch => "Elasticsearch",
            System::OpenSearch => "OpenSearch",
            System::MongoDB => "MongoDB",
            System::RabbitMQ => "RabbitMQ",
            System::Redis => "Redis",
            System::Cassandra => "Cassandra",
            System::BookKeeper => "BookKeeper",
            System::Pulsar => "Pulsar",
            System::ClickHouse => "ClickHouse",
            System::ClickHouseKeeper => "ClickHouse Keeper",
            System::Redpanda => "Redpanda",
            System::CockroachDB => "CockroachDB",
            System::YugabyteDB => "YugabyteDB",
            System::Dapr => "Dapr",
            System::SeaweedFS => "SeaweedFS",
            System::Proxy => "web server/proxy",
            System::Memcached => "Memcached",
            System::Galera => "Galera",
        }
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a detected process does in its system, as far as quorum and data go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Duty {
    /// Votes in a majority quorum and keeps data (ZooKeeper, etcd, KRaft controllers...).
    Votes,
    /// Votes but keeps no data by design (a MongoDB arbiter, a Redis Sentinel).
    VotesWithoutData,
    /// Keeps data, does not vote (Kafka brokers, Cassandra, Elasticsearch data nodes...).
    KeepsData,
    /// Neither (Pulsar brokers and proxies, Elasticsearch coordinating nodes, NATS without
    /// JetStream, mongos...).
    Neither,
    /// The mode depends on settings statelint could not see: decided by whether the
    /// StatefulSet keeps data (the role then says so).
    ByData,
    /// The mode depends on settings statelint could not see (a config kept in a Secret), and
    /// only the voting mode keeps data: a NATS server writes to disk only for JetStream. With
    /// claim templates or PVC volumes it votes; without, it is stateless.
    VotesByData,
}

/// Where a fact was read: a node of the StatefulSet, or of a ConfigMap it mounts.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The ConfigMap holding it; `None` for the StatefulSet itself.
    pub config_map: Option<Arc<Object>>,
    /// JSON pointer of the node (relative to the object).
    pub pointer: String,
}

/// A system found in one container of a pod template.
#[derive(Debug, Clone)]
pub struct Detection {
    pub system: System,
    /// The mode in words: `KRaft controller`, `data node`, `arbiter`... (`None`: plain server).
    pub component: Option<String>,
    pub duty: Duty,
    /// Why, in words: `image bitnami/elasticsearch, ELASTICSEARCH_NODE_ROLES=ingest`.
    pub reason: String,
    /// The container's name and its pointer in the object (`/spec/template/spec/containers/1`).
    pub container: String,
    pub container_pointer: String,
    /// The node that decided the mode (or the system).
    pub evidence: Evidence,
}

impl Detection {
    /// `Kafka KRaft controller`, `ZooKeeper`.
    pub fn label(&self) -> String {
        let mut s = String::new();
        self.push_label(&mut s);
        s
    }

    /// Append [`Self::label`] to `buf` (no intermediate `String`).
    pub fn push_label(&self, buf: &mut String) {
        buf.push_str(self.system.name());
        if let Some(c) = &self.component {
            buf.push(' ');
            buf.push_str(c);
        }
    }
}

/// The system a StatefulSet (or another workload) runs, if it is a known one: the strongest
/// detection among its main containers (one that votes over one that keeps data over one that
/// does neither; sidecars such as exporters are skipped; init containers are not looked at).
/// Worked out once per object and companion view ([`derivation`]).
pub fn detect(obj: &Object, companions: &dyn Companions) -> Option<Detection> {
    detected(obj, companions, |d| d.cloned())
}

/// [`detect`]'s answer, borrowed by `f` (no clone).
pub fn detected<R>(
    obj: &Object,
    companions: &dyn Companions,
    f: impl FnOnce(Option<&Detection>) -> R,
) -> R {
    f(derivation(obj, companions).detection.as_deref())
}

/// What was derived from one object: its [`Detection`] and (lazily) its role, with the
/// companion lookups detection made. Kept with the object ([`crate::object::Derived`]).
pub struct Derivation {
    /// The lookups detection made (the ConfigMaps the containers mount) and their answers;
    /// `None` when it asked something that cannot be replayed (then it is not kept).
    lookups: Option<Vec<Lookup>>,
    pub detection: Option<Arc<Detection>>,
    /// [`crate::role::of`]'s answer, worked out on first use.
    pub(crate) role: std::sync::OnceLock<Option<Arc<crate::role::RoleInfo>>>,
}

/// One companion lookup by name and what it returned.
struct Lookup {
    kind: crate::catalog::Kind,
    namespace: String,
    name: String,
    found: Option<Arc<Object>>,
}

impl Derivation {
    /// Whether `view` answers every lookup the derivation made with the same object: the same
    /// one (an index or cache hands out the object it holds), or one with the same key, labels
    /// and body (a cache that builds the object it returns).
    fn holds_in(&self, view: &dyn Companions) -> bool {
        let Some(lookups) = &self.lookups else {
            return false;
        };
        lookups.iter().all(|l| {
            let now = l.kind.lookup(view, &l.namespace, &l.name);
            match (&l.found, &now) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    Arc::ptr_eq(a, b)
                        || (a.key == b.key && a.labels == b.labels && a.body == b.body)
                }
                _ => false,
            }
        })
    }
}

/// The derivation of `obj` in `companions`: the one kept with the object when it still holds
/// there, else worked out now (and kept). A ZooKeeper StatefulSet in the webhook's cache is
/// detected once for all the reviews of Kafka StatefulSets that name it; within a run, the
/// rules asking about one object (its role, SL005, SL009, SL011...) share one detection.
pub fn derivation(obj: &Object, companions: &dyn Companions) -> Arc<Derivation> {
    if let Some(d) = obj.derived.get()
        && d.holds_in(companions)
    {
        return d;
    }
    let recorder = Recorder {
        base: companions,
        lookups: std::sync::Mutex::new(Some(Vec::new())),
    };
    let detection = detect_uncached(obj, &recorder);
    let lookups = recorder
        .lookups
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let replayable = lookups.is_some();
    let d = Arc::new(Derivation {
        lookups,
        detection: detection.map(Arc::new),
        role: std::sync::OnceLock::new(),
    });
    if replayable {
        obj.derived.set(d.clone());
    }
    d
}

/// The companion view detection reads through: records each lookup by name and its answer.
/// Detection reads ConfigMaps by name only; any other question makes the derivation one that
/// is not kept (`lookups` becomes `None`).
struct Recorder<'a> {
    base: &'a dyn Companions,
    lookups: std::sync::Mutex<Option<Vec<Lookup>>>,
}

impl Recorder<'_> {
    fn by_name(&self, kind: crate::catalog::Kind, ns: &str, name: &str) -> Option<Arc<Object>> {
        let found = kind.lookup(self.base, ns, name);
        if let Some(l) = self
            .lookups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            l.push(Lookup {
                kind,
                namespace: ns.to_string(),
                name: name.to_string(),
                found: found.clone(),
            });
        }
        found
    }

    fn not_kept(&self) {
        *self.lookups.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Companions for Recorder<'_> {
    fn service(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
        self.by_name(crate::catalog::Kind::Service, ns, name)
    }
    fn statefulset(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
        self.by_name(crate::catalog::Kind::StatefulSet, ns, name)
    }
    fn config_map(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
        self.by_name(crate::catalog::Kind::ConfigMap, ns, name)
    }
    fn services_selecting(&self, ns: &str, labels: &crate::object::Labels) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.services_selecting(ns, labels)
    }
    fn pdbs_selecting(&self, ns: &str, labels: &crate::object::Labels) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.pdbs_selecting(ns, labels)
    }
    fn statefulsets(&self, ns: &str) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.statefulsets(ns)
    }
    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.statefulsets_by_service(service_name)
    }
    fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.services_named(name)
    }
    fn workloads(&self, ns: Option<&str>) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.workloads(ns)
    }
    fn workloads_selecting(
        &self,
        ns: Option<&str>,
        sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    ) -> Vec<Arc<Object>> {
        self.not_kept();
        self.base.workloads_selecting(ns, sel)
    }
    fn pod_label_values(&self, ns: &str, key: &str, limit: usize) -> Vec<(String, Arc<Object>)> {
        self.not_kept();
        self.base.pod_label_values(ns, key, limit)
    }
}

fn detect_uncached(obj: &Object, companions: &dyn Companions) -> Option<Detection> {
    let spec = obj.pod_template()?.spec.as_ref()?;
    let mut found: Vec<Detection> = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let mut pointer = String::with_capacity(40);
        pointer.push_str(obj.pod_template_pointer());
        pointer.push_str("/spec/containers/");
        crate::pod::push_index(&mut pointer, i);
        let cx = ContainerView::new(obj, spec, c, pointer, companions);
        if let Some(d) = detect_container(&cx) {
            found.push(d);
        }
    }
    // the strongest (the first of equal rank)
    let mut best: Option<usize> = None;
    for (i, d) in found.iter().enumerate() {
        if best.is_none_or(|b| rank(d.duty) > rank(found[b].duty)) {
            best = Some(i);
        }
    }
    let best = best?;
    // a container that keeps data beside one that votes without (Redis beside its Sentinel)
    if found[best].duty == Duty::VotesWithoutData
        && let Some(data) = found.iter().find(|d| d.duty == Duty::KeepsData)
    {
        let beside = format!(
            ", beside {} (container {}), which keeps data",
            data.label(),
            data.container
        );
        let b = &mut found[best];
        b.duty = Duty::Votes;
        b.reason.push_str(&beside);
    }
    Some(found.swap_remove(best))
}

fn rank(d: Duty) -> u8 {
    match d {
        Duty::Votes => 4,
        Duty::VotesWithoutData => 3,
        Duty::KeepsData => 2,
        Duty::ByData | Duty::VotesByData => 1,
        Duty::Neither => 0,
    }
}

/// True when `obj` runs a ZooKeeper server (by what its containers run).
pub fn is_zookeeper(obj: &Object, companions: &dyn Companions) -> bool {
    detected(obj, companions, |d| {
        d.is_some_and(|d| d.system == System::ZooKeeper)
    })
}

/// True when `obj` runs etcd (also embedded, e.g. `--etcd-initial-cluster`).
pub fn is_etcd(obj: &Object, companions: &dyn Companions) -> bool {
    detected(obj, companions, |d| {
        d.is_some_and(|d| d.system == System::Etcd)
    })
}

// ---------------------------------------------------------------------------------------------
// One container

/// A container with what detection reads: its words (command and args split like a shell
/// would), its env, and the text of the ConfigMaps it mounts.
pub struct ContainerView<'a> {
    pub object: &'a Object,
    pub container: &'a Container,
    /// Pointer of the container in the object.
    pub pointer: String,
    /// Words of command + args: (index into command++args, word).
    words: Vec<(usize, String)>,
    /// ConfigMaps mounted into the container, with (key, text) of their data.
    mounted: Vec<Arc<Object>>,
}

impl<'a> ContainerView<'a> {
    pub fn new(
        object: &'a Object,
        spec: &'a PodSpec,
        container: &'a Container,
        pointer: String,
        companions: &dyn Companions,
    ) -> Self {
        let words = command_words(container);
        let mounted = mounted_config_maps(object, spec, container, companions);
        ContainerView {
            object,
            container,
            pointer,
            words,
            mounted,
        }
    }

    /// Pointer of the `i`th item of command ++ args.
    fn arg_pointer(&self, i: usize) -> String {
        let n = self.container.command.as_ref().map_or(0, Vec::len);
        if i < n {
            format!("{}/command/{i}", self.pointer)
        } else {
            format!("{}/args/{}", self.pointer, i - n)
        }
    }

    fn here(&self, pointer: String) -> Evidence {
        Evidence {
            config_map: None,
            pointer,
        }
    }

    /// The value of env var `name` (literal values only) and its evidence.
    pub fn env(&self, name: &str) -> Option<(&'a str, Evidence)> {
        let (i, e) = self.env_entry(name)?;
        let v = e.value.as_deref().unwrap_or("");
        Some((v, self.here(format!("{}/env/{i}/value", self.pointer))))
    }

    /// The env entry [`Self::env`] reads for `name`, with its index: the first of that name,
    /// and only when its value is literal (not `valueFrom`).
    fn env_entry(&self, name: &str) -> Option<(usize, &'a k8s_openapi::api::core::v1::EnvVar)> {
        let env = self.container.env.as_deref()?;
        let (i, e) = env.iter().enumerate().find(|(_, e)| e.name == name)?;
        e.value_from.is_none().then_some((i, e))
    }

    /// A setting `key` (e.g. `process.roles`): from the env under any of `env_names`, from
    /// `key=value` / `--key=value` / `-Ekey=value` words of the command, or from a `key=value`
    /// / `key: value` line of a mounted ConfigMap. Returns the value, where it came from (in
    /// words) and the evidence.
    pub fn setting(&self, key: &str, env_names: &[&str]) -> Option<(String, String, Evidence)> {
        for name in env_names.iter().copied().chain(std::iter::once(key)) {
            if let Some((v, ev)) = self.env(name) {
                return Some((v.to_string(), name.to_string(), ev));
            }
        }
        self.setting_elsewhere(key)
    }

    /// Where [`ContainerView::setting`] finds `key`, in words (its second item), without the
    /// value and evidence.
    pub fn setting_source(
        &self,
        key: &str,
        env_names: &[&str],
    ) -> Option<std::borrow::Cow<'a, str>> {
        for name in env_names.iter().copied().chain(std::iter::once(key)) {
            if let Some((_, e)) = self.env_entry(name) {
                return Some(std::borrow::Cow::Borrowed(e.name.as_str()));
            }
        }
        self.setting_elsewhere(key).map(|(_, src, _)| src.into())
    }

    /// [`ContainerView::setting`] from the command's words and the mounted ConfigMaps.
    fn setting_elsewhere(&self, key: &str) -> Option<(String, String, Evidence)> {
        for (i, w) in &self.words {
            let w = w.trim_start_matches('-');
            let w = w
                .strip_prefix('E')
                .filter(|r| r.starts_with(key))
                .unwrap_or(w);
            if let Some(v) = w.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
                return Some((
                    v.to_string(),
                    key.to_string(),
                    self.here(self.arg_pointer(*i)),
                ));
            }
        }
        for cm in &self.mounted {
            let Some(data) = cm.config_map().and_then(|c| c.data.as_ref()) else {
                continue;
            };
            for (file, text) in data {
                for line in text.lines() {
                    let t = line.trim();
                    let Some(rest) = t.strip_prefix(key) else {
                        continue;
                    };
                    let rest = rest.trim_start();
                    let Some(v) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else {
                        continue;
                    };
                    let mut p = String::from("/data");
                    crate::source::yaml::push_segment(&mut p, file);
                    return Some((
                        v.trim().trim_matches('"').to_string(),
                        format!("{key} in ConfigMap {} ({file})", cm.key.name),
                        Evidence {
                            config_map: Some(cm.clone()),
                            pointer: p,
                        },
                    ));
                }
            }
        }
        None
    }

    /// Whether a word of the command is exactly `flag` (or `flag=...`).
    fn has_flag(&self, flags: &[&str]) -> Option<(String, Evidence)> {
        self.words.iter().find_map(|(i, w)| {
            flags
                .iter()
                .find(|f| w == *f || w.strip_prefix(*f).is_some_and(|r| r.starts_with('=')))
                .map(|f| (f.to_string(), self.here(self.arg_pointer(*i))))
        })
    }

    /// A mounted ConfigMap line (trimmed) starting with `prefix`, with its evidence.
    fn config_line(&self, pred: impl Fn(&str) -> bool) -> Option<(String, Evidence)> {
        for cm in &self.mounted {
            let Some(data) = cm.config_map().and_then(|c| c.data.as_ref()) else {
                continue;
            };
            for (file, text) in data {
                if let Some(line) = text.lines().map(str::trim).find(|l| pred(l)) {
                    let mut p = String::from("/data");
                    crate::source::yaml::push_segment(&mut p, file);
                    return Some((
                        format!("`{line}` in ConfigMap {} ({file})", cm.key.name),
                        Evidence {
                            config_map: Some(cm.clone()),
                            pointer: p,
                        },
                    ));
                }
            }
        }
        None
    }

    fn image(&self) -> &str {
        self.container.image.as_deref().unwrap_or("")
    }
}

/// The repository of an image without registry, tag or digest, lower-cased:
/// `docker.io/bitnami/kafka:4.0` -> `bitnami/kafka`.
pub fn image_repo(image: &str) -> String {
    // byte-wise: every delimiter is ASCII
    let no_digest = match image.bytes().position(|b| b == b'@') {
        Some(i) => &image[..i],
        None => image,
    };
    let mut repo = no_digest;
    if let Some(i) = no_digest.bytes().position(|b| b == b'/') {
        let first = &no_digest[..i];
        if first.bytes().any(|b| b == b'.' || b == b':') || first == "localhost" {
            repo = &no_digest[i + 1..];
        }
    }
    if let Some(i) = repo.bytes().rposition(|b| b == b':')
        && !repo.as_bytes()[i + 1..].contains(&b'/')
    {
        repo = &repo[..i];
    }
    repo.to_ascii_lowercase()
}

/// `hay.contains(needle)` by a plain byte comparison at each offset: image names are a few
/// bytes long, where a substring searcher costs more to set up than the search.
fn has_bytes(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    n.is_empty() || (hay.len() >= n.len() && hay.as_bytes().windows(n.len()).any(|w| w == n))
}

/// The last segment of an image repository ([`image_repo`]): `bitnami/kafka` -> `kafka`.
fn repo_base(repo: &str) -> &str {
    repo.rsplit('/').next().unwrap_or(repo)
}

/// Command and args split into words as a shell would see them (scripts of `sh -c` too),
/// each with the index of the command/args item it came from.
fn command_words(c: &Container) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, item) in c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .enumerate()
    {
        for w in item.split(|ch: char| {
            ch.is_whitespace() || matches!(ch, ';' | '|' | '&' | '(' | ')' | '`' | '"' | '\'')
        }) {
            if !w.is_empty() {
                out.push((i, w.to_string()));
            }
        }
    }
    out
}

/// ConfigMaps mounted into `c` (configMap volumes and projected configMap sources) that the
/// input or cluster holds.
pub fn mounted_config_maps(
    object: &Object,
    spec: &PodSpec,
    c: &Container,
    companions: &dyn Companions,
) -> Vec<Arc<Object>> {
    let mut out: Vec<Arc<Object>> = Vec::new();
    let ns = &object.key.namespace;
    // Init containers that write a volume this container mounts (an emptyDir) render its
    // config from the ConfigMaps they mount (Bitnami's Kafka copies server.properties with
    // its passwords filled in): those ConfigMaps count as this container's.
    let shared = |init: &Container| {
        init.volume_mounts.iter().flatten().any(|im| {
            !im.read_only.unwrap_or(false)
                && spec
                    .volumes
                    .iter()
                    .flatten()
                    .any(|v| v.name == im.name && v.empty_dir.is_some())
                && c.volume_mounts.iter().flatten().any(|m| m.name == im.name)
        })
    };
    let writers = spec.init_containers.iter().flatten().filter(|i| shared(i));
    let mounts = c
        .volume_mounts
        .iter()
        .flatten()
        .chain(writers.flat_map(|i| i.volume_mounts.iter().flatten()));
    for m in mounts {
        let Some(v) = spec.volumes.iter().flatten().find(|v| v.name == m.name) else {
            continue;
        };
        let mut names: Vec<&str> = Vec::new();
        if let Some(cm) = &v.config_map {
            names.push(&cm.name);
        }
        if let Some(p) = &v.projected {
            for s in p.sources.iter().flatten() {
                if let Some(cm) = &s.config_map {
                    names.push(&cm.name);
                }
            }
        }
        for n in names {
            if let Some(o) = companions.config_map(ns, n)
                && !out.iter().any(|x| x.key == o.key)
            {
                out.push(o);
            }
        }
    }
    out
}

/// Image names of sidecars that say nothing about what the pod runs.
fn is_sidecar_image(base: &str) -> bool {
    const SIDECARS: &[&str] = &[
        "exporter",
        "jmx",
        "envoy",
        "istio",
        "linkerd",
        "fluent",
        "filebeat",
        "promtail",
        "reloader",
        "os-shell",
        "busybox",
        "kubectl",
        "nats-box",
        "metrics",
        "oauth2-proxy",
    ];
    SIDECARS.iter().any(|s| has_bytes(base, s))
}

/// A program the command starts, with the word that follows it (a subcommand).
struct Launch {
    word: String,
    program: String,
    next: String,
    /// The first later word that is no flag nor line continuation (`weed -logdir=/l \ master`).
    sub: String,
    index: usize,
}

fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

fn launches(words: &[(usize, String)]) -> Vec<Launch> {
    words
        .iter()
        .enumerate()
        .map(|(k, (i, w))| Launch {
            word: w.clone(),
            // a flag (`--data-dir=/var/lib/etcd`) or an assignment starts no program
            program: if w.starts_with('-') || w.contains('=') {
                String::new()
            } else {
                basename(w).to_string()
            },
            next: words.get(k + 1).map(|(_, n)| n.clone()).unwrap_or_default(),
            sub: words
                .iter()
                .skip(k + 1)
                .take(16)
                .map(|(_, n)| n.as_str())
                .find(|n| !n.starts_with('-') && *n != "\\")
                .unwrap_or_default()
                .to_string(),
            index: *i,
        })
        .collect()
}

/// What a command starts: (system, subcommand or mode hint, index of the command/args item,
/// the words as written).
fn from_command(cx: &ContainerView<'_>) -> Option<(System, Option<&'static str>, usize, String)> {
    let mut found = None;
    for l in launches(&cx.words) {
        let p = l.program.as_str();
        let n = l.next.as_str();
        let hit: Option<(System, Option<&'static str>)> = match p {
            "zookeeper-server-start.sh"
            | "zookeeper-server-start"
            | "zkServer.sh"
            | "start-zookeeper" => Some((System::ZooKeeper, None)),
            _ if p.contains("QuorumPeerMain") => Some((System::ZooKeeper, None)),
            "kafka-server-start.sh" | "kafka-server-start" => Some((System::Kafka, None)),
            "kafka.Kafka" => Some((System::Kafka, None)),
            "pulsar" => match n {
                "zookeeper" => Some((System::ZooKeeper, None)),
                "bookie" => Some((System::BookKeeper, Some("bookie"))),
                "autorecovery" => Some((System::BookKeeper, Some("autorecovery"))),
                "broker" => Some((System::Pulsar, Some("broker"))),
                "proxy" => Some((System::Pulsar, Some("proxy"))),
                "functions-worker" => Some((System::Pulsar, Some("functions-worker"))),
                "standalone" => Some((System::Pulsar, Some("standalone"))),
                _ => None,
            },
            "bookkeeper" => match n {
                "bookie" => Some((System::BookKeeper, Some("bookie"))),
                "autorecovery" => Some((System::BookKeeper, Some("autorecovery"))),
                _ => None,
            },
            "etcd" => Some((System::Etcd, None)),
            "consul" if n == "agent" => Some((System::Consul, None)),
            "vault" if n == "server" => Some((System::Vault, None)),
            "nats-server" | "gnatsd" => Some((System::Nats, None)),
            "redis-sentinel" => Some((System::Redis, Some("sentinel"))),
            "redis-server" | "valkey-server" => Some((System::Redis, None)),
            "mongod" => Some((System::MongoDB, None)),
            "mongos" => Some((System::MongoDB, Some("mongos"))),
            "cockroach" if n.starts_with("start") => Some((System::CockroachDB, None)),
            "weed" => match l.sub.as_str() {
                "master" => Some((System::SeaweedFS, Some("master"))),
                "server" => Some((System::SeaweedFS, Some("server"))),
                "volume" => Some((System::SeaweedFS, Some("volume"))),
                "filer" => Some((System::SeaweedFS, Some("filer"))),
                _ => None,
            },
            "yb-master" => Some((System::YugabyteDB, Some("master"))),
            "yb-tserver" => Some((System::YugabyteDB, Some("tserver"))),
            "clickhouse-keeper" => Some((System::ClickHouseKeeper, None)),
            "clickhouse" if n == "keeper" => Some((System::ClickHouseKeeper, None)),
            "clickhouse-server" => Some((System::ClickHouse, None)),
            "clickhouse" if n == "server" => Some((System::ClickHouse, None)),
            "redpanda" => Some((System::Redpanda, None)),
            "rpk" if n == "redpanda" => Some((System::Redpanda, None)),
            "rabbitmq-server" => Some((System::RabbitMQ, None)),
            "cassandra" | "scylla" => Some((System::Cassandra, None)),
            "elasticsearch" => Some((System::Elasticsearch, None)),
            "opensearch" => Some((System::OpenSearch, None)),
            _ if l.word.starts_with("--etcd-initial-cluster") => {
                Some((System::Etcd, Some("embedded")))
            }
            _ => None,
        };
        if let Some((s, m)) = hit {
            // the last program a script starts is the server (`exec bin/pulsar broker` after
            // `bin/pulsar zookeeper-shell ...` checks)
            let shown = match p {
                "pulsar" | "bookkeeper" | "consul" | "vault" | "cockroach" | "rpk" => {
                    format!("{} {n}", l.word)
                }
                "clickhouse" => format!("{} {n}", l.word),
                _ if l.word.starts_with("--etcd-initial-cluster") => {
                    "--etcd-initial-cluster".to_string()
                }
                _ => l.word.clone(),
            };
            found = Some((s, m, l.index, shown));
        }
    }
    found
}

/// What an image is, from its name (the repository's last segment, or the whole repository).
fn from_image(repo: &str) -> Option<System> {
    let b = repo_base(repo);
    // a word of the name (split at `-`, `_`, `.`) that names a tool, not the server
    let tool = |s: &str| {
        const TOOLS: &[&str] = &[
            "operator",
            "backup",
            "restore",
            "client",
            "defrag",
            "proxy",
            "exporter",
            "dashboards",
            "express",
            "template",
            "k8s",
            "csi",
            "injector",
            "control-plane",
            "dataplane",
            "ui",
            "kibana",
            "connect",
            "schema",
            "rest",
            "ksql",
            "manager",
            "cli",
            "shell",
            "box",
        ];
        s.split(['-', '_', '.']).any(|w| TOOLS.contains(&w))
    };
    if tool(b) {
        return None;
    }
    let has = |s: &str| has_bytes(b, s);
    Some(if has("zookeeper") || b == "k8szk" {
        System::ZooKeeper
    } else if has("clickhouse-keeper") {
        System::ClickHouseKeeper
    } else if has("clickhouse") {
        System::ClickHouse
    } else if has("etcd") {
        System::Etcd
    } else if has("redpanda") {
        System::Redpanda
    } else if has("kafka") || b == "cp-server" {
        System::Kafka
    } else if has("consul") {
        System::Consul
    } else if b == "vault" || b == "vault-enterprise" {
        System::Vault
    } else if b == "nats" || b == "nats-server" || b == "gnatsd" {
        System::Nats
    } else if has("opensearch") {
        System::OpenSearch
    } else if has("elasticsearch") {
        System::Elasticsearch
    } else if has("mongo") {
        System::MongoDB
    } else if has("galera") || has("xtradb-cluster") {
        System::Galera
    } else if has("rabbitmq") {
        System::RabbitMQ
    } else if has("redis") || has("valkey") || has("keydb") {
        System::Redis
    } else if has("cassandra") || has("scylla") {
        System::Cassandra
    } else if has("bookkeeper") {
        System::BookKeeper
    } else if has("pulsar") {
        System::Pulsar
    } else if has("cockroach") {
        System::CockroachDB
    } else if has("yugabyte") {
        System::YugabyteDB
    } else if has("seaweedfs") {
        System::SeaweedFS
    } else if repo.starts_with("daprio/") || repo.starts_with("dapr/") || b == "dapr" {
        System::Dapr
    } else if [
        "nginx",
        "nginx-unprivileged",
        "httpd",
        "envoy",
        "haproxy",
        "traefik",
        "caddy",
        "varnish",
        "squid",
        "openresty",
    ]
    .contains(&b)
    {
        System::Proxy
    } else if b == "memcached" {
        System::Memcached
    } else {
        return None;
    })
}

fn detect_container(cx: &ContainerView<'_>) -> Option<Detection> {
    let repo = image_repo(cx.image());
    let base = repo_base(&repo);
    if is_sidecar_image(base) {
        return None;
    }
    let by_command = from_command(cx);
    let by_image = from_image(&repo);
    let (system, hint, mut why, evidence) = match (by_command, by_image) {
        (Some((s, hint, i, shown)), img) => {
            let why = if img == Some(s) {
                format!("image {repo}, command `{shown}`")
            } else {
                format!("command `{shown}`")
            };
            (s, hint, why, cx.here(cx.arg_pointer(i)))
        }
        (None, Some(s)) => {
            let mut why = String::with_capacity(64);
            why.push_str("image ");
            why.push_str(&repo);
            (
                s,
                None,
                why,
                cx.here([cx.pointer.as_str(), "/image"].concat()),
            )
        }
        (None, None) => return None,
    };
    let mut d = Detection {
        system,
        component: None,
        duty: Duty::Votes,
        reason: String::new(),
        container: cx.container.name.clone(),
        container_pointer: cx.pointer.clone(),
        evidence,
    };
    let set = |d: &mut Detection, component: Option<&str>, duty: Duty| {
        d.component = component.map(String::from);
        d.duty = duty;
    };
    match system {
        System::ZooKeeper
        | System::Etcd
        | System::Redpanda
        | System::CockroachDB
        | System::Galera
        | System::ClickHouseKeeper => {
            if hint == Some("embedded") {
                set(&mut d, Some("(embedded)"), Duty::Votes);
            }
        }
        System::Kafka => {
            if let Some((v, src, ev)) = cx.setting(
                "process.roles",
                &["KAFKA_CFG_PROCESS_ROLES", "KAFKA_PROCESS_ROLES"],
            ) {
                let roles = list(&v);
                let controller = roles.iter().any(|r| r == "controller");
                let broker = roles.iter().any(|r| r == "broker");
                why.push_str(&format!(", {src}={v}"));
                d.evidence = ev;
                match (controller, broker) {
                    (true, true) => set(&mut d, Some("KRaft controller+broker"), Duty::Votes),
                    (true, false) => set(&mut d, Some("KRaft controller"), Duty::Votes),
                    _ => set(&mut d, Some("KRaft broker"), Duty::KeepsData),
                }
            } else if let Some(src) = cx.setting_source(
                "zookeeper.connect",
                &[
                    "KAFKA_ZOOKEEPER_CONNECT",
                    "KAFKA_CFG_ZOOKEEPER_CONNECT",
                    "ZOOKEEPER_CONNECT",
                ],
            ) {
                why.push_str(", ");
                why.push_str(&src);
                why.push_str(" set");
                set(&mut d, Some("broker (ZooKeeper mode)"), Duty::KeepsData);
            } else {
                why.push_str(", no process.roles found");
                set(&mut d, Some("broker"), Duty::KeepsData);
            }
        }
        System::Elasticsearch | System::OpenSearch => {
            es_mode(cx, &mut d, &mut why);
        }
        System::Nats => {
            if let Some((flag, ev)) = cx.has_flag(&["--jetstream", "-js"]) {
                why.push_str(&format!(", {flag}"));
                d.evidence = ev;
                set(&mut d, Some("with JetStream"), Duty::Votes);
            } else if let Some((line, ev)) = cx.config_line(|l| {
                // `jetstream {`, `jetstream: enabled`, `jetstream = true`, or JSON's
                // `"jetstream": {` (the nats-io chart writes its config as JSON)
                let l = l.trim_start_matches(['"', '\'']);
                l.strip_prefix("jetstream").is_some_and(|r| {
                    let r = r.trim_start_matches(['"', '\'']).trim_start();
                    (r.starts_with('{') || r.starts_with(':') || r.starts_with('='))
                        && !r.contains("false")
                        && !r.contains("disabled")
                })
            }) {
                why.push_str(&format!(", {line}"));
                d.evidence = ev;
                set(&mut d, Some("with JetStream"), Duty::Votes);
            } else if let Some((flag, _)) = cx
                .has_flag(&["-c", "--config", "-config"])
                .filter(|_| cx.mounted.is_empty())
            {
                // a config file statelint cannot read (Bitnami keeps nats-server.conf in a
                // Secret): NATS keeps data only for JetStream, so the volumes decide
                why.push_str(&format!(
                    ", its config ({flag}) is not in a mounted ConfigMap"
                ));
                set(&mut d, None, Duty::VotesByData);
            } else {
                why.push_str(", JetStream not enabled");
                set(&mut d, Some("without JetStream"), Duty::ByData);
            }
        }
        System::Consul => {
            if let Some((flag, ev)) = cx.has_flag(&["-server", "--server", "-bootstrap-expect"]) {
                why.push_str(&format!(", {flag}"));
                d.evidence = ev;
                set(&mut d, Some("server"), Duty::Votes);
            } else if let Some((line, ev)) = cx.config_line(|l| {
                let l = l.replace([' ', '"'], "");
                l.starts_with("server=true") || l.starts_with("server:true")
            }) {
                why.push_str(&format!(", {line}"));
                d.evidence = ev;
                set(&mut d, Some("server"), Duty::Votes);
            } else if let Some((v, ev)) = cx
                .env("CONSUL_AGENT_MODE")
                .or_else(|| cx.env("CONSUL_SERVER_MODE"))
            {
                // Bitnami's image: server or client
                why.push_str(&format!(", CONSUL_AGENT_MODE={v}"));
                d.evidence = ev;
                if v.trim() == "client" {
                    set(&mut d, Some("client"), Duty::ByData);
                } else {
                    set(&mut d, Some("server"), Duty::Votes);
                }
            } else if let Some((v, ev)) = cx.env("CONSUL_BOOTSTRAP_EXPECT") {
                // only servers bootstrap
                why.push_str(&format!(", CONSUL_BOOTSTRAP_EXPECT={v}"));
                d.evidence = ev;
                set(&mut d, Some("server"), Duty::Votes);
            } else if repo.starts_with("bitnami/consul") {
                why.push_str(", CONSUL_AGENT_MODE not set (the image runs a server)");
                set(&mut d, Some("server"), Duty::Votes);
            } else {
                why.push_str(", no -server flag found");
                set(&mut d, None, Duty::ByData);
            }
        }
        System::Vault => {
            let storage = |kind: &'static str| {
                move |l: &str| {
                    let l = l.replace([' ', '"'], "");
                    l.starts_with(&format!("storage{kind}{{"))
                }
            };
            if let Some((line, ev)) = cx.config_line(storage("raft")) {
                why.push_str(&format!(", {line}"));
                d.evidence = ev;
                set(&mut d, Some("integrated storage (raft)"), Duty::Votes);
            } else if let Some((flag, ev)) = cx.has_flag(&["-dev", "--dev"]) {
                why.push_str(&format!(", {flag}"));
                d.evidence = ev;
                set(&mut d, Some("dev server"), Duty::Neither);
            } else if let Some((line, ev)) = cx.config_line(|l| {
                let l = l.replace([' ', '"'], "");
                l.starts_with("storage") && l.ends_with('{') && !l.starts_with("storageraft")
            }) {
                why.push_str(&format!(", {line}"));
                d.evidence = ev;
                set(&mut d, Some("external storage"), Duty::ByData);
            } else {
                why.push_str(", storage backend not found");
                set(&mut d, None, Duty::ByData);
            }
        }
        System::MongoDB => {
            if hint == Some("mongos") {
                set(&mut d, Some("router (mongos)"), Duty::Neither);
            } else if let Some((v, src, ev)) = cx
                .setting("MONGODB_REPLICA_SET_MODE", &[])
                .filter(|(v, _, _)| v == "arbiter")
            {
                why.push_str(&format!(", {src}={v}"));
                d.evidence = ev;
                set(&mut d, Some("arbiter"), Duty::VotesWithoutData);
            } else {
                set(&mut d, Some("data member"), Duty::Votes);
            }
        }
        System::Redis => {
            let sentinel = hint == Some("sentinel")
                || cx.has_flag(&["--sentinel"]).is_some()
                || (hint.is_none() && base.ends_with("-sentinel"));
            if sentinel {
                set(&mut d, Some("Sentinel"), Duty::VotesWithoutData);
            } else {
                set(&mut d, None, Duty::KeepsData);
            }
        }
        System::RabbitMQ | System::Cassandra | System::ClickHouse => {
            set(&mut d, None, Duty::KeepsData);
        }
        System::BookKeeper => match hint {
            Some("autorecovery") => set(&mut d, Some("autorecovery"), Duty::Neither),
            _ => set(&mut d, Some("bookie"), Duty::KeepsData),
        },
        System::Pulsar => match hint {
            Some("broker") => set(&mut d, Some("broker"), Duty::Neither),
            Some("proxy") => set(&mut d, Some("proxy"), Duty::Neither),
            Some("functions-worker") => set(&mut d, Some("functions worker"), Duty::Neither),
            Some("standalone") => set(&mut d, Some("standalone"), Duty::KeepsData),
            _ => set(&mut d, None, Duty::ByData),
        },
        System::SeaweedFS => match hint {
            Some("master") => set(&mut d, Some("master"), Duty::Votes),
            Some("server") => set(&mut d, Some("server (master + volume)"), Duty::Votes),
            Some("volume") => set(&mut d, Some("volume server"), Duty::KeepsData),
            Some("filer") => set(&mut d, Some("filer"), Duty::ByData),
            _ => set(&mut d, None, Duty::ByData),
        },
        System::YugabyteDB => match hint {
            Some("master") => set(&mut d, Some("master"), Duty::Votes),
            Some("tserver") => set(&mut d, Some("tserver"), Duty::KeepsData),
            _ => set(&mut d, None, Duty::ByData),
        },
        System::Proxy | System::Memcached => set(&mut d, None, Duty::Neither),
        System::Dapr => {
            let runs = |name: &str| {
                cx.words
                    .iter()
                    .any(|(_, w)| basename(w) == name || w.starts_with(&format!("{name}-")))
            };
            if runs("placement") {
                // its Raft log may stay in memory by design (the chart's default without HA):
                // the placement tables are rebuilt from what the sidecars report
                set(&mut d, Some("placement (raft)"), Duty::VotesWithoutData);
            } else if runs("scheduler") {
                set(&mut d, Some("scheduler (embedded etcd)"), Duty::Votes);
            } else {
                set(&mut d, None, Duty::ByData);
            }
        }
    }
    d.reason = why;
    Some(d)
}

/// A role list as written: `[master, data]`, `master,data`, `master data`, `""`.
fn list(v: &str) -> Vec<String> {
    v.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split([',', ' '])
        .map(|s| {
            s.trim()
                .trim_matches('"')
                .trim_matches('\'')
                .to_ascii_lowercase()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Elasticsearch / OpenSearch node roles: master-eligible nodes vote, data nodes keep shards,
/// the others (coordinating-only, ingest, ml...) neither.
fn es_mode(cx: &ContainerView<'_>, d: &mut Detection, why: &mut String) {
    let found = cx.setting(
        "node.roles",
        &[
            "ELASTICSEARCH_NODE_ROLES",
            "OPENSEARCH_NODE_ROLES",
            "node_roles",
        ],
    );
    if let Some((v, src, ev)) = found {
        let roles = list(&v);
        why.push_str(&format!(", {src}=[{}]", roles.join(",")));
        d.evidence = ev;
        let master = roles
            .iter()
            .any(|r| r == "master" || r == "cluster_manager");
        let data = roles.iter().any(|r| r.starts_with("data"));
        let (c, duty) = if master {
            ("master-eligible node", Duty::Votes)
        } else if data {
            ("data node", Duty::KeepsData)
        } else if roles.is_empty() {
            ("coordinating-only node", Duty::Neither)
        } else {
            ("node without master or data role", Duty::Neither)
        };
        d.component = Some(c.to_string());
        d.duty = duty;
        return;
    }
    // Bitnami's older ELASTICSEARCH_NODE_TYPE, and the legacy node.master / node.data
    if let Some((v, src, ev)) = cx.setting("ELASTICSEARCH_NODE_TYPE", &[]) {
        why.push_str(&format!(", {src}={v}"));
        d.evidence = ev;
        let (c, duty) = match v.as_str() {
            "master" => ("master-eligible node", Duty::Votes),
            "data" => ("data node", Duty::KeepsData),
            other => (
                if other == "coordinating" {
                    "coordinating-only node"
                } else {
                    "ingest node"
                },
                Duty::Neither,
            ),
        };
        d.component = Some(c.to_string());
        d.duty = duty;
        return;
    }
    let master = cx.setting("node.master", &[]);
    let data = cx.setting("node.data", &[]);
    if master.is_some() || data.is_some() {
        let is_true = |s: &Option<(String, String, Evidence)>| {
            s.as_ref().is_none_or(|(v, _, _)| v.trim() == "true")
        };
        for (v, src, _) in [&master, &data].into_iter().flatten() {
            why.push_str(&format!(", {src}={v}"));
        }
        if let Some((_, _, ev)) = master.as_ref().or(data.as_ref()) {
            d.evidence = ev.clone();
        }
        let (c, duty) = if is_true(&master) {
            ("master-eligible node", Duty::Votes)
        } else if is_true(&data) {
            ("data node", Duty::KeepsData)
        } else {
            ("coordinating-only node", Duty::Neither)
        };
        d.component = Some(c.to_string());
        d.duty = duty;
        return;
    }
    why.push_str(", node.roles not set (every role, master-eligible)");
    d.component = Some("master-eligible node".into());
    d.duty = Duty::Votes;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivation is kept with the object and reused while the companions detection read
    /// are the same, and worked out again when a mounted ConfigMap changes.
    #[test]
    fn derivation_is_kept_while_what_it_read_holds() {
        use crate::catalog::Catalog;
        use crate::object::FileId;
        use crate::source::{Limits, parse_file};
        let sts = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kafka}
spec:
  serviceName: kafka
  selector: {matchLabels: {app: kafka}}
  template:
    metadata: {labels: {app: kafka}}
    spec:
      volumes: [{name: cfg, configMap: {name: kafka-cfg}}]
      containers: [{name: kafka, image: bitnami/kafka:4.0, volumeMounts: [{name: cfg, mountPath: /config}]}]
";
        let cm = |roles: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: kafka-cfg}}\ndata:\n  server.properties: |\n    process.roles={roles}\n"
            )
        };
        let objects = |yaml: &str| -> Vec<Arc<Object>> {
            let (o, errors) = parse_file(FileId(0), yaml, "default", &Limits::default());
            assert!(errors.is_empty(), "{errors:?}");
            o.into_iter().map(Arc::new).collect()
        };
        let kafka = objects(sts).remove(0);
        let broker = Catalog::new(objects(&cm("broker")));
        let controller = Catalog::new(objects(&cm("controller")));
        let label = |c: &Catalog| detect(&kafka, c).map(|d| d.label());
        let first = derivation(&kafka, &broker);
        assert_eq!(label(&broker).as_deref(), Some("Kafka KRaft broker"));
        assert!(Arc::ptr_eq(&first, &derivation(&kafka, &broker)));
        // the same ConfigMap content, another object: still holds
        let broker_again = Catalog::new(objects(&cm("broker")));
        assert!(Arc::ptr_eq(&first, &derivation(&kafka, &broker_again)));
        // another ConfigMap content, or none: worked out again
        assert_eq!(
            label(&controller).as_deref(),
            Some("Kafka KRaft controller")
        );
        assert_eq!(label(&Catalog::default()).as_deref(), Some("Kafka broker"));
        // a modified copy starts afresh
        let copy = (*kafka).clone();
        assert!(copy.derived.get().is_none());
    }

    #[test]
    fn image_repos() {
        assert_eq!(image_repo("docker.io/bitnami/kafka:4.0.0"), "bitnami/kafka");
        assert_eq!(image_repo("zookeeper"), "zookeeper");
        assert_eq!(image_repo("reg:5000/x/Kafka@sha256:abc"), "x/kafka");
        assert_eq!(image_repo("localhost/etcd:3"), "etcd");
        assert_eq!(
            image_repo("docker.elastic.co/elasticsearch/elasticsearch:8.5.1"),
            "elasticsearch/elasticsearch"
        );
    }

    #[test]
    fn role_lists() {
        assert_eq!(list("[master, data]"), ["master", "data"]);
        assert_eq!(list("master,data,"), ["master", "data"]);
        assert!(list("").is_empty());
        assert!(list("[]").is_empty());
    }
}
