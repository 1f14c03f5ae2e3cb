//! The tests' fake Kubernetes API server as a process, loaded with a cluster of generated
//! objects, for bench/cache-memory.sh: `statelint serve` lists and watches it through a
//! kubeconfig like any API server.
//!
//! `cargo run --release --features server --example fake_apiserver -- \
//!    --services N --statefulsets N --pdbs N --configmaps N --kubeconfig FILE`
//!
//! Objects look like a Helm-managed cluster's (labels, Helm annotations, managedFields,
//! status): Services (one in ten headless), Kafka-like StatefulSets with probes, resources,
//! env, volumes and a claim template, PDBs, and ConfigMaps of which one in ten holds a
//! `server.properties` (the rest application config). 100 objects of each kind per namespace.
//! It prints `ready <port>` once loaded, then serves until killed; `POST /fake/expire` makes
//! every watch end with 410 Gone (a relist), see tests/support/fake_apiserver.rs.

#[path = "../tests/support/fake_apiserver.rs"]
mod fake_apiserver;

#[path = "common/cluster_objects.rs"]
mod cluster_objects;

use cluster_objects::{config_map, pdb, service, statefulset};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn count(args: &[String], name: &str) -> usize {
    arg(args, name).map_or(0, |v| v.parse().expect(name))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kubeconfig = arg(&args, "--kubeconfig").expect("--kubeconfig FILE");
    let fake = fake_apiserver::FakeApiServer::start(&[], false).await;
    fake.keep_history(false);
    for i in 0..count(&args, "--services") {
        fake.apply(service(i));
    }
    for i in 0..count(&args, "--statefulsets") {
        fake.apply(statefulset(i));
    }
    for i in 0..count(&args, "--pdbs") {
        fake.apply(pdb(i));
    }
    for i in 0..count(&args, "--configmaps") {
        fake.apply(config_map(i));
    }
    fake.keep_history(true);
    let port = fake.addr.port();
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             current-context: fake\n"
        ),
    )
    .unwrap();
    println!("ready {port}");
    std::future::pending::<()>().await;
}
