//! statelint: a policy linter and admission webhook for Kubernetes StatefulSets.
//!
//! Data flows one way: **read** ([`source`]) -> **index** ([`catalog`]) -> **check**
//! ([`rules`]) -> **report** ([`report`]). The webhook ([`webhook`]) feeds the same rules with
//! companions from the live cluster.

/// `statelint audit` (the `cluster` cargo feature).
#[cfg(feature = "cluster")]
pub mod audit;
pub mod catalog;
pub mod config;
pub mod ensemble;
pub mod heap;
pub mod object;
pub mod pod;
pub mod report;
pub mod role;
pub mod rules;
pub mod selector;
pub mod severity;
pub mod source;
pub mod system;
/// `statelint serve` (the `server` cargo feature).
#[cfg(feature = "server")]
pub mod webhook;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use catalog::Catalog;
use config::Config;
use object::Object;
use rules::Outcome;
use source::{Limits, Loaded};

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Files and folders to check (`-` is stdin).
    pub paths: Vec<PathBuf>,
    /// Files and folders read only to resolve companions.
    pub context: Vec<PathBuf>,
    /// Namespace of objects that set none.
    pub namespace: String,
    pub config: Config,
    pub limits: Limits,
}

/// The result of `statelint check`.
pub struct CheckRun {
    pub loaded: Loaded,
    /// Objects that were checked (not context).
    pub objects: Vec<Arc<Object>>,
    pub outcome: Outcome,
    /// Number of files checked (not context).
    pub files: usize,
    /// The rules that ran (enabled by config, `--select`, `--ignore`), in code order.
    pub rules: Vec<&'static rules::RuleMeta>,
    /// Folders given to check in which no manifest file was found.
    pub empty_paths: Vec<PathBuf>,
    /// Checked files with no document in them (empty, or only comments and `---`).
    pub empty_files: Vec<String>,
    /// Every object read (checked and context), indexed.
    pub catalog: Catalog,
}

impl CheckRun {
    pub fn statefulsets(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| o.statefulset().is_some())
            .count()
    }

    /// The role of every checked StatefulSet, in input order (`statelint roles`).
    pub fn roles(&self) -> Vec<(Arc<Object>, role::RoleInfo)> {
        role::all(&self.objects, &self.catalog)
    }

    pub fn report(&self) -> report::Report<'_> {
        let mut r = report::Report::new(
            &self.loaded.sources,
            &self.outcome,
            &self.loaded.errors,
            self.files,
            self.objects.len(),
            self.statefulsets(),
        );
        r.objects = &self.objects;
        r.warnings = &self.loaded.warnings;
        r.rules = self.rules.clone();
        r.summary.empty_files = self.empty_files.len();
        r
    }
}

/// Read, index, check.
pub fn check(opts: &CheckOptions) -> CheckRun {
    let ns = if opts.namespace.is_empty() {
        "default"
    } else {
        &opts.namespace
    };
    let mut loaded = Loaded::default();
    let mut inputs = source::discover_inputs(&opts.paths, &mut loaded.errors);
    let empty_paths = folders_without_manifests(&opts.paths, &inputs);
    let render = &opts.config.render;
    render.claim_values_files(&mut inputs.files, &mut inputs.roots);
    let mut objects = source::load_files(&inputs.files, ns, &opts.limits, &mut loaded);
    // plain files only (a chart that renders nothing is no empty file), and readable ones (a
    // file that could not be read is an input error, not an empty file)
    let unreadable: HashSet<&str> = loaded.errors.iter().map(|e| e.file.as_str()).collect();
    let empty_files = loaded
        .sources
        .iter()
        .filter(|(_, f)| !unreadable.contains(f.name.as_str()) && has_no_document(&f.text))
        .map(|(_, f)| f.name.clone())
        .collect();
    objects.extend(source::load_roots(
        &inputs.roots,
        render,
        ns,
        &opts.limits,
        &mut loaded,
    ));
    // a rendered chart or Kustomize folder counts as one file
    let files = inputs.files.len() + inputs.roots.len();
    let context_objects = if opts.context.is_empty() {
        Vec::new()
    } else {
        // files and folders that are checked are not read twice as context
        let checked: HashSet<PathBuf> = inputs
            .files
            .iter()
            .chain(inputs.roots.iter().map(|r| &r.dir))
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let fresh = |p: &PathBuf| std::fs::canonicalize(p).map_or(true, |c| !checked.contains(&c));
        let mut errors = Vec::new();
        let mut ctx = source::discover_inputs(&opts.context, &mut errors);
        ctx.files.retain(&fresh);
        ctx.roots.retain(|r| fresh(&r.dir));
        loaded.errors.extend(errors);
        // A context file that does not parse (a Kustomize patch outside its folder...) or a
        // context chart that does not render only contributes no companions: it is not
        // checked, so it is no input error.
        let checked_errors = loaded.errors.len();
        let mut objects = source::load_files(&ctx.files, ns, &opts.limits, &mut loaded);
        objects.extend(source::load_roots(
            &ctx.roots,
            render,
            ns,
            &opts.limits,
            &mut loaded,
        ));
        loaded.errors.truncate(checked_errors);
        objects
    };
    let mut run = finish(loaded, objects, context_objects, files, &opts.config);
    run.empty_paths = empty_paths;
    run.empty_files = empty_files;
    run
}

/// Check in-memory inputs `(name, bytes)` as if they were files: the whole pipeline without
/// the file system (tests, fuzzing).
pub fn check_bytes(inputs: Vec<(String, Vec<u8>)>, opts: &CheckOptions) -> CheckRun {
    let mut loaded = Loaded::default();
    let ns = if opts.namespace.is_empty() {
        "default"
    } else {
        &opts.namespace
    };
    let objects = source::load_bytes(inputs, ns, &opts.limits, &mut loaded);
    let files = loaded.sources.len();
    finish(loaded, objects, Vec::new(), files, &opts.config)
}

/// Each `statelint.io/ignore` entry of a checked object that names no rule: a warning at the
/// entry, with the closest rule name (it suppresses nothing).
fn unknown_ignores(loaded: &Loaded, objects: &[Arc<Object>]) -> Vec<source::InputError> {
    let pointer = {
        let mut p = "/metadata/annotations".to_string();
        source::yaml::push_segment(&mut p, object::IGNORE_ANNOTATION);
        p
    };
    let mut out = Vec::new();
    for o in objects {
        for entry in &o.ignore {
            if entry == "all" || entry.is_empty() || rules::lookup(entry).is_some() {
                continue;
            }
            let near = config::did_you_mean(
                entry,
                rules::all()
                    .iter()
                    .flat_map(|r| [r.meta().code, r.meta().slug]),
            );
            let message = format!(
                "{} of {} names no rule `{entry}`, so that entry suppresses nothing{}",
                object::IGNORE_ANNOTATION,
                o.key,
                config::suggest(near)
            );
            let (file, file_id, at) = match &o.origin {
                Some(origin) => {
                    let src = loaded.sources.get(origin.file);
                    let at = origin.span(&pointer).map(|s| {
                        let v = s.value;
                        src.text
                            .get(v.start as usize..v.end as usize)
                            .and_then(|t| t.find(entry.as_str()))
                            .map_or(v, |i| source::yaml::ByteSpan {
                                start: v.start + i as u32,
                                end: v.start + (i + entry.len()) as u32,
                            })
                    });
                    (src.name.clone(), Some(origin.file), at)
                }
                None => (String::new(), None, None),
            };
            out.push(source::InputError {
                file,
                file_id,
                at,
                message,
            });
        }
    }
    out
}

fn finish(
    mut loaded: Loaded,
    objects: Vec<Arc<Object>>,
    context_objects: Vec<Arc<Object>>,
    files: usize,
    config: &Config,
) -> CheckRun {
    loaded.warnings = unknown_ignores(&loaded, &objects);
    let catalog = Catalog::new(objects.iter().chain(context_objects.iter()).cloned());
    let outcome = rules::run(&objects, &catalog, config);
    let rules = rules::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| config.is_enabled(m.code))
        .collect();
    CheckRun {
        loaded,
        objects,
        outcome,
        files,
        rules,
        empty_paths: Vec::new(),
        empty_files: Vec::new(),
        catalog,
    }
}

/// The folders among `paths` in which nothing to check was found. One path: from what was
/// found; several: each folder is looked at again on its own (paths that are files, as the
/// pre-commit hook passes them, cost nothing).
fn folders_without_manifests(paths: &[PathBuf], found: &source::Inputs) -> Vec<PathBuf> {
    let empty = |i: &source::Inputs| i.files.is_empty() && i.roots.is_empty();
    match paths {
        [p] if p.is_dir() && empty(found) => vec![p.clone()],
        [_] => Vec::new(),
        _ => paths
            .iter()
            .filter(|p| p.is_dir())
            .filter(|p| {
                empty(&source::discover_inputs(
                    std::slice::from_ref(*p),
                    &mut Vec::new(),
                ))
            })
            .cloned()
            .collect(),
    }
}

/// Nothing but blank lines, comments and document markers (an empty file).
fn has_no_document(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}
