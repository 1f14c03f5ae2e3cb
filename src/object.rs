//! One Kubernetes object as the rules see it: identity, labels, where it came from, and the
//! typed k8s-openapi body for the kinds statelint reasons about.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, PodAffinityTerm, PodTemplateSpec, Service, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;
use serde_json::Value;

use crate::selector;

mod in_place;
use crate::source::yaml::{NodeSpan, SpanMap, push_segment};

pub type Labels = BTreeMap<String, String>;

/// Annotation that suppresses rules on an object: `"pdb-quorum,SL003"`.
pub const IGNORE_ANNOTATION: &str = "statelint.io/ignore";
/// Optional reason for the suppression.
pub const IGNORE_REASON_ANNOTATION: &str = "statelint.io/ignore-reason";

/// The rules an `ignore` annotation names: comma-separated, blanks dropped.
fn ignore_list(value: Option<&String>) -> Vec<String> {
    value
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether JSON text might hold a template placeholder ([`placeholder_in`]): a `<`, a `{{`, or
/// a `\u` escape that spells `<` or `{` (`\u003c`, `\u007b`, in either case). Other escapes
/// cannot start a placeholder: the API server (Go's `encoding/json`) writes every `&`, `<` and
/// `>` as `\u0026`, `\u003c` and `\u003e`, so `2>&1` or `a && b` in a command, common in real
/// StatefulSets, must not send them down the slow path. SIMD searches, a few hundred
/// instructions for a review.
pub fn may_hide_placeholder(text: &[u8]) -> bool {
    memchr::memchr(b'<', text).is_some()
        || memchr::memmem::find(text, b"{{").is_some()
        || memchr::memmem::find_iter(text, b"\\u").any(|i| {
            // the four hex digits after `\u` (a cut escape: possibly one of them)
            text.get(i + 2..i + 6).is_none_or(|hex| {
                hex.eq_ignore_ascii_case(b"003c") || hex.eq_ignore_ascii_case(b"007b")
            })
        })
}

/// An `apps/v1` StatefulSet read from JSON in one pass, for the webhook (through
/// [`Object::from_json_fast`], or inside the AdmissionReview's own decoding): fails (and the
/// caller takes the general path, [`Object::from_value`]) unless `apiVersion` is `apps/v1` and
/// `kind` `StatefulSet`, and when `spec.replicas` is negative. It does not look for
/// placeholders: the caller checks the text first ([`may_hide_placeholder`]).
///
/// Read into its box in place, the big structs (spec, pod template, containers, volumes) where
/// they live ([`in_place`]), and
/// `status` and `metadata.managedFields` are skipped (checked to be JSON, not typed): no rule,
/// role, system or ensemble reads them, the watch caches drop them too
/// ([`crate::webhook::cluster`]), and the API server only sends them well-formed (it decoded
/// the object before calling webhooks). Otherwise the same object as the general path:
/// unknown fields ignored, a repeated field's last value kept (as k8s-openapi does).
#[derive(Clone)]
pub struct FastStatefulSet(Box<StatefulSet>);

impl<'de> serde::Deserialize<'de> for FastStatefulSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
        #[derive(serde::Deserialize)]
        #[serde(field_identifier, rename_all = "camelCase")]
        enum Field {
            ApiVersion,
            Kind,
            Metadata,
            Spec,
            Status,
            #[serde(other)]
            Other,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FastStatefulSet;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an apps/v1 StatefulSet")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<FastStatefulSet, M::Error> {
                let mut sts = Box::<StatefulSet>::default();
                let (mut api_version_ok, mut kind_ok) = (false, false);
                while let Some(field) = m.next_key::<Field>()? {
                    match field {
                        Field::ApiVersion => {
                            api_version_ok = m.next_value::<Option<&'de str>>()? == Some("apps/v1")
                        }
                        Field::Kind => {
                            kind_ok = m.next_value::<Option<&'de str>>()? == Some("StatefulSet")
                        }
                        Field::Metadata => m.next_value_seed(in_place::Into {
                            into: &mut sts.metadata,
                            skip: &["managedFields"],
                        })?,
                        Field::Spec => m.next_value_seed(in_place::OptInto(&mut sts.spec))?,
                        Field::Status | Field::Other => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !(api_version_ok && kind_ok) {
                    return Err(M::Error::custom("not an apps/v1 StatefulSet"));
                }
                if sts
                    .spec
                    .as_ref()
                    .and_then(|s| s.replicas)
                    .is_some_and(|n| n < 0)
                {
                    return Err(M::Error::custom("negative replicas"));
                }
                Ok(FastStatefulSet(sts))
            }
        }
        d.deserialize_map(V)
    }
}

/// Index of a file in [`crate::source::Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub usize);

/// apiVersion, kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectKey {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Where an object was read from. Objects from the cluster (webhook) have none.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: FileId,
    pub spans: Arc<SpanMap>,
    /// Pointer of the object inside its document: "" or "/items/3" for `kind: List` items.
    pub prefix: String,
}

impl Origin {
    /// The span of `pointer` (relative to the object), or of its nearest ancestor.
    pub fn span(&self, pointer: &str) -> Option<NodeSpan> {
        let full = format!("{}{}", self.prefix, pointer);
        self.spans.nearest(&full).map(|(_, s)| s)
    }

    /// Whether `pointer` itself (not an ancestor) is in the source.
    pub fn has(&self, pointer: &str) -> bool {
        let full = format!("{}{}", self.prefix, pointer);
        self.spans.get(&full).is_some()
    }
}

/// The typed body of the kinds the rules read.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    StatefulSet(Box<StatefulSet>),
    Service(Box<Service>),
    Pdb(Box<PodDisruptionBudget>),
    ConfigMap(Box<ConfigMap>),
    /// Deployment, DaemonSet, ReplicaSet, Job, CronJob, Pod...: their pod template.
    Workload(Box<PodTemplateSpec>),
    Other,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub key: ObjectKey,
    pub labels: Labels,
    /// `statelint.io/ignore` entries, trimmed, as written (codes or slugs).
    pub ignore: Vec<String>,
    pub ignore_reason: Option<String>,
    pub origin: Option<Origin>,
    pub body: Body,
    /// Strings holding a template placeholder: (pointer, the string).
    pub placeholders: Vec<(String, String)>,
    /// What was derived from the object (its system and role), kept with it: see [`Derived`].
    pub derived: Derived,
}

/// What [`crate::system`] and [`crate::role`] derived from an object, kept with the object so that
/// it is worked out once per object, not once per rule or once per admission review: a
/// ZooKeeper StatefulSet in the webhook's watch cache is detected once, not again for every
/// Kafka StatefulSet that names it. The derivation records the companion lookups it made and
/// holds only for a companion view that answers them the same way
/// ([`crate::system::derivation`]). A clone of the object starts empty (a modified copy, such as
/// the scaled StatefulSet of a `statefulsets/scale` review, is derived again).
#[derive(Default)]
pub struct Derived(std::sync::Mutex<Option<Arc<crate::system::Derivation>>>);

impl Derived {
    pub(crate) fn get(&self) -> Option<Arc<crate::system::Derivation>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, d: Arc<crate::system::Derivation>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(d);
    }
}

impl Clone for Derived {
    fn clone(&self) -> Self {
        Derived::default()
    }
}

impl std::fmt::Debug for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived")
    }
}

/// Why a document could not become an object: the pointer of the bad node and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    pub pointer: String,
    pub message: String,
}

const WORKLOAD_KINDS: &[&str] = &[
    "Deployment",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
    "PodTemplate",
];

impl Object {
    /// Build an object from a document's JSON value. `Ok(None)` for values that are not
    /// Kubernetes objects (no `apiVersion` + `kind`).
    pub fn from_value(
        mut value: Value,
        origin: Option<Origin>,
        default_namespace: &str,
    ) -> Result<Option<Object>, ObjectError> {
        let Some(map) = value.as_object() else {
            return Ok(None);
        };
        let (Some(api_version), Some(kind)) = (
            map.get("apiVersion").and_then(Value::as_str),
            map.get("kind").and_then(Value::as_str),
        ) else {
            return Ok(None);
        };
        let api_version = api_version.to_string();
        let kind = kind.to_string();
        let meta = map.get("metadata");
        let str_at = |field: &str| -> Result<Option<String>, ObjectError> {
            match meta.and_then(|m| m.get(field)) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(ObjectError {
                    pointer: format!("/metadata/{field}"),
                    message: format!(
                        "metadata.{field} must be a string, found {}",
                        type_name(other)
                    ),
                }),
            }
        };
        let name = str_at("name")?
            .or(str_at("generateName")?)
            .unwrap_or_default();
        let namespace = str_at("namespace")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| default_namespace.to_string());
        let labels = string_map(meta.and_then(|m| m.get("labels")), "/metadata/labels")?;
        let annotations = string_map(
            meta.and_then(|m| m.get("annotations")),
            "/metadata/annotations",
        )?;
        let ignore = ignore_list(annotations.get(IGNORE_ANNOTATION));
        let ignore_reason = annotations.get(IGNORE_REASON_ANNOTATION).cloned();

        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let placeholders = if matches!(
            (group, kind.as_str()),
            ("apps", "StatefulSet") | ("", "Service") | ("policy", "PodDisruptionBudget")
        ) {
            find_placeholders(&value)
        } else {
            Vec::new()
        };

        let body = match (group, kind.as_str()) {
            ("apps", "StatefulSet") => {
                normalise_statefulset(&mut value, &api_version);
                let sts: StatefulSet = typed(value)?;
                if let Some(n) = sts
                    .spec
                    .as_ref()
                    .and_then(|s| s.replicas)
                    .filter(|n| *n < 0)
                {
                    return Err(ObjectError {
                        pointer: "/spec/replicas".into(),
                        message: format!(
                            "spec.replicas: {n} is negative; the API server rejects it (use 0 \
                             or more)"
                        ),
                    });
                }
                Body::StatefulSet(Box::new(sts))
            }
            ("", "Service") => Body::Service(Box::new(typed(value)?)),
            ("policy", "PodDisruptionBudget") => {
                if let Some(m) = value.as_object_mut() {
                    m.insert("apiVersion".into(), Value::from("policy/v1"));
                }
                Body::Pdb(Box::new(typed(value)?))
            }
            ("", "ConfigMap") => Body::ConfigMap(Box::new(typed(value)?)),
            (_, k) if WORKLOAD_KINDS.contains(&k) => match pod_template(value, k) {
                Some((pointer, v)) => Body::Workload(Box::new(typed_at(v, &pointer)?)),
                None => Body::Other,
            },
            _ => Body::Other,
        };
        Ok(Some(Object {
            key: ObjectKey {
                api_version,
                kind,
                namespace,
                name,
            },
            labels,
            ignore,
            ignore_reason,
            origin,
            body,
            placeholders,
            derived: Derived::default(),
        }))
    }

    /// An `apps/v1` StatefulSet straight from its JSON text into the typed struct, without a
    /// `serde_json::Value` tree: the webhook's common case. `None` whenever the text needs the
    /// general path ([`Object::from_value`], which then gives the same object, or the error):
    /// another apiVersion or kind, none given, anything that does not decode, a negative
    /// `replicas`, or text that might hold a template placeholder ([`may_hide_placeholder`]:
    /// `{{`, `<`, or an escape that spells `<` or `{`), since placeholders are found on the
    /// tree. What no rule reads is skipped, not typed: see [`FastStatefulSet`]. That is the one
    /// difference: a `status` or `metadata.managedFields` of the wrong shape is an error on the
    /// general path and ignored here (the API server, which decoded the object before calling
    /// the webhook, never sends one).
    pub fn from_json_fast(raw: &str, default_namespace: &str) -> Option<Object> {
        if may_hide_placeholder(raw.as_bytes()) {
            return None;
        }
        let sts: FastStatefulSet = serde_json::from_str(raw).ok()?;
        Some(Object::from_fast_statefulset(sts, default_namespace))
    }

    /// The object of a StatefulSet read by [`FastStatefulSet`] (name from `generateName` when
    /// there is none, the namespace `default_namespace` when none is given).
    pub fn from_fast_statefulset(sts: FastStatefulSet, default_namespace: &str) -> Object {
        let sts = sts.0;
        let meta = &sts.metadata;
        let name = meta
            .name
            .clone()
            .or_else(|| meta.generate_name.clone())
            .unwrap_or_default();
        let namespace = match meta.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns.to_string(),
            _ => default_namespace.to_string(),
        };
        let labels = meta.labels.clone().unwrap_or_default();
        let annotations = meta.annotations.as_ref();
        let ignore = ignore_list(annotations.and_then(|a| a.get(IGNORE_ANNOTATION)));
        let ignore_reason = annotations.and_then(|a| a.get(IGNORE_REASON_ANNOTATION).cloned());
        Object {
            key: ObjectKey {
                api_version: "apps/v1".into(),
                kind: "StatefulSet".into(),
                namespace,
                name,
            },
            labels,
            ignore,
            ignore_reason,
            origin: None,
            body: Body::StatefulSet(sts),
            placeholders: Vec::new(),
            derived: Derived::default(),
        }
    }

    pub fn statefulset(&self) -> Option<&StatefulSet> {
        match &self.body {
            Body::StatefulSet(s) => Some(s),
            _ => None,
        }
    }

    pub fn service(&self) -> Option<&Service> {
        match &self.body {
            Body::Service(s) => Some(s),
            _ => None,
        }
    }

    pub fn pdb(&self) -> Option<&PodDisruptionBudget> {
        match &self.body {
            Body::Pdb(s) => Some(s),
            _ => None,
        }
    }

    pub fn config_map(&self) -> Option<&ConfigMap> {
        match &self.body {
            Body::ConfigMap(s) => Some(s),
            _ => None,
        }
    }

    /// The pod template of a StatefulSet or another workload.
    pub fn pod_template(&self) -> Option<&PodTemplateSpec> {
        match &self.body {
            Body::StatefulSet(s) => s.spec.as_ref().map(|s| &s.template),
            Body::Workload(t) => Some(t),
            _ => None,
        }
    }

    /// Pointer of the pod template inside this object.
    pub fn pod_template_pointer(&self) -> &'static str {
        match self.key.kind.as_str() {
            "CronJob" => "/spec/jobTemplate/spec/template",
            "Pod" => "",
            "PodTemplate" => "/template",
            _ => "/spec/template",
        }
    }

    /// Labels of the pods this workload creates.
    pub fn pod_labels(&self) -> Option<&Labels> {
        self.pod_template()?.metadata.as_ref()?.labels.as_ref()
    }

    /// `spec.replicas` of a StatefulSet, defaulting to 1.
    pub fn replicas(&self) -> i32 {
        self.statefulset()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.replicas)
            .unwrap_or(1)
    }

    /// `spec.serviceName` of a StatefulSet, when set and not empty.
    pub fn service_name(&self) -> Option<&str> {
        self.statefulset()?
            .spec
            .as_ref()?
            .service_name
            .as_deref()
            .filter(|s| !s.is_empty())
    }

    /// A Service with `clusterIP: None`.
    pub fn is_headless_service(&self) -> bool {
        self.service()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.cluster_ip.as_deref())
            == Some("None")
    }

    /// A Service's `spec.selector`.
    pub fn service_selector(&self) -> Option<&BTreeMap<String, String>> {
        self.service()?.spec.as_ref()?.selector.as_ref()
    }

    /// A Service whose selector selects pods carrying `labels` (an empty or missing selector
    /// selects none).
    pub fn service_selects(&self, labels: &Labels) -> bool {
        self.service_selector()
            .is_some_and(|sel| selector::map_matches(sel, labels))
    }

    /// A PodDisruptionBudget whose selector selects pods carrying `labels` (an empty `policy/v1`
    /// selector selects every pod, an empty `policy/v1beta1` one none).
    pub fn pdb_selects(&self, labels: &Labels) -> bool {
        let Some(pdb) = self.pdb() else {
            return false;
        };
        let sel = pdb.spec.as_ref().and_then(|s| s.selector.as_ref());
        selector::pdb_matches(sel, self.is_legacy_pdb(), labels)
    }

    /// The `podAffinity` or `podAntiAffinity` terms of the pod template: required ones first,
    /// then preferred ones, each with its pointer.
    pub fn affinity_terms(&self, which: Affinity) -> Vec<AffinityTerm<'_>> {
        let affinity = self
            .pod_template()
            .and_then(|t| t.spec.as_ref())
            .and_then(|p| p.affinity.as_ref());
        // PodAffinity and PodAntiAffinity are two types with the same two fields
        let (field, terms) = match which {
            Affinity::Pod => (
                "podAffinity",
                affinity.and_then(|a| a.pod_affinity.as_ref()).map(|a| {
                    (
                        &a.required_during_scheduling_ignored_during_execution,
                        &a.preferred_during_scheduling_ignored_during_execution,
                    )
                }),
            ),
            Affinity::PodAnti => (
                "podAntiAffinity",
                affinity
                    .and_then(|a| a.pod_anti_affinity.as_ref())
                    .map(|a| {
                        (
                            &a.required_during_scheduling_ignored_during_execution,
                            &a.preferred_during_scheduling_ignored_during_execution,
                        )
                    }),
            ),
        };
        let (required, preferred): (
            Option<&Vec<PodAffinityTerm>>,
            Option<&Vec<WeightedPodAffinityTerm>>,
        ) = terms.map_or((None, None), |(r, p)| (r.as_ref(), p.as_ref()));
        let template = self.pod_template_pointer();
        let pointer = |required, index| TermPointer {
            template,
            field,
            required,
            index,
        };
        let required = required
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, term)| AffinityTerm {
                term,
                required: true,
                pointer: pointer(true, i),
            });
        let preferred = preferred
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, w)| AffinityTerm {
                term: &w.pod_affinity_term,
                required: false,
                pointer: pointer(false, i),
            });
        required.chain(preferred).collect()
    }

    /// `policy/v1beta1` PDB (an empty selector selects nothing there).
    pub fn is_legacy_pdb(&self) -> bool {
        self.key.kind == "PodDisruptionBudget" && self.key.api_version == "policy/v1beta1"
    }

    /// True when `ignore` names this rule by code or slug.
    pub fn ignores(&self, code: &str, slug: &str) -> bool {
        self.ignore
            .iter()
            .any(|i| i.eq_ignore_ascii_case(code) || i == slug || i == "all")
    }
}

/// Which affinity of a pod template: `podAffinity` or `podAntiAffinity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    Pod,
    PodAnti,
}

/// One (anti-)affinity term of a pod template.
#[derive(Debug, Clone)]
pub struct AffinityTerm<'a> {
    pub term: &'a PodAffinityTerm,
    /// `requiredDuringScheduling...` (else preferred).
    pub required: bool,
    /// Pointer of the term (of the `podAffinityTerm` inside a preferred one), written when
    /// displayed.
    pub pointer: TermPointer,
}

/// The pointer of an [`AffinityTerm`]:
/// `{template}/spec/affinity/{field}/requiredDuringSchedulingIgnoredDuringExecution/{index}`
/// or `.../preferredDuringSchedulingIgnoredDuringExecution/{index}/podAffinityTerm`.
#[derive(Debug, Clone, Copy)]
pub struct TermPointer {
    template: &'static str,
    field: &'static str,
    required: bool,
    index: usize,
}

impl std::fmt::Display for TermPointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let TermPointer {
            template,
            field,
            index,
            ..
        } = self;
        if self.required {
            write!(
                f,
                "{template}/spec/affinity/{field}/requiredDuringSchedulingIgnoredDuringExecution/{index}"
            )
        } else {
            write!(
                f,
                "{template}/spec/affinity/{field}/preferredDuringSchedulingIgnoredDuringExecution/{index}/podAffinityTerm"
            )
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn string_map(v: Option<&Value>, pointer: &str) -> Result<Labels, ObjectError> {
    let mut out = Labels::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    other => {
                        let mut p = pointer.to_string();
                        push_segment(&mut p, k);
                        return Err(ObjectError {
                            pointer: p,
                            message: format!(
                                "`{k}` must be a string, found {} (quote it: \"{}\")",
                                type_name(other),
                                scalar_text(other)
                            ),
                        });
                    }
                }
            }
        }
        Some(other) => {
            return Err(ObjectError {
                pointer: pointer.to_string(),
                message: format!("expected a mapping, found {}", type_name(other)),
            });
        }
    }
    Ok(out)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Older StatefulSet apiVersions deserialize as apps/v1; `apps/v1beta1` defaulted the selector
/// to the template labels.
fn normalise_statefulset(value: &mut Value, api_version: &str) {
    let Some(m) = value.as_object_mut() else {
        return;
    };
    m.insert("apiVersion".into(), Value::from("apps/v1"));
    if api_version == "apps/v1" {
        return;
    }
    let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if spec.get("selector").is_none_or(Value::is_null) {
        let labels = spec
            .get("template")
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels"))
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        spec.insert(
            "selector".into(),
            serde_json::json!({ "matchLabels": labels }),
        );
    }
}

fn pod_template(value: Value, kind: &str) -> Option<(String, Value)> {
    let Value::Object(mut m) = value else {
        return None;
    };
    match kind {
        "Pod" => {
            let mut t = serde_json::Map::new();
            if let Some(md) = m.remove("metadata") {
                t.insert("metadata".into(), md);
            }
            if let Some(spec) = m.remove("spec") {
                t.insert("spec".into(), spec);
            }
            Some((String::new(), Value::Object(t)))
        }
        "PodTemplate" => Some(("/template".into(), m.remove("template")?)),
        "CronJob" => Some((
            "/spec/jobTemplate/spec/template".into(),
            m.remove("spec")?
                .get_mut("jobTemplate")?
                .get_mut("spec")?
                .get_mut("template")?
                .take(),
        )),
        _ => Some((
            "/spec/template".into(),
            m.remove("spec")?.get_mut("template")?.take(),
        )),
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ObjectError> {
    typed_at(value, "")
}

/// Deserialize plainly (fast); only when that fails, deserialize again with path tracking to
/// name the bad field. Borrowing the value keeps it for that second pass.
fn typed_at<T: serde::de::DeserializeOwned>(value: Value, base: &str) -> Result<T, ObjectError> {
    match T::deserialize(&value) {
        Ok(t) => Ok(t),
        Err(plain) => match serde_path_to_error::deserialize::<_, T>(&value) {
            Err(e) => Err(path_error(e, base)),
            Ok(_) => Err(ObjectError {
                pointer: base.to_string(),
                message: plain.to_string(),
            }),
        },
    }
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>, base: &str) -> ObjectError {
    let mut pointer = base.to_string();
    for seg in e.path().iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => {
                pointer.push('/');
                pointer.push_str(&index.to_string());
            }
            serde_path_to_error::Segment::Map { key } => push_segment(&mut pointer, key),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    let path = e.path().to_string();
    let mut inner = e.into_inner().to_string();
    // `serviceName: 5`: say how to write it as a string
    if inner.ends_with("expected a string")
        && let Some(v) = inner
            .strip_prefix("invalid type: integer `")
            .or_else(|| inner.strip_prefix("invalid type: floating point `"))
            .and_then(|r| r.split_once('`'))
            .map(|(v, _)| v.to_string())
    {
        inner.push_str(&format!(" (quote it: \"{v}\")"));
    }
    let message = if path == "." || path.is_empty() {
        inner
    } else {
        let dotted = if base.is_empty() {
            path
        } else {
            format!(
                "{}.{}",
                base.trim_start_matches('/').replace('/', "."),
                path
            )
        };
        format!("{dotted}: {inner}")
    };
    ObjectError { pointer, message }
}

/// Placeholder forms left in templates: `<NAMESPACE>`, `${NAMESPACE}`, `{{ .Values.x }}`,
/// `<YOUR_...>`.
pub fn placeholder_in(s: &str) -> Option<&str> {
    // most strings hold neither `{` nor `<`: one byte scan, no substring searcher
    if !s.bytes().any(|b| b == b'{' || b == b'<') {
        return None;
    }
    // {{ ... }}
    if let Some(i) = s.find("{{")
        && let Some(j) = s[i..].find("}}")
    {
        return Some(&s[i..i + j + 2]);
    }
    // <UPPER_CASE> (not <= or a shell redirect: needs an upper-case letter and only [A-Z0-9_-])
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let start = i + off;
        if let Some(len) = angle_placeholder_len(b, start) {
            return Some(&s[start..start + len]);
        }
        i = start + 1;
    }
    None
}

/// Length of a `<UPPER_CASE>` placeholder starting at `b[start] == b'<'`. Looks at most 66
/// bytes ahead (the name is at most 64 bytes), so scanning a long text stays linear.
fn angle_placeholder_len(b: &[u8], start: usize) -> Option<usize> {
    let mut upper = false;
    for (n, &c) in b.iter().enumerate().skip(start + 1).take(65) {
        match c {
            b'>' if n > start + 1 && upper => return Some(n - start + 1),
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' | b'_' | b'-' => {}
            _ => return None,
        }
    }
    None
}

/// Every placeholder of `s` (`{{ ... }}` and `<UPPER_CASE>`) with its byte offset, in order,
/// not overlapping. Linear in the length of `s`, whatever it holds.
pub fn placeholders_in(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    // once no `}}` follows a `{{`, none follows any later one either
    let mut braces_closed = true;
    std::iter::from_fn(move || {
        while i < b.len() {
            let start = i;
            if braces_closed && b[i] == b'{' && b.get(i + 1) == Some(&b'{') {
                match s[i + 2..].find("}}") {
                    Some(j) => {
                        i += 2 + j + 2;
                        return Some((start, &s[start..i]));
                    }
                    None => braces_closed = false,
                }
            } else if b[i] == b'<'
                && let Some(len) = angle_placeholder_len(b, i)
            {
                i += len;
                return Some((start, &s[start..i]));
            }
            i += 1;
        }
        None
    })
}

/// `${NAMESPACE}`-style placeholders (shell-looking; only a placeholder where no shell runs).
pub fn shell_placeholder_in(s: &str) -> Option<&str> {
    let i = s.find("${")?;
    let j = s[i..].find('}')?;
    let inner = &s[i + 2..i + j];
    if !inner.is_empty()
        && inner
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
    {
        Some(&s[i..i + j + 1])
    } else {
        None
    }
}

/// At most this many strings with placeholders are recorded per object (one finding each).
pub const MAX_PLACEHOLDER_STRINGS: usize = 100;

/// Strings holding a placeholder, with their pointers, sorted by pointer. One pointer buffer is
/// extended and truncated on the way (a pointer string per node would cost the length of the
/// pointer for every node: a long key with many children made gigabytes).
fn find_placeholders(v: &Value) -> Vec<(String, String)> {
    use std::fmt::Write;
    enum Children<'v> {
        Arr(std::iter::Enumerate<std::slice::Iter<'v, Value>>),
        Obj(serde_json::map::Iter<'v>),
    }
    let mut out = Vec::new();
    let mut ptr = String::new();
    // open collections: their children still to visit, and the length of their pointer
    let mut stack: Vec<(Children<'_>, usize)> = Vec::new();
    let mut next = Some(v);
    loop {
        if let Some(v) = next.take() {
            match v {
                Value::String(s) if placeholder_in(s).is_some() => {
                    out.push((ptr.clone(), s.clone()));
                    if out.len() == MAX_PLACEHOLDER_STRINGS {
                        break;
                    }
                }
                Value::Array(a) => stack.push((Children::Arr(a.iter().enumerate()), ptr.len())),
                Value::Object(o) => stack.push((Children::Obj(o.iter()), ptr.len())),
                _ => {}
            }
        }
        let Some((children, base)) = stack.last_mut() else {
            break;
        };
        ptr.truncate(*base);
        match children {
            Children::Arr(it) => match it.next() {
                Some((i, x)) => {
                    let _ = write!(ptr, "/{i}");
                    next = Some(x);
                }
                None => {
                    stack.pop();
                }
            },
            Children::Obj(it) => match it.next() {
                Some((k, x)) => {
                    push_segment(&mut ptr, k);
                    next = Some(x);
                }
                None => {
                    stack.pop();
                }
            },
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_in_order_and_linear() {
        fn all(s: &str) -> Vec<(usize, &str)> {
            placeholders_in(s).collect()
        }
        assert_eq!(
            all("a <NS> b {{ .x }} <lower> <A_1>"),
            vec![(2, "<NS>"), (9, "{{ .x }}"), (26, "<A_1>")]
        );
        assert_eq!(all("{{ <NS> }} <B>"), vec![(0, "{{ <NS> }}"), (11, "<B>")]);
        // an unclosed `{{` does not hide what follows
        assert_eq!(all("{{ x <NS> {{"), vec![(5, "<NS>")]);
        assert_eq!(all("<>"), vec![]);
        assert_eq!(all(&format!("<{}>", "A".repeat(64))).len(), 1);
        assert_eq!(all(&format!("<{}>", "A".repeat(65))).len(), 0);
        // 200,000 `<` without `>`: must not look for `>` from each of them
        let s = "<A".repeat(200_000) + "<B>";
        assert_eq!(all(&s), vec![(400_000, "<B>")]);
        assert_eq!(placeholder_in(&s), Some("<B>"));
    }

    #[test]
    fn escapes_that_cannot_spell_a_placeholder_keep_the_fast_path() {
        // Go's encoding/json escapes &, < and > (what the API server sends)
        assert!(!may_hide_placeholder(
            br#"{"command":["sh","-c","run 2\u003e\u00261 \u0026\u0026 exit"],"x":"caf\u00e9"}"#
        ));
        assert!(!may_hide_placeholder(br#"{"a":"b"}"#));
        // what could spell one: a raw `<` or `{{`, or `<` / `{` escaped, in either case
        for text in [
            &br#"{"a":"<NAMESPACE>"}"#[..],
            br#"{"a":"{{ .Values.x }}"}"#,
            br#"{"a":"\u003cNAMESPACE\u003e"}"#,
            br#"{"a":"\u003CNAMESPACE>"}"#,
            br#"{"a":"{\u007b .Values.x }}"}"#,
            br#"{"a":"\u007B\u007B x }}"}"#,
            br#"{"a":"\u00"#,
        ] {
            assert!(
                may_hide_placeholder(text),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            placeholder_in("zk-0.zk-svc.<NAMESPACE>.svc"),
            Some("<NAMESPACE>")
        );
        assert_eq!(placeholder_in("{{ .Values.ns }}"), Some("{{ .Values.ns }}"));
        assert_eq!(placeholder_in("a <b> c"), None);
        assert_eq!(placeholder_in("x < 3 && y > 2"), None);
        assert_eq!(placeholder_in("<YOUR_IMAGE>"), Some("<YOUR_IMAGE>"));
        assert_eq!(
            shell_placeholder_in("${NAMESPACE}.svc"),
            Some("${NAMESPACE}")
        );
    }

    #[test]
    fn placeholder_pointers() {
        let v = json!({"a": {"b/c": ["x", "<NS>", {"d": "{{ .Values.x }}"}]}, "e": "<IMAGE>",
            "f": [[], {}, 1, null]});
        assert_eq!(
            find_placeholders(&v),
            vec![
                ("/a/b~1c/1".to_string(), "<NS>".to_string()),
                ("/a/b~1c/2/d".to_string(), "{{ .Values.x }}".to_string()),
                ("/e".to_string(), "<IMAGE>".to_string()),
            ]
        );
        assert_eq!(
            find_placeholders(&json!("<X>")),
            vec![(String::new(), "<X>".into())]
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let v = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x"},
            "spec": {"replicas": "three", "selector": {}, "template": {}}});
        let e = Object::from_value(v, None, "default").unwrap_err();
        assert_eq!(e.pointer, "/spec/replicas");
        assert!(e.message.contains("spec.replicas"), "{}", e.message);
    }

    #[test]
    fn beta_statefulset_gets_selector_from_template() {
        let v = json!({"apiVersion": "apps/v1beta1", "kind": "StatefulSet", "metadata": {"name": "x"},
            "spec": {"template": {"metadata": {"labels": {"app": "zk"}}}}});
        let o = Object::from_value(v, None, "ns").unwrap().unwrap();
        assert_eq!(o.key.namespace, "ns");
        assert_eq!(o.key.api_version, "apps/v1beta1");
        let sel = o
            .statefulset()
            .unwrap()
            .spec
            .as_ref()
            .unwrap()
            .selector
            .match_labels
            .clone();
        assert_eq!(sel.unwrap()["app"], "zk");
    }

    /// The webhook's fast path builds exactly what the general path builds, and declines
    /// whatever needs the general path.
    #[test]
    fn statefulset_from_json_text_equals_the_tree_path() {
        let base = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "zk", "labels": {"app": "zk"},
                "annotations": {"statelint.io/ignore": " SL003 , pdb-quorum,", "statelint.io/ignore-reason": "why"}},
            "spec": {"replicas": 3, "serviceName": "zk-hs", "selector": {"matchLabels": {"app": "zk"}},
                "template": {"metadata": {"labels": {"app": "zk"}},
                    "spec": {"containers": [{"name": "zk", "image": "zookeeper:3.9",
                        "env": [{"name": "A", "value": "b"}]}]}}}});
        let mut variants = vec![base.clone()];
        let mut v = base.clone();
        v["metadata"]["namespace"] = json!("data");
        variants.push(v);
        let mut v = base.clone();
        v["metadata"]["name"] = Value::Null;
        v["metadata"]["generateName"] = json!("zk-");
        v["metadata"]["namespace"] = json!("");
        variants.push(v);
        let mut v = base.clone();
        v["metadata"]["labels"] = Value::Null;
        v["spec"]["replicas"] = Value::Null;
        variants.push(v);
        let mut v = base.clone();
        v["metadata"]["uid"] = json!("0c9a8d74");
        v["metadata"]["resourceVersion"] = json!("42");
        v["metadata"]["generation"] = json!(3);
        v["metadata"]["creationTimestamp"] = json!("2024-01-02T03:04:05Z");
        v["metadata"]["deletionTimestamp"] = json!("2024-01-02T03:04:06Z");
        v["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        v["metadata"]["finalizers"] = json!(["a/b"]);
        v["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "1"}]);
        v["metadata"]["selfLink"] = json!("/x");
        v["metadata"]["unknown"] = json!({"a": [1]});
        v["spec"]["unknown"] = json!(true);
        variants.push(v);
        // what is read in place (object/in_place.rs): every kind of field, nulls, empty lists
        let mut v = base.clone();
        let pod = &mut v["spec"]["template"]["spec"];
        pod["volumes"] = json!([{"name": "cfg", "configMap": {"name": "zk-cfg"}},
            {"name": "tmp", "emptyDir": {}}, {"name": "d", "persistentVolumeClaim": {"claimName": "d"}}]);
        pod["initContainers"] = json!([{"name": "init", "image": "busybox", "command": ["sh"]}]);
        pod["containers"][0]["securityContext"] = json!({"runAsUser": 1000});
        pod["containers"][0]["ports"] = json!([{"containerPort": 2181}]);
        pod["containers"][0]["livenessProbe"] = json!({"tcpSocket": {"port": 2181}});
        pod["containers"][0]["unknown"] = json!([1]);
        pod["securityContext"] = json!({"fsGroup": 1000});
        pod["affinity"] = json!({"podAntiAffinity": {}});
        pod["hostNetwork"] = json!(false);
        pod["setHostnameAsFQDN"] = json!(true);
        v["spec"]["template"]["metadata"]["annotations"] = json!({"a": "b"});
        v["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "d"},
            "spec": {"accessModes": ["ReadWriteOnce"]}}]);
        v["spec"]["updateStrategy"] = json!({"type": "RollingUpdate"});
        variants.push(v);
        for (pointer, value) in [
            ("/spec/template/spec/containers", json!(null)),
            ("/spec/template/spec/containers", json!([])),
            ("/spec/template/spec/containers/0/name", json!(null)),
            ("/spec/template/spec/initContainers", json!(null)),
            ("/spec/template/spec/initContainers", json!([])),
            ("/spec/template/spec/volumes", json!([{"name": null}])),
            ("/spec/template/spec", json!(null)),
            ("/spec/template/metadata", json!(null)),
            ("/spec/template", json!(null)),
            ("/spec/selector", json!(null)),
            ("/spec", json!(null)),
            ("/metadata", json!(null)),
        ] {
            let mut v = base.clone();
            let (parent, field) = pointer.rsplit_once('/').unwrap();
            v.pointer_mut(parent).unwrap()[field] = value;
            variants.push(v);
        }
        // every field of the structs read in place, each with its own value
        let mut v = base.clone();
        let named = |keys: &[&str]| -> Value {
            keys.iter()
                .map(|k| (k.to_string(), json!(k)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let mut pod = named(&[
            "dnsPolicy",
            "hostname",
            "nodeName",
            "preemptionPolicy",
            "priorityClassName",
            "restartPolicy",
            "runtimeClassName",
            "schedulerName",
            "serviceAccount",
            "serviceAccountName",
            "subdomain",
        ]);
        for (i, k) in [
            "activeDeadlineSeconds",
            "priority",
            "terminationGracePeriodSeconds",
        ]
        .iter()
        .enumerate()
        {
            pod[k] = json!(i + 1);
        }
        for k in [
            "automountServiceAccountToken",
            "enableServiceLinks",
            "hostIPC",
            "hostNetwork",
            "hostPID",
            "hostUsers",
            "setHostnameAsFQDN",
            "shareProcessNamespace",
        ] {
            pod[k] = json!(true);
        }
        for k in ["affinity", "dnsConfig", "resources", "securityContext"] {
            pod[k] = json!({});
        }
        for k in [
            "ephemeralContainers",
            "hostAliases",
            "imagePullSecrets",
            "readinessGates",
            "resourceClaims",
            "schedulingGates",
            "tolerations",
            "topologySpreadConstraints",
        ] {
            pod[k] = json!([]);
        }
        pod["nodeSelector"] = json!({"a": "b"});
        pod["os"] = json!({"name": "linux"});
        pod["overhead"] = json!({"cpu": "1"});
        let mut container = named(&[
            "image",
            "imagePullPolicy",
            "name",
            "restartPolicy",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "workingDir",
        ]);
        for (i, k) in ["livenessProbe", "readinessProbe", "startupProbe"]
            .iter()
            .enumerate()
        {
            container[k] = json!({"periodSeconds": i + 1});
        }
        for k in ["args", "command"] {
            container[k] = json!([k]);
        }
        for k in [
            "env",
            "envFrom",
            "ports",
            "resizePolicy",
            "volumeDevices",
            "volumeMounts",
        ] {
            container[k] = json!([]);
        }
        for k in ["stdin", "stdinOnce", "tty"] {
            container[k] = json!(true);
        }
        container["lifecycle"] = json!({});
        container["resources"] = json!({});
        container["securityContext"] = json!({});
        pod["containers"] = json!([container.clone()]);
        pod["initContainers"] = json!([container]);
        pod["volumes"] = [
            "awsElasticBlockStore",
            "azureDisk",
            "azureFile",
            "cephfs",
            "cinder",
            "configMap",
            "csi",
            "downwardAPI",
            "emptyDir",
            "ephemeral",
            "fc",
            "flexVolume",
            "flocker",
            "gcePersistentDisk",
            "gitRepo",
            "glusterfs",
            "hostPath",
            "image",
            "iscsi",
            "nfs",
            "persistentVolumeClaim",
            "photonPersistentDisk",
            "portworxVolume",
            "projected",
            "quobyte",
            "rbd",
            "scaleIO",
            "secret",
            "storageos",
            "vsphereVolume",
        ]
        .iter()
        .map(|k| json!({"name": k, *k: {}}))
        .collect();
        let mut meta = named(&[
            "generateName",
            "name",
            "namespace",
            "resourceVersion",
            "selfLink",
            "uid",
        ]);
        meta["annotations"] = json!({"a": "b"});
        meta["labels"] = json!({"app": "zk"});
        meta["creationTimestamp"] = json!("2024-01-02T03:04:05Z");
        meta["deletionTimestamp"] = json!("2024-01-02T03:04:06Z");
        meta["deletionGracePeriodSeconds"] = json!(1);
        meta["generation"] = json!(2);
        meta["finalizers"] = json!(["a/b"]);
        meta["managedFields"] = json!([{"manager": "m"}]);
        meta["ownerReferences"] = json!([]);
        v["spec"]["template"] = json!({"metadata": meta, "spec": pod});
        v["spec"]["minReadySeconds"] = json!(5);
        v["spec"]["revisionHistoryLimit"] = json!(7);
        v["spec"]["ordinals"] = json!({"start": 1});
        v["spec"]["podManagementPolicy"] = json!("Parallel");
        v["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({"whenDeleted": "Retain"});
        v["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        v["spec"]["volumeClaimTemplates"] = json!([]);
        variants.push(v);
        // text the tree cannot show: a repeated struct replaces the first one whole, an escaped
        // field name is the same field
        let texts = [
            r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"a","labels":{"a":"b"}},"metadata":{"name":"zk"},"spec":{"template":{"metadata":{"labels":{"x":"y"}},"spec":{"hostPID":true}},"template":{"spec":{"containers":[{"name":"z"}]}}}}"#.to_string(),
            r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"zk"},"spec":{"template":{"metadata":{"labels":{"x":"y"}},"metadata":null,"spec":{"initContainers":[{"name":"i"}],"initContainers":null,"containers":[{"name":"z"}]}}}}"#.to_string(),
            base.to_string().replacen(
                r#""template":{"#,
                r#""template":{"metadata":{"labels":{"x":"y"}},"spec":{"hostPID":true,"containers":[{"name":"a"},{"name":"b"}]}},"template":{"#,
                1,
            ),
            base.to_string()
                .replacen(r#""containers":["#, r#""containers":[{"name":"gone"}],"containers":["#, 1),
            base.to_string().replacen(r#""serviceName""#, r#""service\u004eame""#, 1),
            base.to_string().replacen(r#""template""#, r#""\u0074emplate""#, 1),
        ];
        for text in texts {
            let fast = Object::from_json_fast(&text, "ns").expect("fast path");
            let tree: Value = serde_json::from_str(&text).unwrap();
            let tree = Object::from_value(tree, None, "ns").unwrap().unwrap();
            assert_eq!(format!("{fast:?}"), format!("{tree:?}"), "{text}");
        }
        for v in variants {
            let fast = Object::from_json_fast(&v.to_string(), "ns").expect("fast path");
            let tree = Object::from_value(v.clone(), None, "ns").unwrap().unwrap();
            assert_eq!(format!("{fast:?}"), format!("{tree:?}"), "{v}");
        }
        // `status` and `metadata.managedFields` are skipped (no rule reads them): the object is
        // the general path's without them
        let mut v = base.clone();
        v["metadata"]["managedFields"] = json!([{"manager": "kubectl", "operation": "Update",
            "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]);
        v["status"] = json!({"replicas": 3, "readyReplicas": 2, "availableReplicas": 2});
        let fast = Object::from_json_fast(&v.to_string(), "ns").expect("fast path");
        let stripped = {
            let mut s = v.clone();
            s["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("managedFields");
            s.as_object_mut().unwrap().remove("status");
            s
        };
        let tree = Object::from_value(stripped, None, "ns").unwrap().unwrap();
        assert_eq!(format!("{fast:?}"), format!("{tree:?}"));
        // still JSON, whatever they hold; a repeated metadata field: the last one (as typed)
        v["status"] = json!({"replicas": "x", "conditions": [null]});
        assert!(Object::from_json_fast(&v.to_string(), "ns").is_some());
        let broken = v.to_string().replace("[null]", "[nul]");
        assert!(Object::from_json_fast(&broken, "ns").is_none());
        let twice = base
            .to_string()
            .replacen(r#""name":"zk""#, r#""name":"a","name":"zk""#, 1);
        let fast = Object::from_json_fast(&twice, "ns").expect("fast path");
        assert_eq!(fast.key.name, "zk");
        // declined: the general path decides (placeholders, other versions, errors)
        let declined = |f: &dyn Fn(&mut Value)| {
            let mut v = base.clone();
            f(&mut v);
            Object::from_json_fast(&v.to_string(), "ns").is_none()
        };
        assert!(declined(
            &|v| v["spec"]["serviceName"] = json!("{{ .Values.svc }}")
        ));
        assert!(declined(&|v| v["spec"]["serviceName"] = json!("<SERVICE>")));
        assert!(declined(&|v| v["apiVersion"] = json!("apps/v1beta1")));
        assert!(declined(&|v| {
            v.as_object_mut().unwrap().remove("apiVersion");
        }));
        assert!(declined(&|v| v["spec"]["replicas"] = json!(-1)));
        assert!(declined(&|v| v["spec"]["replicas"] = json!("three")));
        assert!(declined(&|v| v["metadata"]["labels"]["n"] = json!(1)));
        assert!(
            Object::from_json_fast(
                r#"{"apiVersion":"apps\u002fv1","kind":"StatefulSet"}"#,
                "ns"
            )
            .is_none()
        );
    }

    #[test]
    fn non_objects_are_skipped() {
        assert!(
            Object::from_value(json!({"a": 1}), None, "d")
                .unwrap()
                .is_none()
        );
        assert!(Object::from_value(json!([1]), None, "d").unwrap().is_none());
    }
}
