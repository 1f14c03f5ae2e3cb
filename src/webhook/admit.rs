//! The admission decision: an `AdmissionRequest` in, an `AdmissionResponse` out. Pure (no I/O):
//! companions come in through [`Companions`], so it is unit-tested without a server.
//!
//! - StatefulSet CREATE/UPDATE: every enabled rule runs on the new object; the object under
//!   admission replaces its own old version in the companion view (an UPDATE of the ZooKeeper
//!   StatefulSet `zk` sees the new `zk`).
//! - Service / PodDisruptionBudget DELETE: denied when a live StatefulSet depends on it (the
//!   headless Service it names in `serviceName`; its only PDB).
//! - PodDisruptionBudget CREATE/UPDATE and Service UPDATE: SL002 / SL001 re-run on the
//!   StatefulSets the object concerns, with the new object replacing the old in the companion
//!   view; denied when a StatefulSet that passed before fails after.
//! - Everything else is allowed untouched.

use std::sync::Arc;

use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube::core::response::StatusSummary;
use serde_json::Value;

use crate::catalog::Companions;
use crate::config::Config;
use crate::object::{Labels, Object};
use crate::rules::{self, Outcome, Severity};

use super::cluster::{pdb_selects, service_selects};

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
}

const MISSING_COMPANION_HINT: &str = "The headless Service and the PodDisruptionBudget must exist before the StatefulSet: apply them first (within one `kubectl apply -f` file, put them above the StatefulSet; Helm already installs Services and PDBs before StatefulSets).";

impl Reviewer<'_> {
    pub fn review(&self, req: &AdmissionRequest<DynamicObject>) -> Decision {
        let allow = || Decision {
            response: AdmissionResponse::from(req),
            verdict: Verdict::Allowed,
            problems: Vec::new(),
        };
        if req.sub_resource.as_deref().is_some_and(|s| !s.is_empty()) {
            // status and scale updates are not the user's spec
            return allow();
        }
        let result = match (req.kind.group.as_str(), req.kind.kind.as_str()) {
            ("apps", "StatefulSet") => match req.operation {
                Operation::Create | Operation::Update => self.statefulset(req),
                _ => return allow(),
            },
            ("", "Service") => match req.operation {
                Operation::Delete => self.service_delete(req),
                Operation::Update => self.companion_change(req, "Service"),
                _ => return allow(),
            },
            ("policy", "PodDisruptionBudget") => match req.operation {
                Operation::Delete => self.pdb_delete(req),
                Operation::Create | Operation::Update => {
                    self.companion_change(req, "PodDisruptionBudget")
                }
                _ => return allow(),
            },
            _ => return allow(),
        };
        match result {
            Ok(d) => d,
            Err(msg) => {
                let mut response = AdmissionResponse::from(req).deny(&msg);
                response.result.code = 400;
                response.result.reason = "BadRequest".into();
                response.result.status = Some(StatusSummary::Failure);
                Decision {
                    response,
                    verdict: Verdict::Error,
                    problems: Vec::new(),
                }
            }
        }
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
        d: Option<&DynamicObject>,
        what: &str,
    ) -> Result<Option<Arc<Object>>, String> {
        let Some(d) = d else { return Ok(None) };
        let mut v = serde_json::to_value(d).map_err(|e| format!("{what}: {e}"))?;
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

    fn statefulset(&self, req: &AdmissionRequest<DynamicObject>) -> Result<Decision, String> {
        let Some(obj) = self.object(req, req.object.as_ref(), "object")? else {
            return Err("request.object is missing".into());
        };
        if is_terminating(&obj) {
            return Ok(self.decide(req, &obj.key.to_string(), Vec::new(), None));
        }
        let view = Overlay::new(self.companions).with(&obj.key.kind, &obj, Some(obj.clone()));
        let outcome = (self.runner)(std::slice::from_ref(&obj), &view, self.config);
        let problems: Vec<Problem> = outcome.findings.iter().map(problem).collect();
        let hint = missing_companion(&obj, &view, &problems).then_some(MISSING_COMPANION_HINT);
        Ok(self.decide(req, &obj.key.to_string(), problems, hint))
    }

    /// A StatefulSet that depends on companions and is not being deleted.
    fn live_statefulsets(&self, ns: &str, code: &str) -> Vec<Arc<Object>> {
        let Some(meta) = rules::lookup(code) else {
            return Vec::new();
        };
        if !self.config.is_enabled(meta) {
            return Vec::new();
        }
        self.companions
            .statefulsets(ns)
            .into_iter()
            .filter(|s| !is_terminating(s) && !s.ignores(meta.code, meta.slug))
            .collect()
    }

    fn service_delete(&self, req: &AdmissionRequest<DynamicObject>) -> Result<Decision, String> {
        let ns = self.namespace(req);
        let svc = match self.object(req, req.old_object.as_ref(), "oldObject")? {
            Some(o) => Some(o),
            None => self.companions.service(ns, &req.name),
        };
        let Some(svc) = svc else {
            return Ok(self.decide(req, "", Vec::new(), None));
        };
        let headless = svc
            .service()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.cluster_ip.as_deref())
            == Some("None");
        let name = &svc.key.name;
        let mut problems = Vec::new();
        if headless {
            for sts in self.live_statefulsets(ns, "SL001") {
                if service_name(&sts) == Some(name.as_str()) {
                    problems.push(Problem {
                        code: "SL001",
                        slug: "headless-service",
                        severity: Severity::Error,
                        message: format!(
                            "Service {name} is the headless Service of StatefulSet {} (spec.serviceName); deleting it removes the DNS names of its {} pods",
                            sts.key.name,
                            sts.replicas()
                        ),
                        help: format!(
                            "delete StatefulSet {} first (kubectl delete statefulset {} -n {ns}), or point its serviceName at another headless Service",
                            sts.key.name, sts.key.name
                        ),
                    });
                }
            }
        }
        Ok(self.decide(req, &svc.key.to_string(), problems, None))
    }

    fn pdb_delete(&self, req: &AdmissionRequest<DynamicObject>) -> Result<Decision, String> {
        let ns = self.namespace(req);
        // the API server always sends oldObject on DELETE (1.15+); PDBs have no lookup by name
        let pdb = self.object(req, req.old_object.as_ref(), "oldObject")?;
        let Some(pdb) = pdb else {
            return Ok(self.decide(req, "", Vec::new(), None));
        };
        let name = &pdb.key.name;
        let mut problems = Vec::new();
        for sts in self.live_statefulsets(ns, "SL002") {
            let Some(labels) = sts.pod_labels() else {
                continue;
            };
            if !pdb_selects(&pdb, labels) {
                continue;
            }
            let all = self.companions.pdbs_selecting(ns, labels);
            if all.iter().all(|p| &p.key.name == name) {
                problems.push(Problem {
                    code: "SL002",
                    slug: "pdb-quorum",
                    severity: Severity::Error,
                    message: format!(
                        "PodDisruptionBudget {name} is the only PodDisruptionBudget of StatefulSet {}; without it a node drain may evict {} of its {} pods at once and lose quorum",
                        sts.key.name,
                        sts.replicas(),
                        sts.replicas()
                    ),
                    help: format!(
                        "delete StatefulSet {} first, or create its replacement PodDisruptionBudget before deleting this one",
                        sts.key.name
                    ),
                });
            }
        }
        Ok(self.decide(req, &pdb.key.to_string(), problems, None))
    }

    /// Service UPDATE / PDB CREATE or UPDATE: re-run the companion's rule on the StatefulSets
    /// it concerns, with the new object in place of the old.
    fn companion_change(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        kind: &str,
    ) -> Result<Decision, String> {
        let ns = self.namespace(req);
        let Some(new) = self.object(req, req.object.as_ref(), "object")? else {
            return Err("request.object is missing".into());
        };
        let old = match self.object(req, req.old_object.as_ref(), "oldObject")? {
            Some(o) => Some(o),
            None if kind == "Service" => self.companions.service(ns, &new.key.name),
            None => None,
        };
        let code = if kind == "Service" { "SL001" } else { "SL002" };
        let concerns = |sts: &Object, o: &Object| -> bool {
            if kind == "Service" {
                service_name(sts) == Some(o.key.name.as_str())
            } else {
                sts.pod_labels().is_some_and(|l| pdb_selects(o, l))
            }
        };
        let affected: Vec<Arc<Object>> = self
            .live_statefulsets(ns, code)
            .into_iter()
            .filter(|s| concerns(s, &new) || old.as_deref().is_some_and(|o| concerns(s, o)))
            .collect();
        if affected.is_empty() {
            return Ok(self.decide(req, &new.key.to_string(), Vec::new(), None));
        }
        let mut only = self.config.clone();
        let _ = only.select(&[code.to_string()]);
        let after_view = Overlay::new(self.companions).with(kind, &new, Some(new.clone()));
        let mut problems = Vec::new();
        for sts in &affected {
            let errors = |o: &Outcome| -> Vec<Problem> {
                o.findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(problem)
                    .collect()
            };
            let after = errors(&(self.runner)(
                std::slice::from_ref(sts),
                &after_view,
                &only,
            ));
            if after.is_empty() {
                continue;
            }
            let before = errors(&(self.runner)(
                std::slice::from_ref(sts),
                self.companions,
                &only,
            ));
            let broken_now = before.is_empty();
            for mut p in after {
                p.message = format!(
                    "with this {kind}, StatefulSet {}: {}",
                    sts.key.name, p.message
                );
                if !broken_now {
                    // already failing before this change: do not block a repair attempt
                    p.severity = Severity::Warning;
                }
                problems.push(p);
            }
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
        }
    }
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

fn service_name(sts: &Object) -> Option<&str> {
    sts.statefulset()?
        .spec
        .as_ref()?
        .service_name
        .as_deref()
        .filter(|s| !s.is_empty())
}

fn is_terminating(o: &Object) -> bool {
    o.statefulset()
        .is_some_and(|s| s.metadata.deletion_timestamp.is_some())
}

/// SL001/SL002 fired and the Service or every PDB is absent from the view.
fn missing_companion(obj: &Object, view: &dyn Companions, problems: &[Problem]) -> bool {
    let fired = |code: &str| {
        problems
            .iter()
            .any(|p| p.code == code && p.severity == Severity::Error)
    };
    let ns = &obj.key.namespace;
    let svc_missing = service_name(obj).is_some_and(|n| view.service(ns, n).is_none());
    let pdb_missing = obj
        .pod_labels()
        .is_some_and(|l| view.pdbs_selecting(ns, l).is_empty());
    (fired("SL001") && svc_missing) || (fired("SL002") && pdb_missing)
}

/// The companion view with some objects replaced, added (`Some`) or removed (`None`).
pub struct Overlay<'a> {
    base: &'a dyn Companions,
    changes: Vec<(String, String, String, Option<Arc<Object>>)>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Companions) -> Self {
        Overlay {
            base,
            changes: Vec::new(),
        }
    }

    /// Replace `kind` `at.namespace`/`at.name` with `with` (None removes it).
    pub fn with(mut self, kind: &str, at: &Object, with: Option<Arc<Object>>) -> Self {
        self.changes.push((
            kind.to_string(),
            at.key.namespace.clone(),
            at.key.name.clone(),
            with,
        ));
        self
    }

    fn changed(&self, kind: &str, ns: &str, name: &str) -> Option<&Option<Arc<Object>>> {
        self.changes
            .iter()
            .find(|(k, n, m, _)| k == kind && n == ns && m == name)
            .map(|(_, _, _, o)| o)
    }

    fn get(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        base: impl FnOnce() -> Option<Arc<Object>>,
    ) -> Option<Arc<Object>> {
        match self.changed(kind, ns, name) {
            Some(o) => o.clone(),
            None => base(),
        }
    }

    /// Base answers minus replaced objects, plus the replacements that `keep`.
    fn merge(
        &self,
        kinds: &[&str],
        ns: Option<&str>,
        base: Vec<Arc<Object>>,
        keep: impl Fn(&Object) -> bool,
    ) -> Vec<Arc<Object>> {
        let mut out: Vec<Arc<Object>> = base
            .into_iter()
            .filter(|o| {
                self.changed(&o.key.kind, &o.key.namespace, &o.key.name)
                    .is_none()
            })
            .collect();
        for (k, n, _, o) in &self.changes {
            if let Some(o) = o {
                if kinds.contains(&k.as_str()) && ns.is_none_or(|ns| ns == n) && keep(o) {
                    out.push(o.clone());
                }
            }
        }
        out
    }
}

impl Companions for Overlay<'_> {
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("Service", namespace, name, || {
            self.base.service(namespace, name)
        })
    }

    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.merge(
            &["Service"],
            Some(namespace),
            self.base.services_selecting(namespace, labels),
            |o| service_selects(o, labels),
        )
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.merge(
            &["PodDisruptionBudget"],
            Some(namespace),
            self.base.pdbs_selecting(namespace, labels),
            |o| pdb_selects(o, labels),
        )
    }

    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("StatefulSet", namespace, name, || {
            self.base.statefulset(namespace, name)
        })
    }

    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>> {
        self.merge(
            &["StatefulSet"],
            Some(namespace),
            self.base.statefulsets(namespace),
            |_| true,
        )
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("ConfigMap", namespace, name, || {
            self.base.config_map(namespace, name)
        })
    }

    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>> {
        self.merge(
            &["StatefulSet"],
            namespace,
            self.base.workloads(namespace),
            |o| o.pod_template().is_some(),
        )
    }
}
