//! The admission webhook over real HTTPS: certificates made here with rcgen, a reqwest client
//! trusting that CA, AdmissionReviews shaped as the API server sends them.
//!
//! The per-rule tests compare the webhook with `statelint check` on the same manifests: the CLI
//! must report the rule as an error on the bad case, and the webhook must deny with exactly the
//! CLI's error findings.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use statelint::catalog::Companions;
use statelint::object::Object;
use statelint::webhook::admit::Mode;
use statelint::webhook::{CompanionSource, ServeArgs};
use support::serve_process::ServeProcess;
use support::*;

fn warnings(resp: &Value) -> Vec<String> {
    resp["warnings"]
        .as_array()
        .map(|a| a.iter().map(|w| w.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The CLI reports `expected` as an error on `sts`; the webhook denies `sts` with exactly the
/// CLI's error findings, and lists its warnings. Returns the denial message.
async fn denies_like_cli(companions: Vec<Value>, sts: Value, expected: &str) -> String {
    let name = sts["metadata"]["name"].as_str().unwrap().to_string();
    let mut all = companions.clone();
    all.push(sts.clone());
    let cli = cli_findings(&all, &name);
    assert!(
        cli.iter().any(|(c, s, _)| c == expected && s == "error"),
        "`statelint check` reports no {expected} error for its bad case: {cli:?}"
    );
    let t = start_tls(Mode::Enforce, catalog(&companions)).await;
    let resp = admit(&t, &review("CREATE", Some(&sts), None)).await;
    assert_eq!(resp["allowed"], false, "{resp}");
    assert_eq!(resp["status"]["code"], 403, "{resp}");
    let msg = resp["status"]["message"].as_str().unwrap().to_string();
    for (code, sev, text) in &cli {
        if sev == "error" {
            assert!(
                msg.contains(&format!("- {code} ")),
                "{code} missing from {msg}"
            );
            assert!(msg.contains(text.as_str()), "`{text}` missing from {msg}");
        } else {
            let w = warnings(&resp);
            assert!(
                w.iter().any(|w| w.contains(text.as_str())),
                "{text} not in {w:?}"
            );
        }
    }
    let errors = cli.iter().filter(|(_, s, _)| s == "error").count();
    assert_eq!(msg.matches("\n- SL").count(), errors, "{msg}");
    msg
}

// ---------- rules through the webhook ----------

#[tokio::test]
async fn good_statefulset_is_allowed() {
    let mut all = zk_companions();
    all.push(zk_sts());
    let cli = cli_findings(&all, "zk");
    assert!(
        cli.iter().all(|(_, s, _)| s != "error"),
        "the good case must pass the CLI: {cli:?}"
    );
    let t = start_tls(Mode::Enforce, catalog(&zk_companions())).await;
    let resp = admit(&t, &review("CREATE", Some(&zk_sts()), None)).await;
    assert_eq!(resp["allowed"], true, "{resp}");
    assert_eq!(warnings(&resp).len(), cli.len(), "{resp} vs {cli:?}");
    // UPDATE and dry-run are answered the same way
    let mut r = review("UPDATE", Some(&zk_sts()), Some(&zk_sts()));
    r["request"]["dryRun"] = json!(true);
    let resp = admit(&t, &r).await;
    assert_eq!(resp["allowed"], true, "{resp}");
}

#[tokio::test]
async fn sl001_missing_headless_service_denies_and_says_apply_it_first() {
    let companions = vec![pdb("zk-pdb", "zk", 2)];
    let msg = denies_like_cli(companions, zk_sts(), "SL001").await;
    assert!(msg.contains("apply them first"), "{msg}");
    assert!(msg.contains("put them above the StatefulSet"), "{msg}");
}

#[tokio::test]
async fn sl002_pdb_below_quorum_denies() {
    let companions = vec![headless("zk-hs", "zk", 2181), pdb("zk-pdb", "zk", 1)];
    denies_like_cli(companions, zk_sts(), "SL002").await;
}

#[tokio::test]
async fn sl003_no_anti_affinity_denies() {
    let mut s = zk_sts();
    s["spec"]["template"]["spec"]
        .as_object_mut()
        .unwrap()
        .remove("affinity");
    denies_like_cli(zk_companions(), s, "SL003").await;
}

#[tokio::test]
async fn sl004_empty_storage_class_denies() {
    // (no storageClassName at all is only a warning while no storage-classes are configured:
    // charts leave it to the cluster default on purpose; `""` turns provisioning off)
    let mut s = zk_sts();
    s["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "".into();
    denies_like_cli(zk_companions(), s, "SL004").await;
}

#[tokio::test]
async fn sl005_zookeeper_connect_disagreeing_namespaces_denies() {
    let mut companions = zk_companions();
    companions.push(zk_sts());
    companions.push(headless("kafka-hs", "kafka", 9092));
    companions.push(pdb("kafka-pdb", "kafka", 2));
    let k =
        kafka_sts("zk-0.zk-hs.data.svc.cluster.local:2181,zk-1.zk-hs.other.svc.cluster.local:2181");
    denies_like_cli(companions, k, "SL005").await;
}

#[tokio::test]
async fn warn_mode_allows_everything_with_warnings() {
    let mut all = vec![pdb("zk-pdb", "zk", 2)];
    all.push(zk_sts());
    let cli = cli_findings(&all, "zk");
    assert!(
        cli.iter().any(|(c, s, _)| c == "SL001" && s == "error"),
        "no Service: the CLI reports SL001: {cli:?}"
    );
    let t = start_tls(Mode::Warn, catalog(&[pdb("zk-pdb", "zk", 2)])).await;
    let resp = admit(&t, &review("CREATE", Some(&zk_sts()), None)).await;
    assert_eq!(resp["allowed"], true, "{resp}");
    let w = warnings(&resp);
    for (code, _, text) in &cli {
        assert!(
            w.iter()
                .any(|w| w.contains(code.as_str()) && w.contains(text.as_str())),
            "{code} {text} not in {w:?}"
        );
    }
}

/// The HTTP shape of a denial, with a stand-in rule engine (independent of what the rules decide).
#[tokio::test]
async fn denial_shape_over_https() {
    fn always_sl001(
        objs: &[Arc<Object>],
        _: &dyn Companions,
        _: &statelint::config::Config,
    ) -> statelint::rules::Outcome {
        let meta = statelint::rules::lookup("SL001").unwrap();
        let warn = statelint::rules::lookup("SL008").unwrap();
        statelint::rules::Outcome {
            findings: objs
                .iter()
                .filter(|o| o.statefulset().is_some())
                .flat_map(|o| {
                    [
                        statelint::rules::Finding::new(
                            meta,
                            o,
                            "/spec/serviceName",
                            "no Service zk-hs",
                        )
                        .help("create it"),
                        statelint::rules::Finding::new(warn, o, "", "no fsGroup"),
                    ]
                })
                .collect(),
            suppressed: vec![],
        }
    }
    let ca = Ca::new("ca");
    let (cert, key) = ca.server_cert();
    let secret = SecretDir::new(&cert, &key);
    let mut args = ServeArgs::local();
    args.insecure_http = false;
    args.tls_cert = Some(secret.cert());
    args.tls_key = Some(secret.key());
    let server = statelint::webhook::start_with_runner(&args, CompanionSource::Empty, always_sl001)
        .await
        .unwrap();
    let t = Tls {
        url: format!("https://127.0.0.1:{}", server.addr.port()),
        server,
        client: https_client(&[&ca.pem], false),
        _secret: secret,
        ca: ca.pem.clone(),
    };
    let resp = admit(&t, &review("CREATE", Some(&zk_sts()), None)).await;
    assert_eq!(resp["allowed"], false);
    assert_eq!(resp["status"]["code"], 403);
    assert_eq!(resp["status"]["reason"], "Forbidden");
    assert_eq!(
        resp["status"]["message"],
        "statelint denied StatefulSet data/zk: 1 error\n- SL001 headless-service: no Service zk-hs\n  help: create it\nThe headless Service and the PodDisruptionBudget must exist before the StatefulSet: apply them first (within one `kubectl apply -f` file, put them above the StatefulSet; Helm already installs Services and PDBs before StatefulSets)."
    );
    assert_eq!(
        warnings(&resp),
        vec!["statelint SL008 security-context: no fsGroup".to_string()]
    );
    // other kinds untouched, StatefulSet DELETE allowed
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "data"}});
    assert_eq!(
        admit(&t, &review("CREATE", Some(&cm), None)).await["allowed"],
        true
    );
    assert_eq!(
        admit(&t, &review("DELETE", None, Some(&zk_sts()))).await["allowed"],
        true
    );
    // metrics count the verdicts and the rules
    let m = t
        .client
        .get(format!("{}/metrics", t.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(r#"statelint_admission_requests_total{verdict="denied",kind="StatefulSet"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"statelint_admission_requests_total{verdict="allowed",kind="other"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"statelint_admission_findings_total{code="SL001",rule="headless-service",severity="error"} 1"#),
        "{m}"
    );
    assert!(
        m.contains("statelint_admission_duration_seconds_bucket"),
        "{m}"
    );
}

// ---------- companion protection (answered from the companion view) ----------

#[tokio::test]
async fn deleting_a_companion_of_a_live_statefulset_is_denied() {
    let mut cluster = zk_companions();
    cluster.push(zk_sts());
    let t = start_tls(Mode::Enforce, catalog(&cluster)).await;
    let svc = headless("zk-hs", "zk", 2181);
    let resp = admit(&t, &review("DELETE", None, Some(&svc))).await;
    assert_eq!(resp["allowed"], false, "{resp}");
    assert_eq!(resp["status"]["code"], 403);
    let msg = resp["status"]["message"].as_str().unwrap();
    assert!(msg.contains("headless Service of StatefulSet zk"), "{msg}");
    let p = pdb("zk-pdb", "zk", 2);
    let resp = admit(&t, &review("DELETE", None, Some(&p))).await;
    assert_eq!(resp["allowed"], false, "{resp}");
    assert!(
        resp["status"]["message"]
            .as_str()
            .unwrap()
            .contains("only PodDisruptionBudget of StatefulSet zk")
    );
    // unrelated companions go
    let other = headless("other", "other", 80);
    assert_eq!(
        admit(&t, &review("DELETE", None, Some(&other))).await["allowed"],
        true
    );
}

#[tokio::test]
async fn pdb_update_breaking_quorum_is_denied() {
    // SL002 re-run with the new PDB: the CLI finds the same PDB below quorum
    let mut all = vec![headless("zk-hs", "zk", 2181), pdb("zk-pdb", "zk", 1)];
    all.push(zk_sts());
    let cli = cli_findings(&all, "zk");
    assert!(
        cli.iter().any(|(c, _, _)| c == "SL002"),
        "the CLI reports SL002 for a PDB below quorum: {cli:?}"
    );
    let mut cluster = zk_companions();
    cluster.push(zk_sts());
    let t = start_tls(Mode::Enforce, catalog(&cluster)).await;
    let resp = admit(
        &t,
        &review(
            "UPDATE",
            Some(&pdb("zk-pdb", "zk", 1)),
            Some(&pdb("zk-pdb", "zk", 2)),
        ),
    )
    .await;
    assert_eq!(resp["allowed"], false, "{resp}");
    assert!(
        resp["status"]["message"]
            .as_str()
            .unwrap()
            .contains("StatefulSet zk")
    );
    let resp = admit(
        &t,
        &review(
            "UPDATE",
            Some(&pdb("zk-pdb", "zk", 3)),
            Some(&pdb("zk-pdb", "zk", 2)),
        ),
    )
    .await;
    assert_eq!(resp["allowed"], true, "{resp}");
}

// ---------- endpoints and hostile input ----------

#[tokio::test]
async fn health_ready_and_hostile_bodies() {
    let t = start_tls(Mode::Enforce, catalog(&[])).await;
    let get = |p: &str| t.client.get(format!("{}{p}", t.url)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    assert!(t.server.is_ready());

    let post = |body: Vec<u8>| {
        t.client
            .post(format!("{}/validate", t.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let r = post(big).await.unwrap();
    assert_eq!(r.status(), 413);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("larger than"), "{e}");

    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"{\"apiVersion\": ".to_vec()),
        ("garbage", vec![0xff, 0x00, 0x13, 0x37]),
        ("array", b"[1,2,3]".to_vec()),
        ("empty", Vec::new()),
        (
            "v1beta1",
            serde_json::to_vec(&{
                let mut r = review("CREATE", Some(&zk_sts()), None);
                r["apiVersion"] = json!("admission.k8s.io/v1beta1");
                r
            })
            .unwrap(),
        ),
        (
            "wrong kind",
            serde_json::to_vec(&{
                let mut r = review("CREATE", Some(&zk_sts()), None);
                r["kind"] = json!("Pod");
                r
            })
            .unwrap(),
        ),
        (
            "object not a mapping",
            serde_json::to_vec(&{
                let mut r = review("CREATE", Some(&zk_sts()), None);
                r["request"]["object"] = json!("zk");
                r
            })
            .unwrap(),
        ),
        (
            "uid not a string",
            serde_json::to_vec(&{
                let mut r = review("CREATE", Some(&zk_sts()), None);
                r["request"]["uid"] = json!(7);
                r
            })
            .unwrap(),
        ),
        (
            "no request",
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
        ),
        ("deep", {
            let mut v = "[".repeat(100_000).into_bytes();
            v.extend("]".repeat(100_000).into_bytes());
            v
        }),
    ];
    for (what, body) in bad {
        let r = post(body).await.unwrap();
        assert_eq!(r.status(), 400, "{what}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].is_string(), "{what}: {e}");
    }
    // a StatefulSet whose fields have the wrong types is answered, not crashed on
    let mut s = zk_sts();
    s["spec"]["replicas"] = json!("three");
    let resp = admit(&t, &review("CREATE", Some(&s), None)).await;
    assert_eq!(resp["allowed"], false);
    assert_eq!(resp["status"]["code"], 400);
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
}

#[tokio::test]
async fn slow_clients_are_cut() {
    let mut args = ServeArgs::local();
    args.request_timeout_ms = 300;
    let server = statelint::webhook::start(&args, CompanionSource::Empty)
        .await
        .unwrap();
    let addr = server.addr;
    tokio::task::spawn_blocking(move || {
        // headers never finish
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"POST /validate HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut buf = Vec::new();
        let r = s.read_to_end(&mut buf);
        assert!(r.is_ok(), "the server must close the connection: {r:?}");
        let text = String::from_utf8_lossy(&buf);
        assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
        // the body never finishes
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":")
            .unwrap();
        let mut buf = Vec::new();
        let r = s.read_to_end(&mut buf);
        assert!(r.is_ok(), "the server must close the connection: {r:?}");
        let text = String::from_utf8_lossy(&buf);
        assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    })
    .await
    .unwrap();

    // a TLS client that never says hello
    let ca = Ca::new("ca");
    let (cert, key) = ca.server_cert();
    let secret = SecretDir::new(&cert, &key);
    let mut args = ServeArgs::local();
    args.insecure_http = false;
    args.tls_cert = Some(secret.cert());
    args.tls_key = Some(secret.key());
    args.request_timeout_ms = 300;
    let server = statelint::webhook::start(&args, CompanionSource::Empty)
        .await
        .unwrap();
    let addr = server.addr;
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = Vec::new();
        let r = s.read_to_end(&mut buf);
        assert!(r.is_ok(), "the server closes the silent connection: {r:?}");
    })
    .await
    .unwrap();
}

// ---------- certificate rotation ----------

#[tokio::test]
async fn rotated_certificate_is_served_without_failed_requests() {
    let ca1 = Ca::new("ca one");
    let ca2 = Ca::new("ca two");
    let (cert1, key1) = ca1.server_cert();
    let mut secret = SecretDir::new(&cert1, &key1);
    let mut args = ServeArgs::local();
    args.insecure_http = false;
    args.tls_cert = Some(secret.cert());
    args.tls_key = Some(secret.key());
    let server = statelint::webhook::start(&args, CompanionSource::Empty)
        .await
        .unwrap();
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    let only1 = https_client(&[&ca1.pem], true);
    let only2 = https_client(&[&ca2.pem], true);
    let both = https_client(&[&ca1.pem, &ca2.pem], true);
    let review = review("CREATE", Some(&zk_sts()), None);

    // a steady stream of admissions on fresh connections, none may fail
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, failures, done, url, review) = (
            stop.clone(),
            failures.clone(),
            done.clone(),
            url.clone(),
            review.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = match both
                    .post(format!("{url}/validate"))
                    .json(&review)
                    .send()
                    .await
                {
                    Ok(r) => r.status() == 200,
                    Err(_) => false,
                };
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    assert_eq!(
        only1
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(only2.get(format!("{url}/healthz")).send().await.is_err());

    // a broken rotation is refused: the old certificate keeps serving
    secret.rotate("not a certificate", "not a key");
    let (cert2, key2) = ca2.server_cert();
    let (_, other_key) = ca2.server_cert();
    secret.rotate(&cert2, &other_key); // key does not match the certificate
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        only1
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // a good rotation is picked up by the next connections
    secret.rotate(&cert2, &key2);
    eventually("the new certificate is served", || {
        let only2 = only2.clone();
        let url = url.clone();
        async move { only2.get(format!("{url}/healthz")).send().await.ok() }
    })
    .await;
    assert!(only1.get(format!("{url}/healthz")).send().await.is_err());

    let before = done.load(Ordering::Relaxed);
    eventually("more admissions after the rotation", || {
        let done = done.clone();
        async move { (done.load(Ordering::Relaxed) > before + 5).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "no admission may fail during rotation"
    );
    assert!(done.load(Ordering::Relaxed) > 5);
}

// ---------- SIGTERM drains ----------

/// Each bad request is logged once (it was logged twice: by the error answer and by the
/// error counter), with its status and reason; a good one once, as its decision.
#[test]
fn one_log_line_per_bad_request() {
    let serve = ServeProcess::start(&[]);
    let out = serve.post("text/plain", b"{}");
    assert!(out.starts_with("HTTP/1.1 415"), "{out}");
    let out = serve.post("application/json", b"{not json");
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    // a good request after them: once its decision is logged, so are theirs (one writer)
    serve.admit(&review("CREATE", Some(&zk_sts()), None));
    let lines = serve.logs_until("admission");
    let bad: Vec<&Value> = lines
        .iter()
        .filter(|v| v["message"] == "bad admission request")
        .collect();
    assert_eq!(bad.len(), 2, "one line per bad request: {lines:#?}");
    assert_eq!(bad[0]["status"], 415, "{lines:#?}");
    assert!(bad[0]["error"].as_str().unwrap().contains("Content-Type"));
    assert_eq!(bad[1]["status"], 400, "{lines:#?}");
    assert!(bad[1]["error"].is_string(), "{lines:#?}");
    assert_eq!(
        lines.iter().filter(|v| v["message"] == "admission").count(),
        1
    );
}

/// `serve --no-cluster --context DIR` finds a StatefulSet's companions in files: the same
/// StatefulSet denied without them (SL001, SL002) is allowed with them.
#[test]
fn serve_context_loads_companions_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let yaml: String = zk_companions()
        .iter()
        .map(|v| format!("---\n{}\n", serde_json::to_string(v).unwrap()))
        .collect();
    std::fs::write(dir.path().join("companions.yaml"), yaml).unwrap();
    // a Helm template beside them: not YAML, skipped with a warning, no failure
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(
        dir.path().join("templates/svc.yaml"),
        "metadata:\n  name: {{ .Values.name }}\n{{- end }}\n",
    )
    .unwrap();
    let sts = review("CREATE", Some(&zk_sts()), None);

    let bare = ServeProcess::start(&[]);
    let resp = bare.admit(&sts);
    assert_eq!(resp["allowed"], false, "{resp}");
    let msg = resp["status"]["message"].as_str().unwrap();
    assert!(msg.contains("SL001") && msg.contains("SL002"), "{msg}");

    let ctx = dir.path().to_str().unwrap();
    let with = ServeProcess::start(&["--context", ctx]);
    let resp = with.admit(&sts);
    assert_eq!(resp["allowed"], true, "{resp}");
}

/// `--context` needs `--no-cluster`; a --context path that does not exist stops the server.
#[test]
fn serve_context_errors() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_statelint"))
        .args(["serve", "--insecure-http", "--context", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--no-cluster"), "{err}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_statelint"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--insecure-http",
            "--no-cluster",
            "--context",
            "/nonexistent/statelint-context",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--context /nonexistent/statelint-context: no such file or folder"),
        "{err}"
    );
}

/// Without TLS flags, `serve` says how to give them and names `--insecure-http`.
#[test]
fn serve_without_tls_names_insecure_http() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_statelint"))
        .args(["serve", "--addr", "127.0.0.1:0", "--no-cluster"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for flag in ["--tls-cert", "--tls-key", "--insecure-http"] {
        assert!(err.contains(flag), "{flag} not in: {err}");
    }
    // only the cert: the same answer
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_statelint"))
        .args(["serve", "--no-cluster", "--tls-cert", "x.crt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--insecure-http"));
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits_0() {
    let mut serve = ServeProcess::start(&["--shutdown-delay-seconds", "0"]);
    let addr = serve.addr;

    // a request in flight: its headers sent with `Expect: 100-continue`, so the server's
    // `100 Continue` proves it is reading this request (not merely that the connection sits in
    // the listen backlog, which shutdown rightly drops) before SIGTERM; then half the body
    let body = serde_json::to_vec(&review("CREATE", Some(&zk_sts()), None)).unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.flush().unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte)
            .expect("the server answers 100 Continue");
        interim.push(byte[0]);
    }
    let interim = String::from_utf8_lossy(&interim);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    let half = body.len() / 2;
    s.write_all(&body[..half]).unwrap();
    s.flush().unwrap();

    let status = std::process::Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    serve.wait_log("shutting down: draining in-flight requests");

    // the in-flight request completes
    s.write_all(&body[half..]).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains(r#""uid":"uid-CREATE-zk""#), "{out}");

    let code = serve.child.wait().unwrap();
    assert!(code.success(), "exit status {code:?}");
}

fn sigterm(serve: &ServeProcess) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// On SIGTERM the server reports not ready but keeps accepting and answering (the API server
/// still routes to the pod until its endpoint is removed) for `--shutdown-delay-seconds`; a
/// second SIGTERM ends the delay, then it drains and exits 0.
#[test]
fn sigterm_keeps_answering_while_not_ready_for_the_shutdown_delay() {
    let mut serve = ServeProcess::start(&["--shutdown-delay-seconds", "600"]);
    let get = |path: &str| -> String {
        let mut s = std::net::TcpStream::connect(serve.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(get("/readyz").starts_with("HTTP/1.1 200"));
    sigterm(&serve);
    serve.wait_log("SIGTERM: not ready; answering until the shutdown delay ends");
    let ready = get("/readyz");
    assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
    // new connections are still accepted and answered
    for _ in 0..3 {
        let resp = serve.admit(&review("CREATE", Some(&zk_sts()), None));
        assert_eq!(resp["uid"], "uid-CREATE-zk", "{resp}");
    }
    assert!(get("/healthz").starts_with("HTTP/1.1 200"));
    sigterm(&serve);
    serve.wait_log("shutting down: draining in-flight requests");
    let code = serve.child.wait().unwrap();
    assert!(code.success(), "exit status {code:?}");
}

/// A panic in the rule engine is answered with a 500 and the server keeps serving.
#[tokio::test]
async fn a_panicking_rule_is_a_500_not_a_crash() {
    fn boom(
        _: &[Arc<Object>],
        _: &dyn Companions,
        _: &statelint::config::Config,
    ) -> statelint::rules::Outcome {
        panic!("rule bug");
    }
    let server =
        statelint::webhook::start_with_runner(&ServeArgs::local(), CompanionSource::Empty, boom)
            .await
            .unwrap();
    let url = format!("http://{}", server.addr);
    let c = http_client();
    for _ in 0..3 {
        let r = c
            .post(format!("{url}/validate"))
            .json(&review("CREATE", Some(&zk_sts()), None))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].is_string());
    }
    let r = c.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = c
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(r#"statelint_admission_requests_total{verdict="error",kind=""} 3"#),
        "{m}"
    );
}
