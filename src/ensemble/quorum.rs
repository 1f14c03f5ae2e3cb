//! Majority-quorum ensembles: which quorum a StatefulSet votes in, and which StatefulSets vote
//! together. Shared by SL009 `odd-replicas` (an even number of voters) and SL002 `pdb-quorum`
//! (budgets of several StatefulSets that together allow losing the quorum).
//!
//! A StatefulSet votes in a majority quorum when its role is voter ([`crate::role`]) and the
//! system it runs elects by majority among its pods: ZooKeeper, etcd (also embedded), KRaft
//! controllers, Consul and Vault raft servers, NATS JetStream, Elasticsearch/OpenSearch
//! master-eligible nodes, MongoDB data members and arbiters, ClickHouse Keeper, Redpanda,
//! YugabyteDB masters, Dapr placement/scheduler, Galera (MariaDB, Percona XtraDB Cluster),
//! SeaweedFS masters.
//! CockroachDB (ranges replicate by their own factor, not by node count) and Redis Sentinel
//! (its quorum is a setting) are not such ensembles. A StatefulSet whose `statelint.io/role: voter` annotation says so votes too.
//!
//! StatefulSets of one system in one namespace form one ensemble when a Service broader than
//! the StatefulSet's own selector selects the pods of both (a ZooKeeper ensemble split over two
//! StatefulSets behind one Service), or, for MongoDB, when they name the same replica set
//! (`MONGODB_REPLICA_SET_NAME`, `--replSet`): data members and an arbiter. Two MongoDB
//! StatefulSets that name different replica sets (a sharded cluster's config servers and
//! shards) are separate ensembles, even behind one Service.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::Companions;
use crate::object::Object;
use crate::pod::containers;
use crate::role::{self, Role};
use crate::system::System;

use super::settings::{self, Want};

/// The majority quorum a StatefulSet votes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quorum {
    /// A known system's quorum.
    System(System),
    /// Software statelint does not know, declared a voter by `statelint.io/role: voter`.
    Declared,
}

impl Quorum {
    /// How messages name the ensemble's software: `ZooKeeper`, `KRaft controller`, `voter`.
    pub fn label(self) -> &'static str {
        match self {
            Quorum::System(System::Kafka) => "KRaft controller",
            Quorum::System(s) => s.name(),
            Quorum::Declared => "voter",
        }
    }
}

/// Systems whose pods elect by majority among themselves.
fn majority(system: System) -> bool {
    matches!(
        system,
        System::ZooKeeper
            | System::Etcd
            | System::Kafka
            | System::Consul
            | System::Vault
            | System::Nats
            | System::Elasticsearch
            | System::OpenSearch
            | System::MongoDB
            | System::ClickHouseKeeper
            | System::Redpanda
            | System::YugabyteDB
            | System::Dapr
            | System::Galera
            | System::SeaweedFS
    )
}

/// The majority quorum `obj` (a StatefulSet) votes in, if any. Software the catalogue does not
/// recognise but that its image, command or name shows to be ZooKeeper or etcd (a `my-zk` on a
/// private base image) votes in that system's quorum unless its role annotation says otherwise.
pub fn votes_in(obj: &Object, companions: &dyn Companions) -> Option<Quorum> {
    let info = role::shared(obj, companions)?;
    if info.from_annotation {
        if info.role != Role::Voter {
            return None;
        }
        return Some(match &info.detection {
            Some(d) if majority(d.system) => Quorum::System(d.system),
            _ => Quorum::Declared,
        });
    }
    match &info.detection {
        Some(d) => {
            (info.role == Role::Voter && majority(d.system)).then_some(Quorum::System(d.system))
        }
        None if super::system::is_zookeeper(obj, companions) => {
            Some(Quorum::System(System::ZooKeeper))
        }
        None if super::system::is_etcd(obj, companions) => Some(Quorum::System(System::Etcd)),
        None => None,
    }
}

/// The replica set a MongoDB StatefulSet's members join (`MONGODB_REPLICA_SET_NAME`,
/// `--replSet`), when any container says it.
pub fn replica_set_name(obj: &Object, companions: &dyn Companions) -> Option<String> {
    const WANT: Want<'static> = Want {
        properties: &[],
        flags: &["--replSet"],
        env: &["MONGODB_REPLICA_SET_NAME"],
        files: &[],
        ..Want::NONE
    };
    let spec = obj.pod_template()?.spec.as_ref()?;
    let base = format!("{}/spec", obj.pod_template_pointer());
    let ns = obj.key.namespace.as_str();
    containers(spec)
        .filter(|(p, _)| p.starts_with("/containers"))
        .flat_map(|(cptr, c)| {
            settings::read(c, &format!("{base}{cptr}"), spec, ns, companions, &WANT)
        })
        .find_map(|s| s.value.filter(|v| !v.is_empty()))
}

/// The voting StatefulSets of `obj`'s ensemble (itself included, sorted by name) and the
/// quorum they vote in; `None` when `obj` votes in no majority quorum. Only a Service broader
/// than the StatefulSet's own selector, or a MongoDB replica set name, leads to a scan of the
/// namespace's StatefulSets.
pub fn ensemble(
    obj: &Arc<Object>,
    companions: &dyn Companions,
) -> Option<(Quorum, Vec<Arc<Object>>)> {
    let quorum = votes_in(obj, companions)?;
    let mut members = vec![obj.clone()];
    let ns = &obj.key.namespace;
    let services: Vec<Arc<Object>> = match obj.pod_labels() {
        Some(labels) => {
            let own: Option<&BTreeMap<String, String>> = obj
                .statefulset()
                .and_then(|s| s.spec.as_ref())
                .and_then(|s| s.selector.match_labels.as_ref());
            companions
                .services_selecting(ns, labels)
                .into_iter()
                .filter(|s| match (s.service_selector(), own) {
                    (Some(sel), Some(own)) => !own.iter().all(|(k, v)| sel.get(k) == Some(v)),
                    _ => true,
                })
                .collect()
        }
        None => Vec::new(),
    };
    let replica_set = match quorum {
        Quorum::System(System::MongoDB) => replica_set_name(obj, companions),
        _ => None,
    };
    if services.is_empty() && replica_set.is_none() {
        return Some((quorum, members));
    }
    let others: Vec<Arc<Object>> = companions
        .statefulsets(ns)
        .into_iter()
        .filter(|other| other.key != obj.key)
        .filter(|other| {
            let shared_service = other
                .pod_labels()
                .is_some_and(|l| services.iter().any(|s| s.service_selects(l)));
            // a MongoDB replica set name decides: a sharded cluster's config servers and
            // shards are separate replica sets, however broad a Service selects them together
            let other_set = replica_set
                .as_ref()
                .and(replica_set_name(other, companions));
            let same_replica_set = other_set.is_some() && other_set == replica_set;
            let other_replica_set = other_set.is_some() && other_set != replica_set;
            (same_replica_set || shared_service && !other_replica_set)
                && votes_in(other, companions) == Some(quorum)
        })
        .collect();
    members.extend(others);
    members.sort_by(|a, b| a.key.name.cmp(&b.key.name));
    members.dedup_by(|a, b| a.key == b.key);
    Some((quorum, members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::pod::testing::one_container_statefulset as sts;

    #[test]
    fn majority_systems_vote() {
        let c = Catalog::default();
        assert_eq!(
            votes_in(&sts("zk", "zookeeper:3.9", &[]), &c),
            Some(Quorum::System(System::ZooKeeper))
        );
        assert_eq!(
            votes_in(&sts("my-zk", "registry/base:1", &[]), &c),
            Some(Quorum::System(System::ZooKeeper))
        );
        assert_eq!(
            votes_in(&sts("n", "nats:2.10", &["--jetstream"]), &c),
            Some(Quorum::System(System::Nats))
        );
        assert_eq!(
            votes_in(&sts("g", "bitnami/mariadb-galera:12", &[]), &c),
            Some(Quorum::System(System::Galera))
        );
        // NATS without JetStream, Cassandra, CockroachDB: no majority quorum among the pods
        assert_eq!(votes_in(&sts("n", "nats:2.10", &[]), &c), None);
        assert_eq!(votes_in(&sts("c", "cassandra:4", &[]), &c), None);
        assert_eq!(
            votes_in(&sts("crdb", "cockroachdb/cockroach:v23", &[]), &c),
            None
        );
        assert_eq!(Quorum::System(System::Kafka).label(), "KRaft controller");
    }

    /// Names of the StatefulSets in the ensemble of each StatefulSet of `yaml`.
    fn ensembles(yaml: &str) -> Vec<(String, Vec<String>)> {
        use crate::object::FileId;
        use crate::source::{Limits, parse_file};
        let (objects, errors) = parse_file(FileId(0), yaml, "default", &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        let objects: Vec<Arc<Object>> = objects.into_iter().map(Arc::new).collect();
        let c = Catalog::new(objects.iter().cloned());
        objects
            .iter()
            .filter(|o| o.statefulset().is_some())
            .map(|o| {
                let members = ensemble(o, &c).map_or_else(Vec::new, |(_, m)| {
                    m.iter().map(|m| m.key.name.clone()).collect()
                });
                (o.key.name.clone(), members)
            })
            .collect()
    }

    fn mongo(name: &str, set: &str, mode: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}}}
spec:
  serviceName: all
  replicas: 3
  selector: {{matchLabels: {{app: mongo, part: {name}}}}}
  template:
    metadata: {{labels: {{app: mongo, part: {name}}}}}
    spec:
      containers:
      - name: m
        image: bitnami/mongodb-sharded:8
        env:
        - {{name: MONGODB_SHARDING_MODE, value: {mode}}}
        - {{name: MONGODB_REPLICA_SET_NAME, value: {set}}}
---
"
        )
    }

    const BROAD_SERVICE: &str = "apiVersion: v1
kind: Service
metadata: {name: all}
spec: {clusterIP: None, selector: {app: mongo}}
";

    #[test]
    fn mongodb_replica_sets_behind_one_service_are_separate_ensembles() {
        let yaml = mongo("cfg", "rs-cfg", "configsvr")
            + &mongo("shard0", "rs-shard0", "shardsvr")
            + &mongo("shard0-arbiter", "rs-shard0", "shardsvr")
            + BROAD_SERVICE;
        let e = ensembles(&yaml);
        assert_eq!(
            e,
            [
                ("cfg".to_string(), vec!["cfg".to_string()]),
                (
                    "shard0".to_string(),
                    vec!["shard0".to_string(), "shard0-arbiter".to_string()]
                ),
                (
                    "shard0-arbiter".to_string(),
                    vec!["shard0".to_string(), "shard0-arbiter".to_string()]
                ),
            ]
        );
        // without replica set names, the shared Service still groups them
        let yaml = yaml.replace("MONGODB_REPLICA_SET_NAME", "OTHER");
        assert!(ensembles(&yaml).iter().all(|(_, m)| m.len() == 3), "{yaml}");
    }
}
