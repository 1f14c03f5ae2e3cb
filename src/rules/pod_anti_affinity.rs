//! SL003 `pod-anti-affinity`. The rule's documentation is its page, `rules/SL003-pod-anti-affinity.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: no companion is read. Every anti-affinity term
//! ([`Object::affinity_terms`]) and topology spread constraint is tried; the first that keeps
//! the replicas apart passes the rule, otherwise each one that comes close is reported with its
//! own [`Miss`]. Options (`require`, `topology-keys`) are [`Options`].
//!
//! [`Object::affinity_terms`]: crate::object::Object::affinity_terms

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PodAffinityTerm, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::util::{lazy, yaml_map};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::config::{self, OptionError, Options as RawOptions, StringList};
use crate::object::{Affinity, Labels, Object};
use crate::selector;
use serde::Deserialize;

pub static META: RuleMeta = RuleMeta {
    code: "SL003",
    slug: "pod-anti-affinity",
    severity: Severity::Error,
    summary: "replicas are spread over nodes by pod anti-affinity on their own labels",
    page: include_str!("../../rules/SL003-pod-anti-affinity.md"),
};

pub struct PodAntiAffinity;

/// Which anti-affinity terms count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// Preferred or required terms both pass.
    #[default]
    Preferred,
    /// Only required terms (or a DoNotSchedule spread constraint) pass.
    Required,
}

/// `.statelint.yaml` options (see the rule's page).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    #[serde(default)]
    pub require: Require,
    /// Replaces the default allowed keys.
    #[serde(default, deserialize_with = "non_empty")]
    pub topology_keys: Option<Vec<String>>,
}

impl Options {
    const DEFAULT: Options = Options {
        require: Require::Preferred,
        topology_keys: None,
    };
}

fn non_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let keys = StringList::deserialize(d)?.0;
    if keys.is_empty() {
        return Err(serde::de::Error::custom("give at least one topology key"));
    }
    Ok(Some(keys))
}

const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";
const REGION: &str = "topology.kubernetes.io/region";
/// The label every namespace carries with its own name.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Why a term or constraint does not keep the replicas apart, and where to point.
struct Miss {
    pointer: String,
    on_key: bool,
    message: String,
    help: String,
}

impl Rule for PodAntiAffinity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn depends_on_replicas(&self) -> bool {
        true
    }

    fn options(&self, raw: &serde_json::Value) -> Result<Option<RawOptions>, Vec<OptionError>> {
        config::boxed_options::<Options>(raw)
    }

    fn check(&self, obj: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if obj.statefulset().is_none() {
            return;
        }
        let config = cx.options::<Options>(&META).unwrap_or(&Options::DEFAULT);
        let n = obj.replicas();
        if n < 2 {
            return;
        }
        let empty = Labels::new();
        let labels = obj.pod_labels().unwrap_or(&empty);
        let ns = &obj.key.namespace;
        let name = &obj.key.name;
        let Some(pod) = obj.pod_template().and_then(|t| t.spec.as_ref()) else {
            out.push(none(obj, labels, n, config, cx.role()));
            return;
        };
        let mut misses = Vec::new();
        let mut considered = 0;
        for t in obj.affinity_terms(Affinity::PodAnti) {
            considered += 1;
            match check_term(t.term, t.required, &t.pointer, labels, ns, name, config) {
                None => return,
                Some(m) => misses.push(m),
            }
        }
        for (i, c) in pod.topology_spread_constraints.iter().flatten().enumerate() {
            let ptr = lazy(|f| {
                write!(
                    f,
                    "{}/spec/topologySpreadConstraints/{i}",
                    obj.pod_template_pointer()
                )
            });
            considered += 1;
            match check_spread(c, &ptr, labels, name, config) {
                None => return,
                Some(m) => misses.push(m),
            }
        }
        if considered == 0 {
            out.push(none(obj, labels, n, config, cx.role()));
            return;
        }
        let count = misses.len();
        for m in misses {
            let also = if count > 1 {
                "no term keeps them apart"
            } else {
                "nothing else keeps them apart"
            };
            let mut f = Finding::new(
                &META,
                obj,
                m.pointer,
                format!(
                    "StatefulSet {name}: {}; {also}, so several of its {n} replicas may run on one node",
                    m.message
                ),
            )
            .help(m.help);
            if m.on_key {
                f = f.on_key();
            }
            out.push(f);
        }
    }
}

/// The keys allowed for a term (`required`: a required term or a hard spread constraint).
fn allowed_keys(config: &Options, required: bool) -> Vec<&str> {
    match &config.topology_keys {
        Some(keys) => keys.iter().map(String::as_str).collect(),
        None => default_keys(required).to_vec(),
    }
}

/// The keys allowed when `topologyKeys` is not configured: hostname, zone and region for a
/// required term; hostname only for a preferred one.
fn default_keys(required: bool) -> &'static [&'static str] {
    if required {
        &[HOSTNAME, ZONE, REGION]
    } else {
        &[HOSTNAME]
    }
}

/// Whether `key` is among [`allowed_keys`] (without collecting them).
fn allowed_key(config: &Options, required: bool, key: &str) -> bool {
    match &config.topology_keys {
        Some(keys) => keys.iter().any(|k| k == key),
        None => default_keys(required).contains(&key),
    }
}

/// The first key to suggest.
fn suggested_key(config: &Options) -> &str {
    config
        .topology_keys
        .as_ref()
        .and_then(|k| k.first())
        .map_or(HOSTNAME, String::as_str)
}

fn none(
    obj: &Arc<Object>,
    labels: &Labels,
    n: i32,
    config: &Options,
    role: Option<crate::role::Role>,
) -> Finding {
    use crate::role::Role;
    let name = &obj.key.name;
    // what losing one node costs, by role (SPEC §2a)
    let loss = match role {
        Some(Role::Replica) => "take every copy of some data offline",
        Some(Role::Stateless) => "take all of them down at once",
        _ => "lose quorum",
    };
    let ptr = super::util::replicas_pointer(obj);
    Finding::new(
        &META,
        obj,
        ptr,
        format!(
            "StatefulSet {name} runs {n} replicas with no podAntiAffinity on its own pods: the \
             scheduler may place several of them on one node, and losing that node can {loss}"
        ),
    )
    .help(snippet(labels, config))
}

fn snippet(labels: &Labels, config: &Options) -> String {
    let sel = if labels.is_empty() {
        "{}".to_string()
    } else {
        format!("{{matchLabels: {}}}", yaml_map(labels))
    };
    format!(
        "add to the pod template's spec: affinity: {{podAntiAffinity: \
         {{requiredDuringSchedulingIgnoredDuringExecution: [{{labelSelector: {sel}, \
         topologyKey: {}}}]}}}}{}",
        suggested_key(config),
        if config.require == Require::Required {
            ""
        } else {
            " (use preferredDuringSchedulingIgnoredDuringExecution with a weight if the cluster may have fewer nodes than replicas)"
        }
    )
}

/// Does this selector (as an anti-affinity or spread selector: `None` selects nothing) select
/// the pods? On a miss, what to say and where.
fn selector_miss(
    sel: Option<&LabelSelector>,
    ptr: &dyn Display,
    what: &dyn Display,
    labels: &Labels,
) -> Option<Miss> {
    // the help is built only for a miss (the common case matches)
    let fix = || {
        format!(
            "make its labelSelector select the pod template's labels, e.g. {{matchLabels: {}}}",
            yaml_map(labels)
        )
    };
    match sel {
        None => Some(Miss {
            pointer: format!("{ptr}/labelSelector"),
            on_key: false,
            message: format!("{what} has no labelSelector, so it selects no pods"),
            help: fix(),
        }),
        Some(s) if !selector::matches(s, labels) => Some(Miss {
            pointer: format!("{ptr}/labelSelector"),
            on_key: false,
            message: format!(
                "{what} selects {}, which does not match its own pods ({})",
                selector::describe(s),
                selector::describe_map(labels)
            ),
            help: fix(),
        }),
        Some(_) => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn check_term(
    term: &PodAffinityTerm,
    required: bool,
    ptr: &dyn Display,
    labels: &Labels,
    ns: &str,
    name: &str,
    config: &Options,
) -> Option<Miss> {
    let kind = if required { "required" } else { "preferred" };
    let what = lazy(|f| {
        write!(
            f,
            "the {kind} podAntiAffinity term on {}",
            if term.topology_key.is_empty() {
                "an empty topologyKey"
            } else {
                &term.topology_key
            }
        )
    });
    if let Some(m) = selector_miss(term.label_selector.as_ref(), ptr, &what, labels) {
        return Some(m);
    }
    if let Some(key) = term
        .mismatch_label_keys
        .iter()
        .flatten()
        .find(|k| labels.contains_key(*k) || *k == "controller-revision-hash")
    {
        return Some(Miss {
            pointer: format!("{ptr}/mismatchLabelKeys"),
            on_key: false,
            message: format!(
                "{what} lists {key} in mismatchLabelKeys, which excludes its own \
                 pods (they share that label's value)"
            ),
            help: format!("remove {key} from mismatchLabelKeys"),
        });
    }
    if let Some(m) = namespace_miss(term, ptr, &what, ns) {
        return Some(m);
    }
    if !allowed_key(config, required, &term.topology_key) {
        let allowed = allowed_keys(config, required);
        let (message, help) = if config.topology_keys.is_none()
            && !required
            && (term.topology_key == ZONE || term.topology_key == REGION)
        {
            (
                format!(
                    "{what} spreads replicas over {}s, not nodes, and is only preferred",
                    term.topology_key.rsplit('/').next().unwrap_or("zone"),
                ),
                format!(
                    "add a term on topologyKey: {HOSTNAME} (keep the {} term for zone spreading), \
                     or make the {} term required",
                    term.topology_key, term.topology_key
                ),
            )
        } else {
            let source = if config.topology_keys.is_some() {
                "the configured topology-keys"
            } else if required {
                "the allowed keys"
            } else {
                "the allowed keys for preferred terms"
            };
            (
                format!(
                    "{what} uses a topologyKey that is not among {source} ({}), so it is not known to keep replicas on different nodes",
                    allowed.join(", ")
                ),
                format!(
                    "use topologyKey: {}, or list the key under topology-keys for pod-anti-affinity in .statelint.yaml",
                    suggested_key(config)
                ),
            )
        };
        return Some(Miss {
            pointer: format!("{ptr}/topologyKey"),
            on_key: false,
            message,
            help,
        });
    }
    if !required && config.require == Require::Required {
        let ptr = ptr.to_string();
        let ptr = ptr.as_str();
        let list = ptr
            .rsplit_once('/')
            .and_then(|(p, _)| p.rsplit_once('/'))
            .map_or(ptr, |(p, _)| p);
        return Some(Miss {
            pointer: list.to_string(),
            on_key: true,
            message: format!(
                "{what} is only preferred, and the configuration (require: required) counts only \
                 required terms: the scheduler may still co-locate {name}'s replicas when nodes are short"
            ),
            help: "move the term to requiredDuringSchedulingIgnoredDuringExecution (without the weight/podAffinityTerm wrapper)".into(),
        });
    }
    None
}

/// Does the term look at pods in its own namespace?
fn namespace_miss(
    term: &PodAffinityTerm,
    ptr: &dyn Display,
    what: &dyn Display,
    ns: &str,
) -> Option<Miss> {
    let names = term.namespaces.as_deref().unwrap_or(&[]);
    let sel = term.namespace_selector.as_ref();
    if names.is_empty() && sel.is_none() {
        return None; // the pod's own namespace
    }
    if names.iter().any(|n| n == ns) {
        return None;
    }
    if let Some(s) = sel {
        if selector::is_empty(s) {
            return None; // every namespace
        }
        let only_name_label = s
            .match_labels
            .iter()
            .flatten()
            .map(|(k, _)| k)
            .chain(s.match_expressions.iter().flatten().map(|r| &r.key))
            .all(|k| k == NAMESPACE_NAME_LABEL);
        let ns_labels: Labels =
            BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), ns.to_string())]);
        // other namespace labels are unknown here: give the term the benefit of the doubt
        if !only_name_label || selector::matches(s, &ns_labels) {
            return None;
        }
    }
    let (pointer, looks_at) = if !names.is_empty() {
        (
            format!("{ptr}/namespaces"),
            format!("namespaces {}", names.join(", ")),
        )
    } else {
        (
            format!("{ptr}/namespaceSelector"),
            format!(
                "namespaces selected by {}",
                selector::describe(sel.unwrap())
            ),
        )
    };
    Some(Miss {
        pointer,
        on_key: false,
        message: format!("{what} only looks at pods in {looks_at}, not in its own namespace {ns}"),
        help: format!("add {ns} to namespaces, or remove namespaces and namespaceSelector"),
    })
}

fn check_spread(
    c: &TopologySpreadConstraint,
    ptr: &dyn Display,
    labels: &Labels,
    name: &str,
    config: &Options,
) -> Option<Miss> {
    let what = lazy(|f| {
        write!(
            f,
            "the topologySpreadConstraint on {}",
            if c.topology_key.is_empty() {
                "an empty topologyKey"
            } else {
                &c.topology_key
            }
        )
    });
    if let Some(m) = selector_miss(c.label_selector.as_ref(), ptr, &what, labels) {
        return Some(m);
    }
    if !allowed_key(config, true, &c.topology_key) {
        let allowed = allowed_keys(config, true);
        return Some(Miss {
            pointer: format!("{ptr}/topologyKey"),
            on_key: false,
            message: format!(
                "{what} uses a topologyKey that is not among the allowed keys ({})",
                allowed.join(", ")
            ),
            help: format!("use topologyKey: {}", suggested_key(config)),
        });
    }
    if c.when_unsatisfiable != "DoNotSchedule" {
        return Some(Miss {
            pointer: format!("{ptr}/whenUnsatisfiable"),
            on_key: false,
            message: format!(
                "{what} has whenUnsatisfiable: {}, a soft constraint the scheduler may ignore",
                c.when_unsatisfiable
            ),
            help: format!(
                "set whenUnsatisfiable: DoNotSchedule, or add a podAntiAffinity term on {HOSTNAME} selecting {name}'s pods"
            ),
        });
    }
    if c.max_skew != 1 {
        let why = if c.max_skew < 1 {
            "which the API server rejects (it must be at least 1)".to_string()
        } else {
            format!(
                "which lets one domain hold {} more replicas than another",
                c.max_skew
            )
        };
        return Some(Miss {
            pointer: format!("{ptr}/maxSkew"),
            on_key: false,
            message: format!("{what} has maxSkew: {}, {why}", c.max_skew),
            help: "set maxSkew: 1".into(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::rules::util::testing::lint;

    fn sts(replicas: i32, pod_spec_extra: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: kafka, namespace: data}}
spec:
  replicas: {replicas}
  serviceName: kafka-hs
  selector: {{matchLabels: {{app: kafka}}}}
  template:
    metadata: {{labels: {{app: kafka, tier: broker}}}}
    spec:
      containers: [{{name: kafka, image: kafka}}]
{pod_spec_extra}
"
        )
    }

    fn required(term: &str) -> String {
        format!(
            "      affinity:\n        podAntiAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n          - {term}"
        )
    }

    fn preferred(term: &str) -> String {
        format!(
            "      affinity:\n        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n          - {{weight: 100, podAffinityTerm: {term}}}"
        )
    }

    fn spread(c: &str) -> String {
        format!("      topologySpreadConstraints:\n      - {c}")
    }

    const OWN: &str = "labelSelector: {matchLabels: {app: kafka}}";

    fn run(yaml: &str, config: &Config) -> Vec<Finding> {
        lint(&PodAntiAffinity, yaml, config)
    }

    fn ok(yaml: &str) {
        ok_with(yaml, &Config::default());
    }

    fn ok_with(yaml: &str, config: &Config) {
        let f = run(yaml, config);
        assert!(
            f.is_empty(),
            "{yaml}\n{:#?}",
            f.iter().map(|f| &f.message).collect::<Vec<_>>()
        );
    }

    fn fails(yaml: &str, text: &str) -> Finding {
        fails_with(yaml, &Config::default(), text)
    }

    fn fails_with(yaml: &str, config: &Config, text: &str) -> Finding {
        let f = run(yaml, config);
        assert_eq!(f.len(), 1, "{yaml}\n{f:#?}");
        assert!(f[0].message.contains(text), "{}", f[0].message);
        f[0].clone()
    }

    #[test]
    fn single_replica_needs_nothing() {
        ok(&sts(1, ""));
        ok(&sts(0, ""));
    }

    #[test]
    fn no_anti_affinity() {
        let f = fails(&sts(3, ""), "runs 3 replicas with no podAntiAffinity");
        assert_eq!(f.at.pointer, "/spec/replicas");
        assert!(
            f.help.contains("topologyKey: kubernetes.io/hostname"),
            "{}",
            f.help
        );
        assert!(
            f.help.contains("{matchLabels: {app: kafka, tier: broker}}"),
            "{}",
            f.help
        );
    }

    #[test]
    fn hostname_terms_pass() {
        ok(&sts(
            3,
            &required(&format!("{{{OWN}, topologyKey: {HOSTNAME}}}")),
        ));
        ok(&sts(
            3,
            &preferred(&format!("{{{OWN}, topologyKey: {HOSTNAME}}}")),
        ));
        ok(&sts(
            3,
            &required(&format!(
                "{{labelSelector: {{matchExpressions: [{{key: app, operator: In, values: [kafka]}}]}}, topologyKey: {HOSTNAME}}}"
            )),
        ));
        // own namespace named explicitly, or every namespace
        ok(&sts(
            3,
            &required(&format!(
                "{{{OWN}, namespaces: [data], topologyKey: {HOSTNAME}}}"
            )),
        ));
        ok(&sts(
            3,
            &required(&format!(
                "{{{OWN}, namespaceSelector: {{}}, topologyKey: {HOSTNAME}}}"
            )),
        ));
        ok(&sts(
            3,
            &required(&format!(
                "{{{OWN}, namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: data}}}}, topologyKey: {HOSTNAME}}}"
            )),
        ));
        // matchLabelKeys narrows to the same revision: still the own pods
        ok(&sts(
            3,
            &required(&format!(
                "{{{OWN}, matchLabelKeys: [controller-revision-hash], topologyKey: {HOSTNAME}}}"
            )),
        ));
    }

    #[test]
    fn zone_counts_only_when_required() {
        ok(&sts(
            3,
            &required(&format!("{{{OWN}, topologyKey: {ZONE}}}")),
        ));
        ok(&sts(
            3,
            &required(&format!("{{{OWN}, topologyKey: {REGION}}}")),
        ));
        let f = fails(
            &sts(3, &preferred(&format!("{{{OWN}, topologyKey: {ZONE}}}"))),
            "StatefulSet kafka: the preferred podAntiAffinity term on topology.kubernetes.io/zone spreads replicas over zones, not nodes",
        );
        assert!(
            f.at.pointer.ends_with("/podAffinityTerm/topologyKey"),
            "{}",
            f.at.pointer
        );
        fails(
            &sts(3, &required(&format!("{{{OWN}, topologyKey: rack}}"))),
            "uses a topologyKey that is not among the allowed keys",
        );
    }

    #[test]
    fn selector_that_misses_own_pods() {
        let f = fails(
            &sts(
                3,
                &required(&format!(
                    "{{labelSelector: {{matchLabels: {{app: zookeeper}}}}, topologyKey: {HOSTNAME}}}"
                )),
            ),
            "StatefulSet kafka: the required podAntiAffinity term on kubernetes.io/hostname selects app=zookeeper, which does not match its own pods (app=kafka,tier=broker)",
        );
        assert!(
            f.at.pointer
                .ends_with("/requiredDuringSchedulingIgnoredDuringExecution/0/labelSelector")
        );
        fails(
            &sts(3, &required(&format!("{{topologyKey: {HOSTNAME}}}"))),
            "has no labelSelector",
        );
        fails(
            &sts(
                3,
                &required(&format!(
                    "{{{OWN}, mismatchLabelKeys: [app], topologyKey: {HOSTNAME}}}"
                )),
            ),
            "mismatchLabelKeys",
        );
    }

    #[test]
    fn term_in_another_namespace() {
        let f = fails(
            &sts(
                3,
                &required(&format!(
                    "{{{OWN}, namespaces: [other], topologyKey: {HOSTNAME}}}"
                )),
            ),
            "only looks at pods in namespaces other, not in its own namespace data",
        );
        assert!(f.at.pointer.ends_with("/namespaces"));
        fails(
            &sts(
                3,
                &required(&format!(
                    "{{{OWN}, namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: other}}}}, topologyKey: {HOSTNAME}}}"
                )),
            ),
            "namespaces selected by kubernetes.io/metadata.name=other",
        );
        // a selector on other namespace labels might match: not reported
        ok(&sts(
            3,
            &required(&format!(
                "{{{OWN}, namespaceSelector: {{matchLabels: {{team: data}}}}, topologyKey: {HOSTNAME}}}"
            )),
        ));
    }

    #[test]
    fn a_good_term_beside_an_unrelated_one_passes() {
        let yaml = sts(
            3,
            &format!(
                "{}\n          - {{{OWN}, topologyKey: {HOSTNAME}}}",
                required(&format!(
                    "{{labelSelector: {{matchLabels: {{app: zookeeper}}}}, topologyKey: {HOSTNAME}}}"
                ))
            ),
        );
        ok(&yaml);
    }

    #[test]
    fn two_bad_terms_are_both_reported() {
        let yaml = sts(
            3,
            &format!(
                "{}\n          - {{{OWN}, topologyKey: rack}}",
                required(&format!(
                    "{{labelSelector: {{matchLabels: {{app: zookeeper}}}}, topologyKey: {HOSTNAME}}}"
                ))
            ),
        );
        let f = run(&yaml, &Config::default());
        assert_eq!(f.len(), 2);
        assert!(
            f.iter()
                .all(|f| f.message.contains("no term keeps them apart"))
        );
    }

    #[test]
    fn spread_constraints() {
        ok(&sts(
            3,
            &spread(&format!(
                "{{maxSkew: 1, topologyKey: {HOSTNAME}, whenUnsatisfiable: DoNotSchedule, {OWN}}}"
            )),
        ));
        ok(&sts(
            3,
            &spread(&format!(
                "{{maxSkew: 1, topologyKey: {ZONE}, whenUnsatisfiable: DoNotSchedule, {OWN}}}"
            )),
        ));
        fails(
            &sts(
                3,
                &spread(&format!(
                    "{{maxSkew: 1, topologyKey: {HOSTNAME}, whenUnsatisfiable: ScheduleAnyway, {OWN}}}"
                )),
            ),
            "whenUnsatisfiable: ScheduleAnyway",
        );
        fails(
            &sts(
                3,
                &spread(&format!(
                    "{{maxSkew: 2, topologyKey: {HOSTNAME}, whenUnsatisfiable: DoNotSchedule, {OWN}}}"
                )),
            ),
            "maxSkew: 2",
        );
        fails(
            &sts(
                3,
                &spread(&format!(
                    "{{maxSkew: 0, topologyKey: {HOSTNAME}, whenUnsatisfiable: DoNotSchedule, {OWN}}}"
                )),
            ),
            "maxSkew: 0, which the API server rejects",
        );
        fails(
            &sts(
                3,
                &spread(&format!(
                    "{{maxSkew: 1, topologyKey: {HOSTNAME}, whenUnsatisfiable: DoNotSchedule}}"
                )),
            ),
            "has no labelSelector",
        );
    }

    #[test]
    fn config_require_required() {
        let mut config = Config::default();
        config.set_options(
            META.code,
            Options {
                require: Require::Required,
                ..Options::default()
            },
        );
        let f = fails_with(
            &sts(
                3,
                &preferred(&format!("{{{OWN}, topologyKey: {HOSTNAME}}}")),
            ),
            &config,
            "is only preferred",
        );
        assert!(f.at.on_key);
        assert!(
            f.at.pointer
                .ends_with("/preferredDuringSchedulingIgnoredDuringExecution"),
            "{}",
            f.at.pointer
        );
        ok_with(
            &sts(3, &required(&format!("{{{OWN}, topologyKey: {HOSTNAME}}}"))),
            &config,
        );
    }

    #[test]
    fn config_topology_keys_replace_the_list() {
        let mut config = Config::default();
        config.set_options(
            META.code,
            Options {
                topology_keys: Some(vec!["rack".into()]),
                ..Options::default()
            },
        );
        ok_with(
            &sts(3, &preferred(&format!("{{{OWN}, topologyKey: rack}}"))),
            &config,
        );
        fails_with(
            &sts(3, &required(&format!("{{{OWN}, topologyKey: {HOSTNAME}}}"))),
            &config,
            "not among the configured topology-keys (rack)",
        );
        let f = fails_with(&sts(3, ""), &config, "no podAntiAffinity");
        assert!(f.help.contains("topologyKey: rack"));
    }
}
