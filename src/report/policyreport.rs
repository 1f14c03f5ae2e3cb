//! `statelint audit --format policyreport`: one report per namespace, in the shape Policy
//! Reporter and other dashboards read, as a `v1` `List` (YAML) that `kubectl apply -f -` takes.
//!
//! - [`Api::Openreports`] (default): `openreports.io/v1alpha1` `Report`, with `source:
//!   statelint` at the top;
//! - [`Api::Wgpolicyk8s`]: the older `wgpolicyk8s.io/v1alpha2` `PolicyReport` (same results).
//!
//! Each report is named `statelint` in its namespace (applying again replaces it) and labelled
//! `app.kubernetes.io/managed-by: statelint`. Results: one per finding (`fail` for errors,
//! `warn` for warnings; severity `high` / `medium`), `skip` per finding suppressed by
//! `statelint.io/ignore`, and `pass` per StatefulSet and rule that ran with no finding. Each
//! result names its object in `resources` and carries `code`, `help`, `role`, `field` and
//! `kubectl` in `properties` (strings, as the CRDs require).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde_json::{Map, Value, json};

use super::Report;
use crate::object::ObjectKey;
use crate::rules::{Finding, Severity};

/// Which report API to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Api {
    /// `openreports.io/v1alpha1` Report.
    #[default]
    Openreports,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport.
    Wgpolicyk8s,
}

/// Report object name in each namespace.
pub const NAME: &str = "statelint";

fn resource(k: &ObjectKey) -> Value {
    json!({ "apiVersion": k.api_version, "kind": k.kind, "namespace": k.namespace, "name": k.name })
}

fn result(r: &Report<'_>, f: &Finding, outcome: &str, now: &Value) -> Value {
    let mut props = Map::new();
    props.insert("code".into(), json!(f.rule.code));
    if !f.help.is_empty() {
        props.insert("help".into(), json!(f.help));
    }
    if let Some(role) = &f.role {
        props.insert("role".into(), json!(role.role.as_str()));
    }
    if let Some(at) = r.cluster_at(&f.at) {
        if f.at.object.key != f.object.key {
            props.insert("in".into(), json!(f.at.object.key.to_string()));
        }
        props.insert("field".into(), json!(at.field));
        props.insert("kubectl".into(), json!(at.kubectl));
    }
    if outcome == "skip" {
        let why = super::suppression_reason(f).unwrap_or("no reason given");
        props.insert(
            "suppressed".into(),
            json!(format!("statelint.io/ignore: {why}")),
        );
    }
    json!({
        "source": NAME,
        "policy": f.rule.slug,
        "rule": f.rule.code,
        "category": "StatefulSet quorum",
        "severity": match f.severity { Severity::Error => "high", Severity::Warning => "medium" },
        "result": outcome,
        "scored": outcome == "fail",
        "timestamp": now,
        "resources": [resource(&f.object.key)],
        "message": f.message,
        "properties": props,
    })
}

/// The reports, one per namespace that holds a checked object, as a `v1` `List`.
pub fn to_value(r: &Report<'_>, api: Api, now_seconds: u64) -> Value {
    let now = json!({ "seconds": now_seconds, "nanos": 0 });
    let mut by_ns: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut seen: BTreeSet<(ObjectKey, &str)> = BTreeSet::new();
    for o in r.objects {
        by_ns.entry(o.key.namespace.clone()).or_default();
    }
    let mut add = |f: &Finding, outcome: &str| {
        by_ns
            .entry(f.object.key.namespace.clone())
            .or_default()
            .push(result(r, f, outcome, &now));
    };
    let findings = r.sorted_findings();
    let suppressed = r.sorted_suppressed();
    for (f, _) in &findings {
        let outcome = match f.severity {
            Severity::Error => "fail",
            Severity::Warning => "warn",
        };
        seen.insert((f.object.key.clone(), f.rule.code));
        add(f, outcome);
    }
    for (f, _) in &suppressed {
        seen.insert((f.object.key.clone(), f.rule.code));
        add(f, "skip");
    }
    for o in r.objects.iter().filter(|o| o.statefulset().is_some()) {
        for rule in &r.rules {
            if seen.contains(&(o.key.clone(), rule.code)) {
                continue;
            }
            by_ns
                .entry(o.key.namespace.clone()).or_default().push(json!({
                "source": NAME,
                "policy": rule.slug,
                "rule": rule.code,
                "category": "StatefulSet quorum",
                "severity": match rule.severity { Severity::Error => "high", Severity::Warning => "medium" },
                "result": "pass",
                "scored": true,
                "timestamp": now,
                "resources": [resource(&o.key)],
                "message": format!("{} passes {} {}", o.key, rule.code, rule.slug),
                "properties": { "code": rule.code },
            }));
        }
    }
    let items: Vec<Value> = by_ns
        .into_iter()
        .map(|(ns, results)| {
            let count = |what: &str| results.iter().filter(|x| x["result"] == what).count();
            let summary = json!({
                "pass": count("pass"), "fail": count("fail"), "warn": count("warn"),
                "error": 0, "skip": count("skip"),
            });
            let metadata = json!({
                "name": NAME,
                "namespace": ns,
                "labels": { "app.kubernetes.io/managed-by": NAME },
            });
            match api {
                Api::Openreports => json!({
                    "apiVersion": "openreports.io/v1alpha1",
                    "kind": "Report",
                    "metadata": metadata,
                    "source": NAME,
                    "summary": summary,
                    "results": results,
                }),
                Api::Wgpolicyk8s => json!({
                    "apiVersion": "wgpolicyk8s.io/v1alpha2",
                    "kind": "PolicyReport",
                    "metadata": metadata,
                    "summary": summary,
                    "results": results,
                }),
            }
        })
        .collect();
    json!({ "apiVersion": "v1", "kind": "List", "items": items })
}

/// Write the reports as YAML.
pub fn write(r: &Report<'_>, api: Api, out: &mut dyn Write) -> std::io::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    out.write_all(super::yaml::to_string(&to_value(r, api, now)).as_bytes())
}
