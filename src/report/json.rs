//! `--format json`: the machine-readable report of SPEC section 4.

use std::io::Write;

use serde_json::{Value, json};

use super::Report;

/// The report as a JSON value.
pub fn to_value(r: &Report<'_>) -> Value {
    let findings: Vec<Value> = r
        .sorted_findings()
        .into_iter()
        .map(|(f, loc)| {
            json!({
                "code": f.rule.code,
                "rule": f.rule.slug,
                "severity": f.severity,
                "object": f.object.key,
                "file": loc.as_ref().map(|l| l.file.clone()),
                "line": loc.as_ref().map(|l| l.line),
                "column": loc.as_ref().map(|l| l.column),
                "message": f.message,
                "help": f.help,
            })
        })
        .collect();
    let errors: Vec<Value> = r
        .errors
        .iter()
        .map(|e| {
            let loc = r.error_location(e);
            json!({
                "file": e.file,
                "line": loc.as_ref().map(|l| l.line),
                "column": loc.as_ref().map(|l| l.column),
                "message": e.message,
            })
        })
        .collect();
    json!({ "findings": findings, "errors": errors, "summary": r.summary })
}

pub fn write(r: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    writeln!(out)
}
