//! The pre-commit hook (.pre-commit-hooks.yaml), built as pre-commit builds it (`cargo install`
//! of this working tree, release) and run on staged files of scratch git repositories. The checks
//! live in tests/precommit_test.py; a missing `pre-commit` package fails the test and says what to
//! install (.ci/run installs it). The first run after a change builds the hook (about 1.5 min
//! with release dependencies already in target/), later runs reuse it.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

/// The scenarios share the shadow repository and pre-commit's store: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn scenario(name: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(root.join("tests/precommit_test.py"))
        .arg(name)
        .current_dir(root)
        .output()
        .expect("python3 is needed for the pre-commit test (run .ci/run)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    eprintln!("pre-commit {name}: {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "pre-commit hook test `{name}` failed:\n{stdout}{stderr}"
    );
}

/// A StatefulSet whose headless Service and PDB sit in a committed, unchanged file passes.
#[test]
fn hook_passes_a_good_statefulset_with_companions_in_unchanged_files() {
    scenario("good");
}

/// A StatefulSet with no headless Service and no PDB fails with SL001 and SL002.
/// (SL001/SL002 are written on other branches: until they are merged this test fails.)
#[test]
fn hook_fails_on_a_bad_statefulset() {
    scenario("bad");
}
