//! The webhook with companions from a (fake) cluster: kube-rs watchers against
//! `fake_apiserver`, readiness gated on the initial lists, watch events seen by the next
//! admission, companion protection answered from the watch caches.

mod support;

use serde_json::{Value, json};
use statelint::webhook::{CompanionSource, ServeArgs};
use support::fake_apiserver::FakeApiServer;
use support::serve_process::ServeProcess;
use support::*;

fn sts(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {"replicas": 3, "serviceName": format!("{name}-hs"),
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "zookeeper:3.9"}]}}}})
}

fn headless(name: &str, app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {"clusterIP": "None", "selector": {"app": app}, "ports": [{"port": 2181}]}})
}

fn pdb(name: &str, app: &str) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": app}}}})
}

async fn allowed(url: &str, review: &Value) -> bool {
    let r = http_client()
        .post(format!("{url}/validate"))
        .json(review)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["response"]["uid"], review["request"]["uid"]);
    v["response"]["allowed"].as_bool().unwrap()
}

async fn readyz(url: &str) -> u16 {
    http_client()
        .get(format!("{url}/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn watch_caches_gate_readiness_and_feed_admissions() {
    let fake = FakeApiServer::start(
        &[sts("zk"), headless("zk-hs", "zk"), pdb("zk-pdb", "zk")],
        true,
    )
    .await;
    let mut args = ServeArgs::local();
    args.no_cluster = false;
    let server = statelint::webhook::start(&args, CompanionSource::Cluster(fake.client()))
        .await
        .unwrap();
    let url = format!("http://{}", server.addr);

    // lists are held: not ready
    assert_eq!(readyz(&url).await, 503);
    assert!(!server.is_ready());
    fake.open();
    eventually("readyz after the caches sync", || {
        let url = url.clone();
        async move { (readyz(&url).await == 200).then_some(()) }
    })
    .await;

    // listed objects are companions
    let c = server.companions();
    assert!(c.service("data", "zk-hs").is_some());
    assert!(c.statefulset("data", "zk").is_some());
    assert_eq!(c.statefulsets("data").len(), 1);
    let labels = [("app".to_string(), "zk".to_string())]
        .into_iter()
        .collect();
    assert_eq!(c.pdbs_selecting("data", &labels).len(), 1);
    assert_eq!(c.services_selecting("data", &labels).len(), 1);
    assert!(c.statefulsets("other").is_empty());

    // the headless Service and the only PDB of a live StatefulSet cannot be deleted
    assert!(
        !allowed(
            &url,
            &review("DELETE", None, Some(&headless("zk-hs", "zk")))
        )
        .await
    );
    assert!(!allowed(&url, &review("DELETE", None, Some(&pdb("zk-pdb", "zk")))).await);

    // an object added after start-up (watch ADDED) is seen by the next admissions
    let kafka_svc_delete = review("DELETE", None, Some(&headless("kafka-hs", "kafka")));
    assert!(allowed(&url, &kafka_svc_delete).await);
    fake.apply(sts("kafka"));
    eventually("the ADDED StatefulSet protects its Service", || {
        let (url, r) = (url.clone(), kafka_svc_delete.clone());
        async move { (!allowed(&url, &r).await).then_some(()) }
    })
    .await;
    assert!(server.companions().statefulset("data", "kafka").is_some());

    // MODIFIED: kafka now names another Service
    let mut moved = sts("kafka");
    moved["spec"]["serviceName"] = json!("kafka-headless");
    fake.apply(moved);
    eventually("the MODIFIED StatefulSet releases its old Service", || {
        let (url, r) = (url.clone(), kafka_svc_delete.clone());
        async move { allowed(&url, &r).await.then_some(()) }
    })
    .await;

    // DELETED: zk is gone, its companions may go
    fake.delete(&sts("zk"));
    eventually("the DELETED StatefulSet no longer protects its PDB", || {
        let url = url.clone();
        async move {
            allowed(&url, &review("DELETE", None, Some(&pdb("zk-pdb", "zk"))))
                .await
                .then_some(())
        }
    })
    .await;
    assert!(server.companions().statefulset("data", "zk").is_none());

    // watches really were used (not one list per admission)
    let reqs = fake.requests.lock().unwrap().clone();
    assert!(reqs.iter().any(|r| r.contains("watch=true")), "{reqs:?}");
    let lists = reqs
        .iter()
        .filter(|r| r.starts_with("/apis/apps/v1/statefulsets") && !r.contains("watch="))
        .count();
    assert_eq!(lists, 1, "{reqs:?}");
    server.shutdown();
    server.wait().await.unwrap();
}

#[tokio::test]
async fn forbidden_configmaps_do_not_block_readiness_and_only_zookeeper_ones_are_kept() {
    let cm = |name: &str, data: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "data"}, "data": data})
    };
    let fake = FakeApiServer::start(
        &[
            cm(
                "kafka-config",
                json!({"server.properties": "zookeeper.connect=zk-0.zk-hs:2181\n"}),
            ),
            cm("unrelated", json!({"big": "x".repeat(10_000)})),
        ],
        false,
    )
    .await;
    let mut args = ServeArgs::local();
    args.no_cluster = false;
    let server = statelint::webhook::start(&args, CompanionSource::Cluster(fake.client()))
        .await
        .unwrap();
    eventually("synced", || async { server.is_ready().then_some(()) }).await;
    let c = server.companions();
    assert!(c.config_map("data", "kafka-config").is_some());
    assert!(c.config_map("data", "unrelated").is_none());
    server.shutdown();
    server.wait().await.unwrap();

    let fake = FakeApiServer::start(&[sts("zk")], false).await;
    fake.forbid("ConfigMap");
    let server = statelint::webhook::start(&args, CompanionSource::Cluster(fake.client()))
        .await
        .unwrap();
    eventually("ready without ConfigMaps", || async {
        server.is_ready().then_some(())
    })
    .await;
    assert!(server.companions().statefulset("data", "zk").is_some());
}

#[tokio::test]
async fn statefulset_admission_uses_cluster_companions() {
    // SL001/SL002: with the Service and PDB in the cluster, a StatefulSet that needs them is
    // not denied for missing companions; without them it is.
    let zk = sts("zk");
    let with = cli_findings(
        &[headless("zk-hs", "zk"), pdb("zk-pdb", "zk"), zk.clone()],
        "zk",
    );
    let without = cli_findings(std::slice::from_ref(&zk), "zk");
    assert!(
        without.iter().any(|(c, _, _)| c == "SL001"),
        "without its Service the CLI reports SL001: {without:?}"
    );
    let fake = FakeApiServer::start(&[], false).await;
    let mut args = ServeArgs::local();
    args.no_cluster = false;
    let server = statelint::webhook::start(&args, CompanionSource::Cluster(fake.client()))
        .await
        .unwrap();
    let url = format!("http://{}", server.addr);
    eventually("synced", || async { server.is_ready().then_some(()) }).await;
    let r = review("CREATE", Some(&zk), None);
    assert!(!allowed(&url, &r).await);
    fake.apply(headless("zk-hs", "zk"));
    fake.apply(pdb("zk-pdb", "zk"));
    let expect = !with.iter().any(|(_, s, _)| s == "error");
    eventually(
        "companions applied first make the StatefulSet pass SL001/SL002",
        || {
            let (url, r) = (url.clone(), r.clone());
            async move { (allowed(&url, &r).await == expect).then_some(()) }
        },
    )
    .await;
}

// ---------- faults: paging, malformed objects, 410, dropped watches, outages ----------

async fn metrics(url: &str) -> String {
    http_client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the series `name{kind="<kind>"}` (0 when absent).
async fn metric(url: &str, name: &str, kind: &str) -> f64 {
    let text = metrics(url).await;
    let prefix = format!("{name}{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

fn cluster_args() -> ServeArgs {
    let mut args = ServeArgs::local();
    args.no_cluster = false;
    args.watch_failure_grace_seconds = 1;
    args
}

async fn start_on(fake: &FakeApiServer) -> (statelint::webhook::Running, String) {
    let server =
        statelint::webhook::start(&cluster_args(), CompanionSource::Cluster(fake.client()))
            .await
            .unwrap();
    let url = format!("http://{}", server.addr);
    (server, url)
}

async fn wait_ready(url: &str) {
    eventually("readyz 200", || async move {
        (readyz(url).await == 200).then_some(())
    })
    .await;
}

fn bad_service(name: &str) -> Value {
    let mut s = headless(name, "x");
    s["spec"]["ports"] = json!([{"port": "http"}]);
    s
}

fn bad_config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "data",
            "annotations": {"statelint.io/ignore": 7}},
        "data": {"server.properties": "zookeeper.connect=zk-0.zk-hs:2181\n"}})
}

/// Lists come in pages (`LIST_PAGE`); a Service and a ConfigMap that do not decode are skipped and
/// counted, and neither blocks readiness nor hides the objects around them.
#[tokio::test]
async fn malformed_objects_in_paged_lists_are_skipped_and_counted() {
    let mut objects = vec![sts("zk"), headless("zk-hs", "zk"), pdb("zk-pdb", "zk")];
    objects.extend((0..1200).map(|i| {
        let mut s = headless(&format!("svc-{i:04}"), "bulk");
        s["metadata"]["namespace"] = json!("bulk");
        s
    }));
    objects.push(bad_service("bad-svc"));
    objects.push(bad_config_map("bad-cm"));
    let fake = FakeApiServer::start(&objects, false).await;
    let (server, url) = start_on(&fake).await;
    wait_ready(&url).await;
    let c = server.companions();
    assert!(c.service("bulk", "svc-0000").is_some());
    assert!(c.service("bulk", "svc-1199").is_some());
    assert!(c.service("data", "zk-hs").is_some());
    assert!(c.service("data", "bad-svc").is_none());
    assert!(c.config_map("data", "bad-cm").is_none());
    assert_eq!(
        metric(&url, "statelint_cache_objects", "Service").await,
        1201.0
    );
    assert_eq!(
        metric(&url, "statelint_watch_decode_failures_total", "Service").await,
        1.0
    );
    assert_eq!(
        metric(&url, "statelint_watch_decode_failures_total", "ConfigMap").await,
        1.0
    );
    assert_eq!(metric(&url, "statelint_watch_up", "Service").await, 1.0);
    assert!(metric(&url, "statelint_cache_bytes", "Service").await > 0.0);
    let reqs = fake.requests.lock().unwrap().clone();
    let pages = reqs
        .iter()
        .filter(|r| r.starts_with("/api/v1/services?") && !r.contains("watch="))
        .count();
    let want = 1203usize.div_ceil(statelint::webhook::cluster::LIST_PAGE as usize);
    assert_eq!(
        pages,
        want,
        "1,203 Services in pages of {}: {reqs:?}",
        statelint::webhook::cluster::LIST_PAGE
    );
    // the bad Service does not stop admissions that need the good ones
    assert!(
        !allowed(
            &url,
            &review("DELETE", None, Some(&headless("zk-hs", "zk")))
        )
        .await
    );
    server.shutdown();
    server.wait().await.unwrap();
}

/// A watch that expires (410 Gone) on a running pod relists, with a malformed object in the
/// new list: the kind keeps following the cluster (objects added, changed and deleted during
/// the gap are seen, and later events too); the relist is counted.
#[tokio::test]
async fn a_410_relist_with_a_bad_object_does_not_freeze_the_cache() {
    let fake = FakeApiServer::start(
        &[sts("zk"), headless("zk-hs", "zk"), pdb("zk-pdb", "zk")],
        false,
    )
    .await;
    let (server, url) = start_on(&fake).await;
    wait_ready(&url).await;
    let c = server.companions();
    fake.expire();
    fake.apply(bad_service("bad-svc"));
    fake.apply(sts("kafka"));
    fake.delete(&pdb("zk-pdb", "zk"));
    eventually("the relist sees the gap's changes", || {
        let c = c.clone();
        async move {
            (c.statefulset("data", "kafka").is_some()
                && c.pdbs_selecting(
                    "data",
                    &[("app".to_string(), "zk".to_string())]
                        .into_iter()
                        .collect(),
                )
                .is_empty())
            .then_some(())
        }
    })
    .await;
    eventually("the relists are counted", || {
        let url = url.clone();
        async move {
            (metric(&url, "statelint_watch_relists_total", "StatefulSet").await >= 1.0
                && metric(&url, "statelint_watch_decode_failures_total", "Service").await == 1.0)
                .then_some(())
        }
    })
    .await;
    assert!(
        c.service("data", "zk-hs").is_some(),
        "unchanged objects stay"
    );
    assert_eq!(readyz(&url).await, 200);
    // not frozen: events after the relist arrive
    fake.apply(sts("etcd"));
    eventually("an event after the relist", || {
        let c = c.clone();
        async move { c.statefulset("data", "etcd").is_some().then_some(()) }
    })
    .await;
    server.shutdown();
    server.wait().await.unwrap();
}

/// Watches the API server closes are resumed from their resourceVersion: nothing is lost and
/// nothing is relisted.
#[tokio::test]
async fn dropped_watches_resume_without_a_relist() {
    let fake = FakeApiServer::start(&[sts("zk")], false).await;
    let (server, url) = start_on(&fake).await;
    wait_ready(&url).await;
    let c = server.companions();
    for round in 0..3 {
        fake.drop_watches();
        let name = format!("sts-{round}");
        fake.apply(sts(&name));
        eventually("the event after a dropped watch", || {
            let (c, name) = (c.clone(), name.clone());
            async move { c.statefulset("data", &name).is_some().then_some(()) }
        })
        .await;
    }
    assert_eq!(
        metric(&url, "statelint_watch_relists_total", "StatefulSet").await,
        0.0
    );
    server.shutdown();
    server.wait().await.unwrap();
}

/// An API-server outage: the watches fail, `watch_up` drops and `/readyz` turns 503 (after
/// `--watch-failure-grace-seconds`); once it is back, the caches resync (including what changed
/// meanwhile) and the pod is ready again.
#[tokio::test]
async fn an_outage_shows_in_readiness_and_metrics_and_recovers() {
    let fake = FakeApiServer::start(&[sts("zk"), headless("zk-hs", "zk")], false).await;
    let (server, url) = start_on(&fake).await;
    wait_ready(&url).await;
    fake.set_down(true);
    eventually("readyz 503 while the API server is down", || {
        let url = url.clone();
        async move { (readyz(&url).await == 503).then_some(()) }
    })
    .await;
    assert_eq!(metric(&url, "statelint_watch_up", "StatefulSet").await, 0.0);
    assert!(metric(&url, "statelint_watch_errors_total", "StatefulSet").await >= 1.0);
    fake.apply(sts("kafka"));
    fake.expire();
    fake.set_down(false);
    wait_ready(&url).await;
    let c = server.companions();
    eventually("what changed during the outage", || {
        let c = c.clone();
        async move { c.statefulset("data", "kafka").is_some().then_some(()) }
    })
    .await;
    eventually("watch_up again", || {
        let url = url.clone();
        async move {
            (metric(&url, "statelint_watch_up", "StatefulSet").await == 1.0).then_some(())
        }
    })
    .await;
    server.shutdown();
    server.wait().await.unwrap();
}

/// Before the caches have synced, a StatefulSet is not judged from empty caches (that would
/// deny it for companions that exist): `/validate` answers 503, and the API server applies the
/// webhook's failurePolicy.
#[tokio::test]
async fn no_verdict_before_the_caches_sync() {
    let fake = FakeApiServer::start(&[headless("zk-hs", "zk"), pdb("zk-pdb", "zk")], true).await;
    let (server, url) = start_on(&fake).await;
    let r = review("CREATE", Some(&sts("zk")), None);
    let resp = http_client()
        .post(format!("{url}/validate"))
        .json(&r)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    let err = body["error"].as_str().unwrap();
    assert!(
        err.contains("not synced") && err.contains("failurePolicy"),
        "{err}"
    );
    fake.open();
    wait_ready(&url).await;
    let resp = http_client()
        .post(format!("{url}/validate"))
        .json(&r)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let msg = v["response"]["status"]["message"].as_str().unwrap_or("");
    assert!(
        !msg.contains("SL001") && !msg.contains("SL002"),
        "the companions exist: {v}"
    );
    server.shutdown();
    server.wait().await.unwrap();
}

/// The webhook over TLS with companions from `fake`'s watch caches.
struct ClusterTls {
    server: statelint::webhook::Running,
    client: reqwest::Client,
    url: String,
    _secret: SecretDir,
}

/// Start it and wait until the caches synced.
async fn start_cluster_tls(fake: &FakeApiServer) -> ClusterTls {
    let ca = Ca::new("test ca");
    let (cert, key) = ca.server_cert();
    let secret = SecretDir::new(&cert, &key);
    let mut args = ServeArgs::local();
    args.no_cluster = false;
    args.insecure_http = false;
    args.tls_cert = Some(secret.cert());
    args.tls_key = Some(secret.key());
    let server = statelint::webhook::start(&args, CompanionSource::Cluster(fake.client()))
        .await
        .unwrap();
    eventually("synced", || async { server.is_ready().then_some(()) }).await;
    ClusterTls {
        url: format!("https://127.0.0.1:{}", server.addr.port()),
        server,
        client: https_client(&[&ca.pem], false),
        _secret: secret,
    }
}

/// POST a review; the response part of the answer (same uid checked).
async fn admit_tls(t: &ClusterTls, review: &Value) -> Value {
    post_review(&t.client, &t.url, review).await
}

/// POST a review to `url`'s `/validate` with `client`; the response part of the answer (same
/// uid checked).
async fn post_review(client: &reqwest::Client, url: &str, review: &Value) -> Value {
    let r = client
        .post(format!("{url}/validate"))
        .json(review)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["response"]["uid"], review["request"]["uid"]);
    v["response"].clone()
}

fn codes(response: &Value) -> String {
    let mut s = response["status"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    for w in response["warnings"].as_array().into_iter().flatten() {
        s.push('\n');
        s.push_str(w.as_str().unwrap_or(""));
    }
    s
}

/// Read-after-write: companions applied right before their StatefulSet, which the watch has not
/// delivered yet, are found by one live read each, and the StatefulSet is not denied for them.
/// A StatefulSet whose companions the caches have costs no live read; one whose companion is
/// really missing is denied after one.
#[tokio::test]
async fn a_companion_the_watch_has_not_delivered_is_read_live_before_denying() {
    let fake = FakeApiServer::start(&[], false).await;
    let t = start_cluster_tls(&fake).await;
    let server = &t.server;

    // kubectl apply -f: Service and PDB, then the StatefulSet, before any watch event arrives
    for o in zk_companions() {
        fake.apply_quietly(o);
    }
    assert!(server.companions().service("data", "zk-hs").is_none());
    let r = admit_tls(&t, &review("CREATE", Some(&zk_sts()), None)).await;
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        !codes(&r).contains("SL001") && !codes(&r).contains("SL002"),
        "{r}"
    );
    let mut live = fake.namespaced_requests();
    live.sort();
    assert_eq!(
        live,
        [
            "/api/v1/namespaces/data/services/zk-hs?",
            "/apis/policy/v1/namespaces/data/poddisruptionbudgets?"
        ],
        "one GET for the Service, one list for the PDBs"
    );

    // the common case: the caches have the companions, no live read
    let mut kafka = zk_sts();
    kafka["metadata"]["name"] = json!("zk2");
    kafka["spec"]["serviceName"] = json!("zk2-hs");
    fake.apply(support::headless("zk2-hs", "zk", 2181));
    eventually("the watch delivers zk2-hs", || async {
        server.companions().service("data", "zk2-hs").map(|_| ())
    })
    .await;
    fake.apply(support::pdb("zk-pdb", "zk", 2));
    eventually("the watch delivers zk-pdb", || async {
        let labels = [("app".to_string(), "zk".to_string())]
            .into_iter()
            .collect();
        (!server
            .companions()
            .pdbs_selecting("data", &labels)
            .is_empty())
        .then_some(())
    })
    .await;
    let r = admit_tls(&t, &review("CREATE", Some(&kafka), None)).await;
    assert!(!codes(&r).contains("SL001"), "{r}");
    assert_eq!(fake.namespaced_requests().len(), 2, "no live read");

    // really missing: denied after one live read that also misses
    let mut lost = zk_sts();
    lost["metadata"]["name"] = json!("zk3");
    lost["spec"]["serviceName"] = json!("nowhere");
    let r = admit_tls(&t, &review("CREATE", Some(&lost), None)).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(codes(&r).contains("SL001 headless-service"), "{r}");
    assert_eq!(
        fake.namespaced_requests()[2..],
        ["/api/v1/namespaces/data/services/nowhere?"]
    );
    let metrics = t
        .client
        .get(format!("{}/metrics", t.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("statelint_live_reads_total{result=\"found\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("statelint_live_reads_total{result=\"missing\"} 1"),
        "{metrics}"
    );
    server.shutdown();
}

/// `kubectl scale` / an HPA: a `statefulsets/scale` UPDATE is checked against the StatefulSet
/// from the caches with the new replica count (SL009 warns at an even count; SL002 denies past
/// what the PDB keeps in quorum), and a StatefulSet the caches lack is read live.
/// (`kubectl scale --replicas=4 statefulset/zk` sends exactly this review.)
#[tokio::test]
async fn scaling_zookeeper_is_checked_against_its_pdb() {
    let mut objects = zk_companions();
    objects.push(zk_sts());
    let fake = FakeApiServer::start(&objects, false).await;
    let t = start_cluster_tls(&fake).await;
    let server = &t.server;

    // 3 -> 4: even (SL009 warns), and minAvailable 2 no longer keeps a quorum of 3 (SL002)
    let r = admit_tls(&t, &scale_review("data", "zk", 3, 4)).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let m = codes(&r);
    assert!(m.contains("scaling StatefulSet data/zk to 4"), "{m}");
    assert!(m.contains("SL002 pdb-quorum"), "{m}");
    assert!(m.contains("minAvailable >= 3"), "{m}");
    assert!(m.contains("SL009 odd-replicas"), "{m}");
    // 3 -> 5: odd, still past the PDB
    let r = admit_tls(&t, &scale_review("data", "zk", 3, 5)).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(codes(&r).contains("SL002 pdb-quorum"), "{r}");
    assert!(!codes(&r).contains("SL009"), "{r}");
    // back to 3, or to 0: allowed, nothing to say
    for to in [3, 0] {
        let r = admit_tls(&t, &scale_review("data", "zk", 5, to)).await;
        assert_eq!(r["allowed"], true, "{r}");
        assert!(r["warnings"].is_null(), "{r}");
    }
    assert!(
        fake.namespaced_requests().is_empty(),
        "answered from the caches"
    );

    // a StatefulSet the watch has not delivered yet: read live, then checked
    let mut zk = zk_sts();
    zk["metadata"]["name"] = json!("zk-new");
    fake.apply_quietly(zk);
    let r = admit_tls(&t, &scale_review("data", "zk-new", 3, 5)).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(codes(&r).contains("SL002 pdb-quorum"), "{r}");
    assert_eq!(
        fake.namespaced_requests(),
        ["/apis/apps/v1/namespaces/data/statefulsets/zk-new?"]
    );
    // a StatefulSet that does not exist: allowed (the API server answers 404 anyway)
    let r = admit_tls(&t, &scale_review("data", "ghost", 1, 2)).await;
    assert_eq!(r["allowed"], true, "{r}");
    server.shutdown();
}

/// Through the real binary over TLS, companions from the fake API server's watch: `kubectl
/// scale sts zk --replicas=1` under a Kafka StatefulSet whose `zookeeper.connect` names zk-0 to
/// zk-2 re-checks Kafka (SL005) and is denied, naming Kafka and the pods it loses; scaling up
/// to 5 is allowed. A StatefulSet UPDATE that lowers `replicas` is denied the same way.
#[tokio::test]
async fn the_binary_denies_scaling_zookeeper_below_kafka_connect_string() {
    statelint::webhook::tls::install_default_provider();
    let zk_pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "zk-pdb", "namespace": "data"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "zk"}}}});
    let kafka = kafka_sts("zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181");
    let objects = vec![
        zk_sts(),
        support::headless("zk-hs", "zk", 2181),
        zk_pdb,
        kafka,
        support::headless("kafka-hs", "kafka", 9092),
        support::pdb("kafka-pdb", "kafka", 2),
    ];
    let fake = FakeApiServer::start(&objects, false).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig()).unwrap();
    let ca = Ca::new("test ca");
    let (cert, key) = ca.server_cert();
    let secret = SecretDir::new(&cert, &key);
    let mut serve = ServeProcess::start_tls_with(
        &secret.cert(),
        &secret.key(),
        &[],
        &[("KUBECONFIG", &kubeconfig)],
    );
    let url = format!("https://{}", serve.addr);
    let client = https_client(&[&ca.pem], false);
    eventually("ready", || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let r = client.get(format!("{url}/readyz")).send().await.ok()?;
            (r.status() == 200).then_some(())
        }
    })
    .await;

    let r = post_review(&client, &url, &scale_review("data", "zk", 3, 1)).await;
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let m = codes(&r);
    assert!(
        m.starts_with("statelint denied scaling StatefulSet data/zk to 1"),
        "{m}"
    );
    assert!(
        m.contains("- SL005 zookeeper-connect: this breaks StatefulSet kafka, which depends on zk: StatefulSet kafka sets env KAFKA_ZOOKEEPER_CONNECT (container kafka), but host `zk-1.zk-hs` names pod zk-1, and ZooKeeper StatefulSet zk in `data` has 1 replica (only zk-0)"),
        "{m}"
    );
    assert!(m.contains("names pod zk-2"), "{m}");

    let r = post_review(&client, &url, &scale_review("data", "zk", 3, 5)).await;
    assert_eq!(r["allowed"], true, "{r}");
    assert!(!codes(&r).contains("SL005"), "{r}");

    // the same through a StatefulSet UPDATE
    let mut smaller = zk_sts();
    smaller["spec"]["replicas"] = json!(1);
    let r = post_review(
        &client,
        &url,
        &review("UPDATE", Some(&smaller), Some(&zk_sts())),
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        codes(&r).contains("this breaks StatefulSet kafka, which depends on zk"),
        "{r}"
    );
    assert!(
        fake.namespaced_requests().is_empty(),
        "answered from the caches"
    );
    serve.stop();
}

/// Through the real binary: a Service that does not decode is logged once, in one short line
/// that names the kind, namespace, name and error and never the object; the relist after a 410
/// decodes it again (counted) without logging it again.
#[tokio::test]
async fn the_binary_logs_a_bad_object_once_in_one_short_line() {
    statelint::webhook::tls::install_default_provider();
    let mut bad = bad_service("bad-svc");
    bad["metadata"]["annotations"] = json!({"note": "PAYLOAD-MARKER ".repeat(200)});
    let fake = FakeApiServer::start(&[sts("zk"), headless("zk-hs", "zk"), bad], false).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig()).unwrap();
    let mut serve = ServeProcess::start_with(&[], &[("KUBECONFIG", &kubeconfig)]);
    let addr = serve.addr;
    let url = format!("http://{addr}");
    eventually("ready", || {
        let url = url.clone();
        async move { (readyz(&url).await == 200).then_some(()) }
    })
    .await;
    assert_eq!(
        metric(&url, "statelint_watch_decode_failures_total", "Service").await,
        1.0
    );
    fake.expire();
    eventually("the relist decodes the bad Service again", || {
        let url = url.clone();
        async move {
            (metric(&url, "statelint_watch_relists_total", "Service").await >= 1.0
                && metric(&url, "statelint_watch_decode_failures_total", "Service").await >= 2.0)
                .then_some(())
        }
    })
    .await;
    let lines = serve.stop();
    let about: Vec<&String> = lines.iter().filter(|l| l.contains("bad-svc")).collect();
    assert_eq!(about.len(), 1, "one line about bad-svc: {lines:#?}");
    let line = about[0];
    assert!(line.len() < 400, "a short line: {line}");
    assert!(
        !line.contains("PAYLOAD-MARKER"),
        "no object content: {line}"
    );
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        v["message"],
        "skipping a watched object that does not decode"
    );
    assert_eq!(v["kind"], "Service", "{line}");
    assert_eq!(v["namespace"], "data", "{line}");
    assert_eq!(v["name"], "bad-svc", "{line}");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{line}");
    assert!(
        !lines.iter().any(|l| l.contains("PAYLOAD-MARKER")),
        "no line carries the object"
    );
}
