//! A fake Kubernetes API server on loopback holding the manifests of a folder, for the audit
//! benchmark (bench/audit.sh): `cargo run --release --features cluster --example fake_cluster --
//! DIR KUBECONFIG`.
//!
//! Loads every `*.yaml`/`*.yml`/`*.json` file under DIR (`kind: List` flattened; kinds the fake
//! does not serve are skipped), starts tests/support/fake_apiserver.rs (lists with `limit` /
//! `continue` paging, namespaced paths, selectors), writes a kubeconfig pointing at it to
//! KUBECONFIG, prints `ready N` and serves until killed.

#[path = "../tests/support/fake_apiserver.rs"]
mod fake_apiserver;

use serde_json::Value;

const SERVED: &[&str] = &[
    "StatefulSet",
    "Service",
    "PodDisruptionBudget",
    "ConfigMap",
    "Deployment",
    "DaemonSet",
    "Job",
    "CronJob",
];

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(kubeconfig)) = (args.next(), args.next()) else {
        eprintln!("usage: fake_cluster DIR KUBECONFIG");
        std::process::exit(2);
    };
    let mut errors = Vec::new();
    let files = statelint::source::discover(&[dir.into()], &mut errors);
    let mut objects = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let (docs, _) =
            statelint::source::yaml::load_documents(&text, &statelint::source::Limits::default());
        for d in docs {
            let items = match d.value["kind"].as_str() {
                Some(k) if k.ends_with("List") => {
                    d.value["items"].as_array().cloned().unwrap_or_default()
                }
                _ => vec![d.value],
            };
            objects.extend(items.into_iter().filter(|o: &Value| {
                o["kind"].as_str().is_some_and(|k| SERVED.contains(&k))
                    && o["metadata"]["name"].is_string()
            }));
        }
    }
    let n = objects.len();
    let fake = fake_apiserver::FakeApiServer::start(&objects, false).await;
    drop(objects);
    std::fs::write(&kubeconfig, fake.kubeconfig()).expect("write the kubeconfig");
    println!("ready {n}");
    std::future::pending::<()>().await;
}
