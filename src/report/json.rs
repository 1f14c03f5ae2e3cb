//! `--format json`: the machine-readable report of SPEC section 4.

use std::io::Write;

use serde_json::{Value, json};

use super::{Location, Report, suppression_reason};
use crate::rules::Finding;

/// The report as a JSON value.
/// With `--show-suppressed`, a `suppressed` list (same fields plus `reason`) follows
/// `findings`; `summary.suppressed` always counts them.
pub fn to_value(r: &Report<'_>) -> Value {
    let finding = |(f, loc): (&Finding, Option<Location>)| {
        let mut v = json!({
            "code": f.rule.code,
            "rule": f.rule.slug,
            "severity": f.severity,
            "object": f.object.key,
            "file": loc.as_ref().map(|l| l.file.clone()),
            "line": loc.as_ref().map(|l| l.line),
            "column": loc.as_ref().map(|l| l.column),
            "message": f.message,
            "help": f.help,
            "role": f.role.as_ref().map(|r| r.role),
            "roleReason": f.role.as_ref().map(|r| r.reason.clone()),
        });
        add_rendered(&mut v, loc.as_ref());
        if let Some(at) = r.cluster_at(&f.at) {
            // a cluster object: the node's object, field path and kubectl command
            v["at"] =
                json!({ "object": f.at.object.key, "field": at.field, "kubectl": at.kubectl });
        }
        v
    };
    let findings: Vec<Value> = r.sorted_findings().into_iter().map(finding).collect();
    let input = |e: &crate::source::InputError| {
        let loc = r.error_location(e);
        let mut v = json!({
            "file": e.file,
            "line": loc.as_ref().map(|l| l.line),
            "column": loc.as_ref().map(|l| l.column),
            "message": e.message,
        });
        add_rendered(&mut v, loc.as_ref());
        v
    };
    let errors: Vec<Value> = r.errors.iter().map(input).collect();
    let mut v = json!({ "findings": findings, "errors": errors, "summary": r.summary });
    if !r.warnings.is_empty() {
        // input warnings (an unknown rule in statelint.io/ignore), in the shape of `errors`
        v["warnings"] = r.warnings.iter().map(input).collect();
    }
    if r.show_suppressed {
        let suppressed: Vec<Value> = r
            .sorted_suppressed()
            .into_iter()
            .map(|(f, loc)| {
                let mut v = finding((f, loc));
                v["reason"] = json!(suppression_reason(f));
                v
            })
            .collect();
        v.as_object_mut()
            .unwrap()
            .insert("suppressed".into(), json!(suppressed));
    }
    v
}

/// Findings on rendered input (a Helm chart, a Kustomize folder) carry `rendered`: the tool,
/// the folder, the command, and the line, column and text in its output (`file`, `line` and
/// `column` are then in the template or resource file).
fn add_rendered(v: &mut Value, loc: Option<&Location>) {
    if let Some(at) = loc.and_then(|l| l.rendered.as_ref()) {
        v.as_object_mut()
            .unwrap()
            .insert("rendered".into(), json!(at));
    }
}

pub fn write(r: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::fixture;

    #[test]
    fn shape_and_suppressed_list() {
        let fx = fixture();
        let mut r = fx.report();
        let v = to_value(&r);
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["errors", "findings", "summary"]);
        let f = &v["findings"][1];
        assert_eq!(f["code"], "SL001");
        for k in [
            "code", "rule", "severity", "object", "file", "line", "column", "message", "help",
        ] {
            assert!(f.get(k).is_some(), "finding has no {k}");
        }
        assert_eq!(f["object"]["apiVersion"], "apps/v1");
        assert_eq!(f["line"], 26);
        assert_eq!(v["errors"][0]["line"], 1);
        assert_eq!(v["errors"][0]["column"], 7);
        assert_eq!(v["errors"][1]["line"], Value::Null);
        assert_eq!(v["summary"]["suppressed"], 1);
        r.show_suppressed = true;
        let v = to_value(&r);
        assert_eq!(v["suppressed"][0]["code"], "SL002");
        assert_eq!(
            v["suppressed"][0]["reason"],
            "PDB is managed by the \"operator\""
        );
    }
}
