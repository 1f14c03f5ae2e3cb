//! Load test of the admission webhook on loopback over TLS (spec §6): N keep-alive connections
//! send StatefulSet CREATE reviews (a good ZooKeeper StatefulSet whose Service and PDB are
//! known companions) for a while; prints admissions/s and latency percentiles.
//!
//! ```sh
//! cargo run --release --features server --example webhook_load -- [CONNECTIONS=16] [SECONDS=10] [check|bare]
//! ```
//!
//! `bare` answers `allowed: true` after decoding, without running the rules (the baseline).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::json;
use statelint::catalog::{Catalog, Companions};
use statelint::object::Object;
use statelint::webhook::{CompanionSource, ServeArgs};

fn bare(
    _: &[Arc<Object>],
    _: &dyn Companions,
    _: &statelint::config::Config,
) -> statelint::rules::Outcome {
    statelint::rules::Outcome::default()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conns: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(16);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let is_bare = args.get(2).is_some_and(|a| a == "bare");
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

    // companions
    let companions = [
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "zk-hs", "namespace": "data"},
            "spec": {"clusterIP": "None", "selector": {"app": "zk"}, "ports": [{"port": 2181}]}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "zk-pdb", "namespace": "data"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "zk"}}}}),
    ];
    let catalog = Catalog::new(companions.iter().map(|v| {
        Arc::new(
            Object::from_value(v.clone(), None, "data")
                .unwrap()
                .unwrap(),
        )
    }));

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
    let url = format!("https://127.0.0.1:{}/validate", server.addr.port());

    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "zk", "namespace": "data"},
        "spec": {"replicas": 3, "serviceName": "zk-hs",
            "selector": {"matchLabels": {"app": "zk"}},
            "template": {"metadata": {"labels": {"app": "zk"}},
                "spec": {
                    "securityContext": {"fsGroup": 1000, "runAsUser": 1000},
                    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "zk"}}, "topologyKey": "kubernetes.io/hostname"}]}},
                    "containers": [{"name": "zk", "image": "zookeeper:3.9",
                        "ports": [{"containerPort": 2181}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "resources": {"requests": {"storage": "10Gi"}}}}]}});
    let body = serde_json::to_vec(
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
            "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
            "name": "zk", "namespace": "data", "operation": "CREATE", "userInfo": {},
            "object": sts, "dryRun": false}}),
    )
    .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
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
        let (url, body) = (url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
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
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{} connections, {:.1}s, {}: {} admissions, {:.0}/s, p50 {}µs, p99 {}µs, max {}µs",
        conns,
        elapsed,
        if is_bare { "bare (no rules)" } else { "rules" },
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.last().unwrap()
    );
}
