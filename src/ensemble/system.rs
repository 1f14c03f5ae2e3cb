//! Which quorum system a workload runs, for the rules that read peer and client lists: the
//! catalogue of known systems ([`crate::system::detect`]) decides; when it recognises nothing,
//! the image/command/name heuristics SL005 and SL009 have always used still apply (a
//! `my-zk` StatefulSet on a private base image), so their verdicts do not change.

use crate::catalog::Companions;
use crate::object::Object;
use crate::pod::{containers, image_name};
use crate::system::{Duty, System, detected};

/// Does `obj` run `system`?
pub fn runs(obj: &Object, system: System, companions: &dyn Companions) -> bool {
    runs_given(
        obj,
        detected(obj, companions, |d| d.map(|d| d.system)),
        system,
    )
}

/// [`runs`] for each of `systems`, detecting once: those `obj` runs, in order.
pub fn which_run(obj: &Object, systems: &[System], companions: &dyn Companions) -> Vec<System> {
    let found = detected(obj, companions, |d| d.map(|d| d.system));
    systems
        .iter()
        .copied()
        .filter(|&s| runs_given(obj, found, s))
        .collect()
}

/// [`runs`] once detection found `detected`.
fn runs_given(obj: &Object, detected: Option<System>, system: System) -> bool {
    match detected {
        Some(d) => d == system,
        None => match system {
            System::ZooKeeper => named_zookeeper(obj),
            System::Etcd => named_etcd(obj),
            System::Kafka => named_kafka(obj),
            _ => false,
        },
    }
}

/// True when `obj` runs a ZooKeeper server.
pub fn is_zookeeper(obj: &Object, companions: &dyn Companions) -> bool {
    runs(obj, System::ZooKeeper, companions)
}

/// True when `obj` serves ZooKeeper's client protocol: a ZooKeeper server, or ClickHouse
/// Keeper (ClickHouse's own ZooKeeper replacement, which ZooKeeper clients connect to alike).
pub fn serves_zookeeper(obj: &Object, companions: &dyn Companions) -> bool {
    is_zookeeper(obj, companions) || runs(obj, System::ClickHouseKeeper, companions)
}

/// True when `obj` runs etcd.
pub fn is_etcd(obj: &Object, companions: &dyn Companions) -> bool {
    runs(obj, System::Etcd, companions)
}

/// True when `obj` runs Kafka (brokers or KRaft controllers).
pub fn is_kafka(obj: &Object, companions: &dyn Companions) -> bool {
    runs(obj, System::Kafka, companions)
}

/// Whether `obj` votes in its system's quorum (a KRaft controller, not a broker-only node);
/// unknown: yes.
pub fn votes(obj: &Object, companions: &dyn Companions) -> bool {
    detected(obj, companions, |d| {
        d.is_none_or(|d| {
            matches!(
                d.duty,
                Duty::Votes | Duty::VotesWithoutData | Duty::ByData | Duty::VotesByData
            )
        })
    })
}

/// Commands that start a ZooKeeper server.
const ZK_COMMANDS: &[&str] = &[
    "zookeeper-server-start",
    "zkServer.sh",
    "start-zookeeper",
    "QuorumPeerMain",
];
/// Commands that start a Kafka broker.
const KAFKA_COMMANDS: &[&str] = &["kafka-server-start", "kafka.Kafka"];

/// True when a StatefulSet (or another workload) runs a ZooKeeper server: a container image
/// named for ZooKeeper (`zookeeper`, `cp-zookeeper`, `k8szk`...), a container that starts one
/// (`zookeeper-server-start.sh`, `zkServer.sh`, `start-zookeeper`: Kafka images bundle these
/// scripts, so yolean's `zoo`/`pzoo` run ZooKeeper from `solsson/kafka`), or a name that says
/// so (`zk`, `zookeeper`, `zoo`, `pzoo` as a dash-separated word) while no container starts a
/// Kafka broker.
fn named_zookeeper(obj: &Object) -> bool {
    let Some(spec) = obj.pod_template().and_then(|t| t.spec.as_ref()) else {
        return false;
    };
    let mut zk_image = false;
    let mut zk_command = false;
    let mut kafka_command = false;
    let mut kafka_image = false;
    for c in &spec.containers {
        let img = c.image.as_deref().map(image_name).unwrap_or_default();
        if img.contains("exporter") {
            continue; // a metrics sidecar says nothing about what the pod runs
        }
        if img.contains("zookeeper") || img == "k8szk" || img.starts_with("zk-") || img == "zk" {
            zk_image = true;
        }
        if img.contains("kafka") || img == "cp-server" || img.contains("redpanda") {
            kafka_image = true;
        }
        let words = c.command.iter().flatten().chain(c.args.iter().flatten());
        for w in words {
            zk_command |= ZK_COMMANDS.iter().any(|k| w.contains(k));
            kafka_command |= KAFKA_COMMANDS.iter().any(|k| w.contains(k));
        }
    }
    if zk_command {
        return true;
    }
    if kafka_command {
        return false;
    }
    if zk_image {
        return true;
    }
    let named = obj
        .key
        .name
        .split(['-', '_', '.'])
        .any(|w| matches!(w, "zk" | "zookeeper" | "zoo" | "pzoo" | "zookeepers"));
    named && !kafka_image
}

/// True when a workload runs etcd: a container image named `etcd` (not an etcd operator,
/// backup or client tool), a container that runs the `etcd` binary, or a name with an `etcd`
/// word.
fn named_etcd(obj: &Object) -> bool {
    let Some(spec) = obj.pod_template().and_then(|t| t.spec.as_ref()) else {
        return false;
    };
    let tools = [
        "operator", "backup", "restore", "client", "defrag", "proxy", "exporter",
    ];
    let is_tool = |s: &str| tools.iter().any(|t| s.contains(t));
    let mut other_image = false;
    for (_, c) in containers(spec).filter(|(p, _)| p.starts_with("/containers")) {
        let img = c.image.as_deref().map(image_name).unwrap_or_default();
        if img.contains("etcd") && !is_tool(&img) {
            return true;
        }
        let runs_etcd = c
            .command
            .iter()
            .flatten()
            .next()
            .is_some_and(|cmd| cmd.rsplit('/').next() == Some("etcd"));
        if runs_etcd {
            return true;
        }
        other_image |= !img.is_empty();
    }
    let named = obj.key.name.split(['-', '_', '.']).any(|w| w == "etcd");
    named && !is_tool(&obj.key.name) && (other_image || spec.containers.is_empty())
}

/// True when a workload runs Kafka (brokers or KRaft controllers): a Kafka image (not a
/// ZooKeeper run from a Kafka image, not an exporter or UI) or a container that starts Kafka.
fn named_kafka(obj: &Object) -> bool {
    if named_zookeeper(obj) {
        return false;
    }
    let Some(spec) = obj.pod_template().and_then(|t| t.spec.as_ref()) else {
        return false;
    };
    spec.containers.iter().any(|c| {
        let img = c.image.as_deref().map(image_name).unwrap_or_default();
        let tool = [
            "exporter", "ui", "connect", "rest", "schema", "ksql", "mirror",
        ]
        .iter()
        .any(|t| img.contains(t));
        let kafka_image = (img.contains("kafka") || img == "cp-server") && !tool;
        let starts = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .any(|w| KAFKA_COMMANDS.iter().any(|k| w.contains(k)));
        kafka_image || starts
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::pod::testing::one_container_statefulset as sts;

    fn is_zookeeper(o: &Object) -> bool {
        super::is_zookeeper(o, &Catalog::default())
    }

    fn is_kafka(o: &Object) -> bool {
        super::is_kafka(o, &Catalog::default())
    }

    #[test]
    fn detects_zookeeper() {
        assert!(is_zookeeper(&sts("zk", "zookeeper:3.8", &[])));
        assert!(is_zookeeper(&sts(
            "coordination",
            "confluentinc/cp-zookeeper:7",
            &[]
        )));
        assert!(is_zookeeper(&sts(
            "ensemble",
            "gcr.io/google_samples/k8szk:v3",
            &[]
        )));
        // a Kafka image running the bundled ZooKeeper (yolean's zoo/pzoo)
        assert!(is_zookeeper(&sts(
            "pzoo",
            "solsson/kafka:2.5.1",
            &[
                "./bin/zookeeper-server-start.sh",
                "/etc/kafka/zookeeper.properties"
            ]
        )));
        assert!(!is_zookeeper(&sts("zoo", "solsson/kafka:2.5.1", &[])));
        assert!(!is_zookeeper(&sts(
            "kafka",
            "solsson/kafka:2.5.1",
            &["./bin/kafka-server-start.sh"]
        )));
        assert!(!is_zookeeper(&sts(
            "kafka-zk-client",
            "bitnami/kafka:3",
            &[]
        )));
        assert!(is_zookeeper(&sts("my-zk", "registry/base:1", &[])));
        assert!(!is_zookeeper(&sts("brokers", "zookeeper-exporter:1", &[])));
        assert!(!is_zookeeper(&sts("zkafka", "registry/base:1", &[])));
    }

    #[test]
    fn detects_kafka() {
        assert!(is_kafka(&sts("kafka", "bitnami/kafka:4.0", &[])));
        assert!(is_kafka(&sts(
            "events",
            "registry/base:1",
            &["kafka-server-start.sh"]
        )));
        assert!(!is_kafka(&sts(
            "pzoo",
            "solsson/kafka:2.5.1",
            &["./bin/zookeeper-server-start.sh"]
        )));
        assert!(!is_kafka(&sts("x", "danielqsj/kafka-exporter:1", &[])));
    }
}
