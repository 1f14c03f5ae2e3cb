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
use statelint::catalog::{Catalog, Companions};
use statelint::object::Object;
use statelint::webhook::admit::Mode;
use statelint::webhook::{CompanionSource, Running, ServeArgs};

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

/// A `statefulsets/scale` UPDATE review (`kubectl scale`, an HPA) from `from` to `to` replicas.
pub fn scale_review(namespace: &str, name: &str, from: i32, to: i32) -> Value {
    let scale = |n: i32| {
        json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": n}, "status": {"replicas": from, "selector": format!("app={name}")}})
    };
    let gvk = json!({"group": "autoscaling", "version": "v1", "kind": "Scale"});
    let gvr = json!({"group": "apps", "version": "v1", "resource": "statefulsets"});
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("uid-scale-{name}-{to}"),
            "kind": gvk, "resource": gvr, "subResource": "scale",
            "requestKind": gvk, "requestResource": gvr, "requestSubResource": "scale",
            "name": name, "namespace": namespace, "operation": "UPDATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:horizontal-pod-autoscaler"},
            "object": scale(to), "oldObject": scale(from), "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions"}
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
pub mod serve_process;

// ---------- manifests ----------

pub fn zk_sts() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "zk", "namespace": "data"},
        "spec": {"replicas": 3, "serviceName": "zk-hs",
            "selector": {"matchLabels": {"app": "zk"}},
            "template": {"metadata": {"labels": {"app": "zk"}},
                "spec": {
                    "securityContext": {"fsGroup": 1000, "runAsUser": 1000, "runAsNonRoot": true},
                    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "zk"}},
                         "topologyKey": "kubernetes.io/hostname"}]}},
                    "containers": [{"name": "zk", "image": "zookeeper:3.9",
                        "ports": [{"containerPort": 2181, "name": "client"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "resources": {"requests": {"storage": "10Gi"}}}}]}})
}

pub fn headless(name: &str, app: &str, port: u16) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {"clusterIP": "None", "selector": {"app": app},
            "ports": [{"name": "p", "port": port}]}})
}

pub fn pdb(name: &str, app: &str, min: i32) -> Value {
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {"minAvailable": min, "selector": {"matchLabels": {"app": app}}}})
}

pub fn kafka_sts(connect: &str) -> Value {
    let mut k = zk_sts();
    k["metadata"]["name"] = json!("kafka");
    k["spec"]["serviceName"] = json!("kafka-hs");
    k["spec"]["selector"]["matchLabels"]["app"] = json!("kafka");
    k["spec"]["template"]["metadata"]["labels"]["app"] = json!("kafka");
    let pod = &mut k["spec"]["template"]["spec"];
    pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]
        ["matchLabels"]["app"] = json!("kafka");
    pod["containers"][0] = json!({"name": "kafka", "image": "confluentinc/cp-kafka:7.6.0",
        "ports": [{"containerPort": 9092}],
        "env": [{"name": "KAFKA_ZOOKEEPER_CONNECT", "value": connect}],
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/kafka"}]});
    k
}

pub fn zk_companions() -> Vec<Value> {
    vec![headless("zk-hs", "zk", 2181), pdb("zk-pdb", "zk", 2)]
}

pub fn catalog(values: &[Value]) -> Arc<dyn Companions> {
    Arc::new(Catalog::new(values.iter().map(|v| {
        Arc::new(
            Object::from_value(v.clone(), None, "data")
                .unwrap()
                .unwrap(),
        )
    })))
}

// ---------- server helpers ----------

pub struct Tls {
    pub server: Running,
    pub client: reqwest::Client,
    pub url: String,
    pub _secret: SecretDir,
    /// The CA's PEM, for hand-made TLS clients.
    pub ca: String,
}

pub async fn start_tls(mode: Mode, companions: Arc<dyn Companions>) -> Tls {
    start_tls_with(mode, companions, 10_000).await
}

/// [`start_tls`] with another `--request-timeout-ms`.
pub async fn start_tls_with(
    mode: Mode,
    companions: Arc<dyn Companions>,
    request_timeout_ms: u64,
) -> Tls {
    let ca = Ca::new("test ca");
    let (cert, key) = ca.server_cert();
    let secret = SecretDir::new(&cert, &key);
    let mut args = ServeArgs::local();
    args.insecure_http = false;
    args.tls_cert = Some(secret.cert());
    args.tls_key = Some(secret.key());
    args.mode = mode;
    args.request_timeout_ms = request_timeout_ms;
    let server = statelint::webhook::start(&args, CompanionSource::Static(companions))
        .await
        .unwrap();
    let url = format!("https://127.0.0.1:{}", server.addr.port());
    Tls {
        server,
        client: https_client(&[&ca.pem], false),
        url,
        _secret: secret,
        ca: ca.pem.clone(),
    }
}

pub async fn admit(t: &Tls, review: &Value) -> Value {
    let r = t
        .client
        .post(format!("{}/validate", t.url))
        .json(review)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(v["kind"], "AdmissionReview");
    assert_eq!(v["response"]["uid"], review["request"]["uid"], "same uid");
    v["response"].clone()
}
