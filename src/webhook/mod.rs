//! `statelint serve`: the validating admission webhook.
//!
//! One listener (HTTPS by default, rustls + ring, TLS 1.2+) serves:
//! - `POST /validate`: `admission.k8s.io/v1` AdmissionReview in and out (see [`admit`]);
//! - `GET /healthz`: live; `GET /readyz`: TLS loaded and watch caches synced (503 before, and
//!   once shutdown has begun); `GET /metrics`: Prometheus text.
//!
//! A Content-Type other than `application/json` or any Content-Encoding gets 415; bodies over
//! 3 MiB get 413; malformed JSON or a wrong apiVersion/kind gets 400 with
//! `{"error": "..."}`; headers and whole requests are cut by `--request-timeout-ms`; a panic
//! becomes a 500. While the watch caches have not synced yet, `/validate` answers 503 (the API
//! server then applies the webhook's `failurePolicy`) rather than judge from empty caches.
//!
//! SIGTERM: `/readyz` turns 503 at once while the server keeps accepting and answering for
//! `--shutdown-delay-seconds` (the API server keeps calling a pod until its endpoint is gone),
//! then it stops accepting, drains in-flight requests and returns. Ctrl-C (SIGINT) or a second
//! SIGTERM skips the delay.
//!
//! [`start`] binds and returns the bound address and a handle, for tests and embedding;
//! [`run`] is the CLI entry point.

pub mod admit;
pub mod cluster;
pub mod live;
pub mod metrics;
pub mod packed;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kube::core::DynamicObject;
use kube::core::admission::AdmissionRequest;
use serde_json::json;

use crate::catalog::{Catalog, Companions};
use crate::config::Config;
use admit::{Mode, Reviewer};
use cluster::ClusterCache;
use live::LiveReader;
use metrics::{LiveReadLabels, Metrics, RuleLabels};

/// Largest AdmissionReview body accepted.
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// `serve` without a certificate.
pub const NO_TLS: &str = "statelint serve needs TLS: give --tls-cert FILE and --tls-key FILE \
(the API server calls webhooks over HTTPS only), or --insecure-http to serve plain HTTP for \
local tests (with --no-cluster, and --context DIR for companions from files)";

/// Options of `statelint serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub addr: String,
    /// PEM certificate (chain) file; reloaded when it changes on disk. Required, with
    /// --tls-key, unless --insecure-http.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key file; reloaded when it changes on disk.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (local tests only; the API server requires HTTPS).
    #[arg(long)]
    pub insecure_http: bool,
    /// Config file (same format as `.statelint.yaml`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// enforce: error findings deny; warn: allow everything, findings become warnings.
    #[arg(long, value_enum, default_value = "enforce")]
    pub mode: Mode,
    /// Cut a request (headers, body and answer) after this many milliseconds.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Do not talk to the Kubernetes API: companions come only from the request itself and
    /// from --context files.
    #[arg(long)]
    pub no_cluster: bool,
    /// Read companions (Services, PDBs, ConfigMaps, ZooKeeper StatefulSets) from these files
    /// or folders, once at start (repeatable; with --no-cluster): local and CI use.
    #[arg(long, value_name = "PATH", requires = "no_cluster")]
    pub context: Vec<PathBuf>,
    /// Log format: json (one JSON object a line) or text.
    #[arg(long, value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// On SIGTERM, keep accepting and answering (with /readyz 503) for this many seconds before
    /// draining, while the API server still routes to this pod.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub shutdown_delay_seconds: u64,
    /// /readyz turns 503 when the list/watch of Services, PDBs or StatefulSets has been
    /// failing for longer than this many seconds.
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub watch_failure_grace_seconds: u64,
    /// Also audit every namespace this often (`30m`, `1h`, `1h30m`) and write one report per
    /// namespace by server-side apply, for Policy Reporter and other dashboards (the first run
    /// starts at once). Needs the report CRD and RBAC to get, create and patch reports (the
    /// chart's `reports.enabled`); see docs/audit.md.
    #[arg(long, value_name = "D", value_parser = crate::audit::parse_interval, conflicts_with = "no_cluster")]
    pub audit_interval: Option<Duration>,
    /// API of the reports `--audit-interval` writes: OpenReports `openreports.io/v1alpha1`
    /// Report, or `wgpolicyk8s.io/v1alpha2` PolicyReport.
    #[arg(long, value_enum, default_value = "openreports")]
    pub audit_report_api: crate::report::policyreport::Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

impl ServeArgs {
    /// Defaults for tests and embedding: plain HTTP on 127.0.0.1:0, no cluster.
    pub fn local() -> Self {
        ServeArgs {
            addr: "127.0.0.1:0".into(),
            tls_cert: None,
            tls_key: None,
            insecure_http: true,
            config: None,
            mode: Mode::Enforce,
            request_timeout_ms: 10_000,
            no_cluster: true,
            context: Vec::new(),
            log_format: LogFormat::Text,
            shutdown_delay_seconds: 0,
            watch_failure_grace_seconds: 15,
            audit_interval: None,
            audit_report_api: Default::default(),
        }
    }
}

/// Where companions come from.
pub enum CompanionSource {
    /// None (`--no-cluster`): only the object under admission.
    Empty,
    /// A fixed set (tests, or objects read from files).
    Static(Arc<dyn Companions>),
    /// Watch caches over this cluster.
    Cluster(kube::Client),
}

struct Inner {
    config: Config,
    mode: Mode,
    companions: Arc<dyn Companions>,
    cache: Option<Arc<ClusterCache>>,
    /// Live reads before denying for a companion the caches lack (with a cluster).
    live: Option<Arc<dyn LiveReader>>,
    tls_loaded: AtomicBool,
    stopping: AtomicBool,
    metrics: Metrics,
    runner: admit::Runner,
}

impl Inner {
    fn reviewer(&self) -> Reviewer<'_> {
        Reviewer {
            companions: self.companions.as_ref(),
            config: &self.config,
            mode: self.mode,
            runner: self.runner,
        }
    }

    fn ready(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::Acquire) {
            return Err("shutting down".into());
        }
        if !self.tls_loaded.load(Ordering::Acquire) {
            return Err("TLS not loaded".into());
        }
        match &self.cache {
            Some(c) => c.readiness(),
            None => Ok(()),
        }
    }
}

/// A running server.
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Whether it serves TLS.
    pub tls: bool,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    inner: Arc<Inner>,
    grace: Duration,
}

impl Running {
    /// Report not ready (`/readyz` 503) but keep accepting and answering: the first step of a
    /// graceful shutdown.
    pub fn begin_shutdown(&self) {
        self.inner.stopping.store(true, Ordering::Release);
    }

    /// Stop accepting, let in-flight requests finish (up to the request timeout), then stop.
    pub fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        self.handle.graceful_shutdown(Some(self.grace));
    }

    /// Wait until the server has stopped.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("server task")?.context("server")?;
        Ok(())
    }

    /// What `/readyz` would answer.
    pub fn is_ready(&self) -> bool {
        self.inner.ready().is_ok()
    }

    /// The companion view admissions read (the watch caches with a cluster).
    pub fn companions(&self) -> Arc<dyn Companions> {
        self.inner.companions.clone()
    }
}

/// Bind, load TLS, start the watchers (if any) and serve in the background.
pub async fn start(args: &ServeArgs, source: CompanionSource) -> anyhow::Result<Running> {
    start_with_runner(args, source, crate::rules::run).await
}

/// [`start`] with companions from `source` and live reads (before denying for a missing
/// companion) through `live` instead of the cluster client (tests count them).
pub async fn start_with_live(
    args: &ServeArgs,
    source: CompanionSource,
    live: Arc<dyn LiveReader>,
) -> anyhow::Result<Running> {
    start_inner(args, source, crate::rules::run, Some(live)).await
}

/// [`start`] with another rule engine (tests).
pub async fn start_with_runner(
    args: &ServeArgs,
    source: CompanionSource,
    runner: admit::Runner,
) -> anyhow::Result<Running> {
    start_inner(args, source, runner, None).await
}

async fn start_inner(
    args: &ServeArgs,
    source: CompanionSource,
    runner: admit::Runner,
    live: Option<Arc<dyn LiveReader>>,
) -> anyhow::Result<Running> {
    tls::install_default_provider();
    let config = match &args.config {
        Some(p) => Config::load(p, &crate::rules::Registry).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Config::default(),
    };
    let timeout = Duration::from_millis(args.request_timeout_ms.max(1));
    let metrics = Metrics::new();
    let (companions, cache, live): (Arc<dyn Companions>, _, _) = match source {
        CompanionSource::Empty => (Arc::new(Catalog::default()), None, live),
        CompanionSource::Static(c) => (c, None, live),
        CompanionSource::Cluster(client) => {
            let cache = Arc::new(ClusterCache::new(
                metrics.watch.clone(),
                Duration::from_secs(args.watch_failure_grace_seconds),
            ));
            cache.spawn(client.clone());
            let live =
                live.or_else(|| Some(Arc::new(live::KubeReader(client)) as Arc<dyn LiveReader>));
            (cache.clone() as Arc<dyn Companions>, Some(cache), live)
        }
    };
    let inner = Arc::new(Inner {
        config,
        mode: args.mode,
        companions,
        cache,
        live,
        tls_loaded: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        metrics,
        runner,
    });
    let app = router(inner.clone(), timeout);

    let listener = std::net::TcpListener::bind(&args.addr)
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let make = app.into_make_service();
    let task = if args.insecure_http {
        let mut server = axum_server::from_tcp(listener)?.handle(handle.clone());
        tune(&mut server, timeout);
        inner.tls_loaded.store(true, Ordering::Release);
        tokio::spawn(server.first_request_timeout(timeout).serve(make))
    } else {
        let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
            anyhow::bail!("{NO_TLS}");
        };
        let (server_config, fingerprint) = tls::load(cert, key)?;
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(server_config));
        let reloader = tls::Reloader::new(cert.clone(), key.clone(), rustls.clone(), fingerprint);
        tokio::spawn(reloader.run(Duration::from_secs(30)));
        let mut server = axum_server::from_tcp_rustls(listener, rustls)?
            .handle(handle.clone())
            .map(|a| a.handshake_timeout(timeout));
        tune(&mut server, timeout);
        inner.tls_loaded.store(true, Ordering::Release);
        tokio::spawn(server.first_request_timeout(timeout).serve(make))
    };
    tracing::info!(%addr, tls = !args.insecure_http, mode = ?args.mode, "statelint webhook listening");
    Ok(Running {
        addr,
        tls: !args.insecure_http,
        handle,
        task,
        inner,
        grace: timeout + Duration::from_secs(1),
    })
}

fn tune<A: axum_server::Address, Acc>(server: &mut axum_server::Server<A, Acc>, timeout: Duration) {
    server
        .http_builder()
        .http1()
        .header_read_timeout(Some(timeout))
        .max_buf_size(64 * 1024);
}

fn router(inner: Arc<Inner>, timeout: Duration) -> Router {
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::timeout::TimeoutLayer;
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("panic while answering a request");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            },
        ))
        .with_state(inner)
}

/// An error answer, `{"error": msg}`. Logs nothing: each path logs its request once.
fn error_response(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": msg.into() }))).into_response()
}

/// A request answered with an error: one log line (with the reason), counted in the metrics.
fn reject(inner: &Inner, started: Instant, status: StatusCode, msg: String) -> Response {
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = %msg, "request failed");
    } else {
        tracing::warn!(status = status.as_u16(), error = %msg, "bad admission request");
    }
    count_error(inner, started, error_response(status, msg))
}

async fn readyz(State(inner): State<Arc<Inner>>) -> Response {
    match inner.ready() {
        Ok(()) => "ready\n".into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn metrics_text(State(inner): State<Arc<Inner>>) -> Response {
    if let Some(c) = &inner.cache {
        c.export_metrics();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        inner.metrics.encode(),
    )
        .into_response()
}

/// The API server always sends an uncompressed `application/json` body: anything else is
/// answered 415 before the body is looked at (a gzip body is never inflated).
fn check_media(headers: &HeaderMap) -> Result<(), String> {
    if let Some(enc) = headers.get(header::CONTENT_ENCODING)
        && !enc
            .as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b"identity")
    {
        let enc = String::from_utf8_lossy(enc.as_bytes());
        return Err(format!(
            "Content-Encoding {:?} not supported: send an uncompressed application/json AdmissionReview",
            enc.trim()
        ));
    }
    let ct = headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes());
    // the media type before any parameter (`; charset=utf-8`), compared without allocating
    let essence = ct.map(|c| c.split(|b| *b == b';').next().unwrap_or(b"").trim_ascii());
    if !essence.is_some_and(|e| e.eq_ignore_ascii_case(b"application/json")) {
        return Err(match ct {
            Some(c) => format!(
                "Content-Type must be application/json, not {:?}",
                String::from_utf8_lossy(c)
            ),
            None => "Content-Type must be application/json (none given)".to_string(),
        });
    }
    Ok(())
}

async fn validate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // The common path is synchronous. Only a decision the watch caches could not settle awaits
    // (live reads), and that future is boxed: the handler's own future stays small, so axum
    // does not allocate and copy kilobytes for every request (it did: 9 KB per admission).
    let started = Instant::now();
    match review_body(&inner, &headers, body, started) {
        Step::Answered(response) => response,
        Step::Confirm(pending) => Box::pin(confirm_and_answer(inner, *pending, started)).await,
    }
}

/// What [`review_body`] leaves to do.
enum Step {
    Answered(Response),
    /// A decision to confirm with live reads ([`live::confirm`]) before answering.
    Confirm(Box<(Box<AdmissionRequest<DynamicObject>>, admit::Decision)>),
}

/// Decode and review one request body; answer it unless the decision needs live reads.
fn review_body(
    inner: &Inner,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    started: Instant,
) -> Step {
    if let Err(msg) = check_media(headers) {
        return Step::Answered(reject(
            inner,
            started,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            msg,
        ));
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            let status = e.status();
            let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("request body larger than {MAX_BODY} bytes")
            } else {
                e.body_text()
            };
            return Step::Answered(reject(inner, started, status, msg));
        }
    };
    let review = match admit::decode(&body) {
        Ok(r) => r,
        Err(msg) => return Step::Answered(reject(inner, started, StatusCode::BAD_REQUEST, msg)),
    };
    // Empty caches would deny StatefulSets for companions that exist: before the first sync,
    // answer an error and let the API server apply the webhook's failurePolicy.
    if let Some(c) = &inner.cache
        && !c.synced()
    {
        let why = c.readiness().err().unwrap_or_default();
        return Step::Answered(reject(
            inner,
            started,
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{why}; cannot check companions yet (the API server applies the webhook's failurePolicy)"
            ),
        ));
    }
    // the request stays here for the log line and the metrics; the objects go to the review
    let admit::Review {
        req,
        object,
        old_object,
    } = review;
    let reviewer = inner.reviewer();
    let decision = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reviewer.review_request(&req, object, old_object)
    })) {
        Ok(d) => d,
        Err(_) => {
            tracing::error!(uid = %req.uid, kind = %req.kind.kind, namespace = req.namespace.as_deref().unwrap_or_default(), name = %req.name, "panic while checking; answering 500");
            return Step::Answered(count_error(
                inner,
                started,
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error while checking",
                ),
            ));
        }
    };
    if inner.live.is_some() && decision.recheck.is_some() {
        return Step::Confirm(Box::new((req, decision)));
    }
    Step::Answered(answer(inner, &req, decision, started))
}

/// Confirm a decision with live reads, then answer it.
async fn confirm_and_answer(
    inner: Arc<Inner>,
    (req, decision): (Box<AdmissionRequest<DynamicObject>>, admit::Decision),
    started: Instant,
) -> Response {
    let Some(live) = &inner.live else {
        return answer(&inner, &req, decision, started);
    };
    let (decision, stats) = live::confirm(&inner.reviewer(), decision, live.as_ref()).await;
    let m = &inner.metrics.live_reads;
    for (result, n) in [
        ("found", stats.found),
        ("missing", stats.missing),
        ("failed", stats.failed),
    ] {
        if n > 0 {
            m.get_or_create(&LiveReadLabels { result }).inc_by(n as u64);
        }
    }
    tracing::debug!(uid = %req.uid, reads = stats.reads, found = stats.found, failed = stats.failed, "read-after-write check");
    answer(&inner, &req, decision, started)
}

/// The answer to a reviewed request, counted in the metrics and logged in one line.
fn answer(
    inner: &Inner,
    req: &AdmissionRequest<DynamicObject>,
    decision: admit::Decision,
    started: Instant,
) -> Response {
    let out = decision.response.into_review();
    let response = axum::Json(out).into_response();
    let elapsed = started.elapsed();
    let m = &inner.metrics;
    m.count_request(decision.verdict, &req.kind.kind);
    for p in &decision.problems {
        m.findings
            .get_or_create(&RuleLabels {
                code: p.code,
                rule: p.slug,
                severity: p.severity.as_str(),
            })
            .inc();
    }
    m.latency.observe(elapsed.as_secs_f64());
    tracing::info!(
        uid = %req.uid,
        kind = %req.kind.kind,
        namespace = req.namespace.as_deref().unwrap_or_default(),
        name = %req.name,
        operation = ?req.operation,
        dry_run = req.dry_run,
        verdict = decision.verdict.as_str(),
        rules = %Codes(&decision.problems),
        latency_us = elapsed.as_micros() as u64,
        "admission"
    );
    response
}

/// The codes of the findings, comma-separated (written into the log line, not collected).
struct Codes<'a>(&'a [admit::Problem]);

impl std::fmt::Display for Codes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(p.code)?;
        }
        Ok(())
    }
}

fn count_error(inner: &Inner, started: Instant, response: Response) -> Response {
    inner.metrics.count_unreviewed();
    inner
        .metrics
        .latency
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Logs go to stderr through a background writer thread: a write(2) per decision on the
/// request path cost a third of the throughput. The queue is not lossy (a full queue applies
/// backpressure rather than dropping decisions); the returned guard flushes it on exit. The
/// writer buffers what it takes from the queue and flushes each time the queue is empty, so a
/// busy server writes a batch of lines per write(2), not one each, and a quiet one writes each
/// line at once.
pub fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("statelint-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let filter = EnvFilter::try_from_env("STATELINT_LOG")
        .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| EnvFilter::new("info,kube=warn,hyper=warn,rustls=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    guard
}

/// Companions read from files and folders (`serve --context`), as `check --context` reads them:
/// a path that does not exist is an error; a file that does not parse (a Helm template) only
/// contributes nothing, with a warning in the log. Objects without a namespace are in `default`.
pub fn load_context(paths: &[PathBuf]) -> anyhow::Result<Catalog> {
    let mut missing = Vec::new();
    let files = crate::source::discover(paths, &mut missing);
    if let Some(e) = missing.first() {
        anyhow::bail!("--context {}: {}", e.file, e.message);
    }
    let mut loaded = crate::source::Loaded::default();
    let objects = crate::source::load_paths(
        &files,
        "default",
        &crate::source::Limits::default(),
        &mut loaded,
    );
    for e in &loaded.errors {
        tracing::warn!(file = %e.file, error = %e.message, "--context file skipped");
    }
    tracing::info!(
        files = files.len(),
        objects = objects.len(),
        "companions loaded from --context"
    );
    Ok(Catalog::new(objects))
}

/// `statelint serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let _log_guard = init_logging(args.log_format);
    if !args.insecure_http && (args.tls_cert.is_none() || args.tls_key.is_none()) {
        anyhow::bail!("{NO_TLS}");
    }
    tls::install_default_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(async move {
        let source = if !args.context.is_empty() {
            CompanionSource::Static(Arc::new(load_context(&args.context)?))
        } else if args.no_cluster {
            CompanionSource::Empty
        } else {
            let config = kube::Config::infer()
                .await
                .context("cannot reach the Kubernetes API (use --no-cluster to run without it)")?;
            let client = cluster::client(config).context("Kubernetes client")?;
            if let Some(every) = args.audit_interval {
                let config = match &args.config {
                    Some(p) => Config::load(p, &crate::rules::Registry)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                    None => Config::default(),
                };
                tokio::spawn(audit_reports(
                    client.clone(),
                    config,
                    every,
                    args.audit_report_api,
                ));
            }
            CompanionSource::Cluster(client)
        };
        // handlers first: a SIGTERM right after the "listening" line must drain, not kill
        let mut signals = Signals::new()?;
        let running = start(&args, source).await?;
        let first = signals.next().await;
        let delay = Duration::from_secs(args.shutdown_delay_seconds);
        if first == Signal::Term && !delay.is_zero() {
            running.begin_shutdown();
            // a second SIGTERM or Ctrl-C drains at once
            tracing::info!(
                delay_s = delay.as_secs(),
                "SIGTERM: not ready; answering until the shutdown delay ends"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = signals.next() => {}
            }
        }
        tracing::info!("shutting down: draining in-flight requests");
        running.shutdown();
        running.wait().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// `--audit-interval`: audit the cluster and write its reports, now and then every `every`.
/// A failed run is logged and retried at the next tick; it never affects admissions.
async fn audit_reports(
    client: kube::Client,
    config: Config,
    every: Duration,
    api: crate::report::policyreport::Api,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let started = Instant::now();
        match crate::audit::write_reports(&client, &config, api).await {
            Ok((run, written)) => {
                for u in &run.unavailable {
                    tracing::warn!(kind = u.resource.plural, "audit: {}", u.describe(None));
                }
                tracing::info!(
                    statefulsets = run.statefulsets(),
                    findings = run.outcome.findings.len(),
                    reports = written,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "audit reports written"
                );
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "audit failed; retrying at the next interval")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Term,
    Int,
}

/// SIGTERM and SIGINT (Ctrl-C). The handlers are installed when this is created, so create it
/// before the server announces itself.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate()).context("SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("SIGINT handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => Signal::Term,
                _ = self.int.recv() => Signal::Int,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Int
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// axum boxes the future of every request's handler: a large one is allocated and copied
    /// per request (the live-read path once made it 9 KB, a tenth of an admission's CPU).
    #[test]
    fn the_handler_future_stays_small() {
        let inner = Arc::new(Inner {
            config: Config::default(),
            mode: Mode::Enforce,
            companions: Arc::new(Catalog::default()),
            cache: None,
            live: None,
            tls_loaded: AtomicBool::new(true),
            stopping: AtomicBool::new(false),
            metrics: Metrics::new(),
            runner: crate::rules::run,
        });
        let future = validate(State(inner), HeaderMap::new(), Ok(Bytes::new()));
        let size = std::mem::size_of_val(&future);
        assert!(
            size <= 512,
            "the /validate handler's future is {size} bytes"
        );
    }
}
