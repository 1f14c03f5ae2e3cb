//! SL006 `deprecated-api`. The rule's documentation is its page, `rules/SL006-deprecated-api.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: needs no companion; the finding points at the object's own
//! `apiVersion`, and the help lists what else changes with the new version (read from the
//! object: a missing `spec.selector`, the `updateStrategy` default, an empty PDB selector).

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;
use crate::selector;

pub static META: RuleMeta = RuleMeta {
    code: "SL006",
    slug: "deprecated-api",
    severity: Severity::Warning,
    summary: "apps/v1beta1, apps/v1beta2 and policy/v1beta1 are removed APIs",
    page: include_str!("../../rules/SL006-deprecated-api.md"),
};

pub struct DeprecatedApi;

impl Rule for DeprecatedApi {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, object: &Arc<Object>, _cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let api = object.key.api_version.as_str();
        let kind = object.key.kind.as_str();
        let (removed_in, help) = match (kind, api) {
            ("StatefulSet", "apps/v1beta1" | "apps/v1beta2") => ("1.16", statefulset_help(object)),
            ("PodDisruptionBudget", "policy/v1beta1") => ("1.25", pdb_help(object)),
            _ => return,
        };
        out.push(
            Finding::new(
                &META,
                object,
                "/apiVersion",
                format!(
                    "{kind} {} uses {api}, which was removed in Kubernetes {removed_in}; the API \
                     server rejects it",
                    object.key.name
                ),
            )
            .help(help),
        );
    }
}

/// What to change besides the apiVersion of a beta StatefulSet.
fn statefulset_help(object: &Object) -> String {
    let mut help = String::from("use `apiVersion: apps/v1`");
    let spec = object.statefulset().and_then(|s| s.spec.as_ref());
    let template_labels = object.pod_labels().cloned().unwrap_or_default();
    // the loader fills a missing selector in from the template labels, as apps/v1beta1 did:
    // only the source tells whether one was written
    let had_selector = object
        .origin
        .as_ref()
        .is_none_or(|o| o.has("/spec/selector"));
    if !had_selector {
        if template_labels.is_empty() {
            help.push_str(
                "; apps/v1 requires `spec.selector`, and the pod template has no labels to \
                 select: add labels under `spec.template.metadata.labels` and the same pairs \
                 under `spec.selector.matchLabels`",
            );
        } else {
            help.push_str(&format!(
                "; apps/v1 requires `spec.selector`: add `selector: {{matchLabels: {{{}}}}}` \
                 under `spec` (the template labels{})",
                flow_map(&template_labels),
                if object.key.api_version == "apps/v1beta1" {
                    ", which apps/v1beta1 used by default"
                } else {
                    ""
                }
            ));
        }
    } else if let Some(sel) = spec.map(|s| &s.selector) {
        if selector::is_empty(sel) {
            help.push_str(
                "; apps/v1 rejects an empty `spec.selector`: set `matchLabels` to the pod \
                 template labels",
            );
        } else if !selector::matches(sel, &template_labels) {
            help.push_str(&format!(
                "; `spec.selector` ({}) does not select the pod template labels ({}), which \
                 apps/v1 rejects: make the template carry the selected labels",
                selector::describe(sel),
                selector::describe_map(&template_labels)
            ));
        }
    }
    let had_strategy = object
        .origin
        .as_ref()
        .is_none_or(|o| o.has("/spec/updateStrategy"));
    if object.key.api_version == "apps/v1beta1" && !had_strategy {
        help.push_str(
            "; apps/v1beta1 defaulted `updateStrategy` to OnDelete, apps/v1 defaults to \
             RollingUpdate (a template change then restarts the pods one by one): add \
             `updateStrategy: {type: OnDelete}` to keep updating pods by hand",
        );
    }
    help
}

/// What to change besides the apiVersion of a policy/v1beta1 PDB.
fn pdb_help(object: &Object) -> String {
    let mut help = String::from("use `apiVersion: policy/v1`");
    let sel = object
        .pdb()
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.selector.as_ref());
    if sel.is_some_and(selector::is_empty) {
        help.push_str(&format!(
            "; careful: its empty selector `{{}}` selects no pods under policy/v1beta1 but \
             every pod of namespace {} under policy/v1, so the budget would start to cover \
             (and block evictions of) all of them: write the labels of the pods it should \
             protect under `spec.selector.matchLabels`",
            object.key.namespace
        ));
    }
    help
}

/// `{a: b, c: d}` for a label map.
fn flow_map(labels: &crate::object::Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn run(yaml: &str) -> Vec<Finding> {
        crate::rules::util::testing::lint(&DeprecatedApi, yaml, &Config::default())
    }

    const STS: &str = "kind: StatefulSet
metadata: {name: zk}
spec:
  template:
    metadata:
      labels: {app: zk}
";

    #[test]
    fn v1beta1_without_selector_gets_the_selector_to_add() {
        let f = run(&format!("apiVersion: apps/v1beta1\n{STS}"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].at.pointer, "/apiVersion");
        assert!(f[0].message.contains("apps/v1beta1"), "{}", f[0].message);
        assert!(
            f[0].help.contains("selector: {matchLabels: {app: zk}}"),
            "{}",
            f[0].help
        );
        assert!(f[0].help.contains("OnDelete"), "{}", f[0].help);
    }

    #[test]
    fn v1beta2_with_matching_selector_only_needs_the_version() {
        let yaml = "apiVersion: apps/v1beta2
kind: StatefulSet
metadata: {name: zk}
spec:
  selector: {matchLabels: {app: zk}}
  template:
    metadata:
      labels: {app: zk, tier: db}
";
        let f = run(yaml);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].help, "use `apiVersion: apps/v1`");
    }

    #[test]
    fn selector_missing_the_template_labels_is_called_out() {
        let yaml = "apiVersion: apps/v1beta1
kind: StatefulSet
metadata: {name: s}
spec:
  updateStrategy: {type: RollingUpdate}
  selector: {matchLabels: {app: foo}}
  template:
    spec:
      containers: [{name: c, image: i}]
";
        let f = run(yaml);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].help
                .contains("does not select the pod template labels"),
            "{}",
            f[0].help
        );
        assert!(!f[0].help.contains("OnDelete"), "{}", f[0].help);
    }

    #[test]
    fn template_without_labels_and_no_selector() {
        let f = run("apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata: {name: s}\nspec: {}\n");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].help.contains("has no labels to select"),
            "{}",
            f[0].help
        );
    }

    #[test]
    fn current_versions_pass() {
        let f = run(&format!(
            "apiVersion: apps/v1\n{STS}---\napiVersion: policy/v1\nkind: PodDisruptionBudget\n\
             metadata: {{name: p}}\nspec: {{selector: {{}}, minAvailable: 1}}\n"
        ));
        assert!(f.is_empty());
    }

    #[test]
    fn legacy_pdb_with_empty_selector_warns_about_the_semantics() {
        let yaml = "apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: p, namespace: data}
spec: {selector: {}, minAvailable: 1}
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: q}
spec: {selector: {matchLabels: {app: zk}}, minAvailable: 1}
";
        let f = run(yaml);
        assert_eq!(f.len(), 2);
        assert!(
            f[0].help.contains("every pod of namespace data"),
            "{}",
            f[0].help
        );
        assert_eq!(f[1].help, "use `apiVersion: policy/v1`");
    }

    #[test]
    fn other_kinds_in_beta_groups_are_not_this_rules_business() {
        let f = run("apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: d}\n");
        assert!(f.is_empty());
    }
}
