//! Helm-style cluster objects for the cache benchmarks (examples/fake_apiserver.rs,
//! examples/cache-probe.rs): labels, Helm annotations, managedFields and status. Services (one
//! in ten headless), Kafka-like StatefulSets with probes, resources, env, volumes and a claim
//! template, PDBs, and ConfigMaps of which one in ten holds a `server.properties` (the rest
//! application config). 100 objects of each kind per namespace.
#![allow(dead_code)]

use serde_json::{Value, json};

fn meta(kind_field: &str, name: &str, ns: &str, app: &str, i: usize) -> Value {
    json!({
        "name": name, "namespace": ns,
        "uid": format!("{:08x}-1b2c-4d5e-8f90-{:012x}", i, i * 7919),
        "creationTimestamp": "2026-11-02T10:14:07Z",
        "labels": {
            "app.kubernetes.io/name": app, "app.kubernetes.io/instance": format!("{app}-release"),
            "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": format!("{app}-12.4.1"),
            "app.kubernetes.io/version": "3.7.0"
        },
        "annotations": {
            "meta.helm.sh/release-name": format!("{app}-release"),
            "meta.helm.sh/release-namespace": ns
        },
        "managedFields": [{
            "manager": "helm", "operation": "Update", "apiVersion": "v1",
            "time": "2026-11-02T10:14:07Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:meta.helm.sh/release-name": {},
                "f:meta.helm.sh/release-namespace": {}}, "f:labels": {".": {},
                "f:app.kubernetes.io/instance": {}, "f:app.kubernetes.io/managed-by": {},
                "f:app.kubernetes.io/name": {}, "f:helm.sh/chart": {}}},
                kind_field: {"f:selector": {}, "f:ports": {}}}
        }]
    })
}

fn ns_of(i: usize) -> String {
    format!("team-{:04}", i / 100)
}

pub fn service(i: usize) -> Value {
    let app = format!("app-{i:06}");
    let headless = i.is_multiple_of(10);
    let ip = if headless {
        "None".to_string()
    } else {
        format!("10.96.{}.{}", (i / 250) % 250, i % 250 + 1)
    };
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta("f:spec", &format!("{app}-svc"), &ns_of(i), &app, i),
        "spec": {
            "clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                      {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}],
            "selector": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": format!("{app}-release")},
            "sessionAffinity": "None", "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    })
}

pub fn statefulset(i: usize) -> Value {
    let app = format!("kafka-{i:05}");
    let ns = ns_of(i);
    let sel = json!({"app.kubernetes.io/name": app, "app.kubernetes.io/instance": format!("{app}-release")});
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": meta("f:spec", &app, &ns, &app, i),
        "spec": {
            "replicas": 3, "serviceName": format!("{app}-headless"),
            "podManagementPolicy": "Parallel", "revisionHistoryLimit": 10,
            "selector": {"matchLabels": sel},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {"labels": sel, "annotations": {"checksum/config": "8f2a0c5d9e1b7f3a6c4d2e0b9a8f7e6d5c4b3a2918f7e6d5c4b3a29180f7e6d5"}},
                "spec": {
                    "serviceAccountName": app, "terminationGracePeriodSeconds": 30,
                    "securityContext": {"fsGroup": 1001, "runAsUser": 1001, "runAsNonRoot": true},
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 1, "podAffinityTerm": {"labelSelector": {"matchLabels": sel},
                            "topologyKey": "kubernetes.io/hostname"}}]}},
                    "containers": [{
                        "name": "kafka", "image": "docker.io/bitnami/kafka:3.7.0-debian-12-r0",
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/scripts/setup.sh"],
                        "env": [
                            {"name": "BITNAMI_DEBUG", "value": "false"},
                            {"name": "MY_POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                            {"name": "KAFKA_CFG_ZOOKEEPER_CONNECT", "value": format!("zk-0.zk-headless.{ns}.svc.cluster.local:2181")},
                            {"name": "KAFKA_CFG_LISTENERS", "value": "INTERNAL://:9093,CLIENT://:9092"},
                            {"name": "KAFKA_HEAP_OPTS", "value": "-Xmx1024m -Xms1024m"},
                            {"name": "KAFKA_CFG_LOG_DIRS", "value": "/bitnami/kafka/data"}
                        ],
                        "ports": [{"name": "client", "containerPort": 9092, "protocol": "TCP"},
                                  {"name": "internal", "containerPort": 9093, "protocol": "TCP"}],
                        "livenessProbe": {"tcpSocket": {"port": "client"}, "initialDelaySeconds": 10, "periodSeconds": 10,
                            "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
                        "readinessProbe": {"tcpSocket": {"port": "client"}, "initialDelaySeconds": 5, "periodSeconds": 10,
                            "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": 6},
                        "resources": {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": true, "runAsNonRoot": true, "runAsUser": 1001},
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                        "volumeMounts": [{"name": "data", "mountPath": "/bitnami/kafka"},
                                         {"name": "scripts", "mountPath": "/scripts/setup.sh", "subPath": "setup.sh"},
                                         {"name": "config", "mountPath": "/opt/bitnami/kafka/config/server.properties", "subPath": "server.properties"}]
                    }],
                    "volumes": [{"name": "scripts", "configMap": {"name": format!("{app}-scripts"), "defaultMode": 493}},
                                {"name": "config", "configMap": {"name": format!("{app}-config"), "defaultMode": 420}}],
                    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler"
                }
            },
            "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "resources": {"requests": {"storage": "8Gi"}}, "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}}]
        },
        "status": {"availableReplicas": 3, "collisionCount": 0, "currentReplicas": 3,
            "currentRevision": format!("{app}-5d8f7c9b6"), "observedGeneration": 1, "readyReplicas": 3,
            "replicas": 3, "updateRevision": format!("{app}-5d8f7c9b6"), "updatedReplicas": 3}
    })
}

pub fn pdb(i: usize) -> Value {
    let app = format!("kafka-{i:05}");
    json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": meta("f:spec", &format!("{app}-pdb"), &ns_of(i), &app, i),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {
            "app.kubernetes.io/name": app, "app.kubernetes.io/instance": format!("{app}-release")}}},
        "status": {"currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1, "expectedPods": 3,
            "observedGeneration": 1, "conditions": [{"lastTransitionTime": "2026-11-02T10:15:00Z",
            "message": "", "observedGeneration": 1, "reason": "SufficientPods", "status": "True",
            "type": "DisruptionAllowed"}]}
    })
}

pub fn config_map(i: usize) -> Value {
    let app = format!("kafka-{i:05}");
    let ns = ns_of(i);
    let data = if i.is_multiple_of(10) {
        json!({"server.properties": format!(
            "broker.id=0\nlisteners=PLAINTEXT://:9092\nlog.dirs=/bitnami/kafka/data\nnum.partitions=3\n\
             zookeeper.connect=zk-0.zk-headless.{ns}.svc.cluster.local:2181,zk-1.zk-headless.{ns}.svc.cluster.local:2181\n\
             zookeeper.connection.timeout.ms=18000\nlog.retention.hours=168\nsocket.send.buffer.bytes=102400\n")})
    } else {
        let body: String = (0..40)
            .map(|k| format!("  setting{k}: value-{i}-{k}\n"))
            .collect();
        json!({"application.yaml": format!("server:\n  port: 8080\napp:\n{body}")})
    };
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta("f:data", &format!("{app}-config"), &ns, &app, i),
        "data": data
    })
}
