//! SL002 `pdb-quorum`. The rule's documentation is its page, `rules/SL002-pdb-quorum.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: reads the PDBs selecting the pod template labels
//! ([`Companions::pdbs_selecting`], which applies the `policy/v1beta1` empty-selector rule); the
//! same budget written twice counts once. `minAvailable`/`maxUnavailable` are validated as the
//! API server does before quorum (floor(n/2)+1, [`super::util::quorum`]) is compared. The
//! webhook asks this rule what a PDB change or DELETE breaks ([`Rule::concerns`],
//! [`Rule::removal_breaks`]).
//!
//! [`Companions::pdbs_selecting`]: crate::catalog::Companions::pdbs_selecting

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::util::{join_and, percent_of_round_up, present, quorum, yaml_map, yaml_scalar};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::{Companions, Kind};
use crate::object::{Labels, Object};
use crate::selector::describe_map;

pub static META: RuleMeta = RuleMeta {
    code: "SL002",
    slug: "pdb-quorum",
    severity: Severity::Error,
    summary: "exactly one PodDisruptionBudget selects the pods and keeps a quorum available",
    page: include_str!("../../rules/SL002-pdb-quorum.md"),
};

pub struct PdbQuorum;

/// A valid `minAvailable` / `maxUnavailable` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Amount {
    Count(i64),
    Percent(i64),
}

impl Amount {
    /// Parse an IntOrString as the API server validates it: a non-negative integer, or a
    /// string `N%` with 0 <= N <= 100.
    fn parse(v: &IntOrString) -> Result<Amount, String> {
        match v {
            IntOrString::Int(i) if *i < 0 => Err(format!("{i} is negative")),
            IntOrString::Int(i) => Ok(Amount::Count(i64::from(*i))),
            IntOrString::String(s) => {
                let digits = s.strip_suffix('%');
                match digits {
                    Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                        match d.parse::<i64>() {
                            Ok(p) if p <= 100 => Ok(Amount::Percent(p)),
                            _ => Err(format!("\"{s}\" is more than 100%")),
                        }
                    }
                    _ if s.trim().parse::<i64>().is_ok() => Err(format!(
                        "\"{s}\" is a string, and a string must be a percentage such as \"50%\""
                    )),
                    _ => Err(format!(
                        "{} is neither an integer nor a percentage such as \"50%\"",
                        serde_json::Value::from(s.as_str())
                    )),
                }
            }
        }
    }

    /// The number of pods out of `n`, rounding percentages up like the disruption controller.
    fn of(self, n: i32) -> i64 {
        match self {
            Amount::Count(c) => c,
            Amount::Percent(p) => percent_of_round_up(p, n),
        }
    }

    /// `" of 4 = 2"` / `" of 5 = 3, rounded up"` for percentages, `""` for counts.
    fn explain(self, n: i32) -> String {
        match self {
            Amount::Count(_) => String::new(),
            Amount::Percent(p) if (p * i64::from(n)) % 100 == 0 => {
                format!(" of {n} = {}", self.of(n))
            }
            Amount::Percent(_) => format!(" of {n} = {}, rounded up", self.of(n)),
        }
    }
}

impl Rule for PdbQuorum {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::PodDisruptionBudget]
    }

    fn concerns(&self, sts: &Object, pdb: &Object) -> bool {
        sts.pod_labels().is_some_and(|l| pdb.pdb_selects(l))
    }

    /// Deleting the only PDB of a StatefulSet leaves drains free to evict its quorum.
    fn removal_breaks(
        &self,
        sts: &Arc<Object>,
        pdb: &Arc<Object>,
        cx: &Ctx<'_>,
    ) -> Option<Finding> {
        let labels = sts.pod_labels()?;
        if !pdb.pdb_selects(labels) {
            return None;
        }
        let name = &pdb.key.name;
        let all = cx.companions.pdbs_selecting(&sts.key.namespace, labels);
        if !all.iter().all(|p| &p.key.name == name) {
            return None;
        }
        let n = sts.replicas();
        Some(
            Finding::new(
                &META,
                sts,
                "",
                format!(
                    "PodDisruptionBudget {name} is the only PodDisruptionBudget of StatefulSet {}; \
                     without it a node drain may evict {n} of its {n} pods at once and lose quorum",
                    sts.key.name
                ),
            )
            .help(format!(
                "delete StatefulSet {} first, or create its replacement PodDisruptionBudget before \
                 deleting this one",
                sts.key.name
            )),
        )
    }

    fn companion_missing(&self, sts: &Object, view: &dyn Companions) -> bool {
        sts.pod_labels()
            .is_some_and(|l| view.pdbs_selecting(&sts.key.namespace, l).is_empty())
    }

    fn check(&self, obj: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if obj.statefulset().is_none() {
            return;
        }
        let name = &obj.key.name;
        let ns = &obj.key.namespace;
        let empty = Labels::new();
        let labels = obj.pod_labels().unwrap_or(&empty);
        let n = obj.replicas();
        let mut pdbs = cx.companions.pdbs_selecting(ns, labels);
        // the same budget written twice (two files, an overlay) is one object in the cluster
        let mut seen = std::collections::HashSet::new();
        pdbs.retain(|p| seen.insert(p.key.name.clone()));
        match pdbs.as_slice() {
            [] => out.push(missing(obj, labels, n)),
            [pdb] => check_budget(obj, pdb, n, out),
            [first, rest @ ..] => {
                let names: Vec<String> = pdbs.iter().map(|p| p.key.name.clone()).collect();
                let mut f = Finding::new(
                    &META,
                    obj,
                    "/metadata/name",
                    format!(
                        "{} PodDisruptionBudgets select the pods of StatefulSet {name}: {}; the \
                         eviction API refuses to evict a pod covered by more than one budget, so \
                         node drains fail",
                        pdbs.len(),
                        join_and(&names)
                    ),
                )
                .at(first, "/spec/selector")
                .help(
                    "keep exactly one PodDisruptionBudget for these pods: delete the others or \
                     narrow their selectors",
                );
                for p in rest {
                    f = f.note(
                        p,
                        "/spec/selector",
                        format!("PodDisruptionBudget {} also selects them", p.key.name),
                    );
                }
                out.push(f);
            }
        }
    }
}

/// The value a new budget should use for `n` replicas.
fn suggested(n: i32) -> String {
    if n >= 3 {
        format!("maxUnavailable: {}", n - quorum(n))
    } else {
        format!("minAvailable: {}", quorum(n).max(1))
    }
}

/// The loosest value of `field` that keeps a quorum of `n`.
fn same_field(field: &str, n: i32) -> String {
    if field == "minAvailable" {
        format!("minAvailable: {}", quorum(n))
    } else {
        format!("maxUnavailable: {}", n - quorum(n))
    }
}

fn missing(obj: &Arc<Object>, labels: &Labels, n: i32) -> Finding {
    let name = &obj.key.name;
    let ns = &obj.key.namespace;
    let match_labels = obj
        .statefulset()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.selector.match_labels.as_ref())
        .filter(|m| !m.is_empty())
        .unwrap_or(labels);
    Finding::new(
        &META,
        obj,
        "/metadata/name",
        format!(
            "no PodDisruptionBudget in namespace {ns} selects the pods of StatefulSet {name} ({}): \
             a node drain may evict several replicas at once and break quorum",
            describe_map(labels)
        ),
    )
    .help(format!(
        "create a PodDisruptionBudget and apply it before the StatefulSet (within one \
         `kubectl apply -f` file, put it above the StatefulSet): {{apiVersion: policy/v1, \
         kind: PodDisruptionBudget, metadata: {{name: {}, namespace: {}}}, spec: {{{}, \
         selector: {{matchLabels: {}}}}}}}",
        yaml_scalar(&format!("{name}-pdb")),
        yaml_scalar(ns),
        suggested(n),
        yaml_map(match_labels)
    ))
}

fn check_budget(obj: &Arc<Object>, pdb: &Arc<Object>, n: i32, out: &mut Vec<Finding>) {
    let Some(spec) = pdb.pdb().and_then(|p| p.spec.as_ref()) else {
        return;
    };
    let name = &obj.key.name;
    let pdb_name = &pdb.key.name;
    let q = quorum(n);
    let replicas_note = |f: Finding| {
        if obj.origin.is_some() && present(obj, "/spec/replicas") {
            f.note(
                obj,
                "/spec/replicas",
                format!("{n} replicas: quorum is {q}"),
            )
        } else {
            f
        }
    };
    let finding =
        |ptr: &str, msg: String| Finding::new(&META, obj, "/metadata/name", msg).at(pdb, ptr);

    let (field, ptr, value) = match (&spec.min_available, &spec.max_unavailable) {
        (Some(_), Some(_)) => {
            out.push(
                finding(
                    "/spec/maxUnavailable",
                    format!(
                        "PodDisruptionBudget {pdb_name} sets both minAvailable and maxUnavailable; \
                         the API server rejects it"
                    ),
                )
                .on_key()
                .help(format!("keep one of them: {}", suggested(n))),
            );
            return;
        }
        (Some(v), None) => ("minAvailable", "/spec/minAvailable", v.clone()),
        (None, Some(v)) => ("maxUnavailable", "/spec/maxUnavailable", v.clone()),
        (None, None) if pdb.is_legacy_pdb() => {
            // policy/v1beta1 defaults minAvailable to 1
            ("minAvailable", "/spec", IntOrString::Int(1))
        }
        (None, None) => {
            if n > 0 {
                out.push(replicas_note(
                    finding(
                        "/spec",
                        format!(
                            "PodDisruptionBudget {pdb_name} sets neither minAvailable nor \
                             maxUnavailable, so it allows all {n} pods of StatefulSet {name} to \
                             be evicted; quorum needs minAvailable >= {q}"
                        ),
                    )
                    .on_key()
                    .help(format!(
                        "set {} in PodDisruptionBudget {pdb_name}",
                        suggested(n)
                    )),
                ));
            }
            return;
        }
    };
    let amount = match Amount::parse(&value) {
        Ok(a) => a,
        Err(why) => {
            out.push(
                finding(
                    ptr,
                    format!(
                        "PodDisruptionBudget {pdb_name} has an invalid {field}: {why}; the API \
                         server rejects it"
                    ),
                )
                .help(format!(
                    "use an integer >= 0 or a percentage from \"0%\" to \"100%\", e.g. {}",
                    suggested(n)
                )),
            );
            return;
        }
    };
    if n <= 0 {
        return; // scaled to zero: nothing to keep available
    }
    let defaulted = if ptr == "/spec" {
        " (policy/v1beta1 defaults minAvailable to 1)"
    } else {
        ""
    };
    let (available, evictable) = if field == "minAvailable" {
        let m = amount.of(n);
        (m, (i64::from(n) - m).clamp(0, i64::from(n)))
    } else {
        let u = amount.of(n).min(i64::from(n));
        (i64::from(n) - u, u)
    };
    let value_text = match &value {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if available < i64::from(q) {
        let need = if field == "minAvailable" {
            format!("minAvailable >= {q}")
        } else {
            format!("maxUnavailable <= {}", n - q)
        };
        let mut f = replicas_note(
            finding(
                ptr,
                format!(
                    "PodDisruptionBudget {pdb_name} allows {evictable} of {n} pods of StatefulSet \
                     {name} to be evicted ({field}: {value_text}{}){defaulted}; quorum needs {need}",
                    amount.explain(n)
                ),
            )
            .help(format!(
                "set {} in PodDisruptionBudget {pdb_name}, so that a majority of the {n} replicas \
                 stays up while nodes are drained",
                same_field(field, n)
            )),
        );
        if !present(pdb, ptr) {
            f = f.on_key();
        }
        out.push(f);
    } else if evictable == 0 && n >= 3 {
        out.push(replicas_note(
            finding(
                ptr,
                format!(
                    "PodDisruptionBudget {pdb_name} allows no pod of StatefulSet {name} to be \
                     evicted ({field}: {value_text}{}, with {n} replicas): node drains block until \
                     someone deletes a pod by hand",
                    amount.explain(n)
                ),
            )
            .severity(Severity::Warning)
            .help(format!(
                "set {} in PodDisruptionBudget {pdb_name}: it keeps a quorum of {q} up and lets \
                 drains proceed",
                same_field(field, n)
            )),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::util::testing::{lint, messages};

    fn sts(replicas: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: kafka}}
spec:
  {replicas}
  serviceName: kafka-hs
  selector: {{matchLabels: {{app: kafka}}}}
  template:
    metadata: {{labels: {{app: kafka}}}}
    spec: {{containers: [{{name: kafka, image: kafka}}]}}
"
        )
    }

    fn pdb(name: &str, spec: &str) -> String {
        format!(
            "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}}}\nspec: {spec}\n"
        )
    }

    fn check(replicas: &str, spec: &str) -> Vec<Finding> {
        lint(
            &PdbQuorum,
            &(sts(replicas) + &pdb("kafka-pdb", spec)),
            &Default::default(),
        )
    }

    fn ok(replicas: &str, spec: &str) {
        let f = check(replicas, spec);
        assert!(
            f.is_empty(),
            "{replicas} {spec}: {:?}",
            f.iter().map(|f| &f.message).collect::<Vec<_>>()
        );
    }

    fn fails(replicas: &str, spec: &str, text: &str) -> Finding {
        let f = check(replicas, spec);
        assert_eq!(f.len(), 1, "{replicas} {spec}: {f:#?}");
        assert!(f[0].message.contains(text), "{}", f[0].message);
        f[0].clone()
    }

    const SEL: &str = "selector: {matchLabels: {app: kafka}}";

    #[test]
    fn amounts_parse_like_the_api_server() {
        use Amount::*;
        let s = |x: &str| Amount::parse(&IntOrString::String(x.into()));
        assert_eq!(Amount::parse(&IntOrString::Int(2)), Ok(Count(2)));
        assert_eq!(s("50%"), Ok(Percent(50)));
        assert_eq!(s("0%"), Ok(Percent(0)));
        assert_eq!(s("100%"), Ok(Percent(100)));
        assert!(s("150%").unwrap_err().contains("more than 100%"));
        assert!(
            s("99999999999999999999999%")
                .unwrap_err()
                .contains("more than 100%")
        );
        assert!(s("2").unwrap_err().contains("is a string"));
        assert!(s("two").unwrap_err().contains("neither"));
        assert!(s("%").is_err());
        assert!(s("-5%").is_err());
        assert!(s("").is_err());
        assert!(
            Amount::parse(&IntOrString::Int(-1))
                .unwrap_err()
                .contains("negative")
        );
        assert_eq!(Percent(50).of(3), 2);
        assert_eq!(Percent(34).of(3), 2);
    }

    #[test]
    fn budgets_that_keep_quorum_pass() {
        ok("replicas: 3", &format!("{{minAvailable: 2, {SEL}}}"));
        ok("replicas: 3", &format!("{{maxUnavailable: 1, {SEL}}}"));
        ok("replicas: 3", &format!("{{minAvailable: 50%, {SEL}}}"));
        ok("replicas: 5", &format!("{{maxUnavailable: 40%, {SEL}}}"));
        ok("replicas: 5", &format!("{{minAvailable: 3, {SEL}}}"));
        // replicas default to 1: quorum 1
        ok("", &format!("{{minAvailable: 1, {SEL}}}"));
        // 2 replicas need both up: zero disruptions is what quorum demands, no warning
        ok("replicas: 2", &format!("{{minAvailable: 2, {SEL}}}"));
        // an empty policy/v1 selector selects every pod of the namespace
        ok("replicas: 3", "{maxUnavailable: 1, selector: {}}");
        // matchExpressions
        ok(
            "replicas: 3",
            "{maxUnavailable: 1, selector: {matchExpressions: [{key: app, operator: In, values: [kafka, zk]}]}}",
        );
    }

    #[test]
    fn min_available_below_quorum() {
        let f = fails(
            "replicas: 3",
            &format!("{{minAvailable: 1, {SEL}}}"),
            "PodDisruptionBudget kafka-pdb allows 2 of 3 pods of StatefulSet kafka to be evicted (minAvailable: 1); quorum needs minAvailable >= 2",
        );
        assert_eq!(f.at.pointer, "/spec/minAvailable");
        assert_eq!(f.at.object.key.name, "kafka-pdb");
        assert_eq!(f.notes.len(), 1);
        fails(
            "replicas: 4",
            &format!("{{minAvailable: 50%, {SEL}}}"),
            "allows 2 of 4 pods of StatefulSet kafka to be evicted (minAvailable: 50% of 4 = 2); quorum needs minAvailable >= 3",
        );
        fails(
            "replicas: 3",
            &format!("{{minAvailable: 0, {SEL}}}"),
            "allows 3 of 3",
        );
    }

    #[test]
    fn max_unavailable_below_quorum() {
        fails(
            "replicas: 3",
            &format!("{{maxUnavailable: 2, {SEL}}}"),
            "allows 2 of 3 pods of StatefulSet kafka to be evicted (maxUnavailable: 2); quorum needs maxUnavailable <= 1",
        );
        fails(
            "replicas: 5",
            &format!("{{maxUnavailable: 50%, {SEL}}}"),
            "allows 3 of 5",
        );
        fails(
            "replicas: 3",
            &format!("{{maxUnavailable: 10, {SEL}}}"),
            "allows 3 of 3",
        );
    }

    #[test]
    fn zero_disruptions_is_a_warning_from_three_replicas() {
        let f = fails(
            "replicas: 3",
            &format!("{{minAvailable: 3, {SEL}}}"),
            "allows no pod of StatefulSet kafka to be evicted",
        );
        assert_eq!(f.severity, Severity::Warning);
        let f = fails(
            "replicas: 5",
            &format!("{{maxUnavailable: 0, {SEL}}}"),
            "allows no pod",
        );
        assert_eq!(f.severity, Severity::Warning);
        let f = fails(
            "replicas: 3",
            &format!("{{minAvailable: 100%, {SEL}}}"),
            "allows no pod",
        );
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(
            fails(
                "replicas: 3",
                &format!("{{minAvailable: 7, {SEL}}}"),
                "allows no pod"
            )
            .severity,
            Severity::Warning
        );
    }

    #[test]
    fn bad_values_are_findings_not_panics() {
        fails(
            "replicas: 3",
            &format!("{{minAvailable: 150%, {SEL}}}"),
            "invalid minAvailable: \"150%\" is more than 100%",
        );
        fails(
            "replicas: 3",
            &format!("{{maxUnavailable: -1, {SEL}}}"),
            "invalid maxUnavailable: -1 is negative",
        );
        fails(
            "replicas: 3",
            &format!("{{minAvailable: \"2\", {SEL}}}"),
            "is a string",
        );
        fails(
            "replicas: 3",
            &format!("{{minAvailable: two, {SEL}}}"),
            "neither an integer nor a percentage",
        );
        fails(
            "replicas: 3",
            &format!("{{minAvailable: 2, maxUnavailable: 1, {SEL}}}"),
            "sets both",
        );
    }

    #[test]
    fn no_values_set() {
        fails("replicas: 3", &format!("{{{SEL}}}"), "sets neither");
        // policy/v1beta1 defaults minAvailable to 1
        let yaml = sts("replicas: 3")
            + &pdb("kafka-pdb", &format!("{{{SEL}}}")).replace("policy/v1", "policy/v1beta1");
        let m = messages(&PdbQuorum, &yaml);
        assert_eq!(m.len(), 1);
        assert!(m[0].contains("allows 2 of 3"), "{}", m[0]);
        assert!(m[0].contains("defaults minAvailable to 1"), "{}", m[0]);
    }

    #[test]
    fn missing_budget() {
        let m = messages(&PdbQuorum, &sts("replicas: 3"));
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("no PodDisruptionBudget in namespace default selects the pods of StatefulSet kafka (app=kafka)"));
        // a budget for other pods, or in another namespace, does not count
        let yaml = sts("replicas: 3")
            + &pdb(
                "other",
                "{maxUnavailable: 1, selector: {matchLabels: {app: zk}}}",
            )
            + &pdb("kafka-pdb", &format!("{{maxUnavailable: 1, {SEL}}}"))
                .replace("name: kafka-pdb", "name: kafka-pdb, namespace: other");
        assert_eq!(messages(&PdbQuorum, &yaml).len(), 1);
        // an empty policy/v1beta1 selector selects nothing
        let yaml = sts("replicas: 3")
            + &pdb("all", "{maxUnavailable: 1, selector: {}}")
                .replace("policy/v1", "policy/v1beta1");
        assert!(messages(&PdbQuorum, &yaml)[0].starts_with("no PodDisruptionBudget"));
        let f = lint(&PdbQuorum, &sts("replicas: 3"), &Default::default());
        assert!(f[0].help.contains("maxUnavailable: 1"), "{}", f[0].help);
        assert!(f[0].help.contains("above the StatefulSet"), "{}", f[0].help);
    }

    #[test]
    fn two_budgets_name_both() {
        let yaml = sts("replicas: 3")
            + &pdb("a", &format!("{{maxUnavailable: 1, {SEL}}}"))
            + &pdb("b", "{minAvailable: 2, selector: {}}");
        let f = lint(&PdbQuorum, &yaml, &Default::default());
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("2 PodDisruptionBudgets select the pods of StatefulSet kafka: a and b"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].notes.len(), 1);
    }

    #[test]
    fn one_budget_written_twice_is_one_budget() {
        let b = pdb("kafka-pdb", &format!("{{maxUnavailable: 1, {SEL}}}"));
        let yaml = sts("replicas: 3") + &b + &b;
        assert!(messages(&PdbQuorum, &yaml).is_empty());
    }

    #[test]
    fn scaled_to_zero_only_needs_a_budget() {
        ok("replicas: 0", &format!("{{minAvailable: 1, {SEL}}}"));
        assert_eq!(messages(&PdbQuorum, &sts("replicas: 0")).len(), 1);
    }
}
