//! The admission decision: an `AdmissionRequest` in, an `AdmissionResponse` out. Pure (no I/O):
//! companions come in through [`Companions`], so it is unit-tested without a server.
//!
//! - StatefulSet CREATE/UPDATE: every enabled rule runs on the new object; the object under
//!   admission replaces its own old version in the companion view (an UPDATE of the ZooKeeper
//!   StatefulSet `zk` sees the new `zk`).
//! - A companion (an object of a [`Kind`] some enabled rule [reads](crate::rules::Rule::reads):
//!   Services, PodDisruptionBudgets...):
//!   - DELETE: each rule that reads the kind says what the removal breaks for each live
//!     StatefulSet of the namespace ([`crate::rules::Rule::removal_breaks`]: SL001 protects the
//!     headless Service a StatefulSet names, SL002 its only PDB); denied when something breaks.
//!   - CREATE/UPDATE: those rules re-run on the StatefulSets the object
//!     [concerns](crate::rules::Rule::concerns), with the new object replacing the old in the
//!     companion view; denied when a rule that passed on a StatefulSet before fails after.
//! - `statefulsets/scale` UPDATE (`kubectl scale`, HPAs): the cached StatefulSet at the new
//!   count, through the rules that [depend on replicas](crate::rules::Rule::depends_on_replicas);
//!   new errors deny.
//! - Everything else is allowed untouched.
//!
//! Companions are read through [`Misses`]: a denial that depends on something the caches lacked
//! carries a [`Recheck`], which [`super::live::confirm`] (the one place with I/O) reads live.

use std::sync::Arc;

use std::borrow::Cow;

use kube::core::admission::{
    AdmissionRequest, AdmissionResponse, META_API_VERSION_V1, META_KIND, Operation,
};
use kube::core::response::StatusSummary;
use kube::core::{DynamicObject, GroupVersionKind};
use serde_json::Value;

use super::live::{Lookup, Misses};
use crate::catalog::{Companions, Kind, Overlay};
use crate::config::Config;
use crate::object::{FastStatefulSet, Object};
use crate::role::Applies;
use crate::rules::{self, Ctx, Outcome, Rule, Severity};

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// Error-severity findings deny the request.
    #[default]
    Enforce,
    /// Allow everything; every finding becomes a warning.
    Warn,
}

/// What the webhook answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Allowed with warnings.
    Warned,
    Denied,
    /// The request could not be processed (bad object, internal error).
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Warned => "warned",
            Verdict::Denied => "denied",
            Verdict::Error => "error",
        }
    }
}

/// One reason to deny or warn.
#[derive(Debug, Clone)]
pub struct Problem {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: String,
}

/// The rule engine, as a function (tests substitute their own).
pub type Runner = fn(&[Arc<Object>], &dyn Companions, &Config) -> Outcome;

/// What the decision needs.
pub struct Reviewer<'a> {
    pub companions: &'a dyn Companions,
    pub config: &'a Config,
    pub mode: Mode,
    pub runner: Runner,
}

/// The answer and what it is made of (for logs and metrics).
#[derive(Debug)]
pub struct Decision {
    pub response: AdmissionResponse,
    pub verdict: Verdict,
    pub problems: Vec<Problem>,
    /// Set when the watch caches lacked something this answer depends on (a companion of a
    /// denied StatefulSet, the StatefulSet of a Scale): [`super::live::confirm`] reads it live
    /// and reviews again.
    pub recheck: Option<Recheck>,
}

/// What to read live and how to review again ([`super::live::confirm`]).
#[derive(Debug)]
pub struct Recheck {
    pub req: AdmissionRequest<DynamicObject>,
    pub pending: Pending,
    /// What the caches did not have, in a stable order.
    pub misses: Vec<Lookup>,
}

/// The review to run again.
#[derive(Debug)]
pub enum Pending {
    /// A StatefulSet CREATE/UPDATE: the object as read from the request and, for an UPDATE,
    /// the version it replaces.
    StatefulSet(Arc<Object>, Option<Arc<Object>>),
    /// A `statefulsets/scale` UPDATE to this many replicas.
    Scale(i32),
}

const MISSING_COMPANION_HINT: &str = "The headless Service and the PodDisruptionBudget must exist before the StatefulSet: apply them first (within one `kubectl apply -f` file, put them above the StatefulSet; Helm already installs Services and PDBs before StatefulSets).";

/// A decoded AdmissionReview: the request (its `object` and `oldObject` taken out) and those
/// two objects, each either its JSON text borrowed from the body or, in the common case (an
/// `apps/v1` StatefulSet CREATE or UPDATE), the StatefulSet already typed in the same pass
/// over the body ([`FastStatefulSet`]), without a round trip through `DynamicObject` or a
/// `serde_json::Value` tree.
#[derive(Clone)]
pub struct Review<'a> {
    pub req: Box<AdmissionRequest<DynamicObject>>,
    /// `request.object`.
    pub object: Option<RawObject<'a>>,
    /// `request.oldObject`.
    pub old_object: Option<RawObject<'a>>,
}

impl Review<'_> {
    /// The same review, no longer borrowing the body (tests, and reviews kept for later).
    pub fn into_owned(self) -> Review<'static> {
        let own = |o: Option<RawObject<'_>>| {
            o.map(|o| match o {
                RawObject::Text(t) => RawObject::Text(Cow::Owned(t.into_owned())),
                RawObject::StatefulSet(s) => RawObject::StatefulSet(s),
            })
        };
        Review {
            req: self.req,
            object: own(self.object),
            old_object: own(self.old_object),
        }
    }
}

/// `request.object` or `request.oldObject` as decoded.
#[derive(Clone)]
pub enum RawObject<'a> {
    /// A JSON object's text.
    Text(Cow<'a, str>),
    /// An `apps/v1` StatefulSet read while the review was decoded.
    StatefulSet(FastStatefulSet),
}

/// Decode an `admission.k8s.io/v1` AdmissionReview; the error is the reason for a 400.
pub fn decode(body: &[u8]) -> Result<Review<'_>, String> {
    // UTF-8 checked once for the whole body (reading from a `&[u8]`, serde_json checks each
    // string again)
    let Ok(text) = std::str::from_utf8(body) else {
        return decode_tree(body);
    };
    // A StatefulSet is typed in the same pass unless the body might hold a placeholder (then
    // its text goes through the general path, which finds them)
    if !crate::object::may_hide_placeholder(body)
        && let Some(r) = decode_fast(text, true)
    {
        return Ok(r);
    }
    match decode_fast(text, false) {
        Some(r) => Ok(r),
        // anything unusual (escaped keys, a wrong type, not JSON): the tree decoder says why
        None => decode_tree(body),
    }
}

/// The common case in one pass over the body, without building a tree: the request's fields
/// decoded into kube's types as they come, `object` and `oldObject` kept as borrowed text, or
/// (`typed`, when the request's `kind` came first and is an apps StatefulSet) `object` read
/// straight into its typed struct. `None` when anything is unusual or does not decode
/// ([`decode_tree`] then answers, with the reason when it is an error).
fn decode_fast(body: &str, typed: bool) -> Option<Review<'_>> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(body);
    let review = TopSeed { typed }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(review)
}

/// The AdmissionReview's top level: `apiVersion` and `kind` checked, `request` read by
/// [`RequestSeed`], anything else skipped (as kube's decoding of the request does).
struct TopSeed {
    typed: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for TopSeed {
    type Value = Review<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Review<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopSeed {
    type Value = Review<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an AdmissionReview")
    }
    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Review<'de>, M::Error> {
        use serde::de::{Error, IgnoredAny};
        #[derive(serde::Deserialize)]
        #[serde(field_identifier, rename_all = "camelCase")]
        enum Field {
            ApiVersion,
            Kind,
            Request,
            #[serde(other)]
            Other,
        }
        let (mut api_version, mut kind, mut review) = (None, None, None);
        while let Some(field) = m.next_key::<Field>()? {
            match field {
                Field::ApiVersion if api_version.is_none() => {
                    api_version = Some(m.next_value::<&'de str>()?)
                }
                Field::Kind if kind.is_none() => kind = Some(m.next_value::<&'de str>()?),
                Field::Request if review.is_none() => {
                    review = Some(m.next_value_seed(RequestSeed { typed: self.typed })?)
                }
                Field::Other => {
                    m.next_value::<IgnoredAny>()?;
                }
                _ => return Err(M::Error::custom("duplicate field")),
            }
        }
        if api_version != Some(META_API_VERSION_V1) || kind != Some(META_KIND) {
            return Err(M::Error::custom(
                "not an admission.k8s.io/v1 AdmissionReview",
            ));
        }
        let mut review = review.ok_or_else(|| M::Error::missing_field("request"))?;
        review.req.types = kube::core::TypeMeta {
            api_version: META_API_VERSION_V1.into(),
            kind: META_KIND.into(),
        };
        Ok(review)
    }
}

/// The request's fields into kube's [`AdmissionRequest`] (the same types, required fields and
/// defaults as its own `Deserialize`), `object` and `oldObject` apart.
struct RequestSeed {
    typed: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for RequestSeed {
    type Value = Review<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Review<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RequestSeed {
    type Value = Review<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an AdmissionRequest")
    }
    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Review<'de>, M::Error> {
        use serde::de::{Error, IgnoredAny};
        use serde_json::value::RawValue;
        #[derive(serde::Deserialize)]
        #[serde(field_identifier, rename_all = "camelCase")]
        enum Field {
            Uid,
            Kind,
            Resource,
            SubResource,
            RequestKind,
            RequestResource,
            RequestSubResource,
            Name,
            Namespace,
            Operation,
            UserInfo,
            Object,
            OldObject,
            DryRun,
            Options,
            #[serde(other)]
            Other,
        }
        /// A field given twice is an error, as in a derived `Deserialize`.
        fn once<T, E: Error>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<(), E> {
            match slot {
                Some(_) => Err(E::duplicate_field(name)),
                None => {
                    *slot = Some(v);
                    Ok(())
                }
            }
        }
        /// `null`, or a JSON object's text.
        fn text<'de, E: Error>(v: Option<&'de RawValue>) -> Result<Option<RawObject<'de>>, E> {
            match v {
                None => Ok(None),
                Some(v) if v.get().starts_with('{') => {
                    Ok(Some(RawObject::Text(Cow::Borrowed(v.get()))))
                }
                Some(_) => Err(E::custom("not an object")),
            }
        }
        let typed = |kind: &Option<GroupVersionKind>| {
            self.typed
                && kind
                    .as_ref()
                    .is_some_and(|k| k.group == "apps" && k.kind == "StatefulSet")
        };
        let mut uid = None;
        let mut kind: Option<GroupVersionKind> = None;
        let mut resource = None;
        let mut sub_resource = None;
        let mut request_kind = None;
        let mut request_resource = None;
        let mut request_sub_resource = None;
        let mut name = None;
        let mut namespace = None;
        let mut operation = None;
        let mut user_info = None;
        let mut object = None;
        let mut old_object = None;
        let mut dry_run = None;
        let mut options = None;
        while let Some(field) = m.next_key::<Field>()? {
            match field {
                Field::Uid => once(&mut uid, m.next_value::<String>()?, "uid")?,
                Field::Kind => once(&mut kind, m.next_value()?, "kind")?,
                Field::Resource => once(&mut resource, m.next_value()?, "resource")?,
                Field::SubResource => once(&mut sub_resource, m.next_value()?, "subResource")?,
                Field::RequestKind => once(&mut request_kind, m.next_value()?, "requestKind")?,
                Field::RequestResource => {
                    once(&mut request_resource, m.next_value()?, "requestResource")?
                }
                Field::RequestSubResource => once(
                    &mut request_sub_resource,
                    m.next_value()?,
                    "requestSubResource",
                )?,
                Field::Name => once(&mut name, m.next_value::<String>()?, "name")?,
                Field::Namespace => once(&mut namespace, m.next_value()?, "namespace")?,
                Field::Operation => once(&mut operation, m.next_value()?, "operation")?,
                Field::UserInfo => once(&mut user_info, m.next_value()?, "userInfo")?,
                // a StatefulSet typed now when `kind` said so (the API server sends it first);
                // otherwise the text, read once it is known what it is
                Field::Object if typed(&kind) => once(
                    &mut object,
                    m.next_value::<Option<FastStatefulSet>>()?
                        .map(RawObject::StatefulSet),
                    "object",
                )?,
                Field::Object => once(&mut object, text(m.next_value()?)?, "object")?,
                Field::OldObject if typed(&kind) => once(
                    &mut old_object,
                    m.next_value::<Option<FastStatefulSet>>()?
                        .map(RawObject::StatefulSet),
                    "oldObject",
                )?,
                Field::OldObject => once(&mut old_object, text(m.next_value()?)?, "oldObject")?,
                Field::DryRun => once(&mut dry_run, m.next_value::<bool>()?, "dryRun")?,
                Field::Options => once(&mut options, m.next_value()?, "options")?,
                Field::Other => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        let typed_object =
            |o: &Option<Option<RawObject<'_>>>| matches!(o, Some(Some(RawObject::StatefulSet(_))));
        if (typed_object(&object) || typed_object(&old_object))
            && sub_resource
                .as_ref()
                .is_some_and(|s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty()))
        {
            // a subresource's object (a Scale...) is read as the review of that subresource
            // reads it: from its text
            return Err(M::Error::custom("typed object of a subresource"));
        }
        let req = AdmissionRequest {
            types: Default::default(),
            uid: uid.ok_or_else(|| M::Error::missing_field("uid"))?,
            kind: kind.ok_or_else(|| M::Error::missing_field("kind"))?,
            resource: resource.ok_or_else(|| M::Error::missing_field("resource"))?,
            sub_resource: sub_resource.flatten(),
            request_kind: request_kind.flatten(),
            request_resource: request_resource.flatten(),
            request_sub_resource: request_sub_resource.flatten(),
            name: name.unwrap_or_default(),
            namespace: namespace.flatten(),
            operation: operation.ok_or_else(|| M::Error::missing_field("operation"))?,
            user_info: user_info.ok_or_else(|| M::Error::missing_field("userInfo"))?,
            object: None,
            old_object: None,
            dry_run: dry_run.unwrap_or_default(),
            options: options.flatten(),
        };
        Ok(Review {
            req: Box::new(req),
            object: object.flatten(),
            old_object: old_object.flatten(),
        })
    }
}

/// The general decoder (a `serde_json::Value` tree), with a reason for every malformed review.
fn decode_tree(body: &[u8]) -> Result<Review<'static>, String> {
    let mut v: Value =
        serde_json::from_slice(body).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    let Some(top) = v.as_object_mut() else {
        return Err("not an AdmissionReview: expected a JSON object".into());
    };
    let (api_version, kind) = (
        top.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
        top.get("kind").and_then(Value::as_str).unwrap_or(""),
    );
    if api_version != "admission.k8s.io/v1" || kind != "AdmissionReview" {
        return Err(format!(
            "expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got apiVersion {api_version:?}, kind {kind:?}"
        ));
    }
    let Some(request) = top.get_mut("request").and_then(Value::as_object_mut) else {
        return Err("AdmissionReview has no request".into());
    };
    let mut take = |key: &str| -> Result<Option<RawObject<'static>>, String> {
        match request.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(o @ Value::Object(_)) => Ok(Some(RawObject::Text(Cow::Owned(o.to_string())))),
            Some(_) => Err(format!("request.{key} must be an object")),
        }
    };
    let object = take("object")?;
    let old_object = take("oldObject")?;
    let review: kube::core::admission::AdmissionReview<DynamicObject> =
        serde_json::from_value(v).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    let req: AdmissionRequest<DynamicObject> = review
        .try_into()
        .map_err(|_| "AdmissionReview has no request".to_string())?;
    Ok(Review {
        req: Box::new(req),
        object,
        old_object,
    })
}

impl Reviewer<'_> {
    pub fn review(&self, review: Review<'_>) -> Decision {
        let Review {
            req,
            object,
            old_object,
        } = review;
        self.review_request(&req, object, old_object)
    }

    /// [`Self::review`] of a review taken apart (the server keeps the request for its log line).
    pub fn review_request(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        object: Option<RawObject<'_>>,
        old_object: Option<RawObject<'_>>,
    ) -> Decision {
        let allow = || Decision {
            response: AdmissionResponse::from(req),
            verdict: Verdict::Allowed,
            problems: Vec::new(),
            recheck: None,
        };
        match req.sub_resource.as_deref().filter(|s| !s.is_empty()) {
            Some("scale")
                if req.resource.group == "apps"
                    && req.resource.resource == "statefulsets"
                    && req.operation == Operation::Update =>
            {
                return self.scale(req, object).unwrap_or_else(|msg| bad(req, &msg));
            }
            // status updates (and other subresources) are not the user's spec
            Some(_) => return allow(),
            None => {}
        }
        let result = match (req.kind.group.as_str(), req.kind.kind.as_str()) {
            ("apps", "StatefulSet") => match req.operation {
                Operation::Create | Operation::Update => self.statefulset(req, object, old_object),
                _ => return allow(),
            },
            (group, kind) => match Kind::of(group, kind) {
                Some(kind) if !self.readers(kind).is_empty() => match req.operation {
                    Operation::Delete => self.companion_delete(req, kind, old_object),
                    Operation::Create | Operation::Update => {
                        self.companion_change(req, kind, object, old_object)
                    }
                    _ => return allow(),
                },
                _ => return allow(),
            },
        };
        result.unwrap_or_else(|msg| bad(req, &msg))
    }

    /// Review again after [`super::live::confirm`] read what the caches lacked (`self` sees it
    /// now); never asks for another confirmation.
    pub fn resume(&self, req: &AdmissionRequest<DynamicObject>, pending: Pending) -> Decision {
        let mut d = match pending {
            Pending::StatefulSet(obj, old) => self.check_statefulset(req, obj, old),
            Pending::Scale(replicas) => {
                let ns = self.namespace(req);
                match self.companions.statefulset(ns, &req.name) {
                    Some(sts) => self.check_scale(req, sts, replicas),
                    None => self.decide(req, "", Vec::new(), None),
                }
            }
        };
        d.recheck = None;
        d
    }

    fn namespace<'r>(&self, req: &'r AdmissionRequest<DynamicObject>) -> &'r str {
        req.namespace
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
    }

    /// Turn the request's object or oldObject into an [`Object`].
    fn object(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        raw: Option<RawObject<'_>>,
        what: &str,
    ) -> Result<Option<Arc<Object>>, String> {
        let raw = match raw {
            None => return Ok(None),
            // the common case: an apps/v1 StatefulSet typed as the review was decoded
            Some(RawObject::StatefulSet(sts)) => {
                let mut o = Object::from_fast_statefulset(sts, self.namespace(req));
                if o.key.name.is_empty() {
                    o.key.name = req.name.clone();
                }
                return Ok(Some(Arc::new(o)));
            }
            Some(RawObject::Text(raw)) => raw,
        };
        // an apps/v1 StatefulSet read straight into its typed struct
        if req.kind.group == "apps"
            && req.kind.kind == "StatefulSet"
            && let Some(mut o) = Object::from_json_fast(&raw, self.namespace(req))
        {
            if o.key.name.is_empty() {
                o.key.name = req.name.clone();
            }
            return Ok(Some(Arc::new(o)));
        }
        let mut v: Value =
            serde_json::from_str(&raw).map_err(|e| format!("{what} is not JSON: {e}"))?;
        let Some(m) = v.as_object_mut() else {
            return Err(format!("{what} is not an object"));
        };
        if !m.contains_key("apiVersion") {
            m.insert("apiVersion".into(), Value::from(req.kind.api_version()));
        }
        if !m.contains_key("kind") {
            m.insert("kind".into(), Value::from(req.kind.kind.clone()));
        }
        match Object::from_value(v, None, self.namespace(req)) {
            Ok(Some(mut o)) => {
                if o.key.name.is_empty() {
                    o.key.name = req.name.clone();
                }
                Ok(Some(Arc::new(o)))
            }
            Ok(None) => Err(format!("{what} has no apiVersion and kind")),
            Err(e) => Err(format!(
                "cannot read {} {}: {}",
                req.kind.kind, req.name, e.message
            )),
        }
    }

    fn statefulset(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        object: Option<RawObject<'_>>,
        old_object: Option<RawObject<'_>>,
    ) -> Result<Decision, String> {
        let Some(obj) = self.object(req, object, "object")? else {
            return Err("request.object is missing".into());
        };
        // an UPDATE: the version it replaces, for the StatefulSets that depend on it (the API
        // server sends oldObject; the cached copy otherwise, also when oldObject cannot be
        // read: the old version only frames the dependents' check, and an unreadable one must
        // not block every update of the StatefulSet, repairs included)
        let old = match req.operation {
            Operation::Update => match self.object(req, old_object, "oldObject") {
                Ok(Some(o)) => Some(o),
                Ok(None) | Err(_) => self
                    .companions
                    .statefulset(&obj.key.namespace, &obj.key.name),
            },
            _ => None,
        };
        Ok(self.check_statefulset(req, obj, old))
    }

    /// Every enabled rule on a StatefulSet under CREATE/UPDATE, and for an UPDATE the
    /// StatefulSets that depend on it ([`Self::dependents`]); a denial with companions the
    /// caches lacked asks for a live read ([`Decision::recheck`]).
    fn check_statefulset(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        obj: Arc<Object>,
        old: Option<Arc<Object>>,
    ) -> Decision {
        if is_terminating(&obj) {
            return self.decide(req, &obj.key.to_string(), Vec::new(), None);
        }
        let misses = Misses::new(self.companions);
        let view = Overlay::new(&misses).with(&obj.key.kind, &obj, Some(obj.clone()));
        let outcome = (self.runner)(std::slice::from_ref(&obj), &view, self.config);
        let mut problems: Vec<Problem> = outcome.findings.iter().map(problem).collect();
        let hint = missing_companion(&obj, &view, &problems).then_some(MISSING_COMPANION_HINT);
        if let Some(old) = old.as_ref().filter(|o| !same_to_dependents(o, &obj)) {
            problems.extend(self.dependents(old, &obj, &misses));
        }
        let mut d = self.decide(req, &obj.key.to_string(), problems, hint);
        if d.verdict == Verdict::Denied {
            let misses = misses.take();
            if !misses.is_empty() {
                d.recheck = Some(Recheck {
                    req: req.clone(),
                    pending: Pending::StatefulSet(obj, old),
                    misses,
                });
            }
        }
        d
    }

    /// The other StatefulSets of the namespace that read `changed` through a rule (a Kafka
    /// StatefulSet whose `zookeeper.connect` names ZooKeeper's pods, SL005; a broker whose
    /// `controller.quorum.voters` names KRaft controllers, or a peer list naming another
    /// StatefulSet's pods, SL011; an ensemble split over StatefulSets, SL002...): the enabled
    /// rules that [read](Rule::reads) StatefulSets run on each dependent that runs pods and that
    /// the change [concerns](Rule::concerns), before (with `before`) and after (with
    /// `changed`). An error that appears only after is reported against the dependent (errors
    /// deny); a rule that already failed on it only warns, and a finding it already had is not
    /// repeated, so a dependent that was broken before is not blamed on this change.
    fn dependents(
        &self,
        before: &Arc<Object>,
        changed: &Arc<Object>,
        misses: &Misses<'_>,
    ) -> Vec<Problem> {
        let readers = self.readers(Kind::StatefulSet);
        if readers.is_empty() {
            return Vec::new();
        }
        let key = &changed.key;
        let deps: Vec<Arc<Object>> = self
            .live_statefulsets(&key.namespace)
            .into_iter()
            .filter(|s| s.key.name != key.name && s.replicas() > 0)
            .filter(|s| {
                readers
                    .iter()
                    .any(|r| r.concerns(s, changed) || r.concerns(s, before))
            })
            .collect();
        if deps.is_empty() {
            return Vec::new();
        }
        let only = self.only(readers.iter().copied());
        let after_view = Overlay::new(misses).with("StatefulSet", changed, Some(changed.clone()));
        let after = (self.runner)(&deps, &after_view, &only);
        let errors = |o: &Outcome| -> Vec<rules::Finding> {
            o.findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .cloned()
                .collect()
        };
        let after = errors(&after);
        let failing: Vec<Arc<Object>> = deps
            .into_iter()
            .filter(|d| after.iter().any(|f| f.object.key == d.key))
            .collect();
        if failing.is_empty() {
            return Vec::new();
        }
        let before_view =
            Overlay::new(self.companions).with("StatefulSet", before, Some(before.clone()));
        let before = (self.runner)(&failing, &before_view, &only);
        blame(&after, &before.findings)
            .map(|(f, mut p, failed_before)| {
                p.message = if failed_before {
                    format!(
                        "StatefulSet {}, which depends on {}, failed this rule before too: {}",
                        f.object.key.name, key.name, p.message
                    )
                } else {
                    format!(
                        "this breaks StatefulSet {}, which depends on {}: {}",
                        f.object.key.name, key.name, p.message
                    )
                };
                p
            })
            .collect()
    }

    /// A `statefulsets/scale` UPDATE (`kubectl scale`, an HPA): the StatefulSet from the
    /// caches (read live when they lack it) with the new replica count, checked by the rules
    /// whose verdict depends on it.
    fn scale(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        object: Option<RawObject<'_>>,
    ) -> Result<Decision, String> {
        let v = match object {
            None => return Err("request.object is missing".into()),
            Some(RawObject::Text(v)) => v,
            // never typed: a subresource's object is decoded as text
            Some(RawObject::StatefulSet(_)) => {
                return Err(format!("cannot read Scale {}: not a Scale", req.name));
            }
        };
        let scale: k8s_openapi::api::autoscaling::v1::Scale =
            serde_json::from_str(&v).map_err(|e| format!("cannot read Scale {}: {e}", req.name))?;
        // autoscaling/v1 ScaleSpec: replicas absent means 0
        let replicas = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
        if replicas < 0 {
            return Err(format!("spec.replicas: {replicas} is negative"));
        }
        let ns = self.namespace(req);
        Ok(match self.companions.statefulset(ns, &req.name) {
            Some(sts) => self.check_scale(req, sts, replicas),
            None => {
                let mut d = self.decide(req, "", Vec::new(), None);
                d.recheck = Some(Recheck {
                    req: req.clone(),
                    pending: Pending::Scale(replicas),
                    misses: vec![Lookup::StatefulSet {
                        namespace: ns.to_string(),
                        name: req.name.clone(),
                    }],
                });
                d
            }
        })
    }

    /// The replica-sensitive rules ([`Rule::depends_on_replicas`]) on `current` scaled to
    /// `replicas`: a finding that was not there at the current count denies (errors) or warns;
    /// one that was there already is not repeated, and a rule that already failed only warns, so
    /// scaling never blocks a repair. Scaling to 0 stops every pod: nothing to check on the
    /// StatefulSet itself. Then the StatefulSets that depend on it ([`Self::dependents`]).
    fn check_scale(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        current: Arc<Object>,
        replicas: i32,
    ) -> Decision {
        let subject = format!(
            "scaling StatefulSet {}/{} to {replicas}",
            current.key.namespace, current.key.name
        );
        if is_terminating(&current) || replicas == current.replicas() {
            return self.decide(req, &subject, Vec::new(), None);
        }
        let mut scaled = (*current).clone();
        if let crate::object::Body::StatefulSet(s) = &mut scaled.body {
            s.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
        }
        let scaled = Arc::new(scaled);
        let only = self.only(
            rules::all()
                .iter()
                .copied()
                .filter(|r| r.depends_on_replicas()),
        );
        let misses = Misses::new(self.companions);
        let mut problems = Vec::new();
        // scaling to 0 stops every pod: the StatefulSet's own replica rules have nothing to say
        // (the StatefulSets that depend on it still do)
        if replicas != 0 {
            let after_view =
                Overlay::new(&misses).with("StatefulSet", &scaled, Some(scaled.clone()));
            let after = (self.runner)(std::slice::from_ref(&scaled), &after_view, &only);
            let before = (self.runner)(std::slice::from_ref(&current), self.companions, &only);
            new_findings(&after, &before, &mut problems);
        }
        problems.extend(self.dependents(&current, &scaled, &misses));
        let mut d = self.decide(req, &subject, problems, None);
        if d.verdict == Verdict::Denied {
            let misses = misses.take();
            if !misses.is_empty() {
                d.recheck = Some(Recheck {
                    req: req.clone(),
                    pending: Pending::Scale(replicas),
                    misses,
                });
            }
        }
        d
    }

    /// The configuration with only `rules` left enabled (of those the configuration enables).
    fn only(&self, rules: impl Iterator<Item = &'static dyn Rule>) -> Config {
        let codes: Vec<&'static str> = rules.map(|r| r.meta().code).collect();
        let mut only = self.config.clone();
        only.restrict_to(&codes);
        only
    }

    /// The enabled rules that read companions of `kind`.
    fn readers(&self, kind: Kind) -> Vec<&'static dyn Rule> {
        rules::all()
            .iter()
            .copied()
            .filter(|r| self.config.is_enabled(r.meta().code))
            .filter(|r| r.reads().iter().any(|k| k.covers(kind)))
            .collect()
    }

    /// The StatefulSets of `ns` that are not being deleted.
    fn live_statefulsets(&self, ns: &str) -> Vec<Arc<Object>> {
        self.companions
            .statefulsets(ns)
            .into_iter()
            .filter(|s| !is_terminating(s))
            .collect()
    }

    /// DELETE of a companion: what each rule reading its kind says the removal breaks.
    fn companion_delete(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        kind: Kind,
        old_object: Option<RawObject<'_>>,
    ) -> Result<Decision, String> {
        let ns = self.namespace(req);
        // the API server always sends oldObject on DELETE (1.15+); look it up by name otherwise
        let gone = match self.object(req, old_object, "oldObject")? {
            Some(o) => Some(o),
            None => kind.lookup(self.companions, ns, &req.name),
        };
        let Some(gone) = gone else {
            return Ok(self.decide(req, "", Vec::new(), None));
        };
        let live = self.live_statefulsets(ns);
        let mut problems = Vec::new();
        for rule in self.readers(kind) {
            let meta = rule.meta();
            for sts in live.iter().filter(|s| !s.ignores(meta.code, meta.slug)) {
                // the rule applies to the StatefulSet as its role says (SPEC §2a)
                let role = crate::role::of(sts, self.companions);
                let applies = role
                    .as_ref()
                    .map_or(Applies::Fully, |r| crate::role::applies(meta.code, r));
                if applies == Applies::Not {
                    continue;
                }
                let cx = Ctx {
                    companions: self.companions,
                    config: self.config,
                    role: role.as_ref(),
                };
                if let Some(mut f) = rule.removal_breaks(sts, &gone, &cx) {
                    if applies == Applies::AsWarning {
                        f.severity = Severity::Warning;
                    }
                    problems.push(problem(&f));
                }
            }
        }
        Ok(self.decide(req, &gone.key.to_string(), problems, None))
    }

    /// CREATE or UPDATE of a companion: re-run the rules that read its kind on the
    /// StatefulSets it concerns, with the new object in place of the old.
    fn companion_change(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        kind: Kind,
        object: Option<RawObject<'_>>,
        old_object: Option<RawObject<'_>>,
    ) -> Result<Decision, String> {
        let ns = self.namespace(req);
        let Some(new) = self.object(req, object, "object")? else {
            return Err("request.object is missing".into());
        };
        let old = match self.object(req, old_object, "oldObject")? {
            Some(o) => Some(o),
            None => kind.lookup(self.companions, ns, &new.key.name),
        };
        let readers = self.readers(kind);
        let concerns = |sts: &Object| {
            readers.iter().any(|r| {
                r.concerns(sts, &new) || old.as_deref().is_some_and(|o| r.concerns(sts, o))
            })
        };
        let affected: Vec<Arc<Object>> = self
            .live_statefulsets(ns)
            .into_iter()
            .filter(|s| concerns(s))
            .collect();
        if affected.is_empty() {
            return Ok(self.decide(req, &new.key.to_string(), Vec::new(), None));
        }
        let only = self.only(readers.iter().copied());
        let after_view = Overlay::new(self.companions).with(&new.key.kind, &new, Some(new.clone()));
        let what = &req.kind.kind;
        let mut problems = Vec::new();
        for sts in &affected {
            let after: Vec<rules::Finding> =
                (self.runner)(std::slice::from_ref(sts), &after_view, &only)
                    .findings
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error)
                    .collect();
            if after.is_empty() {
                continue;
            }
            let before = (self.runner)(std::slice::from_ref(sts), self.companions, &only);
            problems.extend(blame(&after, &before.findings).map(|(_, mut p, _)| {
                p.message = format!(
                    "with this {what}, StatefulSet {}: {}",
                    sts.key.name, p.message
                );
                p
            }));
        }
        Ok(self.decide(req, &new.key.to_string(), problems, None))
    }

    fn decide(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        subject: &str,
        problems: Vec<Problem>,
        hint: Option<&str>,
    ) -> Decision {
        let mut response = AdmissionResponse::from(req);
        let errors: Vec<&Problem> = problems
            .iter()
            .filter(|p| p.severity == Severity::Error && self.mode == Mode::Enforce)
            .collect();
        let mut warnings: Vec<String> = problems
            .iter()
            .filter(|p| p.severity == Severity::Warning || self.mode == Mode::Warn)
            .map(|p| {
                let note = if p.severity == Severity::Error {
                    " (error; not enforced: --mode warn)"
                } else {
                    ""
                };
                format!("statelint {} {}{note}: {}", p.code, p.slug, p.message)
            })
            .collect();
        if self.mode == Mode::Warn && hint.is_some() && !warnings.is_empty() {
            warnings.push(format!("statelint: {}", hint.unwrap_or_default()));
        }
        let verdict = if !errors.is_empty() {
            let mut msg = format!(
                "statelint denied {subject}: {} error{}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            for p in &errors {
                msg.push_str(&format!("\n- {} {}: {}", p.code, p.slug, p.message));
                if !p.help.is_empty() {
                    msg.push_str(&format!("\n  help: {}", p.help));
                }
            }
            if let Some(h) = hint {
                msg.push('\n');
                msg.push_str(h);
            }
            response = response.deny(msg);
            response.result.code = 403;
            response.result.reason = "Forbidden".into();
            response.result.status = Some(StatusSummary::Failure);
            Verdict::Denied
        } else if !warnings.is_empty() {
            Verdict::Warned
        } else {
            Verdict::Allowed
        };
        if !warnings.is_empty() {
            response.warnings = Some(std::mem::take(&mut warnings));
        }
        Decision {
            response,
            verdict,
            problems,
            recheck: None,
        }
    }
}

/// The request could not be read: `allowed: false`, code 400 with the reason.
fn bad(req: &AdmissionRequest<DynamicObject>, msg: &str) -> Decision {
    let mut response = AdmissionResponse::from(req).deny(msg);
    response.result.code = 400;
    response.result.reason = "BadRequest".into();
    response.result.status = Some(StatusSummary::Failure);
    Decision {
        response,
        verdict: Verdict::Error,
        problems: Vec::new(),
        recheck: None,
    }
}

/// The findings of a scaled StatefulSet (`after`) that it did not have at its current count
/// (`before`), as [`blame`] says.
fn new_findings(after: &Outcome, before: &Outcome, problems: &mut Vec<Problem>) {
    problems.extend(blame(&after.findings, &before.findings).map(|(_, p, _)| p));
}

/// What a change is blamed for, on the StatefulSets it re-checks (the object itself at a new
/// scale, its dependents, the StatefulSets a companion concerns), given their findings with the
/// change (`after`) and without it (`before`); one policy for every such check, so that a
/// change is never blamed, nor blocked, for what was broken before it (a repair attempt
/// included):
/// - a finding the StatefulSet already had (same rule, same message) is not repeated;
/// - a rule that already failed on it with an error only warns (the bool is then `true`);
/// - anything else keeps its severity (errors deny).
fn blame<'f>(
    after: &'f [rules::Finding],
    before: &[rules::Finding],
) -> impl Iterator<Item = (&'f rules::Finding, Problem, bool)> {
    after.iter().filter_map(move |f| {
        let same_rule =
            |b: &&rules::Finding| b.object.key == f.object.key && b.rule.code == f.rule.code;
        if before
            .iter()
            .filter(same_rule)
            .any(|b| b.message == f.message)
        {
            return None;
        }
        let failed_before = before
            .iter()
            .filter(same_rule)
            .any(|b| b.severity == Severity::Error);
        let mut p = problem(f);
        if failed_before {
            p.severity = Severity::Warning;
        }
        Some((f, p, failed_before))
    })
}

fn problem(f: &rules::Finding) -> Problem {
    Problem {
        code: f.rule.code,
        slug: f.rule.slug,
        severity: f.severity,
        message: f.message.clone(),
        help: f.help.clone(),
    }
}

/// Whether `a` and `b` (two versions of one StatefulSet) look the same to the rules of other
/// StatefulSets: the same spec, labels and annotations (an UPDATE that only touches other
/// metadata re-checks no dependent).
fn same_to_dependents(a: &Object, b: &Object) -> bool {
    match (a.statefulset(), b.statefulset()) {
        (Some(a), Some(b)) => {
            a.spec == b.spec
                && a.metadata.labels == b.metadata.labels
                && a.metadata.annotations == b.metadata.annotations
        }
        _ => false,
    }
}

fn is_terminating(o: &Object) -> bool {
    o.statefulset()
        .is_some_and(|s| s.metadata.deletion_timestamp.is_some())
}

/// An error fired whose rule says a companion it needs is not in the view yet (applied after
/// the StatefulSet, or not at all).
fn missing_companion(obj: &Object, view: &dyn Companions, problems: &[Problem]) -> bool {
    problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .filter_map(|p| rules::by_code(p.code))
        .any(|r| r.companion_missing(obj, view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::rules::Finding;
    use serde_json::json;

    /// A stand-in rule engine, so these tests pin the admission logic (which rules re-run, how a
    /// denial is worded) apart from what the real rules decide: SL001 when the named Service is
    /// missing, SL002 when no PDB or a PDB below quorum, SL008 (warning) when the StatefulSet
    /// carries the label `warn`.
    fn fake(objs: &[Arc<Object>], c: &dyn Companions, config: &Config) -> Outcome {
        let sl001 = rules::lookup("SL001").unwrap();
        let sl002 = rules::lookup("SL002").unwrap();
        let sl008 = rules::lookup("SL008").unwrap();
        let mut out = Vec::new();
        for o in objs {
            if o.statefulset().is_none() {
                continue;
            }
            let ns = &o.key.namespace;
            if config.is_enabled(sl001.code)
                && let Some(sn) = o.service_name()
                && c.service(ns, sn).is_none()
            {
                out.push(
                    Finding::new(
                        sl001,
                        o,
                        "/spec/serviceName",
                        format!("no Service {sn} in namespace {ns}"),
                    )
                    .help("create the headless Service"),
                );
            }
            if config.is_enabled(sl002.code) {
                let pdbs = c.pdbs_selecting(ns, o.pod_labels().unwrap());
                if pdbs.is_empty() {
                    out.push(Finding::new(sl002, o, "", "no PodDisruptionBudget"));
                }
                for p in pdbs {
                    let min = p
                        .pdb()
                        .and_then(|p| p.spec.as_ref())
                        .and_then(|s| s.min_available.clone());
                    if let Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(m)) =
                        min
                        && m < o.replicas() / 2 + 1
                    {
                        out.push(Finding::new(
                            sl002,
                            o,
                            "",
                            format!("PodDisruptionBudget {} minAvailable {m}", p.key.name),
                        ));
                    }
                }
            }
            if config.is_enabled(sl008.code) && o.labels.contains_key("warn") {
                out.push(Finding::new(sl008, o, "", "no fsGroup"));
            }
        }
        let (suppressed, findings) = out
            .into_iter()
            .partition(|f: &Finding| f.object.ignores(f.rule.code, f.rule.slug));
        Outcome {
            findings,
            suppressed,
        }
    }

    fn sts(name: &str, labels: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "data", "labels": labels},
            "spec": {"replicas": 3, "serviceName": format!("{name}-hs"),
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": name, "image": "zookeeper:3.9"}]}}}})
    }

    fn svc(name: &str, app: &str, headless: bool) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "data"},
            "spec": {"clusterIP": if headless { "None" } else { "10.0.0.1" },
                "selector": {"app": app}, "ports": [{"port": 2181}]}})
    }

    fn pdb(name: &str, app: &str, min: i32) -> Value {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "data"},
            "spec": {"minAvailable": min, "selector": {"matchLabels": {"app": app}}}})
    }

    fn catalog(objs: &[Value]) -> Catalog {
        Catalog::new(objs.iter().filter_map(|v| {
            Object::from_value(v.clone(), None, "data")
                .ok()
                .flatten()
                .map(Arc::new)
        }))
    }

    fn request(op: &str, object: Option<Value>, old: Option<Value>) -> Review<'static> {
        let o = object.as_ref().or(old.as_ref()).unwrap();
        let av = o["apiVersion"].as_str().unwrap();
        let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
        let kind = o["kind"].as_str().unwrap();
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "uid-1", "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": "x"},
                "name": o["metadata"]["name"], "namespace": "data", "operation": op,
                "userInfo": {}, "object": object, "oldObject": old, "dryRun": false}});
        decode(&serde_json::to_vec(&review).unwrap())
            .unwrap()
            .into_owned()
    }

    fn review(c: &dyn Companions, mode: Mode, req: Review<'_>) -> Decision {
        let config = Config::default();
        Reviewer {
            companions: c,
            config: &config,
            mode,
            runner: fake,
        }
        .review(req)
    }

    #[test]
    fn good_statefulset_is_allowed_with_same_uid() {
        let c = catalog(&[svc("zk-hs", "zk", true), pdb("zk-pdb", "zk", 2)]);
        let d = review(
            &c,
            Mode::Enforce,
            request("CREATE", Some(sts("zk", json!({}))), None),
        );
        assert_eq!(d.verdict, Verdict::Allowed);
        assert!(d.response.allowed);
        assert_eq!(d.response.uid, "uid-1");
        assert!(d.response.warnings.is_none());
    }

    #[test]
    fn errors_deny_with_403_listing_findings_and_the_companion_hint() {
        let c = catalog(&[]);
        let d = review(
            &c,
            Mode::Enforce,
            request("CREATE", Some(sts("zk", json!({"warn": "1"}))), None),
        );
        assert_eq!(d.verdict, Verdict::Denied);
        assert!(!d.response.allowed);
        assert_eq!(d.response.result.code, 403);
        let m = &d.response.result.message;
        assert!(
            m.contains("statelint denied StatefulSet data/zk: 2 errors"),
            "{m}"
        );
        assert!(
            m.contains("- SL001 headless-service: no Service zk-hs in namespace data"),
            "{m}"
        );
        assert!(m.contains("help: create the headless Service"), "{m}");
        assert!(
            m.contains("- SL002 pdb-quorum: no PodDisruptionBudget"),
            "{m}"
        );
        assert!(m.contains("apply them first"), "{m}");
        assert!(m.contains("put them above the StatefulSet"), "{m}");
        let w = d.response.warnings.unwrap();
        assert_eq!(
            w,
            vec!["statelint SL008 security-context: no fsGroup".to_string()]
        );
    }

    #[test]
    fn warn_mode_allows_and_turns_findings_into_warnings() {
        let c = catalog(&[]);
        let d = review(
            &c,
            Mode::Warn,
            request("CREATE", Some(sts("zk", json!({"warn": "1"}))), None),
        );
        assert_eq!(d.verdict, Verdict::Warned);
        assert!(d.response.allowed);
        let w = d.response.warnings.unwrap();
        assert!(
            w.iter()
                .any(|w| w.contains("SL001") && w.contains("not enforced")),
            "{w:?}"
        );
        assert!(w.iter().any(|w| w.contains("SL008")), "{w:?}");
    }

    #[test]
    fn ignore_annotation_applies() {
        let c = catalog(&[svc("zk-hs", "zk", true)]);
        let mut s = sts("zk", json!({}));
        s["metadata"]["annotations"] = json!({"statelint.io/ignore": "pdb-quorum"});
        let d = review(&c, Mode::Enforce, request("CREATE", Some(s), None));
        assert_eq!(d.verdict, Verdict::Allowed, "{:?}", d.response);
    }

    #[test]
    fn other_kinds_subresources_and_deletes_pass_untouched() {
        let c = catalog(&[]);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert!(
            review(&c, Mode::Enforce, request("CREATE", Some(cm), None))
                .response
                .allowed
        );
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(sts("zk", json!({})))),
        );
        assert!(d.response.allowed);
        let mut r = request("UPDATE", Some(sts("zk", json!({}))), None);
        r.req.sub_resource = Some("status".into());
        assert!(review(&c, Mode::Enforce, r).response.allowed);
    }

    #[test]
    fn update_sees_the_new_object_not_its_old_self() {
        // the cluster holds the old zk; the rule engine must see the new one as companion
        let old = sts("zk", json!({}));
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        let c = catalog(&[
            old.clone(),
            svc("zk-hs", "zk", true),
            pdb("zk-pdb", "zk", 2),
        ]);
        fn replicas_seen(objs: &[Arc<Object>], c: &dyn Companions, _: &Config) -> Outcome {
            let o = &objs[0];
            let seen = c
                .statefulset(&o.key.namespace, &o.key.name)
                .unwrap()
                .replicas();
            let all = c.statefulsets(&o.key.namespace).len();
            let meta = rules::lookup("SL009").unwrap();
            Outcome {
                findings: vec![
                    Finding::new(meta, o, "", format!("seen {seen} of {all}"))
                        .severity(Severity::Warning),
                ],
                suppressed: vec![],
            }
        }
        let config = Config::default();
        let d = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: replicas_seen,
        }
        .review(request("UPDATE", Some(new), Some(old)));
        assert_eq!(
            d.response.warnings.unwrap()[0],
            "statelint SL009 odd-replicas: seen 5 of 1"
        );
    }

    #[test]
    fn deleting_the_headless_service_of_a_live_statefulset_is_denied() {
        let c = catalog(&[sts("zk", json!({})), svc("zk-hs", "zk", true)]);
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(svc("zk-hs", "zk", true))),
        );
        assert_eq!(d.verdict, Verdict::Denied);
        let m = &d.response.result.message;
        assert!(m.contains("headless Service of StatefulSet zk"), "{m}");
        // a ClusterIP Service of the same name is not what serviceName needs
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(svc("zk-hs", "zk", false))),
        );
        assert!(d.response.allowed);
        // another Service
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(svc("other", "zk", true))),
        );
        assert!(d.response.allowed);
        // warn mode
        let d = review(
            &c,
            Mode::Warn,
            request("DELETE", None, Some(svc("zk-hs", "zk", true))),
        );
        assert!(d.response.allowed && d.response.warnings.is_some());
    }

    #[test]
    fn deleting_the_only_pdb_is_denied_but_not_a_duplicate() {
        let c = catalog(&[sts("zk", json!({})), pdb("zk-pdb", "zk", 2)]);
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(pdb("zk-pdb", "zk", 2))),
        );
        assert_eq!(d.verdict, Verdict::Denied);
        assert!(
            d.response
                .result
                .message
                .contains("only PodDisruptionBudget of StatefulSet zk")
        );
        let c = catalog(&[
            sts("zk", json!({})),
            pdb("zk-pdb", "zk", 2),
            pdb("zk-pdb2", "zk", 2),
        ]);
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(pdb("zk-pdb", "zk", 2))),
        );
        assert!(d.response.allowed);
        let d = review(
            &c,
            Mode::Enforce,
            request("DELETE", None, Some(pdb("kafka-pdb", "kafka", 2))),
        );
        assert!(d.response.allowed);
    }

    #[test]
    fn pdb_update_that_breaks_quorum_is_denied() {
        let c = catalog(&[
            sts("zk", json!({})),
            svc("zk-hs", "zk", true),
            pdb("zk-pdb", "zk", 2),
        ]);
        let d = review(
            &c,
            Mode::Enforce,
            request(
                "UPDATE",
                Some(pdb("zk-pdb", "zk", 1)),
                Some(pdb("zk-pdb", "zk", 2)),
            ),
        );
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        let m = &d.response.result.message;
        assert!(m.contains("with this PodDisruptionBudget, StatefulSet zk: PodDisruptionBudget zk-pdb minAvailable 1"), "{m}");
        let d = review(
            &c,
            Mode::Enforce,
            request(
                "UPDATE",
                Some(pdb("zk-pdb", "zk", 3)),
                Some(pdb("zk-pdb", "zk", 2)),
            ),
        );
        assert!(d.response.allowed);
        // already broken before: a change that does not fix it warns instead of blocking
        let c = catalog(&[sts("zk", json!({})), pdb("zk-pdb", "zk", 1)]);
        let d = review(
            &c,
            Mode::Enforce,
            request(
                "UPDATE",
                Some(pdb("zk-pdb", "zk", 0)),
                Some(pdb("zk-pdb", "zk", 1)),
            ),
        );
        assert_eq!(d.verdict, Verdict::Warned, "{:?}", d.response);
    }

    /// A companion change re-runs exactly the enabled rules that read its kind (from each rule's
    /// `reads`), not a hand-written kind -> code table.
    #[test]
    fn companion_change_re_checks_the_rules_that_read_its_kind() {
        /// An error listing the enabled rules, which says "changed" when the companion view
        /// holds the changed companion (labelled `changed`): the finding differs before and
        /// after the change, so it is reported (as a warning: the rule failed before too).
        fn enabled(objs: &[Arc<Object>], c: &dyn Companions, config: &Config) -> Outcome {
            let on: Vec<&str> = rules::all()
                .iter()
                .map(|r| r.meta().code)
                .filter(|c| config.is_enabled(c))
                .collect();
            let changed = [c.config_map("data", "zk-conf"), c.service("data", "zk-hs")]
                .iter()
                .flatten()
                .any(|o| o.labels.contains_key("changed"));
            let meta = rules::lookup(on.first().copied().unwrap_or("SL001")).unwrap();
            let message = format!("{}{}", if changed { "changed: " } else { "" }, on.join(","));
            Outcome {
                findings: vec![Finding::new(meta, &objs[0], "", message)],
                suppressed: vec![],
            }
        }
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "zk-conf", "namespace": "data"}, "data": {"a": "1"}});
        let changed = |mut o: Value| {
            o["metadata"]["labels"] = json!({"changed": "yes"});
            o
        };
        let c = catalog(&[sts("zk", json!({})), svc("zk-hs", "zk", true), cm.clone()]);
        let config = Config::default();
        let reviewer = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: enabled,
        };
        let readers = |kind: Kind| -> String {
            rules::all()
                .iter()
                .filter(|r| r.reads().iter().any(|k| k.covers(kind)))
                .map(|r| r.meta().code)
                .collect::<Vec<_>>()
                .join(",")
        };
        let d = reviewer.review(request(
            "UPDATE",
            Some(changed(cm.clone())),
            Some(cm.clone()),
        ));
        // failing before and after: a warning, never a denial
        assert_eq!(d.verdict, Verdict::Warned, "{:?}", d.response);
        let w = d.response.warnings.unwrap();
        assert!(
            w[0].ends_with(&format!(
                "with this ConfigMap, StatefulSet zk: changed: {}",
                readers(Kind::ConfigMap)
            )),
            "{w:?}"
        );
        assert!(readers(Kind::ConfigMap).contains("SL005"));
        // the same finding before and after: not repeated (the change is not blamed)
        let d = reviewer.review(request("UPDATE", Some(cm.clone()), Some(cm)));
        assert_eq!(d.verdict, Verdict::Allowed, "{:?}", d.response);
        let d = reviewer.review(request(
            "UPDATE",
            Some(changed(svc("zk-hs", "zk", true))),
            Some(svc("zk-hs", "zk", true)),
        ));
        let w = d.response.warnings.unwrap();
        assert!(
            w[0].ends_with(&format!(
                "with this Service, StatefulSet zk: changed: {}",
                readers(Kind::Service)
            )),
            "{w:?}"
        );
        assert!(readers(Kind::Service).starts_with("SL001,"));
        // a disabled reader is not re-run
        let mut config = Config::default();
        config.ignore(&["SL001".into()], &rules::Registry).unwrap();
        let d = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: enabled,
        }
        .review(request(
            "UPDATE",
            Some(changed(svc("zk-hs", "zk", true))),
            Some(svc("zk-hs", "zk", true)),
        ));
        let w = d.response.warnings.unwrap();
        assert!(!w[0].contains("SL001"), "{w:?}");
    }

    fn scale(from: i32, to: i32) -> Review<'static> {
        let scale = |n: i32| {
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": "zk", "namespace": "data"}, "spec": {"replicas": n}})
        };
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "uid-1", "kind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                "subResource": "scale", "name": "zk", "namespace": "data", "operation": "UPDATE",
                "userInfo": {}, "object": scale(to), "oldObject": scale(from)}});
        decode(&serde_json::to_vec(&review).unwrap())
            .unwrap()
            .into_owned()
    }

    /// `statefulsets/scale`: the cached StatefulSet at the new count, through the replica
    /// rules only; what was already reported at the current count is not repeated.
    #[test]
    fn scale_runs_the_replica_rules_on_the_cached_statefulset() {
        let zk = sts("zk", json!({}));
        let c = catalog(&[zk, svc("zk-hs", "zk", true), pdb("zk-pdb", "zk", 2)]);
        let config = Config::default();
        let reviewer = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: rules::run,
        };
        let d = reviewer.review(scale(3, 5));
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        let codes: Vec<&str> = d.problems.iter().map(|p| p.code).collect();
        let errors: Vec<&str> = d
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.code)
            .collect();
        assert_eq!(errors, ["SL002"], "{:?}", d.problems);
        // SL003 fired at 3 already (its message names the count): a warning now
        assert!(codes.contains(&"SL003"), "{codes:?}");
        assert!(
            d.response
                .result
                .message
                .starts_with("statelint denied scaling StatefulSet data/zk to 5: 1 error"),
            "{}",
            d.response.result.message
        );
        // 4: even (SL009 warns) and still past the PDB
        let d = reviewer.review(scale(3, 4));
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        assert!(
            d.problems
                .iter()
                .any(|p| p.code == "SL009" && p.severity == Severity::Warning),
            "{:?}",
            d.problems
        );
        // back to the current count, or to 0: nothing to check
        for to in [3, 0] {
            let d = reviewer.review(scale(5, to));
            assert_eq!(d.verdict, Verdict::Allowed, "{:?}", d.response);
        }
        // no StatefulSet in the cache: allowed, and a live read is asked for
        let empty = catalog(&[]);
        let d = Reviewer {
            companions: &empty,
            ..reviewer
        }
        .review(scale(3, 5));
        assert!(d.response.allowed);
        assert!(matches!(
            d.recheck.map(|r| r.misses),
            Some(m) if m == [Lookup::StatefulSet { namespace: "data".into(), name: "zk".into() }]
        ));
    }

    /// The one-pass decoder reads what the tree decoder reads: the same request, the same
    /// objects (a StatefulSet typed in the pass when its `kind` came first and the body can
    /// hold no placeholder, its text otherwise), and leaves the rest to the tree decoder.
    #[test]
    fn one_pass_decode_matches_the_tree_decoder() {
        let c = catalog(&[]);
        let config = Config::default();
        let reviewer = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: fake,
        };
        let objects = |r: Review<'_>| -> (String, String, String) {
            let req = format!("{:?}", r.req);
            let o = reviewer.object(&r.req, r.object, "object");
            let old = reviewer.object(&r.req, r.old_object, "oldObject");
            (req, format!("{o:?}"), format!("{old:?}"))
        };
        let mut zk = sts("zk", json!({"app": "zk"}));
        zk["metadata"]["annotations"] = json!({"statelint.io/ignore": "SL003"});
        zk["metadata"]["namespace"] = Value::Null;
        let base = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
                "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                "requestKind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
                "requestResource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                "name": "zk", "namespace": "data", "operation": "UPDATE",
                "userInfo": {"username": "admin", "groups": ["system:masters"], "extra": {"a": ["b"]}},
                "object": zk, "oldObject": zk, "dryRun": true,
                "options": {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1"},
                "unknown": [1, {"x": null}]}});
        let typed = |r: &Review<'_>| matches!(r.object, Some(RawObject::StatefulSet(_)));
        let check = |v: &Value, want_typed: bool| {
            let body = serde_json::to_vec(v).unwrap();
            let fast = decode(&body).unwrap();
            assert_eq!(typed(&fast), want_typed, "{v}");
            let tree = decode_tree(&body).unwrap();
            assert_eq!(objects(fast), objects(tree), "{v}");
        };
        check(&base, true);
        let body = serde_json::to_vec(&base).unwrap();
        let fast = decode(&body).unwrap();
        assert!(fast.req.dry_run && fast.req.options.is_some());
        assert_eq!(fast.req.types.kind, "AdmissionReview");
        assert_eq!(
            fast.req.user_info.groups.as_deref(),
            Some(&["system:masters".to_string()][..])
        );
        // the namespace of the request when the object has none; its name from the request
        let mut v = base.clone();
        v["request"]["object"]["metadata"]["name"] = Value::Null;
        check(&v, true);
        // `kind` after `object`: the object's text, read once the kind is known
        let body = serde_json::to_vec(&base).unwrap();
        let body = String::from_utf8(body).unwrap().replacen(
            r#""kind":{"group":"apps","version":"v1","kind":"StatefulSet"},"#,
            "",
            1,
        );
        let body = body.replacen(
            r#""unknown""#,
            r#""kind":{"group":"apps","version":"v1","kind":"StatefulSet"},"unknown""#,
            1,
        );
        let fast = decode(body.as_bytes()).unwrap();
        assert!(matches!(fast.object, Some(RawObject::Text(_))));
        assert_eq!(
            objects(fast),
            objects(decode_tree(body.as_bytes()).unwrap())
        );
        // Go-style escapes of `&`, `<` and `>` (the API server's encoding): typed when they
        // cannot spell a placeholder, text when they can
        let escaped = |from: &str, to: &str| {
            let body = serde_json::to_string(&base).unwrap().replacen(from, to, 1);
            let fast = decode(body.as_bytes()).unwrap();
            let t = typed(&fast);
            assert_eq!(
                objects(fast),
                objects(decode_tree(body.as_bytes()).unwrap()),
                "{body}"
            );
            t
        };
        assert!(escaped(
            r#""serviceName":"#,
            r#""x":"a \u0026\u0026 b 2\u003e\u00261","serviceName":"#
        ));
        assert!(!escaped(
            r#""serviceName":"zk-hs""#,
            r#""serviceName":"\u003cSVC\u003e""#
        ));
        // a possible placeholder anywhere in the body: text, and the general path finds it
        let mut v = base.clone();
        v["request"]["object"]["spec"]["serviceName"] = json!("{{ .Values.svc }}");
        check(&v, false);
        let mut v = base.clone();
        v["request"]["userInfo"]["username"] = json!("<ADMIN>");
        check(&v, false);
        // a subresource, another kind, a DELETE without object
        let mut v = base.clone();
        v["request"]["subResource"] = json!("status");
        check(&v, false);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let mut v = base.clone();
        v["request"]["kind"] = json!({"group": "", "version": "v1", "kind": "ConfigMap"});
        v["request"]["object"] = cm.clone();
        v["request"]["oldObject"] = cm;
        check(&v, false);
        let mut v = base.clone();
        v["request"]["operation"] = json!("DELETE");
        v["request"]["object"] = Value::Null;
        check(&v, false);
        // what the one-pass typed read declines, read from the text (same answer)
        for (ptr, x) in [
            ("/spec/replicas", json!(-1)),
            ("/spec/replicas", json!("three")),
            ("/metadata/labels/n", json!(1)),
            ("/apiVersion", json!("apps/v1beta1")),
        ] {
            let mut v = base.clone();
            let o = v.pointer_mut("/request/object").unwrap();
            let (parent, last) = ptr.rsplit_once('/').unwrap();
            o.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert(last.into(), x);
            check(&v, false);
        }
        // errors: the tree decoder's reasons
        for (ptr, why) in [
            ("/request/userInfo", "missing field `userInfo`"),
            ("/request/uid", "missing field `uid`"),
            ("/apiVersion", "expected apiVersion admission.k8s.io/v1"),
        ] {
            let mut v = base.clone();
            let (parent, last) = ptr.rsplit_once('/').unwrap();
            v.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(last);
            let e = decode(&serde_json::to_vec(&v).unwrap()).err().unwrap();
            assert!(e.contains(why), "{e}");
        }
        let mut v = base.clone();
        v["request"]["object"] = json!([1]);
        let e = decode(&serde_json::to_vec(&v).unwrap()).err().unwrap();
        assert_eq!(e, "request.object must be an object");
        // a field given twice: the tree decoder decides (kube: last wins in a tree)
        let body = serde_json::to_string(&base).unwrap().replacen(
            r#""dryRun":true"#,
            r#""dryRun":true,"dryRun":false"#,
            1,
        );
        let d = decode(body.as_bytes()).unwrap();
        assert!(!d.req.dry_run);
        // trailing garbage is not a review
        let mut body = serde_json::to_vec(&base).unwrap();
        body.extend_from_slice(b" x");
        assert!(decode(&body).is_err());
    }

    /// A Kafka StatefulSet in `data` whose `zookeeper.connect` is `connect`.
    fn kafka(connect: &str) -> Value {
        let mut k = sts("kafka", json!({}));
        k["spec"]["template"]["spec"]["containers"] = json!([{"name": "kafka",
            "image": "confluentinc/cp-kafka:7.6.0", "ports": [{"containerPort": 9092}],
            "env": [{"name": "KAFKA_ZOOKEEPER_CONNECT", "value": connect}]}]);
        k
    }

    /// ZooKeeper (3 replicas, a PDB it can scale with) and a Kafka whose connect string names
    /// `connect`.
    fn zk_and_kafka(connect: &str) -> Vec<Value> {
        let loose = |app: &str| {
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": format!("{app}-pdb"), "namespace": "data"},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}}}})
        };
        vec![
            sts("zk", json!({})),
            svc("zk-hs", "zk", true),
            loose("zk"),
            kafka(connect),
            svc("kafka-hs", "kafka", true),
            loose("kafka"),
        ]
    }

    const ZK3: &str = "zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181";

    fn real(c: &dyn Companions, mode: Mode, req: Review<'_>) -> Decision {
        let config = Config::default();
        Reviewer {
            companions: c,
            config: &config,
            mode,
            runner: rules::run,
        }
        .review(req)
    }

    fn errors_about<'d>(d: &'d Decision, code: &str) -> Vec<&'d Problem> {
        d.problems
            .iter()
            .filter(|p| p.code == code && p.severity == Severity::Error)
            .collect()
    }

    /// `kubectl scale sts zk --replicas=1` under a Kafka whose `zookeeper.connect` names zk-0 to
    /// zk-2: the Kafka StatefulSet is checked again with ZooKeeper at 1 and denies (SL005);
    /// scaling up, or to a count that keeps every named pod, is allowed.
    #[test]
    fn scaling_zookeeper_below_a_kafka_connect_string_is_denied() {
        let c = catalog(&zk_and_kafka(ZK3));
        // the world before is clean
        let d = real(&c, Mode::Enforce, scale(3, 3));
        assert_eq!(d.verdict, Verdict::Allowed, "{:?}", d.response);
        for to in [1, 2] {
            let d = real(&c, Mode::Enforce, scale(3, to));
            assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
            let sl005 = errors_about(&d, "SL005");
            assert_eq!(sl005.len(), 3 - to as usize, "{:?}", d.problems);
            let m = &d.response.result.message;
            assert!(
                m.starts_with(&format!(
                    "statelint denied scaling StatefulSet data/zk to {to}"
                )),
                "{m}"
            );
            assert!(
                m.contains("- SL005 zookeeper-connect: this breaks StatefulSet kafka, which depends on zk: StatefulSet kafka sets"),
                "{m}"
            );
            assert!(m.contains("names pod zk-2"), "{m}");
        }
        // up, or down to what the connect string names: allowed
        for to in [5, 4] {
            let d = real(&c, Mode::Enforce, scale(3, to));
            assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
        }
        let d = real(&c, Mode::Enforce, scale(3, 5));
        assert!(d.response.allowed, "{:?}", d.response);
        let c1 = catalog(&zk_and_kafka("zk-0.zk-hs:2181"));
        let d = real(&c1, Mode::Enforce, scale(3, 1));
        assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
        assert!(d.response.allowed, "{:?}", d.response);
        // to 0: ZooKeeper's own rules have nothing to say, but Kafka loses every server
        let d = real(&c, Mode::Enforce, scale(3, 0));
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        assert_eq!(errors_about(&d, "SL005").len(), 3, "{:?}", d.problems);
        // warn mode: allowed, said as a warning
        let d = real(&c, Mode::Warn, scale(3, 1));
        assert!(d.response.allowed);
        let w = d.response.warnings.unwrap();
        assert!(
            w.iter().any(|w| w.starts_with("statelint SL005 zookeeper-connect (error; not enforced: --mode warn): this breaks StatefulSet kafka")),
            "{w:?}"
        );
    }

    /// A dependent that is not running (0 replicas), or that already failed the rule, is not
    /// blamed on the scale.
    #[test]
    fn scaling_does_not_blame_what_was_already_broken_or_stopped() {
        // Kafka names zk-5 of a 3-pod ensemble: broken before
        let c = catalog(&zk_and_kafka(
            "zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181,zk-5.zk-hs:2181",
        ));
        let d = real(&c, Mode::Enforce, scale(3, 2));
        assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
        assert!(
            d.problems
                .iter()
                .any(|p| p.code == "SL005" && p.severity == Severity::Warning),
            "{:?}",
            d.problems
        );
        // the finding it had already (zk-5 at 3 replicas) is not repeated at 4
        let d = real(&c, Mode::Enforce, scale(3, 5));
        assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
        assert!(
            d.problems.iter().any(|p| p.code == "SL005"
                && p.message.starts_with(
                    "StatefulSet kafka, which depends on zk, failed this rule before too: "
                )),
            "{:?}",
            d.problems
        );
        // scaled up to include zk-5: nothing to say
        let d = real(&c, Mode::Enforce, scale(3, 6));
        assert!(
            !d.problems.iter().any(|p| p.code == "SL005"),
            "{:?}",
            d.problems
        );
        // Kafka stopped: nothing of it breaks
        let mut objs = zk_and_kafka(ZK3);
        objs[3]["spec"]["replicas"] = json!(0);
        let d = real(&catalog(&objs), Mode::Enforce, scale(3, 1));
        assert!(
            !d.problems.iter().any(|p| p.code == "SL005"),
            "{:?}",
            d.problems
        );
        // a Kafka that ignores the rule
        let mut objs = zk_and_kafka(ZK3);
        objs[3]["metadata"]["annotations"] = json!({"statelint.io/ignore": "zookeeper-connect"});
        let d = real(&catalog(&objs), Mode::Enforce, scale(3, 1));
        assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
    }

    /// A StatefulSet UPDATE that lowers `replicas` re-checks its dependents as a Scale does; one
    /// that changes nothing they read does not.
    #[test]
    fn statefulset_update_re_checks_its_dependents() {
        let objs = zk_and_kafka(ZK3);
        let c = catalog(&objs);
        let zk = objs[0].clone();
        let mut smaller = zk.clone();
        smaller["spec"]["replicas"] = json!(1);
        let d = real(
            &c,
            Mode::Enforce,
            request("UPDATE", Some(smaller.clone()), Some(zk.clone())),
        );
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        let m = &d.response.result.message;
        assert!(m.starts_with("statelint denied StatefulSet data/zk"), "{m}");
        assert!(
            m.contains("this breaks StatefulSet kafka, which depends on zk"),
            "{m}"
        );
        // no oldObject: the cached zk is the version replaced
        let d = real(&c, Mode::Enforce, request("UPDATE", Some(smaller), None));
        assert_eq!(errors_about(&d, "SL005").len(), 2, "{:?}", d.problems);
        // larger: allowed
        let mut larger = zk.clone();
        larger["spec"]["replicas"] = json!(5);
        let d = real(
            &c,
            Mode::Enforce,
            request("UPDATE", Some(larger), Some(zk.clone())),
        );
        assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
        // CREATE of a StatefulSet checks only itself: zk created at 1 while the caches hold zk
        // at 3 (a CREATE replaces nothing) re-checks no dependent
        let d = real(
            &c,
            Mode::Enforce,
            request("CREATE", Some(smaller_zk(&zk)), None),
        );
        assert!(
            !d.problems
                .iter()
                .any(|p| p.message.contains("depends on zk")),
            "{:?}",
            d.problems
        );
        // an oldObject that cannot be read does not block the update (a 400 would block
        // repairs too): the cached zk is the version replaced, and the dependents are checked
        let mut review = request("UPDATE", Some(smaller_zk(&zk)), Some(zk.clone()));
        review.old_object = Some(RawObject::Text(
            r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"zk"},"spec":"garbage"}"#
                .into(),
        ));
        let d = real(&c, Mode::Enforce, review);
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        assert_eq!(errors_about(&d, "SL005").len(), 2, "{:?}", d.problems);
    }

    fn smaller_zk(zk: &Value) -> Value {
        let mut smaller = zk.clone();
        smaller["spec"]["replicas"] = json!(1);
        smaller
    }

    /// Reviews of Kafka StatefulSets run by [`counting_kafka`].
    static KAFKA_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    /// The rules, counting the runs that include the Kafka StatefulSet (a dependent re-check).
    fn counting_kafka(objects: &[Arc<Object>], c: &dyn Companions, config: &Config) -> Outcome {
        if objects.iter().any(|o| o.key.name == "kafka") {
            KAFKA_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        rules::run(objects, c, config)
    }

    /// An UPDATE of zk that changes nothing its dependents read (only its resourceVersion)
    /// runs no rule on Kafka; one that changes its replicas does.
    #[test]
    fn an_update_that_changes_nothing_dependents_read_re_checks_none() {
        use std::sync::atomic::Ordering;
        let objs = zk_and_kafka(ZK3);
        let c = catalog(&objs);
        let zk = objs[0].clone();
        let config = Config::default();
        let reviewer = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: counting_kafka,
        };
        let mut touched = zk.clone();
        touched["metadata"]["resourceVersion"] = json!("42");
        let before = KAFKA_RUNS.load(Ordering::SeqCst);
        // (zk's own findings, SL003 and SL004 here, do not matter: only Kafka's runs count)
        reviewer.review(request("UPDATE", Some(touched), Some(zk.clone())));
        assert_eq!(KAFKA_RUNS.load(Ordering::SeqCst), before);
        let mut larger = zk.clone();
        larger["spec"]["replicas"] = json!(5);
        let d = reviewer.review(request("UPDATE", Some(larger), Some(zk)));
        assert!(errors_about(&d, "SL005").is_empty(), "{:?}", d.problems);
        assert!(KAFKA_RUNS.load(Ordering::SeqCst) > before);
    }

    /// SL011 reads other StatefulSets too: a KRaft broker whose `controller.quorum.voters`
    /// names the three controllers of another StatefulSet is re-checked when the controllers are
    /// scaled down, and denies.
    #[test]
    fn scaling_kraft_controllers_re_checks_the_brokers_voter_list() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/ensemble-members/pass-kraft-override-broker-voters.yaml");
        let mut loaded = crate::source::Loaded::default();
        let objects = crate::source::load_paths(
            &[path],
            "default",
            &crate::source::Limits::default(),
            &mut loaded,
        );
        assert!(objects.len() >= 6, "{objects:?}");
        let c = Catalog::new(objects);
        let mut review = scale(3, 1);
        review.req.namespace = Some("events".into());
        review.req.name = "kafka-controller".into();
        let d = real(&c, Mode::Enforce, review);
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        let m = &d.response.result.message;
        assert!(
            m.contains("- SL011 ensemble-members: this breaks StatefulSet kafka-broker, which depends on kafka-controller: "),
            "{m}"
        );
    }

    /// The dependents' reviews read through [`Misses`] too: a denial that rests on a companion of
    /// the dependent the caches lacked asks for a live read of it.
    #[test]
    fn a_dependent_s_missing_companion_is_confirmed_live() {
        let mut objs = zk_and_kafka(ZK3);
        let pod = &mut objs[3]["spec"]["template"]["spec"];
        pod["volumes"] = json!([{"name": "conf", "configMap": {"name": "kafka-conf"}}]);
        pod["containers"][0]["volumeMounts"] = json!([{"name": "conf", "mountPath": "/etc/kafka"}]);
        let d = real(&catalog(&objs), Mode::Enforce, scale(3, 1));
        assert_eq!(d.verdict, Verdict::Denied, "{:?}", d.response);
        let recheck = d.recheck.expect("a live read");
        assert!(matches!(recheck.pending, Pending::Scale(1)));
        assert!(
            recheck.misses.contains(&Lookup::ConfigMap {
                namespace: "data".into(),
                name: "kafka-conf".into()
            }),
            "{:?}",
            recheck.misses
        );
    }

    #[test]
    fn unreadable_object_is_a_400_answer() {
        let c = catalog(&[]);
        let mut s = sts("zk", json!({}));
        s["spec"]["replicas"] = json!("three");
        let d = review(&c, Mode::Enforce, request("CREATE", Some(s), None));
        assert_eq!(d.verdict, Verdict::Error);
        assert!(!d.response.allowed);
        assert_eq!(d.response.result.code, 400);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(|f| json!(f)),
                "[a-zA-Z0-9 <>{}$._/:-]{0,12}".prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        const POINTERS: &[&str] = &[
            "/spec",
            "/spec/replicas",
            "/spec/serviceName",
            "/spec/selector",
            "/spec/template",
            "/spec/template/metadata/labels",
            "/spec/template/spec",
            "/spec/template/spec/containers",
            "/spec/template/spec/containers/0",
            "/spec/template/spec/containers/0/env",
            "/spec/template/spec/containers/0/args",
            "/spec/template/spec/affinity",
            "/spec/volumeClaimTemplates",
            "/metadata",
            "/metadata/labels",
            "/metadata/annotations",
        ];

        fn set(v: &mut Value, pointer: &str, x: Value) {
            let (parent, last) = pointer.rsplit_once('/').unwrap();
            if let Some(Value::Object(m)) = v.pointer_mut(parent) {
                m.insert(last.to_string(), x);
            } else if let Some(Value::Array(a)) = v.pointer_mut(parent)
                && let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                a[i] = x;
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            /// Whatever the object holds, the real rule engine answers (no panic), same uid.
            #[test]
            fn any_statefulset_is_answered(at in 0..POINTERS.len(), x in any_json(), op in 0..3usize) {
                let mut s = sts("zk", json!({}));
                set(&mut s, POINTERS[at], x);
                // the fast path, when it answers, builds what the general path builds
                if let Some(fast) = Object::from_json_fast(&s.to_string(), "data") {
                    let tree = match Object::from_value(s.clone(), None, "data") {
                        Ok(Some(t)) => format!("{t:?}"),
                        other => format!("{other:?}"),
                    };
                    prop_assert_eq!(format!("{fast:?}"), tree);
                }
                let c = catalog(&[svc("zk-hs", "zk", true), pdb("zk-pdb", "zk", 2), s.clone()]);
                let ops = ["CREATE", "UPDATE", "DELETE"];
                let body = serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                        "request": {"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
                            "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                            "name": "zk", "namespace": "data", "operation": ops[op], "userInfo": {},
                            "object": s, "oldObject": s}})).unwrap();
                let Ok(review) = decode(&body) else {
                    // not decodable: the HTTP layer answers 400
                    return Ok(());
                };
                let config = Config::default();
                for mode in [Mode::Enforce, Mode::Warn] {
                    let d = Reviewer { companions: &c, config: &config, mode, runner: rules::run }.review(review.clone());
                    prop_assert_eq!(&d.response.uid, "u");
                }
            }
        }
    }
}
