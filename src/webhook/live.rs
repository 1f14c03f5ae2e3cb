//! Read-after-write: before the webhook denies a StatefulSet because a companion is missing from
//! the watch caches, it reads that companion once from the API server.
//!
//! The caches lag the API server by a watch event: a Service applied just above its StatefulSet
//! in one `kubectl apply -f` may not be cached yet when the StatefulSet arrives. So a review runs
//! against the caches through [`Misses`], which records every by-name lookup that found nothing
//! (a Service, StatefulSet or ConfigMap by name; "no PodDisruptionBudget selects these pods"
//! as the namespace's PDBs). Only when the answer is a denial are those misses read live
//! ([`LiveReader`], one GET per named object, one list per namespace for PDBs, at most
//! [`MAX_READS`], each bounded by [`READ_TIMEOUT`]); if any of them exists after all, the review
//! runs again with it in the view ([`confirm`]). An allowed review, or a denial with no miss,
//! never waits on the API server.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::admit::{Decision, Reviewer};
use crate::catalog::{Companions, Overlay};
use crate::object::{Labels, Object};

/// At most this many live reads per review.
pub const MAX_READS: usize = 8;
/// Each live read is abandoned after this long (the denial from the caches then stands).
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// A companion the caches did not have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lookup {
    Service {
        namespace: String,
        name: String,
    },
    StatefulSet {
        namespace: String,
        name: String,
    },
    ConfigMap {
        namespace: String,
        name: String,
    },
    /// No PodDisruptionBudget of the namespace selected some pods: its PDBs.
    Pdbs {
        namespace: String,
    },
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Service { namespace, name } => write!(f, "Service {namespace}/{name}"),
            Lookup::StatefulSet { namespace, name } => {
                write!(f, "StatefulSet {namespace}/{name}")
            }
            Lookup::ConfigMap { namespace, name } => write!(f, "ConfigMap {namespace}/{name}"),
            Lookup::Pdbs { namespace } => write!(f, "PodDisruptionBudgets of {namespace}"),
        }
    }
}

/// Reads companions from the API server (the kube client; tests count the calls).
pub trait LiveReader: Send + Sync {
    /// The objects `lookup` names that exist now (none: it is really missing).
    fn read<'a>(&'a self, lookup: &'a Lookup) -> BoxFuture<'a, Result<Vec<Object>, String>>;
}

/// [`LiveReader`] over a kube client: `GET` by name, `list` for a namespace's PDBs.
pub struct KubeReader(pub kube::Client);

impl LiveReader for KubeReader {
    fn read<'a>(&'a self, lookup: &'a Lookup) -> BoxFuture<'a, Result<Vec<Object>, String>> {
        use k8s_openapi::api::apps::v1::StatefulSet;
        use k8s_openapi::api::core::v1::{ConfigMap, Service};
        use k8s_openapi::api::policy::v1::PodDisruptionBudget;
        use kube::api::{Api, ListParams};
        let c = self.0.clone();
        Box::pin(async move {
            let values: Vec<serde_json::Value> = match lookup {
                Lookup::Service { namespace, name } => {
                    get::<Service>(Api::namespaced(c, namespace), name).await?
                }
                Lookup::StatefulSet { namespace, name } => {
                    get::<StatefulSet>(Api::namespaced(c, namespace), name).await?
                }
                Lookup::ConfigMap { namespace, name } => {
                    get::<ConfigMap>(Api::namespaced(c, namespace), name).await?
                }
                Lookup::Pdbs { namespace } => {
                    let api: Api<PodDisruptionBudget> = Api::namespaced(c, namespace);
                    api.list(&ListParams::default())
                        .await
                        .map_err(|e| e.to_string())?
                        .items
                        .iter()
                        .filter_map(|p| serde_json::to_value(p).ok())
                        .collect()
                }
            };
            Ok(values
                .into_iter()
                .filter_map(|v| Object::from_value(v, None, "default").ok().flatten())
                .collect())
        })
    }
}

async fn get<K>(api: kube::Api<K>, name: &str) -> Result<Vec<serde_json::Value>, String>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let found = api.get_opt(name).await.map_err(|e| e.to_string())?;
    Ok(found
        .and_then(|k| serde_json::to_value(&k).ok())
        .into_iter()
        .collect())
}

/// A [`Companions`] view that records what it was asked for and did not have.
pub struct Misses<'a> {
    base: &'a dyn Companions,
    seen: Mutex<BTreeSet<Lookup>>,
}

impl<'a> Misses<'a> {
    pub fn new(base: &'a dyn Companions) -> Self {
        Misses {
            base,
            seen: Mutex::default(),
        }
    }

    fn miss(&self, l: Lookup) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(l);
    }

    /// What was missed, in a stable order.
    pub fn take(&self) -> Vec<Lookup> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect()
    }
}

impl Companions for Misses<'_> {
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        let r = self.base.service(namespace, name);
        if r.is_none() {
            self.miss(Lookup::Service {
                namespace: namespace.into(),
                name: name.into(),
            });
        }
        r
    }

    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.base.services_selecting(namespace, labels)
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        let r = self.base.pdbs_selecting(namespace, labels);
        if r.is_empty() {
            self.miss(Lookup::Pdbs {
                namespace: namespace.into(),
            });
        }
        r
    }

    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        let r = self.base.statefulset(namespace, name);
        if r.is_none() {
            self.miss(Lookup::StatefulSet {
                namespace: namespace.into(),
                name: name.into(),
            });
        }
        r
    }

    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>> {
        self.base.statefulsets(namespace)
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        let r = self.base.config_map(namespace, name);
        if r.is_none() {
            self.miss(Lookup::ConfigMap {
                namespace: namespace.into(),
                name: name.into(),
            });
        }
        r
    }

    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
        self.base.statefulsets_by_service(service_name)
    }

    fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
        self.base.services_named(name)
    }

    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>> {
        self.base.workloads(namespace)
    }

    fn workloads_selecting(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Vec<Arc<Object>> {
        self.base.workloads_selecting(namespace, sel)
    }

    fn pod_label_values(
        &self,
        namespace: &str,
        key: &str,
        limit: usize,
    ) -> Vec<(String, Arc<Object>)> {
        self.base.pod_label_values(namespace, key, limit)
    }
}

/// What [`confirm`] did, for the log and metrics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// Live reads made.
    pub reads: usize,
    /// Reads that found something (for PDBs: the namespace has some).
    pub found: usize,
    /// Reads that confirmed the absence.
    pub missing: usize,
    /// Reads that failed or timed out.
    pub failed: usize,
}

/// If `decision` is a denial (or a scale review) that the caches may have got wrong, read what
/// it missed from the API server and review again with what exists after all.
pub async fn confirm(
    reviewer: &Reviewer<'_>,
    mut decision: Decision,
    live: &dyn LiveReader,
) -> (Decision, Confirmed) {
    let Some(recheck) = decision.recheck.take() else {
        return (decision, Confirmed::default());
    };
    let lookups: Vec<&Lookup> = recheck.misses.iter().take(MAX_READS).collect();
    let reads = futures::future::join_all(lookups.iter().map(|l| async move {
        match tokio::time::timeout(READ_TIMEOUT, live.read(l)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {READ_TIMEOUT:?}")),
        }
    }))
    .await;
    let mut stats = Confirmed {
        reads: lookups.len(),
        ..Default::default()
    };
    let mut found: Vec<Arc<Object>> = Vec::new();
    for (l, r) in lookups.iter().zip(reads) {
        match r {
            Ok(objs) if objs.is_empty() => stats.missing += 1,
            Ok(objs) => {
                stats.found += 1;
                found.extend(objs.into_iter().map(Arc::new));
            }
            Err(e) => {
                stats.failed += 1;
                tracing::warn!(lookup = %l, error = %e, "live read failed; answering from the watch cache");
            }
        }
    }
    // objects the caches already had change nothing
    found.retain(|o| match o.key.kind.as_str() {
        "Service" => reviewer
            .companions
            .service(&o.key.namespace, &o.key.name)
            .is_none(),
        "StatefulSet" => reviewer
            .companions
            .statefulset(&o.key.namespace, &o.key.name)
            .is_none(),
        "ConfigMap" => reviewer
            .companions
            .config_map(&o.key.namespace, &o.key.name)
            .is_none(),
        "PodDisruptionBudget" => true,
        _ => false,
    });
    if found.is_empty() {
        return (decision, stats);
    }
    let mut view = Overlay::new(reviewer.companions);
    for o in &found {
        view = view.with(&o.key.kind, o, Some(o.clone()));
    }
    let again = Reviewer {
        companions: &view,
        config: reviewer.config,
        mode: reviewer.mode,
        runner: reviewer.runner,
    };
    (again.resume(&recheck.req, recheck.pending), stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::config::Config;
    use crate::webhook::admit::{Mode, Verdict, decode};
    use serde_json::{Value, json};

    /// A live reader over a fixed set of objects that counts its calls.
    struct Counting {
        objects: Vec<Value>,
        calls: Mutex<Vec<Lookup>>,
    }

    impl LiveReader for Counting {
        fn read<'a>(&'a self, l: &'a Lookup) -> BoxFuture<'a, Result<Vec<Object>, String>> {
            self.calls.lock().unwrap().push(l.clone());
            let found = self
                .objects
                .iter()
                .filter(|o| {
                    let (kind, ns, name) = (
                        o["kind"].as_str().unwrap(),
                        o["metadata"]["namespace"].as_str().unwrap(),
                        o["metadata"]["name"].as_str().unwrap(),
                    );
                    match l {
                        Lookup::Service { namespace, name: n } => {
                            kind == "Service" && ns == namespace && name == n
                        }
                        Lookup::Pdbs { namespace } => {
                            kind == "PodDisruptionBudget" && ns == namespace
                        }
                        _ => false,
                    }
                })
                .filter_map(|o| Object::from_value(o.clone(), None, "data").ok().flatten())
                .collect();
            Box::pin(async move { Ok(found) })
        }
    }

    fn sts() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "zk", "namespace": "data"},
            "spec": {"replicas": 3, "serviceName": "zk-hs",
                "selector": {"matchLabels": {"app": "zk"}},
                "template": {"metadata": {"labels": {"app": "zk"}},
                    "spec": {"containers": [{"name": "zk", "image": "zookeeper:3.9"}]}}}})
    }

    fn svc() -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "zk-hs", "namespace": "data"},
            "spec": {"clusterIP": "None", "selector": {"app": "zk"}, "ports": [{"port": 2181}]}})
    }

    fn catalog(objs: &[Value]) -> Catalog {
        Catalog::new(objs.iter().map(|v| {
            Arc::new(
                Object::from_value(v.clone(), None, "data")
                    .unwrap()
                    .unwrap(),
            )
        }))
    }

    async fn run(cache: &[Value], live: &[Value]) -> (Decision, Vec<Lookup>) {
        let c = catalog(cache);
        let config = Config::default();
        let reviewer = Reviewer {
            companions: &c,
            config: &config,
            mode: Mode::Enforce,
            runner: crate::rules::run,
        };
        let review = decode(
            &serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview", "request": {"uid": "u",
                "kind": {"group": "apps", "version": "v1", "kind": "StatefulSet"},
                "resource": {"group": "apps", "version": "v1", "resource": "statefulsets"},
                "name": "zk", "namespace": "data", "operation": "CREATE", "userInfo": {},
                "object": sts()}}))
            .unwrap(),
        )
        .unwrap()
        .into_owned();
        let reader = Counting {
            objects: live.to_vec(),
            calls: Mutex::default(),
        };
        let d = reviewer.review(review);
        let (d, _) = confirm(&reviewer, d, &reader).await;
        let calls = reader.calls.into_inner().unwrap();
        (d, calls)
    }

    fn codes(d: &Decision) -> String {
        d.problems
            .iter()
            .filter(|p| p.severity == crate::rules::Severity::Error)
            .map(|p| p.code)
            .collect::<Vec<_>>()
            .join(",")
    }

    #[tokio::test]
    async fn a_service_the_cache_lacks_is_read_once_and_not_denied_for() {
        let (d, calls) = run(&[], &[svc()]).await;
        assert_eq!(
            calls,
            [
                Lookup::Service {
                    namespace: "data".into(),
                    name: "zk-hs".into()
                },
                Lookup::Pdbs {
                    namespace: "data".into()
                }
            ]
        );
        // SL001 is gone; SL002 (no PDB, confirmed live) still denies
        assert_eq!(d.verdict, Verdict::Denied);
        assert!(!codes(&d).contains("SL001"), "{}", codes(&d));
        assert!(codes(&d).contains("SL002"), "{}", codes(&d));
        assert!(d.recheck.is_none());
    }

    #[tokio::test]
    async fn nothing_missing_means_no_live_read() {
        // the cache has the Service: SL001 passes; the denial (SL002, ...) still reads the PDBs,
        // but never the Service
        let (_, calls) = run(&[svc()], &[]).await;
        assert!(
            calls.iter().all(|l| !matches!(l, Lookup::Service { .. })),
            "{calls:?}"
        );
    }
}
