//! Every fixture under `fixtures/<rule-slug>/` is checked on its own:
//! - `fail-*.yaml` must produce at least one finding of that rule (so weakening a rule fails);
//! - `pass-*.yaml` must produce none of it;
//!
//! and the human and JSON reports of every fixture are snapshot-tested (insta), so any change in
//! wording, position or verdict is reviewed. A `.statelint.yaml` in the rule's folder applies.
//!
//! The other formats (GitHub annotations, JUnit, SARIF) render the same findings; like ruff, they
//! are snapshot-tested on a few representative inputs only, one per output feature (the seed in
//! tests/seed.rs; here a companion note, a suppressed finding with an input warning, an input
//! error), so that a new rule or a reworded message does not rewrite hundreds of files.

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
        if slug == "seed" || slug == "formats" {
            return; // the seed: tests/seed.rs; formats: below
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
    });
}

/// GitHub, JUnit and SARIF output on representative inputs: a finding on a companion with a note
/// on the StatefulSet, a suppressed finding next to a reported one and an input warning (an
/// unknown rule in `statelint.io/ignore`), an input error. SARIF: results and invocations (the
/// rule metadata, the same in every log, is pinned by the seed's snapshot).
#[test]
fn other_formats_on_representative_inputs() {
    for (name, file) in [
        (
            "companion-note",
            "fixtures/headless-service/fail-not-headless.yaml",
        ),
        ("suppressed", "fixtures/formats/suppressed.yaml"),
        ("input-error", "fixtures/formats/input-error.yaml"),
    ] {
        let path = Path::new(file);
        let (github, _) = lint(path, Format::Github);
        insta::assert_snapshot!(format!("formats_{name}_github"), github);
        let (junit, _) = lint(path, Format::Junit);
        roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("{name}: {e}\n{junit}"));
        insta::assert_snapshot!(format!("formats_{name}_junit"), junit);
        let (sarif, _) = lint(path, Format::Sarif);
        let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        let run = &sarif["runs"][0];
        let part =
            serde_json::json!({"results": run["results"], "invocations": run["invocations"]});
        insta::assert_snapshot!(
            format!("formats_{name}_sarif"),
            serde_json::to_string_pretty(&part).unwrap()
        );
    }
}
