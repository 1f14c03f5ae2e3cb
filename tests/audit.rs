//! `statelint audit` against a fake API server on loopback (tests/support/fake_apiserver.rs):
//! paging, a forbidden kind, an empty cluster, a namespace filter, a label selector, every
//! format, exit codes, `--show-source`, and the same findings as `check` on the fixtures.

#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use fake_apiserver::FakeApiServer;
use serde_json::{Value, json};
use statelint::audit::{AuditOptions, audit};

fn zk(ns: &str, name: &str, replicas: i32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name, "tier": "data"}},
        "spec": {"replicas": replicas, "serviceName": format!("{name}-hs"),
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {
                    "securityContext": {"fsGroup": 1000, "runAsUser": 1000},
                    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"topologyKey": "kubernetes.io/hostname",
                         "labelSelector": {"matchLabels": {"app": name}}}]}},
                    "containers": [{"name": "zk", "image": "zookeeper:3.9",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                    "resources": {"requests": {"storage": "1Gi"}}}}]}})
}

fn headless(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("{name}-hs"), "namespace": ns},
        "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"port": 2181}]}})
}

fn pdb(ns: &str, name: &str, min: i32) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": format!("{name}-pdb"), "namespace": ns},
        "spec": {"minAvailable": min, "selector": {"matchLabels": {"app": name}}}})
}

/// A well-made ZooKeeper ensemble with its Service and PDB.
fn good(ns: &str, name: &str) -> Vec<Value> {
    vec![zk(ns, name, 3), headless(ns, name), pdb(ns, name, 2)]
}

fn opts() -> AuditOptions {
    AuditOptions {
        page_size: 500,
        ..Default::default()
    }
}

/// (code, object, message) of each finding, sorted.
fn findings(outcome: &statelint::rules::Outcome) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = outcome
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.code.to_string(),
                f.object.key.to_string(),
                f.message.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The CLI with KUBECONFIG pointing at `fake` (run it from a blocking thread: the fake
/// server answers on the test's runtime).
struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new(fake: &FakeApiServer) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig()).unwrap();
        Cli { dir }
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let dir = self.dir.path().to_path_buf();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let out = Command::cargo_bin("statelint")
                .unwrap()
                .current_dir(&dir)
                .env("KUBECONFIG", dir.join("kubeconfig"))
                .env_remove("KUBERNETES_SERVICE_HOST")
                .arg("audit")
                .args(&args)
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            )
        })
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn lists_every_page() {
    let mut objects = Vec::new();
    for i in 0..7 {
        objects.extend(good("data", &format!("zk{i}")));
    }
    // one broken: no PDB
    objects.push(zk("data", "lonely", 3));
    objects.push(headless("data", "lonely"));
    let fake = FakeApiServer::start(&objects, false).await;
    let mut o = opts();
    o.page_size = 3;
    let run = audit(&fake.client(), &o).await.unwrap();
    assert_eq!(run.statefulsets(), 8);
    assert_eq!(run.listed["statefulsets"], 8);
    assert_eq!(run.listed["services"], 8);
    assert_eq!(run.listed["poddisruptionbudgets"], 7);
    // 8 StatefulSets in pages of 3: three requests, the last two with a continue token
    let sts = fake.requests_for("/statefulsets");
    assert_eq!(sts.len(), 3, "{sts:?}");
    assert!(sts.iter().all(|r| r.contains("limit=3")), "{sts:?}");
    assert_eq!(sts.iter().filter(|r| r.contains("continue=")).count(), 2);
    let f = findings(&run.outcome);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "SL002");
    assert_eq!(f[0].1, "StatefulSet data/lonely");
}

#[tokio::test]
async fn an_empty_cluster_audits_nothing_and_passes() {
    let fake = FakeApiServer::start(&[], false).await;
    let run = audit(&fake.client(), &opts()).await.unwrap();
    assert!(run.objects.is_empty());
    assert!(run.outcome.findings.is_empty());
    let cli = Cli::new(&fake);
    let (code, out, err) = cli.run(&["--format", "human"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "audited: 0 errors, 0 warnings (0 suppressed), 0 unreadable objects in 0 namespaces, \
         0 objects, 0 StatefulSets\n"
    );
    let (code, out, _) = cli.run(&["-f", "json"]).await;
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"], json!([]));
    assert_eq!(v["summary"]["namespaces"], 0);
    let (code, out, _) = cli.run(&["-f", "policyreport"]).await;
    assert_eq!(code, 0);
    assert_eq!(out, "apiVersion: v1\nitems: []\nkind: List\n");
}

#[tokio::test]
async fn a_forbidden_kind_is_reported_once_and_the_rest_is_audited() {
    // a missing PDB and a bad Service: with PDBs forbidden, only the Service finding stays
    let mut svc = headless("data", "zk");
    svc["spec"]["clusterIP"] = json!("10.0.0.7");
    let fake = FakeApiServer::start(&[zk("data", "zk", 3), svc], false).await;
    fake.forbid("PodDisruptionBudget");
    let run = audit(&fake.client(), &opts()).await.unwrap();
    assert_eq!(run.unavailable.len(), 1);
    let u = &run.unavailable[0];
    assert_eq!(u.resource.plural, "poddisruptionbudgets");
    assert_eq!(u.code, 403);
    let skipped: Vec<&str> = u.rules_skipped.iter().map(|m| m.code).collect();
    assert_eq!(skipped, ["SL002"]);
    assert!(!run.rules.iter().any(|m| m.code == "SL002"));
    let f = findings(&run.outcome);
    // no "no PodDisruptionBudget selects" finding invented
    assert!(f.iter().all(|(c, _, _)| c != "SL002"), "{f:?}");
    assert!(
        f.iter()
            .any(|(c, _, m)| c == "SL001" && m.contains("10.0.0.7")),
        "{f:?}"
    );

    let cli = Cli::new(&fake);
    let (code, out, err) = cli.run(&["-f", "json"]).await;
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "warning: cannot list poddisruptionbudgets.policy in any namespace: forbidden (403)"
        ),
        "{err}"
    );
    assert!(
        err.contains("not run, as they read poddisruptionbudgets: SL002 pdb-quorum"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "SL002")
    );

    // without StatefulSets there is nothing to audit: an error, exit 2
    fake.forbid("StatefulSet");
    let (code, out, err) = cli.run(&[]).await;
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("cannot list statefulsets.apps in any namespace"),
        "{err}"
    );
}

#[tokio::test]
async fn configmaps_forbidden_skip_the_rules_that_read_them() {
    let fake = FakeApiServer::start(&good("data", "zk"), false).await;
    fake.forbid("ConfigMap");
    let run = audit(&fake.client(), &opts()).await.unwrap();
    let skipped: BTreeSet<&str> = run.unavailable[0]
        .rules_skipped
        .iter()
        .map(|m| m.code)
        .collect();
    // exactly the rules that declare ConfigMap among the kinds they read
    let reading: BTreeSet<&str> = statelint::rules::all()
        .iter()
        .filter(|r| r.reads().contains(&statelint::catalog::Kind::ConfigMap))
        .map(|r| r.meta().code)
        .collect();
    assert_eq!(skipped, reading);
    assert!(
        skipped.contains("SL005") && skipped.contains("SL011"),
        "{skipped:?}"
    );
    assert!(run.rules.iter().all(|m| !skipped.contains(m.code)));
    assert!(
        run.unavailable[0]
            .describe(None)
            .contains("roles are inferred without mounted ConfigMaps")
    );
    assert!(
        run.outcome.findings.is_empty(),
        "{:?}",
        findings(&run.outcome)
    );
}

#[tokio::test]
async fn a_namespace_filter_lists_that_namespace_only() {
    let mut objects = good("a", "zk");
    objects.push(zk("b", "zk", 3)); // no Service, no PDB: findings, but in b
    objects.push(zk("a", "bare", 3));
    let fake = FakeApiServer::start(&objects, false).await;
    let mut o = opts();
    o.namespace = Some("a".into());
    let run = audit(&fake.client(), &o).await.unwrap();
    assert!(run.objects.iter().all(|o| o.key.namespace == "a"));
    let f = findings(&run.outcome);
    assert!(!f.is_empty());
    assert!(f.iter().all(|(_, o, _)| o == "StatefulSet a/bare"), "{f:?}");
    let reqs = fake.requests.lock().unwrap().clone();
    assert!(
        reqs.iter().all(|r| r.contains("/namespaces/a/")),
        "cluster-wide request with --namespace: {reqs:?}"
    );
    let cli = Cli::new(&fake);
    let (code, out, _) = cli.run(&["-n", "b", "-f", "json"]).await;
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let objs: BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["object"]["namespace"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(objs, BTreeSet::from(["b/zk".to_string()]));
    assert_eq!(v["summary"]["namespaces"], 1);
    // -n and -A together: a usage error
    let (code, _, err) = cli.run(&["-n", "b", "-A"]).await;
    assert_eq!(code, 2, "{err}");
}

#[tokio::test]
async fn a_selector_narrows_what_is_reported_not_what_is_read() {
    let mut kafka = zk("data", "kafka", 3);
    kafka["metadata"]["labels"] = json!({"app": "kafka", "tier": "broker"});
    let mut objects = good("data", "zk");
    objects.push(kafka);
    objects.push(zk("data", "other", 3)); // tier=data, no companions
    let fake = FakeApiServer::start(&objects, false).await;
    let mut o = opts();
    o.selector = Some("tier=broker".into());
    let run = audit(&fake.client(), &o).await.unwrap();
    let names: Vec<String> = run.objects.iter().map(|o| o.key.to_string()).collect();
    assert_eq!(names, ["StatefulSet data/kafka"]);
    assert!(
        fake.requests_for("/statefulsets")
            .iter()
            .any(|r| r.contains("labelSelector=tier%3Dbroker")),
        "{:?}",
        fake.requests_for("/statefulsets")
    );
    assert!(
        findings(&run.outcome)
            .iter()
            .all(|(_, o, _)| o == "StatefulSet data/kafka")
    );
}

fn broken_cluster() -> Vec<Value> {
    let mut svc = headless("data", "zk");
    svc["spec"]["clusterIP"] = json!("10.0.0.7");
    let mut ignored = zk("data", "quiet", 3);
    ignored["metadata"]["annotations"] = json!({"statelint.io/ignore": "pdb-quorum",
        "statelint.io/ignore-reason": "budget managed elsewhere"});
    vec![
        zk("data", "zk", 3),
        svc,
        pdb("data", "zk", 1), // below quorum
        ignored,
        headless("data", "quiet"),
        zk("web", "ok", 3),
        headless("web", "ok"),
        pdb("web", "ok", 2),
    ]
}

#[tokio::test]
async fn every_format() {
    let fake = FakeApiServer::start(&broken_cluster(), false).await;
    let cli = Cli::new(&fake);

    // human: objects named, kubectl hints, an audit summary
    let (code, out, err) = cli.run(&["--color", "never"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("error[SL001/headless-service]"), "{out}");
    assert!(
        out.contains("in Service data/zk-hs, for StatefulSet data/zk at spec.clusterIP: see `kubectl get service -n data zk-hs -o yaml`"),
        "{out}"
    );
    assert!(
        out.contains("kubectl get statefulset -n data zk -o yaml"),
        "{out}"
    );
    assert!(out.ends_with(
        "failed: 2 errors, 0 warnings (1 suppressed), 0 unreadable objects in 2 namespaces, 8 objects, 3 StatefulSets\n"
    ), "{out}");
    assert!(
        err.is_empty(),
        "stderr is not a terminal, no progress: {err}"
    );

    // json: the shape of check's, positions null, the node as object + field + kubectl
    let (code, out, _) = cli.run(&["-f", "json", "--show-suppressed"]).await;
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    for k in [
        "files",
        "objects",
        "statefulsets",
        "errors",
        "warnings",
        "suppressed",
        "namespaces",
    ] {
        assert!(v["summary"][k].is_u64(), "summary.{k}");
    }
    assert_eq!(v["summary"]["statefulsets"], 3);
    assert_eq!(v["summary"]["suppressed"], 1);
    let fs = v["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 2, "{v:#}");
    for f in fs {
        for k in [
            "code", "rule", "severity", "object", "file", "line", "column", "message", "help", "at",
        ] {
            assert!(f.get(k).is_some(), "findings[].{k}");
        }
        for k in ["apiVersion", "kind", "namespace", "name"] {
            assert!(f["object"][k].is_string(), "findings[].object.{k}");
        }
        assert!(f["file"].is_null() && f["line"].is_null());
        assert!(
            f["at"]["kubectl"]
                .as_str()
                .unwrap()
                .starts_with("kubectl get ")
        );
    }
    let sl001 = fs.iter().find(|f| f["code"] == "SL001").unwrap();
    assert_eq!(sl001["at"]["field"], "spec.clusterIP");
    assert_eq!(sl001["at"]["object"]["kind"], "Service");
    assert_eq!(v["suppressed"][0]["reason"], "budget managed elsewhere");

    // sarif: valid against the 2.1.0 schema, logical locations for cluster objects
    let (code, out, _) = cli.run(&["-f", "sarif"]).await;
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    validate_sarif(&v);
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3); // two findings and the suppressed one
    let sl001 = results.iter().find(|r| r["ruleId"] == "SL001").unwrap();
    let ll = &sl001["locations"][0]["logicalLocations"][0];
    assert_eq!(ll["fullyQualifiedName"], "data/Service/zk-hs");
    assert_eq!(ll["kind"], "resource");
    assert!(
        sl001["message"]["text"]
            .as_str()
            .unwrap()
            .contains("kubectl get service -n data zk-hs -o yaml")
    );

    // junit: well-formed, one failing case per failing StatefulSet and rule
    let (code, out, _) = cli.run(&["-f", "junit"]).await;
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).unwrap();
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2, "{out}");
    assert!(
        out.contains("kubectl get service -n data zk-hs -o yaml"),
        "{out}"
    );
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert!(cases >= 3 * 10, "a case per StatefulSet and rule: {cases}");

    // github: annotations without files, the object and kubectl command in the message
    let (code, out, _) = cli.run(&["-f", "github"]).await;
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines
            .iter()
            .take(2)
            .all(|l| l.starts_with("::error title=SL00")),
        "{out}"
    );
    assert!(out.contains("see `kubectl get "), "{out}");
    assert!(
        lines[2].starts_with(
            "statelint: 2 errors, 0 warnings (1 suppressed), 0 input errors in 2 namespaces"
        ),
        "{out}"
    );

    // policyreport: one OpenReports Report per namespace, or PolicyReports with the flag
    for (api, av, kind) in [
        (None, "openreports.io/v1alpha1", "Report"),
        (
            Some("wgpolicyk8s"),
            "wgpolicyk8s.io/v1alpha2",
            "PolicyReport",
        ),
    ] {
        let mut args = vec!["-f", "policyreport"];
        if let Some(a) = api {
            args.extend(["--policy-report-api", a]);
        }
        let (code, out, _) = cli.run(&args).await;
        assert_eq!(code, 1);
        let (docs, error) =
            statelint::source::yaml::load_documents(&out, &statelint::source::Limits::default());
        assert!(error.is_none(), "{error:?}\n{out}");
        let list = &docs[0].value;
        assert_eq!(list["kind"], "List");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let data = &items[0];
        assert_eq!(data["apiVersion"], av);
        assert_eq!(data["kind"], kind);
        assert_eq!(data["metadata"]["namespace"], "data");
        assert_eq!(data["metadata"]["name"], "statelint");
        assert_eq!(data.get("source").is_some(), api.is_none());
        assert_eq!(data["summary"]["fail"], 2);
        assert_eq!(data["summary"]["skip"], 1);
        let rules = statelint::rules::all().len() as u64;
        // every (StatefulSet, rule) is a result: 2 StatefulSets in data
        assert_eq!(data["summary"]["pass"].as_u64().unwrap() + 3, 2 * rules);
        let fail = data["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "SL001")
            .unwrap();
        assert_eq!(fail["result"], "fail");
        assert_eq!(fail["policy"], "headless-service");
        assert_eq!(fail["severity"], "high");
        assert_eq!(fail["resources"][0]["name"], "zk");
        assert!(
            fail["properties"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_string)
        );
        let web = &items[1];
        assert_eq!(web["summary"]["fail"], 0);
        assert_eq!(web["summary"]["pass"].as_u64().unwrap(), rules);
    }
}

#[tokio::test]
async fn exit_codes_and_show_source() {
    let fake = FakeApiServer::start(&broken_cluster(), false).await;
    let cli = Cli::new(&fake);
    assert_eq!(cli.run(&["--fail-on", "never"]).await.0, 0);
    assert_eq!(cli.run(&["-n", "web"]).await.0, 0);
    assert_eq!(cli.run(&["--select", "SL009"]).await.0, 0);
    let (code, _, err) = cli.run(&["--select", "SL999"]).await;
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli.run(&["-f", "sarif", "--show-source"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--show-source works with --format human or json"));

    // the objects findings point at, fetched and printed as YAML after the report
    let (code, out, _) = cli.run(&["--show-source", "--color", "never"]).await;
    assert_eq!(code, 1);
    let at = out
        .find("---\n# Service data/zk-hs: kubectl get service -n data zk-hs -o yaml\n")
        .expect(&out);
    let rest = &out[at..];
    assert!(rest.contains("clusterIP: \"10.0.0.7\""), "{rest}");
    assert!(out.contains("# StatefulSet data/zk: kubectl get statefulset -n data zk -o yaml"));
    let (code, out, _) = cli.run(&["--show-source", "-f", "json"]).await;
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["manifest"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["zk", "zk-pdb", "zk-hs"]);

    // a listed object statelint cannot read is an input error: exit 2, the rest still reported
    let mut neg = zk("data", "neg", 3);
    neg["spec"]["replicas"] = json!(-1);
    fake.apply(neg);
    let (code, out, _) = cli.run(&["-f", "json"]).await;
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errors"][0]["file"], "StatefulSet data/neg");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("negative"),
        "{v:#}"
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);

    // no cluster to talk to: exit 2 with the reason
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = fake
        .kubeconfig()
        .replace(&fake.addr.port().to_string(), &port.to_string());
    std::fs::write(dir.path().join("kubeconfig"), cfg).unwrap();
    let dead = Cli { dir };
    let (code, out, err) = dead.run(&[]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with("error: cannot list statefulsets.apps"),
        "{err}"
    );
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

/// Kinds the fake API server serves, as audit lists them.
const SERVED: &[(&str, &str)] = &[
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "ConfigMap"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
];

/// The objects of a manifest file (`kind: List` flattened), or `None` when a cluster could not
/// hold exactly them: a parse error, a kind the fake (and audit) does not serve, an apiVersion
/// the API server would convert (apps/v1beta1...), or two objects with one name.
fn cluster_objects(path: &Path) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(path).ok()?;
    let (docs, error) =
        statelint::source::yaml::load_documents(&text, &statelint::source::Limits::default());
    if error.is_some() {
        return None;
    }
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for d in docs {
        let items = if d.value["kind"]
            .as_str()
            .is_some_and(|k| k.ends_with("List"))
        {
            d.value["items"].as_array().cloned().unwrap_or_default()
        } else if d.value.is_null() {
            Vec::new()
        } else {
            vec![d.value]
        };
        for mut o in items {
            let (av, kind) = (
                o["apiVersion"].as_str()?.to_string(),
                o["kind"].as_str()?.to_string(),
            );
            if !SERVED.contains(&(av.as_str(), kind.as_str())) {
                return None;
            }
            let ns = o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string();
            o["metadata"]["namespace"] = json!(ns);
            let name = o["metadata"]["name"].as_str()?.to_string();
            if !names.insert((kind, ns, name)) {
                return None;
            }
            out.push(o);
        }
    }
    Some(out)
}

/// (code, object, message) of each finding and suppressed finding that `check` reports on
/// `path`, on the objects audit reports (StatefulSets, Services, PDBs).
fn check_findings(path: &Path) -> (Vec<(String, String, String)>, usize) {
    let run = statelint::check(&statelint::CheckOptions {
        paths: vec![path.to_path_buf()],
        namespace: "default".into(),
        ..Default::default()
    });
    assert!(
        run.loaded.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        run.loaded.errors
    );
    (findings(&run.outcome), run.outcome.suppressed.len())
}

/// The fixtures (each file one small world), loaded into a fresh fake cluster each: audit
/// finds what check finds, finding for finding (rule, object, message; positions aside).
#[tokio::test]
async fn audit_finds_what_check_finds_on_the_fixtures() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<PathBuf> = Vec::new();
    for rule in statelint::rules::all() {
        let dir = root.join(rule.meta().slug);
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 80, "fixtures not found: {}", files.len());
    let (mut compared, mut with_findings, mut skipped) = (0, 0, Vec::new());
    let mut problems = Vec::new();
    for path in &files {
        let Some(objects) = cluster_objects(path) else {
            skipped.push(path.strip_prefix(&root).unwrap().display().to_string());
            continue;
        };
        let (want, want_suppressed) = check_findings(path);
        let fake = FakeApiServer::start(&objects, false).await;
        let run = audit(&fake.client(), &opts()).await.unwrap();
        let got = findings(&run.outcome);
        if got != want || run.outcome.suppressed.len() != want_suppressed {
            problems.push(format!(
                "{}:\n  check: {want:#?}\n  audit: {got:#?}",
                path.display()
            ));
        }
        compared += 1;
        with_findings += usize::from(!want.is_empty());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // most fixtures are comparable; those skipped use what a cluster cannot hold
    assert!(
        compared >= files.len() * 3 / 4,
        "compared {compared} of {}; skipped {skipped:?}",
        files.len()
    );
    assert!(with_findings >= 40, "{with_findings}");
}

/// The ClusterRole in the chart (templates/audit.yaml) and in docs/audit.md grants get/list on
/// exactly the kinds audit lists with the default config, nothing else.
#[test]
fn the_chart_and_the_docs_grant_exactly_what_audit_lists() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let listed: BTreeSet<(String, String)> =
        statelint::audit::resources_for(&statelint::config::Config::default())
            .iter()
            .map(|r| (r.group.to_string(), r.plural.to_string()))
            .collect();
    let all: BTreeSet<(String, String)> = statelint::audit::RESOURCES
        .iter()
        .map(|r| (r.group.to_string(), r.plural.to_string()))
        .collect();
    assert_eq!(
        listed, all,
        "the default config reads every kind audit can list"
    );
    for (file, begin, end) in [
        (
            "charts/statelint/templates/audit.yaml",
            "# BEGIN audit rules",
            "# END audit rules",
        ),
        (
            "docs/audit.md",
            "<!-- BEGIN audit rules -->",
            "<!-- END audit rules -->",
        ),
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let start = text
            .find(begin)
            .unwrap_or_else(|| panic!("{file}: no {begin}"))
            + begin.len();
        let stop = text[start..].find(end).unwrap() + start;
        let block: String = text[start..stop]
            .lines()
            .filter(|l| !l.trim_start().starts_with("```"))
            .map(|l| format!("{l}\n"))
            .collect();
        let (docs, error) =
            statelint::source::yaml::load_documents(&block, &statelint::source::Limits::default());
        assert!(error.is_none(), "{file}: {error:?}\n{block}");
        let v = &docs[0].value;
        let rules = if v.is_array() { v } else { &v["rules"] };
        let mut granted = BTreeSet::new();
        for rule in rules.as_array().unwrap() {
            assert_eq!(rule["verbs"], json!(["get", "list"]), "{file}: read-only");
            for g in rule["apiGroups"].as_array().unwrap() {
                for r in rule["resources"].as_array().unwrap() {
                    granted.insert((
                        g.as_str().unwrap().to_string(),
                        r.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
        assert_eq!(granted, all, "{file}");
    }
}

/// Reports are written by server-side apply, one per namespace, as `kubectl apply
/// --server-side` would: the `apply-patch` content type, field manager `statelint`, forced.
#[tokio::test]
async fn reports_are_written_by_server_side_apply() {
    use statelint::report::policyreport::Api;
    let fake = FakeApiServer::start(&broken_cluster(), false).await;
    let client = fake.client();
    let (run, n) = statelint::audit::write_reports(&client, &Default::default(), Api::Openreports)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(run.statefulsets(), 3);
    let patches = fake.patches();
    let paths: Vec<&str> = patches
        .iter()
        .map(|(p, _, _)| p.split('?').next().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/apis/openreports.io/v1alpha1/namespaces/data/reports/statelint",
            "/apis/openreports.io/v1alpha1/namespaces/web/reports/statelint",
        ]
    );
    for (p, _, _) in &patches {
        let query: BTreeSet<&str> = p.split_once('?').unwrap().1.split('&').collect();
        assert!(
            query.contains("fieldManager=statelint") && query.contains("force=true"),
            "{p}"
        );
    }
    assert!(
        patches
            .iter()
            .all(|(_, ct, _)| ct == "application/apply-patch+yaml")
    );
    let data = &patches[0].2;
    assert_eq!(data["kind"], "Report");
    assert_eq!(data["summary"]["fail"], 2);

    let (_, n) = statelint::audit::write_reports(&client, &Default::default(), Api::Wgpolicyk8s)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(
        fake.patches()[2]
            .0
            .starts_with("/apis/wgpolicyk8s.io/v1alpha2/namespaces/data/policyreports/statelint?")
    );
    // no RBAC to write them: a clear error
    fake.forbid_patches();
    let e = statelint::audit::write_reports(&client, &Default::default(), Api::Openreports)
        .await
        .err()
        .unwrap();
    assert!(
        format!("{e:#}").contains("cannot write the openreports.io/v1alpha1 reports"),
        "{e:#}"
    );
}

/// `statelint serve --audit-interval` audits and writes the reports at once, then again at
/// every interval, next to the webhook.
#[cfg(feature = "server")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_reports_on_an_interval() {
    let fake = FakeApiServer::start(&broken_cluster(), false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig()).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("statelint"))
        .args([
            "serve",
            "--insecure-http",
            "--addr",
            "127.0.0.1:0",
            "--log-format",
            "text",
            "--audit-interval",
            "1s",
        ])
        .env("KUBECONFIG", dir.path().join("kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // two runs over two namespaces; a generous deadline for a loaded machine
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fake.patches().len() < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let patches = fake.patches();
    assert!(patches.len() >= 4, "{patches:?}");
    assert!(
        patches
            .iter()
            .all(|(p, _, v)| p.contains("/reports/statelint?")
                && v["apiVersion"] == "openreports.io/v1alpha1")
    );

    let cli = Cli::new(&fake);
    let out = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("statelint")
            .unwrap()
            .current_dir(cli.dir.path())
            .args([
                "serve",
                "--insecure-http",
                "--no-cluster",
                "--audit-interval",
                "5m",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-cluster"));
}
