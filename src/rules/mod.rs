//! The rule registry, findings, and the engine that runs rules over objects.
//!
//! Each rule lives in its own file (implementation notes in its `//!` comment, its options
//! struct, the companion kinds it reads) and is documented by its page under `rules/`, which
//! `statelint explain` prints. See CONTRIBUTING.md, "Adding a rule".

use std::sync::Arc;

use serde_json::Value;

use crate::catalog::{Companions, Kind};
use crate::config::{self, Config, OptionError, Options, RuleName, RuleSet};
use crate::object::Object;
use crate::role::{Role, RoleInfo};

mod dangling_pod_affinity;
mod deprecated_api;
mod ensemble_members;
mod headless_service;
mod odd_replicas;
mod pdb_quorum;
mod pod_anti_affinity;
mod security_context;
mod unreplaced_placeholder;
mod volume_claim_storage_class;
mod zookeeper_connect;

pub mod util;

pub use crate::severity::Severity;

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct RuleMeta {
    pub code: &'static str,
    pub slug: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// The rule's page (`rules/<code>-<slug>.md`).
    pub page: &'static str,
}

impl RuleMeta {
    /// Documentation URL of the rule's page.
    pub fn url(&self) -> String {
        format!(
            "https://github.com/statelint/statelint/blob/main/rules/{}-{}.md",
            self.code, self.slug
        )
    }

    pub fn is(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(self.code) || name == self.slug
    }
}

/// A node of an object that a finding points at.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub object: Arc<Object>,
    /// JSON pointer inside the object (`/spec/serviceName`); missing nodes resolve to their
    /// nearest present ancestor when reported.
    pub pointer: String,
    /// Point at the mapping key rather than its value.
    pub on_key: bool,
    /// Narrow the span to this text when it occurs verbatim inside the node's source (a host
    /// inside a `sh -c` script, one item of a comma-separated list).
    pub needle: Option<String>,
    /// Which occurrence of the needle (from 0): a member written twice in one file.
    pub needle_nth: usize,
}

/// One problem on one object.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    /// The object the finding is about (usually the StatefulSet).
    pub object: Arc<Object>,
    /// The node to show (may sit in a companion, e.g. a Service's `clusterIP`).
    pub at: Anchor,
    pub message: String,
    pub help: String,
    /// Secondary labels: other nodes that explain the finding.
    pub notes: Vec<(Anchor, String)>,
    /// The role of the StatefulSet the finding is about (SPEC §2a), set by [`run`].
    pub role: Option<Arc<RoleInfo>>,
}

impl Finding {
    pub fn new(
        rule: &'static RuleMeta,
        object: &Arc<Object>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            severity: rule.severity,
            object: object.clone(),
            at: Anchor {
                object: object.clone(),
                pointer: pointer.into(),
                on_key: false,
                needle: None,
                needle_nth: 0,
            },
            message: message.into(),
            help: String::new(),
            notes: Vec::new(),
            role: None,
        }
    }

    /// Narrow the primary span to `text` inside the node (when it appears verbatim there).
    pub fn needle(mut self, text: impl Into<String>) -> Self {
        self.at.needle = Some(text.into());
        self
    }

    /// Narrow the primary span to occurrence `nth` (from 0) of `text` inside the node.
    pub fn needle_nth(mut self, text: impl Into<String>, nth: usize) -> Self {
        self.at.needle = Some(text.into());
        self.at.needle_nth = nth;
        self
    }

    /// Point at the key of the node instead of its value.
    pub fn on_key(mut self) -> Self {
        self.at.on_key = true;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// Show the finding at a node of another object (a companion).
    pub fn at(mut self, object: &Arc<Object>, pointer: impl Into<String>) -> Self {
        self.at = Anchor {
            object: object.clone(),
            pointer: pointer.into(),
            on_key: false,
            needle: self.at.needle.take(),
            needle_nth: self.at.needle_nth,
        };
        self
    }

    /// Add a secondary label.
    pub fn note(
        mut self,
        object: &Arc<Object>,
        pointer: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        self.notes.push((
            Anchor {
                object: object.clone(),
                pointer: pointer.into(),
                on_key: false,
                needle: None,
                needle_nth: 0,
            },
            text.into(),
        ));
        self
    }
}

/// What a rule can see besides the object it checks.
pub struct Ctx<'a> {
    pub companions: &'a dyn Companions,
    pub config: &'a Config,
    /// The role of the object being checked, when it is a StatefulSet (computed once per
    /// object by [`run`], see [`crate::role`]).
    pub role: Option<&'a RoleInfo>,
}

impl Ctx<'_> {
    /// The role of the StatefulSet being checked (`None` for other kinds).
    pub fn role(&self) -> Option<Role> {
        self.role.map(|r| r.role)
    }

    pub fn is_stateless(&self) -> bool {
        self.role() == Some(Role::Stateless)
    }
}

/// Lower the findings `out[from..]` to warnings (rules that only warn for some roles).
pub fn as_warnings(out: &mut [Finding], from: usize) {
    for f in out.iter_mut().skip(from) {
        f.severity = Severity::Warning;
    }
}

impl Ctx<'_> {
    /// The options the config gives rule `meta` (`None`: the rule's defaults).
    pub fn options<T: std::any::Any>(&self, meta: &RuleMeta) -> Option<&T> {
        self.config.options(meta.code)
    }
}

/// A rule with no options: any key is an unknown option.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOptions {}

/// A rule. `check` is called for every reported object; rules skip kinds they do not handle.
pub trait Rule: Send + Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>);

    /// Parse this rule's options from `.statelint.yaml` (its mapping without `severity`),
    /// usually [`config::boxed_options`] with the rule's own options struct. The default: no
    /// options.
    fn options(&self, raw: &Value) -> Result<Option<Options>, Vec<OptionError>> {
        config::parse_options::<NoOptions>(raw).map(|_| None)
    }

    /// The companion kinds `check` reads through [`Companions`]. The webhook re-checks this
    /// rule on the StatefulSets of a namespace when an object of one of these kinds changes.
    fn reads(&self) -> &'static [Kind] {
        &[]
    }

    /// Whether a change to `companion` (of a kind this rule reads) can change this rule's
    /// verdict on `sts`. The default: any StatefulSet of the namespace.
    fn concerns(&self, _sts: &Object, _companion: &Object) -> bool {
        true
    }

    /// What deleting `companion` (of a kind this rule reads) breaks for `sts`, which depends on
    /// it: a finding to deny the DELETE with. `cx` is the world before the deletion.
    fn removal_breaks(
        &self,
        _sts: &Arc<Object>,
        _companion: &Arc<Object>,
        _cx: &Ctx<'_>,
    ) -> Option<Finding> {
        None
    }

    /// Whether this rule's verdict on a StatefulSet depends on its own `spec.replicas`: the
    /// webhook runs these rules on a `statefulsets/scale` UPDATE (`kubectl scale`, HPAs).
    fn depends_on_replicas(&self) -> bool {
        false
    }

    /// Whether a companion this rule needs for `sts` is absent from `view` (the webhook then
    /// tells the user to apply companions before the StatefulSet).
    fn companion_missing(&self, _sts: &Object, _view: &dyn Companions) -> bool {
        false
    }
}

/// Every rule, in code order.
pub fn all() -> &'static [&'static dyn Rule] {
    static ALL: &[&dyn Rule] = &[
        &headless_service::HeadlessService,
        &pdb_quorum::PdbQuorum,
        &pod_anti_affinity::PodAntiAffinity,
        &volume_claim_storage_class::VolumeClaimStorageClass,
        &zookeeper_connect::ZookeeperConnect,
        &deprecated_api::DeprecatedApi,
        &unreplaced_placeholder::UnreplacedPlaceholder,
        &security_context::SecurityContext,
        &odd_replicas::OddReplicas,
        &dangling_pod_affinity::DanglingPodAffinity,
        &ensemble_members::EnsembleMembers,
    ];
    ALL
}

/// The rule with this code or slug.
pub fn lookup(name: &str) -> Option<&'static RuleMeta> {
    all().iter().map(|r| r.meta()).find(|m| m.is(name))
}

/// The rule with this code.
pub fn by_code(code: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|r| r.meta().code == code)
}

/// The rules, as the configuration sees them: names to resolve, options to parse.
pub struct Registry;

impl RuleSet for Registry {
    fn resolve(&self, name: &str) -> Option<RuleName> {
        lookup(name).map(|m| RuleName {
            code: m.code,
            slug: m.slug,
        })
    }

    fn names(&self) -> Vec<RuleName> {
        all()
            .iter()
            .map(|r| RuleName {
                code: r.meta().code,
                slug: r.meta().slug,
            })
            .collect()
    }

    fn parse_options(
        &self,
        code: &'static str,
        raw: &Value,
    ) -> Result<Option<Options>, Vec<OptionError>> {
        match by_code(code) {
            Some(r) => r.options(raw),
            None => Ok(None),
        }
    }
}

/// Findings of a run, split into reported and suppressed (by annotation).
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Finding>,
}

/// Run `rule` on `object` as its role says ([`crate::role::applies`]): not at all, at its
/// severity, or with its findings lowered to warnings.
pub fn check_one(rule: &dyn Rule, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    use crate::role::Applies;
    let applies = cx.role.map_or(Applies::Fully, |r| {
        crate::role::applies(rule.meta().code, r)
    });
    if applies == Applies::Not {
        return;
    }
    let from = out.len();
    rule.check(object, cx, out);
    if applies == Applies::AsWarning {
        as_warnings(out, from);
    }
}

/// Give the findings about `object` its role.
pub fn attach_role(out: &mut [Finding], object: &Arc<Object>, role: Option<&Arc<RoleInfo>>) {
    if let Some(role) = role {
        for f in out.iter_mut().filter(|f| f.object.key == object.key) {
            f.role = Some(role.clone());
        }
    }
}

/// Objects per rayon task in [`run`].
const MIN_PER_TASK: usize = 64;

/// Run every enabled rule over `objects` (in parallel), apply severity overrides and ignore
/// annotations.
pub fn run(objects: &[Arc<Object>], companions: &dyn Companions, config: &Config) -> Outcome {
    use rayon::prelude::*;
    let enabled: Vec<&dyn Rule>;
    let rules: &[&dyn Rule] = if config.enables_every_rule() {
        all()
    } else {
        enabled = all()
            .iter()
            .copied()
            .filter(|r| config.is_enabled(r.meta().code))
            .collect();
        &enabled
    };
    let check = |o: &Arc<Object>, out: &mut Vec<Finding>| {
        // worked out once per object (and kept with it: SL005, SL009, SL011... ask again)
        let role = crate::role::shared(o, companions);
        let cx = Ctx {
            companions,
            config,
            role: role.as_deref(),
        };
        let from = out.len();
        for r in rules {
            check_one(*r, o, &cx, out);
        }
        attach_role(&mut out[from..], o, role.as_ref());
    };
    let mut findings: Vec<Finding> = if objects.len() < 2 * MIN_PER_TASK {
        // one task's worth (a webhook review): rayon would not split it; run it here, in order
        let mut out = Vec::new();
        for o in objects {
            check(o, &mut out);
        }
        out
    } else {
        objects
            .par_iter()
            .with_min_len(MIN_PER_TASK)
            .flat_map_iter(|o| {
                let mut out = Vec::new();
                check(o, &mut out);
                out
            })
            .collect()
    };
    for f in &mut findings {
        if let Some(s) = config.severity_override(f.rule.code) {
            f.severity = s;
        }
    }
    let (suppressed, findings): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.object.ignores(f.rule.code, f.rule.slug));
    Outcome {
        findings,
        suppressed,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;
    use std::sync::Mutex;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    use super::*;
    use crate::catalog::Catalog;
    use crate::object::Labels;

    /// Companions that record which kinds a rule asked about.
    struct Recorder<'a> {
        base: &'a Catalog,
        asked: Mutex<HashSet<Kind>>,
    }

    impl Recorder<'_> {
        fn ask(&self, k: Kind) {
            self.asked.lock().unwrap().insert(k);
        }
    }

    impl Companions for Recorder<'_> {
        fn service(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
            self.ask(Kind::Service);
            self.base.service(ns, name)
        }
        fn services_selecting(&self, ns: &str, labels: &Labels) -> Vec<Arc<Object>> {
            self.ask(Kind::Service);
            self.base.services_selecting(ns, labels)
        }
        fn pdbs_selecting(&self, ns: &str, labels: &Labels) -> Vec<Arc<Object>> {
            self.ask(Kind::PodDisruptionBudget);
            self.base.pdbs_selecting(ns, labels)
        }
        fn statefulset(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
            self.ask(Kind::StatefulSet);
            self.base.statefulset(ns, name)
        }
        fn statefulsets(&self, ns: &str) -> Vec<Arc<Object>> {
            self.ask(Kind::StatefulSet);
            self.base.statefulsets(ns)
        }
        fn config_map(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
            self.ask(Kind::ConfigMap);
            self.base.config_map(ns, name)
        }
        fn workloads(&self, ns: Option<&str>) -> Vec<Arc<Object>> {
            self.ask(Kind::Workload);
            self.base.workloads(ns)
        }
        fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
            self.ask(Kind::StatefulSet);
            self.base.statefulsets_by_service(service_name)
        }
        fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
            self.ask(Kind::Service);
            self.base.services_named(name)
        }
        fn workloads_selecting(&self, ns: Option<&str>, sel: &LabelSelector) -> Vec<Arc<Object>> {
            self.ask(Kind::Workload);
            self.base.workloads_selecting(ns, sel)
        }
        fn pod_label_values(
            &self,
            ns: &str,
            key: &str,
            limit: usize,
        ) -> Vec<(String, Arc<Object>)> {
            self.ask(Kind::Workload);
            self.base.pod_label_values(ns, key, limit)
        }
    }

    /// The rules' own options structs, through the real registry: read, defaults, and errors at
    /// the offending key or value of the config file.
    #[test]
    fn rule_options_parse_through_the_registry() {
        let c = Config::parse(
            "c.yaml",
            "rules:\n  volume-claim-storage-class:\n    storage-classes: [glusterfs-storage]\n  SL003:\n    require: required\n    topology-keys: rack\n    severity: warning\n  zookeeper-connect:\n    cluster-domain: .corp.example.\ndisable: [odd-replicas]\n",
            &Registry,
        )
        .unwrap();
        let sl003 = c
            .options::<pod_anti_affinity::Options>(pod_anti_affinity::META.code)
            .unwrap();
        assert_eq!(sl003.require, pod_anti_affinity::Require::Required);
        assert_eq!(sl003.topology_keys, Some(vec!["rack".to_string()]));
        let sl004 = c
            .options::<volume_claim_storage_class::Options>("SL004")
            .unwrap();
        assert_eq!(
            sl004.storage_classes.as_ref().unwrap().0,
            vec!["glusterfs-storage".to_string()]
        );
        let sl005 = c.options::<zookeeper_connect::Options>("SL005").unwrap();
        assert_eq!(
            sl005.cluster_domain,
            Some(zookeeper_connect::ClusterDomain("corp.example".into()))
        );
        assert_eq!(c.severity_override("SL003"), Some(Severity::Warning));
        assert!(!c.is_enabled("SL009"));
        let errors = |text: &str| -> Vec<(usize, usize, String)> {
            Config::parse("c.yaml", text, &Registry)
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| (e.line, e.column, e.message))
                .collect()
        };
        let e = errors(
            "rules:\n  SL003:\n    require: sometimes\n    topology-keys: []\n  SL005: {cluster-domain: 'a b'}\n  pdb-quorum:\n    storage-classes: [x]\n",
        );
        let at: Vec<(usize, usize)> = e.iter().map(|(l, c, _)| (*l, *c)).collect();
        assert_eq!(at, vec![(3, 14), (4, 20), (5, 27), (7, 5)], "{e:?}");
        assert!(e[0].2.contains("unknown variant `sometimes`"), "{e:?}");
        assert!(e[1].2.contains("give at least one topology key"), "{e:?}");
        assert!(e[2].2.contains("expected a DNS domain"), "{e:?}");
        assert!(
            e[3].2.contains(
                "unknown option `storage-classes` for rule SL002 pdb-quorum (options: severity)"
            ),
            "{e:?}"
        );
    }

    /// A rule's `reads` is what the webhook trusts to re-check it: every kind a rule asks
    /// `Companions` about over every fixture must be declared.
    #[test]
    fn rules_declare_every_companion_kind_they_read() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut loaded = crate::source::Loaded::default();
        let objects = crate::source::load_paths(
            &[root],
            "default",
            &crate::source::Limits::default(),
            &mut loaded,
        );
        assert!(objects.len() > 100, "fixtures not found");
        let catalog = Catalog::new(objects.iter().cloned());
        let config = Config::default();
        let mut problems = Vec::new();
        for rule in all() {
            let recorder = Recorder {
                base: &catalog,
                asked: Mutex::default(),
            };
            let mut out = Vec::new();
            for o in &objects {
                // the role is computed by the engine, not by the rule
                let role = crate::role::of(o, &catalog);
                let cx = Ctx {
                    companions: &recorder,
                    config: &config,
                    role: role.as_ref(),
                };
                rule.check(o, &cx, &mut out);
            }
            for k in recorder.asked.into_inner().unwrap() {
                if !rule.reads().iter().any(|r| r.covers(k)) {
                    problems.push(format!(
                        "{} reads {k:?} but does not declare it in reads()",
                        rule.meta().code
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
