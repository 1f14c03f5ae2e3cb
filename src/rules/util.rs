//! Small helpers shared by rules.

pub use crate::pod::{container_pointer, containers, containers_at, image_name, push_index};

/// Majority of `n` members: floor(n/2)+1.
pub fn quorum(n: i32) -> i32 {
    n / 2 + 1
}

/// `percent`% of `n`, rounded up (as the disruption controller rounds minAvailable and
/// maxUnavailable percentages).
pub fn percent_of_round_up(percent: i64, n: i32) -> i64 {
    let prod = percent * n as i64;
    if prod <= 0 {
        return prod / 100;
    }
    (prod + 99) / 100
}

/// Text written only when it is shown: `lazy(|f| write!(f, "..."))` displays as what the
/// closure writes. Messages and help name it (`format!("{intro}, but ...")`) at no cost on the
/// passing path, where no finding is built.
pub struct Lazy<F>(pub F);

impl<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result> std::fmt::Display for Lazy<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (self.0)(f)
    }
}

/// [`Lazy`] text.
pub fn lazy<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result>(f: F) -> Lazy<F> {
    Lazy(f)
}

/// Join names for a message: `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether `pointer` itself is written in the object's source. Objects without a source (from
/// the webhook) count every pointer as present.
pub fn present(obj: &crate::object::Object, pointer: &str) -> bool {
    obj.origin.as_ref().is_none_or(|o| o.has(pointer))
}

/// Where a finding about the replica count points: `spec.replicas` when written, else the
/// StatefulSet's name (`replicas` defaults to 1).
pub fn replicas_pointer(obj: &crate::object::Object) -> &'static str {
    if present(obj, "/spec/replicas") {
        "/spec/replicas"
    } else {
        "/metadata/name"
    }
}

/// A label map as YAML flow mapping for help text: `{app: zk, tier: "1"}`.
pub fn yaml_map(m: &std::collections::BTreeMap<String, String>) -> String {
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}: {}", yaml_scalar(k), yaml_scalar(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A string as a YAML scalar that reads back as the same string (quoted when YAML would read
/// it as something else, e.g. `"true"`, `"1.0"`, `""`).
pub fn yaml_scalar(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::from(s).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_a_majority() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(2), 2);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(5), 3);
    }

    #[test]
    fn percent_rounds_up() {
        assert_eq!(percent_of_round_up(50, 3), 2);
        assert_eq!(percent_of_round_up(34, 3), 2);
        assert_eq!(percent_of_round_up(33, 3), 1);
        assert_eq!(percent_of_round_up(100, 3), 3);
        assert_eq!(percent_of_round_up(0, 3), 0);
    }

    #[test]
    fn yaml_scalars_read_back_as_strings() {
        assert_eq!(yaml_scalar("zk"), "zk");
        assert_eq!(
            yaml_scalar("app.kubernetes.io/name"),
            "app.kubernetes.io/name"
        );
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("1.0"), "\"1.0\"");
        assert_eq!(yaml_scalar(""), "\"\"");
        assert_eq!(yaml_scalar("a b"), "\"a b\"");
        let m = [
            ("app".to_string(), "zk".to_string()),
            ("v".into(), "3".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(yaml_map(&m), "{app: zk, v: \"3\"}");
    }
}

/// Test support: lint YAML text with one rule.
#[cfg(test)]
pub mod testing {
    use std::sync::Arc;

    use crate::catalog::Catalog;
    use crate::config::Config;
    use crate::object::FileId;
    use crate::rules::{Ctx, Finding, Rule};
    use crate::source::{Limits, parse_file};

    pub use crate::pod::testing::one_container_statefulset;

    /// Parse `yaml` (namespace `default`), index it, and run `rule` over every object.
    pub fn lint(rule: &dyn Rule, yaml: &str, config: &Config) -> Vec<Finding> {
        let (objects, errors) = parse_file(FileId(0), yaml, "default", &Limits::default());
        assert!(errors.is_empty(), "test input does not load: {errors:?}");
        let objects: Vec<_> = objects.into_iter().map(Arc::new).collect();
        let catalog = Catalog::new(objects.iter().cloned());
        let mut out = Vec::new();
        for o in &objects {
            let role = crate::role::of(o, &catalog).map(Arc::new);
            let cx = Ctx {
                companions: &catalog,
                config,
                role: role.as_deref(),
            };
            let from = out.len();
            crate::rules::check_one(rule, o, &cx, &mut out);
            crate::rules::attach_role(&mut out[from..], o, role.as_ref());
        }
        out
    }

    /// The messages of `lint` with the default config.
    pub fn messages(rule: &dyn Rule, yaml: &str) -> Vec<String> {
        lint(rule, yaml, &Config::default())
            .into_iter()
            .map(|f| f.message)
            .collect()
    }
}
