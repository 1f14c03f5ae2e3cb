//! The webhook with companions from a (fake) cluster: kube-rs watchers against
//! `fake_apiserver`, readiness gated on the initial lists, watch events seen by the next
//! admission, companion protection answered from the watch caches.

mod support;

use serde_json::{Value, json};
use statelint::webhook::{CompanionSource, ServeArgs};
use support::fake_apiserver::FakeApiServer;
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
