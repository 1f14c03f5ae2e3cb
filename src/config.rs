//! `.statelint.yaml`: which rules run, at which severity, with which options.
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
//! render:                              # Helm charts and Kustomize folders (source::render)
//!   charts:
//!     deploy/zookeeper: {release: zk, namespace: data, values: [prod.yaml]}
//! ```
//!
//! The configuration knows no rule. It keeps severities, `disable` and `--select`/`--ignore`,
//! and hands each rule's remaining options, raw, to a [`RuleSet`] (the rule registry), which
//! resolves rule names and lets each rule parse its own typed options struct
//! ([`parse_options`]: serde with `deny_unknown_fields`). Every unknown key, unknown rule and
//! bad value is an error that points at the offending line; all of them are reported, in file
//! order.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{DeserializeOwned, Visitor};
use serde_json::Value;

use crate::severity::Severity;
use crate::source::Limits;
use crate::source::yaml;

/// File name looked up from the working folder upwards.
pub const FILE_NAME: &str = ".statelint.yaml";

/// A rule's parsed options, as its [`RuleSet`] returned them (the rule downcasts them with
/// [`Config::options`]).
pub type Options = Arc<dyn Any + Send + Sync>;

/// A rule's name, as the registry resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleName {
    pub code: &'static str,
    pub slug: &'static str,
}

/// What the configuration needs to know about rules, supplied by the rule registry (`Registry`
/// in the rules module, which this module does not import).
pub trait RuleSet {
    /// The rule called `name`: its code (any case) or its slug.
    fn resolve(&self, name: &str) -> Option<RuleName>;
    /// Every rule (for "did you mean").
    fn names(&self) -> Vec<RuleName>;
    /// Parse the options of rule `code`: `raw` is the rule's mapping without `severity`.
    /// `Ok(None)`: nothing to keep (the rule's defaults apply).
    fn parse_options(
        &self,
        code: &'static str,
        raw: &Value,
    ) -> Result<Option<Options>, Vec<OptionError>>;
}

/// Something wrong in a rule's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// An option the rule does not have; `options` are those it has.
    Unknown {
        key: String,
        options: &'static [&'static str],
    },
    /// A bad value at `pointer` (below the rule's mapping).
    Invalid { pointer: String, message: String },
}

#[derive(Clone, Default)]
pub struct Config {
    /// The file this came from, if any.
    pub path: Option<PathBuf>,
    severities: HashMap<&'static str, Severity>,
    disabled: HashSet<&'static str>,
    /// `--select`: when set, only these rules run.
    selected: Option<HashSet<&'static str>>,
    /// Parsed options by rule code.
    options: HashMap<&'static str, Options>,
    /// `render`: how Helm charts and Kustomize folders are rendered (not a rule option; with
    /// `--values`/`--set` from the command line).
    pub render: crate::source::render::RenderConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("severities", &self.severities)
            .field("disabled", &self.disabled)
            .field("selected", &self.selected)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .field("render", &self.render)
            .finish()
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

/// Every error of a config file, in file order (never empty).
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\nerror: ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Whether [`Self::is_enabled`] holds for every rule (nothing disabled, no `--select`).
    pub fn enables_every_rule(&self) -> bool {
        self.disabled.is_empty() && self.selected.is_none()
    }

    pub fn is_enabled(&self, code: &str) -> bool {
        !self.disabled.contains(code) && self.selected.as_ref().is_none_or(|s| s.contains(code))
    }

    pub fn severity_override(&self, code: &str) -> Option<Severity> {
        self.severities.get(code).copied()
    }

    /// The options of rule `code`, when the config gave any.
    pub fn options<T: Any>(&self, code: &str) -> Option<&T> {
        self.options.get(code)?.downcast_ref()
    }

    /// Set the options of rule `code` (tests, embedders).
    pub fn set_options<T: Any + Send + Sync>(&mut self, code: &'static str, options: T) {
        self.options.insert(code, Arc::new(options));
    }

    /// Run only those of the enabled rules that are among `codes`.
    pub fn restrict_to(&mut self, codes: &[&'static str]) {
        let keep: HashSet<&'static str> = codes
            .iter()
            .copied()
            .filter(|c| self.is_enabled(c))
            .collect();
        self.selected = Some(keep);
    }

    /// `--select`: run only these rules (codes or slugs).
    pub fn select(&mut self, names: &[String], rules: &dyn RuleSet) -> Result<(), String> {
        let mut set = HashSet::new();
        for n in names.iter().flat_map(|n| n.split(',')) {
            set.insert(resolve_rule(n.trim(), rules)?.code);
        }
        self.selected = Some(set);
        Ok(())
    }

    /// `--ignore`: never run these rules.
    pub fn ignore(&mut self, names: &[String], rules: &dyn RuleSet) -> Result<(), String> {
        for n in names.iter().flat_map(|n| n.split(',')) {
            self.disabled.insert(resolve_rule(n.trim(), rules)?.code);
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
    pub fn load(path: &Path, rules: &dyn RuleSet) -> Result<Config, ConfigErrors> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: name.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read config: {e}"),
            }])
        })?;
        let mut c = Config::parse(&name, &text, rules)?;
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parse config text; `file` names it in errors.
    pub fn parse(file: &str, text: &str, rules: &dyn RuleSet) -> Result<Config, ConfigErrors> {
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
            return Err(ConfigErrors(vec![at(e.at.start, e.message)]));
        }
        let mut config = Config::default();
        let Some(doc) = docs.into_iter().find(|d| !d.value.is_null()) else {
            return Ok(config);
        };
        let spans = &doc.spans;
        let mut errors: Vec<(u32, String)> = Vec::new();
        let mut fail = |ptr: &str, key: bool, msg: String| {
            let byte = spans
                .nearest(ptr)
                .map(|(_, s)| {
                    if key {
                        s.key.unwrap_or(s.value).start
                    } else {
                        s.value.start
                    }
                })
                .unwrap_or(0);
            errors.push((byte, msg));
        };
        let Value::Object(top) = &doc.value else {
            fail(
                "",
                false,
                "the config must be a mapping with `rules`, `disable` and `render`".into(),
            );
            return Err(config_errors(errors, at));
        };
        for (k, v) in top {
            let ptr = pointer(&[k]);
            match k.as_str() {
                "rules" => {
                    let Value::Object(rules_map) = v else {
                        fail(
                            &ptr,
                            false,
                            "`rules` must be a mapping of rule slug or code to options".into(),
                        );
                        continue;
                    };
                    for (rname, opts) in rules_map {
                        let rptr = pointer(&["rules", rname]);
                        match resolve_rule(rname, rules) {
                            Ok(name) => config.rule_options(name, opts, &rptr, rules, &mut fail),
                            Err(m) => fail(&rptr, true, m),
                        }
                    }
                }
                "disable" => match string_list(v) {
                    Ok(names) => {
                        for (i, name) in names.iter().enumerate() {
                            match resolve_rule(name, rules) {
                                Ok(r) => {
                                    config.disabled.insert(r.code);
                                }
                                Err(m) => fail(&format!("{ptr}/{i}"), false, m),
                            }
                        }
                    }
                    Err(m) => fail(&ptr, false, format!("`disable`: {m}")),
                },
                "render" => match crate::source::render::RenderConfig::from_value(v) {
                    Ok(mut render) => {
                        // paths in the file are relative to the file
                        render.base = Some(
                            Path::new(file)
                                .parent()
                                .filter(|p| !p.as_os_str().is_empty())
                                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                        );
                        match render.validate() {
                            Ok(()) => config.render = render,
                            Err((p, m)) => fail(&p, true, m),
                        }
                    }
                    Err((p, key, m)) => fail(&p, key, m),
                },
                other => fail(
                    &ptr,
                    true,
                    format!(
                        "unknown key `{other}`{} (expected `rules`, `disable` or `render`)",
                        suggest(did_you_mean(other, ["rules", "disable", "render"]))
                    ),
                ),
            }
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(config_errors(errors, at))
        }
    }

    fn rule_options(
        &mut self,
        rule: RuleName,
        opts: &Value,
        rptr: &str,
        rules: &dyn RuleSet,
        fail: &mut dyn FnMut(&str, bool, String),
    ) {
        let Value::Object(opts) = opts else {
            if !opts.is_null() {
                fail(
                    rptr,
                    false,
                    format!("options of `{}` must be a mapping", rule.slug),
                );
            }
            return;
        };
        let mut rest = opts.clone();
        if let Some(v) = rest.remove("severity") {
            let ptr = format!("{rptr}/severity");
            match v.as_str().map(str::parse::<Severity>) {
                Some(Ok(s)) => {
                    self.severities.insert(rule.code, s);
                }
                Some(Err(m)) => fail(&ptr, false, format!("`severity`: {m}")),
                None => fail(
                    &ptr,
                    false,
                    "`severity`: expected `error` or `warning`".into(),
                ),
            }
        }
        match rules.parse_options(rule.code, &Value::Object(rest)) {
            Ok(Some(o)) => {
                self.options.insert(rule.code, o);
            }
            Ok(None) => {}
            Err(errors) => {
                for e in errors {
                    match e {
                        OptionError::Unknown { key, options } => {
                            let mut all = vec!["severity"];
                            all.extend_from_slice(options);
                            fail(
                                &format!("{rptr}/{}", escape(&key)),
                                true,
                                format!(
                                    "unknown option `{key}` for rule {} {}{} (options: {})",
                                    rule.code,
                                    rule.slug,
                                    suggest(did_you_mean(&key, all.iter().copied())),
                                    all.join(", ")
                                ),
                            );
                        }
                        OptionError::Invalid { pointer, message } => {
                            fail(&format!("{rptr}{pointer}"), false, message)
                        }
                    }
                }
            }
        }
    }
}

fn config_errors(
    mut errors: Vec<(u32, String)>,
    at: impl Fn(u32, String) -> ConfigError,
) -> ConfigErrors {
    errors.sort_by_key(|(byte, _)| *byte);
    ConfigErrors(errors.into_iter().map(|(b, m)| at(b, m)).collect())
}

/// The rule called `name`, or "unknown rule" with the closest code or slug.
pub fn resolve_rule(name: &str, rules: &dyn RuleSet) -> Result<RuleName, String> {
    rules.resolve(name).ok_or_else(|| {
        let names = rules.names();
        let near = did_you_mean(name, names.iter().flat_map(|r| [r.code, r.slug]));
        format!(
            "unknown rule `{name}`{} (see `statelint rules`)",
            suggest(near)
        )
    })
}

/// The candidate closest to `name` (case-insensitive edit distance), when it is close enough to
/// be a typo of it.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&name, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"`, or nothing.
pub fn suggest(near: Option<&str>) -> String {
    near.map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default()
}

/// Parse a rule's options into its options struct `T` (serde, `deny_unknown_fields`,
/// kebab-case). Every unknown key and bad value is reported, each at its own key.
pub fn parse_options<T: DeserializeOwned>(raw: &Value) -> Result<T, Vec<OptionError>> {
    let fields = field_names::<T>();
    let mut errors = Vec::new();
    if let Value::Object(m) = raw {
        for (k, v) in m {
            if !fields.contains(&k.as_str()) {
                errors.push(OptionError::Unknown {
                    key: k.clone(),
                    options: fields,
                });
                continue;
            }
            // each key alone, so that one bad value does not hide the next
            let one = Value::Object([(k.clone(), v.clone())].into_iter().collect());
            if let Err(e) = serde_path_to_error::deserialize::<_, T>(&one) {
                errors.push(invalid(e));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_path_to_error::deserialize::<_, T>(raw).map_err(|e| vec![invalid(e)])
}

/// [`parse_options`] for a [`RuleSet`]: the options, boxed.
pub fn boxed_options<T: DeserializeOwned + Send + Sync + 'static>(
    raw: &Value,
) -> Result<Option<Options>, Vec<OptionError>> {
    parse_options::<T>(raw).map(|o| Some(Arc::new(o) as Options))
}

fn invalid(e: serde_path_to_error::Error<serde_json::Error>) -> OptionError {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for seg in e.path().iter() {
        match seg {
            Segment::Seq { index } => yaml::push_segment(&mut pointer, &index.to_string()),
            Segment::Map { key } => yaml::push_segment(&mut pointer, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let first = e.path().iter().next().map(ToString::to_string);
    let message = match first {
        Some(k) => format!("`{k}`: {}", e.inner()),
        None => e.inner().to_string(),
    };
    OptionError::Invalid { pointer, message }
}

/// The field names of a `#[derive(Deserialize)]` struct.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::Error;
    type E = serde::de::value::Error;
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = E;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, E> {
            Err(E::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, E> {
            *self.0 = fields;
            Err(E::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// A list of strings, or one string standing for a list of one (`storage-classes: fast`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl<'de> serde::Deserialize<'de> for StringList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<StringList, E> {
                Ok(StringList(vec![s.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
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
    for s in segs {
        yaml::push_segment(&mut p, s);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule set of two rules, one with options: the configuration without the real rules.
    struct Two;

    #[derive(serde::Deserialize, Debug, Default, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Opts {
        #[serde(default)]
        storage_classes: Option<StringList>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Preferred,
        Required,
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoOptions {}

    const A: RuleName = RuleName {
        code: "SL101",
        slug: "with-options",
    };
    const B: RuleName = RuleName {
        code: "SL102",
        slug: "without-options",
    };

    impl RuleSet for Two {
        fn resolve(&self, name: &str) -> Option<RuleName> {
            [A, B]
                .into_iter()
                .find(|r| r.code.eq_ignore_ascii_case(name) || r.slug == name)
        }
        fn names(&self) -> Vec<RuleName> {
            vec![A, B]
        }
        fn parse_options(
            &self,
            code: &'static str,
            raw: &Value,
        ) -> Result<Option<Options>, Vec<OptionError>> {
            if code == A.code {
                boxed_options::<Opts>(raw)
            } else {
                parse_options::<NoOptions>(raw).map(|_| None)
            }
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        Config::parse("c.yaml", text, &Two)
    }

    fn first(text: &str) -> ConfigError {
        parse(text).unwrap_err().0.remove(0)
    }

    #[test]
    fn options_are_read() {
        let c = parse(
            "rules:\n  with-options:\n    storage-classes: [glusterfs-storage]\n    mode: required\n  SL102:\n    severity: warning\ndisable: [with-options]\n",
        )
        .unwrap();
        let o = c.options::<Opts>("SL101").unwrap();
        assert_eq!(
            o.storage_classes,
            Some(StringList(vec!["glusterfs-storage".to_string()]))
        );
        assert_eq!(o.mode, Some(Mode::Required));
        assert!(!c.is_enabled("SL101"));
        assert!(c.is_enabled("SL102"));
        assert_eq!(c.severity_override("SL102"), Some(Severity::Warning));
        assert!(c.options::<Opts>("SL102").is_none());
    }

    #[test]
    fn unknown_key_points_at_the_key() {
        let e = first("rules:\n  without-options:\n    storage-classes: [x]\n");
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        assert!(
            e.message
                .contains("unknown option `storage-classes` for rule SL102 without-options (options: severity)"),
            "{e}"
        );
        let e = first("rules:\n  SL101:\n    storage-class: [x]\n");
        assert!(
            e.message
                .contains("(options: severity, storage-classes, mode)"),
            "{e}"
        );
        let e = first("rulez: {}\n");
        assert_eq!((e.line, e.column), (1, 1));
        let e = first("rules:\n  no-such-rule: {}\n");
        assert_eq!((e.line, e.column), (2, 3));
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let e = first("rules:\n  SL101:\n    mode: sometimes\n");
        assert_eq!((e.line, e.column), (3, 11), "{e}");
        assert!(
            e.message.starts_with("`mode`: unknown variant `sometimes`"),
            "{e}"
        );
        let e = first("rules:\n  SL101:\n    storage-classes: [a, 1]\n");
        assert_eq!((e.line, e.column), (3, 26), "{e}");
        let e = first("disable: [SL101, nope]\n");
        assert_eq!((e.line, e.column), (1, 18), "{e}");
        let e = first("rules:\n  SL102: {severity: fatal}\n");
        assert!(e.message.contains("unknown severity `fatal`"), "{e}");
    }

    #[test]
    fn every_error_in_file_order() {
        let e = parse(
            "rules:\n  SL101:\n    mode: sometimes\n    storage-class: x\n  SL102: {severity: fatal}\nzzz: 1\naaa: 2\n",
        )
        .unwrap_err();
        let at: Vec<(usize, usize)> = e.0.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(at, vec![(3, 11), (4, 5), (5, 21), (6, 1), (7, 1)], "{e}");
    }

    #[test]
    fn unknown_names_get_a_did_you_mean() {
        let e = first("rulez: {}\n");
        assert_eq!(
            e.message,
            "unknown key `rulez`; did you mean `rules`? (expected `rules`, `disable` or `render`)"
        );
        let e = first("rules:\n  with-option: {}\n");
        assert!(e.message.contains("did you mean `with-options`?"), "{e}");
        let e = first("disable: [sl10]\n");
        assert!(e.message.contains("did you mean `SL101`?"), "{e}");
        let e = first("rules:\n  SL101:\n    storage-class: [x]\n");
        assert!(e.message.contains("did you mean `storage-classes`?"), "{e}");
        // nothing close: no guess
        let e = first("disable: [quorum]\n");
        assert!(!e.message.contains("did you mean"), "{e}");
        assert_eq!(
            did_you_mean("SL099", ["SL001", "SL009", "SL010"]),
            Some("SL009")
        );
        assert_eq!(did_you_mean("x", ["SL001"]), None);
    }

    #[test]
    fn select_and_ignore_resolve_names() {
        let mut c = Config::default();
        c.select(&["with-options,SL102".into()], &Two).unwrap();
        assert!(c.is_enabled("SL101") && c.is_enabled("SL102"));
        c.ignore(&["sl101".into()], &Two).unwrap();
        assert!(!c.is_enabled("SL101"));
        assert!(c.select(&["SL999".into()], &Two).is_err());
        let mut c = Config::default();
        c.restrict_to(&["SL102"]);
        assert!(!c.is_enabled("SL101") && c.is_enabled("SL102"));
    }
}
