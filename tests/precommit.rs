//! The pre-commit hook with the real pre-commit, on staged files of scratch git repositories:
//! the shipped `.pre-commit-hooks.yaml` used as a remote repository (`rev:` a commit SHA), and
//! the documented `repo: local` / `language: system` form (docs/install.md). Both run the
//! statelint binary this test build already made (put first on PATH), so no run `cargo
//! install`s the hook: the `language: rust` build's cost is measured in bench/install.sh. The
//! checks live in tests/precommit_test.py; a missing `pre-commit` package fails the test and
//! says to run `bash scripts/test.sh` (which installs tests/requirements.txt into target/venv).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn scenario(form: &str, name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(root.join("tests/precommit_test.py"))
        .args([form, name])
        .current_dir(root)
        .env("STATELINT_BIN", env!("CARGO_BIN_EXE_statelint"))
        .output()
        .expect("python3 is needed for the pre-commit test: run `bash scripts/test.sh`");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    eprintln!(
        "pre-commit {form} {name}: {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "pre-commit hook test `{form} {name}` failed:\n{stdout}{stderr}"
    );
}

/// Remote form: a StatefulSet whose headless Service and PDB sit in a committed, unchanged file
/// passes.
#[test]
fn remote_hook_passes_a_good_statefulset_with_companions_in_unchanged_files() {
    scenario("remote", "good");
}

/// Remote form: a StatefulSet with no headless Service and no PDB fails with SL001 and SL002.
#[test]
fn remote_hook_fails_on_a_bad_statefulset() {
    scenario("remote", "bad");
}

/// The documented `repo: local` form passes the good StatefulSet.
#[test]
fn local_hook_passes_a_good_statefulset() {
    scenario("local", "good");
}

/// The documented `repo: local` form fails the bad StatefulSet with SL001 and SL002.
#[test]
fn local_hook_fails_on_a_bad_statefulset() {
    scenario("local", "bad");
}

/// What the hook relies on, without building it: `--context` finds the Service in another file,
/// and a context file that does not parse (a Helm template) is no input error.
#[test]
fn context_reads_companions_and_skips_unparsable_files() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    };
    write(
        "service.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: zk-hs\nspec:\n  clusterIP: None\n  selector:\n    app: zk\n",
    );
    write(
        "chart/templates/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Values.name }}\n",
    );
    let sts = write(
        "sts.yaml",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: zk\nspec:\n  serviceName: zk-hs\n  selector:\n    matchLabels:\n      app: zk\n  template:\n    metadata:\n      labels:\n        app: zk\n    spec:\n      containers:\n        - name: zk\n          image: zookeeper:3.9\n",
    );
    let run = statelint::check(&statelint::CheckOptions {
        paths: vec![sts.clone()],
        context: vec![dir.path().to_path_buf()],
        namespace: "default".into(),
        ..Default::default()
    });
    assert!(run.loaded.errors.is_empty(), "{:?}", run.loaded.errors);
    assert_eq!(run.files, 1, "only the checked file is reported on");
    assert_eq!(run.objects.len(), 1);
    assert!(
        run.outcome.findings.iter().all(|f| f.rule.code != "SL001"),
        "the Service in the context was not found"
    );

    // the same template, checked itself, is an input error
    let broken = dir.path().join("chart/templates/svc.yaml");
    let run = statelint::check(&statelint::CheckOptions {
        paths: vec![broken],
        namespace: "default".into(),
        ..Default::default()
    });
    assert_eq!(run.loaded.errors.len(), 1);
}
