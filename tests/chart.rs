//! The Helm chart (charts/statelint): lint, render, Kubernetes schema, checkov, bad values.
//! The checks live in tests/chart_test.py (Helm v4 through helm-python-sdk, kubernetes-validate,
//! checkov); this runs it under `cargo test`. A missing Python package fails the test and says
//! to run `bash scripts/test.sh`, which installs tests/requirements.txt into target/venv.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[test]
fn helm_chart() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(root.join("tests/chart_test.py"))
        .current_dir(root)
        .env("STATELINT_BIN", env!("CARGO_BIN_EXE_statelint"))
        .output()
        .expect("python3 is needed for the chart tests: run `bash scripts/test.sh`");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    eprintln!("chart tests took {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "chart tests failed (python3 tests/chart_test.py):\n{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
}
