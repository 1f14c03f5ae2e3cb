//! `.statelint.yaml`: per-rule options and severities, disabled rules.
//!
//! ```yaml
//! rules:
//!   volume-claim-storage-class:        # a slug or a code
//!     storage-classes: [glusterfs-storage]
//!   pod-anti-affinity:
//!     require: required                # preferred (default) | required
//!     topology-keys: [kubernetes.io/hostname]
//!   zookeeper-connect:
//!     cluster-domain: cluster.local
//!   SL008:
//!     severity: error                  # error | warning
//! disable: [odd-replicas]
//! ```
//!
//! Unknown keys and bad values are errors that point at the offending line.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::rules::{self, RuleMeta, Severity};
use crate::source::Limits;
use crate::source::yaml::{self, SpanMap};

/// File name looked up from the working folder upwards.
pub const FILE_NAME: &str = ".statelint.yaml";

/// Which anti-affinity terms count for `pod-anti-affinity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Require {
    /// Preferred or required terms both pass.
    #[default]
    Preferred,
    /// Only required terms (or a DoNotSchedule spread constraint) pass.
    Required,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from, if any.
    pub path: Option<PathBuf>,
    severities: HashMap<&'static str, Severity>,
    disabled: HashSet<&'static str>,
    /// `--select`: when set, only these rules run.
    selected: Option<HashSet<&'static str>>,
    /// SL004 `storage-classes`: allowed classes; `None` allows any non-empty class.
    pub storage_classes: Option<Vec<String>>,
    /// SL003 `topology-keys`: replaces the default allowed keys.
    pub topology_keys: Option<Vec<String>>,
    /// SL003 `require`.
    pub require: Require,
    /// SL005 `cluster-domain`.
    pub cluster_domain: String,
    /// `render`: how Helm charts and Kustomize folders are rendered (plus `--values`/`--set`).
    pub render: crate::source::render::RenderConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            severities: HashMap::new(),
            disabled: HashSet::new(),
            selected: None,
            storage_classes: None,
            topology_keys: None,
            require: Require::Preferred,
            cluster_domain: "cluster.local".into(),
            render: Default::default(),
        }
    }
}

/// A configuration error at a position in the config file.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn is_enabled(&self, rule: &RuleMeta) -> bool {
        !self.disabled.contains(rule.code)
            && self.selected.as_ref().is_none_or(|s| s.contains(rule.code))
    }

    pub fn severity_override(&self, rule: &RuleMeta) -> Option<Severity> {
        self.severities.get(rule.code).copied()
    }

    /// `--select`: run only these rules (codes or slugs).
    pub fn select(&mut self, names: &[String]) -> Result<(), String> {
        let mut set = HashSet::new();
        for n in names.iter().flat_map(|n| n.split(',')) {
            set.insert(resolve_rule(n.trim())?.code);
        }
        self.selected = Some(set);
        Ok(())
    }

    /// `--ignore`: never run these rules.
    pub fn ignore(&mut self, names: &[String]) -> Result<(), String> {
        for n in names.iter().flat_map(|n| n.split(',')) {
            self.disabled.insert(resolve_rule(n.trim())?.code);
        }
        Ok(())
    }

    /// Find `.statelint.yaml` in `start` or a parent folder.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let p = d.join(FILE_NAME);
            if p.is_file() {
                return Some(p);
            }
            dir = d.parent();
        }
        None
    }

    /// Load and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read config: {e}"),
        })?;
        let mut c = Config::parse(&name, &text)?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parse config text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let (docs, err) = yaml::load_documents(text, &Limits::default());
        let src = crate::source::SourceFile::new(file.to_string(), text.to_string());
        let at = |byte: u32, message: String| {
            let (line, column) = src.line_col(byte);
            ConfigError {
                file: file.to_string(),
                line,
                column,
                message,
            }
        };
        if let Some(e) = err {
            return Err(at(e.at.start, e.message));
        }
        let mut config = Config::default();
        let Some(doc) = docs.into_iter().find(|d| !d.value.is_null()) else {
            return Ok(config);
        };
        let spans = &doc.spans;
        let pos = |ptr: &str, key: bool| -> u32 {
            spans
                .nearest(ptr)
                .map(|(_, s)| {
                    if key {
                        s.key.unwrap_or(s.value).start
                    } else {
                        s.value.start
                    }
                })
                .unwrap_or(0)
        };
        let fail = |ptr: &str, key: bool, msg: String| Err(at(pos(ptr, key), msg));
        let Value::Object(top) = &doc.value else {
            return fail(
                "",
                false,
                "the config must be a mapping with `rules` and `disable`".into(),
            );
        };
        for (k, v) in top {
            let ptr = pointer(&["", k]);
            match k.as_str() {
                "rules" => {
                    let Value::Object(rules_map) = v else {
                        return fail(
                            &ptr,
                            false,
                            "`rules` must be a mapping of rule slug or code to options".into(),
                        );
                    };
                    for (rname, opts) in rules_map {
                        let rptr = pointer(&["", "rules", rname]);
                        let Ok(meta) = resolve_rule(rname) else {
                            return fail(
                                &rptr,
                                true,
                                format!("unknown rule `{rname}` (see `statelint rules`)"),
                            );
                        };
                        config
                            .rule_options(meta, opts, &rptr, spans)
                            .map_err(|(p, key, m)| at(pos(&p, key), m))?;
                    }
                }
                "disable" => {
                    for (i, name) in string_list(v)
                        .map_err(|m| at(pos(&ptr, false), format!("`disable`: {m}")))?
                        .into_iter()
                        .enumerate()
                    {
                        match resolve_rule(&name) {
                            Ok(meta) => {
                                config.disabled.insert(meta.code);
                            }
                            Err(m) => return fail(&format!("{ptr}/{i}"), false, m),
                        }
                    }
                }
                "render" => {
                    let mut render = crate::source::render::RenderConfig::from_value(v)
                        .map_err(|(p, key, m)| at(pos(&p, key), m))?;
                    // paths in the file are relative to the file
                    render.base = Some(
                        Path::new(file)
                            .parent()
                            .filter(|p| !p.as_os_str().is_empty())
                            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                    );
                    render.validate().map_err(|(p, m)| at(pos(&p, true), m))?;
                    config.render = render;
                }
                other => {
                    return fail(
                        &ptr,
                        true,
                        format!("unknown key `{other}` (expected `rules`, `disable` or `render`)"),
                    );
                }
            }
        }
        Ok(config)
    }

    fn rule_options(
        &mut self,
        meta: &'static RuleMeta,
        opts: &Value,
        rptr: &str,
        _spans: &SpanMap,
    ) -> Result<(), (String, bool, String)> {
        let Value::Object(opts) = opts else {
            if opts.is_null() {
                return Ok(());
            }
            return Err((
                rptr.into(),
                false,
                format!("options of `{}` must be a mapping", meta.slug),
            ));
        };
        let allowed: &[&str] = match meta.code {
            "SL003" => &["severity", "topology-keys", "require"],
            "SL004" => &["severity", "storage-classes"],
            "SL005" => &["severity", "cluster-domain"],
            _ => &["severity"],
        };
        for (k, v) in opts {
            let ptr = format!("{rptr}/{}", escape(k));
            if !allowed.contains(&k.as_str()) {
                return Err((
                    ptr,
                    true,
                    format!(
                        "unknown option `{k}` for rule {} {} (options: {})",
                        meta.code,
                        meta.slug,
                        allowed.join(", ")
                    ),
                ));
            }
            let bad = |m: String| (ptr.clone(), false, format!("`{k}`: {m}"));
            match k.as_str() {
                "severity" => match v.as_str().map(str::parse::<Severity>) {
                    Some(Ok(s)) => {
                        self.severities.insert(meta.code, s);
                    }
                    Some(Err(m)) => return Err(bad(m)),
                    None => return Err(bad("expected `error` or `warning`".into())),
                },
                "storage-classes" => self.storage_classes = Some(string_list(v).map_err(bad)?),
                "topology-keys" => {
                    let keys = string_list(v).map_err(bad)?;
                    if keys.is_empty() {
                        return Err(bad("give at least one topology key".into()));
                    }
                    self.topology_keys = Some(keys);
                }
                "require" => {
                    self.require = match v.as_str() {
                        Some("preferred") => Require::Preferred,
                        Some("required") => Require::Required,
                        _ => return Err(bad("expected `preferred` or `required`".into())),
                    }
                }
                "cluster-domain" => match v.as_str() {
                    Some(d) if !d.is_empty() && !d.contains(['/', ':', ' ']) => {
                        self.cluster_domain = d.trim_matches('.').to_string();
                    }
                    _ => return Err(bad("expected a DNS domain such as cluster.local".into())),
                },
                _ => unreachable!("checked against `allowed`"),
            }
        }
        Ok(())
    }
}

fn resolve_rule(name: &str) -> Result<&'static RuleMeta, String> {
    rules::lookup(name).ok_or_else(|| format!("unknown rule `{name}` (see `statelint rules`)"))
}

fn string_list(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("expected a list of strings, found {other}")),
            })
            .collect(),
        Value::String(s) => Ok(vec![s.clone()]),
        _ => Err("expected a list of strings".into()),
    }
}

fn escape(seg: &str) -> String {
    let mut p = String::new();
    yaml::push_segment(&mut p, seg);
    p[1..].to_string()
}

fn pointer(segs: &[&str]) -> String {
    let mut p = String::new();
    for s in segs.iter().skip(1) {
        yaml::push_segment(&mut p, s);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read() {
        let c = Config::parse(
            "c.yaml",
            "rules:\n  volume-claim-storage-class:\n    storage-classes: [glusterfs-storage]\n  SL003:\n    require: required\n    severity: warning\ndisable: [odd-replicas]\n",
        )
        .unwrap();
        assert_eq!(
            c.storage_classes,
            Some(vec!["glusterfs-storage".to_string()])
        );
        assert_eq!(c.require, Require::Required);
        assert!(!c.is_enabled(rules::lookup("SL009").unwrap()));
        assert_eq!(
            c.severity_override(rules::lookup("pod-anti-affinity").unwrap()),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn unknown_key_points_at_the_key() {
        let e = Config::parse(
            "c.yaml",
            "rules:\n  pdb-quorum:\n    storage-classes: [x]\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(
            e.message.contains("unknown option `storage-classes`"),
            "{e}"
        );
        let e = Config::parse("c.yaml", "rulez: {}\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        let e = Config::parse("c.yaml", "rules:\n  no-such-rule: {}\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let e = Config::parse("c.yaml", "rules:\n  SL003:\n    require: sometimes\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 14), "{e}");
        let e = Config::parse("c.yaml", "disable: [SL001, nope]\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 18), "{e}");
    }
}
