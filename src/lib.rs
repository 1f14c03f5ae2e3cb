//! statelint: a policy linter and admission webhook for Kubernetes StatefulSets.
//!
//! Data flows one way: **read** ([`source`]) -> **index** ([`catalog`]) -> **check**
//! ([`rules`]) -> **report** ([`report`]). The webhook ([`webhook`]) feeds the same rules with
//! companions from the live cluster.

pub mod catalog;
pub mod config;
pub mod ensemble;
pub mod object;
pub mod report;
pub mod rules;
pub mod selector;
pub mod source;
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
}

impl CheckRun {
    pub fn statefulsets(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| o.statefulset().is_some())
            .count()
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
        r.rules = self.rules.clone();
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
    let objects = source::load_paths(&opts.paths, ns, &opts.limits, &mut loaded);
    let files = loaded.sources.len();
    let context_objects = if opts.context.is_empty() {
        Vec::new()
    } else {
        // files that are checked are not read twice as context
        let checked: HashSet<PathBuf> = loaded
            .sources
            .iter()
            .filter_map(|(_, f)| std::fs::canonicalize(&f.name).ok())
            .collect();
        let mut errors = Vec::new();
        let ctx_files: Vec<PathBuf> = source::discover(&opts.context, &mut errors)
            .into_iter()
            .filter(|p| std::fs::canonicalize(p).map_or(true, |c| !checked.contains(&c)))
            .collect();
        loaded.errors.extend(errors);
        // A context file that does not parse (a Helm template, a Kustomize patch...) only
        // contributes no companions: it is not checked, so it is no input error. Otherwise the
        // pre-commit hook (`--context .`) would fail in every repository holding a chart.
        let checked_errors = loaded.errors.len();
        let objects = source::load_paths(&ctx_files, ns, &opts.limits, &mut loaded);
        loaded.errors.truncate(checked_errors);
        objects
    };
    finish(loaded, objects, context_objects, files, &opts.config)
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

fn finish(
    loaded: Loaded,
    objects: Vec<Arc<Object>>,
    context_objects: Vec<Arc<Object>>,
    files: usize,
    config: &Config,
) -> CheckRun {
    let catalog = Catalog::new(objects.iter().chain(context_objects.iter()).cloned());
    let outcome = rules::run(&objects, &catalog, config);
    let rules = rules::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| config.is_enabled(m))
        .collect();
    CheckRun {
        loaded,
        objects,
        outcome,
        files,
        rules,
    }
}
