//! Peer lists: the settings in which a quorum system names its members, parsed per system.
//!
//! Two kinds: **voter lists** name every voter (ZooKeeper `server.N`, etcd `--initial-cluster`,
//! KRaft `controller.quorum.voters`); **seed lists** only need to reach the ensemble (KRaft
//! `controller.quorum.bootstrap.servers`). References for each format are on the SL011 page.

use super::hosts::{HostPort, host_port, url_host_port};
use super::settings::{Form, Setting, Want};

/// What a list says about the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Every voter, once, nothing else.
    Voters,
    /// Entries that must exist; need not list all.
    Seeds,
    /// The number of voters, which must be the ensemble's size.
    Count,
}

pub use crate::system::System;

/// How a list is written, which says how to split it into members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// zoo.cfg `server.N=host:peer:election[:role][;[client:]port]`, one member per key.
    ZooCfgServer,
    /// `ZOO_SERVERS`: Bitnami `host:2888:3888[::id]` separated by spaces, commas or `;` (ids
    /// by position from 1 unless `::id` is given), or the official image's
    /// `server.N=host:2888:3888[;2181]` separated by spaces.
    ZooServers,
    /// Confluent `ZOOKEEPER_SERVERS`: `host:2888:3888` separated by `;` (ids by position from
    /// 1); Pulsar's: bare pod names separated by `,`.
    ZookeeperServers,
    /// etcd `name=peerURL,...`.
    EtcdInitialCluster,
    /// KRaft `id@host:port,...`.
    KraftVoters,
    /// ClickHouse Keeper's `<raft_configuration>` servers, read as `id@host:port,...`
    /// ([`super::formats::clickhouse`]).
    KeeperRaft,
    /// `host:port,...`.
    HostList,
    /// URLs `scheme://host:port,...` (NATS `--routes nats://n-0.n:6222,...`).
    UrlList,
    /// Node names (= pod names) separated by commas or spaces, also as a YAML/JSON list
    /// (`[a, "b"]`): Elasticsearch/OpenSearch `cluster.initial_master_nodes`.
    NodeNames,
    /// A number.
    Count,
}

/// One list setting SL011 reads.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    pub system: System,
    pub kind: ListKind,
    pub format: Format,
    pub want: Want<'static>,
}

const KRAFT_VOTERS_ENV: &[&str] = &[
    "KAFKA_CFG_CONTROLLER_QUORUM_VOTERS",
    "KAFKA_CONTROLLER_QUORUM_VOTERS",
];
const KRAFT_BOOTSTRAP_ENV: &[&str] = &[
    "KAFKA_CFG_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS",
    "KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS",
];

const ES_INITIAL_MASTERS: Want<'static> = Want {
    properties: &[
        "cluster.initial_master_nodes",
        "cluster.initial_cluster_manager_nodes",
    ],
    flags: &[],
    env: &[
        "cluster.initial_master_nodes",
        "cluster.initial_cluster_manager_nodes",
        "ELASTICSEARCH_CLUSTER_MASTER_HOSTS",
    ],
    files: &["elasticsearch.yml", "opensearch.yml"],
    ..Want::NONE
};
const ES_SEED_HOSTS: Want<'static> = Want {
    properties: &["discovery.seed_hosts"],
    flags: &[],
    env: &["discovery.seed_hosts", "ELASTICSEARCH_CLUSTER_HOSTS"],
    files: &["elasticsearch.yml", "opensearch.yml"],
    ..Want::NONE
};

/// etcd's `--config-file` (a YAML file whose keys are the flags' names); when it is given,
/// etcd ignores its other flags and env vars.
pub const ETCD_CONFIG_FILE: &[&str] = &["--config-file", "ETCD_CONFIG_FILE"];

/// Every list SL011 reads, by system.
pub const LISTS: &[ListSpec] = &[
    ListSpec {
        system: System::ZooKeeper,
        kind: ListKind::Voters,
        format: Format::ZooCfgServer,
        want: Want {
            properties: &["server.*"],
            flags: &[],
            env: &[],
            files: &["zoo.cfg", "zoo.cfg.dynamic", "zookeeper.properties"],
            ..Want::NONE
        },
    },
    ListSpec {
        system: System::ZooKeeper,
        kind: ListKind::Voters,
        format: Format::ZooServers,
        want: Want {
            properties: &[],
            flags: &[],
            env: &["ZOO_SERVERS"],
            files: &[],
            ..Want::NONE
        },
    },
    ListSpec {
        system: System::ZooKeeper,
        kind: ListKind::Voters,
        format: Format::ZookeeperServers,
        want: Want {
            properties: &[],
            flags: &[],
            env: &["ZOOKEEPER_SERVERS"],
            files: &[],
            ..Want::NONE
        },
    },
    ListSpec {
        system: System::Etcd,
        kind: ListKind::Voters,
        format: Format::EtcdInitialCluster,
        want: Want {
            properties: &[],
            flags: &["--initial-cluster", "--etcd-initial-cluster"],
            env: &["ETCD_INITIAL_CLUSTER"],
            files: &[],
            file_keys: &["initial-cluster"],
            config_files: ETCD_CONFIG_FILE,
            ..Want::NONE
        },
    },
    ListSpec {
        system: System::Kafka,
        kind: ListKind::Voters,
        format: Format::KraftVoters,
        want: Want {
            properties: &["controller.quorum.voters"],
            flags: &[],
            env: KRAFT_VOTERS_ENV,
            files: &["server.properties"],
            ..Want::NONE
        },
    },
    ListSpec {
        system: System::Kafka,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: Want {
            properties: &["controller.quorum.bootstrap.servers"],
            flags: &[],
            env: KRAFT_BOOTSTRAP_ENV,
            files: &["server.properties"],
            ..Want::NONE
        },
    },
    // Elasticsearch/OpenSearch: the master-eligible nodes that bootstrap the cluster, by node
    // name (the pod name in StatefulSets); Bitnami's ELASTICSEARCH_CLUSTER_MASTER_HOSTS
    // becomes `cluster.initial_master_nodes`
    ListSpec {
        system: System::Elasticsearch,
        kind: ListKind::Voters,
        format: Format::NodeNames,
        want: ES_INITIAL_MASTERS,
    },
    ListSpec {
        system: System::OpenSearch,
        kind: ListKind::Voters,
        format: Format::NodeNames,
        want: ES_INITIAL_MASTERS,
    },
    ListSpec {
        system: System::Elasticsearch,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: ES_SEED_HOSTS,
    },
    ListSpec {
        system: System::OpenSearch,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: ES_SEED_HOSTS,
    },
    // Cassandra: the seed nodes new nodes contact (`CASSANDRA_SEEDS` of the official example
    // image and Bitnami's; `seeds:` of cassandra.yaml's seed_provider)
    ListSpec {
        system: System::Cassandra,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: Want {
            properties: &[],
            flags: &[],
            env: &["CASSANDRA_SEEDS"],
            files: &["cassandra.yaml"],
            file_keys: &["seed_provider.parameters.seeds"],
            ..Want::NONE
        },
    },
    // Consul servers join through `-retry-join` (repeatable; cloud auto-join entries such as
    // `provider=k8s label_selector=...` are not host names and are left out), or Bitnami's
    // `CONSUL_RETRY_JOIN`
    ListSpec {
        system: System::Consul,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: Want {
            properties: &[],
            flags: &["-retry-join"],
            // Bitnami's image: one address
            env: &["CONSUL_RETRY_JOIN", "CONSUL_RETRY_JOIN_ADDRESS"],
            files: &["*.json", "*.hcl"],
            file_keys: &["retry_join"],
            config_env: &["CONSUL_LOCAL_CONFIG"],
            ..Want::NONE
        },
    },
    // Redpanda brokers join through `seed_servers` (redpanda.yaml, `{host: {address, port}}`
    // entries) or `rpk redpanda start --seeds host:port,...`
    ListSpec {
        system: System::Redpanda,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: Want {
            properties: &[],
            flags: &["--seeds"],
            env: &[],
            files: &["redpanda.yaml"],
            file_keys: &["redpanda.seed_servers"],
            ..Want::NONE
        },
    },
    // CockroachDB nodes join through `--join host:port,...`
    ListSpec {
        system: System::CockroachDB,
        kind: ListKind::Seeds,
        format: Format::HostList,
        want: Want {
            properties: &[],
            flags: &["--join"],
            env: &[],
            files: &[],
            ..Want::NONE
        },
    },
    // Consul servers: `-bootstrap-expect=N` (or `bootstrap_expect = N` in an HCL file, or
    // Bitnami's `CONSUL_BOOTSTRAP_EXPECT`) must be the number of servers
    ListSpec {
        system: System::Consul,
        kind: ListKind::Count,
        format: Format::Count,
        want: Want {
            properties: &["bootstrap_expect"],
            flags: &["-bootstrap-expect"],
            // Bitnami's image
            env: &["CONSUL_BOOTSTRAP_EXPECT"],
            files: &["*.hcl", "*.json"],
            config_env: &["CONSUL_LOCAL_CONFIG"],
            ..Want::NONE
        },
    },
    // NATS servers cluster through `--routes` (seeds: each route must reach a server; the
    // servers gossip the rest); `cluster { routes = [...] }` in nats.conf
    ListSpec {
        system: System::Nats,
        kind: ListKind::Seeds,
        format: Format::UrlList,
        want: Want {
            properties: &[],
            flags: &["--routes", "-routes"],
            env: &[],
            files: &["nats.conf", "nats-server.conf"],
            file_keys: &["cluster.routes"],
            ..Want::NONE
        },
    },
    // SeaweedFS masters form their Raft through `-peers=host:port,...`: "all master nodes"
    // (`weed master -h`), so a voter list; `none` (single-master mode) names no host
    ListSpec {
        system: System::SeaweedFS,
        kind: ListKind::Voters,
        format: Format::HostList,
        want: Want {
            flags: &["-peers"],
            ..Want::NONE
        },
    },
    // Vault's integrated storage: `storage "raft" { retry_join { leader_api_addr = "..." } }`
    // (repeatable blocks, all read) in a mounted HCL file: seeds a new node joins through
    ListSpec {
        system: System::Vault,
        kind: ListKind::Seeds,
        format: Format::UrlList,
        want: Want {
            files: &["*.hcl"],
            file_keys: &["storage.raft.retry_join.leader_api_addr"],
            ..Want::NONE
        },
    },
    // ClickHouse Keeper: the Raft voters of `<keeper_server><raft_configuration>` in mounted XML
    ListSpec {
        system: System::ClickHouseKeeper,
        kind: ListKind::Voters,
        format: Format::KeeperRaft,
        want: Want {
            properties: &[super::formats::clickhouse::KEEPER_RAFT],
            flags: &[],
            env: &[],
            files: &["*.xml"],
            ..Want::NONE
        },
    },
    // ZooKeeper images that generate `server.N` from a count: Kubernetes' `k8szk`
    // (`ZK_REPLICAS`) and `kubernetes-zookeeper` (`start-zookeeper --servers=N`)
    ListSpec {
        system: System::ZooKeeper,
        kind: ListKind::Count,
        format: Format::Count,
        want: Want {
            properties: &[],
            flags: &["--servers"],
            env: &["ZK_REPLICAS"],
            files: &[],
            ..Want::NONE
        },
    },
    // helm/charts' etcd builds `--initial-cluster` from `INITIAL_CLUSTER_SIZE`
    ListSpec {
        system: System::Etcd,
        kind: ListKind::Count,
        format: Format::Count,
        want: Want {
            properties: &[],
            flags: &[],
            env: &["INITIAL_CLUSTER_SIZE"],
            files: &[],
            ..Want::NONE
        },
    },
];

#[test]
fn kraft_env_names_follow_the_conventions() {
    use super::settings::kafka_env_names;
    assert_eq!(
        kafka_env_names("controller.quorum.voters").as_slice(),
        KRAFT_VOTERS_ENV
    );
    assert_eq!(
        kafka_env_names("controller.quorum.bootstrap.servers").as_slice(),
        KRAFT_BOOTSTRAP_ENV
    );
}

/// One member of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The entry in the (expanded) value.
    pub text: String,
    /// Its id: zoo.cfg `server.N`, `::N`, position, `N@`.
    pub id: Option<i64>,
    /// Whether the id is only its position in the list (Confluent, Bitnami without `::`).
    pub positional: bool,
    /// etcd member name.
    pub name: Option<String>,
    pub host: HostPort,
    /// A ZooKeeper observer (listed, does not vote).
    pub observer: bool,
}

fn member(text: &str, host: HostPort) -> Member {
    Member {
        text: text.to_string(),
        id: None,
        positional: false,
        name: None,
        host,
        observer: false,
    }
}

/// `host:peer:election[:role][;...]` -> host, observer.
fn zk_server(addr: &str) -> (HostPort, bool) {
    let addr = addr.split(';').next().unwrap_or(addr).trim();
    let observer = addr.ends_with(":observer");
    let host = addr.split(':').next().unwrap_or(addr);
    (
        HostPort {
            host: host.trim_end_matches('.').to_string(),
            port: addr.split(':').nth(1).map(str::to_string),
            text: addr.to_string(),
        },
        observer,
    )
}

/// Split a list value into members. `key` is the setting's key (zoo.cfg `server.N`).
pub fn parse(format: Format, key: &str, value: &str) -> Vec<Member> {
    let value = value.trim();
    match format {
        Format::ZooCfgServer => {
            let id = key.strip_prefix("server.").and_then(|n| n.parse().ok());
            let (host, observer) = zk_server(value);
            vec![Member {
                id,
                observer,
                ..member(value, host)
            }]
        }
        Format::ZooServers if value.contains("server.") => value
            .split_whitespace()
            .filter_map(|e| {
                let (k, v) = e.split_once('=')?;
                let mut m = parse(Format::ZooCfgServer, k, v).pop()?;
                m.text = e.to_string();
                Some(m)
            })
            .collect(),
        Format::ZooServers => {
            let entries: Vec<&str> = value
                .split([' ', ',', ';', '\n', '\t'])
                .filter(|e| !e.is_empty())
                .collect();
            let with_ids = entries.iter().any(|e| e.contains("::"));
            entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let (addr, id) = match e.rsplit_once("::") {
                        Some((a, id)) if with_ids => (a, id.parse().ok()),
                        _ => (*e, Some(i as i64 + 1)),
                    };
                    let (host, observer) = zk_server(addr);
                    Member {
                        id,
                        positional: !with_ids,
                        observer,
                        ..member(e, host)
                    }
                })
                .collect()
        }
        Format::ZookeeperServers => value
            .split([';', ',', ' '])
            .filter(|e| !e.is_empty())
            .enumerate()
            .map(|(i, e)| {
                let (host, observer) = zk_server(e);
                Member {
                    id: Some(i as i64 + 1),
                    positional: true,
                    observer,
                    ..member(e, host)
                }
            })
            .collect(),
        Format::EtcdInitialCluster => value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (name, url) = e.split_once('=').unwrap_or(("", e));
                Member {
                    name: Some(name.to_string()),
                    ..member(e, url_host_port(url))
                }
            })
            .collect(),
        Format::KraftVoters | Format::KeeperRaft => value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (id, addr) = e.split_once('@').unwrap_or(("", e));
                Member {
                    id: id.trim().parse().ok(),
                    ..member(e, host_port(addr.trim()))
                }
            })
            .collect(),
        Format::Count => value
            .parse::<i64>()
            .ok()
            .map(|n| Member {
                id: Some(n),
                ..member(value, host_port(""))
            })
            .into_iter()
            .collect(),
        Format::NodeNames => value
            .split([',', ' ', '\n', '\t', '[', ']'])
            .map(|e| e.trim().trim_matches(['"', '\'']))
            .filter(|e| !e.is_empty())
            .map(|e| member(e, host_port(e)))
            .collect(),
        Format::UrlList => value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| member(e, url_host_port(e)))
            .collect(),
        Format::HostList => value
            .split(',')
            .map(str::trim)
            // `provider=k8s label_selector=...` (cloud auto-join) names no host, nor does
            // SeaweedFS's `-peers=none`
            .filter(|e| !e.is_empty() && !e.contains(['=', ' ']) && *e != "none")
            .map(|e| member(e, host_port(e)))
            .collect(),
    }
}

/// What a finding about a member points at: occurrence `nth` (from 0) of `text` in the text
/// of the setting's node (a member written twice in one file is found each time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    pub text: String,
    pub nth: usize,
}

impl Needle {
    pub fn first(text: impl Into<String>) -> Needle {
        Needle {
            text: text.into(),
            nth: 0,
        }
    }

    /// `text` where it is written at byte `at` of `node`.
    fn at(node: &str, text: &str, at: usize) -> Needle {
        Needle {
            text: text.to_string(),
            nth: node.get(..at).map_or(0, |b| b.matches(text).count()),
        }
    }
}

/// A parsed list of one container: the setting(s) and their members, each member with the
/// index of its setting and the text to point at (the member as written when the written and
/// expanded lists split alike, else the whole setting).
#[derive(Debug, Clone)]
pub struct PeerList {
    pub spec: ListSpec,
    pub settings: Vec<Setting>,
    pub members: Vec<(usize, Needle, Member)>,
    /// A setting's value could not be known (a Secret, the pod name...): nothing is checked.
    pub unknown: bool,
}

/// The node whose `server.N` settings form one list: the setting's own node (a script, a file),
/// or, for `server.N=` items of `command`/`args`, the container (each item is its own node, and
/// the image's entrypoint reads them all as one zoo.cfg).
fn group_node(s: &Setting) -> &str {
    if s.form == Form::Argv {
        for array in ["/args/", "/command/"] {
            if let Some(at) = s.pointer.rfind(array) {
                return &s.pointer[..at];
            }
        }
    }
    &s.pointer
}

impl PeerList {
    /// Group the settings of one spec (zoo.cfg `server.N` lines of one file form one list).
    pub fn build(spec: ListSpec, settings: Vec<Setting>) -> Vec<PeerList> {
        let mut lists: Vec<PeerList> = Vec::new();
        for s in settings {
            let group = match spec.format {
                Format::ZooCfgServer => lists.iter_mut().find(|l| {
                    let f = &l.settings[0];
                    group_node(f) == group_node(&s)
                        && f.config_map.as_ref().map(|o| &o.key)
                            == s.config_map.as_ref().map(|o| &o.key)
                }),
                _ => None,
            };
            let list = match group {
                Some(l) => l,
                None => {
                    lists.push(PeerList {
                        spec,
                        settings: Vec::new(),
                        members: Vec::new(),
                        unknown: false,
                    });
                    lists.last_mut().unwrap()
                }
            };
            let i = list.settings.len();
            match (&s.value, &s.structured) {
                (None, _) => list.unknown = true,
                // items of a structured file, as written: each member where it is
                (Some(v), Some(st)) if *v == s.written => {
                    for (item, range) in &st.items {
                        let mut cursor = range.start;
                        for m in parse(spec.format, &s.key, item) {
                            let end = range.end.min(st.text.len());
                            let found = st
                                .text
                                .get(cursor..end)
                                .and_then(|t| t.find(&m.text))
                                .map(|j| cursor + j);
                            let needle = match found {
                                Some(p) => {
                                    cursor = p + m.text.len();
                                    Needle::at(&st.text, &m.text, p)
                                }
                                None => Needle::at(
                                    &st.text,
                                    st.text.get(range.clone()).unwrap_or(item),
                                    range.start,
                                ),
                            };
                            list.members.push((i, needle, m));
                        }
                    }
                }
                (Some(v), _) => {
                    let expanded = parse(spec.format, &s.key, v);
                    let written = parse(spec.format, &s.key, &s.written);
                    let n = expanded.len();
                    for (j, m) in expanded.into_iter().enumerate() {
                        let needle = if s.needles.len() == n && !s.needles[j].0.is_empty() {
                            // a structured file: the member where it is written there
                            let (text, nth) = s.needles[j].clone();
                            Needle { text, nth }
                        } else if written.len() == n {
                            Needle::first(written[j].text.clone())
                        } else if s.script.as_ref().is_some_and(|t| t.contains(&m.text)) {
                            // defined by a script variable: point at it there
                            Needle::first(m.text.clone())
                        } else {
                            Needle::first(s.written.clone())
                        };
                        list.members.push((i, needle, m));
                    }
                }
            }
            list.settings.push(s);
        }
        lists
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(ms: &[Member]) -> Vec<(&str, Option<i64>)> {
        ms.iter().map(|m| (m.host.host.as_str(), m.id)).collect()
    }

    #[test]
    fn zookeeper_lists() {
        let m = parse(
            Format::ZooCfgServer,
            "server.4",
            "zoo-0.zoo:2888:3888:participant",
        );
        assert_eq!(hosts(&m), [("zoo-0.zoo", Some(4))]);
        assert!(!m[0].observer);
        let m = parse(
            Format::ZooCfgServer,
            "server.9",
            "o-0.o:2888:3888:observer;2181",
        );
        assert!(m[0].observer);
        // Bitnami with ids, separated by spaces (a trailing space as the chart renders it)
        let m = parse(
            Format::ZooServers,
            "",
            "zk-0.zk-hs.data.svc.cluster.local:2888:3888::1 zk-1.zk-hs.data.svc.cluster.local:2888:3888::2 ",
        );
        assert_eq!(
            hosts(&m),
            [
                ("zk-0.zk-hs.data.svc.cluster.local", Some(1)),
                ("zk-1.zk-hs.data.svc.cluster.local", Some(2))
            ]
        );
        // Bitnami without ids: by position
        let m = parse(Format::ZooServers, "", "a-0.a:2888:3888,a-1.a:2888:3888");
        assert_eq!(hosts(&m), [("a-0.a", Some(1)), ("a-1.a", Some(2))]);
        assert!(m[0].positional);
        // the official image
        let m = parse(
            Format::ZooServers,
            "",
            "server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181",
        );
        assert_eq!(hosts(&m), [("zoo1", Some(1)), ("zoo2", Some(2))]);
        // Confluent and Pulsar
        let m = parse(
            Format::ZookeeperServers,
            "",
            "z-0.z:2888:3888;z-1.z:2888:3888",
        );
        assert_eq!(hosts(&m), [("z-0.z", Some(1)), ("z-1.z", Some(2))]);
        let m = parse(Format::ZookeeperServers, "", "p-zk-0,p-zk-1");
        assert_eq!(hosts(&m), [("p-zk-0", Some(1)), ("p-zk-1", Some(2))]);
    }

    #[test]
    fn members_of_structured_files_point_where_they_are_written() {
        use super::super::settings::{Form, Structured};
        let text = "# es-0 and es-1 first\nlist: [es-0, es-1, \"es-0\"]\ncsv: \"es-1,es-2\"\n";
        let span = |t: &str, from: usize| {
            let i = from + text[from..].find(t).unwrap();
            i..i + t.len()
        };
        let l = text.find("list").unwrap();
        let c = text.find("csv").unwrap();
        let setting = |items: Vec<(String, std::ops::Range<usize>)>| Setting {
            key: "k".into(),
            form: Form::ConfigMap,
            pointer: "/data/f.yml".into(),
            config_map: None,
            source: String::new(),
            container: String::new(),
            written: items
                .iter()
                .map(|i| i.0.clone())
                .collect::<Vec<_>>()
                .join(","),
            value: Some(
                items
                    .iter()
                    .map(|i| i.0.clone())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            script: None,
            needles: Vec::new(),
            structured: Some(Structured {
                text: text.into(),
                items,
            }),
        };
        let spec = LISTS
            .iter()
            .find(|l| l.format == Format::NodeNames)
            .copied()
            .unwrap();
        let list = setting(vec![
            ("es-0".into(), span("es-0", l)),
            ("es-1".into(), span("es-1", l)),
            ("es-0".into(), span("\"es-0\"", l)),
        ]);
        let csv = setting(vec![("es-1,es-2".into(), span("\"es-1,es-2\"", c))]);
        let built = PeerList::build(spec, vec![list, csv]);
        let needles: Vec<(&str, usize)> = built
            .iter()
            .flat_map(|l| l.members.iter().map(|(_, n, _)| (n.text.as_str(), n.nth)))
            .collect();
        // the comment holds the first es-0 and es-1; the list's second es-0 is the third
        assert_eq!(
            needles,
            [
                ("es-0", 1),
                ("es-1", 1),
                ("es-0", 2),
                ("es-1", 2),
                ("es-2", 0)
            ]
        );
    }

    #[test]
    fn server_items_of_one_container_form_one_list() {
        let setting = |pointer: &str, key: &str, value: &str| Setting {
            key: key.into(),
            form: if pointer.contains("/data/") {
                Form::ConfigMap
            } else {
                Form::Argv
            },
            pointer: pointer.into(),
            config_map: None,
            source: String::new(),
            container: "main".into(),
            written: value.into(),
            value: Some(value.into()),
            script: None,
            needles: Vec::new(),
            structured: None,
        };
        let spec = LISTS
            .iter()
            .find(|l| l.format == Format::ZooCfgServer)
            .copied()
            .unwrap();
        let c0 = "/spec/template/spec/containers/0";
        let c1 = "/spec/template/spec/containers/1";
        let built = PeerList::build(
            spec,
            vec![
                setting(&format!("{c0}/args/2"), "server.1", "zk-0.zk-hs:2888:3888"),
                setting(&format!("{c0}/args/3"), "server.2", "zk-1.zk-hs:2888:3888"),
                setting(&format!("{c0}/args/4"), "server.3", "zk-2.zk-hs:2888:3888"),
                setting(&format!("{c1}/args/0"), "server.1", "zk-0.zk-hs:2888:3888"),
                setting("/data/zoo.cfg", "server.1", "zk-0.zk-hs:2888:3888"),
                setting("/data/zoo.cfg", "server.2", "zk-1.zk-hs:2888:3888"),
            ],
        );
        let sizes: Vec<usize> = built.iter().map(|l| l.members.len()).collect();
        // the argv items of container 0 are one list; container 1 and the file are their own
        assert_eq!(sizes, [3, 1, 2]);
    }

    #[test]
    fn etcd_and_kraft_lists() {
        let m = parse(
            Format::EtcdInitialCluster,
            "",
            "etcd-0=http://etcd-0.etcd-hs:2380,etcd-1=https://etcd-1.etcd-hs.ns.svc:2380",
        );
        assert_eq!(m[1].name.as_deref(), Some("etcd-1"));
        assert_eq!(m[1].host.host, "etcd-1.etcd-hs.ns.svc");
        assert_eq!(m[1].host.port.as_deref(), Some("2380"));
        let m = parse(Format::KraftVoters, "", "0@c-0.c-hs:9093, 1@c-1.c-hs:9093");
        assert_eq!(hosts(&m), [("c-0.c-hs", Some(0)), ("c-1.c-hs", Some(1))]);
        assert_eq!(m[1].text, "1@c-1.c-hs:9093");
        let m = parse(Format::HostList, "", "c-0.c-hs:9093,c-hs:9093");
        assert_eq!(m[1].host.host, "c-hs");
    }
}
