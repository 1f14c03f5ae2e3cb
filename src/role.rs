//! What a StatefulSet is for quorum and data (SPEC §2a): a **voter** (a member of a majority
//! quorum), a **replica** (keeps data, does not vote) or **stateless** (neither). Rules ask
//! [`of`] and follow the role; every finding carries it (see [`RoleInfo::describe`]).
//!
//! The role comes from, in order:
//! 1. the annotation `statelint.io/role: voter|replica|stateless` on the StatefulSet;
//! 2. the system its pods run ([`crate::system::detect`]: image, command/args, env, mounted
//!    ConfigMaps) and its mode there (Elasticsearch `node.roles`, Kafka `process.roles`, NATS
//!    JetStream, MongoDB arbiter...);
//! 3. otherwise whether it keeps data: volume claim templates or PVC volumes make unknown
//!    software a replica; without either it is stateless.
//!
//! A known data system keeps its role when its data sits on `emptyDir` or `hostPath` (SL004
//! then reports the missing claim templates).

use std::sync::Arc;

use serde::Serialize;

use crate::catalog::Companions;
use crate::object::Object;
use crate::system::{self, Detection, Duty, Evidence, System};

/// Annotation that sets the role of a StatefulSet.
pub const ROLE_ANNOTATION: &str = "statelint.io/role";

/// What a StatefulSet is for quorum and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A member of a majority quorum.
    Voter,
    /// Keeps data, does not vote.
    Replica,
    /// Keeps no data and does not vote.
    Stateless,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Voter => "voter",
            Role::Replica => "replica",
            Role::Stateless => "stateless",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "voter" => Ok(Role::Voter),
            "replica" => Ok(Role::Replica),
            "stateless" => Ok(Role::Stateless),
            other => Err(format!(
                "`{other}` is not a role (use voter, replica or stateless)"
            )),
        }
    }
}

/// How a rule applies to a role (SPEC §2a's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// At the rule's severity.
    Fully,
    /// Its findings are warnings.
    AsWarning,
    /// Not at all.
    Not,
}

/// How rule `code` applies to a StatefulSet with role `info`. SL002 and SL004 also read the
/// role themselves (replica budgets, voters without data, single replicas).
///
/// SL002 and SL004 skip stateless StatefulSets that are known to keep no data (a known system's
/// stateless component, a web server, the annotation); for unknown software that merely has no
/// claim templates or PVC volumes they only warn: a StatefulSet usually exists for its storage.
pub fn applies(code: &str, info: &RoleInfo) -> Applies {
    match (code, info.role) {
        ("SL001" | "SL003", Role::Stateless) => Applies::AsWarning,
        ("SL002" | "SL004", Role::Stateless) if info.assumed => Applies::AsWarning,
        ("SL002" | "SL004", Role::Stateless) => Applies::Not,
        _ => Applies::Fully,
    }
}

/// Where a StatefulSet keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `volumeClaimTemplates` (their names).
    ClaimTemplates(Vec<String>),
    /// Pod volumes backed by existing PersistentVolumeClaims (volume names).
    PvcVolumes(Vec<String>),
    /// Neither.
    None,
}

impl Data {
    pub fn kept(&self) -> bool {
        !matches!(self, Data::None)
    }

    fn describe(&self) -> String {
        match self {
            Data::ClaimTemplates(n) => format!("volumeClaimTemplates {}", n.join(", ")),
            Data::PvcVolumes(n) => format!("PVC volumes {}", n.join(", ")),
            Data::None => "no volumeClaimTemplates and no PVC volumes".into(),
        }
    }
}

/// The role of one StatefulSet and why.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub role: Role,
    /// The known system it runs, if any (also when the annotation set the role).
    pub detection: Option<Arc<Detection>>,
    /// Why, in words: `Elasticsearch data node: image bitnami/elasticsearch,
    /// ELASTICSEARCH_NODE_ROLES=[data]`.
    pub reason: String,
    /// Where it keeps data.
    pub data: Data,
    /// False for voters that keep no data by design (MongoDB arbiter, Redis Sentinel) and for
    /// stateless StatefulSets: SL004 does not ask them for claim templates.
    pub stores_data: bool,
    /// Set by the `statelint.io/role` annotation.
    pub from_annotation: bool,
    /// Stateless only because unknown software keeps no data (no known system, no annotation):
    /// rules that skip stateless StatefulSets still warn, since a StatefulSet usually exists
    /// for its storage and identity.
    pub assumed: bool,
    /// The node that decided (an env value, a command word, the image, the annotation...).
    pub evidence: Option<Evidence>,
}

impl RoleInfo {
    pub fn system(&self) -> Option<System> {
        self.detection.as_ref().map(|d| d.system)
    }

    /// `voter (ZooKeeper: image bitnami/zookeeper)`: for messages and notes.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.role, self.reason)
    }

    pub fn is_voter(&self) -> bool {
        self.role == Role::Voter
    }
}

/// The role of `obj`, when it is a StatefulSet.
pub fn of(obj: &Object, companions: &dyn Companions) -> Option<RoleInfo> {
    shared(obj, companions).map(|r| (*r).clone())
}

/// [`of`], shared: worked out once per object and companion view, with its detection
/// ([`system::derivation`]).
pub fn shared(obj: &Object, companions: &dyn Companions) -> Option<Arc<RoleInfo>> {
    obj.statefulset()?;
    let d = system::derivation(obj, companions);
    d.role
        .get_or_init(|| role_of(obj, d.detection.clone()).map(Arc::new))
        .clone()
}

fn role_of(obj: &Object, detection: Option<Arc<Detection>>) -> Option<RoleInfo> {
    let sts = obj.statefulset()?;
    let data = data_of(obj);
    let annotation = sts
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ROLE_ANNOTATION));
    let mut bad_annotation = None;
    if let Some(value) = annotation {
        match value.parse::<Role>() {
            Ok(role) => {
                let mut ann = String::from("/metadata/annotations");
                crate::source::yaml::push_segment(&mut ann, ROLE_ANNOTATION);
                let stores_data = match (&detection, role) {
                    (_, Role::Stateless) => false,
                    (Some(d), Role::Voter) => d.duty != Duty::VotesWithoutData,
                    _ => true,
                };
                return Some(RoleInfo {
                    role,
                    reason: format!("annotation {ROLE_ANNOTATION}: {value}"),
                    detection,
                    data,
                    stores_data,
                    from_annotation: true,
                    assumed: false,
                    evidence: Some(Evidence {
                        config_map: None,
                        pointer: ann,
                    }),
                });
            }
            Err(e) => bad_annotation = Some(format!("annotation {ROLE_ANNOTATION} ignored: {e}")),
        }
    }
    let mut info = match detection {
        Some(d) => {
            let (role, stores, extra) = match d.duty {
                Duty::Votes => (Role::Voter, true, ""),
                Duty::VotesWithoutData => (Role::Voter, false, ""),
                Duty::KeepsData => (Role::Replica, true, ""),
                Duty::Neither => (Role::Stateless, false, ""),
                Duty::ByData if data.kept() => (Role::Replica, true, ", keeps data"),
                Duty::ByData => (Role::Stateless, false, ", keeps no data"),
                Duty::VotesByData if data.kept() => (
                    Role::Voter,
                    true,
                    ", keeps data, which only its voting mode does",
                ),
                Duty::VotesByData => (Role::Stateless, false, ", keeps no data"),
            };
            // `{label}: {reason}{extra}`
            let mut reason = String::with_capacity(64 + d.reason.len());
            d.push_label(&mut reason);
            reason.push_str(": ");
            reason.push_str(&d.reason);
            reason.push_str(extra);
            RoleInfo {
                role,
                evidence: Some(d.evidence.clone()),
                detection: Some(d),
                reason,
                data,
                stores_data: stores,
                from_annotation: false,
                assumed: false,
            }
        }
        None => {
            let (role, reason) = if data.kept() {
                (
                    Role::Replica,
                    format!(
                        "software not known to vote, keeps data: {}",
                        data.describe()
                    ),
                )
            } else {
                (
                    Role::Stateless,
                    format!("no known data system, {}", data.describe()),
                )
            };
            let evidence = match &data {
                Data::ClaimTemplates(_) => Some("/spec/volumeClaimTemplates".to_string()),
                Data::PvcVolumes(_) => Some(format!("{}/spec/volumes", obj.pod_template_pointer())),
                Data::None => None,
            };
            RoleInfo {
                role,
                reason,
                detection: None,
                stores_data: role == Role::Replica,
                assumed: role == Role::Stateless,
                data,
                from_annotation: false,
                evidence: evidence.map(|pointer| Evidence {
                    config_map: None,
                    pointer,
                }),
            }
        }
    };
    if let Some(b) = bad_annotation {
        info.reason = format!("{}; {b}", info.reason);
    }
    Some(info)
}

/// Where a StatefulSet keeps data: claim templates first, else PVC volumes.
pub fn data_of(obj: &Object) -> Data {
    let Some(spec) = obj.statefulset().and_then(|s| s.spec.as_ref()) else {
        return Data::None;
    };
    let templates: Vec<String> = spec
        .volume_claim_templates
        .iter()
        .flatten()
        .map(|t| t.metadata.name.clone().unwrap_or_default())
        .collect();
    if !templates.is_empty() {
        return Data::ClaimTemplates(templates);
    }
    let pvcs: Vec<String> = spec
        .template
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter(|v| v.persistent_volume_claim.is_some())
        .map(|v| v.name.clone())
        .collect();
    if pvcs.is_empty() {
        Data::None
    } else {
        Data::PvcVolumes(pvcs)
    }
}

/// Roles of every StatefulSet of `objects`, in order (for `statelint roles`).
pub fn all(objects: &[Arc<Object>], companions: &dyn Companions) -> Vec<(Arc<Object>, RoleInfo)> {
    objects
        .iter()
        .filter_map(|o| of(o, companions).map(|r| (o.clone(), r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::object::FileId;
    use crate::source::{Limits, parse_file};

    /// Roles of the StatefulSets of `yaml` by name: (name, role, reason).
    fn roles(yaml: &str) -> Vec<(String, Role, String)> {
        let (objects, errors) = parse_file(FileId(0), yaml, "default", &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        let objects: Vec<Arc<Object>> = objects.into_iter().map(Arc::new).collect();
        let c = Catalog::new(objects.iter().cloned());
        all(&objects, &c)
            .into_iter()
            .map(|(o, r)| (o.key.name.clone(), r.role, r.reason))
            .collect()
    }

    fn one(yaml: &str) -> (Role, String) {
        let r = roles(yaml);
        assert_eq!(r.len(), 1, "{r:?}");
        (r[0].1, r[0].2.clone())
    }

    /// A StatefulSet with one container `c` (a YAML flow mapping) and `extra` spec fields.
    fn sts(container: &str, extra: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: s}}
spec:
  serviceName: s
  selector: {{matchLabels: {{app: s}}}}
  template:
    metadata: {{labels: {{app: s}}}}
    spec:
      containers: [{container}]
{extra}"
        )
    }

    const VCT: &str = "  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce]}}]\n";

    #[track_caller]
    fn is(container: &str, extra: &str, role: Role, reason: &str) {
        let (r, why) = one(&sts(container, extra));
        assert_eq!(r, role, "{container}: {why}");
        assert!(
            why.contains(reason),
            "{container}: `{why}` lacks `{reason}`"
        );
    }

    #[test]
    fn quorum_systems_vote() {
        is(
            "{name: zk, image: bitnami/zookeeper:3.9}",
            VCT,
            Role::Voter,
            "ZooKeeper: image bitnami/zookeeper",
        );
        is(
            "{name: e, image: registry.k8s.io/etcd:3.5.9-0}",
            "",
            Role::Voter,
            "etcd",
        );
        is(
            "{name: e, image: base:1, command: [/usr/local/bin/etcd, --name, x]}",
            VCT,
            Role::Voter,
            "etcd",
        );
        is(
            "{name: c, image: cockroachdb/cockroach:v23, command: [cockroach, start]}",
            VCT,
            Role::Voter,
            "CockroachDB",
        );
        is(
            "{name: r, image: redpandadata/redpanda:v23}",
            VCT,
            Role::Voter,
            "Redpanda",
        );
        is(
            "{name: k, image: clickhouse/clickhouse-keeper:24}",
            VCT,
            Role::Voter,
            "ClickHouse Keeper",
        );
        is(
            "{name: yb, image: yugabytedb/yugabyte:2.20, command: [/home/yugabyte/bin/yb-master, --fs_data_dirs=/d]}",
            VCT,
            Role::Voter,
            "YugabyteDB master",
        );
        is(
            "{name: yb, image: yugabytedb/yugabyte:2.20, command: [/home/yugabyte/bin/yb-tserver]}",
            VCT,
            Role::Replica,
            "YugabyteDB tserver",
        );
        is(
            "{name: m, image: chrislusf/seaweedfs:3.80, command: [/bin/sh, -ec, 'exec /usr/bin/weed -logdir=/logs master -port=9333 -peers=s-0.s:9333']}",
            VCT,
            Role::Voter,
            "SeaweedFS master",
        );
        is(
            "{name: v, image: chrislusf/seaweedfs:3.80, command: [/usr/bin/weed, volume, -dir=/data, -mserver=m-0.m:9333]}",
            VCT,
            Role::Replica,
            "SeaweedFS volume server",
        );
        is(
            "{name: s, image: daprio/dapr:1.14, command: [./scheduler]}",
            VCT,
            Role::Voter,
            "Dapr scheduler",
        );
        // Galera clusters elect a primary component by majority
        is(
            "{name: m, image: docker.io/bitnami/mariadb-galera:12.0}",
            VCT,
            Role::Voter,
            "Galera: image bitnami/mariadb-galera",
        );
        is(
            "{name: m, image: percona/percona-xtradb-cluster:8.0}",
            VCT,
            Role::Voter,
            "Galera",
        );
        // plain MariaDB is not a quorum system
        is(
            "{name: m, image: mariadb:11}",
            VCT,
            Role::Replica,
            "software not known to vote",
        );
        // Dapr's own images on ghcr.io; placement's Raft log may stay in memory
        is(
            "{name: p, image: ghcr.io/dapr/placement:1.16, command: [/placement, --initial-cluster, 'p-0=p-0.p:30000']}",
            "",
            Role::Voter,
            "Dapr placement (raft): image dapr/placement",
        );
        // embedded etcd in other software
        is(
            "{name: s, image: example/meta:1, args: [--etcd-initial-cluster=a=http://a:2380]}",
            VCT,
            Role::Voter,
            "etcd (embedded)",
        );
    }

    #[test]
    fn kafka_modes() {
        let env = |roles: &str| {
            format!(
                "{{name: kafka, image: bitnami/kafka:4.0, env: [{{name: KAFKA_CFG_PROCESS_ROLES, value: '{roles}'}}]}}"
            )
        };
        is(
            &env("controller"),
            VCT,
            Role::Voter,
            "Kafka KRaft controller: image bitnami/kafka, KAFKA_CFG_PROCESS_ROLES=controller",
        );
        is(
            &env("controller,broker"),
            VCT,
            Role::Voter,
            "KRaft controller+broker",
        );
        is(&env("broker"), VCT, Role::Replica, "Kafka KRaft broker");
        is(
            "{name: k, image: confluentinc/cp-server:7, env: [{name: KAFKA_ZOOKEEPER_CONNECT, value: 'zk:2181'}]}",
            VCT,
            Role::Replica,
            "broker (ZooKeeper mode)",
        );
        // --override on the command line
        is(
            "{name: k, image: x/kafka:3, command: [sh, -c, 'exec kafka-server-start.sh c --override process.roles=controller']}",
            VCT,
            Role::Voter,
            "process.roles=controller",
        );
        // a Kafka image running ZooKeeper
        is(
            "{name: k, image: solsson/kafka:2.5.1, command: [./bin/zookeeper-server-start.sh, /etc/kafka/zk.properties]}",
            VCT,
            Role::Voter,
            "ZooKeeper: command `./bin/zookeeper-server-start.sh`",
        );
    }

    #[test]
    fn kafka_roles_from_a_mounted_config_map() {
        let yaml = sts(
            "{name: kafka, image: bitnami/kafka:4.0, volumeMounts: [{name: cfg, mountPath: /config}]}",
            "",
        )
        .replace(
            "      containers:",
            "      volumes: [{name: cfg, configMap: {name: kafka-cfg}}]\n      containers:",
        ) + VCT
            + "---
apiVersion: v1
kind: ConfigMap
metadata: {name: kafka-cfg}
data:
  server.properties: |
    node.id=0
    process.roles=broker
";
        let (r, why) = one(&yaml);
        assert_eq!(r, Role::Replica, "{why}");
        assert!(
            why.contains("process.roles in ConfigMap kafka-cfg (server.properties)=broker"),
            "{why}"
        );
    }

    #[test]
    fn elasticsearch_node_roles() {
        let bitnami = |roles: &str| {
            format!(
                "{{name: es, image: bitnami/elasticsearch:9, env: [{{name: ELASTICSEARCH_NODE_ROLES, value: '{roles}'}}]}}"
            )
        };
        is(
            &bitnami("master"),
            VCT,
            Role::Voter,
            "Elasticsearch master-eligible node",
        );
        is(
            &bitnami("data"),
            VCT,
            Role::Replica,
            "Elasticsearch data node: image bitnami/elasticsearch, ELASTICSEARCH_NODE_ROLES=[data]",
        );
        is(
            &bitnami("ingest"),
            "",
            Role::Stateless,
            "ELASTICSEARCH_NODE_ROLES=[ingest]",
        );
        is(&bitnami(""), "", Role::Stateless, "coordinating-only node");
        // data_hot etc. are data roles
        is(
            "{name: es, image: elasticsearch:8, env: [{name: node.roles, value: 'data_hot,ingest,'}]}",
            VCT,
            Role::Replica,
            "data node",
        );
        is(
            "{name: es, image: elasticsearch:8, env: [{name: node.roles, value: 'master,data,'}]}",
            VCT,
            Role::Voter,
            "master-eligible",
        );
        is(
            "{name: es, image: opensearchproject/opensearch:2, env: [{name: node.roles, value: 'cluster_manager'}]}",
            VCT,
            Role::Voter,
            "OpenSearch master-eligible",
        );
        // default: every role
        is(
            "{name: es, image: elasticsearch:8}",
            VCT,
            Role::Voter,
            "node.roles not set",
        );
        is(
            "{name: es, image: elasticsearch:8, args: [-Enode.roles=ingest]}",
            "",
            Role::Stateless,
            "node.roles=[ingest]",
        );
        is(
            "{name: es, image: elasticsearch:7, env: [{name: node.master, value: 'false'}, {name: node.data, value: 'true'}]}",
            VCT,
            Role::Replica,
            "data node",
        );
    }

    #[test]
    fn nats_mongodb_redis() {
        is(
            "{name: nats, image: nats:2.10, args: [--jetstream]}",
            VCT,
            Role::Voter,
            "NATS with JetStream",
        );
        is(
            "{name: nats, image: nats:2.10}",
            "",
            Role::Stateless,
            "NATS without JetStream",
        );
        is(
            "{name: m, image: bitnami/mongodb:7}",
            VCT,
            Role::Voter,
            "MongoDB data member",
        );
        is(
            "{name: m, image: bitnami/mongodb:7, env: [{name: MONGODB_REPLICA_SET_MODE, value: arbiter}]}",
            "",
            Role::Voter,
            "MongoDB arbiter",
        );
        is(
            "{name: m, image: mongo:7, command: [mongos, --configdb, x]}",
            "",
            Role::Stateless,
            "router",
        );
        is("{name: r, image: redis:7}", VCT, Role::Replica, "Redis");
        is(
            "{name: r, image: redis:7, command: [redis-sentinel, /etc/s.conf]}",
            "",
            Role::Voter,
            "Redis Sentinel",
        );
        is(
            "{name: r, image: bitnami/rabbitmq:3}",
            VCT,
            Role::Replica,
            "RabbitMQ",
        );
        is(
            "{name: c, image: cassandra:4}",
            VCT,
            Role::Replica,
            "Cassandra",
        );
    }

    /// `sts` with a pod volume `cfg` from ConfigMap `cm`, whose data is `data` (YAML block
    /// mapping lines, indented by 2), and `extra` spec fields.
    fn with_config_map(container: &str, init: &str, data: &str, extra: &str) -> String {
        let volumes =
            "      volumes: [{name: cfg, configMap: {name: cm}}, {name: conf, emptyDir: {}}]\n";
        let inits = if init.is_empty() {
            String::new()
        } else {
            format!("      initContainers: [{init}]\n")
        };
        sts(container, extra).replace(
            "      containers:",
            &format!("{volumes}{inits}      containers:"),
        ) + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n"
            + data
    }

    #[test]
    fn nats_jetstream_in_json_config_or_unseen() {
        // the nats-io chart writes nats.conf as JSON: a quoted key
        let c = "{name: nats, image: nats:2.10, volumeMounts: [{name: cfg, mountPath: /etc/nats-config}]}";
        let data = "  nats.conf: |\n    {\n      \"jetstream\": {\n        \"store_dir\": \"/data\"\n      }\n    }\n";
        let (r, why) = one(&with_config_map(c, "", data, VCT));
        assert_eq!(r, Role::Voter, "{why}");
        assert!(why.contains("NATS with JetStream"), "{why}");
        let data = "  nats.conf: |\n    {\"port\": 4222, \"jetstream\": false}\n";
        assert_eq!(one(&with_config_map(c, "", data, VCT)).0, Role::Replica);
        // config in a Secret (Bitnami): NATS writes to disk only for JetStream
        let secret = "{name: nats, image: bitnami/nats:2, args: [-c, /opt/bitnami/nats/conf/nats-server.conf]}";
        let (r, why) = one(&sts(secret, VCT));
        assert_eq!(r, Role::Voter, "{why}");
        assert!(
            why.contains("keeps data, which only its voting mode does"),
            "{why}"
        );
        assert_eq!(one(&sts(secret, "")).0, Role::Stateless);
    }

    #[test]
    fn consul_server_from_bitnami_env() {
        is(
            "{name: consul, image: bitnami/consul:1.21, env: [{name: CONSUL_BOOTSTRAP_EXPECT, value: '3'}]}",
            VCT,
            Role::Voter,
            "Consul server: image bitnami/consul, CONSUL_BOOTSTRAP_EXPECT=3",
        );
        is(
            "{name: consul, image: bitnami/consul:1.21}",
            VCT,
            Role::Voter,
            "CONSUL_AGENT_MODE not set (the image runs a server)",
        );
        is(
            "{name: consul, image: bitnami/consul:1.21, env: [{name: CONSUL_AGENT_MODE, value: client}]}",
            VCT,
            Role::Replica,
            "Consul client",
        );
        is(
            "{name: consul, image: hashicorp/consul:1.21}",
            "",
            Role::Stateless,
            "no -server flag found",
        );
    }

    #[test]
    fn redis_beside_its_sentinel_votes_and_keeps_data() {
        let yaml = sts(
            "{name: redis, image: bitnami/redis:8}, {name: sentinel, image: bitnami/redis-sentinel:8}",
            VCT,
        );
        let r = roles(&yaml);
        assert_eq!(r[0].1, Role::Voter, "{r:?}");
        assert!(
            r[0].2.contains("Redis Sentinel: image bitnami/redis-sentinel, beside Redis (container redis), which keeps data"),
            "{r:?}"
        );
        let (objects, _) = parse_file(FileId(0), &yaml, "default", &Limits::default());
        let objects: Vec<Arc<Object>> = objects.into_iter().map(Arc::new).collect();
        let c = Catalog::new(objects.iter().cloned());
        assert!(of(&objects[0], &c).unwrap().stores_data);
    }

    #[test]
    fn config_rendered_by_an_init_container() {
        // Bitnami Kafka 3.x: the init container mounts the ConfigMap and writes
        // server.properties into an emptyDir that the server mounts
        let init = "{name: init, image: bitnami/kafka:3.9, volumeMounts: [{name: cfg, mountPath: /configmaps}, {name: conf, mountPath: /config}]}";
        let main = "{name: kafka, image: bitnami/kafka:3.9, volumeMounts: [{name: conf, mountPath: /opt/bitnami/kafka/config/server.properties, subPath: server.properties}]}";
        let data = "  server.properties: |\n    process.roles=controller,broker\n";
        let (r, why) = one(&with_config_map(main, init, data, VCT));
        assert_eq!(r, Role::Voter, "{why}");
        assert!(
            why.contains("process.roles in ConfigMap cm (server.properties)=controller,broker"),
            "{why}"
        );
        // an init container that shares no writable volume with the server says nothing
        let init = "{name: init, image: bitnami/kafka:3.9, volumeMounts: [{name: cfg, mountPath: /configmaps}]}";
        let (r, why) = one(&with_config_map(main, init, data, VCT));
        assert_eq!(r, Role::Replica, "{why}");
    }

    #[test]
    fn pulsar_components_by_command() {
        let c = |script: &str| {
            format!(
                "{{name: p, image: apachepulsar/pulsar-all:4, command: [sh, -c], args: ['{script}']}}"
            )
        };
        is(
            &c("bin/pulsar zookeeper-shell -server zk get /x; exec bin/pulsar broker"),
            "",
            Role::Stateless,
            "Pulsar broker: image apachepulsar/pulsar-all, command `bin/pulsar broker`",
        );
        is(
            &c("exec bin/pulsar proxy"),
            "",
            Role::Stateless,
            "Pulsar proxy",
        );
        is(
            &c("exec bin/pulsar zookeeper"),
            VCT,
            Role::Voter,
            "ZooKeeper",
        );
        is(
            &c("exec bin/pulsar bookie"),
            VCT,
            Role::Replica,
            "BookKeeper bookie",
        );
        is(
            &c("exec bin/bookkeeper autorecovery"),
            "",
            Role::Stateless,
            "BookKeeper autorecovery",
        );
        is(
            &c("sleep 10000000000"),
            "",
            Role::Stateless,
            "Pulsar: image apachepulsar/pulsar-all, keeps no data",
        );
    }

    #[test]
    fn unknown_software_by_data() {
        is(
            "{name: w, image: nginx:1.27}",
            "",
            Role::Stateless,
            "web server/proxy: image nginx",
        );
        is(
            "{name: w, image: example/app:1}",
            "",
            Role::Stateless,
            "no known data system, no volumeClaimTemplates and no PVC volumes",
        );
        is(
            "{name: w, image: postgres:16}",
            VCT,
            Role::Replica,
            "software not known to vote, keeps data: volumeClaimTemplates data",
        );
        let pvc = "{name: w, image: example/app:1}";
        let yaml = sts(pvc, "").replace(
            "      containers:",
            "      volumes: [{name: d, persistentVolumeClaim: {claimName: d}}]\n      containers:",
        );
        let (r, why) = one(&yaml);
        assert_eq!(r, Role::Replica);
        assert!(why.contains("PVC volumes d"), "{why}");
    }

    #[test]
    fn sidecars_and_init_containers_do_not_count() {
        // a Kafka JMX exporter beside a ZooKeeper server; an init container running a ZooKeeper
        // client
        is(
            "{name: jmx, image: solsson/kafka-prometheus-jmx-exporter:1}, {name: zk, image: confluentinc/cp-zookeeper:7}",
            VCT,
            Role::Voter,
            "ZooKeeper",
        );
        is(
            "{name: x, image: redis-exporter:1}",
            "",
            Role::Stateless,
            "no known data system",
        );
    }

    #[test]
    fn annotation_overrides() {
        let yaml = sts("{name: w, image: nginx:1}", "").replace(
            "metadata: {name: s}",
            "metadata: {name: s, annotations: {statelint.io/role: voter}}",
        );
        assert_eq!(
            one(&yaml),
            (Role::Voter, "annotation statelint.io/role: voter".into())
        );
        let yaml = sts("{name: zk, image: zookeeper:3.9}", VCT).replace(
            "metadata: {name: s}",
            "metadata: {name: s, annotations: {statelint.io/role: stateless}}",
        );
        assert_eq!(one(&yaml).0, Role::Stateless);
        let yaml = sts("{name: zk, image: zookeeper:3.9}", VCT).replace(
            "metadata: {name: s}",
            "metadata: {name: s, annotations: {statelint.io/role: leader}}",
        );
        let (r, why) = one(&yaml);
        assert_eq!(r, Role::Voter);
        assert!(
            why.contains("annotation statelint.io/role ignored: `leader` is not a role"),
            "{why}"
        );
    }
}
