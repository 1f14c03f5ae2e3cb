//! Kubernetes label-selector semantics, in one place.
//!
//! - `LabelSelector` (`matchLabels` + `matchExpressions`, ANDed): In, NotIn, Exists,
//!   DoesNotExist. A null selector matches nothing; an empty one (`{}`) matches everything
//!   (callers handle the PDB `policy/v1beta1` exception, where empty selects nothing).
//! - Service selectors are plain maps; an empty or missing one selects no pods (the Service then
//!   has no managed endpoints).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::object::Labels;

/// Why a selector is unusable, as the API server would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

/// Does `sel` select a pod carrying `labels`? Invalid requirements (unknown operator, `In`
/// with no values) select nothing, as the API server would reject them.
pub fn matches(sel: &LabelSelector, labels: &Labels) -> bool {
    if let Some(ml) = &sel.match_labels {
        for (k, v) in ml {
            if labels.get(k) != Some(v) {
                return false;
            }
        }
    }
    if let Some(exprs) = &sel.match_expressions {
        for r in exprs {
            if !requirement_matches(r, labels).unwrap_or(false) {
                return false;
            }
        }
    }
    true
}

/// `None` when the requirement is invalid.
pub fn requirement_matches(r: &LabelSelectorRequirement, labels: &Labels) -> Option<bool> {
    let values = r.values.as_deref().unwrap_or(&[]);
    let have = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => {
            if values.is_empty() {
                return None;
            }
            Some(have.is_some_and(|v| values.contains(v)))
        }
        "NotIn" => {
            if values.is_empty() {
                return None;
            }
            Some(have.is_none_or(|v| !values.contains(v)))
        }
        "Exists" => {
            if !values.is_empty() {
                return None;
            }
            Some(have.is_some())
        }
        "DoesNotExist" => {
            if !values.is_empty() {
                return None;
            }
            Some(have.is_none())
        }
        _ => None,
    }
}

/// Validate a selector as the API server does; the message says what to fix.
pub fn validate(sel: &LabelSelector) -> Result<(), SelectorError> {
    for r in sel.match_expressions.iter().flatten() {
        let n = r.values.as_ref().map_or(0, Vec::len);
        match r.operator.as_str() {
            "In" | "NotIn" if n == 0 => {
                return Err(SelectorError(format!(
                    "matchExpressions key `{}`: operator {} needs at least one value",
                    r.key, r.operator
                )));
            }
            "Exists" | "DoesNotExist" if n > 0 => {
                return Err(SelectorError(format!(
                    "matchExpressions key `{}`: operator {} takes no values",
                    r.key, r.operator
                )));
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => {
                return Err(SelectorError(format!(
                    "matchExpressions key `{}`: unknown operator `{other}` (use In, NotIn, Exists or DoesNotExist)",
                    r.key
                )));
            }
        }
    }
    Ok(())
}

/// An empty selector (`{}`: no matchLabels, no matchExpressions).
pub fn is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && sel.match_expressions.as_ref().is_none_or(|e| e.is_empty())
}

/// A Service-style plain selector: every pair must be present. Empty selects nothing.
pub fn map_matches(sel: &std::collections::BTreeMap<String, String>, labels: &Labels) -> bool {
    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Does a PDB selector select `labels`? `policy/v1`: empty selects all pods of the namespace;
/// `policy/v1beta1`: empty (or missing) selects none.
pub fn pdb_matches(sel: Option<&LabelSelector>, legacy: bool, labels: &Labels) -> bool {
    match sel {
        None => false,
        Some(s) if is_empty(s) => !legacy,
        Some(s) => matches(s, labels),
    }
}

/// A key/value pair every selected pod must carry (for indexing), if the selector has one.
pub fn required_pair(sel: &LabelSelector) -> Option<(&str, &str)> {
    if let Some((k, v)) = sel.match_labels.as_ref().and_then(|m| m.iter().next()) {
        return Some((k, v));
    }
    sel.match_expressions.iter().flatten().find_map(|r| {
        match (r.operator.as_str(), r.values.as_deref()) {
            ("In", Some([v])) => Some((r.key.as_str(), v.as_str())),
            _ => None,
        }
    })
}

/// Render a selector for messages: `app=zk,tier in (a,b)`.
pub fn describe(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for r in sel.match_expressions.iter().flatten() {
        let vals = r.values.as_deref().unwrap_or(&[]).join(",");
        parts.push(match r.operator.as_str() {
            "In" => format!("{} in ({vals})", r.key),
            "NotIn" => format!("{} notin ({vals})", r.key),
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            op => format!("{} {op} ({vals})", r.key),
        });
    }
    if parts.is_empty() {
        "{}".into()
    } else {
        parts.join(",")
    }
}

/// Render a label map: `app=zk,tier=db`.
pub fn describe_map(m: &std::collections::BTreeMap<String, String>) -> String {
    if m.is_empty() {
        return "{}".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: if values.is_empty() {
                None
            } else {
                Some(values.iter().map(|s| s.to_string()).collect())
            },
        }
    }

    fn sel(ml: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>) -> LabelSelector {
        LabelSelector {
            match_labels: if ml.is_empty() {
                None
            } else {
                Some(labels(ml))
            },
            match_expressions: if exprs.is_empty() { None } else { Some(exprs) },
        }
    }

    #[test]
    fn match_labels_is_a_subset_test() {
        let pod = labels(&[("app", "zk"), ("tier", "db")]);
        assert!(matches(&sel(&[("app", "zk")], vec![]), &pod));
        assert!(!matches(&sel(&[("app", "kafka")], vec![]), &pod));
        assert!(!matches(&sel(&[("app", "zk"), ("x", "y")], vec![]), &pod));
    }

    #[test]
    fn operator_in() {
        let pod = labels(&[("app", "zk")]);
        assert!(matches(
            &sel(&[], vec![req("app", "In", &["kafka", "zk"])]),
            &pod
        ));
        assert!(!matches(
            &sel(&[], vec![req("app", "In", &["kafka"])]),
            &pod
        ));
        assert!(!matches(&sel(&[], vec![req("other", "In", &["zk"])]), &pod));
        assert!(
            !matches(&sel(&[], vec![req("app", "In", &[])]), &pod),
            "In without values is invalid"
        );
    }

    #[test]
    fn operator_not_in() {
        let pod = labels(&[("app", "zk")]);
        assert!(matches(
            &sel(&[], vec![req("app", "NotIn", &["kafka"])]),
            &pod
        ));
        assert!(!matches(
            &sel(&[], vec![req("app", "NotIn", &["zk"])]),
            &pod
        ));
        assert!(
            matches(&sel(&[], vec![req("missing", "NotIn", &["zk"])]), &pod),
            "absent key is not in the set"
        );
    }

    #[test]
    fn operator_exists_and_does_not_exist() {
        let pod = labels(&[("app", "zk")]);
        assert!(matches(&sel(&[], vec![req("app", "Exists", &[])]), &pod));
        assert!(!matches(&sel(&[], vec![req("x", "Exists", &[])]), &pod));
        assert!(matches(
            &sel(&[], vec![req("x", "DoesNotExist", &[])]),
            &pod
        ));
        assert!(!matches(
            &sel(&[], vec![req("app", "DoesNotExist", &[])]),
            &pod
        ));
        assert!(
            !matches(&sel(&[], vec![req("app", "Exists", &["zk"])]), &pod),
            "Exists with values is invalid"
        );
    }

    #[test]
    fn unknown_operator_selects_nothing_and_fails_validation() {
        let s = sel(&[], vec![req("app", "Equals", &["zk"])]);
        assert!(!matches(&s, &labels(&[("app", "zk")])));
        assert!(validate(&s).unwrap_err().0.contains("unknown operator"));
    }

    #[test]
    fn labels_and_expressions_are_anded() {
        let pod = labels(&[("app", "zk"), ("tier", "db")]);
        let s = sel(&[("app", "zk")], vec![req("tier", "In", &["web"])]);
        assert!(!matches(&s, &pod));
    }

    #[test]
    fn empty_selector_matches_everything_but_legacy_pdb_nothing() {
        let pod = labels(&[("app", "zk")]);
        let empty = LabelSelector::default();
        assert!(matches(&empty, &pod));
        assert!(pdb_matches(Some(&empty), false, &pod));
        assert!(!pdb_matches(Some(&empty), true, &pod));
        assert!(!pdb_matches(None, false, &pod));
    }

    #[test]
    fn service_selector_is_a_plain_map_and_empty_selects_nothing() {
        let pod = labels(&[("app", "zk"), ("tier", "db")]);
        assert!(map_matches(&labels(&[("app", "zk")]), &pod));
        assert!(!map_matches(&labels(&[("app", "kafka")]), &pod));
        assert!(!map_matches(&Labels::new(), &pod));
    }

    #[test]
    fn required_pair_for_indexing() {
        assert_eq!(
            required_pair(&sel(&[("app", "zk")], vec![])),
            Some(("app", "zk"))
        );
        assert_eq!(
            required_pair(&sel(&[], vec![req("app", "In", &["zk"])])),
            Some(("app", "zk"))
        );
        assert_eq!(
            required_pair(&sel(&[], vec![req("app", "In", &["zk", "x"])])),
            None
        );
    }
}
