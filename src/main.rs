//! The `statelint` command line: check, rules, explain, serve.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use statelint::config::Config;
use statelint::report::Format;
use statelint::rules::{self, Registry, Severity};
use statelint::{CheckOptions, check};

#[derive(Parser)]
#[command(
    name = "statelint",
    version,
    about = "Lint Kubernetes StatefulSets for the companions and settings quorum data services need"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests (files, folders, `-` for stdin).
    Check(CheckArgs),
    /// List the rules.
    Rules,
    /// Print the role inferred for each StatefulSet (voter, replica, stateless) and why.
    Roles(RolesArgs),
    /// Print a rule's page.
    Explain {
        /// Rule code (SL002) or slug (pdb-quorum).
        rule: String,
    },
    /// Audit the StatefulSets of a running cluster (KUBECONFIG or in-cluster config).
    #[cfg(feature = "cluster")]
    Audit(AuditArgs),
    /// Audit a running cluster (needs a build with the `cluster` or `server` feature).
    #[cfg(not(feature = "cluster"))]
    #[command(disable_help_flag = true)]
    Audit {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
    /// Run the validating admission webhook.
    #[cfg(feature = "server")]
    Serve(statelint::webhook::ServeArgs),
    /// Run the validating admission webhook (needs a build with the `server` feature).
    #[cfg(not(feature = "server"))]
    #[command(disable_help_flag = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
}

/// What `statelint serve` says in a build without the webhook.
#[cfg(not(feature = "server"))]
const NO_SERVER: &str = "`statelint serve` (the admission webhook) is not in this build: \
it was built without the `server` cargo feature, which keeps the CLI and the pre-commit hook \
small.
Build it with `cargo install --path . --features server` (or `cargo build --release --features \
server`), or run the container image built from the Dockerfile, which has it.";

/// What `statelint audit` says in a build without a Kubernetes client.
#[cfg(not(feature = "cluster"))]
const NO_CLUSTER: &str = "`statelint audit` (the rules over a running cluster) is not in this \
build: it was built without the `cluster` cargo feature, which keeps the CLI and the pre-commit \
hook free of a Kubernetes client.
Build it with `cargo install --path . --features cluster` (or `--features server`, which has \
it too), or run the container image built from the Dockerfile.";

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or folders to check; `-` reads stdin. Default: `.`
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: Format,
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Namespace for objects that set none.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Read companions (Services, PDBs, ZooKeeper) from here without reporting on them.
    #[arg(long, value_name = "PATH")]
    context: Vec<PathBuf>,
    /// Config file (default: .statelint.yaml in this folder or a parent).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run only these rules (codes or slugs, comma-separated or repeated).
    #[arg(long, value_name = "RULES")]
    select: Vec<String>,
    /// Do not run these rules (codes or slugs).
    #[arg(long, value_name = "RULES")]
    ignore: Vec<String>,
    /// Also list findings suppressed by `statelint.io/ignore` annotations.
    #[arg(long)]
    show_suppressed: bool,
    /// Helm values file for every chart checked (after the chart's values in the config;
    /// repeatable, as `helm template --values`).
    #[arg(long, value_name = "FILE")]
    values: Vec<PathBuf>,
    /// Helm value for every chart checked, as `helm template --set` (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Colour: auto (on a terminal), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorWhen,
}

#[cfg(feature = "cluster")]
#[derive(clap::Args)]
struct AuditArgs {
    /// Audit this namespace only (a namespaced Role is then enough).
    #[arg(long, short = 'n', conflicts_with = "all_namespaces")]
    namespace: Option<String>,
    /// Audit every namespace (the default).
    #[arg(long, short = 'A')]
    all_namespaces: bool,
    /// Report only the StatefulSets this label selector selects (`app=kafka,tier!=test`);
    /// every StatefulSet is still read as a companion.
    #[arg(long, short = 'l', value_name = "SELECTOR")]
    selector: Option<String>,
    /// Output format; `policyreport` writes one report per namespace to `kubectl apply`.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: AuditFormat,
    /// API of `--format policyreport`: OpenReports `openreports.io/v1alpha1` Report, or the
    /// older `wgpolicyk8s.io/v1alpha2` PolicyReport.
    #[arg(long, value_enum, default_value = "openreports")]
    policy_report_api: statelint::report::policyreport::Api,
    /// Print the YAML of each object a finding points at (fetched again), after the report
    /// (human and json formats).
    #[arg(long)]
    show_source: bool,
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Config file (default: .statelint.yaml in this folder or a parent).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run only these rules (codes or slugs, comma-separated or repeated).
    #[arg(long, value_name = "RULES")]
    select: Vec<String>,
    /// Do not run these rules (codes or slugs).
    #[arg(long, value_name = "RULES")]
    ignore: Vec<String>,
    /// Also list findings suppressed by `statelint.io/ignore` annotations.
    #[arg(long)]
    show_suppressed: bool,
    /// Colour: auto (on a terminal), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorWhen,
    /// kubeconfig context to use (default: the current context; in a pod, its service account).
    #[arg(long, value_name = "NAME")]
    kube_context: Option<String>,
    /// Objects per list request (`limit`; the rest is fetched page by page with `continue`).
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    chunk_size: u32,
}

#[cfg(feature = "cluster")]
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuditFormat {
    Human,
    Json,
    Sarif,
    Junit,
    Github,
    Policyreport,
}

#[derive(clap::Args)]
struct RolesArgs {
    /// Files or folders to read; `-` reads stdin. Default: `.`
    paths: Vec<PathBuf>,
    /// Output format: a line per StatefulSet, or JSON.
    #[arg(long, short = 'f', value_enum, default_value = "human")]
    format: RolesFormat,
    /// Namespace for objects that set none.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Read companions (mounted ConfigMaps...) from here without listing them.
    #[arg(long, value_name = "PATH")]
    context: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RolesFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Roles(args) => run_roles(args),
        Command::Rules => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{:<6} {:<27} {:<8} SUMMARY", "CODE", "SLUG", "DEFAULT");
            for r in rules::all() {
                let m = r.meta();
                let _ = writeln!(
                    out,
                    "{:<6} {:<27} {:<8} {}",
                    m.code,
                    m.slug,
                    m.severity.as_str(),
                    m.summary
                );
            }
            ExitCode::SUCCESS
        }
        Command::Explain { rule } => match rules::lookup(&rule) {
            Some(m) => {
                print!("{}", m.page);
                ExitCode::SUCCESS
            }
            None => usage_error(statelint::config::resolve_rule(&rule, &Registry).unwrap_err()),
        },
        #[cfg(feature = "cluster")]
        Command::Audit(args) => run_audit(args),
        #[cfg(not(feature = "cluster"))]
        Command::Audit { .. } => usage_error(NO_CLUSTER),
        #[cfg(feature = "server")]
        Command::Serve(args) => {
            no_huge_pages();
            match statelint::webhook::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        #[cfg(not(feature = "server"))]
        Command::Serve { .. } => usage_error(NO_SERVER),
    }
}

fn run_roles(args: RolesArgs) -> ExitCode {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let mut config = Config::default();
    // roles only: no rule needs to run
    config.restrict_to(&[]);
    let run = check(&CheckOptions {
        paths,
        context: args.context,
        namespace: args.namespace,
        config,
        limits: Default::default(),
    });
    let report = run.report();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rows = Vec::new();
    for (o, r) in run.roles() {
        let loc = o.origin.as_ref().and_then(|origin| {
            let span = origin.span("/metadata/name")?;
            let f = run.loaded.sources.get(origin.file);
            let (line, column) = f.line_col(span.value.start);
            Some((f.name.clone(), line, column))
        });
        rows.push((o, r, loc));
    }
    let written = match args.format {
        RolesFormat::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(o, r, loc)| {
                    serde_json::json!({
                        "object": o.key,
                        "file": loc.as_ref().map(|l| l.0.clone()),
                        "line": loc.as_ref().map(|l| l.1),
                        "column": loc.as_ref().map(|l| l.2),
                        "replicas": o.replicas(),
                        "role": r.role,
                        "system": r.system().map(|s| s.name()),
                        "component": r.detection.as_ref().and_then(|d| d.component.clone()),
                        "keepsData": r.data.kept(),
                        "fromAnnotation": r.from_annotation,
                        "reason": r.reason,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "statefulsets": v }))
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
        RolesFormat::Human => {
            let mut res = Ok(());
            for (o, r, loc) in &rows {
                let at = loc
                    .as_ref()
                    .map_or(String::new(), |(f, l, c)| format!("{f}:{l}:{c}: "));
                res = res.and_then(|()| {
                    writeln!(
                        out,
                        "{at}StatefulSet {}/{} ({} replica{}): {}",
                        o.key.namespace,
                        o.key.name,
                        o.replicas(),
                        if o.replicas() == 1 { "" } else { "s" },
                        r.describe()
                    )
                });
            }
            res
        }
    };
    // input errors still go to stderr, with positions
    for e in &run.loaded.errors {
        match report.error_location(e) {
            Some(l) => eprintln!("error: {}:{}:{}: {}", e.file, l.line, l.column, e.message),
            None => eprintln!("error: {}: {}", e.file, e.message),
        }
    }
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return usage_error(e),
        _ => {}
    }
    if run.loaded.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

/// Transparent huge pages only cost us. For `check` (a short run that builds one large heap):
/// mimalloc asks for them (MADV_HUGEPAGE), and with the common `defrag=madvise` setting every
/// 2 MiB fault may compact memory and then zero the page: on the benchmark machine that was a
/// third of the CPU time of `check` at N=10k. For `serve`: a huge page is resident as a whole
/// once one byte of it is, which cost 26 MB of RSS (of 234 MB) with the watch caches of a
/// 100k-Service cluster (bench/cache-memory.sh). Disabling THP for this process keeps ordinary
/// 4 KiB pages.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // prctl(2) from the C library std already links (no libc crate needed for one call)
        unsafe extern "C" {
            fn prctl(option: i32, ...) -> i32;
        }
        const PR_SET_THP_DISABLE: i32 = 41;
        // SAFETY: PR_SET_THP_DISABLE takes four unsigned long arguments and only sets a flag on
        // this process; a failure (old kernel) is harmless and ignored.
        unsafe {
            prctl(
                PR_SET_THP_DISABLE,
                1 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
                0 as std::ffi::c_ulong,
            );
        }
    }
}

/// The configuration: `--config FILE` or `.statelint.yaml` found upward, then `--select` and
/// `--ignore`. `Err`: the usage error, already printed.
fn load_config(
    file: Option<&PathBuf>,
    select: &[String],
    ignore: &[String],
) -> Result<Config, ExitCode> {
    let config_path = match file {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| Config::discover(&d)),
    };
    let mut config = match config_path {
        Some(p) => Config::load(&p, &Registry).map_err(usage_error)?,
        None => Config::default(),
    };
    if !select.is_empty()
        && let Err(e) = config.select(select, &Registry)
    {
        return Err(usage_error(format!("--select: {e}")));
    }
    if let Err(e) = config.ignore(ignore, &Registry) {
        return Err(usage_error(format!("--ignore: {e}")));
    }
    Ok(config)
}

fn color_on(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

fn threshold(fail_on: FailOn) -> Option<Severity> {
    match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    }
}

#[cfg(feature = "cluster")]
fn run_audit(args: AuditArgs) -> ExitCode {
    use statelint::audit::{self, AuditOptions};
    if args.show_source && !matches!(args.format, AuditFormat::Human | AuditFormat::Json) {
        return usage_error("--show-source works with --format human or json");
    }
    let config = match load_config(args.config.as_ref(), &args.select, &args.ignore) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(format!("cannot start the runtime: {e}")),
    };
    let opts = AuditOptions {
        namespace: args.namespace.clone(),
        selector: args.selector.clone(),
        config,
        page_size: args.chunk_size,
        progress: std::io::stderr().is_terminal(),
    };
    let result = rt.block_on(async {
        let client = audit::client(args.kube_context.as_deref()).await?;
        let run = audit::audit(&client, &opts).await?;
        let mut sources = Vec::new();
        if args.show_source {
            let mut keys: Vec<_> = run
                .outcome
                .findings
                .iter()
                .chain(if args.show_suppressed {
                    &run.outcome.suppressed[..]
                } else {
                    &[]
                })
                .flat_map(|f| [f.object.key.clone(), f.at.object.key.clone()])
                .collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match audit::fetch(&client, &k).await {
                    Ok(v) => sources.push((k, v)),
                    Err(e) => eprintln!("warning: cannot fetch {k} for --show-source: {e}"),
                }
            }
        }
        anyhow::Ok((run, sources))
    });
    let (run, sources) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    // each kind that could not be listed, once
    for u in &run.unavailable {
        eprintln!("warning: {}", u.describe(opts.namespace.as_deref()));
    }
    let mut report = run.report();
    report.show_suppressed = args.show_suppressed;
    let color = color_on(args.color);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = match args.format {
        AuditFormat::Policyreport => {
            statelint::report::policyreport::write(&report, args.policy_report_api, &mut out)
        }
        AuditFormat::Json if args.show_source => {
            let mut v = statelint::report::json::to_value(&report);
            v["sources"] = sources
                .iter()
                .map(|(k, v)| serde_json::json!({ "object": k, "manifest": v }))
                .collect();
            serde_json::to_writer_pretty(&mut out, &v)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
        f => {
            let format = match f {
                AuditFormat::Human => Format::Human,
                AuditFormat::Json => Format::Json,
                AuditFormat::Sarif => Format::Sarif,
                AuditFormat::Junit => Format::Junit,
                _ => Format::Github,
            };
            report.write(format, color, &mut out).and_then(|()| {
                for (k, v) in &sources {
                    writeln!(
                        out,
                        "---\n# {k}: {}\n{}",
                        statelint::report::kubectl_get(k),
                        statelint::report::yaml::to_string(v)
                    )?;
                }
                Ok(())
            })
        }
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return usage_error(e),
        _ => drop(out),
    }
    let failed = threshold(args.fail_on)
        .is_some_and(|t| run.outcome.findings.iter().any(|f| f.severity >= t));
    if !run.errors.is_empty() {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_check(args: CheckArgs) -> ExitCode {
    no_huge_pages();
    let mut config = match load_config(args.config.as_ref(), &args.select, &args.ignore) {
        Ok(c) => c,
        Err(code) => return code,
    };
    config.render.values = args.values;
    config.render.set = args.set;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let opts = CheckOptions {
        paths,
        context: args.context,
        namespace: args.namespace,
        config,
        limits: Default::default(),
    };
    let run = check(&opts);
    let mut report = run.report();
    report.show_suppressed = args.show_suppressed;
    let color = color_on(args.color);
    // stdout is line-buffered: a report of many findings would be one write(2) per line
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match report
        .write(args.format, color, &mut out)
        .and_then(|()| out.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return usage_error(e),
        _ => drop(out),
    }
    for p in &run.empty_paths {
        eprintln!(
            "warning: no manifests found in {} (statelint reads *.yaml, *.yml and *.json files; \
             hidden and .gitignore'd ones are skipped)",
            p.display()
        );
    }
    let input_errors = !run.loaded.errors.is_empty();
    let failed = threshold(args.fail_on)
        .is_some_and(|t| run.outcome.findings.iter().any(|f| f.severity >= t));
    // the process exits now: freeing every object one by one would only cost time
    std::mem::forget(run);
    if input_errors {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
