//! Reading settings from a container the way the software sees them: `command`/`args`
//! (`--override k=v`, `-Dk=v`, `-Ek=v`, `k=v`, `--flag=v`, `--flag v`, also inside `sh -c` scripts, where
//! the script's and the env's shell variables are expanded), env vars (Kubernetes `$(VAR)`
//! expansion; the env-to-property conventions of Bitnami `*_CFG_*` and Apache/Confluent
//! `KAFKA_*` images), and mounted ConfigMaps (`server.properties`, `zoo.cfg` and other Java
//! properties or `key: value` files).
//!
//! Every [`Setting`] keeps where it is written (a JSON pointer into the StatefulSet or a
//! ConfigMap) and the text as written there, so a finding can point at one member inside it.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};

use crate::catalog::Companions;
use crate::object::Object;

use super::formats::{self, Node};

/// What to look for in a container.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want<'a> {
    /// Property names (`zookeeper.connect`), found as `name=value` in argv items and scripts
    /// (`--override name=v`, `-Dname=v`, `-Ename=v`) and as keys of properties files. A trailing `*`
    /// matches any suffix (`server.*` for zoo.cfg's `server.1=...`).
    pub properties: &'a [&'a str],
    /// Command-line flags (`--initial-cluster`): `--flag=v` or `--flag v`.
    pub flags: &'a [&'a str],
    /// Env var names.
    pub env: &'a [&'a str],
    /// ConfigMap keys (file names) mounted into the container that hold these settings: read
    /// as properties files, or by their syntax ([`formats::syntax_of`]: YAML, JSON...). `*.json`
    /// matches every key of that extension.
    pub files: &'a [&'a str],
    /// Key paths read in structured files (`seed_provider.parameters.seeds`, dotted, written
    /// flat or nested); empty: the [`Want::properties`] without a `*`.
    pub file_keys: &'a [&'a str],
    /// Flags and env vars that name a config file to read (`--config-file`,
    /// `ETCD_CONFIG_FILE`): the file is found through the container's volumeMounts.
    pub config_files: &'a [&'a str],
    /// Env vars whose value is a config document (Consul's `CONSUL_LOCAL_CONFIG`, JSON).
    pub config_env: &'a [&'a str],
}

impl Want<'static> {
    /// Nothing: the base of `Want { ..., ..Want::NONE }`.
    pub const NONE: Want<'static> = Want {
        properties: &[],
        flags: &[],
        env: &[],
        files: &[],
        file_keys: &[],
        config_files: &[],
        config_env: &[],
    };
}

impl Want<'_> {
    /// The key paths read in structured files.
    pub fn file_keys(&self) -> impl Iterator<Item = &str> {
        let props = if self.file_keys.is_empty() {
            self.properties
        } else {
            &[]
        };
        self.file_keys
            .iter()
            .chain(props.iter().filter(|k| !k.ends_with('*')))
            .copied()
    }
}

/// Where a setting was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Argv,
    Script,
    Env,
    ConfigMap,
}

/// One setting of a container.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The property, flag or env var name as written (`zookeeper.connect`, `server.1`,
    /// `--initial-cluster`, `ZOO_SERVERS`).
    pub key: String,
    pub form: Form,
    /// Node that holds it: in the StatefulSet, or in `config_map`.
    pub pointer: String,
    pub config_map: Option<Arc<Object>>,
    /// Where it came from, for messages: "`--override zookeeper.connect`", "env KAFKA_...".
    pub source: String,
    pub container: String,
    /// The value as written in the node.
    pub written: String,
    /// After `$(VAR)` (and, in shell scripts, `$VAR`) expansion; `None` when it depends on a
    /// value statelint cannot know (a Secret, the pod name...).
    pub value: Option<String>,
    /// The whole script, for a setting read from one (its value may come from a variable the
    /// script defines elsewhere).
    pub script: Option<String>,
    /// For a list assembled from a structured file (ClickHouse's `<zookeeper>` nodes, an HCL
    /// list): the text of each member as written in the file and which occurrence of that
    /// text in the file it is, to point at; empty otherwise.
    pub needles: Vec<(String, usize)>,
    /// A value read from a structured file or document (YAML, JSON...): its items and where
    /// each is written.
    pub structured: Option<Structured>,
}

/// A value read from a structured text ([`formats`]). [`Setting::value`] and
/// [`Setting::written`] join its items with `,`.
#[derive(Debug, Clone)]
pub struct Structured {
    /// The whole text of the node the setting points at (the ConfigMap file, the env value).
    pub text: Arc<str>,
    /// Each item of the value (a scalar, each entry of a list), as the software reads it, and
    /// the byte range where it is written in `text`.
    pub items: Vec<(String, std::ops::Range<usize>)>,
}

/// What an env var expands to.
#[derive(Debug, Clone)]
pub enum EnvVal {
    Lit(String),
    /// `fieldRef: metadata.namespace`.
    Namespace,
    Unknown,
}

pub type Env = HashMap<String, EnvVal>;

/// Env vars in order: index, the var, its value after expansion (`None` when unknown).
pub type EnvList<'a> = Vec<(usize, &'a EnvVar, Option<String>)>;

/// Container env, in order, with Kubernetes `$(VAR)` expansion of each value using the vars
/// defined before it.
pub fn container_env<'a>(env: &'a [EnvVar], ns: &str) -> (Env, EnvList<'a>) {
    container_env_of_pod(env, ns, None)
}

/// [`container_env`] in one pod: `fieldRef: metadata.name` is `pod` when given (else unknown).
pub fn container_env_of_pod<'a>(
    env: &'a [EnvVar],
    ns: &str,
    pod: Option<&str>,
) -> (Env, EnvList<'a>) {
    let mut map = Env::new();
    let mut list = Vec::new();
    // vars that expand earlier ones can grow exponentially (B = $(A)$(A), C = $(B)$(B)...):
    // past this many expanded bytes, values count as unknown
    let mut budget = MAX_ENV_EXPANSION;
    for (i, e) in env.iter().enumerate() {
        let val = match (&e.value, &e.value_from) {
            (_, Some(from)) => match from.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                Some("metadata.namespace") => EnvVal::Namespace,
                Some("metadata.name") if pod.is_some() => {
                    EnvVal::Lit(pod.unwrap_or_default().to_string())
                }
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

/// How much longer than the written text an expansion may get (a real member list is well
/// under 1 KiB); longer counts as unknown.
const MAX_EXPANDED: usize = 1 << 20;
/// Expanded bytes of all env vars of one container.
pub const MAX_ENV_EXPANSION: usize = 8 << 20;

/// Kubernetes `$(VAR)` expansion: `$$` is a literal `$`, a reference to an undefined var stays
/// as written. `None` when a referenced var's value is unknown, or the result is more than
/// [`MAX_EXPANDED`] longer than `s`.
pub fn k8s_expand(s: &str, env: &Env, ns: &str) -> Option<String> {
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

/// Shell expansion of `$VAR` and `${VAR}` from the container env plus the variables a script
/// assigns. Undefined `${VAR}` stays as written (it is reported as a placeholder); `None` when a
/// value is unknown, or for an undefined `$VAR` or `${VAR...}` with an operator (the image may
/// set it).
pub fn shell_expand(s: &str, env: &Env, ns: &str) -> Option<String> {
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

/// Simple assignments in a shell script (`NAME=value`, `export NAME=value`, at the start of a
/// line or after `;`/`&&`), in order, the later winning; a value that uses another variable is
/// expanded with what is known so far, else unknown.
pub fn script_vars(script: &str, env: &Env, ns: &str) -> Env {
    let mut vars = env.clone();
    for stmt in script.split(['\n', ';']).flat_map(|l| l.split("&&")) {
        let mut s = stmt.trim_start();
        if s.starts_with('#') {
            continue;
        }
        for kw in ["export ", "local ", "readonly ", "declare "] {
            if let Some(r) = s.strip_prefix(kw) {
                s = r.trim_start();
            }
        }
        let Some((name, rest)) = s.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || name.as_bytes()[0].is_ascii_digit()
        {
            continue;
        }
        let (word, tail) = shell_word(rest);
        // `A=b cmd` sets A for cmd only; `A=b \` on its own line continues a command
        if !tail.trim().is_empty() && !tail.trim_start().starts_with('#') {
            continue;
        }
        let val = if word.contains('`') || word.contains("$(") {
            EnvVal::Unknown
        } else {
            match shell_expand(&word, &vars, ns) {
                Some(v) if !v.contains("${") => EnvVal::Lit(v),
                _ => EnvVal::Unknown,
            }
        };
        vars.insert(name.to_string(), val);
    }
    vars
}

/// Whether a script defines variables statelint cannot see: `source FILE`, `. FILE`, `eval`,
/// `export $(...)`.
pub fn sources_files(script: &str) -> bool {
    script
        .split(['\n', ';'])
        .flat_map(|l| l.split("&&"))
        .any(|stmt| {
            let t = stmt.trim_start();
            t.starts_with("source ")
                || t.starts_with(". ")
                || t.starts_with("eval ")
                || t.starts_with("export $(")
                || t.starts_with("set -a")
        })
}

/// The first shell word of `s` (quotes removed) and what follows it.
fn shell_word(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for (i, ch) in s.char_indices() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => out.push(ch),
            None if ch == '"' || ch == '\'' => quote = Some(ch),
            None if ch.is_whitespace() => return (out, &s[i..]),
            None => out.push(ch),
        }
    }
    (out, "")
}

/// Does `key` (maybe ending in `*`) match `name`?
pub fn key_matches(key: &str, name: &str) -> bool {
    match key.strip_suffix('*') {
        Some(prefix) => name.len() > prefix.len() && name.starts_with(prefix),
        None => key == name,
    }
}

/// Values of `key=` (or, with `flag`, `key value`) inside one string (an arg, a script): (key
/// as written, byte offset of the value, value as written). Comment lines of scripts are
/// skipped; values end at unquoted whitespace or a shell operator.
pub fn find_in_text(s: &str, key: &str, flag: bool) -> Vec<(String, usize, String)> {
    find_in(s, key, flag, true)
}

/// [`find_in_text`] in one `command`/`args` item, which no shell reads: `;`, `|`, `&` and `)`
/// are part of the value (BookKeeper's `zk+hierarchical://h1:2181;h2:2181/ledgers`).
pub fn find_in_arg(s: &str, key: &str, flag: bool) -> Vec<(String, usize, String)> {
    find_in(s, key, flag, false)
}

fn find_in(s: &str, key: &str, flag: bool, shell: bool) -> Vec<(String, usize, String)> {
    let prefix = key.strip_suffix('*');
    let needle = prefix.unwrap_or(key);
    let mut out = Vec::new();
    let mut from = 0;
    // start of the line of the previous match, moved forward only (linear on one-line scripts)
    let mut line_start = 0;
    // `(open, close)` groups with no `close` after some point: do not look for it again
    let mut unclosed = [usize::MAX; 3];
    // the shell quote open where the key starts (`echo "server.1=a:2888:3888"`,
    // `--override "k=v"`): it ends the value. Tracked forward only, reset at each line.
    let (mut scanned, mut outer) = (0, None::<u8>);
    while let Some(off) = s[from..].find(needle) {
        let start = from + off;
        let bytes = s.as_bytes();
        while scanned < start {
            let b = bytes[scanned];
            match (outer, b) {
                (_, b'\n') => outer = None,
                (Some(b'\''), b'\'') | (Some(b'"'), b'"') => outer = None,
                (None, b'"' | b'\'') => outer = Some(b),
                (Some(b'"') | None, b'\\') => scanned += 1,
                _ => {}
            }
            scanned += 1;
        }
        if let Some(i) = s[line_start.max(from)..start].rfind('\n') {
            line_start = line_start.max(from) + i + 1;
        }
        from = start + needle.len();
        if prefix.is_some() {
            // `server.*`: the rest of the key, up to `=`
            let n = s[from..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
                .count();
            if n == 0 {
                continue;
            }
            from += n;
        }
        if s[line_start..start].trim_start().starts_with('#') {
            continue;
        }
        let before = &s.as_bytes()[..start];
        let ok_before = flag
            || match before.last() {
                None => true,
                Some(b) if b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.' => {
                    // `-Dk=v` (JVM system properties), `-Ek=v` (Elasticsearch/OpenSearch)
                    before.len() >= 2 && matches!(&before[before.len() - 2..], b"-D" | b"-E")
                }
                Some(_) => true,
            };
        if flag
            && let Some(b) = before.last()
            && (b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            continue;
        }
        let after = &s[from..];
        let value = match after.strip_prefix('=') {
            Some(v) => v,
            None if flag && after.starts_with([' ', '\t']) => {
                let ws = after.len() - after.trim_start_matches([' ', '\t']).len();
                from += ws - 1;
                &after[ws..]
            }
            None => continue,
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
                // the quote the key was written in closes: the value ends
                None if outer.is_some_and(|q| ch == q as char) => break,
                None if ch == '"' || ch == '\'' => quote = Some(ch),
                // end of the shell word; a backslash is a line continuation or an escape, and
                // hosts never hold one. Inside the quote the key is written in, and in an argv
                // item, `;`, `|`, `&` and `)` are plain characters.
                None if ch.is_whitespace() || matches!(ch, '`' | '\\') => break,
                None if shell && outer.is_none() && matches!(ch, ';' | '|' | '&' | ')') => {
                    break;
                }
                None => text.push(ch),
            }
        }
        if !text.is_empty() {
            out.push((s[start..from].trim_end().to_string(), vstart, text));
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

/// The byte ranges `key start..value end` of every `key` setting in `s` (`key=v`, `key: v`,
/// `key "v"`), in order and not overlapping; one pass over `s`. Looser than [`find_in_text`]:
/// it marks text that belongs to a setting (so SL007 leaves its placeholders to the rule that
/// reads the setting).
pub fn value_ranges(s: &str, key: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut search = 0;
    while let Some(off) = s[search..].find(key) {
        let key_start = search + off;
        let mut i = key_start + key.len();
        // separator: `=`, `:`, blanks and quotes
        while i < b.len() && matches!(b[i], b'=' | b':' | b' ' | b'\t' | b'"' | b'\'') {
            i += 1;
        }
        // value: up to the next blank, quote or `;` (a `{{ ... }}` counts as one word)
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'"' | b'\'' | b';') {
            // byte-wise: `i` may sit inside a multi-byte character of the value
            if b[i..].starts_with(b"{{") {
                match s[i..].find("}}") {
                    Some(j) => i += j + 2,
                    None => i = b.len(),
                }
            } else {
                i += 1;
            }
        }
        out.push((key_start, i));
        // a key inside this value would end where this one ends: search after it
        search = i.max(key_start + key.len());
    }
    out
}

/// Every `key = value` of a Java properties text (`key=value`, `key: value`, `key value`;
/// comments `#`/`!`), in order: (key, value trimmed).
pub fn properties(s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for line in s.lines() {
        let l = line.trim_start();
        if l.is_empty() || l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        let end = l
            .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
            .unwrap_or(l.len());
        let key = &l[..end];
        let rest = l[end..].trim_start();
        let rest = rest
            .strip_prefix('=')
            .or_else(|| rest.strip_prefix(':'))
            .unwrap_or(rest);
        out.push((key, rest.trim()));
    }
    out
}

/// The last value of `key` in a properties text (the last one wins, as in
/// `java.util.Properties`).
pub fn find_in_properties(s: &str, key: &str) -> Option<String> {
    properties(s)
        .into_iter()
        .rfind(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// A shell's `-c` option, alone or with other one-letter options: `-c`, `-ec`, `-ecx`, `-xc`.
pub fn is_shell_c_flag(arg: &str) -> bool {
    arg.strip_prefix('-').is_some_and(|o| {
        // bash's one-letter options, each at most once
        (1..=6).contains(&o.len())
            && o.contains('c')
            && o.bytes().all(|b| b"abcefhiklmnprstuvx".contains(&b))
            && o.bytes()
                .enumerate()
                .all(|(i, b)| !o.as_bytes()[..i].contains(&b))
    })
}

pub fn is_shell(cmd: &str) -> bool {
    let base = cmd.rsplit('/').next().unwrap_or(cmd);
    matches!(base, "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh")
}

/// At most this many settings are read from one string (a real script has one or two; a
/// generated one with thousands would give thousands of findings).
const MAX_SETTINGS: usize = 16;

/// Env names that set a Kafka property, as the images read them: Bitnami `KAFKA_CFG_*` (`.`
/// and `-` -> `_`, upper case) and Apache/Confluent `KAFKA_*` (`_` -> `__`, `-` -> `___`, `.`
/// -> `_`, upper case).
pub fn kafka_env_names(property: &str) -> [String; 2] {
    let bitnami = format!(
        "KAFKA_CFG_{}",
        property.replace(['.', '-'], "_").to_ascii_uppercase()
    );
    let apache = format!(
        "KAFKA_{}",
        property
            .replace('_', "__")
            .replace('-', "___")
            .replace('.', "_")
            .to_ascii_uppercase()
    );
    [bitnami, apache]
}

/// The `(pointer, text)` of every command and args item of a container, as one argv.
fn argv<'c>(c: &'c Container, cptr: &str) -> Vec<(String, &'c str)> {
    c.command
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
        .collect()
}

/// Whether ConfigMap key `key` is one of `files`: a name, or `*.ext` for every key ending so.
pub fn file_matches(files: &[&str], key: &str) -> bool {
    files.iter().any(|f| match f.strip_prefix('*') {
        Some(ext) => key.ends_with(ext) && key.len() > ext.len(),
        None => *f == key,
    })
}

/// The ConfigMap keys a volume mount makes into files: (key, path under the mount), with a
/// `subPath` only the one it names.
fn mounted_keys(
    cm: &Object,
    items: Option<&[k8s_openapi::api::core::v1::KeyToPath]>,
    sub_path: Option<&str>,
) -> Vec<(String, String)> {
    let data = cm.config_map().and_then(|m| m.data.as_ref());
    let keys: Vec<(String, String)> = match items {
        Some(items) => items
            .iter()
            .filter(|it| data.is_some_and(|d| d.contains_key(&it.key)))
            .map(|it| (it.key.clone(), it.path.clone()))
            .collect(),
        None => data
            .into_iter()
            .flatten()
            .map(|(k, _)| (k.clone(), k.clone()))
            .collect(),
    };
    match sub_path {
        Some(sub) => keys.into_iter().filter(|(_, p)| p == sub).collect(),
        None => keys,
    }
}

/// The ConfigMaps mounted into a container, with the keys (file names) that `files` asks for:
/// (ConfigMap, key).
pub fn mounted_files(
    c: &Container,
    spec: &PodSpec,
    ns: &str,
    files: &[&str],
    companions: &dyn Companions,
) -> Vec<(Arc<Object>, String)> {
    let mut out = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(vol) = spec.volumes.iter().flatten().find(|v| v.name == m.name) else {
            continue;
        };
        let Some(cmv) = &vol.config_map else { continue };
        // a mount of files no pattern asks for needs no lookup
        let named = |k: &str| file_matches(files, k);
        if let Some(items) = &cmv.items
            && !items.iter().any(|it| named(&it.key))
        {
            continue;
        }
        let Some(cm) = companions.config_map(ns, &cmv.name) else {
            continue;
        };
        let sub = m.sub_path.as_deref().filter(|s| !s.is_empty());
        let keys = mounted_keys(&cm, cmv.items.as_deref(), sub);
        for pattern in files {
            for (key, _) in keys.iter().filter(|(k, _)| file_matches(&[pattern], k)) {
                if !out
                    .iter()
                    .any(|(o, k): &(Arc<Object>, String)| o.key == cm.key && k == key)
                {
                    out.push((cm.clone(), key.clone()));
                }
            }
        }
    }
    out
}

/// The ConfigMap key a container sees at file `path` (through its volumeMounts; the deepest
/// mount wins, as in the container's filesystem).
pub fn file_at(
    c: &Container,
    spec: &PodSpec,
    ns: &str,
    path: &str,
    companions: &dyn Companions,
) -> Option<(Arc<Object>, String)> {
    let mut best: Option<(usize, Arc<Object>, String)> = None;
    for m in c.volume_mounts.iter().flatten() {
        let mount = m.mount_path.trim_end_matches('/');
        let sub = m.sub_path.as_deref().filter(|s| !s.is_empty());
        let rel = match sub {
            Some(sub) if path == mount => sub,
            Some(_) => continue,
            None => match path.strip_prefix(mount).and_then(|r| r.strip_prefix('/')) {
                Some(r) if !r.is_empty() => r,
                _ => continue,
            },
        };
        if best.as_ref().is_some_and(|(len, _, _)| *len > mount.len()) {
            continue;
        }
        let Some(cmv) = spec
            .volumes
            .iter()
            .flatten()
            .find(|v| v.name == m.name)
            .and_then(|v| v.config_map.as_ref())
        else {
            // another kind of volume at that path: the file is not a ConfigMap's
            best = None;
            continue;
        };
        let Some(cm) = companions.config_map(ns, &cmv.name) else {
            best = None;
            continue;
        };
        let found = mounted_keys(&cm, cmv.items.as_deref(), sub)
            .into_iter()
            .find(|(_, p)| p == rel)
            .map(|(k, _)| k);
        best = found.map(|k| (mount.len(), cm, k));
    }
    best.map(|(_, cm, k)| (cm, k))
}

/// A structured value's items (a scalar; each entry of a list, a `{host: {address, port}}` or
/// `{address, port}` entry by its address, as written there: the peer lists' ports are not
/// checked, and a fix then names the field to change), with where each is written. `None` when
/// it cannot be read as a list of members.
pub fn items_of(node: &Node) -> Option<Vec<(String, std::ops::Range<usize>)>> {
    let item = |n: &Node| -> Option<(String, std::ops::Range<usize>)> {
        match n {
            Node::Scalar(s) => Some((s.text.clone(), s.span.clone())),
            Node::Map { .. } => {
                let host = n.get("host").unwrap_or(n);
                let addr = host.get("address")?.as_scalar()?;
                Some((addr.text.clone(), addr.span.clone()))
            }
            _ => None,
        }
    };
    match node {
        Node::List { items, .. } => items.iter().map(item).collect(),
        Node::Scalar(_) => Some(vec![item(node)?]),
        _ => None,
    }
}

/// The settings `want` asks for in a structured text (`name`: the file or env var, for
/// messages): one per key path, the last one when a key is written more than once. A value
/// that uses `${VAR}` (Elasticsearch and others expand env vars in their config files) is
/// expanded from the container env; unknown when it cannot be.
#[allow(clippy::too_many_arguments)]
fn read_structured(
    syntax: formats::Syntax,
    text: &str,
    want: &Want<'_>,
    env: &Env,
    ns: &str,
    make: &dyn Fn(&str) -> Setting,
    out: &mut Vec<Setting>,
) {
    let keys: Vec<&str> = want.file_keys().collect();
    if keys.is_empty() {
        return;
    }
    let Some(root) = formats::parse(syntax, text) else {
        return;
    };
    let shared: Arc<str> = Arc::from(text);
    for key in keys {
        let found = formats::lookup(&root, key);
        // HCL repeats blocks that all count (Vault's `retry_join { }` blocks); elsewhere the
        // last value of a key wins
        let nodes: Vec<&formats::Node> = match syntax {
            formats::Syntax::Hcl => found,
            _ => found.last().copied().into_iter().collect(),
        };
        let (Some(first), Some(last)) = (nodes.first(), nodes.last()) else {
            continue;
        };
        let span = first.span().start..last.span().end;
        let items = nodes
            .iter()
            .map(|n| items_of(n).filter(|_| !n.has_unknown()))
            .collect::<Option<Vec<_>>>()
            .map(|l| l.into_iter().flatten().collect::<Vec<_>>());
        let joined = items.as_ref().map(|items| {
            items
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        });
        let value = joined.as_ref().and_then(|j| {
            if j.contains('$') {
                shell_expand(j, env, ns).filter(|v| !v.contains('$'))
            } else {
                Some(j.clone())
            }
        });
        let mut s = make(key);
        s.written = joined.unwrap_or_else(|| text.get(span).unwrap_or_default().to_string());
        s.value = value;
        s.structured = items.map(|items| Structured {
            text: shared.clone(),
            items,
        });
        out.push(s);
    }
}

/// Whether the container names a config file through one of `names` (a flag in its
/// command/args or script, an env var), whether or not statelint can read that file.
pub fn names_config_file(c: &Container, names: &[&str]) -> bool {
    if names.is_empty() {
        return false;
    }
    c.env
        .iter()
        .flatten()
        .any(|e| names.contains(&e.name.as_str()))
        || c.command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .any(|item| {
                names.iter().filter(|f| f.starts_with('-')).any(|flag| {
                    item == flag
                        || item.contains(flag) && !find_in_text(item, flag, true).is_empty()
                })
            })
}

/// The paths `flags` (`--config-file`) and env vars (`ETCD_CONFIG_FILE`) name, expanded.
fn config_file_paths(
    c: &Container,
    cptr: &str,
    env_list: &EnvList<'_>,
    ns: &str,
    names: &[&str],
) -> Vec<String> {
    let mut out: Vec<String> = env_list
        .iter()
        .filter(|(_, e, _)| names.contains(&e.name.as_str()))
        .filter_map(|(_, _, v)| v.clone())
        .collect();
    let env = container_env(c.env.as_deref().unwrap_or_default(), ns).0;
    let argv = argv(c, cptr);
    for (i, (_, item)) in argv.iter().enumerate() {
        for flag in names.iter().filter(|f| f.starts_with('-')) {
            if *item == *flag {
                if let Some((_, next)) = argv.get(i + 1) {
                    out.extend(k8s_expand(next, &env, ns));
                }
                continue;
            }
            if !item.contains(flag) {
                continue;
            }
            for (_, _, v) in find_in_text(item, flag, true) {
                out.extend(k8s_expand(&v, &env, ns));
            }
        }
    }
    out.retain(|p| p.starts_with('/') && !p.contains('$'));
    out
}

/// The words a container's `sed` commands replace (`sed -i "s|HOSTNAME|${HOSTNAME}|g" f`, as
/// vault-helm does with its config file before it starts): values holding one are not known.
/// The JSON pointer of a ConfigMap's `data` key.
fn data_pointer(key: &str) -> String {
    format!("/data/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn sed_tokens(c: &Container) -> Vec<String> {
    let mut out = Vec::new();
    for item in c.command.iter().flatten().chain(c.args.iter().flatten()) {
        if !item.contains("sed ") {
            continue;
        }
        for sep in ["s|", "s/", "s#"] {
            let close = &sep[1..];
            let mut rest = item.as_str();
            while let Some(i) = rest.find(sep) {
                rest = &rest[i + 2..];
                let Some(j) = rest.find(close) else { break };
                let word = &rest[..j];
                if !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && out.len() < MAX_SETTINGS
                {
                    out.push(word.to_string());
                }
            }
        }
    }
    out
}

/// Every setting `want` asks for in one container (`cptr` is its pointer in the object).
pub fn read(
    c: &Container,
    cptr: &str,
    spec: &PodSpec,
    ns: &str,
    companions: &dyn Companions,
    want: &Want<'_>,
) -> Vec<Setting> {
    let mut out = Vec::new();
    // most containers set nothing: decide that without allocating
    let in_argv = c
        .command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .any(|s| {
            want.properties
                .iter()
                .chain(want.flags)
                .any(|k| s.contains(k.trim_end_matches('*')))
        });
    let in_env = c
        .env
        .iter()
        .flatten()
        .any(|e| want.env.contains(&e.name.as_str()));
    let mounts_config_maps = c.volume_mounts.iter().flatten().any(|m| {
        spec.volumes
            .iter()
            .flatten()
            .any(|v| v.name == m.name && v.config_map.is_some())
    });
    let config_maps = !want.files.is_empty() && mounts_config_maps;
    // a config file named by a flag or env var, mounted from a ConfigMap
    let config_files = !want.config_files.is_empty()
        && mounts_config_maps
        && (c
            .env
            .iter()
            .flatten()
            .any(|e| want.config_files.contains(&e.name.as_str()))
            || c.command
                .iter()
                .flatten()
                .chain(c.args.iter().flatten())
                .any(|s| want.config_files.iter().any(|f| s.contains(f))));
    let config_env = c
        .env
        .iter()
        .flatten()
        .any(|e| want.config_env.contains(&e.name.as_str()));
    // `envFrom` ConfigMaps: their data keys become env vars (Pulsar's charts configure this way)
    let env_from = !want.env.is_empty()
        && c.env_from
            .iter()
            .flatten()
            .any(|f| f.config_map_ref.is_some());
    if !in_argv && !in_env && !config_maps && !env_from && !config_files && !config_env {
        return out;
    }
    let vars = c.env.as_deref().unwrap_or_default();
    // only env vars to read, none of which needs expanding (no `$`, no `valueFrom` before
    // them): their values are as written, and no env map is needed
    if in_env
        && !in_argv
        && !config_maps
        && !env_from
        && !config_files
        && !config_env
        && vars
            .iter()
            .all(|e| e.value_from.is_none() && !e.value.as_deref().unwrap_or("").contains('$'))
    {
        for (i, e) in vars.iter().enumerate() {
            if let Some(written) = &e.value
                && want.env.contains(&e.name.as_str())
            {
                out.push(env_setting(
                    c,
                    cptr,
                    i,
                    e,
                    written.clone(),
                    Some(written.clone()),
                ));
            }
        }
        return out;
    }
    let (env, env_list) = container_env(vars, ns);
    if in_argv {
        let argv = argv(c, cptr);
        let shell = argv.first().is_some_and(|(_, s)| is_shell(s));
        // no `command`: the image's entrypoint runs the args, and may hand them to a shell
        // (CockroachDB's `args: [shell, -ecx, SCRIPT]`, entrypoints that `exec "$@"`)
        let entrypoint = c.command.as_ref().is_none_or(Vec::is_empty);
        for (i, (ptr, item)) in argv.iter().enumerate() {
            let script = i >= 1
                && if shell {
                    i >= 2 && argv[i - 1].1.starts_with('-') && argv[i - 1].1.contains('c')
                } else {
                    entrypoint && is_shell_c_flag(argv[i - 1].1)
                };
            let keys = want
                .properties
                .iter()
                .map(|k| (k, false))
                .chain(want.flags.iter().map(|k| (k, true)));
            let mut vars = None;
            for (key, flag) in keys {
                if !item.contains(key.trim_end_matches('*')) {
                    continue;
                }
                let mut found = if script {
                    find_in_text(item, key, flag)
                } else {
                    find_in_arg(item, key, flag)
                };
                // a flag as its own argv item, its value the next item: `--initial-cluster`, `v`
                if flag && !script && *item == *key {
                    if let Some((nptr, next)) = argv.get(i + 1) {
                        let value = k8s_expand(next, &env, ns);
                        out.push(Setting {
                            key: key.to_string(),
                            form: Form::Argv,
                            pointer: nptr.clone(),
                            config_map: None,
                            source: format!("`{key}`"),
                            container: c.name.clone(),
                            written: next.to_string(),
                            value,
                            script: None,
                            structured: None,
                            needles: Vec::new(),
                        });
                    }
                    found.clear();
                }
                for (k, _, written) in found {
                    let value = k8s_expand(&written, &env, ns).and_then(|v| {
                        if script {
                            let vars = vars.get_or_insert_with(|| script_vars(item, &env, ns));
                            shell_expand(&v, vars, ns)
                                // a script that sources files or evals text may define any
                                // variable: one it does not visibly define is unknown, not a
                                // placeholder
                                .filter(|v| !(v.contains("${") && sources_files(item)))
                        } else {
                            Some(v)
                        }
                    });
                    let overrides =
                        item.contains("--override") || argv[i.saturating_sub(1)].1 == "--override";
                    let what = if overrides && !flag {
                        format!("`--override {k}`")
                    } else {
                        format!("`{k}`")
                    };
                    let place = if script { " in its shell script" } else { "" };
                    out.push(Setting {
                        key: k,
                        form: if script { Form::Script } else { Form::Argv },
                        pointer: ptr.clone(),
                        config_map: None,
                        source: format!("{what}{place}"),
                        container: c.name.clone(),
                        written,
                        value,
                        script: script.then(|| item.to_string()),
                        structured: None,
                        needles: Vec::new(),
                    });
                }
            }
        }
    }
    for (i, e, expanded) in &env_list {
        if !want.env.contains(&e.name.as_str()) {
            continue;
        }
        let Some(written) = e.value.clone() else {
            continue;
        };
        out.push(env_setting(c, cptr, *i, e, written, expanded.clone()));
    }
    if env_from {
        for from in c.env_from.iter().flatten() {
            let Some(cm) = from
                .config_map_ref
                .as_ref()
                .and_then(|r| companions.config_map(ns, &r.name))
            else {
                continue;
            };
            let Some(data) = cm.config_map().and_then(|m| m.data.as_ref()) else {
                continue;
            };
            let prefix = from.prefix.as_deref().unwrap_or("");
            for (k, v) in data {
                let var = format!("{prefix}{k}");
                // an explicit `env` entry of the same name wins over envFrom
                if !want.env.contains(&var.as_str()) || env.contains_key(&var) {
                    continue;
                }
                out.push(Setting {
                    key: var.clone(),
                    form: Form::Env,
                    pointer: data_pointer(k),
                    config_map: Some(cm.clone()),
                    source: format!("env {var} (envFrom ConfigMap {})", cm.key.name),
                    container: c.name.clone(),
                    written: v.clone(),
                    value: Some(v.clone()),
                    script: None,
                    structured: None,
                    needles: Vec::new(),
                });
            }
        }
    }
    let mut files = if config_maps {
        mounted_files(c, spec, ns, want.files, companions)
    } else {
        Vec::new()
    };
    if config_files {
        for path in config_file_paths(c, cptr, &env_list, ns, want.config_files) {
            if let Some(found) = file_at(c, spec, ns, &path, companions)
                && !files
                    .iter()
                    .any(|(o, k)| o.key == found.0.key && *k == found.1)
            {
                files.push(found);
            }
        }
    }
    let mut substituted = None;
    for (cm, file) in files {
        let Some(text) = cm
            .config_map()
            .and_then(|m| m.data.as_ref())
            .and_then(|d| d.get(&file))
        else {
            continue;
        };
        let pointer = data_pointer(&file);
        let make = |k: &str| Setting {
            key: k.to_string(),
            form: Form::ConfigMap,
            pointer: pointer.clone(),
            config_map: Some(cm.clone()),
            source: format!("`{k}` in ConfigMap {} ({file})", cm.key.name),
            container: c.name.clone(),
            written: String::new(),
            value: None,
            script: None,
            structured: None,
            needles: Vec::new(),
        };
        if let Some(syntax) = formats::syntax_of(&file) {
            if syntax == formats::Syntax::Xml && want.properties.iter().any(|k| k.starts_with('<'))
            {
                let Some(root) = formats::parse(syntax, text) else {
                    continue;
                };
                for &key in want.properties {
                    for f in formats::clickhouse::lists(&root, text, key, &env, ns) {
                        let mut s = make(&f.key);
                        s.written = f.written;
                        s.value = f.value;
                        s.needles = f.needles;
                        out.push(s);
                    }
                }
                continue;
            }
            let before = out.len();
            read_structured(syntax, text, want, &env, ns, &make, &mut out);
            // the container's script rewrites these words in its copy of the file
            let substituted = substituted.get_or_insert_with(|| sed_tokens(c));
            for s in &mut out[before..] {
                if s.value
                    .as_ref()
                    .is_some_and(|v| substituted.iter().any(|t| v.contains(t.as_str())))
                {
                    s.value = None;
                }
            }
            continue;
        }
        let props = properties(text);
        for &key in want.properties {
            // the last one wins, as in java.util.Properties; each `server.N` is its own key
            let mut last: Vec<(&str, &str)> = Vec::new();
            for (k, v) in props.iter().filter(|(k, _)| key_matches(key, k)) {
                match last.iter_mut().find(|(lk, _)| lk == k) {
                    Some(slot) => slot.1 = v,
                    None => last.push((k, v)),
                }
            }
            for (k, v) in last {
                let mut s = make(k);
                s.value = Some(v.to_string());
                s.written = v.to_string();
                out.push(s);
            }
        }
    }
    if config_env {
        for (i, e, expanded) in &env_list {
            if !want.config_env.contains(&e.name.as_str()) {
                continue;
            }
            let (Some(written), Some(expanded)) = (&e.value, expanded) else {
                continue;
            };
            let name = &e.name;
            let make = |k: &str| Setting {
                key: k.to_string(),
                form: Form::Env,
                pointer: format!("{cptr}/env/{i}/value"),
                config_map: None,
                source: format!("`{k}` in env {name}"),
                container: c.name.clone(),
                written: String::new(),
                value: None,
                script: None,
                structured: None,
                needles: Vec::new(),
            };
            // spans in the text as written, when expansion left it alone
            let text = if written == expanded {
                written
            } else {
                expanded
            };
            read_structured(formats::Syntax::Json, text, want, &env, ns, &make, &mut out);
        }
    }
    out
}

/// The setting env var `e` (item `i` of container `c` at `cptr`) holds.
fn env_setting(
    c: &Container,
    cptr: &str,
    i: usize,
    e: &EnvVar,
    written: String,
    value: Option<String>,
) -> Setting {
    let mut pointer = String::with_capacity(cptr.len() + 16);
    pointer.push_str(cptr);
    pointer.push_str("/env/");
    crate::pod::push_index(&mut pointer, i);
    pointer.push_str("/value");
    Setting {
        key: e.name.clone(),
        form: Form::Env,
        pointer,
        config_map: None,
        source: ["env ", e.name.as_str()].concat(),
        container: c.name.clone(),
        written,
        value,
        script: None,
        structured: None,
        needles: Vec::new(),
    }
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

    fn values(s: &str, key: &str) -> Vec<String> {
        find_in_text(s, key, false)
            .into_iter()
            .map(|(_, _, v)| v)
            .collect()
    }

    #[test]
    fn semicolons_end_values_only_where_a_shell_reads_them() {
        let k = "metadataServiceUri";
        let uri = "zk+hierarchical://zk-0.zk:2181;zk-1.zk:2181/ledgers";
        let arg = format!("{k}={uri}");
        // an argv item: no shell, the `;` belongs to the value
        assert_eq!(find_in_arg(&arg, k, false)[0].2, uri);
        // a script: unquoted, `;` ends the command; inside the quote the key is in, it does not
        assert_eq!(values(&arg, k), ["zk+hierarchical://zk-0.zk:2181"]);
        let script = format!("echo \"{arg}\" >> conf/bookkeeper.conf; exec bin/bookkeeper bookie");
        assert_eq!(values(&script, k), [uri]);
        let script = format!("echo \"{k}=a:1\";echo x | tee f && (echo \"{k}=b:2\")");
        assert_eq!(values(&script, k), ["a:1", "b:2"]);
    }

    #[test]
    fn finds_values_in_scripts_and_args() {
        let k = "zookeeper.connect";
        let script = "exec kafka-server-start.sh /x --override broker.id=1 \\\n  --override zookeeper.connect=zk-0.zk:2181,zk-1.zk:2181 \\\n  --override log.dirs=/d";
        let v = find_in_text(script, k, false);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].2, "zk-0.zk:2181,zk-1.zk:2181");
        assert_eq!(&script[v[0].1..v[0].1 + 12], "zk-0.zk:2181");
        assert_eq!(values("zookeeper.connect=a:1", k), ["a:1"]);
        assert_eq!(
            values("--override zookeeper.connect=\"a:1,b:2\"", k),
            ["a:1,b:2"]
        );
        assert_eq!(values("-Dzookeeper.connect=a:1;echo", k), ["a:1"]);
        assert_eq!(
            values(
                "elasticsearch -Ecluster.initial_master_nodes=es-0,es-1 -Enode.name=x",
                "cluster.initial_master_nodes"
            ),
            ["es-0,es-1"]
        );
        assert!(values("-Xzookeeper.connect=a:1", k).is_empty());
        assert!(values("zookeeper.connection.timeout.ms=6000", k).is_empty());
        assert!(values("# zookeeper.connect=old:1\necho", k).is_empty());
        assert!(values("xzookeeper.connect=a:1", k).is_empty());
        assert_eq!(
            values("zookeeper.connect=zk-0.zk.$(POD_NAMESPACE).svc:2181 --x", k),
            ["zk-0.zk.$(POD_NAMESPACE).svc:2181"]
        );
        assert_eq!(
            values(
                "zookeeper.connect=zk-0.zk.{{ .Release.Namespace }}:2181 \\\n",
                k
            ),
            ["zk-0.zk.{{ .Release.Namespace }}:2181"]
        );
        assert_eq!(values("$(echo zookeeper.connect=a:1)", k), ["a:1"]);
        // the key inside a quoted word: its closing quote ends the value
        assert_eq!(
            values(
                "--override \"zookeeper.connect=a:1,b:2\" \\\n  --override 'log.dirs=/d'",
                k
            ),
            ["a:1,b:2"]
        );
        let v: Vec<_> = find_in_text(
            "{\n  echo \"server.1=zk-0.zk:2888:3888\"\n  echo 'server.2=zk-1.zk:2888:3888'\n} > zoo.cfg\necho \"$((${HOSTNAME##*-}+1))\" > myid",
            "server.*",
            false,
        )
        .into_iter()
        .map(|(k, _, v)| format!("{k}={v}"))
        .collect();
        assert_eq!(
            v,
            ["server.1=zk-0.zk:2888:3888", "server.2=zk-1.zk:2888:3888"]
        );
    }

    #[test]
    fn finds_flags_and_wildcard_keys() {
        let s = "etcd --name $(HOSTNAME) --initial-cluster ${PEERS} --initial-cluster-state new";
        let v = find_in_text(s, "--initial-cluster", true);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].2, "${PEERS}");
        let v = find_in_text(
            "--initial-cluster=a=http://a:2380,b=http://b:2380",
            "--initial-cluster",
            true,
        );
        assert_eq!(v[0].2, "a=http://a:2380,b=http://b:2380");
        let v = find_in_text(
            "echo server.1=zk-0.zk:2888:3888 >> zoo.cfg\necho server.2=zk-1.zk:2888:3888",
            "server.*",
            false,
        );
        let keys: Vec<_> = v.iter().map(|(k, _, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            keys,
            [
                ("server.1", "zk-0.zk:2888:3888"),
                ("server.2", "zk-1.zk:2888:3888")
            ]
        );
    }

    #[test]
    fn reads_properties() {
        let p = "# zookeeper.connect=x\nzookeeper.connection.timeout.ms=1\nzookeeper.connect = zk:2181\n";
        let k = "zookeeper.connect";
        assert_eq!(find_in_properties(p, k).as_deref(), Some("zk:2181"));
        assert_eq!(
            find_in_properties("zookeeper.connect: a:1", k).as_deref(),
            Some("a:1")
        );
        assert_eq!(
            find_in_properties("zookeeper.connect a:1", k).as_deref(),
            Some("a:1")
        );
        assert_eq!(
            find_in_properties("zookeeper.connection.timeout.ms=1", k),
            None
        );
        assert_eq!(find_in_properties("a=1\na=2", "a").as_deref(), Some("2"));
        let zoo = "tickTime=2000\nserver.1=pzoo-0.pzoo:2888:3888:participant\nserver.2=zoo-0.zoo:2888:3888\n";
        let servers: Vec<_> = properties(zoo)
            .into_iter()
            .filter(|(k, _)| key_matches("server.*", k))
            .collect();
        assert_eq!(servers.len(), 2);
        assert_eq!(
            servers[0],
            ("server.1", "pzoo-0.pzoo:2888:3888:participant")
        );
    }

    #[test]
    fn kafka_env_conventions() {
        assert_eq!(
            kafka_env_names("controller.quorum.voters"),
            [
                "KAFKA_CFG_CONTROLLER_QUORUM_VOTERS",
                "KAFKA_CONTROLLER_QUORUM_VOTERS"
            ]
        );
        assert_eq!(
            kafka_env_names("node.id"),
            ["KAFKA_CFG_NODE_ID", "KAFKA_NODE_ID"]
        );
        assert_eq!(
            kafka_env_names("a_b.c-d"),
            ["KAFKA_CFG_A_B_C_D", "KAFKA_A__B_C___D"]
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
    fn sourced_variables_are_unknown() {
        assert!(sources_files("x=1\nsource /var/run/etcd/envs\nexec etcd"));
        assert!(sources_files("set -e; . /env.sh && exec etcd"));
        assert!(!sources_files(
            "exec etcd --name ${HOSTNAME} # source of truth"
        ));
    }

    /// The values of `flag` that [`read`] finds in a container given as JSON.
    fn read_flag(container: serde_json::Value, flag: &str) -> Vec<(Form, Option<String>)> {
        let c: Container = serde_json::from_value(container).unwrap();
        let spec = PodSpec {
            containers: vec![c.clone()],
            ..Default::default()
        };
        let want = Want {
            flags: &[flag],
            ..Default::default()
        };
        let companions = crate::catalog::Catalog::default();
        read(&c, "/c", &spec, "db", &companions, &want)
            .into_iter()
            .map(|s| (s.form, s.value))
            .collect()
    }

    #[test]
    fn args_run_by_the_entrypoint_as_a_shell_script() {
        // CockroachDB's chart: no command; the image's entrypoint runs `shell -ecx SCRIPT` with
        // bash, so the env's ${VARS} in the script are expanded
        let env = serde_json::json!([{"name": "STS", "value": "crdb"},
            {"name": "FQDN", "value": "crdb.db.svc.cluster.local"}]);
        let script =
            "exec /cockroach/cockroach start --join=${STS}-0.${FQDN}:26257,${STS}-1.${FQDN}:26257";
        let found = read_flag(
            serde_json::json!({"name": "db", "image": "cockroachdb/cockroach:v25",
                "args": ["shell", "-ecx", script], "env": env}),
            "--join",
        );
        assert_eq!(
            found,
            [(
                Form::Script,
                Some(
                    "crdb-0.crdb.db.svc.cluster.local:26257,crdb-1.crdb.db.svc.cluster.local:26257"
                        .into()
                )
            )]
        );
        // with a command that is not a shell, `-c` is that program's option: not a script
        let found = read_flag(
            serde_json::json!({"name": "db", "image": "x", "command": ["/bin/prog"],
                "args": ["-c", script], "env": env}),
            "--join",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Form::Argv);
        assert!(is_shell_c_flag("-ec") && is_shell_c_flag("-c") && is_shell_c_flag("-euxc"));
        assert!(!is_shell_c_flag("-config") && !is_shell_c_flag("--c") && !is_shell_c_flag("-x"));
    }

    #[test]
    fn script_variables_are_expanded() {
        let e = env(&[("NS", EnvVal::Namespace)]);
        let script = "SVC=zk-hs\nexport DOMAIN=\"$SVC.${NS}.svc\"\nX=$(hostname)\nA=1 cmd\n";
        let vars = script_vars(script, &e, "data");
        assert!(matches!(vars.get("DOMAIN"), Some(EnvVal::Lit(v)) if v == "zk-hs.data.svc"));
        assert!(matches!(vars.get("X"), Some(EnvVal::Unknown)));
        assert!(!vars.contains_key("A"));
        assert_eq!(
            shell_expand("zk-0.${DOMAIN}:2181", &vars, "data").as_deref(),
            Some("zk-0.zk-hs.data.svc:2181")
        );
    }
}

#[cfg(test)]
mod structured_tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::object::FileId;
    use crate::source::limits::Limits;

    /// The objects of `yaml`, the catalog, and the first StatefulSet's first container.
    fn setup(yaml: &str) -> (Catalog, Arc<Object>) {
        let (objects, errors) =
            crate::source::parse_file(FileId(0), yaml, "default", &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        let objects: Vec<Arc<Object>> = objects.into_iter().map(Arc::new).collect();
        let sts = objects
            .iter()
            .find(|o| o.statefulset().is_some())
            .unwrap()
            .clone();
        (Catalog::new(objects), sts)
    }

    fn read_all(yaml: &str, want: &Want<'_>) -> Vec<Setting> {
        let (catalog, sts) = setup(yaml);
        let spec = sts.pod_template().unwrap().spec.as_ref().unwrap();
        let c = &spec.containers[0];
        read(c, "/c", spec, "ns", &catalog, want)
    }

    fn pod(container: &str, volumes: &str, data: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cfg, namespace: ns}}\ndata:\n{data}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: s, namespace: ns}}\nspec:\n  serviceName: s\n  selector: {{matchLabels: {{app: s}}}}\n  template:\n    metadata: {{labels: {{app: s}}}}\n    spec:\n      containers:\n      - name: main\n        image: x\n{container}\n      volumes:\n{volumes}\n"
        )
    }

    const VOL: &str = "      - {name: cfg, configMap: {name: cfg}}";

    #[test]
    fn config_files_by_pattern_and_by_path() {
        let data = "  server.json: '{\"retry_join\": [\"a-0.a\", \"a-1.a\"]}'\n  other.txt: 'retry_join = x'\n  etcd.yml: 'initial-cluster: s-0=http://s-0.s:2380'";
        let mounts = "        volumeMounts: [{name: cfg, mountPath: /etc/app/}]";
        let want = Want {
            files: &["*.json"],
            file_keys: &["retry_join"],
            ..Want::NONE
        };
        let s = read_all(&pod(mounts, VOL, data), &want);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].value.as_deref(), Some("a-0.a,a-1.a"));
        let st = s[0].structured.as_ref().unwrap();
        assert_eq!(&st.text[st.items[1].1.clone()], "\"a-1.a\"");
        // a file named by a flag or env var, through the mount
        let want = Want {
            file_keys: &["initial-cluster"],
            config_files: &["--config-file", "ETCD_CONFIG_FILE"],
            ..Want::NONE
        };
        for how in [
            "        args: [--config-file, /etc/app/etcd.yml]",
            "        args: [--config-file=/etc/app/etcd.yml]",
            "        env: [{name: ETCD_CONFIG_FILE, value: /etc/app/etcd.yml}]",
        ] {
            let c = format!("{how}\n{mounts}");
            let s = read_all(&pod(&c, VOL, data), &want);
            assert_eq!(s.len(), 1, "{how}");
            assert_eq!(s[0].value.as_deref(), Some("s-0=http://s-0.s:2380"));
        }
        // another path, or a subPath mount of another key: nothing
        for c in [
            "        args: [--config-file=/etc/other/etcd.yml]\n        volumeMounts: [{name: cfg, mountPath: /etc/app}]",
            "        args: [--config-file=/etc/app/etcd.yml]\n        volumeMounts: [{name: cfg, mountPath: /etc/app/etcd.yml, subPath: server.json}]",
        ] {
            assert!(read_all(&pod(c, VOL, data), &want).is_empty(), "{c}");
        }
        // a subPath mount of that key, with items renaming it
        let c = "        args: [--config-file=/etc/etcd.yaml]\n        volumeMounts: [{name: cfg, mountPath: /etc/etcd.yaml, subPath: conf.yaml}]";
        let vol = "      - {name: cfg, configMap: {name: cfg, items: [{key: etcd.yml, path: conf.yaml}]}}";
        assert_eq!(read_all(&pod(c, vol, data), &want).len(), 1);
    }

    #[test]
    fn values_that_cannot_be_known() {
        let mounts = "        env: [{name: SEEDS, value: 'e-0.e'}]\n        volumeMounts: [{name: cfg, mountPath: /c}]";
        let want = Want {
            files: &["elasticsearch.yml"],
            properties: &["discovery.seed_hosts"],
            ..Want::NONE
        };
        let value = |yml: &str| {
            let data = format!("  elasticsearch.yml: |\n{}", textwrap(yml));
            read_all(&pod(mounts, VOL, &data), &want)
                .pop()
                .map(|s| s.value)
        };
        assert_eq!(
            value("discovery.seed_hosts: ${SEEDS}"),
            Some(Some("e-0.e".into()))
        );
        assert_eq!(value("discovery.seed_hosts: ${NOPE}"), Some(None));
        assert_eq!(value("a: &x [b]\ndiscovery.seed_hosts: *x"), Some(None));
        assert_eq!(value("discovery.seed_hosts: {a: b}"), Some(None));
        assert_eq!(value("discovery.seed_hosts: [a, [b]]"), Some(None));
        // unreadable file: no setting at all
        assert_eq!(value("discovery.seed_hosts: [a, b"), None);
        assert_eq!(value("other: 1"), None);
    }

    fn textwrap(s: &str) -> String {
        s.lines().map(|l| format!("    {l}\n")).collect()
    }

    #[test]
    fn host_entries_of_structured_lists() {
        let n = formats::parse(
            formats::Syntax::Yaml,
            "- host: {address: a-0.a., port: 33145}\n- {address: a-1.a}\n- a-2.a:1\n",
        )
        .unwrap();
        let items: Vec<String> = items_of(&n).unwrap().into_iter().map(|i| i.0).collect();
        assert_eq!(items, ["a-0.a.", "a-1.a", "a-2.a:1"]);
        let n = formats::parse(formats::Syntax::Yaml, "- host: {port: 1}\n").unwrap();
        assert_eq!(items_of(&n), None);
    }
}

#[cfg(test)]
mod hcl_settings_tests {
    use super::*;

    #[test]
    fn sed_rewritten_words() {
        let c: Container = serde_json::from_value(serde_json::json!({
            "name": "vault",
            "command": ["/bin/sh", "-ec"],
            "args": ["cp /c/x.hcl /tmp/s.hcl;\n[ -n \"${HOSTNAME}\" ] && sed -Ei \"s|HOSTNAME|${HOSTNAME?}|g\" /tmp/s.hcl;\nsed -i 's/POD_IP/1.2.3.4/' /tmp/s.hcl; ls|grep x"]
        }))
        .unwrap();
        assert_eq!(sed_tokens(&c), ["HOSTNAME", "POD_IP"]);
        let plain: Container =
            serde_json::from_value(serde_json::json!({"name": "v", "args": ["s|A|b|"]})).unwrap();
        assert!(sed_tokens(&plain).is_empty());
    }

    #[test]
    fn repeated_hcl_blocks_all_count() {
        let text = "storage \"raft\" {\n  retry_join { leader_api_addr = \"http://v-0.v:8200\" }\n  retry_join { leader_api_addr = \"http://v-1.v:8200\" }\n}\n";
        let want = Want {
            file_keys: &["storage.raft.retry_join.leader_api_addr"],
            ..Want::NONE
        };
        let make = |k: &str| Setting {
            key: k.to_string(),
            form: Form::ConfigMap,
            pointer: String::new(),
            config_map: None,
            source: String::new(),
            container: String::new(),
            written: String::new(),
            value: None,
            script: None,
            structured: None,
            needles: Vec::new(),
        };
        let mut out = Vec::new();
        read_structured(
            formats::Syntax::Hcl,
            text,
            &want,
            &Env::new(),
            "ns",
            &make,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].value.as_deref(),
            Some("http://v-0.v:8200,http://v-1.v:8200")
        );
        // an interpolation in one block: the list is unknown
        let text = text.replace("v-1.v", "${x}");
        let mut out = Vec::new();
        read_structured(
            formats::Syntax::Hcl,
            &text,
            &want,
            &Env::new(),
            "ns",
            &make,
            &mut out,
        );
        assert_eq!(out[0].value, None);
    }
}
