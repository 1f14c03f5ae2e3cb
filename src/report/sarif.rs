//! `--format sarif`: a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers.
//!
//! One run; `tool.driver.rules` lists every rule (so `ruleIndex` is stable across runs and
//! configurations) with its page as help. File URIs are relative to the working folder under
//! `uriBaseId: "%SRCROOT%"` (files outside it get absolute `file://` URIs), columns count
//! Unicode code points (`columnKind: "unicodeCodePoints"`). Findings suppressed by
//! `statelint.io/ignore` are results with an `inSource` suppression; input errors are
//! `toolExecutionNotifications` of the invocation, which is then not successful.
//!
//! `tests/schemas/sarif-schema-2.1.0.json` (the OASIS schema) validates the output in tests.

use std::io::Write;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::{FileRef, Location, Report, file_ref, suppression_reason};
use crate::rules::{self, Finding, RuleMeta, Severity};

/// SARIF base id of the working folder.
pub const SRCROOT: &str = "%SRCROOT%";

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/statelint/statelint";

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The first paragraph of a rule page after its `# CODE slug` title and `> summary` line.
fn page_summary(page: &str) -> Option<String> {
    let mut para = Vec::new();
    for line in page
        .lines()
        .skip_while(|l| l.starts_with('#') || l.starts_with('>') || l.trim().is_empty())
    {
        if line.trim().is_empty() || line.starts_with('#') {
            break;
        }
        para.push(line.trim());
    }
    (!para.is_empty()).then(|| para.join(" "))
}

fn rule_descriptor(m: &RuleMeta) -> Value {
    let full = page_summary(m.page).unwrap_or_else(|| m.summary.to_string());
    json!({
        "id": m.code,
        "name": m.slug,
        "shortDescription": { "text": m.summary },
        "fullDescription": { "text": full, "markdown": full },
        "help": { "text": m.page, "markdown": m.page },
        "helpUri": m.url(),
        "defaultConfiguration": { "level": level(m.severity) },
        "properties": { "tags": ["kubernetes", "statefulset", m.slug] },
    })
}

/// A SARIF `location` for a resolved position, `None` for stdin.
fn location(r: &Report<'_>, loc: &Location, message: Option<&str>) -> Option<Value> {
    let artifact = match file_ref(&loc.file, &r.base()) {
        FileRef::Relative(p) => json!({ "uri": encode_path(&p), "uriBaseId": SRCROOT }),
        FileRef::Absolute(p) => json!({ "uri": format!("file://{}", encode_path(&p)) }),
        FileRef::Stdin => return None,
    };
    let region = json!({
        "startLine": loc.line,
        "startColumn": loc.column,
        "endLine": loc.end_line,
        "endColumn": loc.end_column.max(if loc.end_line == loc.line { loc.column } else { 1 }),
    });
    let mut l = json!({ "physicalLocation": { "artifactLocation": artifact, "region": region } });
    if let Some(text) = message {
        l["message"] = json!({ "text": text });
    }
    Some(l)
}

fn message_text(r: &Report<'_>, f: &Finding, loc: Option<&Location>) -> String {
    let mut text = if f.help.is_empty() {
        f.message.clone()
    } else {
        format!("{}\nhelp: {}", f.message, f.help)
    };
    if let Some(at) = loc.and_then(|l| l.rendered.as_ref()) {
        text.push_str(&format!("\n{}", at.describe()));
    }
    if let Some(at) = r.cluster_at(&f.at) {
        text.push_str(&format!("\n{} {}", f.at.object.key, at.describe()));
    }
    text
}

/// A cluster object as a SARIF logical location (`statelint audit`: there is no file).
fn logical_location(r: &Report<'_>, a: &crate::rules::Anchor) -> Option<Value> {
    let at = r.cluster_at(a)?;
    let k = &a.object.key;
    Some(json!({ "logicalLocations": [{
        "name": k.name,
        "fullyQualifiedName": format!("{}/{}/{}", k.namespace, k.kind, k.name),
        "kind": "resource",
    }], "properties": { "field": at.field, "kubectl": at.kubectl } }))
}

fn result(r: &Report<'_>, f: &Finding, loc: Option<Location>, suppressed: bool) -> Value {
    let index = rules::all()
        .iter()
        .position(|x| x.meta().code == f.rule.code)
        .unwrap_or(0);
    let key = &f.object.key;
    let rendered = loc.as_ref().and_then(|l| l.rendered.clone());
    let mut v = json!({
        "ruleId": f.rule.code,
        "ruleIndex": index,
        "level": level(f.severity),
        "message": { "text": message_text(r, f, loc.as_ref()) },
        "locations": loc
            .and_then(|l| location(r, &l, None))
            .or_else(|| logical_location(r, &f.at))
            .into_iter()
            .collect::<Vec<_>>(),
        "properties": {
            "rule": f.rule.slug,
            "object": key,
        },
    });
    if let Some(role) = &f.role {
        v["properties"]["role"] = json!(role.role);
        v["properties"]["roleReason"] = json!(role.reason);
    }
    let related: Vec<Value> = f
        .notes
        .iter()
        .filter_map(|(a, text)| location(r, &r.locate(a)?, Some(text)))
        .enumerate()
        .map(|(i, mut l)| {
            l["id"] = json!(i);
            l
        })
        .collect();
    if !related.is_empty() {
        v["relatedLocations"] = json!(related);
    }
    if let Some(at) = rendered {
        v["properties"]["rendered"] = json!(at);
    }
    if suppressed {
        let mut s = json!({ "kind": "inSource", "status": "accepted" });
        if let Some(reason) = suppression_reason(f) {
            s["justification"] = json!(reason);
        }
        v["suppressions"] = json!([s]);
    }
    v
}

/// The SARIF log as a JSON value.
pub fn to_value(r: &Report<'_>) -> Value {
    let mut results: Vec<Value> = r
        .sorted_findings()
        .into_iter()
        .map(|(f, loc)| result(r, f, loc, false))
        .collect();
    results.extend(
        r.sorted_suppressed()
            .into_iter()
            .map(|(f, loc)| result(r, f, loc, true)),
    );
    let notifications: Vec<Value> = r
        .errors
        .iter()
        .map(|e| (e, "error"))
        .chain(r.warnings.iter().map(|e| (e, "warning")))
        .map(|(e, level)| {
            let loc = r.error_location(e).and_then(|l| location(r, &l, None));
            let loc = loc.or_else(|| match file_ref(&e.file, &r.base()) {
                // an object of the cluster, named in the message
                _ if r.cluster => None,
                FileRef::Relative(p) => Some(json!({ "physicalLocation": {
                    "artifactLocation": { "uri": encode_path(&p), "uriBaseId": SRCROOT } } })),
                FileRef::Absolute(p) => Some(json!({ "physicalLocation": {
                    "artifactLocation": { "uri": format!("file://{}", encode_path(&p)) } } })),
                FileRef::Stdin => None,
            });
            json!({
                "level": level,
                "message": { "text": format!("{}: {}", e.file, e.message) },
                "descriptor": { "id": format!("input-{level}") },
                "locations": loc.into_iter().collect::<Vec<_>>(),
            })
        })
        .collect();
    let base = r.base();
    let mut base_uri = format!(
        "file://{}",
        encode_path(&base.to_string_lossy().replace('\\', "/"))
    );
    if !base_uri.ends_with('/') {
        base_uri.push('/');
    }
    if !base_uri.starts_with("file:///") {
        base_uri = base_uri.replacen("file://", "file:///", 1);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "statelint",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules::all().iter().map(|x| rule_descriptor(x.meta())).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": r.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": { SRCROOT: { "uri": base_uri } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

pub fn write(r: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(r))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::fixture;

    fn validate(v: &Value) {
        let schema: Value =
            serde_json::from_str(include_str!("../../tests/schemas/sarif-schema-2.1.0.json"))
                .unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        compiler
            .add_resource("https://example.invalid/sarif.json", schema)
            .unwrap();
        let id = compiler
            .compile("https://example.invalid/sarif.json", &mut schemas)
            .unwrap();
        if let Err(e) = schemas.validate(v, id) {
            panic!(
                "SARIF output is not valid against the 2.1.0 schema:\n{e:#}\n{}",
                serde_json::to_string_pretty(v).unwrap()
            );
        }
    }

    #[test]
    fn log_validates_against_the_schema() {
        let fx = fixture();
        let v = to_value(&fx.report());
        validate(&v);
    }

    #[test]
    fn empty_log_validates() {
        let sources = Default::default();
        let outcome = Default::default();
        let r = Report::new(&sources, &outcome, &[], 0, 0, 0);
        let v = to_value(&r);
        validate(&v);
        assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);
        assert_eq!(v["runs"][0]["results"], json!([]));
    }

    #[test]
    fn the_schema_rejects_a_broken_log() {
        // guard against a validator that accepts anything
        let fx = fixture();
        let mut v = to_value(&fx.report());
        v["runs"][0]["results"][0]["level"] = json!("fatal");
        let schema: Value =
            serde_json::from_str(include_str!("../../tests/schemas/sarif-schema-2.1.0.json"))
                .unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler
            .add_resource("https://example.invalid/s.json", schema)
            .unwrap();
        let id = compiler
            .compile("https://example.invalid/s.json", &mut schemas)
            .unwrap();
        assert!(schemas.validate(&v, id).is_err());
    }

    #[test]
    fn results_carry_rule_location_and_suppressions() {
        let fx = fixture();
        let v = to_value(&fx.report());
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), crate::rules::all().len());
        assert_eq!(rules[1]["id"], "SL002");
        assert_eq!(rules[1]["name"], "pdb-quorum");
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "error");
        assert!(
            rules[1]["helpUri"]
                .as_str()
                .unwrap()
                .ends_with("rules/SL002-pdb-quorum.md")
        );
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let sl001 = &results[1];
        assert_eq!(sl001["ruleId"], "SL001");
        assert_eq!(sl001["ruleIndex"], 0);
        assert_eq!(sl001["level"], "error");
        assert!(
            sl001["message"]["text"]
                .as_str()
                .unwrap()
                .contains("\nhelp: set clusterIP")
        );
        let pl = &sl001["locations"][0]["physicalLocation"];
        assert_eq!(
            pl["artifactLocation"]["uri"],
            "manifests/dir%20with%20space/kafka%2Czk.yaml"
        );
        assert_eq!(pl["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        // the clusterIP value of the Service
        assert_eq!(pl["region"]["startLine"], 26);
        assert_eq!(pl["region"]["startColumn"], 14);
        assert_eq!(pl["region"]["endLine"], 26);
        assert_eq!(pl["region"]["endColumn"], 22);
        assert_eq!(
            sl001["relatedLocations"][0]["message"]["text"],
            "named here"
        );
        let sl009 = &results[0];
        assert_eq!(sl009["level"], "warning");
        assert_eq!(sl009["ruleIndex"], 8);
        assert!(sl009.get("suppressions").is_none());
        let sup = &results[2];
        assert_eq!(sup["ruleId"], "SL002");
        assert_eq!(sup["suppressions"][0]["kind"], "inSource");
        assert_eq!(
            sup["suppressions"][0]["justification"],
            "PDB is managed by the \"operator\""
        );
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        let notes = inv["toolExecutionNotifications"].as_array().unwrap();
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0]["level"], "error");
        let region = &notes[0]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 1);
        assert_eq!(region["startColumn"], 7);
        assert_eq!(
            notes[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "missing.yaml"
        );
        assert_eq!(
            run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            "file:///work/repo/"
        );
    }

    #[test]
    fn paths_outside_the_base_are_absolute_file_uris() {
        assert_eq!(encode_path("/a b/c#d.yaml"), "/a%20b/c%23d.yaml");
        assert_eq!(encode_path("x/ü.yaml"), "x/%C3%BC.yaml");
    }

    #[test]
    fn summary_paragraph_of_a_page() {
        let page = "# SL002 pdb-quorum\n\nExactly one PDB\nkeeps quorum.\n\n## Why\n\ntext\n";
        assert_eq!(page_summary(page).unwrap(), "Exactly one PDB keeps quorum.");
        assert_eq!(page_summary("# T\n"), None);
    }
}
