//! Property tests against plain reference implementations written here from the Kubernetes
//! definitions:
//!
//! - label selectors (`statelint::selector`): `matchLabels` and `matchExpressions` ANDed,
//!   In / NotIn / Exists / DoesNotExist, an invalid requirement makes the selector select
//!   nothing, an empty selector selects everything; Service selectors are plain maps and an
//!   empty one selects nothing; PDB selectors: null selects nothing, empty selects every pod in
//!   `policy/v1` and none in `policy/v1beta1`;
//! - PDB quorum arithmetic (SL002 `pdb-quorum`, run through the whole pipeline): the disruption
//!   controller's `desiredHealthy` (minAvailable, or replicas - maxUnavailable; percentages of
//!   replicas rounded up, `GetScaledValueFromIntOrPercent(..., roundUp=true)`), disruptions
//!   allowed = currentHealthy - desiredHealthy, and quorum(n) = floor(n/2)+1.
//!
//! Negative replicas are invalid input (the API server rejects them): an input error, no
//! finding.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use proptest::prelude::*;
use statelint::rules::Severity;
use statelint::selector::{map_matches, matches, pdb_matches};
use statelint::{CheckOptions, check_bytes};

type Labels = BTreeMap<String, String>;

// ---------------------------------------------------------------------------------------------
// label selectors

/// Kubernetes `LabelSelectorAsSelector` + `Matches`, written out plainly.
fn reference_matches(sel: &LabelSelector, pod: &Labels) -> bool {
    // each matchLabels pair is the requirement `key In (value)`
    let mut reqs: Vec<(String, String, Vec<String>)> = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        reqs.push((k.clone(), "In".into(), vec![v.clone()]));
    }
    for r in sel.match_expressions.iter().flatten() {
        reqs.push((
            r.key.clone(),
            r.operator.clone(),
            r.values.clone().unwrap_or_default(),
        ));
    }
    // an invalid requirement makes the whole selector invalid: it selects nothing
    for (_, op, values) in &reqs {
        let valid = match op.as_str() {
            "In" | "NotIn" => !values.is_empty(),
            "Exists" | "DoesNotExist" => values.is_empty(),
            _ => false,
        };
        if !valid {
            return false;
        }
    }
    // no requirement at all: labels.Everything()
    reqs.iter().all(|(key, op, values)| {
        let have = pod.get(key);
        match op.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => !have.is_some_and(|v| values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => unreachable!(),
        }
    })
}

/// A Service selector: every pair present; an empty selector manages no endpoints.
fn reference_map_matches(sel: &Labels, pod: &Labels) -> bool {
    if sel.is_empty() {
        return false;
    }
    sel.iter().all(|(k, v)| pod.get(k) == Some(v))
}

/// A PDB selector.
fn reference_pdb_matches(sel: Option<&LabelSelector>, legacy: bool, pod: &Labels) -> bool {
    match sel {
        None => false,
        Some(s) => {
            let empty = s.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && s.match_expressions.as_ref().is_none_or(|e| e.is_empty());
            if empty {
                !legacy
            } else {
                reference_matches(s, pod)
            }
        }
    }
}

// small alphabets, so that selectors and pods often share keys and values
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["app", "tier", "zone", "app.kubernetes.io/name"])
        .prop_map(String::from)
}

fn value() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["zk", "kafka", "", "a-b"]).prop_map(String::from)
}

fn labels() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(key(), value(), 0..4)
}

fn requirement() -> impl Strategy<Value = LabelSelectorRequirement> {
    let op = prop::sample::select(vec![
        "In",
        "NotIn",
        "Exists",
        "DoesNotExist",
        "in",
        "Equals",
    ]);
    let values = prop::option::of(prop::collection::vec(value(), 0..3));
    (key(), op, values).prop_map(|(key, op, values)| LabelSelectorRequirement {
        key,
        operator: op.to_string(),
        values,
    })
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    (
        prop::option::of(labels()),
        prop::option::of(prop::collection::vec(requirement(), 0..4)),
    )
        .prop_map(|(match_labels, match_expressions)| LabelSelector {
            match_labels,
            match_expressions,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn label_selector_matches_like_kubernetes(sel in selector(), pod in labels()) {
        prop_assert_eq!(matches(&sel, &pod), reference_matches(&sel, &pod), "{:?} on {:?}", sel, pod);
    }

    #[test]
    fn service_selector_matches_like_kubernetes(sel in labels(), pod in labels()) {
        prop_assert_eq!(map_matches(&sel, &pod), reference_map_matches(&sel, &pod));
    }

    #[test]
    fn pdb_selector_matches_like_kubernetes(
        sel in prop::option::of(selector()),
        legacy in any::<bool>(),
        pod in labels(),
    ) {
        prop_assert_eq!(
            pdb_matches(sel.as_ref(), legacy, &pod),
            reference_pdb_matches(sel.as_ref(), legacy, &pod)
        );
    }

    /// A selector always selects the pods it was built from, when it only uses matchLabels.
    #[test]
    fn match_labels_built_from_the_pod_select_it(pod in labels(), extra in labels()) {
        let mut all = extra.clone();
        all.extend(pod.clone());
        let sel = LabelSelector { match_labels: Some(pod.clone()), match_expressions: None };
        prop_assert!(matches(&sel, &all));
    }
}

// ---------------------------------------------------------------------------------------------
// PDB quorum

/// `minAvailable` / `maxUnavailable` as written.
#[derive(Debug, Clone, Copy)]
enum Amount {
    Int(i64),
    Percent(i64),
}

impl Amount {
    fn yaml(self) -> String {
        match self {
            Amount::Int(i) => i.to_string(),
            Amount::Percent(p) => format!("\"{p}%\""),
        }
    }

    /// API validation: a non-negative integer, or a percentage from 0% to 100%.
    fn valid(self) -> bool {
        match self {
            Amount::Int(i) => i >= 0,
            Amount::Percent(p) => (0..=100).contains(&p),
        }
    }

    /// `GetScaledValueFromIntOrPercent(value, total, roundUp=true)`.
    fn scaled(self, total: i64) -> i64 {
        match self {
            Amount::Int(i) => i,
            Amount::Percent(p) => (p * total + 99) / 100, // ceil for p, total >= 0
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The budget lets availability drop below quorum (an error).
    BreaksQuorum,
    /// Quorum is kept but no disruption is ever allowed with >= 3 replicas (a warning).
    BlocksDrains,
    /// The API server would reject the budget (an error).
    Invalid,
    Ok,
}

/// The disruption controller's arithmetic, all pods healthy.
fn reference_verdict(replicas: i64, min: Option<Amount>, max: Option<Amount>) -> Verdict {
    let (field, amount) = match (min, max) {
        (Some(_), Some(_)) => return Verdict::Invalid,
        (Some(a), None) => ("min", a),
        (None, Some(a)) => ("max", a),
        (None, None) => unreachable!("the generator always sets one"),
    };
    if !amount.valid() {
        return Verdict::Invalid;
    }
    let n = replicas;
    if n <= 1 {
        // scaled to zero: nothing to keep; one replica: no budget can keep it up through a
        // drain (a single voter gets its own warning, see `single_voter_warning`)
        return Verdict::Ok;
    }
    let expected = n; // the StatefulSet's scale
    let desired_healthy = if field == "min" {
        amount.scaled(expected)
    } else {
        expected - amount.scaled(expected)
    };
    let current_healthy = n;
    let disruptions_allowed = (current_healthy - desired_healthy).clamp(0, n);
    let must_stay = n - disruptions_allowed;
    let quorum = n / 2 + 1;
    if must_stay < quorum {
        Verdict::BreaksQuorum
    } else if disruptions_allowed == 0 && n >= 3 {
        Verdict::BlocksDrains
    } else {
        Verdict::Ok
    }
}

fn manifest(replicas: Option<i64>, min: Option<Amount>, max: Option<Amount>) -> String {
    let replicas = replicas.map_or(String::new(), |r| format!("replicas: {r}\n  "));
    let mut budget = String::new();
    if let Some(m) = min {
        budget.push_str(&format!("minAvailable: {}, ", m.yaml()));
    }
    if let Some(m) = max {
        budget.push_str(&format!("maxUnavailable: {}, ", m.yaml()));
    }
    format!(
        "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: zk}}
spec:
  {replicas}serviceName: zk
  selector: {{matchLabels: {{app: zk}}}}
  template:
    metadata: {{labels: {{app: zk}}}}
    spec: {{containers: [{{name: zk, image: zookeeper}}]}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: zk-pdb}}
spec: {{{budget}selector: {{matchLabels: {{app: zk}}}}}}
"
    )
}

/// SL002's verdict on the manifest, and the input errors.
fn rule_verdict(yaml: &str) -> (Verdict, Vec<String>) {
    let run = check_bytes(
        vec![("pdb.yaml".into(), yaml.as_bytes().to_vec())],
        &CheckOptions::default(),
    );
    let errors: Vec<String> = run
        .loaded
        .errors
        .iter()
        .map(|e| e.message.clone())
        .collect();
    let sl002: Vec<_> = run
        .outcome
        .findings
        .iter()
        .filter(|f| f.rule.code == "SL002" && !f.message.contains("runs a single voter"))
        .collect();
    let verdict = match sl002.as_slice() {
        [] => Verdict::Ok,
        [f] if f.message.contains("invalid") || f.message.contains("sets both") => Verdict::Invalid,
        [f] if f.severity == Severity::Warning => Verdict::BlocksDrains,
        [f] if f.message.contains("to be evicted") => Verdict::BreaksQuorum,
        other => panic!(
            "unexpected SL002 findings: {:?}",
            other.iter().map(|f| &f.message).collect::<Vec<_>>()
        ),
    };
    (verdict, errors)
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        4 => (0i64..=15).prop_map(Amount::Int),
        1 => (-3i64..0).prop_map(Amount::Int),
        4 => (0i64..=100).prop_map(Amount::Percent),
        1 => prop::sample::select(vec![101i64, 150, 200, 1000]).prop_map(Amount::Percent),
    ]
}

/// Exactly one of the two fields, or (rarely) both.
fn budget() -> impl Strategy<Value = (Option<Amount>, Option<Amount>)> {
    prop_oneof![
        4 => amount().prop_map(|a| (Some(a), None)),
        4 => amount().prop_map(|a| (None, Some(a))),
        1 => (amount(), amount()).prop_map(|(a, b)| (Some(a), Some(b))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn pdb_quorum_agrees_with_the_disruption_controller(
        replicas in prop::option::of(0i64..=12),
        (min, max) in budget(),
    ) {
        let yaml = manifest(replicas, min, max);
        let (got, errors) = rule_verdict(&yaml);
        prop_assert!(errors.is_empty(), "{errors:?}");
        // replicas defaults to 1
        let want = reference_verdict(replicas.unwrap_or(1), min, max);
        prop_assert_eq!(got, want, "\n{}", yaml);
    }

    #[test]
    fn negative_replicas_are_an_input_error(replicas in -1000i64..0, (min, max) in budget()) {
        let yaml = manifest(Some(replicas), min, max);
        let (got, errors) = rule_verdict(&yaml);
        prop_assert_eq!(got, Verdict::Ok, "no finding on an object that does not load");
        prop_assert_eq!(errors.len(), 1);
        prop_assert!(errors[0].contains("spec.replicas") && errors[0].contains("negative"), "{}", errors[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// advice never blocks drains (SPEC §2a)

/// A StatefulSet of `role` (by annotation) with `replicas`, maybe a budget, maybe no Service,
/// no anti-affinity, no claim templates: every rule has something to say.
fn any_role_manifest(
    role: &str,
    replicas: Option<i64>,
    budget: Option<(Option<Amount>, Option<Amount>)>,
) -> String {
    let mut yaml = manifest(replicas, None, Some(Amount::Int(1))).replace(
        "metadata: {name: zk}\n",
        &format!("metadata: {{name: zk, annotations: {{statelint.io/role: {role}}}}}\n"),
    );
    let cut = yaml.find("---").unwrap();
    yaml.truncate(cut);
    if let Some((min, max)) = budget {
        let full = manifest(replicas, min, max);
        yaml.push_str(&full[full.find("---").unwrap()..]);
    }
    yaml
}

fn role() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["voter", "replica", "stateless"])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// No finding of any rule recommends a budget that blocks every drain: `maxUnavailable: 0`,
    /// `minAvailable: 100%`, or `minAvailable` equal to the replicas.
    #[test]
    fn no_help_recommends_a_budget_that_blocks_drains(
        role in role(),
        replicas in prop::option::of(0i64..=9),
        budget in prop::option::of(budget()),
    ) {
        let yaml = any_role_manifest(role, replicas, budget);
        let run = check_bytes(
            vec![("sts.yaml".into(), yaml.as_bytes().to_vec())],
            &CheckOptions::default(),
        );
        let n = replicas.unwrap_or(1);
        for f in &run.outcome.findings {
            let text = format!("{} {}", f.message, f.help);
            for bad in ["maxUnavailable: 0", "minAvailable: 100%"] {
                prop_assert!(!f.help.contains(bad), "{}: help recommends {bad}: {}\n{yaml}", f.rule.code, f.help);
            }
            if n >= 1 {
                let all = format!("minAvailable: {n}");
                let recommends_all = f.help.match_indices(&all).any(|(i, _)| {
                    !f.help[i + all.len()..].starts_with(|c: char| c.is_ascii_digit())
                });
                prop_assert!(!recommends_all, "{}: help recommends {all} for {n} replicas: {}\n{yaml}", f.rule.code, text);
            }
        }
    }

    /// A voter with one replica gets exactly one SL002 warning, whatever its budget (or none);
    /// a replica or stateless StatefulSet with one replica gets no SL002 finding about quorum.
    #[test]
    fn single_replicas_are_not_told_to_block_drains(
        role in role(),
        budget in prop::option::of(budget()),
    ) {
        let yaml = any_role_manifest(role, Some(1), budget);
        let run = check_bytes(
            vec![("sts.yaml".into(), yaml.as_bytes().to_vec())],
            &CheckOptions::default(),
        );
        let sl002: Vec<_> = run.outcome.findings.iter().filter(|f| f.rule.code == "SL002").collect();
        let single: Vec<_> = sl002.iter().filter(|f| f.message.contains("runs a single voter")).collect();
        prop_assert_eq!(single.len(), usize::from(role == "voter"), "\n{}", yaml);
        for f in &single {
            prop_assert_eq!(f.severity, Severity::Warning);
        }
        // anything else is a budget the API server rejects
        for f in sl002.iter().filter(|f| !f.message.contains("runs a single voter")) {
            prop_assert!(f.message.contains("the API server rejects it"), "{}\n{}", f.message, yaml);
        }
    }
}

/// Boundary cases worth pinning by name.
#[test]
fn quorum_boundaries() {
    use Amount::*;
    use Verdict::*;
    for (n, min, max, want) in [
        (3, Some(Int(2)), None, Ok),
        (3, Some(Int(1)), None, BreaksQuorum),
        (3, None, Some(Int(1)), Ok),
        (3, None, Some(Int(2)), BreaksQuorum),
        (3, Some(Percent(50)), None, Ok),           // ceil(1.5) = 2
        (3, Some(Percent(34)), None, Ok),           // ceil(1.02) = 2
        (3, Some(Percent(33)), None, BreaksQuorum), // ceil(0.99) = 1
        (5, None, Some(Percent(40)), Ok),           // 2 may go, 3 stay
        (5, None, Some(Percent(41)), BreaksQuorum), // ceil(2.05) = 3 may go
        (3, Some(Int(3)), None, BlocksDrains),
        (3, None, Some(Int(0)), BlocksDrains),
        (2, Some(Int(2)), None, Ok), // 2 replicas need both: no warning
        (1, None, Some(Percent(100)), Ok), // one replica: no budget required
        (1, Some(Percent(150)), None, Invalid),
        (0, Some(Int(1)), None, Ok),
        (3, Some(Percent(150)), None, Invalid),
        (3, Some(Int(-1)), None, Invalid),
        (3, Some(Int(2)), Some(Int(1)), Invalid),
    ] {
        assert_eq!(
            reference_verdict(n, min, max),
            want,
            "reference: {n} {min:?} {max:?}"
        );
        let (got, errors) = rule_verdict(&manifest(Some(n), min, max));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(got, want, "rule: {n} {min:?} {max:?}");
    }
}
