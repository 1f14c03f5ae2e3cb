//! Shared helpers for the webhook tests: certificates made with rcgen, an HTTPS client that
//! trusts a given CA, AdmissionReview builders, and polling with a generous deadline.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

/// A test CA that signs server certificates for 127.0.0.1 / localhost.
pub struct Ca {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// (certificate PEM, key PEM) for 127.0.0.1 and localhost.
    pub fn server_cert(&self) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "statelint test");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A Secret-volume-like folder: `..data` -> `..vN/`, `tls.crt` -> `..data/tls.crt`.
pub struct SecretDir {
    pub dir: tempfile::TempDir,
    version: usize,
}

impl SecretDir {
    pub fn new(cert: &str, key: &str) -> SecretDir {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SecretDir { dir, version: 0 };
        s.rotate(cert, key);
        std::os::unix::fs::symlink("..data/tls.crt", s.dir.path().join("tls.crt")).unwrap();
        std::os::unix::fs::symlink("..data/tls.key", s.dir.path().join("tls.key")).unwrap();
        s
    }

    /// Write a new version and swap `..data` atomically, as the kubelet does.
    pub fn rotate(&mut self, cert: &str, key: &str) {
        self.version += 1;
        let v = format!("..v{}", self.version);
        let vdir = self.dir.path().join(&v);
        std::fs::create_dir(&vdir).unwrap();
        std::fs::write(vdir.join("tls.crt"), cert).unwrap();
        std::fs::write(vdir.join("tls.key"), key).unwrap();
        let tmp = self.dir.path().join("..data_tmp");
        std::os::unix::fs::symlink(&v, &tmp).unwrap();
        std::fs::rename(&tmp, self.dir.path().join("..data")).unwrap();
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("tls.crt")
    }

    pub fn key(&self) -> PathBuf {
        self.dir.path().join("tls.key")
    }
}

/// An HTTPS client trusting only these CAs; `fresh` opens a new connection per request.
pub fn https_client(cas: &[&str], fresh: bool) -> reqwest::Client {
    statelint::webhook::tls::install_default_provider();
    let mut roots = rustls::RootCertStore::empty();
    for pem in cas {
        for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut b = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(30));
    if fresh {
        b = b.pool_max_idle_per_host(0);
    }
    b.build().unwrap()
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Poll `f` until it returns Some, or panic after a generous deadline.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An AdmissionReview as the API server sends it.
pub fn review(op: &str, object: Option<&Value>, old: Option<&Value>) -> Value {
    let o = object.or(old).unwrap();
    let av = o["apiVersion"].as_str().unwrap();
    let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
    let kind = o["kind"].as_str().unwrap();
    let resource = match kind {
        "StatefulSet" => "statefulsets",
        "Service" => "services",
        "PodDisruptionBudget" => "poddisruptionbudgets",
        "ConfigMap" => "configmaps",
        _ => "others",
    };
    let ns = o["metadata"]["namespace"].as_str().unwrap_or("default");
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("uid-{}-{}", op, o["metadata"]["name"].as_str().unwrap_or("")),
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": o["metadata"]["name"],
            "namespace": ns,
            "operation": op,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
            "object": object,
            "oldObject": old,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": format!("{}Options", op.to_ascii_lowercase())}
        }
    })
}

/// What `statelint check` reports for the StatefulSet `name` when `objects` are in one file
/// (companions first): (code, severity, message) of each finding.
pub fn cli_findings(objects: &[Value], name: &str) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("manifests.yaml");
    // JSON is YAML: one flow document per object
    let text: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
    std::fs::write(&p, text.join("\n---\n")).unwrap();
    let run = statelint::check(&statelint::CheckOptions {
        paths: vec![p],
        namespace: "data".into(),
        ..Default::default()
    });
    assert!(run.loaded.errors.is_empty(), "fixture does not parse");
    run.outcome
        .findings
        .iter()
        .filter(|f| f.object.key.kind == "StatefulSet" && f.object.key.name == name)
        .map(|f| {
            (
                f.rule.code.to_string(),
                f.severity.as_str().to_string(),
                f.message.clone(),
            )
        })
        .collect()
}
pub mod fake_apiserver;
