//! SL010 `dangling-pod-affinity`. The rule's documentation is its page, `rules/SL010-dangling-pod-affinity.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: every `podAffinity` term ([`Object::affinity_terms`]) is resolved
//! against [`Companions::workloads_selecting`] in the namespaces it names (`namespaces`, else the
//! StatefulSet's own; `namespaceSelector: {}` = all). Terms that cannot be resolved from files
//! (a non-empty `namespaceSelector`, controller-added labels) are skipped; a term selecting the
//! StatefulSet's own pods passes. The help lists near-miss label values from
//! [`Companions::pod_label_values`].
//!
//! [`Object::affinity_terms`]: crate::object::Object::affinity_terms
//! [`Companions::workloads_selecting`]: crate::catalog::Companions::workloads_selecting
//! [`Companions::pod_label_values`]: crate::catalog::Companions::pod_label_values

use std::sync::Arc;

use k8s_openapi::api::core::v1::PodAffinityTerm;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::util::join_and;
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::Kind;
use crate::object::{Affinity, Labels, Object};
use crate::selector;

pub static META: RuleMeta = RuleMeta {
    code: "SL010",
    slug: "dangling-pod-affinity",
    severity: Severity::Warning,
    summary: "podAffinity terms select pods of some workload",
    page: include_str!("../../rules/SL010-dangling-pod-affinity.md"),
};

/// Labels controllers add to the pods they create; a selector using them cannot be checked
/// against pod templates.
const CONTROLLER_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "job-name",
    "controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

/// How many near-miss label values a help names, per label.
const NEAR_MISSES: usize = 3;

pub struct DanglingPodAffinity;

impl Rule for DanglingPodAffinity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Workload]
    }

    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if object.statefulset().is_none() {
            return;
        }
        for t in object.affinity_terms(Affinity::Pod) {
            if let Some(f) = check_term(object, cx, t.term, t.required, &t.pointer.to_string()) {
                out.push(f);
            }
        }
    }
}

/// The namespaces a term looks in.
enum Scope {
    All,
    Names(Vec<String>),
}

fn check_term(
    object: &Arc<Object>,
    cx: &Ctx<'_>,
    term: &PodAffinityTerm,
    required: bool,
    pointer: &str,
) -> Option<Finding> {
    let scope = match &term.namespace_selector {
        Some(s) if selector::is_empty(s) => Scope::All,
        // namespace labels are not in the files
        Some(_) => return None,
        None => match term.namespaces.as_deref() {
            Some(names) if !names.is_empty() => Scope::Names(names.to_vec()),
            _ => Scope::Names(vec![object.key.namespace.clone()]),
        },
    };
    let own_labels = object.pod_labels().cloned().unwrap_or_default();
    let kind = if required { "required" } else { "preferred" };
    let name = &object.key.name;
    let effect = if required {
        "the scheduler can never place its pods (they stay Pending)"
    } else {
        "the preference does nothing"
    };

    let Some(sel) = &term.label_selector else {
        return Some(
            Finding::new(
                &META,
                object,
                format!("{pointer}/topologyKey"),
                format!(
                    "StatefulSet {name}: a {kind} podAffinity term has no labelSelector, so it \
                     selects no pods; {effect}"
                ),
            )
            .on_key()
            .help("add a `labelSelector` matching the pods to co-locate with, or remove the term"),
        );
    };
    let sel = effective_selector(sel, term, &own_labels);
    if selector::validate(&sel).is_err() || uses_controller_labels(&sel) {
        return None;
    }
    let in_scope = |ns: &str| match &scope {
        Scope::All => true,
        Scope::Names(n) => n.iter().any(|x| x == ns),
    };
    // self-affinity: its own pods satisfy the term
    if in_scope(&object.key.namespace) && selector::matches(&sel, &own_labels) {
        return None;
    }
    let selected = match &scope {
        Scope::All => !cx.companions.workloads_selecting(None, &sel).is_empty(),
        Scope::Names(names) => names
            .iter()
            .any(|ns| !cx.companions.workloads_selecting(Some(ns), &sel).is_empty()),
    };
    if selected {
        return None;
    }

    let described = selector::describe(&sel);
    let where_ = match &scope {
        Scope::All => "any namespace".to_string(),
        Scope::Names(n) if n.len() == 1 => format!("namespace {}", n[0]),
        Scope::Names(n) => format!("namespaces {}", join_and(n)),
    };
    let mut help = Vec::new();
    // the pods exist, in a namespace the term does not name
    if let Scope::Names(names) = &scope {
        let mut elsewhere: Vec<String> = cx
            .companions
            .workloads_selecting(None, &sel)
            .iter()
            .map(|w| w.key.namespace.clone())
            .collect();
        elsewhere.sort();
        elsewhere.dedup();
        if !elsewhere.is_empty() {
            let mut all = names.clone();
            all.extend(elsewhere.iter().cloned());
            help.push(format!(
                "pods matching it run in namespace{} {}: list {} in the term, \
                 `namespaces: [{}]`",
                if elsewhere.len() == 1 { "" } else { "s" },
                join_and(&elsewhere),
                if elsewhere.len() == 1 { "it" } else { "them" },
                all.join(", ")
            ));
        }
    }
    if help.is_empty() {
        // near misses: the values the selected label keys do have in the named namespaces
        let names: &[String] = match &scope {
            Scope::All => &[],
            Scope::Names(names) => names,
        };
        let mut near = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            let mut seen: Vec<String> = names
                .iter()
                .flat_map(|ns| cx.companions.pod_label_values(ns, k, NEAR_MISSES + 2))
                .filter(|(have, _)| have != v && own_labels.get(k) != Some(have))
                .map(|(have, w)| format!("{k}={have} ({} {})", w.key.kind, w.key.name))
                .collect();
            seen.sort();
            seen.dedup();
            seen.truncate(NEAR_MISSES);
            near.extend(seen);
        }
        if !near.is_empty() {
            help.push(format!(
                "pods in {where_} carry {}: fix the labelSelector to match the pods to \
                 co-locate with",
                join_and(&near)
            ));
        } else {
            help.push(
                "fix the labelSelector to match the pods to co-locate with (and name their \
                 namespace under `namespaces`), or remove the term"
                    .into(),
            );
        }
    }
    help.push(
        "if those pods are deployed from elsewhere, pass their manifests with `--context`".into(),
    );
    Some(
        Finding::new(
            &META,
            object,
            format!("{pointer}/labelSelector"),
            format!(
                "StatefulSet {name}: a {kind} podAffinity term selects no pods: no workload in \
                 {where_} has pods labelled {described}; {effect}"
            ),
        )
        .on_key()
        .help(help.join("; ")),
    )
}

/// The term's selector with `matchLabelKeys` (`key in (own value)`) and `mismatchLabelKeys`
/// (`key notin (own value)`) merged in, as the API server does.
fn effective_selector(sel: &LabelSelector, term: &PodAffinityTerm, own: &Labels) -> LabelSelector {
    let mut sel = sel.clone();
    let mut add = |keys: &Option<Vec<String>>, op: &str| {
        for k in keys.iter().flatten() {
            if let Some(v) = own.get(k) {
                sel.match_expressions
                    .get_or_insert_with(Vec::new)
                    .push(LabelSelectorRequirement {
                        key: k.clone(),
                        operator: op.into(),
                        values: Some(vec![v.clone()]),
                    });
            }
        }
    };
    add(&term.match_label_keys, "In");
    add(&term.mismatch_label_keys, "NotIn");
    sel
}

fn uses_controller_labels(sel: &LabelSelector) -> bool {
    sel.match_labels
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .chain(sel.match_expressions.iter().flatten().map(|r| &r.key))
        .any(|k| CONTROLLER_LABELS.contains(&k.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn run(yaml: &str) -> Vec<Finding> {
        crate::rules::util::testing::lint(&DanglingPodAffinity, yaml, &Config::default())
    }

    /// Kafka in namespace `data` with one podAffinity entry (`terms`, indented 10).
    fn kafka(terms: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: kafka, namespace: data}}
spec:
  selector: {{matchLabels: {{app: kafka}}}}
  template:
    metadata: {{labels: {{app: kafka, tier: broker}}}}
    spec:
      containers: [{{name: k, image: kafka}}]
      affinity:
        podAffinity:
{terms}---
"
        )
    }

    fn zk(ns: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: zk, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: zk}}}}
  template:
    metadata: {{labels: {{app: zk}}}}
    spec:
      containers: [{{name: z, image: zookeeper}}]
---
"
        )
    }

    fn required(term: &str) -> String {
        format!(
            "          requiredDuringSchedulingIgnoredDuringExecution:\n          - topologyKey: kubernetes.io/hostname\n            {term}\n"
        )
    }

    #[test]
    fn matching_workload_in_own_namespace_passes() {
        let y = kafka(&required("labelSelector: {matchLabels: {app: zk}}")) + &zk("data");
        assert!(run(&y).is_empty());
    }

    #[test]
    fn typo_is_reported_with_the_near_miss() {
        let y = kafka(&required("labelSelector: {matchLabels: {app: zookeeper}}")) + &zk("data");
        let f = run(&y);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].at.pointer,
            "/spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/0/labelSelector"
        );
        assert!(f[0].message.contains("required"), "{}", f[0].message);
        assert!(f[0].message.contains("app=zookeeper"), "{}", f[0].message);
        assert!(f[0].message.contains("Pending"), "{}", f[0].message);
        assert!(
            f[0].help.contains("app=zk (StatefulSet zk)"),
            "{}",
            f[0].help
        );
    }

    #[test]
    fn pods_in_another_namespace_suggest_namespaces() {
        let y = kafka(&required("labelSelector: {matchLabels: {app: zk}}")) + &zk("zoo");
        let f = run(&y);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].help.contains("`namespaces: [data, zoo]`"),
            "{}",
            f[0].help
        );
        // naming it passes
        let y = kafka(&required(
            "labelSelector: {matchLabels: {app: zk}}\n            namespaces: [zoo]",
        )) + &zk("zoo");
        assert!(run(&y).is_empty());
        // so does the empty namespaceSelector (all namespaces)
        let y = kafka(&required(
            "labelSelector: {matchLabels: {app: zk}}\n            namespaceSelector: {}",
        )) + &zk("zoo");
        assert!(run(&y).is_empty());
    }

    #[test]
    fn namespace_selector_with_labels_is_skipped() {
        let y = kafka(&required(
            "labelSelector: {matchLabels: {app: nope}}\n            namespaceSelector: {matchLabels: {team: a}}",
        ));
        assert!(run(&y).is_empty());
    }

    #[test]
    fn self_affinity_is_satisfied_by_its_own_pods() {
        let y = kafka(&required("labelSelector: {matchLabels: {tier: broker}}"));
        assert!(run(&y).is_empty());
        // ... but not when the term names another namespace only
        let y = kafka(&required(
            "labelSelector: {matchLabels: {tier: broker}}\n            namespaces: [other]",
        ));
        assert_eq!(run(&y).len(), 1);
    }

    #[test]
    fn preferred_terms_and_expressions() {
        let y = kafka(
            "          preferredDuringSchedulingIgnoredDuringExecution:\n          - weight: 50\n            podAffinityTerm:\n              topologyKey: kubernetes.io/hostname\n              labelSelector:\n                matchExpressions: [{key: app, operator: In, values: [cache, web]}]\n",
        ) + "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: data}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n";
        assert!(run(&y).is_empty());
        let y = y.replace("web]", "db]");
        let f = run(&y);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("preferred"), "{}", f[0].message);
        assert!(f[0].message.contains("does nothing"), "{}", f[0].message);
        assert!(
            f[0].at
                .pointer
                .ends_with("/0/podAffinityTerm/labelSelector"),
            "{}",
            f[0].at.pointer
        );
    }

    #[test]
    fn missing_label_selector_selects_nothing() {
        let f = run(&kafka(&required("namespaces: [data]")));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("no labelSelector"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn controller_labels_are_not_judged() {
        let y = kafka(&required(
            "labelSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: zk-0}}",
        ));
        assert!(run(&y).is_empty());
    }

    #[test]
    fn match_label_keys_use_own_labels() {
        // tier in (broker) is added: zk pods do not carry it
        let y = kafka(&required(
            "labelSelector: {matchLabels: {app: zk}}\n            matchLabelKeys: [tier]",
        )) + &zk("data");
        assert_eq!(run(&y).len(), 1);
    }

    #[test]
    fn jobs_and_cronjobs_count() {
        let y = kafka(&required("labelSelector: {matchLabels: {app: backup}}"))
            + "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: b, namespace: data}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: backup}}\n";
        assert!(run(&y).is_empty());
    }
}
