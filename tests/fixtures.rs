//! Every fixture under `fixtures/<rule-slug>/` is checked on its own:
//! - `fail-*.yaml` must produce at least one finding of that rule (so weakening a rule fails);
//! - `pass-*.yaml` must produce none of it;
//!
//! and every report format of every fixture is snapshot-tested (insta: human, JSON, GitHub
//! annotations, JUnit, SARIF results), so any change in
//! wording, position or verdict is reviewed. A `.statelint.yaml` in the rule's folder applies.

use std::path::{Path, PathBuf};

use statelint::config::Config;
use statelint::report::Format;
use statelint::{CheckOptions, check};

fn lint(path: &Path, format: Format) -> (String, statelint::CheckRun) {
    let dir = path.parent().unwrap();
    let config = match Config::discover(dir).filter(|p| p.starts_with("fixtures")) {
        Some(p) => Config::load(&p, &statelint::rules::Registry).unwrap(),
        None => Config::default(),
    };
    let opts = CheckOptions {
        paths: vec![path.to_path_buf()],
        namespace: "default".into(),
        config,
        ..Default::default()
    };
    let run = check(&opts);
    let mut out = Vec::new();
    run.report().write(format, false, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), run)
}

/// Path relative to the crate root, so reports name `fixtures/...` on every machine.
fn relative(path: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

#[test]
fn fixtures_fire_their_rule_and_match_snapshots() {
    insta::glob!("../fixtures", "*/*.yaml", |abs| {
        let path = relative(abs);
        let slug = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.starts_with('.') {
            return; // the folder's .statelint.yaml, not a fixture
        }
        if slug == "seed" {
            return; // checked as a whole folder in tests/seed.rs
        }
        let (human, result) = lint(&path, Format::Human);
        let fired: Vec<_> = result
            .outcome
            .findings
            .iter()
            .filter(|f| f.rule.slug == slug)
            .collect();
        assert!(
            statelint::rules::lookup(slug).is_some(),
            "fixtures/{slug}: not a rule slug"
        );
        if name.starts_with("fail") {
            assert!(
                !fired.is_empty(),
                "{}: expected a {slug} finding, got none:\n{human}",
                path.display()
            );
        } else if name.starts_with("pass") {
            assert!(
                fired.is_empty(),
                "{}: expected no {slug} finding:\n{human}",
                path.display()
            );
        } else {
            panic!(
                "{}: fixture names start with fail- or pass-",
                path.display()
            );
        }
        insta::assert_snapshot!("human", human);
        let (json, _) = lint(&path, Format::Json);
        insta::assert_snapshot!("json", json);
        let (github, _) = lint(&path, Format::Github);
        insta::assert_snapshot!("github", github);
        let (junit, _) = lint(&path, Format::Junit);
        insta::assert_snapshot!("junit", junit);
        // SARIF: the results (rule metadata, the same in every log, is pinned by the seed's
        // snapshot in tests/seed.rs and validated against the schema in the report tests)
        let (sarif, _) = lint(&path, Format::Sarif);
        let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        let results = serde_json::to_string_pretty(&sarif["runs"][0]["results"]).unwrap();
        insta::assert_snapshot!("sarif-results", results);
    });
}
