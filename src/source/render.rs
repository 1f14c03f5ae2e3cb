//! Helm charts and Kustomize folders as input.
//!
//! A folder holding `Chart.yaml` is a Helm chart, one holding `kustomization.yaml` (`.yml`,
//! `Kustomization`) a Kustomize folder. Their files are never read as plain YAML: the folder is
//! rendered with the tool users already have (`helm template`, `kustomize build` or
//! `kubectl kustomize`) and the rendered manifests are checked like any other file.
//!
//! Every rendered document remembers the repository file it came from: Helm says it in a
//! `# Source: chart/templates/x.yaml` comment, Kustomize in a `config.kubernetes.io/origin`
//! annotation that statelint asks for (`buildMetadata: [originAnnotations]`, through a wrapper
//! kustomization in a temporary folder, so the user's folder is never written to) and strips
//! again. A finding is reported at that file — at the line where the same key is written there,
//! when it can be found — and carries the rendered line ([`RenderInfo::position`]).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::Limits;
use super::yaml;

/// Which tool renders a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Helm,
    Kustomize,
}

/// File names that make a folder a Kustomize folder (as `kustomize build` looks them up).
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What a folder is: a chart (`Chart.yaml`, which wins), a Kustomize folder, or neither.
pub fn root_kind(dir: &Path) -> Option<Kind> {
    if dir.join("Chart.yaml").is_file() {
        return Some(Kind::Helm);
    }
    KUSTOMIZATION_FILES
        .iter()
        .any(|f| dir.join(f).is_file())
        .then_some(Kind::Kustomize)
}

/// A chart or Kustomize folder to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub kind: Kind,
    /// The folder, as shown to the user (relative to the working folder when inside it).
    pub dir: PathBuf,
}

impl Root {
    pub fn new(kind: Kind, dir: &Path) -> Root {
        Root {
            kind,
            dir: tidy(dir),
        }
    }

    /// A path inside the folder, as shown to the user.
    fn join(&self, rel: &str) -> String {
        show(&tidy(&self.dir.join(rel)))
    }

    fn manifest(&self) -> String {
        match self.kind {
            Kind::Helm => self.join("Chart.yaml"),
            Kind::Kustomize => KUSTOMIZATION_FILES
                .iter()
                .map(|f| self.dir.join(f))
                .find(|p| p.is_file())
                .map_or_else(|| show(&self.dir), |p| show(&tidy(&p))),
        }
    }
}

/// The chart or Kustomize folder a file or folder belongs to: the nearest enclosing one (the
/// path itself for a folder), searched up to the repository root (a folder holding `.git`). A
/// subchart (`parent/charts/sub`) belongs to its parent chart, which renders it.
pub fn enclosing_root(path: &Path) -> Option<Root> {
    let abs = std::path::absolute(path).ok()?;
    let start = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent()?.to_path_buf()
    };
    let mut found = None;
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        if let Some(kind) = root_kind(d) {
            found = Some((d.to_path_buf(), kind));
            break;
        }
        if d.join(".git").exists() {
            break;
        }
        dir = d.parent();
    }
    let (dir, kind) = found?;
    if kind == Kind::Helm && !in_chart(&dir, &abs) {
        return None;
    }
    let dir = if kind == Kind::Helm {
        outermost_chart(dir)
    } else {
        dir
    };
    // shown relative to the working folder, as the path was given
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            let cwd = std::path::absolute(cwd).ok()?;
            dir.strip_prefix(&cwd).ok().map(|r| {
                if r.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    r.to_path_buf()
                }
            })
        })
        .unwrap_or_else(|| dir.clone());
    Some(Root::new(kind, &shown))
}

/// Whether `path` (a file or folder under the chart folder `chart`) is part of what Helm
/// renders: `templates/`, `charts/`, `crds/`, `Chart.yaml`, `Chart.lock`, `requirements.yaml`,
/// `values*.yaml`, `values.schema.json`, or the chart folder itself. Other files in a chart
/// folder (`examples/*.yaml` of a repository whose root is a chart) stay plain manifests.
fn in_chart(chart: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(chart) else {
        return false;
    };
    let mut parts = rel.components();
    let Some(first) = parts.next() else {
        return true;
    };
    let first = first.as_os_str().to_string_lossy();
    let is_file = parts.next().is_none() && !path.is_dir();
    matches!(first.as_ref(), "templates" | "charts" | "crds")
        || (is_file
            && (matches!(
                first.as_ref(),
                "Chart.yaml" | "Chart.lock" | "requirements.yaml" | "values.schema.json"
            ) || (first.starts_with("values") && first.ends_with(".yaml"))))
}

/// `parent/charts/sub` is rendered as part of `parent`.
pub fn outermost_chart(mut dir: PathBuf) -> PathBuf {
    loop {
        let parent = dir
            .parent()
            .filter(|c| c.file_name().is_some_and(|n| n == "charts"))
            .and_then(Path::parent)
            .filter(|p| p.join("Chart.yaml").is_file())
            .map(Path::to_path_buf);
        match parent {
            Some(p) => dir = p,
            None => return dir,
        }
    }
}

/// Drop the Kustomize folders that another Kustomize folder of the same input uses as a
/// resource (a base under its overlays): they are checked as part of the overlay, not a
/// second time alone.
pub fn drop_bases(roots: &mut Vec<Root>) {
    let mut used = std::collections::HashSet::new();
    for r in roots.iter().filter(|r| r.kind == Kind::Kustomize) {
        let Some(text) = KUSTOMIZATION_FILES
            .iter()
            .find_map(|f| std::fs::read_to_string(r.dir.join(f)).ok())
        else {
            continue;
        };
        let (docs, _) = yaml::load_documents(&text, &Limits::default());
        let Some(doc) = docs.first() else { continue };
        for key in ["resources", "bases", "components"] {
            for entry in doc
                .value
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(s) = entry.as_str().filter(|s| !s.contains("://"))
                    && let Ok(c) = std::fs::canonicalize(r.dir.join(s))
                    && c.is_dir()
                {
                    used.insert(c);
                }
            }
        }
    }
    if !used.is_empty() {
        roots.retain(|r| {
            r.kind != Kind::Kustomize
                || std::fs::canonicalize(&r.dir).map_or(true, |c| !used.contains(&c))
        });
    }
}

/// `.statelint.yaml` `render:` section, plus `--values`/`--set` from the command line.
///
/// ```yaml
/// render:
///   helm: /opt/helm/bin/helm          # default: `helm` on PATH
///   kustomize: kustomize              # `kustomize build`; default: `kustomize`, else `kubectl`
///   kubectl: kubectl                  # `kubectl kustomize`
///   charts:
///     deploy/zookeeper:               # a chart folder, relative to this file
///       release: zk                   # default: release-name (as `helm template`)
///       namespace: data               # default: --namespace
///       values: [deploy/values-prod.yaml]
///       set: [replicaCount=3]
/// ```
#[derive(Debug, Clone, Default)]
pub struct RenderConfig {
    /// Folder that relative paths of the config file are resolved against.
    pub base: Option<PathBuf>,
    pub helm: Option<PathBuf>,
    pub kustomize: Option<PathBuf>,
    pub kubectl: Option<PathBuf>,
    pub charts: Vec<ChartConfig>,
    /// `--values FILE` (relative to the working folder): passed to every chart, after the
    /// chart's own values.
    pub values: Vec<PathBuf>,
    /// `--set k=v`: passed to every chart, last.
    pub set: Vec<String>,
}

/// Settings of one chart in `render.charts`.
#[derive(Debug, Clone, Default)]
pub struct ChartConfig {
    /// The chart folder as written in the config (relative to [`RenderConfig::base`]).
    pub dir: PathBuf,
    /// JSON pointer of the entry in the config file (for errors).
    pub pointer: String,
    pub release: Option<String>,
    pub namespace: Option<String>,
    pub values: Vec<PathBuf>,
    pub set: Vec<String>,
}

/// A config error: pointer in the config document, whether it is about the key, message.
pub type ConfigProblem = (String, bool, String);

impl RenderConfig {
    /// Read the `render` section (`v`, at pointer `/render`).
    pub fn from_value(v: &Value) -> Result<RenderConfig, ConfigProblem> {
        let at = |p: &str, key: bool, m: String| (format!("/render{p}"), key, m);
        let Value::Object(map) = v else {
            if v.is_null() {
                return Ok(RenderConfig::default());
            }
            return Err(at(
                "",
                false,
                "`render` must be a mapping (helm, kustomize, kubectl, charts)".into(),
            ));
        };
        let mut c = RenderConfig::default();
        for (k, v) in map {
            let p = format!("/{}", escape(k));
            let path = |v: &Value| -> Result<PathBuf, ConfigProblem> {
                match v.as_str() {
                    Some(s) if !s.trim().is_empty() => Ok(PathBuf::from(s)),
                    _ => Err(at(
                        &p,
                        false,
                        format!("`{k}`: expected a command name or path"),
                    )),
                }
            };
            match k.as_str() {
                "helm" => c.helm = Some(path(v)?),
                "kustomize" => c.kustomize = Some(path(v)?),
                "kubectl" => c.kubectl = Some(path(v)?),
                "charts" => {
                    let Value::Object(charts) = v else {
                        return Err(at(
                            &p,
                            false,
                            "`charts` must map chart folders to their settings".into(),
                        ));
                    };
                    for (dir, opts) in charts {
                        let cp = format!("{p}/{}", escape(dir));
                        c.charts.push(
                            chart_config(dir, opts, &cp).map_err(|(q, key, m)| {
                                at(&q, key, format!("chart `{dir}`: {m}"))
                            })?,
                        );
                    }
                }
                other => {
                    return Err(at(
                        &p,
                        true,
                        format!(
                            "unknown key `{other}` in `render` (expected helm, kustomize, kubectl or charts)"
                        ),
                    ));
                }
            }
        }
        Ok(c)
    }

    /// Check that every chart named in the config exists; `Err((pointer, message))`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for ch in &self.charts {
            let dir = self.resolve(&ch.dir);
            if !dir.join("Chart.yaml").is_file() {
                return Err((
                    format!("/render{}", ch.pointer),
                    format!(
                        "no Helm chart at `{}` (no Chart.yaml there; chart folders in `render.charts` are relative to the config file)",
                        ch.dir.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Values files named in `render.charts` stand for their chart: a changed
    /// `deploy/values-prod.yaml` (the pre-commit hook passes it) re-checks the chart it
    /// configures instead of being read as a manifest.
    pub fn claim_values_files(&self, files: &mut Vec<PathBuf>, roots: &mut Vec<Root>) {
        if self.charts.iter().all(|c| c.values.is_empty()) {
            return;
        }
        let mut owners: HashMap<PathBuf, PathBuf> = HashMap::new();
        for c in &self.charts {
            for v in &c.values {
                if let Ok(v) = std::fs::canonicalize(self.resolve(v)) {
                    owners.insert(v, self.resolve(&c.dir));
                }
            }
        }
        let mut have: std::collections::HashSet<PathBuf> = roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(&r.dir).ok())
            .collect();
        files.retain(|f| {
            let Some(chart) = std::fs::canonicalize(f).ok().and_then(|c| owners.get(&c)) else {
                return true;
            };
            if let Ok(c) = std::fs::canonicalize(chart)
                && have.insert(c.clone())
            {
                roots.push(Root::new(Kind::Helm, &relative_to_cwd(&c)));
            }
            false
        });
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        match &self.base {
            Some(b) if p.is_relative() => tidy(&b.join(p)),
            _ => p.to_path_buf(),
        }
    }

    /// A tool named in the config: a path (relative to the config file) or a command name.
    fn tool(&self, p: &Path) -> PathBuf {
        if p.components().count() > 1 {
            self.resolve(p)
        } else {
            p.to_path_buf()
        }
    }

    fn chart(&self, dir: &Path) -> Option<&ChartConfig> {
        let want = std::fs::canonicalize(dir).ok()?;
        self.charts
            .iter()
            .find(|c| std::fs::canonicalize(self.resolve(&c.dir)).is_ok_and(|d| d == want))
    }
}

fn chart_config(dir: &str, v: &Value, p: &str) -> Result<ChartConfig, ConfigProblem> {
    let mut c = ChartConfig {
        dir: PathBuf::from(dir),
        pointer: p.to_string(),
        ..Default::default()
    };
    let Value::Object(map) = v else {
        if v.is_null() {
            return Ok(c);
        }
        return Err((
            p.into(),
            false,
            "settings must be a mapping (release, namespace, values, set)".into(),
        ));
    };
    for (k, v) in map {
        let kp = format!("{p}/{}", escape(k));
        let bad = |m: &str| (kp.clone(), false, format!("`{k}`: {m}"));
        match k.as_str() {
            "release" => match v.as_str() {
                Some(s) if valid_release(s) => c.release = Some(s.into()),
                _ => {
                    return Err(bad(
                        "expected a release name (lowercase letters, digits and `-`, at most 53 characters)",
                    ));
                }
            },
            "namespace" => match v.as_str() {
                Some(s) if !s.is_empty() => c.namespace = Some(s.into()),
                _ => return Err(bad("expected a namespace name")),
            },
            "values" => {
                c.values = strings(v)
                    .map_err(|m| bad(&m))?
                    .into_iter()
                    .map(PathBuf::from)
                    .collect()
            }
            "set" => {
                c.set = match v {
                    // `set: {replicaCount: 3}` as well as `set: [replicaCount=3]`
                    Value::Object(m) => m
                        .iter()
                        .map(|(k, v)| match v {
                            Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect(),
                    _ => strings(v).map_err(|m| bad(&m))?,
                }
            }
            other => {
                return Err((
                    kp,
                    true,
                    format!("unknown key `{other}` (expected release, namespace, values or set)"),
                ));
            }
        }
    }
    Ok(c)
}

fn valid_release(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 53
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or_else(|| "expected a list of strings".to_string())
            })
            .collect(),
        _ => Err("expected a list of strings".into()),
    }
}

fn escape(seg: &str) -> String {
    let mut p = String::new();
    yaml::push_segment(&mut p, seg);
    p[1..].to_string()
}

/// Where a rendered document came from and how to show it.
#[derive(Debug)]
pub struct RenderInfo {
    /// The command that rendered it, as a user would type it.
    pub command: String,
    /// `helm template`, `kustomize build` or `kubectl kustomize`.
    pub tool: &'static str,
    /// The chart or Kustomize folder, as shown.
    pub root: String,
    /// (start byte of a document in the rendered text, index in `files`), by start.
    docs: Vec<(u32, usize)>,
    /// Repository files documents come from; `files[0]` is the chart's `Chart.yaml` or the
    /// kustomization file, used when a document's source is unknown.
    files: Vec<Origin>,
}

#[derive(Debug)]
struct Origin {
    /// As shown (relative to the working folder when inside it).
    name: String,
    /// Its text, to find keys in; `None` when it could not be read.
    text: Option<String>,
}

/// A position in a repository file that a rendered node came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl RenderInfo {
    /// The repository file that the rendered byte `at` came from, at the line where the key
    /// path `keys` (mapping keys from the document root; sequence indexes left out) is written
    /// — or its nearest ancestor — in a document of kind `kind` when there is one; line 1 when
    /// no key matches (the template builds that part with `include`, `toYaml`...).
    pub fn position(&self, at: u32, keys: &[&str], kind: Option<&str>) -> SourcePosition {
        let i = match self.docs.binary_search_by_key(&at, |d| d.0) {
            Ok(i) => i,
            Err(0) => usize::MAX,
            Err(i) => i - 1,
        };
        let file = self
            .docs
            .get(i)
            .map_or(&self.files[0], |d| &self.files[d.1]);
        let found = file.text.as_deref().and_then(|t| find_keys(t, keys, kind));
        let (line, column, end_column) = found.unwrap_or((1, 1, 1));
        SourcePosition {
            file: file.name.clone(),
            line,
            column,
            end_line: line,
            end_column,
        }
    }
}

/// Key paths of a YAML text line by line, by indentation (block style; template actions,
/// comments and flow collections are passed over). Calls `f(line number, byte offset of the
/// line, column of the key, key end column, path)` for each line that holds a key (the path
/// starts again at each `---`); `f` returns false to stop.
fn scan_keys(
    text: &str,
    mut f: impl FnMut(usize, usize, usize, usize, &[(usize, String)]) -> bool,
) {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut offset = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.starts_with("---") || line.starts_with("...") {
            stack.clear();
            continue;
        }
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("{{") {
            continue;
        }
        let mut col = line.len() - trimmed.len();
        let mut rest = trimmed;
        while let Some(r) = rest.strip_prefix('-')
            && (r.is_empty() || r.starts_with(' '))
        {
            let r2 = r.trim_start_matches(' ');
            col += rest.len() - r2.len();
            rest = r2;
        }
        let Some(key) = line_key(rest) else { continue };
        while stack.last().is_some_and(|(c, _)| *c >= col) {
            stack.pop();
        }
        stack.push((col, key.to_string()));
        let key_end = col + 1 + key.chars().count();
        if !f(n + 1, line_start, col + 1, key_end, &stack) {
            return;
        }
    }
}

/// The mapping key a line starts with (`key:`, `"key":`), if any.
fn line_key(s: &str) -> Option<&str> {
    let (key, quoted) = if let Some(r) = s.strip_prefix('"') {
        (&r[..r.find('"')?], true)
    } else if let Some(r) = s.strip_prefix('\'') {
        (&r[..r.find('\'')?], true)
    } else {
        let i = s
            .find(": ")
            .or_else(|| s.ends_with(':').then(|| s.len() - 1))?;
        (&s[..i], false)
    };
    if key.is_empty() || key.contains("{{") || (!quoted && key.contains(['{', '[', '#'])) {
        return None;
    }
    Some(key)
}

/// The line, column and key end column of the longest prefix of `keys` written in `text`,
/// preferring documents whose top-level `kind:` is `kind`.
fn find_keys(text: &str, keys: &[&str], kind: Option<&str>) -> Option<(usize, usize, usize)> {
    // documents of the right kind, when the file says
    let kinds: Vec<Option<String>> = text
        .split("\n---")
        .map(|doc| {
            doc.lines()
                .find_map(|l| l.strip_prefix("kind:"))
                .map(|k| k.trim().trim_matches(['"', '\'']).to_string())
        })
        .collect();
    let prefer = kind.filter(|k| kinds.iter().any(|d| d.as_deref() == Some(*k)));
    let mut best: Option<(usize, (usize, usize, usize))> = None;
    let mut doc = 0;
    let doc_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices("\n---").map(|(i, _)| i + 1))
        .collect();
    scan_keys(text, |line, offset, col, end, path| {
        while doc + 1 < doc_starts.len() && doc_starts[doc + 1] <= offset {
            doc += 1;
        }
        if prefer.is_some() && kinds.get(doc).and_then(|k| k.as_deref()) != prefer {
            return true;
        }
        let n = path.len();
        if n <= keys.len()
            && path.iter().zip(keys).all(|((_, a), b)| a == b)
            && best.is_none_or(|(m, _)| n > m)
        {
            best = Some((n, (line, col, end)));
        }
        true
    });
    best.map(|(_, p)| p)
}

/// The key path of the line holding byte `at` of `text` (for positions that have no pointer,
/// such as a syntax error in rendered output).
pub fn keys_at(text: &str, at: usize) -> Vec<String> {
    let mut out = Vec::new();
    scan_keys(text, |_, offset, _, _, path| {
        if offset > at {
            return false;
        }
        out = path.iter().map(|(_, k)| k.clone()).collect();
        true
    });
    out
}

/// The result of rendering one folder: the manifests and where they came from.
#[derive(Debug)]
pub struct Rendered {
    pub text: String,
    pub info: RenderInfo,
}

/// Why a folder could not be rendered: one clear message, at a file and line when the tool
/// said where (a template error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub message: String,
    /// (file as shown, its text, 1-based line, 1-based column)
    pub at: Option<(String, String, usize, usize)>,
}

impl RenderError {
    fn new(message: impl Into<String>) -> Self {
        RenderError {
            message: message.into(),
            at: None,
        }
    }
}

/// Render a chart or Kustomize folder. `namespace` is `--namespace` (Helm's release namespace
/// unless the chart's settings name one).
pub fn render(
    root: &Root,
    config: &RenderConfig,
    namespace: &str,
    limits: &Limits,
) -> Result<Rendered, RenderError> {
    match root.kind {
        Kind::Helm => render_helm(root, config, namespace, limits),
        Kind::Kustomize => render_kustomize(root, config, limits),
    }
}

/// The executable `name` names: itself when it is a path, else the first on PATH.
pub fn which(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return is_executable(name).then(|| name.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// What `Chart.yaml` (and a v1 chart's `requirements.yaml`) says.
struct ChartMeta {
    name: String,
    /// (name, alias, repository)
    dependencies: Vec<(String, Option<String>, Option<String>)>,
}

fn read_yaml(path: &Path) -> Result<Option<Value>, RenderError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RenderError::new(format!("cannot read {}: {e}", show(path)))),
    };
    let (docs, err) = yaml::load_documents(&text, &Limits::default());
    if let Some(e) = err {
        let src = super::SourceFile::new(show(path), text.clone());
        let (line, column) = src.line_col(e.at.start);
        return Err(RenderError {
            message: format!("{}: {}", show(path), e.message),
            at: Some((show(path), text, line, column)),
        });
    }
    Ok(docs.into_iter().next().map(|d| d.value))
}

fn chart_meta(dir: &Path) -> Result<ChartMeta, RenderError> {
    let chart = read_yaml(&dir.join("Chart.yaml"))?.unwrap_or(Value::Null);
    let name = chart
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            RenderError::new(format!(
                "{} has no `name`: not a valid Helm chart",
                show(&dir.join("Chart.yaml"))
            ))
        })?
        .to_string();
    let deps_of = |v: &Value| -> Vec<(String, Option<String>, Option<String>)> {
        v.get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let s = |k: &str| d.get(k).and_then(Value::as_str).map(String::from);
                Some((s("name")?, s("alias"), s("repository")))
            })
            .collect()
    };
    let mut dependencies = deps_of(&chart);
    if chart.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && let Some(req) = read_yaml(&dir.join("requirements.yaml"))?
    {
        dependencies.extend(deps_of(&req));
    }
    Ok(ChartMeta { name, dependencies })
}

/// Names of the charts in `dir/charts/`: unpacked folders by their Chart.yaml name, archives
/// by file name (`name-1.2.3.tgz`).
fn vendored(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut folders = Vec::new();
    let mut archives = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("charts")) else {
        return (folders, archives);
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Ok(Some(v)) = read_yaml(&p.join("Chart.yaml"))
                && let Some(n) = v.get("name").and_then(Value::as_str)
            {
                folders.push(n.to_string());
            }
        } else if let Some(f) = p.file_name().and_then(|f| f.to_str())
            && (f.ends_with(".tgz") || f.ends_with(".tar.gz"))
        {
            archives.push(f.to_string());
        }
    }
    (folders, archives)
}

/// What `helm template` is told the cluster serves besides its offline defaults, which list
/// group/versions (`policy/v1`) but no kinds: charts that pick a PodDisruptionBudget's
/// apiVersion with `.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget"` (consul-k8s,
/// YugabyteDB) would otherwise render `policy/v1beta1`, which every supported cluster (1.21+)
/// replaces with `policy/v1` at install time.
const HELM_API_VERSIONS: &str = "policy/v1/PodDisruptionBudget";

fn render_helm(
    root: &Root,
    config: &RenderConfig,
    namespace: &str,
    limits: &Limits,
) -> Result<Rendered, RenderError> {
    let dir = &root.dir;
    let shown = show(dir);
    let chart = config.chart(dir);
    let release = chart
        .and_then(|c| c.release.clone())
        .unwrap_or_else(|| "release-name".into());
    let namespace = chart
        .and_then(|c| c.namespace.clone())
        .unwrap_or_else(|| namespace.to_string());
    let mut args: Vec<String> = vec![
        "template".into(),
        release.clone(),
        shown.clone(),
        "--namespace".into(),
        namespace.clone(),
        "--api-versions".into(),
        HELM_API_VERSIONS.into(),
    ];
    let values = chart
        .map(|c| {
            c.values
                .iter()
                .map(|v| config.resolve(v))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(config.values.iter().cloned());
    for v in values {
        if !v.is_file() {
            return Err(RenderError::new(format!(
                "values file {} does not exist",
                show(&v)
            )));
        }
        args.push("--values".into());
        args.push(show(&v));
    }
    for s in chart
        .map(|c| c.set.clone())
        .unwrap_or_default()
        .iter()
        .chain(&config.set)
    {
        args.push("--set".into());
        args.push(s.clone());
    }
    let command = format!("helm {}", shell_words(&args));

    let tool = config
        .helm
        .as_ref()
        .map(|p| config.tool(p))
        .unwrap_or_else(|| PathBuf::from("helm"));
    let Some(helm) = which(&tool) else {
        let how = if config.helm.is_some() {
            format!(
                "`render.helm` in the config names `{}`, which is not an executable",
                tool.display()
            )
        } else {
            "`helm` is not on PATH".into()
        };
        return Err(RenderError::new(format!(
            "a Helm chart, and rendering it needs Helm: {how}. Install Helm \
             (https://helm.sh/docs/intro/install/) or name it in .statelint.yaml \
             (`render: {{helm: /path/to/helm}}`), or render the chart yourself and pipe it in: \
             `{command} | statelint check -`"
        )));
    };

    let meta = chart_meta(dir)?;
    let (folders, archives) = vendored(dir);
    let missing: Vec<String> = meta
        .dependencies
        .iter()
        .filter(|(name, _, _)| {
            !folders.contains(name)
                && !archives.iter().any(|a| {
                    a.strip_prefix(name.as_str())
                        .is_some_and(|r| r.starts_with('-'))
                })
        })
        .map(|(name, _, repo)| match repo {
            Some(r) => format!("{name} ({r})"),
            None => name.clone(),
        })
        .collect();
    if !missing.is_empty() {
        return Err(RenderError::new(format!(
            "chart {} depends on {} but {} holds no such chart: run `helm dependency build {shown}` to fetch {}",
            meta.name,
            missing.join(", "),
            root.join("charts/"),
            if missing.len() == 1 { "it" } else { "them" },
        )));
    }

    let out = Command::new(&helm)
        .args(&args)
        .output()
        .map_err(|e| RenderError::new(format!("cannot run {}: {e}", helm.display())))?;
    if !out.status.success() {
        return Err(helm_error(
            root,
            &meta,
            &command,
            &String::from_utf8_lossy(&out.stderr),
        ));
    }
    let text = super::decode_text(out.stdout, limits)
        .map_err(|e| RenderError::new(format!("`{command}` printed {}", e.message)))?;

    let mut files = vec![Origin::read(&root.manifest())];
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut docs = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(src) = line.trim_end().strip_prefix("# Source: ") {
            let i = *index.entry(src.to_string()).or_insert_with(|| {
                match template_file(dir, &meta, src) {
                    Some(p) => {
                        files.push(Origin::read(&show(&tidy(&p))));
                        files.len() - 1
                    }
                    None => 0,
                }
            });
            docs.push((offset as u32, i));
        }
        offset += line.len();
    }
    Ok(Rendered {
        text,
        info: RenderInfo {
            command,
            tool: "helm template",
            root: shown,
            docs,
            files,
        },
    })
}

/// The repository file of a `# Source:` path (`chart/templates/x.yaml`,
/// `chart/charts/sub/templates/y.yaml`): under the chart folder, or, for a subchart packed in
/// `charts/` from a `file://` dependency, in that dependency's folder.
fn template_file(dir: &Path, meta: &ChartMeta, src: &str) -> Option<PathBuf> {
    let rel = src.strip_prefix(&meta.name)?.strip_prefix('/')?;
    if rel.split('/').any(|s| s == "..") {
        return None;
    }
    let p = dir.join(rel);
    if p.is_file() {
        return Some(p);
    }
    let rest = rel.strip_prefix("charts/")?;
    let (sub, inner) = rest.split_once('/')?;
    let (_, _, repo) = meta
        .dependencies
        .iter()
        .find(|(n, alias, _)| alias.as_deref().unwrap_or(n) == sub || n == sub)?;
    let local = repo.as_deref()?.strip_prefix("file://")?;
    let p = dir.join(local).join(inner);
    p.is_file().then_some(p)
}

/// One clear error from a failed `helm template`: its first `Error:` message, at the template
/// line it names (`chart/templates/x.yaml:12:5`).
fn helm_error(root: &Root, meta: &ChartMeta, command: &str, stderr: &str) -> RenderError {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("Error:"))
        .unwrap_or(0);
    let message: String = lines[first.min(lines.len())..]
        .iter()
        .take(6)
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("Error: ").unwrap_or(&message);
    let mut err = RenderError::new(format!("`{command}` failed: {message}"));
    if message.contains("missing in charts/ directory") || message.contains("dependency build") {
        err.message.push_str(&format!(
            " (run `helm dependency build {}`)",
            show(&root.dir)
        ));
    }
    // `name/templates/x.yaml:12:5` or `name/templates/x.yaml:12`
    let prefix = format!("{}/", meta.name);
    for (i, _) in message.match_indices(&prefix) {
        if i > 0 && !message[..i].ends_with([' ', '(', '"', '\'', ':']) {
            continue;
        }
        let rest = &message[i..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | ','))
            .unwrap_or(rest.len());
        let mut parts = rest[..end].trim_end_matches(':').split(':');
        let (Some(path), Some(line)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(line) = line.parse::<usize>() else {
            continue;
        };
        let column = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
        if let Some(p) = template_file(&root.dir, meta, path)
            && let Ok(text) = std::fs::read_to_string(&p)
        {
            err.at = Some((show(&tidy(&p)), text, line, column));
            break;
        }
    }
    err
}

static WRAPPERS: AtomicUsize = AtomicUsize::new(0);

fn render_kustomize(
    root: &Root,
    config: &RenderConfig,
    limits: &Limits,
) -> Result<Rendered, RenderError> {
    let shown = show(&root.dir);
    // a configured tool first; else `kustomize`, else `kubectl kustomize`
    let candidates: Vec<(PathBuf, &'static str)> = match (&config.kustomize, &config.kubectl) {
        (Some(k), _) => vec![(config.tool(k), "build")],
        (None, Some(k)) => vec![(config.tool(k), "kustomize")],
        (None, None) => vec![
            (PathBuf::from("kustomize"), "build"),
            (PathBuf::from("kubectl"), "kustomize"),
        ],
    };
    let found = candidates
        .iter()
        .find_map(|(t, sub)| which(t).map(|p| (p, *sub)));
    let Some((bin, sub)) = found else {
        let how = match (&config.kustomize, &config.kubectl) {
            (Some(t), _) | (None, Some(t)) => format!(
                "the config names `{}`, which is not an executable",
                config.tool(t).display()
            ),
            _ => "neither `kustomize` nor `kubectl` is on PATH".into(),
        };
        return Err(RenderError::new(format!(
            "a Kustomize folder, and rendering it needs kustomize or kubectl: {how}. Install \
             kubectl (https://kubernetes.io/docs/tasks/tools/) or kustomize, or name one in \
             .statelint.yaml (`render: {{kubectl: /path/to/kubectl}}`), or render the folder \
             yourself and pipe it in: `kubectl kustomize {shown} | statelint check -`"
        )));
    };
    let tool: &'static str = if sub == "build" {
        "kustomize build"
    } else {
        "kubectl kustomize"
    };
    let command = format!("{tool} {}", shell_words(std::slice::from_ref(&shown)));
    let run = |dir: &Path| Command::new(&bin).arg(sub).arg(dir).output();

    // ask for origin annotations through a wrapper kustomization in a temporary folder
    let abs = std::fs::canonicalize(&root.dir)
        .map_err(|e| RenderError::new(format!("cannot read {shown}: {e}")))?;
    let wrapper = std::env::temp_dir().join(format!(
        "statelint-kustomize-{}-{}",
        std::process::id(),
        WRAPPERS.fetch_add(1, Ordering::Relaxed)
    ));
    let with_origins = (|| -> Option<(String, PathBuf)> {
        std::fs::create_dir_all(&wrapper).ok()?;
        let w = std::fs::canonicalize(&wrapper).ok()?;
        let up = "../".repeat(w.components().count().saturating_sub(1));
        let rel = abs.strip_prefix("/").ok()?.to_str()?;
        std::fs::write(
            w.join("kustomization.yaml"),
            format!(
                "resources:\n  - {}\nbuildMetadata: [originAnnotations]\n",
                serde_json::to_string(&format!("{up}{rel}")).ok()?
            ),
        )
        .ok()?;
        let out = run(&w).ok()?;
        out.status
            .success()
            .then(|| Some((String::from_utf8(out.stdout).ok()?, w)))?
    })();
    let _ = std::fs::remove_dir_all(&wrapper);
    let (raw, wrapper_dir) = match with_origins {
        Some((text, w)) => (text, Some(w)),
        None => {
            // an old kustomize without buildMetadata, or a broken folder: render it as the
            // user would, for the output or the error message
            let out = run(&root.dir)
                .map_err(|e| RenderError::new(format!("cannot run {}: {e}", bin.display())))?;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let msg = stderr
                    .trim()
                    .strip_prefix("error: ")
                    .or_else(|| stderr.trim().strip_prefix("Error: "))
                    .unwrap_or(stderr.trim())
                    .to_string();
                return Err(RenderError::new(format!("`{command}` failed: {msg}")));
            }
            let text = super::decode_text(out.stdout, limits)
                .map_err(|e| RenderError::new(format!("`{command}` printed {}", e.message)))?;
            (text, None)
        }
    };
    if raw.len() as u64 > limits.max_file_size {
        return Err(RenderError::new(format!(
            "`{command}` printed more than the max-file-size limit"
        )));
    }
    let mut files = vec![Origin::read(&root.manifest())];
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let (text, origins) = strip_origins(&raw);
    let docs = origins
        .into_iter()
        .map(|(start, origin)| {
            let file = origin
                .zip(wrapper_dir.as_ref())
                .map(|(o, w)| tidy(&w.join(o)))
                .filter(|p| p.is_file())
                .map_or(0, |p| {
                    *index.entry(p.clone()).or_insert_with(|| {
                        files.push(Origin::read(&show(&relative_to_cwd(&p))));
                        files.len() - 1
                    })
                });
            (start, file)
        })
        .collect();
    Ok(Rendered {
        text,
        info: RenderInfo {
            command,
            tool,
            root: shown,
            docs,
            files,
        },
    })
}

/// Remove the `config.kubernetes.io/origin` annotations statelint asked for (and an
/// `annotations:` key left empty); return the text and, for each document, its start and its
/// origin `path` (or `configuredIn` for generated objects; none for remote resources).
fn strip_origins(raw: &str) -> (String, Vec<(u32, Option<String>)>) {
    let mut out = String::with_capacity(raw.len());
    let mut docs = vec![(0u32, None)];
    let lines: Vec<&str> = raw.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let body = line.trim_end_matches(['\n', '\r']);
        if body == "---" {
            out.push_str(line);
            docs.push((out.len() as u32, None));
            i += 1;
            continue;
        }
        let trimmed = body.trim_start();
        let indent = body.len() - trimmed.len();
        if trimmed.starts_with("config.kubernetes.io/origin:") {
            // the block's lines are indented deeper than the key
            let mut j = i + 1;
            let mut path = None;
            let mut configured_in = None;
            let mut remote = false;
            while j < lines.len() {
                let l = lines[j].trim_end_matches(['\n', '\r']);
                let t = l.trim_start();
                if !t.is_empty() && l.len() - t.len() <= indent {
                    break;
                }
                if let Some(p) = t.strip_prefix("path: ") {
                    path = Some(p.trim().to_string());
                } else if let Some(p) = t.strip_prefix("configuredIn: ") {
                    configured_in = Some(p.trim().to_string());
                } else if t.starts_with("repo: ") {
                    remote = true;
                }
                j += 1;
            }
            if let Some(last) = docs.last_mut() {
                last.1 = if remote { None } else { path.or(configured_in) };
            }
            // `annotations:` holding nothing else goes too
            let empty_after = lines.get(j).is_none_or(|l| {
                let l = l.trim_end_matches(['\n', '\r']);
                l.len() - l.trim_start().len() < indent
            });
            if empty_after && out.ends_with(":\n") {
                let start = out[..out.len() - 1].rfind('\n').map_or(0, |k| k + 1);
                if out[start..].trim() == "annotations:" {
                    out.truncate(start);
                }
            }
            i = j;
            continue;
        }
        out.push_str(line);
        i += 1;
    }
    (out, docs)
}

impl Origin {
    fn read(name: &str) -> Origin {
        Origin {
            name: name.to_string(),
            text: std::fs::read_to_string(name).ok(),
        }
    }
}

/// Lexically clean a path (`.` and `..` folded, no symlinks followed), keeping it relative.
pub fn tidy(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if out.file_name().is_some() && !out.ends_with("..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

fn relative_to_cwd(p: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
}

pub fn show(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(String::from).unwrap_or(s)
}

/// Arguments as a shell would need them written.
fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=,:@%+".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "zk.fullname" . }}
  labels:
    {{- include "zk.labels" . | nindent 4 }}
spec:
  serviceName: {{ .Release.Name }}-headless
  replicas: {{ .Values.replicas }}
  template:
    spec:
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: zk
          image: "zookeeper:3.9"
          ports:
            - containerPort: 2181
---
apiVersion: v1
kind: Service
spec:
  clusterIP: None
"#;

    #[test]
    fn keys_are_found_in_templates() {
        let at = |keys: &[&str], kind| find_keys(TEMPLATE, keys, kind).map(|p| (p.0, p.1));
        assert_eq!(at(&["spec", "serviceName"], None), Some((8, 3)));
        assert_eq!(at(&["spec", "replicas"], Some("StatefulSet")), Some((9, 3)));
        // built by toYaml: the enclosing key
        assert_eq!(
            at(
                &["spec", "template", "spec", "affinity", "podAntiAffinity"],
                None
            ),
            Some((13, 7))
        );
        assert_eq!(
            at(&["spec", "template", "spec", "containers", "image"], None),
            Some((18, 11))
        );
        assert_eq!(
            at(
                &[
                    "spec",
                    "template",
                    "spec",
                    "containers",
                    "ports",
                    "containerPort"
                ],
                None
            ),
            Some((20, 15))
        );
        // the document of the right kind
        assert_eq!(at(&["spec", "clusterIP"], Some("Service")), Some((25, 3)));
        assert_eq!(at(&["nothing"], None), None);
    }

    #[test]
    fn key_path_of_a_rendered_line() {
        let text = "a:\n  b:\n    - c: 1\n      d: x\n";
        let at = text.find("d:").unwrap();
        assert_eq!(keys_at(text, at), ["a", "b", "d"]);
    }

    #[test]
    fn origins_are_stripped() {
        let raw = "apiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    config.kubernetes.io/origin: |\n      path: ../k/base/svc.yaml\n  name: a\n---\napiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    a: b\n    config.kubernetes.io/origin: |\n      configuredIn: kustomization.yaml\n      configuredBy:\n        kind: ConfigMapGenerator\n  name: b\n---\nkind: X\nmetadata:\n  annotations:\n    config.kubernetes.io/origin: |\n      path: examples/x.yaml\n      repo: https://github.com/x/y\n";
        let (text, docs) = strip_origins(raw);
        assert_eq!(
            text,
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Service\nmetadata:\n  annotations:\n    a: b\n  name: b\n---\nkind: X\nmetadata:\n"
        );
        assert_eq!(
            docs.iter().map(|d| d.1.as_deref()).collect::<Vec<_>>(),
            [Some("../k/base/svc.yaml"), Some("kustomization.yaml"), None]
        );
        assert_eq!(
            docs[1].0 as usize,
            text.find("apiVersion: v1\nkind: Service\nmetadata:\n  annotations")
                .unwrap()
        );
    }

    #[test]
    fn what_belongs_to_a_chart() {
        let c = Path::new("/r/chart");
        for p in [
            "/r/chart",
            "/r/chart/templates/x.yaml",
            "/r/chart/templates/_helpers.tpl",
            "/r/chart/charts/sub/values.yaml",
            "/r/chart/Chart.yaml",
            "/r/chart/values.yaml",
            "/r/chart/values-prod.yaml",
        ] {
            assert!(in_chart(c, Path::new(p)), "{p}");
        }
        for p in [
            "/r/chart/examples/zk.yaml",
            "/r/chart/ci/values.yaml",
            "/r/other/x.yaml",
        ] {
            assert!(!in_chart(c, Path::new(p)), "{p}");
        }
    }

    #[test]
    fn paths_are_tidied() {
        assert_eq!(tidy(Path::new("./a/b/../c")), PathBuf::from("a/c"));
        assert_eq!(tidy(Path::new("../a/./b")), PathBuf::from("../a/b"));
        assert_eq!(tidy(Path::new("a/..")), PathBuf::from("."));
        assert_eq!(tidy(Path::new("/x/../y")), PathBuf::from("/y"));
    }

    #[test]
    fn render_config_is_read_and_checked() {
        let v: Value = serde_json::json!({
            "helm": "tools/helm",
            "charts": {"deploy/zk": {"release": "zk", "values": ["v.yaml"], "set": {"replicas": 3}}}
        });
        let c = RenderConfig::from_value(&v).unwrap();
        assert_eq!(c.charts[0].release.as_deref(), Some("zk"));
        assert_eq!(c.charts[0].set, ["replicas=3"]);
        let e = RenderConfig::from_value(&serde_json::json!({"helmet": "x"})).unwrap_err();
        assert_eq!(e.0, "/render/helmet");
        assert!(e.2.contains("unknown key `helmet`"), "{e:?}");
        let e = RenderConfig::from_value(
            &serde_json::json!({"charts": {"a/b": {"release": "Bad_Name"}}}),
        )
        .unwrap_err();
        assert_eq!(e.0, "/render/charts/a~1b/release");
    }
}
