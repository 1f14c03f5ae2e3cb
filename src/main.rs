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
        #[cfg(feature = "server")]
        Command::Serve(args) => match statelint::webhook::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
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

/// A short run that builds one large heap: transparent huge pages only cost. mimalloc asks for
/// them (MADV_HUGEPAGE), and with the common `defrag=madvise` setting every 2 MiB fault may
/// compact memory and then zero the page: on the benchmark machine that was a third of the
/// CPU time of `check` at N=10k. Disabling THP for this process keeps ordinary 4 KiB pages.
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

fn run_check(args: CheckArgs) -> ExitCode {
    no_huge_pages();
    let config_path = match &args.config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| Config::discover(&d)),
    };
    let mut config = match config_path {
        Some(p) => match Config::load(&p, &Registry) {
            Ok(c) => c,
            Err(e) => return usage_error(e),
        },
        None => Config::default(),
    };
    if !args.select.is_empty()
        && let Err(e) = config.select(&args.select, &Registry)
    {
        return usage_error(format!("--select: {e}"));
    }
    if let Err(e) = config.ignore(&args.ignore, &Registry) {
        return usage_error(format!("--ignore: {e}"));
    }
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
    let color = match args.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
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
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    let failed = threshold.is_some_and(|t| run.outcome.findings.iter().any(|f| f.severity >= t));
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
