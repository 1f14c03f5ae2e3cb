//! The reviews the webhook benchmarks send (examples/admit_cost.rs, examples/webhook_load.rs):
//! a ~1.3 KB Kafka StatefulSet CREATE whose companions are known, and a ConfigMap CREATE of the
//! same size that no rule reads (the decode-and-answer floor).
#![allow(dead_code)]

use std::sync::Arc;

use serde_json::{Value, json};
use statelint::catalog::Catalog;
use statelint::object::Object;

/// The companions of the Kafka StatefulSet.
pub fn companions() -> Catalog {
    Catalog::new(
        companion_values()
            .into_iter()
            .map(|v| Arc::new(Object::from_value(v, None, "data").unwrap().unwrap())),
    )
}

/// [`companions`] as JSON objects (for `statelint serve --context`).
pub fn companion_values() -> Vec<Value> {
    let zk = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "zk", "namespace": "data"},
        "spec": {"replicas": 3, "serviceName": "zk-hs",
            "selector": {"matchLabels": {"app": "zk"}},
            "template": {"metadata": {"labels": {"app": "zk"}},
                "spec": {"containers": [{"name": "zk", "image": "zookeeper:3.9",
                    "ports": [{"containerPort": 2181, "name": "client"}]}]}}}});
    let svc = |name: &str, app: &str, port: i32| {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "data"},
            "spec": {"clusterIP": "None", "selector": {"app": app},
                "ports": [{"name": "p", "port": port}]}})
    };
    let pdb = |name: &str, app: &str| {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": "data"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}}}})
    };
    vec![
        zk,
        svc("zk-hs", "zk", 2181),
        pdb("zk-pdb", "zk"),
        svc("kafka-hs", "kafka", 9092),
        pdb("kafka-pdb", "kafka"),
    ]
}

fn review(kind: (&str, &str, &str), resource: &str, object: Value) -> Vec<u8> {
    let (name, namespace) = (
        object["metadata"]["name"].clone(),
        object["metadata"]["namespace"].clone(),
    );
    serde_json::to_vec(
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": kind.0, "version": kind.1, "kind": kind.2},
            "resource": {"group": kind.0, "version": kind.1, "resource": resource},
            "name": name, "namespace": namespace, "operation": "CREATE",
            "userInfo": {"username": "admin"}, "object": object, "dryRun": false}}),
    )
    .unwrap()
}

/// (Kafka StatefulSet CREATE, ConfigMap CREATE of about the same size).
pub fn reviews() -> (Vec<u8>, Vec<u8>) {
    let kafka = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "kafka", "namespace": "data", "labels": {"app": "kafka"}},
        "spec": {"replicas": 3, "serviceName": "kafka-hs",
            "selector": {"matchLabels": {"app": "kafka"}},
            "template": {"metadata": {"labels": {"app": "kafka"}},
                "spec": {
                    "securityContext": {"fsGroup": 1000, "runAsUser": 1000, "runAsNonRoot": true},
                    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "kafka"}},
                         "topologyKey": "kubernetes.io/hostname"}]}},
                    "containers": [{"name": "kafka", "image": "confluentinc/cp-kafka:7.6.0",
                        "ports": [{"containerPort": 9092, "name": "broker"}],
                        "env": [
                            {"name": "KAFKA_ZOOKEEPER_CONNECT",
                             "value": "zk-0.zk-hs:2181,zk-1.zk-hs:2181,zk-2.zk-hs:2181"},
                            {"name": "KAFKA_LISTENERS", "value": "PLAINTEXT://:9092"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/kafka"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "resources": {"requests": {"storage": "10Gi"}}}}]}});
    let sts = review(("apps", "v1", "StatefulSet"), "statefulsets", kafka);
    // a ConfigMap padded to the StatefulSet review's size, in a namespace without StatefulSets:
    // no rule concerns it (decode, read, answer)
    let mut pad = 0;
    loop {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "web", "labels": {"app": "web"}},
            "data": {"settings.ini": "x".repeat(pad)}});
        let floor = review(("", "v1", "ConfigMap"), "configmaps", cm);
        if floor.len() >= sts.len() {
            return (sts, floor);
        }
        pad += sts.len() - floor.len();
    }
}

/// Every object read from the manifests under `dir` (by `statelint check`'s loader) as the
/// companions, and a CREATE review of each StatefulSet, Service, PodDisruptionBudget and
/// ConfigMap among them. Each file's namespaces are its own (`<n>-<namespace>` for the n-th
/// file): each file stays one scenario, as its own namespaces of a cluster would be.
pub fn from_dir(dir: std::path::PathBuf) -> (Catalog, Vec<Vec<u8>>) {
    use statelint::object::Body;
    use statelint::object::FileId;
    use statelint::source::{Limits, discover, parse_file, read_text};
    let limits = Limits::default();
    let mut objects = Vec::new();
    for (n, file) in discover(std::slice::from_ref(&dir), &mut Vec::new())
        .iter()
        .enumerate()
    {
        let Ok(text) = read_text(file, &limits) else {
            continue;
        };
        let (read, _errors) = parse_file(FileId(n), &text, "default", &limits);
        objects.extend(read.into_iter().map(|mut o| {
            o.key.namespace = format!("{n}-{}", o.key.namespace);
            Arc::new(o)
        }));
    }
    let reviews: Vec<Vec<u8>> = objects
        .iter()
        .filter_map(|o| match &o.body {
            Body::StatefulSet(s) => Some(typed_review(&**s, &o.key.namespace)),
            Body::Service(s) => Some(typed_review(&**s, &o.key.namespace)),
            Body::Pdb(p) => Some(typed_review(&**p, &o.key.namespace)),
            Body::ConfigMap(c) => Some(typed_review(&**c, &o.key.namespace)),
            _ => None,
        })
        .collect();
    assert!(
        !reviews.is_empty(),
        "no StatefulSet, Service, PDB or ConfigMap under {}",
        dir.display()
    );
    (Catalog::new(objects), reviews)
}

/// A CREATE review of a typed object in `namespace`.
fn typed_review<K: k8s_openapi::Resource + serde::Serialize>(
    object: &K,
    namespace: &str,
) -> Vec<u8> {
    let mut value = serde_json::to_value(object).unwrap();
    value["metadata"]["namespace"] = Value::from(namespace);
    review((K::GROUP, K::VERSION, K::KIND), K::URL_PATH_SEGMENT, value)
}
