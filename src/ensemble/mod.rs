//! Ensembles: what a container's settings say about the ensemble it belongs to or talks to.
//! Shared by the rules that read peer and client lists (SL005 `zookeeper-connect`, SL007
//! `unreplaced-placeholder`, SL009 `odd-replicas`, SL011 `ensemble-members`); rules never copy
//! settings or host parsing.
//!
//! - [`settings`]: reads settings from command/args, `sh -c` scripts, env (with the images'
//!   env-to-property conventions) and mounted ConfigMaps, keeping where each is written.
//! - [`hosts`]: host lists, URLs and the DNS search path of a pod.
//! - [`lookup`]: finds the StatefulSets hosts name through the [`Companions`] indexes.
//! - [`system`]: which system a StatefulSet runs.
//!
//! [`Companions`]: crate::catalog::Companions

pub mod formats;
pub mod hosts;
pub mod lookup;
pub mod members;
pub mod quorum;
pub mod settings;
pub mod system;

/// Env vars that hold a Kafka client's `zookeeper.connect`.
pub const ZOOKEEPER_CONNECT_ENV: &[&str] = &[
    "KAFKA_ZOOKEEPER_CONNECT",
    "KAFKA_CFG_ZOOKEEPER_CONNECT",
    "ZOOKEEPER_CONNECT",
];

/// What SL005 reads: the connect strings of ZooKeeper clients. Kafka's `zookeeper.connect`;
/// Pulsar's `metadataStoreUrl`/`configurationMetadataStoreUrl` (`zk:host:port,...`), older
/// `zookeeperServers`/`configurationStoreServers`, and BookKeeper's `metadataServiceUri`
/// (`zk+hierarchical://host:port;host:port/ledgers`), in `broker.conf`/`bookkeeper.conf` or as
/// env (Pulsar's images copy env vars, also `PULSAR_PREFIX_*`, into the config; its chart
/// passes them with `envFrom`); Solr's `ZK_HOST` / `-DzkHost`; Druid's
/// `druid.zk.service.host` (`common.runtime.properties`, or the image's `druid_zk_service_host`);
/// ClickHouse's `<zookeeper>` nodes in mounted `*.xml` files.
pub const ZOOKEEPER_CONNECT: settings::Want<'static> = settings::Want {
    properties: &[
        "zookeeper.connect",
        "zkHost",
        "druid.zk.service.host",
        "metadataStoreUrl",
        "configurationMetadataStoreUrl",
        "zookeeperServers",
        "configurationStoreServers",
        "metadataServiceUri",
        "bookkeeperMetadataServiceUri",
        formats::clickhouse::ZOOKEEPER,
    ],
    flags: &[],
    env: &[
        "KAFKA_ZOOKEEPER_CONNECT",
        "KAFKA_CFG_ZOOKEEPER_CONNECT",
        "ZOOKEEPER_CONNECT",
        "ZK_HOST",
        "druid_zk_service_host",
        "metadataStoreUrl",
        "configurationMetadataStoreUrl",
        "zookeeperServers",
        "configurationStoreServers",
        "metadataServiceUri",
        "bookkeeperMetadataServiceUri",
        "PULSAR_PREFIX_metadataStoreUrl",
        "PULSAR_PREFIX_configurationMetadataStoreUrl",
        "PULSAR_PREFIX_zookeeperServers",
        "PULSAR_PREFIX_configurationStoreServers",
    ],
    files: &[
        "server.properties",
        "broker.conf",
        "bookkeeper.conf",
        "proxy.conf",
        "functions_worker.yml",
        "common.runtime.properties",
        // ClickHouse's config.xml and config.d/*.xml
        "*.xml",
    ],
    ..settings::Want::NONE
};

/// How help text names the setting `key` SL005 read: Kafka's env forms are `zookeeper.connect`.
pub fn connect_key(key: &str) -> &str {
    if ZOOKEEPER_CONNECT_ENV.contains(&key) {
        "zookeeper.connect"
    } else {
        key
    }
}

/// Whether a ConfigMap file can hold a setting the ensemble rules read (the webhook keeps only
/// these): a file one of them reads by name, a key an `envFrom` turns into an env var they
/// read, any text that mentions ZooKeeper, or NATS's JetStream switch (the roles catalogue reads
/// it from whatever file is mounted: `jetstream {` in nats.conf, `"jetstream": {` in JSON).
pub fn config_file_matters(key: &str, text: &str) -> bool {
    members::LISTS
        .iter()
        .map(|l| &l.want)
        .chain([&ZOOKEEPER_CONNECT])
        .any(|w| {
            settings::file_matches(w.files, key)
                || w.env.contains(&key)
                // a config file named by a flag (etcd's `--config-file`) may have any name
                || !w.config_files.is_empty()
                    && formats::syntax_of(key).is_some()
                    && w.file_keys().any(|k| text.contains(k.rsplit('.').next().unwrap_or(k)))
        })
        || {
            let lower = text.to_ascii_lowercase();
            lower.contains("zookeeper") || lower.contains("jetstream")
        }
}

/// The env names and argv keys whose values SL005 (`zookeeper_connect`) and SL011
/// (`members`) read on `object`, so that SL007 leaves placeholders in them to those rules.
pub fn owned_settings(
    object: &crate::object::Object,
    companions: &dyn crate::catalog::Companions,
    zookeeper_connect: bool,
    members: bool,
) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut env = Vec::new();
    let mut keys = Vec::new();
    if zookeeper_connect {
        env.extend_from_slice(ZOOKEEPER_CONNECT.env);
        keys.extend(
            ZOOKEEPER_CONNECT
                .properties
                .iter()
                .filter(|k| !k.starts_with('<')),
        );
    }
    if members {
        for l in members::LISTS {
            let runs = system::runs(object, l.system, companions);
            if runs {
                env.extend_from_slice(l.want.env);
                keys.extend(
                    l.want
                        .properties
                        .iter()
                        .filter(|k| !k.ends_with('*') && !k.starts_with('<')),
                );
                keys.extend_from_slice(l.want.flags);
            }
        }
    }
    (env, keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::testing::one_container_statefulset as sts;

    #[test]
    fn webhook_keeps_the_files_the_rules_read() {
        assert!(config_file_matters("zoo.cfg", "tickTime=2000"));
        assert!(config_file_matters(
            "server.properties",
            "process.roles=controller"
        ));
        assert!(config_file_matters("other", "zookeeper.connect=zk:2181"));
        assert!(!config_file_matters("nginx.conf", "server { listen 80; }"));
        // structured files: by pattern, and an etcd config file (any name) by its keys
        assert!(config_file_matters(
            "server.json",
            "{\"log_level\": \"INFO\"}"
        ));
        assert!(config_file_matters("cassandra.yaml", "cluster_name: x"));
        assert!(config_file_matters(
            "etcd.conf.yml",
            "initial-cluster: a=http://a:2380"
        ));
        assert!(!config_file_matters("app.yml", "logging: {level: info}"));
        assert!(config_file_matters(
            "nats.conf",
            "{\"jetstream\": {\"store_dir\": \"/d\"}}"
        ));
    }

    #[test]
    fn placeholders_in_read_settings_belong_to_their_rules() {
        let c = crate::catalog::Catalog::default();
        let zk = sts("zk", "zookeeper:3.9", &[]);
        let (env, _) = owned_settings(&zk, &c, true, true);
        assert!(env.contains(&"ZOO_SERVERS") && env.contains(&"KAFKA_ZOOKEEPER_CONNECT"));
        let (env, _) = owned_settings(&zk, &c, true, false);
        assert!(!env.contains(&"ZOO_SERVERS"));
        let etcd = sts("store", "quay.io/coreos/etcd:v3.5", &[]);
        let (env, keys) = owned_settings(&etcd, &c, false, true);
        assert_eq!(env, ["ETCD_INITIAL_CLUSTER", "INITIAL_CLUSTER_SIZE"]);
        assert_eq!(keys, ["--initial-cluster", "--etcd-initial-cluster"]);
    }
}
