//! Turning findings and input errors into output: human (codespan-reporting), json, sarif,
//! junit, github.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::object::Object;
use crate::rules::{Anchor, Finding, Outcome, RuleMeta, Severity};
use crate::source::yaml::ByteSpan;
use crate::source::{InputError, Sources};

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod policyreport;
pub mod sarif;
pub mod yaml;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Github,
}

/// Everything a run produced.
pub struct Report<'a> {
    pub sources: &'a Sources,
    pub outcome: &'a Outcome,
    pub errors: &'a [InputError],
    /// Input warnings (an unknown rule in `statelint.io/ignore`): shown, never counted.
    pub warnings: &'a [InputError],
    pub summary: Summary,
    /// List suppressed findings too (human, json and github formats; sarif and junit always
    /// carry them, marked as suppressed / skipped).
    pub show_suppressed: bool,
    /// The objects that were checked (junit makes one test case per StatefulSet and rule).
    pub objects: &'a [Arc<Object>],
    /// The rules that ran, in code order.
    pub rules: Vec<&'static RuleMeta>,
    /// Folder that file paths are made relative to (sarif, github); `None`: the working folder.
    pub base_dir: Option<PathBuf>,
    /// The objects came from a cluster (`statelint audit`): no file positions; formats name
    /// the object and the `kubectl get` command that shows it, and the node as a field path.
    pub cluster: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub objects: usize,
    pub statefulsets: usize,
    pub errors: usize,
    pub warnings: usize,
    pub suppressed: usize,
    /// Checked files with no document in them; in JSON only when some are.
    #[serde(skip_serializing_if = "is_zero")]
    pub empty_files: usize,
    /// Namespaces holding a checked object (`statelint audit` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<usize>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A resolved position: file name, byte span, 1-based line and column.
///
/// For rendered input (a Helm chart, a Kustomize folder) `file`, `line` and `column` are in the
/// repository file the node came from (the template, the resource file) so that editors and
/// code scanning annotate a file that exists; `file_id` and `span` are in the rendered text,
/// and `rendered` says where.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: String,
    pub file_id: crate::object::FileId,
    pub span: ByteSpan,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub rendered: Option<RenderedAt>,
}

/// Where a finding on rendered input sits in the rendered manifests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RenderedAt {
    /// `helm template`, `kustomize build` or `kubectl kustomize`.
    pub tool: &'static str,
    /// The chart or Kustomize folder.
    pub from: String,
    /// The command that renders it.
    pub command: String,
    /// 1-based line and column in the rendered output.
    pub line: usize,
    pub column: usize,
    /// That rendered line.
    pub text: String,
}

impl RenderedAt {
    /// One line for messages: `rendered by `helm template ...`, line 48: serviceName: zk-hs`.
    pub fn describe(&self) -> String {
        format!(
            "rendered by `{}`, line {}: {}",
            self.command,
            self.line,
            self.text.trim()
        )
    }
}

impl Report<'_> {
    pub fn new<'a>(
        sources: &'a Sources,
        outcome: &'a Outcome,
        errors: &'a [InputError],
        files: usize,
        objects: usize,
        statefulsets: usize,
    ) -> Report<'a> {
        let count = |s| outcome.findings.iter().filter(|f| f.severity == s).count();
        Report {
            sources,
            outcome,
            errors,
            warnings: &[],
            summary: Summary {
                files,
                objects,
                statefulsets,
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                suppressed: outcome.suppressed.len(),
                empty_files: 0,
                namespaces: None,
            },
            show_suppressed: false,
            objects: &[],
            rules: crate::rules::all().iter().map(|r| r.meta()).collect(),
            base_dir: None,
            cluster: false,
        }
    }

    /// Where a cluster object's node is, when it has no file position (`statelint audit`).
    pub fn cluster_at(&self, a: &Anchor) -> Option<ClusterAt> {
        if !self.cluster || a.object.origin.is_some() {
            return None;
        }
        Some(ClusterAt {
            field: field_path(&a.pointer),
            kubectl: kubectl_get(&a.object.key),
        })
    }

    /// The folder paths are shown relative to.
    pub fn base(&self) -> PathBuf {
        self.base_dir
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default()
    }

    /// Suppressed findings, sorted like [`Report::sorted_findings`].
    pub fn sorted_suppressed(&self) -> Vec<(&Finding, Option<Location>)> {
        sort_findings(&self.outcome.suppressed, self)
    }

    /// Where an anchor is in the source, if it came from a file.
    pub fn locate(&self, a: &Anchor) -> Option<Location> {
        let origin = a.object.origin.as_ref()?;
        let full = format!("{}{}", origin.prefix, a.pointer);
        let (shown, ns) = origin.spans.nearest(&full)?;
        let span = if a.on_key {
            ns.key.unwrap_or(ns.value)
        } else {
            ns.value
        };
        // a missing node resolves to an ancestor mapping: show its key, not the whole block
        let span = if !a.on_key && !origin.has(&a.pointer) {
            ns.key.unwrap_or(span)
        } else {
            span
        };
        let span = match &a.needle {
            Some(n) if !n.is_empty() => {
                let text = &self.sources.get(origin.file).text;
                text.get(span.start as usize..span.end as usize)
                    .and_then(|t| {
                        t.match_indices(n.as_str())
                            .nth(a.needle_nth)
                            .map(|(i, _)| i)
                            .or_else(|| t.find(n.as_str()))
                    })
                    .map_or(span, |i| ByteSpan {
                        start: span.start + i as u32,
                        end: span.start + (i + n.len()) as u32,
                    })
            }
            _ => span,
        };
        let keys: Vec<String> = shown
            .split('/')
            .skip(1)
            .filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()))
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        Some(self.located(origin.file, span, Some((&keys, &a.object.key.kind))))
    }

    pub fn location(&self, file_id: crate::object::FileId, span: ByteSpan) -> Location {
        self.located(file_id, span, None)
    }

    /// `keys`: the key path of the node and its object's kind, to find it in the template of
    /// rendered input (else it is read from the rendered text).
    fn located(
        &self,
        file_id: crate::object::FileId,
        span: ByteSpan,
        keys: Option<(&[String], &str)>,
    ) -> Location {
        let file = self.sources.get(file_id);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end.max(span.start));
        let mut loc = Location {
            file: file.name.clone(),
            file_id,
            span,
            line,
            column,
            end_line,
            end_column,
            rendered: None,
        };
        if let Some(info) = &file.rendered {
            let found;
            let (keys, kind): (Vec<&str>, Option<&str>) = match keys {
                Some((k, kind)) => (k.iter().map(String::as_str).collect(), Some(kind)),
                None => {
                    found = crate::source::render::keys_at(&file.text, span.start as usize);
                    (found.iter().map(String::as_str).collect(), None)
                }
            };
            let pos = info.position(span.start, &keys, kind);
            let text = file
                .line_range(line - 1)
                .map(|r| file.text[r].trim_end_matches(['\n', '\r']).to_string())
                .unwrap_or_default();
            loc.rendered = Some(RenderedAt {
                tool: info.tool,
                from: info.root.clone(),
                command: info.command.clone(),
                line,
                column,
                text,
            });
            loc.file = pos.file;
            loc.line = pos.line;
            loc.column = pos.column;
            loc.end_line = pos.end_line;
            loc.end_column = pos.end_column;
        }
        loc
    }

    /// Position of an input error.
    pub fn error_location(&self, e: &InputError) -> Option<Location> {
        Some(self.location(e.file_id?, e.at?))
    }

    /// Findings sorted by file, position and code.
    pub fn sorted_findings(&self) -> Vec<(&Finding, Option<Location>)> {
        sort_findings(&self.outcome.findings, self)
    }

    pub fn write(&self, format: Format, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Human => human::write(self, color, out),
            Format::Json => json::write(self, out),
            Format::Sarif => sarif::write(self, out),
            Format::Junit => junit::write(self, out),
            Format::Github => github::write(self, out),
        }
    }
}

fn sort_findings<'f>(
    findings: &'f [Finding],
    r: &Report<'_>,
) -> Vec<(&'f Finding, Option<Location>)> {
    let mut v: Vec<_> = findings.iter().map(|f| (f, r.locate(&f.at))).collect();
    v.sort_by(|(fa, la), (fb, lb)| {
        let ka = la.as_ref().map(|l| (l.file.clone(), l.span.start));
        let kb = lb.as_ref().map(|l| (l.file.clone(), l.span.start));
        ka.cmp(&kb)
            .then_with(|| fa.object.key.cmp(&fb.object.key))
            .then_with(|| fa.rule.code.cmp(fb.rule.code))
            .then_with(|| fa.message.cmp(&fb.message))
    });
    v
}

/// A node of a cluster object: its field path and the command that shows the object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClusterAt {
    /// `spec.template.spec.containers[0].args` (empty: the whole object).
    pub field: String,
    /// `kubectl get statefulset -n data zk -o yaml`.
    pub kubectl: String,
}

impl ClusterAt {
    /// One line for messages.
    pub fn describe(&self) -> String {
        if self.field.is_empty() {
            format!("see `{}`", self.kubectl)
        } else {
            format!("at {}: see `{}`", self.field, self.kubectl)
        }
    }
}

/// The `kubectl get` command that prints an object.
pub fn kubectl_get(key: &crate::object::ObjectKey) -> String {
    let kind = key.kind.to_ascii_lowercase();
    format!(
        "kubectl get {kind} -n {} {} -o yaml",
        key.namespace, key.name
    )
}

/// A JSON pointer as a kubectl-style field path: `/spec/containers/0/args` ->
/// `spec.containers[0].args`; keys that are not plain words are bracketed.
pub fn field_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else if !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        } else {
            out.push_str(&format!("[{}]", serde_json::Value::from(seg)));
        }
    }
    out
}

/// How a file name is shown to tools that want repository-relative paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    /// Inside the base folder: a relative path with `/` separators.
    Relative(String),
    /// Outside it: the absolute path with `/` separators.
    Absolute(String),
    /// Standard input.
    Stdin,
}

/// Resolve a file name as given on the command line (relative to the working folder, or
/// absolute) against `base`, lexically (`.` and `..` are folded, symlinks are not followed).
pub fn file_ref(name: &str, base: &Path) -> FileRef {
    if name == "-" {
        return FileRef::Stdin;
    }
    let path = Path::new(name);
    let abs = if path.is_absolute() {
        normalize(path)
    } else {
        normalize(&base.join(path))
    };
    let base = normalize(base);
    let join = |p: &Path| -> Vec<String> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    match abs.strip_prefix(&base) {
        Ok(rel) if !rel.as_os_str().is_empty() => FileRef::Relative(join(rel).join("/")),
        _ => FileRef::Absolute(format!("/{}", join(&abs).join("/"))),
    }
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The suppression reason of a finding's object (`statelint.io/ignore-reason`).
pub fn suppression_reason(f: &Finding) -> Option<&str> {
    f.object.ignore_reason.as_deref().filter(|r| !r.is_empty())
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Build reports from YAML text and hand-made findings, for the format tests.

    use std::sync::Arc;

    use super::Report;
    use crate::object::Object;
    use crate::rules::{Finding, Outcome, Severity};
    use crate::source::yaml::ByteSpan;
    use crate::source::{InputError, Limits, SourceFile, Sources};

    pub struct Fixture {
        pub sources: Sources,
        pub objects: Vec<Arc<Object>>,
        pub outcome: Outcome,
        pub errors: Vec<InputError>,
    }

    /// Two StatefulSets (one suppressing SL002), a Service, a finding on each rule that
    /// applies, and an input error in a second file.
    pub fn fixture() -> Fixture {
        let text = r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kafka
  namespace: "a&b<c>"
spec:
  serviceName: "kafka-hs"
  replicas: 3
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: zk
  annotations:
    statelint.io/ignore: pdb-quorum
    statelint.io/ignore-reason: "PDB is managed by the \"operator\""
spec:
  serviceName: zk-hs
  replicas: 4
---
apiVersion: v1
kind: Service
metadata:
  name: kafka-hs
spec:
  clusterIP: 10.0.0.1
"#;
        let mut sources = Sources::default();
        let id = sources.add(SourceFile::new(
            "manifests/dir with space/kafka,zk.yaml".into(),
            text.into(),
        ));
        let (objs, errs) = crate::source::parse_file(id, text, "default", &Limits::default());
        assert!(errs.is_empty(), "{errs:?}");
        let objects: Vec<Arc<Object>> = objs.into_iter().map(Arc::new).collect();
        let (kafka, zk, svc) = (&objects[0], &objects[1], &objects[2]);
        let rule = |c| crate::rules::lookup(c).unwrap();
        let findings = vec![
            Finding::new(
                rule("SL001"),
                kafka,
                "/spec/serviceName",
                "Service kafka-hs has clusterIP 10.0.0.1; a StatefulSet needs a headless Service: <b> & \"q\"",
            )
            .at(svc, "/spec/clusterIP")
            .note(kafka, "/spec/serviceName", "named here")
            .help("set clusterIP: None
and re-create the Service"),
            Finding::new(rule("SL009"), zk, "/spec/replicas", "ZooKeeper zk has 4 replicas: 50%, a::b,c")
                .severity(Severity::Warning)
                .help("use 3 or 5 replicas"),
        ];
        let suppressed = vec![
            Finding::new(
                rule("SL002"),
                zk,
                "/metadata/name",
                "no PodDisruptionBudget selects the pods of zk",
            )
            .help("add a PodDisruptionBudget"),
        ];
        let bad = "kind: [
";
        let bad_id = sources.add(SourceFile::new("broken.yaml".into(), bad.into()));
        let errors = vec![
            InputError {
                file: "broken.yaml".into(),
                file_id: Some(bad_id),
                at: Some(ByteSpan { start: 6, end: 7 }),
                message: "did not find expected node content".into(),
            },
            InputError {
                file: "missing.yaml".into(),
                file_id: None,
                at: None,
                message: "no such file or folder".into(),
            },
        ];
        Fixture {
            sources,
            objects,
            outcome: Outcome {
                findings,
                suppressed,
            },
            errors,
        }
    }

    impl Fixture {
        pub fn report(&self) -> Report<'_> {
            let sts = self
                .objects
                .iter()
                .filter(|o| o.statefulset().is_some())
                .count();
            let mut r = Report::new(
                &self.sources,
                &self.outcome,
                &self.errors,
                self.sources.len(),
                self.objects.len(),
                sts,
            );
            r.objects = &self.objects;
            r.base_dir = Some("/work/repo".into());
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_refs_are_relative_to_the_base() {
        let base = Path::new("/w/repo");
        assert_eq!(
            file_ref("a/b.yaml", base),
            FileRef::Relative("a/b.yaml".into())
        );
        assert_eq!(
            file_ref("./a/./b.yaml", base),
            FileRef::Relative("a/b.yaml".into())
        );
        assert_eq!(
            file_ref("/w/repo/x.yaml", base),
            FileRef::Relative("x.yaml".into())
        );
        assert_eq!(
            file_ref("a/../b.yaml", base),
            FileRef::Relative("b.yaml".into())
        );
        assert_eq!(
            file_ref("../other/c.yaml", base),
            FileRef::Absolute("/w/other/c.yaml".into())
        );
        assert_eq!(
            file_ref("/etc/x.yaml", base),
            FileRef::Absolute("/etc/x.yaml".into())
        );
        assert_eq!(file_ref("-", base), FileRef::Stdin);
    }
}
