//! What re-checking dependent StatefulSets costs (docs/webhook.md, "Dependent StatefulSets"):
//! a ZooKeeper StatefulSet UPDATE (its image bumped) or a `statefulsets/scale` UPDATE (3 -> 5),
//! reviewed N times in one thread, in a namespace with K Kafka StatefulSets whose
//! `zookeeper.connect` names it (all allowed: the common case).
//!
//! ```sh
//! cargo build --profile profiling --features server --example update_cost
//! for k in 0 10; do
//!   valgrind --tool=callgrind --callgrind-out-file=cg.update.$k target/profiling/examples/update_cost update $k 200
//! done   # (Ir at K=10 - Ir at K=0) / 10 / 200 = instructions per dependent and review
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use serde_json::{Value, json};
use statelint::catalog::Catalog;
use statelint::config::Config;
use statelint::object::Object;
use statelint::webhook::admit::{Mode, Reviewer, decode};

fn sts(name: &str, image: &str, env: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {"replicas": 3, "serviceName": format!("{name}-hs"),
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {
                    "securityContext": {"fsGroup": 1000, "runAsUser": 1000},
                    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": name}},
                         "topologyKey": "kubernetes.io/hostname"}]}},
                    "containers": [{"name": name, "image": image, "env": env,
                        "ports": [{"containerPort": 2181, "name": "client"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "resources": {"requests": {"storage": "10Gi"}}}}]}})
}

fn companion(kind: &str, name: &str, app: &str) -> Value {
    match kind {
        "Service" => json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "data"},
            "spec": {"clusterIP": "None", "selector": {"app": app}, "ports": [{"port": 2181}]}}),
        _ => json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "data"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}}}}),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("update");
    let k: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let zk = sts("zk", "zookeeper:3.9.2", json!([]));
    let mut objects = vec![
        zk.clone(),
        companion("Service", "zk-hs", "zk"),
        companion("PodDisruptionBudget", "zk-pdb", "zk"),
    ];
    for i in 0..k {
        let name = format!("kafka-{i}");
        let connect = "zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181";
        objects.push(sts(
            &name,
            "confluentinc/cp-kafka:7.6.0",
            json!([{"name": "KAFKA_ZOOKEEPER_CONNECT", "value": connect}]),
        ));
        objects.push(companion("Service", &format!("{name}-hs"), &name));
        objects.push(companion(
            "PodDisruptionBudget",
            &format!("{name}-pdb"),
            &name,
        ));
    }
    let c = Catalog::new(objects.iter().map(|v| {
        Arc::new(
            Object::from_value(v.clone(), None, "data")
                .unwrap()
                .unwrap(),
        )
    }));
    let request = match which {
        "update" => {
            let mut new = zk.clone();
            new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("zookeeper:3.9.3");
            json!({"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
                "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                "name": "zk", "namespace": "data", "operation": "UPDATE", "userInfo": {},
                "object": new, "oldObject": zk})
        }
        "scale" => {
            let scale = |r: i32| {
                json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
                    "metadata": {"name": "zk", "namespace": "data"}, "spec": {"replicas": r}})
            };
            json!({"uid": "u", "kind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                "subResource": "scale", "name": "zk", "namespace": "data",
                "operation": "UPDATE", "userInfo": {}, "object": scale(5), "oldObject": scale(3)})
        }
        other => panic!("update or scale, not {other}"),
    };
    let body = serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview", "request": request}))
    .unwrap();
    let config = Config::default();
    let reviewer = Reviewer {
        companions: &c,
        config: &config,
        mode: Mode::Enforce,
        runner: statelint::rules::run,
    };
    let mut allowed = 0;
    for _ in 0..n {
        let d = reviewer.review(decode(&body).unwrap());
        allowed += usize::from(d.response.allowed);
        if allowed == 0 {
            panic!("denied: {:?}", d.response.result.message);
        }
    }
    eprintln!("{which}: {n} reviews with {k} dependents, {allowed} allowed");
}
