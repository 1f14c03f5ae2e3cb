//! What the ensemble rules read from ClickHouse and ClickHouse Keeper config files: the
//! `<zookeeper>` nodes a server connects to, and Keeper's `<raft_configuration>` voters. Both
//! are read from the [`Node`] tree of an XML file ([`super::xml`], which follows ClickHouse's
//! XML-to-YAML mapping, so a YAML config reads the same way).

use super::{Node, lookup};
use crate::ensemble::settings::{Env, EnvVal};

/// A list read from a structured file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The setting, as messages name it (`<zookeeper>`).
    pub key: String,
    /// The members as written, joined with `,` (`host:port,...`).
    pub written: String,
    /// The members with `from_env` substituted; `None` when one is unknown.
    pub value: Option<String>,
    /// Each member's host as written in the file, to point at, and which occurrence of that
    /// text in the file it is (0: the first), so an earlier mention of the same host (another
    /// section, a comment) does not catch the pointer.
    pub needles: Vec<(String, usize)>,
}

/// ClickHouse's ZooKeeper (or Keeper) nodes: `<zookeeper><node><host>h</host><port>p</port>
/// </node>...</zookeeper>` (port 2181 when not given), read as `h:p,...`.
pub const ZOOKEEPER: &str = "<zookeeper>";
/// ClickHouse Keeper's voters: `<keeper_server><raft_configuration><server><id>N</id>
/// <hostname>h</hostname><port>p</port></server>...`, read as `N@h:p,...`.
pub const KEEPER_RAFT: &str = "<raft_configuration>";

/// A value as ClickHouse reads it: its text, or the env var its `from_env` names. `None`: not
/// known (an unset or unknown var, `from_zk`, `incl`, an entity reference, no such element).
fn value(n: Option<&Node>, env: &Env, ns: &str) -> (String, Option<String>) {
    let Some(n) = n else {
        return (String::new(), None);
    };
    if let Node::Scalar(s) = n {
        return (s.text.clone(), Some(s.text.trim().to_string()));
    }
    if n.get("@from_zk").is_some() || n.get("@incl").is_some() {
        return ("?".to_string(), None);
    }
    if let Some(var) = n.get("@from_env").and_then(Node::as_scalar) {
        let v = match env.get(&var.text) {
            Some(EnvVal::Lit(v)) => Some(v.trim().to_string()),
            Some(EnvVal::Namespace) => Some(ns.to_string()),
            _ => None,
        };
        return (format!("$({})", var.text), v);
    }
    match n.get("#text").and_then(Node::as_scalar) {
        Some(s) => (s.text.clone(), Some(s.text.trim().to_string())),
        None => (String::new(), None),
    }
}

/// The repeated entries at `path` (XML repeats the element; YAML writes a list).
fn entries<'a>(root: &'a Node, path: &str) -> Vec<&'a Node> {
    lookup(root, path)
        .into_iter()
        .flat_map(|n| match n {
            Node::List { items, .. } => items.iter().collect(),
            n => vec![n],
        })
        .collect()
}

/// The list `key` ([`ZOOKEEPER`], [`KEEPER_RAFT`]) in a ClickHouse config tree; `text` is the
/// file the tree was read from (for the needles).
pub fn lists(root: &Node, text: &str, key: &str, env: &Env, ns: &str) -> Vec<Found> {
    let (section, entry, host_tag, default_port) = match key {
        ZOOKEEPER => ("zookeeper", "node", "host", Some("2181")),
        // a Keeper server's raft `<port>` has no default: without one the list is unknown
        KEEPER_RAFT => (
            "keeper_server.raft_configuration",
            "server",
            "hostname",
            None,
        ),
        _ => return Vec::new(),
    };
    let sections = lookup(root, section);
    let Some(section) = sections.last() else {
        return Vec::new();
    };
    let mut written = Vec::new();
    let mut known = Some(Vec::new());
    let mut needles = Vec::new();
    if section.get("@incl").is_some() || section.get("@from_zk").is_some() {
        known = None;
    }
    for e in entries(section, entry) {
        let host = e.get(host_tag);
        needles.push(
            host.and_then(Node::as_scalar)
                .and_then(|s| {
                    let t = text.get(s.span.clone())?;
                    Some((t.to_string(), text.get(..s.span.start)?.matches(t).count()))
                })
                .unwrap_or_default(),
        );
        let (host_w, host_v) = value(host, env, ns);
        let (port_w, port_v) = match e.get("port") {
            Some(p) => value(Some(p), env, ns),
            None => (String::new(), default_port.map(str::to_string)),
        };
        let (id_w, id_v) = if key == KEEPER_RAFT {
            let (w, v) = value(e.get("id"), env, ns);
            (format!("{w}@"), v.map(|v| format!("{v}@")))
        } else {
            (String::new(), Some(String::new()))
        };
        let port_w = if port_w.is_empty() {
            String::new()
        } else {
            format!(":{port_w}")
        };
        written.push(format!("{id_w}{host_w}{port_w}"));
        match (&mut known, id_v, host_v, port_v) {
            (Some(list), Some(i), Some(h), Some(p)) if !h.is_empty() => {
                list.push(format!("{i}{h}:{p}"))
            }
            _ => known = None,
        }
    }
    if written.is_empty() {
        return Vec::new();
    }
    vec![Found {
        key: key.to_string(),
        written: written.join(","),
        value: known.map(|v| v.join(",")),
        needles,
    }]
}

#[cfg(test)]
mod tests {
    use super::super::{Syntax, parse};
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), EnvVal::Lit(v.to_string())))
            .collect()
    }

    fn read(syntax: Syntax, text: &str, key: &str, env: &Env) -> Vec<Found> {
        match parse(syntax, text) {
            Some(root) => lists(&root, text, key, env, "ns"),
            None => Vec::new(),
        }
    }

    #[test]
    fn needles_name_the_occurrence_where_a_member_is_written() {
        // an embedded Keeper: its own pods are first named in `<zookeeper>`, and a comment
        // mentions one again; each list points at its own entries
        let x = "<clickhouse>\n<!-- ch-1.ch was added later -->\n<zookeeper><node><host>ch-0.ch</host><port>9181</port></node><node><host>ch-1.ch</host><port>9181</port></node></zookeeper>\n<keeper_server><raft_configuration>\n<server><id>0</id><hostname>ch-0.ch</hostname><port>9234</port></server>\n<server><id>1</id><hostname>ch-1.ch</hostname><port>9234</port></server>\n</raft_configuration></keeper_server>\n</clickhouse>";
        let zk = read(Syntax::Xml, x, ZOOKEEPER, &Env::new());
        assert_eq!(
            zk[0].needles,
            [("ch-0.ch".to_string(), 0), ("ch-1.ch".to_string(), 1)]
        );
        let raft = read(Syntax::Xml, x, KEEPER_RAFT, &Env::new());
        assert_eq!(
            raft[0].needles,
            [("ch-0.ch".to_string(), 1), ("ch-1.ch".to_string(), 2)]
        );
    }

    #[test]
    fn zookeeper_nodes_in_xml_and_yaml() {
        let x = "<clickhouse>\n<zookeeper>\n<node><host>zk-0.zk</host><port>2181</port></node>\n<node index=\"2\"><host>zk-1.zk</host></node>\n</zookeeper>\n</clickhouse>";
        let f = read(Syntax::Xml, x, ZOOKEEPER, &Env::new());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].written, "zk-0.zk:2181,zk-1.zk");
        assert_eq!(f[0].value.as_deref(), Some("zk-0.zk:2181,zk-1.zk:2181"));
        assert_eq!(
            f[0].needles,
            [("zk-0.zk".to_string(), 0), ("zk-1.zk".to_string(), 0)]
        );
        // the YAML form of the same config
        let y = "zookeeper:\n  node:\n    - host: zk-0.zk\n      port: 2181\n    - host: zk-1.zk\n";
        let f = read(Syntax::Yaml, y, ZOOKEEPER, &Env::new());
        assert_eq!(f[0].value.as_deref(), Some("zk-0.zk:2181,zk-1.zk:2181"));
        assert_eq!(
            f[0].needles,
            [("zk-0.zk".to_string(), 0), ("zk-1.zk".to_string(), 0)]
        );
        // no section, another section, not XML: nothing
        let none = Env::new();
        assert!(read(Syntax::Xml, "<yandex><logger/></yandex>", ZOOKEEPER, &none).is_empty());
        assert!(read(Syntax::Xml, "<yandex><zookeeper>", ZOOKEEPER, &none).is_empty());
        assert!(
            read(
                Syntax::Xml,
                "<yandex><zookeeper/></yandex>",
                ZOOKEEPER,
                &none
            )
            .is_empty()
        );
    }

    #[test]
    fn from_env_includes_and_missing_values_are_unknown() {
        let x = "<yandex><keeper_server><raft_configuration>\n<server><id>0</id><hostname>k-0.k-hs</hostname><port from_env=\"RAFT_PORT\"></port></server>\n</raft_configuration></keeper_server></yandex>";
        let f = read(Syntax::Xml, x, KEEPER_RAFT, &env(&[("RAFT_PORT", "9234")]));
        assert_eq!(f[0].written, "0@k-0.k-hs:$(RAFT_PORT)");
        assert_eq!(f[0].value.as_deref(), Some("0@k-0.k-hs:9234"));
        // an unset var is unknown
        assert_eq!(
            read(Syntax::Xml, x, KEEPER_RAFT, &Env::new())[0].value,
            None
        );
        // a server without a port is unknown
        let x = "<clickhouse><keeper_server><raft_configuration><server><id>1</id><hostname>k-0.k</hostname></server></raft_configuration></keeper_server></clickhouse>";
        assert_eq!(
            read(Syntax::Xml, x, KEEPER_RAFT, &Env::new())[0].value,
            None
        );
        // an included section is unknown
        let x = "<clickhouse><zookeeper incl=\"zookeeper-servers\"><node><host>a</host></node></zookeeper></clickhouse>";
        assert_eq!(read(Syntax::Xml, x, ZOOKEEPER, &Env::new())[0].value, None);
        // a node without a host, or with a reference in it, is unknown
        let x = "<clickhouse><zookeeper><node><port>1</port></node></zookeeper></clickhouse>";
        assert_eq!(read(Syntax::Xml, x, ZOOKEEPER, &Env::new())[0].value, None);
        let x = "<clickhouse><zookeeper><node><host>a&amp;b</host></node></zookeeper></clickhouse>";
        assert_eq!(read(Syntax::Xml, x, ZOOKEEPER, &Env::new())[0].value, None);
    }
}
