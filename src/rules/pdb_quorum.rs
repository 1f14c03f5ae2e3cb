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
use crate::role::Role;
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

    fn depends_on_replicas(&self) -> bool {
        true
    }

    fn reads(&self) -> &'static [Kind] {
        // StatefulSets, Services and ConfigMaps: which StatefulSets vote in one ensemble
        &[
            Kind::PodDisruptionBudget,
            Kind::StatefulSet,
            Kind::Service,
            Kind::ConfigMap,
        ]
    }

    fn concerns(&self, sts: &Object, companion: &Object) -> bool {
        // another StatefulSet may vote in the same ensemble (its replicas count in the quorum)
        companion.statefulset().is_some()
            || sts.pod_labels().is_some_and(|l| companion.pdb_selects(l))
    }

    /// Deleting the only PDB of a StatefulSet leaves drains free to evict its quorum.
    fn removal_breaks(
        &self,
        sts: &Arc<Object>,
        pdb: &Arc<Object>,
        cx: &Ctx<'_>,
    ) -> Option<Finding> {
        let labels = sts.pod_labels()?;
        // a single replica needs no budget (SPEC §2a)
        if !pdb.pdb_selects(labels) || sts.replicas() <= 1 {
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
        if pdbs.len() > 1 {
            let mut seen = std::collections::HashSet::new();
            pdbs.retain(|p| seen.insert(p.key.name.clone()));
        }
        // replicas keep data without a vote: a budget must let at most one go at a time
        // (so do StatefulSets only assumed stateless: unknown software without data)
        let replica = cx.role() == Some(Role::Replica) || cx.role.is_some_and(|r| r.assumed);
        // several StatefulSets voting in one ensemble: their budgets are weighed together
        let ensemble = if replica {
            None
        } else {
            crate::ensemble::quorum::ensemble(obj, cx.companions).filter(|(_, m)| m.len() > 1)
        };
        if let Some((quorum_of, members)) = &ensemble {
            check_ensemble(obj, quorum_of.label(), members, cx.companions, out);
        }
        let in_ensemble = ensemble.is_some();
        if n == 1 && pdbs.len() <= 1 {
            // one replica: no budget is required, and none that keeps it up lets drains
            // proceed; a voter alone tolerates no failure (one warning). A budget the API
            // server rejects is still an error.
            if let Some(pdb) = pdbs.first() {
                let mut found = Vec::new();
                check_budget(obj, pdb, n, replica, in_ensemble, &mut found);
                out.extend(
                    found
                        .into_iter()
                        .filter(|f| f.message.contains("the API server rejects it")),
                );
            }
            // (an arbiter or a Sentinel, keeping no data, votes beside data members elsewhere)
            if !replica && !in_ensemble && cx.role.is_none_or(|r| r.stores_data) {
                out.push(single_voter(obj, pdbs.first()));
            }
            return;
        }
        match pdbs.as_slice() {
            [] => out.push(missing(obj, labels, n, replica, in_ensemble)),
            [pdb] => check_budget(obj, pdb, n, replica, in_ensemble, out),
            [first, rest @ ..] => {
                // sorted: the same message whatever order the budgets were read in (files or
                // the API server's name order)
                let mut names: Vec<String> = pdbs.iter().map(|p| p.key.name.clone()).collect();
                names.sort();
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

/// How many pods of an ensemble a budget lets go at once: `expected` is the number of the
/// ensemble's pods it selects (the disruption controller resolves percentages against it).
/// `None` when the API server rejects the budget (reported on its own).
fn allowed_disruptions(pdb: &Object, expected: i32) -> Option<i64> {
    let spec = pdb.pdb()?.spec.as_ref()?;
    let n = i64::from(expected);
    match (&spec.min_available, &spec.max_unavailable) {
        (Some(_), Some(_)) => None,
        (Some(v), None) => Some((n - Amount::parse(v).ok()?.of(expected)).clamp(0, n)),
        (None, Some(v)) => Some(Amount::parse(v).ok()?.of(expected).clamp(0, n)),
        // policy/v1beta1 defaults minAvailable to 1; policy/v1 without either allows all
        (None, None) if pdb.is_legacy_pdb() => Some((n - 1).max(0)),
        (None, None) => Some(n),
    }
}

/// SPEC §2 SL002: when several StatefulSets form one ensemble (a ZooKeeper ensemble split over
/// two StatefulSets, MongoDB data members plus an arbiter), the disruptions their budgets allow
/// together must still leave a quorum of all voters. `members`: the ensemble, `obj` among them.
fn check_ensemble(
    obj: &Arc<Object>,
    label: &str,
    members: &[Arc<Object>],
    companions: &dyn Companions,
    out: &mut Vec<Finding>,
) {
    let total: i32 = members.iter().map(|m| m.replicas().max(0)).sum();
    if total < 2 {
        return;
    }
    let q = quorum(total);
    let ns = &obj.key.namespace;
    let empty = Labels::new();
    // the distinct budgets, and the ensemble pods each one selects
    let mut budgets: Vec<(Arc<Object>, i32)> = Vec::new();
    let mut unbudgeted: Vec<&Arc<Object>> = Vec::new();
    for m in members {
        let labels = m.pod_labels().unwrap_or(&empty);
        let mut pdbs = companions.pdbs_selecting(ns, labels);
        if pdbs.len() > 1 {
            let mut seen = std::collections::HashSet::new();
            pdbs.retain(|p| seen.insert(p.key.name.clone()));
        }
        match pdbs.as_slice() {
            [] => unbudgeted.push(m),
            // several budgets: evictions of these pods fail (reported on the member itself)
            [_, _, ..] => {}
            [pdb] => match budgets.iter_mut().find(|(b, _)| b.key == pdb.key) {
                Some((_, expected)) => *expected += m.replicas().max(0),
                None => budgets.push((pdb.clone(), m.replicas().max(0))),
            },
        }
    }
    let mut evictable: i64 = unbudgeted
        .iter()
        .map(|m| i64::from(m.replicas().max(0)))
        .sum();
    let mut parts: Vec<String> = unbudgeted
        .iter()
        .map(|m| {
            let n = m.replicas();
            let pods = if n == 1 { "pod" } else { "pods" };
            format!("{n} {pods} of {} (no PodDisruptionBudget)", m.key.name)
        })
        .collect();
    for (pdb, expected) in &budgets {
        let Some(d) = allowed_disruptions(pdb, *expected) else {
            return; // a budget the API server rejects: reported on its own
        };
        evictable += d;
        parts.push(format!("{d} by PodDisruptionBudget {}", pdb.key.name));
    }
    let left = i64::from(total) - evictable;
    if left >= i64::from(q) {
        return;
    }
    let sizes: Vec<String> = members
        .iter()
        .filter(|m| m.key != obj.key)
        .map(|m| format!("{} ({})", m.key.name, m.replicas()))
        .collect();
    let names: Vec<String> = members.iter().map(|m| m.key.name.clone()).collect();
    // a member without exactly one budget is told so by its own finding
    let Some(own) = budgets
        .iter()
        .find(|(p, _)| obj.pod_labels().is_some_and(|l| p.pdb_selects(l)))
    else {
        return;
    };
    let mut f = Finding::new(
        &META,
        obj,
        "/metadata/name",
        format!(
            "StatefulSet {} votes in one {label} ensemble of {total} voters with {}: their \
             PodDisruptionBudgets together allow {evictable} pods to be evicted at once ({}), \
             leaving {left}, below the quorum of {q}",
            obj.key.name,
            join_and(&sizes),
            join_and(&parts)
        ),
    );
    let pdb = &own.0;
    let ptr = match pdb.pdb().and_then(|p| p.spec.as_ref()) {
        Some(s) if s.min_available.is_some() => "/spec/minAvailable",
        Some(s) if s.max_unavailable.is_some() => "/spec/maxUnavailable",
        _ => "/spec",
    };
    f = f.at(pdb, ptr);
    if !present(pdb, ptr) {
        f = f.on_key();
    }
    // labels every member's pods carry: one budget over the whole ensemble
    let common: Labels = members
        .iter()
        .filter_map(|m| m.pod_labels().cloned())
        .reduce(|a, b| a.into_iter().filter(|(k, v)| b.get(k) == Some(v)).collect())
        .unwrap_or_default();
    let one_budget = if common.is_empty() {
        String::new()
    } else {
        format!(
            "cover the {total} voters with one PodDisruptionBudget (selector matchLabels: {}, \
             maxUnavailable: {}) instead of one per StatefulSet, or ",
            yaml_map(&common),
            total - q
        )
    };
    f = f.help(format!(
        "{one_budget}lower the budgets of {} so that together they allow at most {} disruption{} \
         at once",
        join_and(&names),
        total - q,
        if total - q == 1 { "" } else { "s" }
    ));
    out.push(f);
}

/// The value a new budget should use for `n` replicas: never one that blocks every drain
/// (`maxUnavailable: 0`, `minAvailable: 100%`).
fn suggested(n: i32, replica: bool) -> String {
    if n >= 3 && !replica {
        format!("maxUnavailable: {}", n - quorum(n))
    } else {
        "maxUnavailable: 1".to_string()
    }
}

/// The loosest value of `field` that keeps what the role needs up: a quorum of `n` voters, or
/// all but one replica. Only for budgets that can still let one pod go (`n >= 3` voters,
/// `n >= 2` replicas).
fn same_field(field: &str, n: i32, replica: bool) -> String {
    let keep = if replica { n - 1 } else { quorum(n) };
    if field == "minAvailable" {
        format!("minAvailable: {keep}")
    } else {
        format!("maxUnavailable: {}", n - keep)
    }
}

/// Help for voters that no budget can both keep in quorum and let drain (2 voters need both up).
fn scale_up_help(name: &str, n: i32) -> String {
    format!(
        "run 3 replicas of StatefulSet {name} and set maxUnavailable: 1 in its \
         PodDisruptionBudget: with {n} voters a quorum needs all of them, so every budget that \
         keeps quorum would block node drains"
    )
}

/// A voter with one replica: one warning, whatever its budget.
fn single_voter(obj: &Arc<Object>, pdb: Option<&Arc<Object>>) -> Finding {
    let name = &obj.key.name;
    let blocked = pdb.map_or(String::new(), |p| {
        format!(
            "; PodDisruptionBudget {} cannot keep it up through a drain, it can only block the \
             drain",
            p.key.name
        )
    });
    let ptr = super::util::replicas_pointer(obj);
    Finding::new(
        &META,
        obj,
        ptr,
        format!(
            "StatefulSet {name} runs a single voter: it tolerates no failure, and every node \
             drain or restart takes the service down{blocked}"
        ),
    )
    .severity(Severity::Warning)
    .help(
        "run 3 replicas (a quorum of 2 survives one failure) with a PodDisruptionBudget \
         maxUnavailable: 1; a single replica needs no PodDisruptionBudget",
    )
}

/// No budget selects the pods. `in_ensemble`: one of several StatefulSets of one ensemble (each
/// needs its own budget; [`check_ensemble`] weighs them together), so its own replica count
/// says nothing about the quorum.
fn missing(
    obj: &Arc<Object>,
    labels: &Labels,
    n: i32,
    replica: bool,
    in_ensemble: bool,
) -> Finding {
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
             a node drain may evict several replicas at once and {}",
            describe_map(labels),
            if replica {
                "take every copy of some data offline"
            } else {
                "break quorum"
            }
        ),
    )
    .help(
        format!(
            "create a PodDisruptionBudget and apply it before the StatefulSet (within one \
         `kubectl apply -f` file, put it above the StatefulSet): {{apiVersion: policy/v1, \
         kind: PodDisruptionBudget, metadata: {{name: {}, namespace: {}}}, spec: {{{}, \
         selector: {{matchLabels: {}}}}}}}",
            yaml_scalar(&format!("{name}-pdb")),
            yaml_scalar(ns),
            suggested(n, replica || in_ensemble),
            yaml_map(match_labels)
        ) + &if n == 2 && !replica && !in_ensemble {
            format!("; and {}", scale_up_help(name, n))
        } else {
            String::new()
        },
    )
}

/// Check the one budget of a StatefulSet. `in_ensemble`: the StatefulSet votes in an ensemble
/// of several StatefulSets, whose quorum [`check_ensemble`] weighs over all their budgets; here
/// only what concerns this budget alone (values the API server rejects, drains it blocks).
fn check_budget(
    obj: &Arc<Object>,
    pdb: &Arc<Object>,
    n: i32,
    replica: bool,
    in_ensemble: bool,
    out: &mut Vec<Finding>,
) {
    let Some(spec) = pdb.pdb().and_then(|p| p.spec.as_ref()) else {
        return;
    };
    let name = &obj.key.name;
    let pdb_name = &pdb.key.name;
    let q = quorum(n);
    // pods that must stay up: a quorum of voters, or all replicas but one
    let keep = if replica { n - 1 } else { q };
    let replicas_note = |f: Finding| {
        if obj.origin.is_some() && present(obj, "/spec/replicas") {
            f.note(
                obj,
                "/spec/replicas",
                if replica {
                    format!("{n} replicas: at most 1 may be down")
                } else {
                    format!("{n} replicas: quorum is {q}")
                },
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
                .help(format!("keep one of them: {}", suggested(n, replica))),
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
            if n > 0 && !in_ensemble {
                out.push(replicas_note(
                    finding(
                        "/spec",
                        format!(
                            "PodDisruptionBudget {pdb_name} sets neither minAvailable nor \
                             maxUnavailable, so it allows all {n} pods of StatefulSet {name} to \
                             be evicted; {} needs minAvailable >= {keep}",
                            if replica {
                                "losing at most one replica"
                            } else {
                                "quorum"
                            }
                        ),
                    )
                    .on_key()
                    .help(format!(
                        "set {} in PodDisruptionBudget {pdb_name}",
                        suggested(n, replica)
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
                    suggested(n, replica)
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
    if available < i64::from(keep) && !in_ensemble {
        let need = if field == "minAvailable" {
            format!("minAvailable >= {keep}")
        } else {
            format!("maxUnavailable <= {}", n - keep)
        };
        let who = if replica {
            "a StatefulSet that keeps data without a quorum (role replica) may lose at most one \
             pod at a time:"
        } else {
            "quorum needs"
        };
        let help = if !replica && n <= 2 {
            scale_up_help(name, n)
        } else if replica {
            format!(
                "set {} in PodDisruptionBudget {pdb_name}, so that drains take one replica at a \
                 time",
                same_field(field, n, replica)
            )
        } else {
            format!(
                "set {} in PodDisruptionBudget {pdb_name}, so that a majority of the {n} replicas \
                 stays up while nodes are drained",
                same_field(field, n, replica)
            )
        };
        let mut f = replicas_note(
            finding(
                ptr,
                format!(
                    "PodDisruptionBudget {pdb_name} allows {evictable} of {n} pods of StatefulSet \
                     {name} to be evicted ({field}: {value_text}{}){defaulted}; {who} {need}",
                    amount.explain(n)
                ),
            )
            .help(help),
        );
        if !present(pdb, ptr) {
            f = f.on_key();
        }
        out.push(f);
    } else if evictable == 0 && (n >= 3 || (replica && n >= 2)) {
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
            .help(if replica {
                format!(
                    "set {} in PodDisruptionBudget {pdb_name}: drains then proceed one replica at \
                     a time",
                    same_field(field, n, replica)
                )
            } else {
                format!(
                    "set {} in PodDisruptionBudget {pdb_name}: it keeps a quorum of {q} up and \
                     lets drains proceed",
                    same_field(field, n, replica)
                )
            }),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::util::testing::{lint, messages};

    /// A voter StatefulSet (`kafka` by name, a KRaft controller by role).
    fn sts(replicas: &str) -> String {
        sts_as(replicas, "voter")
    }

    fn sts_as(replicas: &str, role: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: kafka, annotations: {{statelint.io/role: {role}}}}}
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
    fn a_single_voter_gets_one_warning_and_no_budget_advice() {
        for budget in [
            String::new(),
            pdb("kafka-pdb", &format!("{{minAvailable: 1, {SEL}}}")),
            pdb("kafka-pdb", &format!("{{maxUnavailable: 0, {SEL}}}")),
        ] {
            // replicas default to 1
            let f = lint(&PdbQuorum, &(sts("") + &budget), &Default::default());
            assert_eq!(f.len(), 1, "{f:#?}");
            assert_eq!(f[0].severity, Severity::Warning);
            assert!(
                f[0].message.contains("runs a single voter"),
                "{}",
                f[0].message
            );
            assert!(f[0].help.contains("run 3 replicas"), "{}", f[0].help);
        }
        // a single replica that does not vote: nothing to say
        assert!(messages(&PdbQuorum, &sts_as("replicas: 1", "replica")).is_empty());
    }

    #[test]
    fn two_voters_are_told_to_scale_not_to_block_drains() {
        let f = lint(&PdbQuorum, &sts("replicas: 2"), &Default::default());
        assert_eq!(f.len(), 1);
        assert!(f[0].help.contains("maxUnavailable: 1"), "{}", f[0].help);
        assert!(f[0].help.contains("run 3 replicas"), "{}", f[0].help);
        let f = fails(
            "replicas: 2",
            &format!("{{maxUnavailable: 1, {SEL}}}"),
            "quorum needs maxUnavailable <= 0",
        );
        assert!(f.help.contains("run 3 replicas"), "{}", f.help);
        assert!(!f.help.contains("maxUnavailable: 0"), "{}", f.help);
    }

    #[test]
    fn replicas_need_a_budget_that_lets_one_go_at_a_time() {
        let check = |replicas: &str, spec: &str| {
            let yaml = sts_as(replicas, "replica") + &pdb("kafka-pdb", spec);
            lint(&PdbQuorum, &yaml, &Default::default())
        };
        assert!(check("replicas: 2", &format!("{{maxUnavailable: 1, {SEL}}}")).is_empty());
        assert!(check("replicas: 3", &format!("{{maxUnavailable: 1, {SEL}}}")).is_empty());
        assert!(check("replicas: 5", &format!("{{minAvailable: 4, {SEL}}}")).is_empty());
        assert!(check("replicas: 4", &format!("{{minAvailable: 75%, {SEL}}}")).is_empty());
        let f = check("replicas: 5", &format!("{{maxUnavailable: 2, {SEL}}}"));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("allows 2 of 5 pods"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("maxUnavailable <= 1"),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[0].help,
            "set maxUnavailable: 1 in PodDisruptionBudget kafka-pdb, so that drains take one replica at a time"
        );
        let f = check("replicas: 3", &format!("{{minAvailable: 1, {SEL}}}"));
        assert!(
            f[0].message.contains("minAvailable >= 2"),
            "{}",
            f[0].message
        );
        // zero disruptions block drains: a warning, from 2 replicas on
        let f = check("replicas: 2", &format!("{{minAvailable: 2, {SEL}}}"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].help.contains("minAvailable: 1"), "{}", f[0].help);
        // a missing budget is an error whose help lets drains proceed
        let f = lint(
            &PdbQuorum,
            &sts_as("replicas: 3", "replica"),
            &Default::default(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].help.contains("maxUnavailable: 1"), "{}", f[0].help);
    }

    #[test]
    fn stateless_statefulsets_need_no_budget() {
        assert!(messages(&PdbQuorum, &sts_as("replicas: 3", "stateless")).is_empty());
    }

    #[test]
    fn scaled_to_zero_only_needs_a_budget() {
        ok("replicas: 0", &format!("{{minAvailable: 1, {SEL}}}"));
        assert_eq!(messages(&PdbQuorum, &sts("replicas: 0")).len(), 1);
    }
}
