//! Load test of the admission webhook on loopback over TLS (spec §6): N keep-alive connections
//! send reviews for a while; prints admissions/s and latency percentiles.
//!
//! ```sh
//! cargo run --release --features server --example webhook_load -- [CONNECTIONS=16] [SECONDS=10] [check|bare|floor]
//! ```
//!
//! - `check`: a ~1.3 KB Kafka StatefulSet CREATE whose companions (headless Service, PDB, the
//!   ZooKeeper ensemble) are known, every rule (examples/common/admit_reviews.rs);
//! - `bare`: the same review answered `allowed: true` once the StatefulSet is read, no rule;
//! - `floor`: a ConfigMap CREATE of the same size that no rule concerns: decode and answer;
//! - `decode`: SPEC section 6's floor, "a bare axum + rustls server decoding the review": the
//!   same Kafka StatefulSet review, decoded whole by axum's `Json<AdmissionReview<DynamicObject>>`
//!   extractor and answered `allowed: true` (same TLS certificates, same client).
//!
//! A fourth argument `logs` turns on `statelint serve`'s JSON logging (one decision line per
//! admission, to stderr: redirect it) for the statelint server.
//!
//! `REQUESTS=n` makes each connection send exactly n reviews instead of running for SECONDS:
//! the difference between two counts under callgrind or cachegrind is the whole process's cost
//! of one admission, TLS, HTTP and client included (docs/webhook.md). `WORKERS=n` sets the
//! runtime's worker threads (default: one per core).
//!
//! `URL=https://...` loads another server instead (a `statelint serve` process), trusting the
//! PEM certificate in the file `CA`; `webhook_load companions` prints the Kafka review's
//! companions as a JSON `List`, for that server's `--context` (bench/webhook.sh).
//!
//! `REVIEWS=DIR` sends, instead of the Kafka review, a CREATE review of each StatefulSet,
//! Service, PodDisruptionBudget and ConfigMap in DIR's manifests in turn, with every object
//! read there as the companions (`check` and `bare`; `decode` gets the same reviews, `floor`
//! its ConfigMap). scripts/pgo-build.sh trains the profile-guided build on `fixtures/` this
//! way: on other reviews than the benchmark's.

// the allocator `statelint serve` runs with (src/main.rs)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/admit_reviews.rs"]
mod admit_reviews;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use statelint::catalog::Companions;
use statelint::object::Object;
use statelint::webhook::{CompanionSource, ServeArgs};

fn bare(
    _: &[Arc<Object>],
    _: &dyn Companions,
    _: &statelint::config::Config,
) -> statelint::rules::Outcome {
    statelint::rules::Outcome::default()
}

fn main() {
    // WORKERS=n: the runtime's worker threads (default: one per core, as #[tokio::main])
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("WORKERS").ok().map(|n| n.parse().unwrap()) {
        rt.worker_threads(n);
    }
    rt.enable_all().build().unwrap().block_on(run());
}

async fn run() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conns: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    if args.first().map(String::as_str) == Some("companions") {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List",
            "items": admit_reviews::companion_values()});
        println!("{list}");
        return;
    }
    let mode = args.get(2).map(String::as_str).unwrap_or("check");
    let is_bare = mode == "bare";
    assert!(
        matches!(mode, "check" | "bare" | "floor" | "decode"),
        "check, bare, floor or decode, not {mode}"
    );
    let _logs = (args.get(3).map(String::as_str) == Some("logs"))
        .then(|| statelint::webhook::init_logging(statelint::webhook::LogFormat::Json));
    statelint::webhook::tls::install_default_provider();

    // certificates
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls.key"), key.serialize_pem()).unwrap();

    // REVIEWS=DIR: every object in DIR's manifests, as reviews and as companions
    let (catalog, from_dir) = match std::env::var_os("REVIEWS") {
        Some(dir) => {
            let (catalog, reviews) = admit_reviews::from_dir(dir.into());
            (catalog, Some(reviews))
        }
        None => (admit_reviews::companions(), None),
    };

    // URL=https://...: load that server (a `statelint serve` process, trusted by the PEM
    // certificate in CA) instead of one started here
    let (url, ca_pem, _server) = match std::env::var("URL") {
        Ok(external) => {
            let ca = std::env::var("CA").expect("URL needs CA=<PEM file of its certificate>");
            (external, std::fs::read_to_string(ca).unwrap(), None)
        }
        Err(_) => {
            let mut sargs = ServeArgs::local();
            sargs.insecure_http = false;
            sargs.tls_cert = Some(dir.path().join("tls.crt"));
            sargs.tls_key = Some(dir.path().join("tls.key"));
            let runner: statelint::webhook::admit::Runner =
                if is_bare { bare } else { statelint::rules::run };
            let server = statelint::webhook::start_with_runner(
                &sargs,
                CompanionSource::Static(Arc::new(catalog)),
                runner,
            )
            .await
            .unwrap();
            let port = if mode == "decode" {
                bare_axum(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).await
            } else {
                server.addr.port()
            };
            (
                format!("https://127.0.0.1:{port}/validate"),
                ca_pem,
                Some(server),
            )
        }
    };

    let (sts, floor) = admit_reviews::reviews();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(match from_dir {
        _ if mode == "floor" => vec![floor],
        Some(reviews) => reviews,
        None => vec![sts],
    });
    let size = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    // REQUESTS=n: each connection sends exactly n reviews, whatever the time (for callgrind)
    let requests: Option<usize> = std::env::var("REQUESTS").ok().map(|n| n.parse().unwrap());
    let mut tasks = Vec::new();
    for conn in 0..conns {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        let (url, bodies) = (url.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while requests.map_or(Instant::now() < deadline, |n| lat.len() < n) {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(bodies[(conn + lat.len()) % bodies.len()].clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                lat.push(t.elapsed().as_micros() as u32);
            }
            lat
        }));
    }
    let started = Instant::now();
    let cpu_start = cpu_seconds();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    // CPU time of the whole process (server and client) per admission: unlike admissions/s,
    // it hardly moves with what else runs on the machine
    let cpu_us = cpu_seconds()
        .zip(cpu_start)
        .map(|(end, start)| (end - start) * 1e6 / all.len() as f64);
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{} connections, {:.1}s, {} ({size} B): {} admissions, {:.0}/s, p50 {}µs, p99 {}µs, max {}µs, cpu {}µs/admission",
        conns,
        elapsed,
        match mode {
            "bare" => "bare (no rules)",
            "floor" => "floor (ConfigMap, no rule)",
            "decode" => "decode (bare axum server, the review decoded whole)",
            _ => "rules",
        },
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.last().unwrap(),
        cpu_us.map_or("?".to_string(), |c| format!("{c:.1}"))
    );
}

/// SPEC section 6's floor: a bare axum + rustls server that decodes the review (axum's `Json`
/// extractor into kube's typed `AdmissionReview<DynamicObject>`) and answers `allowed: true`.
/// Returns its port.
async fn bare_axum(cert: &std::path::Path, key: &std::path::Path) -> u16 {
    use axum::Json;
    use kube::core::DynamicObject;
    use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
    async fn validate(
        Json(review): Json<AdmissionReview<DynamicObject>>,
    ) -> Json<AdmissionReview<DynamicObject>> {
        let req: AdmissionRequest<DynamicObject> = review.try_into().unwrap();
        Json(AdmissionResponse::from(&req).into_review())
    }
    let app = axum::Router::new().route("/validate", axum::routing::post(validate));
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum_server::from_tcp_rustls(listener, tls)
            .unwrap()
            .serve(app.into_make_service())
            .await
            .unwrap();
    });
    port
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the parenthesised command name; utime and stime are the 12th and 13th
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux
    Some(ticks / 100.0)
}
