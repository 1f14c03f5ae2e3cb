//! The pre-commit hook on a Helm chart and a Kustomize overlay, with the real pre-commit: a
//! changed template, `_helpers.tpl`, values file, kustomization or resource re-checks its chart
//! or overlay, rendered, and the hook passes or fails as the rendered manifests do. The checks
//! live in tests/precommit_render_test.py; it runs the shipped `.pre-commit-hooks.yaml` (from a
//! scratch hook repository at its commit SHA, `language: system` so that this build's binary
//! runs) with kubectl and tests/tools/helm — a `helm template` STAND-IN on helm-python-sdk,
//! because no helm binary can be installed here. A missing tool fails the test and says to run
//! `bash scripts/test.sh`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn scenario(name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(root.join("tests/precommit_render_test.py"))
        .arg(name)
        .current_dir(root)
        .env("STATELINT_BIN", env!("CARGO_BIN_EXE_statelint"))
        .output()
        .expect("python3 is needed for the pre-commit test: run `bash scripts/test.sh`");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    eprintln!("pre-commit {name}: {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "pre-commit chart test `{name}` failed:\n{stdout}{stderr}"
    );
}

/// Production values (five voters, budget at their quorum) staged: the chart passes.
#[test]
fn values_change_that_keeps_quorum_passes() {
    scenario("chart-values-good");
}

/// Five voters with the budget left at 2: the rendered PDB fails SL002, at the template.
#[test]
fn values_change_that_breaks_quorum_fails_at_the_template() {
    scenario("chart-values-bad");
}

/// A template hard-codes `minAvailable: 1`: SL002 at that template.
#[test]
fn template_change_fails_as_rendered() {
    scenario("chart-template-bad");
}

/// `_helpers.tpl` changes (not YAML): the hook runs on it and checks the chart, which passes.
#[test]
fn helpers_change_rechecks_the_chart() {
    scenario("chart-helpers-good");
}

/// The overlay's patch lowers the budget below quorum: SL002 at the base's pdb.yaml.
#[test]
fn overlay_change_fails_as_rendered() {
    scenario("kustomize-overlay-bad");
}

/// A base resource changes: the base renders and passes.
#[test]
fn base_change_passes() {
    scenario("kustomize-base-good");
}
