//! The `statelint` command line, end to end: exit codes, stdin, namespaces, rule selection,
//! configuration discovery and errors, `rules`, `explain`, and the report formats.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// A StatefulSet on a removed API (`deprecated-api`, a warning) without a headless Service
/// (`headless-service`, an error).
const OLD_STS: &str = "apiVersion: apps/v1beta1
kind: StatefulSet
metadata:
  name: kafka
spec:
  serviceName: ''
  replicas: 3
  selector:
    matchLabels: {app: kafka}
  template:
    metadata:
      labels: {app: kafka}
    spec:
      containers:
        - name: kafka
          image: kafka:3.7
";

fn statelint(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("statelint").unwrap();
    c.current_dir(dir).env("NO_COLOR", "1");
    c
}

fn tmp_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("{e}:\n{}", String::from_utf8_lossy(out)))
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn clean_input_exits_0() {
    let dir = tmp_with(&[(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )]);
    statelint(dir.path())
        .args(["check", "cm.yaml"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 object"));
}

#[test]
fn no_path_means_the_working_folder() {
    let dir = tmp_with(&[
        (
            "a/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
        (
            "b.json",
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}"#,
        ),
    ]);
    let out = statelint(dir.path())
        .args(["check", "-f", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["summary"]["files"], 2);
    assert_eq!(v["summary"]["objects"], 2);
}

#[test]
fn findings_exit_1_and_fail_on_controls_it() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS)]);
    statelint(dir.path())
        .args(["check", "sts.yaml"])
        .assert()
        .code(1);
    statelint(dir.path())
        .args(["check", "sts.yaml", "--fail-on", "never"])
        .assert()
        .code(0);
    // only a warning left: passes by default, fails with --fail-on warning
    statelint(dir.path())
        .args(["check", "sts.yaml", "--select", "deprecated-api"])
        .assert()
        .code(0);
    statelint(dir.path())
        .args([
            "check",
            "sts.yaml",
            "--select",
            "SL006",
            "--fail-on",
            "warning",
        ])
        .assert()
        .code(1);
}

#[test]
fn input_error_exits_2_even_with_findings() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS), ("bad.yaml", "kind: [\n")]);
    let out = statelint(dir.path())
        .args(["check", "-f", "json", "."])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let e = &v["errors"][0];
    assert_eq!(e["file"], "bad.yaml");
    assert_eq!(e["line"], 2);
    assert_eq!(e["column"], 1);
    assert!(e["message"].as_str().unwrap().contains("YAML"));
    assert!(!codes(&v).is_empty(), "the other file is still checked");
    statelint(dir.path())
        .args(["check", ".", "--fail-on", "never"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("bad.yaml"));
}

#[test]
fn missing_path_is_an_input_error() {
    let dir = tmp_with(&[]);
    statelint(dir.path())
        .args(["check", "nope.yaml"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("nope.yaml"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tmp_with(&[]);
    statelint(dir.path())
        .args(["check", "--no-such-flag"])
        .assert()
        .code(2);
    statelint(dir.path())
        .args(["check", "--format", "xml"])
        .assert()
        .code(2);
    statelint(dir.path())
        .args(["check", "--select", "SL001,no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `no-such-rule`"));
    statelint(dir.path())
        .args(["check", "--ignore", "SL999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `SL999`"));
}

#[test]
fn stdin_and_namespace() {
    let dir = tmp_with(&[]);
    let out = statelint(dir.path())
        .args(["check", "-f", "junit", "-n", "kafka-prod", "-"])
        .write_stdin(OLD_STS)
        .assert()
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let names: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    // one test case per rule
    assert_eq!(names.len(), statelint::rules::all().len(), "{xml}");
    assert!(names.iter().all(|n| *n == "kafka-prod/kafka"), "{names:?}");

    let out = statelint(dir.path())
        .args(["check", "-f", "json", "-"])
        .write_stdin(OLD_STS)
        .assert()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["summary"]["files"], 1);
    assert_eq!(v["summary"]["statefulsets"], 1);
    assert!(
        !codes(&v).is_empty(),
        "findings for the StatefulSet read from stdin"
    );
    let f = &v["findings"][0];
    assert_eq!(f["file"], "-");
    assert_eq!(f["object"]["namespace"], "default");
}

#[test]
fn metadata_namespace_wins_over_the_flag() {
    let dir = tmp_with(&[]);
    let text = OLD_STS.replace("  name: kafka\n", "  name: kafka\n  namespace: own\n");
    let out = statelint(dir.path())
        .args(["check", "-f", "junit", "-n", "flag", "-"])
        .write_stdin(text)
        .assert()
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    assert!(xml.contains(r#"name="own/kafka""#), "{xml}");
    assert!(!xml.contains("flag/"), "{xml}");
}

#[test]
fn select_and_ignore_take_codes_and_slugs() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS)]);
    let run = |args: &[&str]| {
        let out = statelint(dir.path())
            .args(["check", "-f", "json", "--fail-on", "never", "sts.yaml"])
            .args(args)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let mut c = codes(&json_of(&out));
        c.dedup();
        c
    };
    assert_eq!(run(&["--select", "SL006"]), ["SL006"]);
    assert_eq!(run(&["--select", "deprecated-api"]), ["SL006"]);
    let both = run(&["--select", "sl006,headless-service"]);
    assert!(
        both.contains(&"SL001".into()) && both.contains(&"SL006".into()),
        "{both:?}"
    );
    assert!(!run(&["--ignore", "deprecated-api"]).contains(&"SL006".into()));
    assert!(!run(&["--ignore", "SL006"]).contains(&"SL006".into()));
}

#[test]
fn suppression_annotation_is_counted() {
    let text = OLD_STS.replace(
        "  name: kafka\n",
        "  name: kafka\n  annotations:\n    statelint.io/ignore: \"deprecated-api,SL001\"\n    statelint.io/ignore-reason: migrating next sprint\n",
    );
    let dir = tmp_with(&[("sts.yaml", &text)]);
    let out = statelint(dir.path())
        .args(["check", "-f", "json", "--fail-on", "never", "sts.yaml"])
        .assert()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert!(!codes(&v).iter().any(|c| c == "SL006" || c == "SL001"));
    assert!(v["summary"]["suppressed"].as_u64().unwrap() >= 2);
    assert!(v.get("suppressed").is_none());
    let out = statelint(dir.path())
        .args(["check", "-f", "json", "--show-suppressed", "sts.yaml"])
        .assert()
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let s = v["suppressed"].as_array().unwrap();
    assert!(s.iter().any(|f| f["code"] == "SL006"));
    assert_eq!(s[0]["reason"], "migrating next sprint");
    statelint(dir.path())
        .args(["check", "--show-suppressed", "sts.yaml"])
        .assert()
        .stdout(predicate::str::contains(
            "suppressed by statelint.io/ignore: migrating next sprint",
        ));
}

#[test]
fn config_errors_point_at_the_bad_key() {
    let dir = tmp_with(&[(
        ".statelint.yaml",
        "rules:\n  pod-anti-affinity:\n    require: required\n  volume-claim-storage-class:\n    storage-class: [fast]\n",
    )]);
    statelint(dir.path())
        .args(["check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".statelint.yaml:5:5:"))
        .stderr(predicate::str::contains("unknown option `storage-class`"));
    let dir = tmp_with(&[("cfg.yaml", "disable: [odd-replicas]\nseverity: {}\n")]);
    statelint(dir.path())
        .args(["check", "--config", "cfg.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cfg.yaml:2:1:"))
        .stderr(predicate::str::contains("unknown key `severity`"));
}

#[test]
fn config_is_discovered_upward() {
    let dir = tmp_with(&[
        (".statelint.yaml", "disable: [no-such-rule]\n"),
        (
            "a/b/c/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
    ]);
    statelint(&dir.path().join("a/b/c"))
        .args(["check", "cm.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".statelint.yaml:1:11:"))
        .stderr(predicate::str::contains("unknown rule `no-such-rule`"));
    // a good config up the tree applies: every rule disabled, so nothing runs
    let codes: Vec<&str> = statelint::rules::all()
        .iter()
        .map(|r| r.meta().code)
        .collect();
    let all = format!("disable: [{}]\n", codes.join(", "));
    std::fs::write(dir.path().join(".statelint.yaml"), all).unwrap();
    std::fs::write(dir.path().join("a/b/c/sts.yaml"), OLD_STS).unwrap();
    let out = statelint(&dir.path().join("a/b/c"))
        .args(["check", "-f", "junit", "sts.yaml"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    assert!(!xml.contains("<testcase"), "{xml}");
    // --config wins over discovery
    std::fs::write(dir.path().join("a/b/mine.yaml"), "disable: []\n").unwrap();
    let out = statelint(&dir.path().join("a/b/c"))
        .args([
            "check",
            "-f",
            "junit",
            "--fail-on",
            "never",
            "--config",
            "../mine.yaml",
            "sts.yaml",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let xml = String::from_utf8(out).unwrap();
    assert_eq!(
        xml.matches("<testcase").count(),
        statelint::rules::all().len(),
        "{xml}"
    );
}

#[test]
fn rules_lists_every_rule() {
    let dir = tmp_with(&[]);
    let out = statelint(dir.path())
        .arg("rules")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for i in 1..=11 {
        assert!(
            text.contains(&format!("SL{i:03}")),
            "SL{i:03} missing:\n{text}"
        );
    }
    for slug in [
        "headless-service",
        "pdb-quorum",
        "dangling-pod-affinity",
        "ensemble-members",
    ] {
        assert!(text.contains(slug));
    }
}

#[test]
fn explain_prints_the_page() {
    let dir = tmp_with(&[]);
    let page = include_str!("../rules/SL002-pdb-quorum.md");
    statelint(dir.path())
        .args(["explain", "SL002"])
        .assert()
        .code(0)
        .stdout(page);
    statelint(dir.path())
        .args(["explain", "pdb-quorum"])
        .assert()
        .code(0)
        .stdout(page);
    statelint(dir.path())
        .args(["explain", "sl002"])
        .assert()
        .code(0)
        .stdout(page);
    statelint(dir.path())
        .args(["explain", "quorum"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `quorum`"));
    statelint(dir.path())
        .args(["explain", "headless-servce"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown rule `headless-servce`; did you mean `headless-service`?",
        ));
}

#[test]
fn json_has_the_spec_shape() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS), ("bad.yaml", "kind: [\n")]);
    let out = statelint(dir.path())
        .args(["check", "-f", "json", "sts.yaml", "bad.yaml"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    for k in ["findings", "errors", "summary"] {
        assert!(v.get(k).is_some(), "no {k}");
    }
    for k in [
        "files",
        "objects",
        "statefulsets",
        "errors",
        "warnings",
        "suppressed",
    ] {
        assert!(v["summary"][k].is_u64(), "summary.{k}");
    }
    assert_eq!(v["summary"]["files"], 2);
    for k in ["file", "line", "column", "message"] {
        assert!(v["errors"][0].get(k).is_some(), "errors[].{k}");
    }
    let f = &v["findings"][0];
    for k in [
        "code", "rule", "severity", "object", "file", "line", "column", "message", "help",
    ] {
        assert!(f.get(k).is_some(), "findings[].{k}");
    }
    for k in ["apiVersion", "kind", "namespace", "name"] {
        assert!(f["object"][k].is_string(), "findings[].object.{k}");
    }
    assert!(f["line"].as_u64().unwrap() >= 1);
    assert!(f["column"].as_u64().unwrap() >= 1);
}

/// Validate against the OASIS SARIF 2.1.0 schema shipped in tests/schemas.
fn validate_sarif(v: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("schemas/sarif-schema-2.1.0.json")).unwrap();
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
        panic!("invalid SARIF: {e:#}\n{v:#}");
    }
}

#[test]
fn sarif_from_stdin_and_suppressed_findings_validates() {
    let text = OLD_STS.replace(
        "  name: kafka\n",
        "  name: kafka\n  annotations:\n    statelint.io/ignore: all\n",
    );
    let dir = tmp_with(&[("sts.yaml", &text)]);
    for args in [
        &["check", "-f", "sarif", "-"][..],
        &["check", "-f", "sarif", "sts.yaml"],
    ] {
        let out = statelint(dir.path())
            .args(args)
            .write_stdin(OLD_STS)
            .assert()
            .get_output()
            .stdout
            .clone();
        let v = json_of(&out);
        validate_sarif(&v);
        if args[3] == "sts.yaml" {
            let results = v["runs"][0]["results"].as_array().unwrap();
            assert!(!results.is_empty());
            assert!(
                results
                    .iter()
                    .all(|r| r["suppressions"][0]["kind"] == "inSource")
            );
        }
    }
}

#[test]
fn sarif_and_github_formats_run() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS), ("bad.yaml", "kind: [\n")]);
    let out = statelint(dir.path())
        .args(["check", "-f", "sarif", "."])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    validate_sarif(&v);
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    let uri = &run["invocations"][0]["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"];
    assert_eq!(uri, "bad.yaml");
    statelint(dir.path())
        .args(["check", "-f", "github", "."])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "::error file=bad.yaml,line=2,col=1,",
        ));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS)]);
    // not a terminal: no escape codes
    statelint(dir.path())
        .env_remove("NO_COLOR")
        .args(["check", "sts.yaml"])
        .assert()
        .stdout(predicate::str::contains("\u{1b}[").not());
    statelint(dir.path())
        .args(["check", "--color", "always", "sts.yaml"])
        .assert()
        .stdout(predicate::str::contains("\u{1b}["));
}

#[test]
fn a_folder_without_manifests_is_a_warning_not_a_failure() {
    let dir = tmp_with(&[
        ("docs/README.md", "# no manifests here\n"),
        (
            "k8s/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
    ]);
    statelint(dir.path())
        .args(["check", "docs"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "warning: no manifests found in docs",
        ))
        .stdout(predicate::str::contains("in 0 files"));
    // one empty folder among others: the warning names it, the rest is checked
    statelint(dir.path())
        .args(["check", "docs", "k8s"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("no manifests found in docs"))
        .stderr(predicate::str::contains("k8s").not())
        .stdout(predicate::str::contains("in 1 file,"));
}

#[test]
fn empty_files_are_noted_in_the_summary() {
    let dir = tmp_with(&[
        ("empty.yaml", ""),
        ("comments.yml", "# only a comment\n---\n"),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
    ]);
    statelint(dir.path())
        .args(["check", "."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("in 3 files (2 empty),"))
        .stderr(predicate::str::is_empty());
    let out = statelint(dir.path())
        .args(["check", "-f", "json", "."])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["summary"]["files"], 3);
    assert_eq!(v["summary"]["empty_files"], 2);
    // no empty file: no key, no note
    let out = statelint(dir.path())
        .args(["check", "-f", "json", "cm.yaml"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert!(json_of(&out)["summary"].get("empty_files").is_none());
}

#[test]
fn every_config_error_in_file_order_with_did_you_mean() {
    // errors on lines 2 and 5 (a misspelt slug, a misspelt option), 6 (a misspelt top-level
    // key) and 7 (a misspelt code): all reported, in file order, each with its guess
    let dir = tmp_with(&[(
        ".statelint.yaml",
        "rules:\n  pod-antiaffinity: {}\n  pdb-quorum: {severity: warning}\n  volume-claim-storage-class:\n    storage-class: [fast]\ndisabel: [SL001]\nrule: []\n",
    )]);
    let out = statelint(dir.path())
        .args(["check"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].starts_with("error: ")
            && lines[0].contains(".statelint.yaml:2:3: unknown rule `pod-antiaffinity`; did you mean `pod-anti-affinity`?"),
        "{err}"
    );
    assert!(
        lines[1].contains(".statelint.yaml:5:5: unknown option `storage-class` for rule SL004 volume-claim-storage-class; did you mean `storage-classes`?"),
        "{err}"
    );
    assert!(
        lines[2].contains(".statelint.yaml:6:1: unknown key `disabel`; did you mean `disable`?"),
        "{err}"
    );
    assert!(
        lines[3].contains(".statelint.yaml:7:1: unknown key `rule`; did you mean `rules`?"),
        "{err}"
    );
    // a misspelt code in `disable`
    let dir = tmp_with(&[(".statelint.yaml", "disable: [SL099]\n")]);
    statelint(dir.path())
        .args(["check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ".statelint.yaml:1:11: unknown rule `SL099`; did you mean `SL009`?",
        ));
}

#[test]
fn select_and_ignore_unknown_rules_exit_2_with_did_you_mean() {
    let dir = tmp_with(&[("sts.yaml", OLD_STS)]);
    statelint(dir.path())
        .args(["check", "--select", "SL001,pdb-qorum", "sts.yaml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "--select: unknown rule `pdb-qorum`; did you mean `pdb-quorum`?",
        ));
    statelint(dir.path())
        .args(["check", "--ignore", "SL10", "sts.yaml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "--ignore: unknown rule `SL10`; did you mean `SL010`?",
        ));
}

/// An unknown rule in `statelint.io/ignore` suppresses nothing: a warning at the entry, in every
/// format, that changes no exit code (not even with `--fail-on warning`).
#[test]
fn unknown_rule_in_ignore_annotation_is_a_warning_in_every_format() {
    let sts = OLD_STS.replacen(
        "metadata:\n",
        "metadata:\n  annotations:\n    statelint.io/ignore: \"SL006, pod-antiaffinity\"\n",
        1,
    );
    assert!(sts.contains("pod-antiaffinity"), "{sts}");
    let dir = tmp_with(&[("sts.yaml", &sts)]);
    let line = sts
        .lines()
        .position(|l| l.contains("statelint.io/ignore"))
        .unwrap()
        + 1;
    let col = sts
        .lines()
        .nth(line - 1)
        .unwrap()
        .find("pod-antiaffinity")
        .unwrap()
        + 1;
    let text = "names no rule `pod-antiaffinity`, so that entry suppresses nothing; did you mean `pod-anti-affinity`?";
    let run = |format: &str, fail_on: &str| {
        let out = statelint(dir.path())
            .args([
                "check",
                "-f",
                format,
                "--fail-on",
                fail_on,
                "--select",
                "SL006",
                "sts.yaml",
            ])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    // SL006 is suppressed, so nothing else fires: exit 0 whatever --fail-on says
    for fail_on in ["error", "warning"] {
        let (code, human) = run("human", fail_on);
        assert_eq!(code, Some(0), "{human}");
        assert!(
            human.contains(&format!(
                "warning: statelint.io/ignore of StatefulSet default/kafka {text}"
            )),
            "{human}"
        );
        assert!(human.contains(&format!("sts.yaml:{line}:{col}")), "{human}");
    }
    let (code, json) = run("json", "warning");
    assert_eq!(code, Some(0));
    let v = json_of(json.as_bytes());
    let w = &v["warnings"][0];
    assert!(w["message"].as_str().unwrap().contains(text), "{v}");
    assert_eq!(
        (w["line"].as_u64(), w["column"].as_u64()),
        (Some(line as u64), Some(col as u64))
    );
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["suppressed"], 1);
    let (code, github) = run("github", "warning");
    assert_eq!(code, Some(0));
    assert!(
        github.contains(&format!("::warning file=sts.yaml,line={line},col={col},"))
            && github.contains(text),
        "{github}"
    );
    let (code, sarif) = run("sarif", "warning");
    assert_eq!(code, Some(0));
    let v = json_of(sarif.as_bytes());
    let n = &v["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(n["level"], "warning", "{v}");
    assert!(n["message"]["text"].as_str().unwrap().contains(text));
    assert_eq!(
        n["locations"][0]["physicalLocation"]["region"]["startLine"],
        line
    );
    assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);
    let (code, junit) = run("junit", "warning");
    assert_eq!(code, Some(0));
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let out = doc
        .descendants()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("no system-out: {junit}"));
    assert!(
        out.contains(text) && out.contains(&format!("sts.yaml:{line}:{col}")),
        "{junit}"
    );
    let root = doc.root_element();
    assert_eq!(root.attribute("failures"), Some("0"));
    assert_eq!(root.attribute("errors"), Some("0"));
}
