//! SL005 `zookeeper-connect`. The rule's documentation is its page, `rules/SL005-zookeeper-connect.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: settings are read from command/args (also inside `sh -c` scripts),
//! env (with `$(VAR)` expansion) and the `server.properties` of mounted ConfigMaps
//! ([`Companions::config_map`]); each connect string is scanned byte-wise (linear, no regex).
//! The ensemble a host names is found through [`Companions::statefulset`],
//! [`Companions::service`] and [`Companions::statefulsets`]. The cluster domain is the
//! `cluster-domain` option ([`Options`]).
//!
//! [`Companions::config_map`]: crate::catalog::Companions::config_map
//! [`Companions::statefulset`]: crate::catalog::Companions::statefulset
//! [`Companions::service`]: crate::catalog::Companions::service
//! [`Companions::statefulsets`]: crate::catalog::Companions::statefulsets

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};

use super::util::{containers, image_name, join_and};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::Kind;
use crate::config::{self, OptionError, Options as RawOptions};
use crate::object::{Object, placeholder_in};
use crate::selector;

pub static META: RuleMeta = RuleMeta {
    code: "SL005",
    slug: "zookeeper-connect",
    severity: Severity::Error,
    summary: "Kafka's zookeeper.connect names a real ZooKeeper ensemble, namespace, host and port",
    page: include_str!("../../rules/SL005-zookeeper-connect.md"),
};

/// ZooKeeper's default client port.
const DEFAULT_PORT: i32 = 2181;

/// Env vars that hold a connect string.
const ENV_NAMES: &[&str] = &[
    "KAFKA_ZOOKEEPER_CONNECT",
    "KAFKA_CFG_ZOOKEEPER_CONNECT",
    "ZOOKEEPER_CONNECT",
];

pub struct ZookeeperConnect;

/// `.statelint.yaml` options (see the rule's page).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// The cluster's DNS domain (`cluster.local` when not set).
    #[serde(default)]
    pub cluster_domain: Option<ClusterDomain>,
}

/// A DNS domain such as `cluster.local` (leading and trailing dots dropped).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ClusterDomain(pub String);

impl TryFrom<String> for ClusterDomain {
    type Error = &'static str;
    fn try_from(d: String) -> Result<Self, Self::Error> {
        if d.is_empty() || d.contains(['/', ':', ' ']) {
            return Err("expected a DNS domain such as cluster.local");
        }
        Ok(ClusterDomain(d.trim_matches('.').to_string()))
    }
}

impl Options {
    fn cluster_domain(&self) -> &str {
        self.cluster_domain
            .as_ref()
            .map_or("cluster.local", |d| d.0.as_str())
    }
}

impl Rule for ZookeeperConnect {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn options(&self, raw: &serde_json::Value) -> Result<Option<RawOptions>, Vec<OptionError>> {
        config::boxed_options::<Options>(raw)
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Service, Kind::StatefulSet, Kind::ConfigMap]
    }

    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(tpl) = object.statefulset().map(|_| object.pod_template()) else {
            return;
        };
        let Some(spec) = tpl.and_then(|t| t.spec.as_ref()) else {
            return;
        };
        let base = format!("{}/spec", object.pod_template_pointer());
        let ns = object.key.namespace.as_str();
        let mut seen = BTreeSet::new();
        for (cptr, c) in containers(spec) {
            let cptr = format!("{base}{cptr}");
            for s in settings(c, &cptr, spec, ns, cx) {
                let key = (
                    s.config_map.as_ref().map(|o| o.key.clone()),
                    s.pointer.clone(),
                    s.written.clone(),
                );
                if seen.insert(key) {
                    check_setting(object, &s, cx, out);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper detection (shared with SL009)

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
pub(crate) fn is_zookeeper(obj: &Object) -> bool {
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

// ---------------------------------------------------------------------------------------------
// Finding the settings

/// One zookeeper.connect setting of a container.
#[derive(Debug, Clone)]
struct Setting {
    /// Node that holds it: in the StatefulSet, or in `config_map`.
    pointer: String,
    config_map: Option<Arc<Object>>,
    /// Where it came from, for messages: "`--override zookeeper.connect`", "env KAFKA_...".
    source: String,
    container: String,
    /// The connect string as written in the node.
    written: String,
    /// After `$(VAR)` (and, in shell scripts, `$VAR`) expansion; `None` when it depends on a
    /// value statelint cannot know (a Secret, the pod name...).
    value: Option<String>,
}

/// What an env var expands to.
#[derive(Debug, Clone)]
enum EnvVal {
    Lit(String),
    /// `fieldRef: metadata.namespace`.
    Namespace,
    Unknown,
}

type Env = HashMap<String, EnvVal>;

/// Env vars in order: index, the var, its value after expansion (`None` when unknown).
type EnvList<'a> = Vec<(usize, &'a EnvVar, Option<String>)>;

/// Container env, in order, with Kubernetes `$(VAR)` expansion of each value using the vars
/// defined before it.
fn container_env<'a>(env: &'a [EnvVar], ns: &str) -> (Env, EnvList<'a>) {
    let mut map = Env::new();
    let mut list = Vec::new();
    // vars that expand earlier ones can grow exponentially (B = $(A)$(A), C = $(B)$(B)...):
    // past this many expanded bytes, values count as unknown
    let mut budget = MAX_ENV_EXPANSION;
    for (i, e) in env.iter().enumerate() {
        let val = match (&e.value, &e.value_from) {
            (_, Some(from)) => match from.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                Some("metadata.namespace") => EnvVal::Namespace,
                _ => EnvVal::Unknown,
            },
            (Some(v), None) => match k8s_expand(v, &map, ns) {
                Some(s) if s.len().saturating_sub(v.len()) <= budget => {
                    budget -= s.len().saturating_sub(v.len());
                    EnvVal::Lit(s)
                }
                _ => EnvVal::Unknown,
            },
            (None, None) => EnvVal::Lit(String::new()),
        };
        let expanded = match &val {
            EnvVal::Lit(s) => Some(s.clone()),
            EnvVal::Namespace => Some(ns.to_string()),
            EnvVal::Unknown => None,
        };
        list.push((i, e, expanded));
        map.insert(e.name.clone(), val);
    }
    (map, list)
}

/// How much longer than the written text an expansion may get (a real connect string is well
/// under 1 KiB); longer counts as unknown.
const MAX_EXPANDED: usize = 1 << 20;
/// Expanded bytes of all env vars of one container.
const MAX_ENV_EXPANSION: usize = 8 << 20;

/// Kubernetes `$(VAR)` expansion: `$$` is a literal `$`, a reference to an undefined var stays
/// as written. `None` when a referenced var's value is unknown, or the result is more than
/// [`MAX_EXPANDED`] longer than `s`.
fn k8s_expand(s: &str, env: &Env, ns: &str) -> Option<String> {
    let max = s.len().saturating_add(MAX_EXPANDED);
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    // once a `$(` has no `)` after it, no later one has: do not look again (`$($($(...`)
    let mut closed = true;
    while let Some(i) = rest.find('$') {
        if out.len() > max {
            return None;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(a) = after.strip_prefix('$') {
            out.push('$');
            rest = a;
        } else if let Some(a) = after.strip_prefix('(').filter(|_| closed) {
            let close = a.find(')');
            closed = close.is_some();
            match close {
                Some(j) => {
                    let name = &a[..j];
                    match env.get(name) {
                        Some(EnvVal::Lit(v)) => out.push_str(v),
                        Some(EnvVal::Namespace) => out.push_str(ns),
                        Some(EnvVal::Unknown) => return None,
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &a[j + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    (out.len() <= max).then_some(out)
}

/// Shell expansion of `$VAR` and `${VAR}` from the container env. Undefined `${VAR}` stays as
/// written (it is reported as a placeholder); `None` when a value is unknown, or for an
/// undefined `$VAR` or `${VAR...}` with an operator (the image may set it).
fn shell_expand(s: &str, env: &Env, ns: &str) -> Option<String> {
    let max = s.len().saturating_add(MAX_EXPANDED);
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        if out.len() > max {
            return None;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, braced, next) = if let Some(a) = after.strip_prefix('{') {
            let j = a.find('}')?;
            (&a[..j], true, &a[j + 1..])
        } else {
            let n = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            (&after[..n], false, &after[n..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let ident = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match env.get(name).filter(|_| ident) {
            Some(EnvVal::Lit(v)) => out.push_str(v),
            Some(EnvVal::Namespace) => out.push_str(ns),
            Some(EnvVal::Unknown) => return None,
            None if braced && ident && name != "HOSTNAME" => {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            }
            None => return None,
        }
        rest = next;
    }
    out.push_str(rest);
    (out.len() <= max).then_some(out)
}

/// Values of `zookeeper.connect=` inside one string (an arg, a script): (byte offset, value as
/// written). Comment lines of scripts are skipped; values end at unquoted whitespace or a shell
/// operator.
fn find_in_text(s: &str) -> Vec<(usize, String)> {
    const KEY: &str = "zookeeper.connect";
    let mut out = Vec::new();
    let mut from = 0;
    // start of the line of the previous match, moved forward only (linear on one-line scripts)
    let mut line_start = 0;
    // `(open, close)` groups with no `close` after some point: do not look for it again
    let mut unclosed = [usize::MAX; 3];
    while let Some(off) = s[from..].find(KEY) {
        let start = from + off;
        if let Some(i) = s[line_start.max(from)..start].rfind('\n') {
            line_start = line_start.max(from) + i + 1;
        }
        from = start + KEY.len();
        if s[line_start..start].trim_start().starts_with('#') {
            continue;
        }
        let before = &s.as_bytes()[..start];
        let ok_before = match before.last() {
            None => true,
            Some(b) if b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.' => {
                before.len() >= 2 && &before[before.len() - 2..] == b"-D"
            }
            Some(_) => true,
        };
        let after = &s[from..];
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        if !ok_before {
            continue;
        }
        let vstart = from + 1;
        let mut quote: Option<char> = None;
        let mut text = String::new();
        let mut k = 0;
        while k < value.len() {
            let rest = &value[k..];
            // `{{ ... }}`, `$(VAR)` and `${VAR}` are kept whole (they may hold spaces or `)`)
            let group = [("{{", "}}"), ("$(", ")"), ("${", "}")]
                .iter()
                .enumerate()
                .find(|(_, (open, _))| rest.starts_with(open))
                .and_then(|(g, (open, close))| {
                    if vstart + k >= unclosed[g] {
                        return None;
                    }
                    let found = rest[open.len()..]
                        .find(close)
                        .map(|e| open.len() + e + close.len());
                    if found.is_none() {
                        unclosed[g] = vstart + k;
                    }
                    found
                });
            if let Some(len) = group {
                text.push_str(&rest[..len]);
                k += len;
                continue;
            }
            let ch = rest.chars().next().unwrap_or(' ');
            k += ch.len_utf8();
            match quote {
                Some(q) if ch == q => quote = None,
                Some(_) => text.push(ch),
                None if ch == '"' || ch == '\'' => quote = Some(ch),
                // end of the shell word; a backslash is a line continuation or an escape, and
                // hosts never hold one
                None if ch.is_whitespace() || matches!(ch, ';' | '|' | '&' | ')' | '`' | '\\') => {
                    break;
                }
                None => text.push(ch),
            }
        }
        if !text.is_empty() {
            out.push((vstart, text));
            if out.len() == MAX_SETTINGS {
                break;
            }
        }
        // a key inside this value is part of it, not a setting of its own (and scanning the
        // value again from it would be quadratic: `zookeeper.connect=zookeeper.connect=...`)
        from = from.max(vstart + k);
    }
    out
}

/// `zookeeper.connect` in a Java properties text (`key=value`, `key: value`, `key value`).
fn find_in_properties(s: &str) -> Option<String> {
    let mut found = None;
    for line in s.lines() {
        let l = line.trim_start();
        if l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        let Some(rest) = l.strip_prefix("zookeeper.connect") else {
            continue;
        };
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(':'))
            .unwrap_or(rest);
        if rest.len() == l.len() - "zookeeper.connect".len() && !rest.is_empty() {
            // no separator and no whitespace: a longer key such as zookeeper.connection...
            if !l["zookeeper.connect".len()..].starts_with(char::is_whitespace) {
                continue;
            }
        }
        found = Some(rest.trim().to_string()); // the last one wins, as in java.util.Properties
    }
    found
}

fn is_shell(cmd: &str) -> bool {
    let base = cmd.rsplit('/').next().unwrap_or(cmd);
    matches!(base, "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh")
}

/// At most this many `zookeeper.connect` settings are read from one string (a real script
/// has one or two; a generated one with thousands would give thousands of findings).
const MAX_SETTINGS: usize = 16;

/// Every zookeeper.connect setting of one container.
fn settings(c: &Container, cptr: &str, spec: &PodSpec, ns: &str, cx: &Ctx<'_>) -> Vec<Setting> {
    let mut out = Vec::new();
    // most containers set nothing: decide that without allocating
    let in_argv = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .any(|s| s.contains("zookeeper.connect"));
    let in_env = c
        .env
        .iter()
        .flatten()
        .any(|e| ENV_NAMES.contains(&e.name.as_str()));
    let config_maps = c.volume_mounts.iter().flatten().any(|m| {
        spec.volumes
            .iter()
            .flatten()
            .any(|v| v.name == m.name && v.config_map.is_some())
    });
    if !in_argv && !in_env && !config_maps {
        return out;
    }
    let (env, env_list) = container_env(c.env.as_deref().unwrap_or_default(), ns);
    // command and args, as one argv
    let argv: Vec<(String, &str)> = c
        .command
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| (format!("{cptr}/command/{i}"), s.as_str()))
        .chain(
            c.args
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, s)| (format!("{cptr}/args/{i}"), s.as_str())),
        )
        .collect();
    let shell = argv.first().is_some_and(|(_, s)| is_shell(s));
    for (i, (ptr, item)) in argv.iter().enumerate() {
        if !item.contains("zookeeper.connect") {
            continue;
        }
        let script =
            shell && i >= 2 && argv[i - 1].1.starts_with('-') && argv[i - 1].1.contains('c');
        let overrides = item.contains("--override");
        for (_, written) in find_in_text(item) {
            let value = k8s_expand(&written, &env, ns).and_then(|v| {
                if script {
                    shell_expand(&v, &env, ns)
                } else {
                    Some(v)
                }
            });
            let what = if overrides || argv[i.saturating_sub(1)].1 == "--override" {
                "`--override zookeeper.connect`"
            } else {
                "`zookeeper.connect`"
            };
            let place = if script { " in its shell script" } else { "" };
            out.push(Setting {
                pointer: ptr.clone(),
                config_map: None,
                source: format!("{what}{place}"),
                container: c.name.clone(),
                written,
                value,
            });
        }
    }
    // env
    for (i, e, expanded) in env_list {
        if !ENV_NAMES.contains(&e.name.as_str()) {
            continue;
        }
        let Some(written) = e.value.clone() else {
            continue;
        };
        out.push(Setting {
            pointer: format!("{cptr}/env/{i}/value"),
            config_map: None,
            source: format!("env {}", e.name),
            container: c.name.clone(),
            written,
            value: expanded,
        });
    }
    // server.properties of a mounted ConfigMap
    for m in c.volume_mounts.iter().flatten() {
        let Some(vol) = spec.volumes.iter().flatten().find(|v| v.name == m.name) else {
            continue;
        };
        let Some(cmv) = &vol.config_map else { continue };
        let key = "server.properties";
        if let Some(items) = &cmv.items
            && !items.iter().any(|it| it.key == key)
        {
            continue;
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            let path = cmv
                .items
                .iter()
                .flatten()
                .find(|it| it.key == key)
                .map_or(key, |it| it.path.as_str());
            if sub != path {
                continue;
            }
        }
        let Some(cm) = cx.companions.config_map(ns, &cmv.name) else {
            continue;
        };
        let Some(text) = cm
            .config_map()
            .and_then(|m| m.data.as_ref())
            .and_then(|d| d.get(key))
        else {
            continue;
        };
        if let Some(written) = find_in_properties(text) {
            out.push(Setting {
                pointer: "/data/server.properties".into(),
                config_map: Some(cm.clone()),
                source: format!("`zookeeper.connect` in ConfigMap {}", cm.key.name),
                container: c.name.clone(),
                value: Some(written.clone()),
                written,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Parsing and resolving hosts

/// One `host[:port]` of a connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPort {
    host: String,
    port: Option<String>,
    /// The entry as written (`host:port`).
    text: String,
}

/// Split `h1:p1,h2:p2/chroot` into hosts and the chroot.
fn parse_connect(s: &str) -> (Vec<HostPort>, Option<String>) {
    let s = s.trim();
    let (list, chroot) = match s.find('/') {
        Some(i) => (&s[..i], Some(s[i..].to_string())),
        None => (s, None),
    };
    let hosts = list
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            let (host, port) = match h.rsplit_once(':') {
                Some((a, p)) if !a.contains(']') || a.ends_with(']') => (a, Some(p.to_string())),
                _ => (h, None),
            };
            HostPort {
                host: host.trim_end_matches('.').to_string(),
                port,
                text: h.to_string(),
            }
        })
        .collect();
    (hosts, chroot)
}

/// What an in-cluster host name means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `<pod>.<service>.<ns>.svc.<domain>`.
    Pod {
        pod: String,
        service: String,
        ns: String,
    },
    /// `<service>.<ns>.svc.<domain>`.
    Service { service: String, ns: String },
    /// Ends in `.svc.<other domain>`.
    WrongDomain { domain: String },
    /// An IP address or a name outside the cluster: not checked.
    External,
}

impl Target {
    fn pod(pod: &str, service: &str, ns: &str) -> Target {
        Target::Pod {
            pod: pod.into(),
            service: service.into(),
            ns: ns.into(),
        }
    }

    fn service(service: &str, ns: &str) -> Target {
        Target::Service {
            service: service.into(),
            ns: ns.into(),
        }
    }
}

/// Top-level domains that make a short name external rather than `<pod>.<svc>.<ns>`.
const PUBLIC_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "dev",
    "local",
    "internal",
    "lan",
    "corp",
    "home",
    "cloud",
    "localdomain",
    "intra",
    "private",
    "eu",
    "de",
    "uk",
    "us",
];

/// Resolve a host as the pod's resolver does with the search path
/// `<ns>.svc.<domain> svc.<domain> <domain>`. `pod_service_exists(ns, pod, svc)` says whether
/// pod `pod` of a headless Service `svc` may exist in `ns` (to pick between `a.b` = pod a of
/// Service b in the pod's namespace, and Service a in namespace b).
fn resolve(
    host: &str,
    pod_ns: &str,
    domain: &str,
    pod_service_exists: impl Fn(&str, &str, &str) -> bool,
) -> Target {
    if host.is_empty()
        || host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || host.contains(':')
        || host == "localhost"
    {
        return Target::External;
    }
    let fqdn_suffix = format!(".svc.{domain}");
    let labels: Vec<&str> = if let Some(p) = host.strip_suffix(&fqdn_suffix) {
        let mut l: Vec<&str> = p.split('.').collect();
        l.push("svc");
        l
    } else if let Some(i) = host.find(".svc.") {
        return Target::WrongDomain {
            domain: host[i + 5..].to_string(),
        };
    } else {
        let l: Vec<&str> = host.split('.').collect();
        if l.len() > 1 && PUBLIC_TLDS.contains(l.last().unwrap()) {
            return Target::External;
        }
        l
    };
    let (pod, svc) = (Target::pod, Target::service);
    match labels.as_slice() {
        [s, n, "svc"] => svc(s, n),
        [p, s, n, "svc"] => pod(p, s, n),
        [s] => svc(s, pod_ns),
        [a, b] => {
            if pod_service_exists(pod_ns, a, b) {
                pod(a, b, pod_ns)
            } else {
                svc(a, b)
            }
        }
        [p, s, n] => pod(p, s, n),
        _ => Target::External,
    }
}

/// Split `zk-12` into (`zk`, 12).
fn split_ordinal(pod: &str) -> Option<(&str, u32)> {
    let (name, ord) = pod.rsplit_once('-')?;
    if ord.is_empty()
        || !ord.bytes().all(|b| b.is_ascii_digit())
        || (ord.len() > 1 && ord.starts_with('0'))
    {
        return None;
    }
    Some((name, ord.parse().ok()?))
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper ensembles

/// A ZooKeeper StatefulSet the hosts name, and the Service they go through (if any).
struct Ensemble {
    sts: Arc<Object>,
    /// The Service the hosts name, when it exists and selects the ensemble's pods.
    service: Option<Arc<Object>>,
}

fn service_name(sts: &Object) -> &str {
    sts.service_name().unwrap_or("")
}

/// containerPorts of the ZooKeeper pods; 2181 when they declare none.
fn pod_ports(sts: &Object) -> Vec<i32> {
    let ports: Vec<i32> = sts
        .pod_template()
        .and_then(|t| t.spec.as_ref())
        .into_iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| p.container_port)
        .collect();
    if ports.is_empty() {
        vec![DEFAULT_PORT]
    } else {
        let mut ports = ports;
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

/// The port clients should use: 2181 when served, else the containerPort named `client`, else
/// the first one.
fn client_port(sts: &Object) -> i32 {
    let ports = pod_ports(sts);
    if ports.contains(&DEFAULT_PORT) {
        return DEFAULT_PORT;
    }
    sts.pod_template()
        .and_then(|t| t.spec.as_ref())
        .into_iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some("client"))
        .map_or(ports[0], |p| p.container_port)
}

fn selects(service: &Object, sts: &Object) -> bool {
    sts.pod_labels().is_some_and(|l| service.service_selects(l))
}

fn service_ports(service: &Object) -> Vec<i32> {
    service
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| p.port)
        .collect()
}

/// The ZooKeeper StatefulSet in `ns` that Service name `svc` leads to: its `serviceName`, or a
/// Service of that name selecting its pods. `pod` (a pod-name host) prefers the StatefulSet of
/// that name, found by a direct lookup; the namespace's StatefulSets are scanned only when that
/// fails (Service-form hosts, wrong names).
fn find_ensemble(ns: &str, svc: &str, pod: Option<&str>, cx: &Ctx<'_>) -> Option<Ensemble> {
    let service = cx.companions.service(ns, svc);
    let prefix = pod.and_then(split_ordinal).map(|(n, _)| n);
    if let Some(z) = prefix.and_then(|n| cx.companions.statefulset(ns, n))
        && service_name(&z) == svc
        && is_zookeeper(&z)
    {
        let service = service.filter(|s| selects(s, &z));
        return Some(Ensemble { sts: z, service });
    }
    let zks = zookeepers(ns, cx);
    let mut found: Vec<&Arc<Object>> = zks
        .iter()
        .filter(|z| service_name(z) == svc || service.as_ref().is_some_and(|s| selects(s, z)))
        .collect();
    found.sort_by_key(|z| (Some(z.key.name.as_str()) != prefix, service_name(z) != svc));
    let sts = found.first()?;
    Some(Ensemble {
        sts: (*sts).clone(),
        service: service.filter(|s| selects(s, sts)),
    })
}

fn zookeepers(ns: &str, cx: &Ctx<'_>) -> Vec<Arc<Object>> {
    cx.companions
        .statefulsets(ns)
        .into_iter()
        .filter(|o| is_zookeeper(o))
        .collect()
}

/// The connect string for an ensemble's pods.
fn pod_connect_string(zk: &Object, domain: &str, chroot: Option<&str>) -> String {
    let port = client_port(zk);
    let svc = service_name(zk);
    let ns = &zk.key.namespace;
    let hosts: Vec<String> = (0..zk.replicas().max(1))
        .map(|i| format!("{}-{i}.{svc}.{ns}.svc.{domain}:{port}", zk.key.name))
        .collect();
    format!("{}{}", hosts.join(","), chroot.unwrap_or(""))
}

/// `zk (Service zk-hs, 3 replicas)`.
fn describe_ensemble(zk: &Object) -> String {
    let n = zk.replicas();
    format!(
        "{} (Service {}, {} replica{})",
        zk.key.name,
        service_name(zk),
        n,
        if n == 1 { "" } else { "s" }
    )
}

fn pod_range(zk: &Object) -> String {
    match zk.replicas() {
        n if n <= 0 => "no pods".to_string(),
        1 => format!("only {}-0", zk.key.name),
        n => format!("{0}-0 to {0}-{1}", zk.key.name, n - 1),
    }
}

fn ports_text(ports: &[i32]) -> String {
    let p: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
    join_and(&p)
}

// ---------------------------------------------------------------------------------------------
// Checking one setting

/// At most this many findings about single hosts of one setting.
const MAX_HOST_FINDINGS: usize = 10;

fn check_setting(kafka: &Arc<Object>, s: &Setting, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let domain = cx
        .options::<Options>(&META)
        .map_or("cluster.local", Options::cluster_domain)
        .trim_matches('.');
    let kns = kafka.key.namespace.as_str();
    let (written_hosts, _) = parse_connect(&s.written);
    let finding = |host_text: &str, msg: String| {
        let f = Finding::new(&META, kafka, s.pointer.clone(), msg);
        let f = match &s.config_map {
            Some(cm) => f.at(cm, s.pointer.clone()),
            None => f,
        };
        f.needle(host_text.to_string())
    };
    let intro = format!(
        "StatefulSet {} sets {} (container {})",
        kafka.key.name, s.source, s.container
    );

    // 1. placeholders: `<X>` and `{{ }}` as written; `${X}` after expansion (a shell script
    // may define it)
    let value_hosts = s.value.as_deref().map(|v| parse_connect(v).0);
    let placeholder_of = |i: usize| -> Option<String> {
        placeholder_in(&written_hosts[i].text)
            .map(str::to_string)
            .or_else(|| {
                let v = value_hosts.as_ref()?;
                let h = if v.len() == written_hosts.len() {
                    v.get(i)?
                } else {
                    v.first()?
                };
                shell_placeholder(&h.text).map(str::to_string)
            })
    };
    let with_ph: Vec<usize> = (0..written_hosts.len())
        .filter(|&i| placeholder_of(i).is_some())
        .collect();
    if let Some(&first) = with_ph.first() {
        let ph = placeholder_of(first).unwrap_or_default();
        let h = &written_hosts[first];
        let zks = zookeepers(kns, cx);
        let chroot = parse_connect(&s.written).1;
        let is_ns = ph.to_ascii_uppercase().contains("NAMESPACE");
        let what = if is_ns {
            "the namespace where the ZooKeeper ensemble runs".to_string()
        } else {
            "the real value".to_string()
        };
        let help = match zks.as_slice() {
            [zk] => format!(
                "replace `{ph}` with {}: zookeeper.connect={}",
                if is_ns {
                    format!(
                        "`{kns}`, the namespace of ZooKeeper StatefulSet {}",
                        zk.key.name
                    )
                } else {
                    what
                },
                pod_connect_string(zk, domain, chroot.as_deref())
            ),
            _ => format!(
                "replace `{ph}` with {what}{}",
                if is_ns {
                    format!(" (`{kns}` if it runs next to this StatefulSet)")
                } else {
                    String::new()
                }
            ),
        };
        let n = with_ph.len();
        let hosts = if n == 1 {
            "host `".to_string() + &h.host + "` still holds"
        } else {
            if n == written_hosts.len() {
                format!("all {n} of its hosts still hold")
            } else {
                format!("{n} of its hosts still hold")
            }
        };
        out.push(
            finding(
                &h.text,
                format!(
                    "{intro}, but {hosts} the template placeholder `{ph}`, which no DNS name can contain"
                ),
            )
            .help(help),
        );
        return;
    }
    let Some(value) = &s.value else {
        return; // depends on a value we cannot know
    };
    let (hosts, chroot) = parse_connect(value);
    // the written text of host i, for the needle
    let text_of = |i: usize| -> String {
        if written_hosts.len() == hosts.len() {
            written_hosts[i].text.clone()
        } else {
            s.written.clone()
        }
    };
    if hosts.is_empty() {
        out.push(
            finding(&s.written, format!("{intro}, but it names no host"))
                .help("list the ZooKeeper servers: zookeeper.connect=zk-0.zk-hs.<ns>.svc.cluster.local:2181,..."),
        );
        return;
    }
    // undefined variables left after expansion
    for (i, h) in hosts.iter().enumerate() {
        if let Some(v) = h.text.find('$').map(|j| &h.text[j..]) {
            let var: String = v.chars().take_while(|c| *c != '.' && *c != ':').collect();
            out.push(
                finding(
                    &text_of(i),
                    format!(
                        "{intro}, but host `{}` refers to `{var}`, which is not defined in the container's env",
                        h.host
                    ),
                )
                .help("define the variable in the container's env before it is used (Kubernetes expands `$(VAR)` only from vars listed earlier), or write the host name out"),
            );
            return;
        }
    }

    // 2. resolve every host
    let mut targets = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let t = resolve(&h.host.to_ascii_lowercase(), kns, domain, |ns, pod, svc| {
            cx.companions
                .service(ns, svc)
                .is_some_and(|s| s.is_headless_service())
                || split_ordinal(pod)
                    .and_then(|(name, _)| cx.companions.statefulset(ns, name))
                    .is_some_and(|z| service_name(&z) == svc)
        });
        if let Target::WrongDomain { domain: d } = &t {
            out.push(
                finding(
                    &text_of(i),
                    format!(
                        "{intro}, but host `{}` uses the cluster domain `{d}`; this cluster's domain is `{domain}`",
                        h.host
                    ),
                )
                .help(format!(
                    "write `.svc.{domain}` (or set `cluster-domain` for zookeeper-connect in .statelint.yaml if the cluster uses `{d}`)"
                )),
            );
            return;
        }
        targets.push(t);
    }
    let in_cluster: Vec<(usize, &str, &str, Option<&str>)> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t {
            Target::Pod { pod, service, ns } => {
                Some((i, ns.as_str(), service.as_str(), Some(pod.as_str())))
            }
            Target::Service { service, ns } => Some((i, ns.as_str(), service.as_str(), None)),
            _ => None,
        })
        .collect();
    let Some(&(_, hns, hsvc, first_pod)) = in_cluster.first() else {
        return; // only external hosts: nothing to check
    };

    // 3. one namespace, one service
    if let Some(&(i, ns, svc, _)) = in_cluster
        .iter()
        .find(|(_, ns, svc, _)| *ns != hns || *svc != hsvc)
    {
        let (what, a, b) = if ns != hns {
            ("namespace", hns, ns)
        } else {
            ("Service", hsvc, svc)
        };
        out.push(
            finding(
                &text_of(i),
                format!(
                    "{intro}, but its hosts disagree on the {what}: `{}` names `{b}` where `{}` names `{a}`",
                    hosts[i].host, hosts[in_cluster[0].0].host
                ),
            )
            .help({
                match find_ensemble(hns, hsvc, first_pod, cx) {
                    Some(e) => format!(
                        "all hosts must be members of one ZooKeeper ensemble; for {} in `{hns}` write zookeeper.connect={}",
                        e.sts.key.name,
                        pod_connect_string(&e.sts, domain, chroot.as_deref())
                    ),
                    None => format!(
                        "all hosts must be members of one ZooKeeper ensemble: use the same Service and namespace for each (`<zk>-0.{hsvc}.{hns}.svc.{domain}:2181,<zk>-1...`)"
                    ),
                }
            }),
        );
        return;
    }

    // 4. the namespace where the ensemble lives: the hosts' namespace, else the StatefulSet's
    // own (other namespaces are not searched: that would be a scan of the whole input per
    // StatefulSet)
    let mut ens = find_ensemble(hns, hsvc, first_pod, cx);
    if ens.is_none() {
        let elsewhere = if hns != kns {
            find_ensemble(kns, hsvc, first_pod, cx)
        } else {
            None
        };
        if let Some(e) = elsewhere {
            let zk = &e.sts;
            let zns = &zk.key.namespace;
            let via = match &e.service {
                Some(svc) if service_name(zk) != hsvc => {
                    format!(" through Service {}", svc.key.name)
                }
                _ => String::new(),
            };
            out.push(
                finding(
                    &text_of(in_cluster[0].0),
                    format!(
                        "{intro}, but its hosts name namespace `{hns}`; ZooKeeper ensemble {}{via} runs in namespace `{zns}`",
                        zk.key.name
                    ),
                )
                .help(format!(
                    "write zookeeper.connect={}",
                    suggestion(&e, &hosts, domain, chroot.as_deref())
                ))
                .note(zk, "/metadata/namespace", format!("ZooKeeper StatefulSet {} is in namespace `{zns}`", zk.key.name)),
            );
            return;
        }
        let zks_h = zookeepers(hns, cx);
        if hns != kns && zks_h.is_empty() {
            let zks_k = zookeepers(kns, cx);
            let there = if zks_k.is_empty() {
                format!("no ZooKeeper StatefulSet of Service `{hsvc}` is in the input")
            } else {
                let names: Vec<String> = zks_k.iter().map(|z| describe_ensemble(z)).collect();
                format!(
                    "the ZooKeeper ensemble{} in `{kns}` {} {}",
                    if names.len() == 1 { "" } else { "s" },
                    if names.len() == 1 { "is" } else { "are" },
                    join_and(&names)
                )
            };
            let mut help = format!(
                "if ZooKeeper runs in `{hns}`, check its manifests together with this one (or pass them with --context) so the hosts can be verified"
            );
            if let [zk] = zks_k.as_slice() {
                help = format!(
                    "{help}; to use ZooKeeper StatefulSet {} in `{kns}`, write zookeeper.connect={}",
                    zk.key.name,
                    pod_connect_string(zk, domain, chroot.as_deref())
                );
            } else {
                help = format!("{help}; otherwise point the hosts at namespace `{kns}`");
            }
            out.push(
                finding(
                    &text_of(in_cluster[0].0),
                    format!(
                        "{intro}, but its hosts name namespace `{hns}`, not `{kns}` where this StatefulSet runs, and {there}"
                    ),
                )
                .help(help),
            );
            return;
        }
        if !zks_h.is_empty() {
            let names: Vec<String> = zks_h.iter().map(|z| describe_ensemble(z)).collect();
            let svc_obj = cx.companions.service(hns, hsvc);
            let why = match &svc_obj {
                Some(svc) => {
                    let sel = svc
                        .service_selector()
                        .filter(|m| !m.is_empty())
                        .map_or("nothing".to_string(), selector::describe_map);
                    format!(
                        "Service {hsvc} selects {sel}, which matches none of {} pods",
                        if zks_h.len() == 1 { "its" } else { "their" }
                    )
                }
                None => format!("there is no Service or ZooKeeper serviceName `{hsvc}` in `{hns}`"),
            };
            let mut f = finding(
                &text_of(in_cluster[0].0),
                format!(
                    "{intro}, but no ZooKeeper ensemble in namespace `{hns}` is reached through `{hsvc}`: the ensemble{} there {} {}, and {why}",
                    if names.len() == 1 { "" } else { "s" },
                    if names.len() == 1 { "is" } else { "are" },
                    join_and(&names)
                ),
            );
            if let Some(svc) = &svc_obj {
                f = f.note(svc, "/spec/selector", format!("selector of Service {hsvc}"));
            }
            f = match zks_h.as_slice() {
                [zk] => f
                    .help(format!(
                        "write zookeeper.connect={}",
                        pod_connect_string(zk, domain, chroot.as_deref())
                    ))
                    .note(zk, "/spec/serviceName", format!("pods of {} are named under Service {}", zk.key.name, service_name(zk))),
                _ => f.help(format!(
                    "name the pods of one of them: `<name>-<ordinal>.<serviceName>.{hns}.svc.{domain}:2181`"
                )),
            };
            out.push(f);
        }
        return;
    }
    let Some(e) = ens.take() else { return };

    // 5. each host against the known ensemble
    let zk = &e.sts;
    let zns = zk.key.namespace.as_str();
    let zsvc = service_name(zk);
    let replicas = zk.replicas();
    let pods_ports = pod_ports(zk);
    let mut found = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let port: Option<i32> = match &h.port {
            None => Some(DEFAULT_PORT),
            Some(p) => p.parse().ok(),
        };
        let bad_port_help = |good: i32| format!("use port {good}: `{}:{good}`", h.host);
        match &targets[i] {
            Target::Pod { pod, service, .. } => {
                let ok_name = split_ordinal(pod).is_some_and(|(n, _)| n == zk.key.name);
                if !ok_name || service != zsvc {
                    let why = if service != zsvc {
                        format!(
                            "pod DNS names exist only under the StatefulSet's serviceName `{zsvc}`, not `{service}`"
                        )
                    } else {
                        format!(
                            "it is not a pod of ZooKeeper StatefulSet {} ({})",
                            zk.key.name,
                            pod_range(zk)
                        )
                    };
                    found.push(
                        finding(
                            &text_of(i),
                            format!("{intro}, but host `{}` does not resolve: {why}", h.host),
                        )
                        .help(format!(
                            "write zookeeper.connect={}",
                            pod_connect_string(zk, domain, chroot.as_deref())
                        ))
                        .note(
                            zk,
                            "/spec/serviceName",
                            format!("ZooKeeper StatefulSet {} in `{zns}`", zk.key.name),
                        ),
                    );
                    continue;
                }
                let (_, ord) = split_ordinal(pod).unwrap();
                if ord as i64 >= replicas as i64 {
                    found.push(
                        finding(
                            &text_of(i),
                            format!(
                                "{intro}, but host `{}` names pod {pod}, and ZooKeeper StatefulSet {} in `{zns}` has {replicas} replica{} ({})",
                                h.host,
                                zk.key.name,
                                if replicas == 1 { "" } else { "s" },
                                pod_range(zk)
                            ),
                        )
                        .help(format!(
                            "list only existing pods: zookeeper.connect={} (or scale {} up first)",
                            pod_connect_string(zk, domain, chroot.as_deref()),
                            zk.key.name
                        ))
                        .note(zk, "/spec/replicas", format!("{} runs {replicas} replica{}", zk.key.name, if replicas == 1 { "" } else { "s" })),
                    );
                    continue;
                }
                if !port.is_some_and(|p| pods_ports.contains(&p)) {
                    found.push(
                        finding(
                            &text_of(i),
                            format!(
                                "{intro}, but host `{}` uses port {}, and the ZooKeeper pods of {} serve {} (a pod name reaches the pod directly, so only containerPorts count)",
                                h.host,
                                h.port.as_deref().unwrap_or("2181"),
                                zk.key.name,
                                ports_text(&pods_ports)
                            ),
                        )
                        .help(bad_port_help(client_port(zk)))
                        .note(zk, pod_ports_pointer(zk), format!("containerPorts of {}", zk.key.name)),
                    );
                }
            }
            Target::Service { service, .. } => {
                let Some(svc) = e.service.as_ref().filter(|s| s.key.name == *service) else {
                    let exists = cx.companions.service(zns, service);
                    let why = match exists {
                        Some(_) => format!(
                            "Service {service} does not select the pods of ZooKeeper StatefulSet {}",
                            zk.key.name
                        ),
                        None => format!("there is no Service {service} in namespace `{zns}`"),
                    };
                    found.push(
                        finding(&text_of(i), format!("{intro}, but host `{}` does not reach ZooKeeper: {why}", h.host))
                            .help(format!(
                                "create a Service {service} selecting the ZooKeeper pods, or write zookeeper.connect={}",
                                pod_connect_string(zk, domain, chroot.as_deref())
                            ))
                            .note(zk, "/spec/serviceName", format!("ZooKeeper StatefulSet {} in `{zns}`", zk.key.name)),
                    );
                    continue;
                };
                let headless = svc.is_headless_service();
                let served = if headless {
                    pods_ports.clone()
                } else {
                    service_ports(svc)
                };
                if !port.is_some_and(|p| served.contains(&p)) {
                    let (what, note_obj, note_ptr, note) = if headless {
                        (
                            format!(
                                "headless Service {service} resolves to the pod addresses, and the ZooKeeper pods of {} serve {}",
                                zk.key.name,
                                ports_text(&served)
                            ),
                            zk.clone(),
                            pod_ports_pointer(zk),
                            format!("containerPorts of {}", zk.key.name),
                        )
                    } else {
                        (
                            format!(
                                "Service {service} serves port{} {}",
                                if served.len() == 1 { "" } else { "s" },
                                ports_text(&served)
                            ),
                            svc.clone(),
                            "/spec/ports".to_string(),
                            format!("ports of Service {service}"),
                        )
                    };
                    let good = if headless {
                        client_port(zk)
                    } else {
                        service_client_port(&served)
                    };
                    found.push(
                        finding(
                            &text_of(i),
                            format!(
                                "{intro}, but host `{}` uses port {}, and {what}",
                                h.host,
                                h.port.as_deref().unwrap_or("2181 (the default)")
                            ),
                        )
                        .help(format!("use port {good}: `{}:{good}`", h.host))
                        .note(&note_obj, note_ptr, note),
                    );
                }
            }
            _ => {}
        }
    }
    // a setting with thousands of wrong hosts gets a few findings, not thousands
    if found.len() > MAX_HOST_FINDINGS {
        let more = found.len() - MAX_HOST_FINDINGS;
        found.truncate(MAX_HOST_FINDINGS);
        if let Some(last) = found.last_mut() {
            last.message.push_str(&format!(
                " ({more} more host{} of this setting {} problems too, not listed)",
                if more == 1 { "" } else { "s" },
                if more == 1 { "has" } else { "have" }
            ));
        }
    }
    out.append(&mut found);
}

fn service_client_port(ports: &[i32]) -> i32 {
    if ports.contains(&DEFAULT_PORT) || ports.is_empty() {
        DEFAULT_PORT
    } else {
        ports[0]
    }
}

fn pod_ports_pointer(zk: &Object) -> String {
    let spec = zk.pod_template().and_then(|t| t.spec.as_ref());
    let i = spec
        .and_then(|s| {
            let port = client_port(zk);
            let has = |c: &Container, f: &dyn Fn(i32) -> bool| {
                c.ports.iter().flatten().any(|p| f(p.container_port))
            };
            s.containers
                .iter()
                .position(|c| has(c, &|p| p == port))
                .or_else(|| s.containers.iter().position(|c| has(c, &|_| true)))
        })
        .unwrap_or(0);
    format!("{}/spec/containers/{i}/ports", zk.pod_template_pointer())
}

/// The connect string to write for an ensemble, in the style of the hosts as written: the
/// Service form when they go through a Service, else the pod names.
fn suggestion(e: &Ensemble, hosts: &[HostPort], domain: &str, chroot: Option<&str>) -> String {
    let zk = &e.sts;
    match &e.service {
        Some(svc) if hosts.len() == 1 => {
            let port = if svc.is_headless_service() {
                client_port(zk)
            } else {
                service_client_port(&service_ports(svc))
            };
            format!(
                "{}.{}.svc.{domain}:{port}{}",
                svc.key.name,
                zk.key.namespace,
                chroot.unwrap_or("")
            )
        }
        _ => pod_connect_string(zk, domain, chroot),
    }
}

/// `${NAME}` in a host (a shell placeholder no shell expanded).
fn shell_placeholder(s: &str) -> Option<&str> {
    let i = s.find("${")?;
    let j = s[i..].find('}')?;
    Some(&s[i..i + j + 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, EnvVal)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn parses_hosts_ports_and_chroot() {
        let (h, c) = parse_connect("zk-0.zk:2181, zk-1.zk:2182,zk-2.zk/kafka/prod");
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].host, "zk-0.zk");
        assert_eq!(h[0].port.as_deref(), Some("2181"));
        assert_eq!(h[1].port.as_deref(), Some("2182"));
        assert_eq!(h[2].port, None);
        assert_eq!(c.as_deref(), Some("/kafka/prod"));
        let (h, c) = parse_connect("zookeeper:2181");
        assert_eq!(h.len(), 1);
        assert_eq!(c, None);
        let (h, _) = parse_connect("a:1,,b:2,");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn finds_values_in_scripts_and_args() {
        let script = "exec kafka-server-start.sh /x --override broker.id=1 \\\n  --override zookeeper.connect=zk-0.zk:2181,zk-1.zk:2181 \\\n  --override log.dirs=/d";
        let v = find_in_text(script);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].1, "zk-0.zk:2181,zk-1.zk:2181");
        assert_eq!(&script[v[0].0..v[0].0 + 12], "zk-0.zk:2181");
        assert_eq!(find_in_text("zookeeper.connect=a:1")[0].1, "a:1");
        assert_eq!(
            find_in_text("--override zookeeper.connect=\"a:1,b:2\"")[0].1,
            "a:1,b:2"
        );
        assert_eq!(find_in_text("-Dzookeeper.connect=a:1;echo")[0].1, "a:1");
        assert!(find_in_text("zookeeper.connection.timeout.ms=6000").is_empty());
        assert!(find_in_text("# zookeeper.connect=old:1\necho").is_empty());
        assert!(find_in_text("xzookeeper.connect=a:1").is_empty());
        assert_eq!(
            find_in_text("zookeeper.connect=zk-0.zk.$(POD_NAMESPACE).svc:2181 --x")[0].1,
            "zk-0.zk.$(POD_NAMESPACE).svc:2181"
        );
        assert_eq!(
            find_in_text("zookeeper.connect=zk-0.zk.{{ .Release.Namespace }}:2181 \\\n")[0].1,
            "zk-0.zk.{{ .Release.Namespace }}:2181"
        );
        assert_eq!(find_in_text("$(echo zookeeper.connect=a:1)")[0].1, "a:1");
    }

    #[test]
    fn finds_values_in_properties() {
        let p = "# zookeeper.connect=x\nzookeeper.connection.timeout.ms=1\nzookeeper.connect = zk:2181\n";
        assert_eq!(find_in_properties(p).as_deref(), Some("zk:2181"));
        assert_eq!(
            find_in_properties("zookeeper.connect: a:1").as_deref(),
            Some("a:1")
        );
        assert_eq!(
            find_in_properties("zookeeper.connect a:1").as_deref(),
            Some("a:1")
        );
        assert_eq!(
            find_in_properties("zookeeper.connection.timeout.ms=1"),
            None
        );
    }

    #[test]
    fn kubernetes_expansion() {
        let e = env(&[
            ("NS", EnvVal::Namespace),
            ("ZK", EnvVal::Lit("zk-hs".into())),
            ("SECRET", EnvVal::Unknown),
        ]);
        assert_eq!(
            k8s_expand("zk-0.$(ZK).$(NS).svc", &e, "data").unwrap(),
            "zk-0.zk-hs.data.svc"
        );
        assert_eq!(k8s_expand("$$(ZK)", &e, "data").unwrap(), "$(ZK)");
        assert_eq!(k8s_expand("$(NOPE)", &e, "data").unwrap(), "$(NOPE)");
        assert_eq!(k8s_expand("$(SECRET)", &e, "data"), None);
        assert_eq!(k8s_expand("a$b$", &e, "data").unwrap(), "a$b$");
        // an unclosed `$(` stays as written, and so do the ones after it
        assert_eq!(
            k8s_expand("$(ZK $(ZK) $$", &e, "data").unwrap(),
            "$(ZK $(ZK) $"
        );
    }

    #[test]
    fn expansion_is_bounded() {
        // V0 = 16 bytes, Vi = $(Vi-1)$(Vi-1): V30 would be 16 GiB
        let mut vars = vec![serde_json::json!({"name": "V0", "value": "0123456789abcdef"})];
        for i in 1..=30 {
            let v = format!("$(V{})$(V{})", i - 1, i - 1);
            vars.push(serde_json::json!({"name": format!("V{i}"), "value": v}));
        }
        let vars: Vec<EnvVar> = serde_json::from_value(serde_json::Value::Array(vars)).unwrap();
        let (env, list) = container_env(&vars, "ns");
        let known: usize = list
            .iter()
            .filter_map(|(_, _, v)| v.as_ref())
            .map(String::len)
            .sum();
        assert!(known <= MAX_ENV_EXPANSION + 16 * 31, "{known}");
        assert!(matches!(env.get("V30"), Some(EnvVal::Unknown)));
        assert_eq!(list[4].2.as_deref().map(str::len), Some(256));
        let many = "$(V16)".repeat(64); // 64 x 1 MiB
        assert_eq!(k8s_expand(&many, &env, "ns"), None);
    }

    #[test]
    fn env_expands_only_earlier_vars() {
        let vars: Vec<EnvVar> = serde_json::from_value(serde_json::json!([
            {"name": "A", "value": "$(B)-x"},
            {"name": "B", "value": "b"},
            {"name": "C", "value": "$(B)-$(A)"},
        ]))
        .unwrap();
        let (_, list) = container_env(&vars, "ns");
        assert_eq!(list[0].2.as_deref(), Some("$(B)-x"));
        assert_eq!(list[2].2.as_deref(), Some("b-$(B)-x"));
    }

    #[test]
    fn shell_expansion() {
        let e = env(&[
            ("POD_NAMESPACE", EnvVal::Namespace),
            ("X", EnvVal::Lit("x".into())),
        ]);
        assert_eq!(
            shell_expand("a.${POD_NAMESPACE}.$X", &e, "data").unwrap(),
            "a.data.x"
        );
        assert_eq!(
            shell_expand("a.${NAMESPACE}", &e, "data").unwrap(),
            "a.${NAMESPACE}"
        );
        assert_eq!(shell_expand("a.$UNSET", &e, "data"), None);
        assert_eq!(shell_expand("a.${HOSTNAME}", &e, "data"), None);
    }

    #[test]
    fn resolves_short_forms_like_the_search_path() {
        let none = |_: &str, _: &str, _: &str| false;
        let hs = |ns: &str, _: &str, s: &str| ns == "data" && s == "zk-hs";
        let (pod, svc) = (Target::pod, Target::service);
        let d = "cluster.local";
        assert_eq!(
            resolve("zk-0.zk-hs.data.svc.cluster.local", "x", d, none),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(
            resolve("zk-0.zk-hs.data.svc", "x", d, none),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(
            resolve("zk-0.zk-hs.data", "x", d, none),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(
            resolve("zk-0.zk-hs", "data", d, hs),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(resolve("zk-cs.other", "data", d, hs), svc("zk-cs", "other"));
        assert_eq!(resolve("zk-cs", "data", d, none), svc("zk-cs", "data"));
        assert_eq!(
            resolve("zk-cs.data.svc.cluster.local", "x", d, none),
            svc("zk-cs", "data")
        );
        assert_eq!(resolve("10.0.0.1", "x", d, none), Target::External);
        assert_eq!(resolve("zk1.example.com", "x", d, none), Target::External);
        assert_eq!(
            resolve("zk-0.zk.data.svc.corp.local", "x", d, none),
            Target::WrongDomain {
                domain: "corp.local".into()
            }
        );
        assert_eq!(
            resolve("zk-0.zk.data.svc.corp.local", "x", "corp.local", none),
            pod("zk-0", "zk", "data")
        );
    }

    #[test]
    fn ordinals() {
        assert_eq!(split_ordinal("zk-2"), Some(("zk", 2)));
        assert_eq!(split_ordinal("my-zk-10"), Some(("my-zk", 10)));
        assert_eq!(split_ordinal("zk-01"), None);
        assert_eq!(split_ordinal("zk"), None);
        assert_eq!(split_ordinal("zk-a"), None);
    }

    use crate::rules::util::testing::one_container_statefulset as sts;

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
}
