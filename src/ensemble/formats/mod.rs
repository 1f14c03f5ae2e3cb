//! Structured config files, read into one small tree so that every reader answers the same
//! questions: which value does key path `a.b.c` hold, and where is it written.
//!
//! A file's syntax is chosen by its name ([`syntax_of`]); each syntax has its own module that
//! turns the text into a [`Node`] ([`parse`]): YAML (and JSON, which is YAML 1.2 flow) in
//! [`yaml`], XML in [`xml`], HCL and NATS config in [`hcl`]. What a system reads from the tree sits next to them
//! ([`clickhouse`]). Files of the line-based formats (`server.properties`, `zoo.cfg`, `*.conf`,
//! `*.cfg`) stay on [`super::settings::properties`].
//!
//! Rules for every reader:
//! - **no panic, no false alarm**: text the reader cannot read gives `None` (the whole file
//!   is unknown), a value it cannot know (a YAML alias, an HCL interpolation, an XML include)
//!   is [`Node::Unknown`]; the rules check nothing they cannot read.
//! - **spans**: every [`Scalar`] and [`Key`] keeps the byte range where it is written in the
//!   file text, so a finding can point at one member of a list.
//! - **repeated keys** are kept, in order ([`Node::Map`] is a list of pairs): XML repeats
//!   elements, HCL repeats blocks; a caller that wants one value takes the last.
//! - **bounded**: at most [`MAX_DEPTH`] levels and [`MAX_NODES`] nodes, on text of at most
//!   [`MAX_BYTES`]; past that the file is unknown.

use std::ops::Range;

pub mod clickhouse;
pub mod hcl;
pub mod xml;
pub mod yaml;

/// Longest file read (a real config file is a few KiB).
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest nesting read.
pub const MAX_DEPTH: usize = 64;
/// Most nodes read from one file.
pub const MAX_NODES: usize = 100_000;

/// The syntaxes read into a [`Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// YAML 1.2, which includes JSON.
    Yaml,
    /// JSON, read by the YAML parser.
    Json,
    /// XML (ClickHouse), in ClickHouse's mapping to YAML ([`xml`]).
    Xml,
    /// HCL (Consul, Vault) and the NATS config format ([`hcl`]).
    Hcl,
}

/// The syntax of a config file, by its name (a ConfigMap key or a path): `.yml`, `.yaml`,
/// `.json`. `None`: not structured (properties, zoo.cfg, shell...), read line by line.
pub fn syntax_of(file: &str) -> Option<Syntax> {
    let name = file.rsplit('/').next().unwrap_or(file).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    match ext {
        "yml" | "yaml" => Some(Syntax::Yaml),
        "json" => Some(Syntax::Json),
        "xml" => Some(Syntax::Xml),
        "hcl" => Some(Syntax::Hcl),
        // the NATS server config (`nats.conf`, `nats-server.conf`): other `*.conf` files stay
        // line-based
        "conf" if name.starts_with("nats") => Some(Syntax::Hcl),
        _ => None,
    }
}

/// Read `text` as `syntax`. `None` when it cannot be read (syntax error, too big, too deep):
/// nothing in it is checked.
pub fn parse(syntax: Syntax, text: &str) -> Option<Node> {
    if text.len() > MAX_BYTES {
        return None;
    }
    match syntax {
        Syntax::Yaml | Syntax::Json => yaml::parse(text),
        Syntax::Xml => xml::parse(text),
        Syntax::Hcl => hcl::parse(text),
    }
}

/// A scalar as the software reads it (quotes removed, escapes decoded), and where it is
/// written (the whole token, quotes included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub text: String,
    pub span: Range<usize>,
}

/// A mapping key, and where it is written.
pub type Key = Scalar;

/// One node of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar(Scalar),
    /// A sequence (YAML, JSON array, HCL list); `span` covers it.
    List {
        items: Vec<Node>,
        span: Range<usize>,
    },
    /// A mapping (YAML, JSON object, XML element children, HCL body), keys in order, repeats
    /// kept.
    Map {
        entries: Vec<(Key, Node)>,
        span: Range<usize>,
    },
    /// A value the reader cannot know (an alias, an interpolation, an include).
    Unknown {
        span: Range<usize>,
    },
}

impl Node {
    pub fn span(&self) -> Range<usize> {
        match self {
            Node::Scalar(s) => s.span.clone(),
            Node::List { span, .. } | Node::Map { span, .. } | Node::Unknown { span } => {
                span.clone()
            }
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a map (the last, when repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries.iter().rfind(|(k, _)| k.text == key).map(|e| &e.1),
            _ => None,
        }
    }

    /// Whether this node or one below it is [`Node::Unknown`].
    pub fn has_unknown(&self) -> bool {
        let mut stack = vec![self];
        while let Some(n) = stack.pop() {
            match n {
                Node::Unknown { .. } => return true,
                Node::Scalar(_) => {}
                Node::List { items, .. } => stack.extend(items),
                Node::Map { entries, .. } => stack.extend(entries.iter().map(|e| &e.1)),
            }
        }
        false
    }
}

/// Every node at dotted key path `path`, in document order. A dotted key may be written flat
/// (`cluster.initial_master_nodes: [...]`) or nested (`cluster:` / `  initial_master_nodes:`),
/// or anything in between, as Elasticsearch reads its settings; a list on the way is looked
/// into item by item (`seed_provider.parameters.seeds` finds
/// `seed_provider[0].parameters[0].seeds`).
pub fn lookup<'a>(root: &'a Node, path: &str) -> Vec<&'a Node> {
    let mut out = Vec::new();
    let mut stack: Vec<(&Node, &str)> = vec![(root, path)];
    // depth-first, children pushed in reverse so results come in document order
    while let Some((node, path)) = stack.pop() {
        if path.is_empty() {
            out.push(node);
            continue;
        }
        match node {
            Node::Map { entries, .. } => {
                for (k, v) in entries.iter().rev() {
                    if k.text == path {
                        stack.push((v, ""));
                    } else if let Some(rest) = path
                        .strip_prefix(k.text.as_str())
                        .and_then(|r| r.strip_prefix('.'))
                        .filter(|r| !k.text.is_empty() && !r.is_empty())
                    {
                        stack.push((v, rest));
                    }
                }
            }
            Node::List { items, .. } => {
                for item in items.iter().rev() {
                    stack.push((item, path));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(nodes: &[&Node]) -> Vec<String> {
        nodes
            .iter()
            .map(|n| match n {
                Node::Scalar(s) => s.text.clone(),
                Node::List { items, .. } => format!(
                    "[{}]",
                    items
                        .iter()
                        .filter_map(|i| i.as_scalar().map(|s| s.text.as_str()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Node::Map { .. } => "{}".into(),
                Node::Unknown { .. } => "?".into(),
            })
            .collect()
    }

    #[test]
    fn syntax_by_file_name() {
        assert_eq!(syntax_of("elasticsearch.yml"), Some(Syntax::Yaml));
        assert_eq!(
            syntax_of("/etc/cassandra/cassandra.YAML"),
            Some(Syntax::Yaml)
        );
        assert_eq!(syntax_of("server.json"), Some(Syntax::Json));
        assert_eq!(syntax_of("05-zookeeper.xml"), Some(Syntax::Xml));
        assert_eq!(syntax_of("server.hcl"), Some(Syntax::Hcl));
        assert_eq!(syntax_of("nats.conf"), Some(Syntax::Hcl));
        assert_eq!(syntax_of("broker.conf"), None);
        assert_eq!(syntax_of("server.properties"), None);
        assert_eq!(syntax_of("zoo.cfg"), None);
        assert_eq!(syntax_of("yml"), None);
    }

    #[test]
    fn flat_and_nested_keys() {
        let flat = parse(Syntax::Yaml, "cluster.initial_master_nodes: [a, b]\n").unwrap();
        let nested = parse(
            Syntax::Yaml,
            "cluster:\n  initial_master_nodes:\n    - a\n    - b\n",
        )
        .unwrap();
        let half = parse(
            Syntax::Yaml,
            "cluster:\n  name: x\n  initial_master_nodes: a,b\n",
        )
        .unwrap();
        let k = "cluster.initial_master_nodes";
        assert_eq!(texts(&lookup(&flat, k)), ["[a,b]"]);
        assert_eq!(texts(&lookup(&nested, k)), ["[a,b]"]);
        assert_eq!(texts(&lookup(&half, k)), ["a,b"]);
        assert!(lookup(&half, "cluster.initial").is_empty());
        assert!(lookup(&half, "cluster.name.x").is_empty());
    }

    #[test]
    fn lists_on_the_way_are_looked_into() {
        let c = parse(
            Syntax::Yaml,
            "seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"c-0.c,c-1.c\"\n",
        )
        .unwrap();
        assert_eq!(
            texts(&lookup(&c, "seed_provider.parameters.seeds")),
            ["c-0.c,c-1.c"]
        );
    }
}
