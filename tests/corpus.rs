//! statelint over real public manifests (`../shared/corpus`, other projects' files, never
//! copied here): a snapshot of the JSON findings of each project folder, checked on its own,
//! so every change in verdicts on real manifests is reviewed. See docs/corpus.md for the
//! per-file review. The corpus is `../shared/corpus` beside this repository (where CI has it),
//! or STATELINT_CORPUS. Where it is absent the test FAILS, unless the run opts out explicitly
//! with STATELINT_NO_CORPUS=1 (a clone without the shared folder); the opt-out is never set
//! by scripts/test.sh or .ci/run.

use std::path::{Path, PathBuf};

use statelint::report::Format;
use statelint::{CheckOptions, check};

/// The corpus folder; panics where it is absent, unless STATELINT_NO_CORPUS=1 (then None).
fn corpus_root() -> Option<PathBuf> {
    let root = std::env::var_os("STATELINT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if root.is_dir() {
        return Some(root);
    }
    let opted_out = std::env::var("STATELINT_NO_CORPUS").is_ok_and(|v| v == "1");
    assert!(
        opted_out,
        "no corpus at {}: put the shared folder beside this repository, point STATELINT_CORPUS \
         at the corpus, or opt out of this test explicitly with STATELINT_NO_CORPUS=1",
        root.display()
    );
    None
}

#[test]
fn corpus_findings_snapshot() {
    let Some(root) = corpus_root() else {
        // explicit opt-out (STATELINT_NO_CORPUS=1), asked for by whoever runs the tests
        return;
    };
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    projects.sort();
    assert!(
        !projects.is_empty(),
        "corpus at {} has no project folders",
        root.display()
    );
    for project in projects {
        let name = project.file_name().unwrap().to_string_lossy().to_string();
        let run = check(&CheckOptions {
            paths: vec![project.clone()],
            namespace: "default".into(),
            ..Default::default()
        });
        let mut out = Vec::new();
        run.report().write(Format::Json, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let prefix = format!("{}/", root.display());
        let text = text.replace(&prefix, "corpus/");
        let report: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            report["errors"],
            serde_json::json!([]),
            "{name}: input errors on valid public manifests"
        );
        insta::assert_snapshot!(format!("corpus-{name}"), text);
    }
}
