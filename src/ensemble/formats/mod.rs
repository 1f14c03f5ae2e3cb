//! Structured configuration files the ensemble settings are read from, each into a small tree
//! that keeps where every scalar is written in the file, and the lists the ensemble rules read
//! from them.

pub mod xml;

use super::settings::{Env, EnvVal};

/// A list read from a structured file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The setting, as messages name it (`<zookeeper>`).
    pub key: String,
    /// The members as written, joined with `,` (`host:port,...`).
    pub written: String,
    /// The members with `from_env` substituted; `None` when one is unknown.
    pub value: Option<String>,
    /// Each member's text in the file, to point at.
    pub needles: Vec<String>,
}

/// ClickHouse's ZooKeeper (or Keeper) nodes: `<zookeeper><node><host>h</host><port>p</port>
/// </node>...</zookeeper>` (port 2181 when not given), read as `h:p,...`.
pub const CLICKHOUSE_ZOOKEEPER: &str = "<zookeeper>";
/// ClickHouse Keeper's voters: `<keeper_server><raft_configuration><server><id>N</id>
/// <hostname>h</hostname><port>p</port></server>...`, read as `N@h:p,...`.
pub const KEEPER_RAFT: &str = "<raft_configuration>";

/// The text of a ClickHouse config element: its text, or the env var its `from_env` names
/// (`None` when unknown: an unset or unknown var, `from_zk`, `incl`, an entity reference).
fn clickhouse_text(e: &xml::Element, env: &Env, ns: &str) -> (String, Option<String>) {
    if e.attr("from_zk").is_some() || e.attr("incl").is_some() {
        return ("?".to_string(), None);
    }
    if let Some(var) = e.attr("from_env") {
        let v = match env.get(var) {
            Some(EnvVal::Lit(v)) => Some(v.trim().to_string()),
            Some(EnvVal::Namespace) => Some(ns.to_string()),
            _ => None,
        };
        return (format!("$({var})"), v);
    }
    let t = e.text.clone();
    (t.clone().unwrap_or_default(), t)
}

/// The lists `key` names in the XML text of a ClickHouse or ClickHouse Keeper config file
/// (its root is `<clickhouse>`, or `<yandex>` in older versions). Not well-formed XML, or a
/// section that includes another (`incl`, `from_zk`): nothing, or an unknown value.
pub fn clickhouse_xml(text: &str, key: &str, env: &Env, ns: &str) -> Vec<Found> {
    if !text.contains(key.trim_matches(['<', '>'])) {
        return Vec::new();
    }
    let Some(root) = xml::parse(text) else {
        return Vec::new();
    };
    let (section, entry, host_tag, default_port) = match key {
        CLICKHOUSE_ZOOKEEPER => (root.child("zookeeper"), "node", "host", Some("2181")),
        KEEPER_RAFT => (
            root.child("keeper_server")
                .and_then(|k| k.child("raft_configuration")),
            "server",
            "hostname",
            // a server's raft `<port>` has no default: without one the list is unknown
            None,
        ),
        _ => return Vec::new(),
    };
    let Some(section) = section else {
        return Vec::new();
    };
    let mut written = Vec::new();
    let mut value = Some(Vec::new());
    let mut needles = Vec::new();
    if section.attr("incl").is_some() || section.attr("from_zk").is_some() {
        value = None;
    }
    for e in section.all(entry) {
        let (host_w, host_v) = match e.child(host_tag) {
            Some(h) => {
                needles.push(text[h.span.clone()].to_string());
                clickhouse_text(h, env, ns)
            }
            None => {
                needles.push(String::new());
                (String::new(), None)
            }
        };
        let (port_w, port_v) = match e.child("port") {
            Some(p) => clickhouse_text(p, env, ns),
            None => (String::new(), default_port.map(str::to_string)),
        };
        let id = match key {
            KEEPER_RAFT => Some(e.child("id").map(|i| clickhouse_text(i, env, ns))),
            _ => None,
        };
        let (id_w, id_v) = match &id {
            Some(Some((w, v))) => (format!("{w}@"), v.as_ref().map(|v| format!("{v}@"))),
            Some(None) => ("@".to_string(), None),
            None => (String::new(), Some(String::new())),
        };
        let port_w = if port_w.is_empty() {
            String::new()
        } else {
            format!(":{port_w}")
        };
        written.push(format!("{id_w}{host_w}{port_w}"));
        match (&mut value, id_v, host_v, port_v) {
            (Some(list), Some(i), Some(h), Some(p)) => list.push(format!("{i}{h}:{p}")),
            _ => value = None,
        }
    }
    if written.is_empty() {
        return Vec::new();
    }
    vec![Found {
        key: key.to_string(),
        written: written.join(","),
        value: value.map(|v| v.join(",")),
        needles,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), EnvVal::Lit(v.to_string())))
            .collect()
    }

    #[test]
    fn clickhouse_zookeeper_nodes() {
        let x = "<clickhouse>\n<zookeeper>\n<node><host>zk-0.zk</host><port>2181</port></node>\n<node index=\"2\"><host>zk-1.zk</host></node>\n</zookeeper>\n</clickhouse>";
        let f = clickhouse_xml(x, CLICKHOUSE_ZOOKEEPER, &Env::new(), "ns");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].written, "zk-0.zk:2181,zk-1.zk");
        assert_eq!(f[0].value.as_deref(), Some("zk-0.zk:2181,zk-1.zk:2181"));
        assert_eq!(f[0].needles, ["zk-0.zk", "zk-1.zk"]);
        // no section, another section, not XML: nothing
        assert!(
            clickhouse_xml(
                "<yandex><logger/></yandex>",
                CLICKHOUSE_ZOOKEEPER,
                &Env::new(),
                "ns"
            )
            .is_empty()
        );
        assert!(
            clickhouse_xml(
                "<yandex><zookeeper>",
                CLICKHOUSE_ZOOKEEPER,
                &Env::new(),
                "ns"
            )
            .is_empty()
        );
    }

    #[test]
    fn clickhouse_from_env_and_includes() {
        let x = "<yandex><keeper_server><raft_configuration>\n<server><id>0</id><hostname>k-0.k-hs</hostname><port from_env=\"RAFT_PORT\"></port></server>\n</raft_configuration></keeper_server></yandex>";
        let f = clickhouse_xml(x, KEEPER_RAFT, &env(&[("RAFT_PORT", "9234")]), "ns");
        assert_eq!(f[0].written, "0@k-0.k-hs:$(RAFT_PORT)");
        assert_eq!(f[0].value.as_deref(), Some("0@k-0.k-hs:9234"));
        // an unset var is unknown
        let f = clickhouse_xml(x, KEEPER_RAFT, &Env::new(), "ns");
        assert_eq!(f[0].value, None);
        // an included section is unknown
        let x = "<clickhouse><zookeeper incl=\"zookeeper-servers\"><node><host>a</host></node></zookeeper></clickhouse>";
        assert_eq!(
            clickhouse_xml(x, CLICKHOUSE_ZOOKEEPER, &Env::new(), "ns")[0].value,
            None
        );
        // a node without a host is unknown
        let x = "<clickhouse><zookeeper><node><port>1</port></node></zookeeper></clickhouse>";
        assert_eq!(
            clickhouse_xml(x, CLICKHOUSE_ZOOKEEPER, &Env::new(), "ns")[0].value,
            None
        );
    }
}
