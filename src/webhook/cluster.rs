//! Companions from the live cluster: kube-rs watchers of Services, PodDisruptionBudgets,
//! StatefulSets and ConfigMaps feed per-namespace indexes that admissions read from memory.
//! No admission ever waits on the API server.
//!
//! - Each kind is listed once, then watched; the initial list is swapped in atomically when it
//!   is complete (as kube's reflector store does), and the kind is then marked synced.
//!   `/readyz` stays 503 until every kind has synced.
//! - Objects are converted into [`Object`]s once per watch event (managedFields and the
//!   last-applied annotation are dropped first, to save memory).
//! - ConfigMaps keep only the files the ensemble rules read (`server.properties`, `zoo.cfg`...,
//!   see [`crate::ensemble::config_file_matters`]), so a cluster full of large ConfigMaps costs
//!   little. If the service account may not
//!   list ConfigMaps, that kind is skipped with an error log instead of blocking readiness.
//! - `workloads()` (SL010 `dangling-pod-affinity`) returns the StatefulSets only: Deployments,
//!   DaemonSets and Jobs are not watched, so SL010 may warn about a podAffinity term that only
//!   matches pods of a Deployment.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::catalog::{Companions, WorkloadLabelIndex};
use crate::object::{Labels, Object};

/// Objects of one kind: namespace -> name -> object (sorted, for stable answers), and a
/// secondary index across namespaces: Services by name, StatefulSets by `serviceName` (to find
/// an ensemble wherever it runs).
#[derive(Default)]
pub struct KindStore {
    by_ns: HashMap<String, BTreeMap<String, Arc<Object>>>,
    /// secondary key -> (namespace, name)
    by_key: HashMap<String, std::collections::BTreeSet<(String, String)>>,
    /// Workloads by pod template label (SL010's cross-namespace `podAffinity` lookups).
    pods: WorkloadLabelIndex,
}

/// The cross-namespace key of an object: a Service's name, a StatefulSet's serviceName.
fn secondary_key(o: &Object) -> Option<&str> {
    if o.service().is_some() {
        return Some(&o.key.name);
    }
    o.statefulset()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.service_name.as_deref())
}

impl KindStore {
    fn insert(&mut self, o: Arc<Object>) {
        let (ns, name) = (o.key.namespace.clone(), o.key.name.clone());
        self.remove(&ns, &name);
        if let Some(k) = secondary_key(&o) {
            self.by_key
                .entry(k.to_string())
                .or_default()
                .insert((ns.clone(), name.clone()));
        }
        self.pods.add(&o);
        self.by_ns.entry(ns).or_default().insert(name, o);
    }

    fn remove(&mut self, ns: &str, name: &str) {
        if let Some(m) = self.by_ns.get_mut(ns) {
            let old = m.remove(name);
            if let Some(old) = &old {
                self.pods.remove(old);
            }
            if let Some(old) = old
                && let Some(k) = secondary_key(&old)
                && let Some(set) = self.by_key.get_mut(k)
            {
                set.remove(&(ns.to_string(), name.to_string()));
                if set.is_empty() {
                    self.by_key.remove(k);
                }
            }
            if m.is_empty() {
                self.by_ns.remove(ns);
            }
        }
    }

    /// Objects whose secondary key is `key`, every namespace.
    fn by_secondary(&self, key: &str) -> Vec<Arc<Object>> {
        self.by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|(ns, name)| self.get(ns, name))
            .collect()
    }

    fn get(&self, ns: &str, name: &str) -> Option<Arc<Object>> {
        self.by_ns.get(ns)?.get(name).cloned()
    }

    fn in_ns(&self, ns: &str) -> impl Iterator<Item = &Arc<Object>> {
        self.by_ns.get(ns).into_iter().flat_map(|m| m.values())
    }

    pub fn len(&self) -> usize {
        self.by_ns.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ns.is_empty()
    }
}

/// One watched kind: its store and whether its initial list has completed.
#[derive(Default)]
pub struct Watched {
    pub store: RwLock<KindStore>,
    pub synced: AtomicBool,
}

impl Watched {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, KindStore> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KindStore> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The watch caches, answering [`Companions`] from memory.
#[derive(Default)]
pub struct ClusterCache {
    pub services: Watched,
    pub pdbs: Watched,
    pub statefulsets: Watched,
    pub config_maps: Watched,
}

impl ClusterCache {
    /// True once every kind has completed its initial list.
    pub fn synced(&self) -> bool {
        [
            &self.services,
            &self.pdbs,
            &self.statefulsets,
            &self.config_maps,
        ]
        .iter()
        .all(|w| w.synced.load(Ordering::Acquire))
    }

    /// Start the watchers on the current tokio runtime.
    pub fn spawn(self: &Arc<Self>, client: kube::Client) {
        let me = self.clone();
        tokio::spawn(drive::<Service>(
            Api::all(client.clone()),
            me,
            |c| &c.services,
            false,
        ));
        let me = self.clone();
        tokio::spawn(drive::<PodDisruptionBudget>(
            Api::all(client.clone()),
            me,
            |c| &c.pdbs,
            false,
        ));
        let me = self.clone();
        tokio::spawn(drive::<StatefulSet>(
            Api::all(client.clone()),
            me,
            |c| &c.statefulsets,
            false,
        ));
        let me = self.clone();
        tokio::spawn(drive::<ConfigMap>(
            Api::all(client),
            me,
            |c| &c.config_maps,
            true,
        ));
    }
}

/// Turn a watched k8s object into an [`Object`] (None when it cannot be read).
fn convert<K: Serialize + Resource>(k: &K) -> Option<Arc<Object>> {
    let mut v = serde_json::to_value(k).ok()?;
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if v.get("kind").and_then(Value::as_str) == Some("ConfigMap") {
        let m = v.as_object_mut()?;
        m.remove("binaryData");
        let keep = match m.get_mut("data").and_then(Value::as_object_mut) {
            Some(data) => {
                data.retain(|key, val| {
                    val.as_str()
                        .is_some_and(|s| crate::ensemble::config_file_matters(key, s))
                });
                !data.is_empty()
            }
            None => false,
        };
        if !keep {
            return None;
        }
    }
    match Object::from_value(v, None, "default") {
        Ok(Some(o)) => Some(Arc::new(o)),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(
                name = ?k.meta().name,
                error = %e.message,
                "cannot read a watched object; ignoring it"
            );
            None
        }
    }
}

fn ns_name<K: Resource>(k: &K) -> (String, String) {
    let m = k.meta();
    (
        m.namespace.clone().unwrap_or_else(|| "default".into()),
        m.name.clone().unwrap_or_default(),
    )
}

async fn drive<K>(
    api: Api<K>,
    cache: Arc<ClusterCache>,
    pick: fn(&ClusterCache) -> &Watched,
    optional: bool,
) where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    let kind = K::kind(&Default::default()).to_string();
    let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut buffer: Option<KindStore> = None;
    while let Some(ev) = stream.next().await {
        let w = pick(&cache);
        match ev {
            Ok(Event::Init) => buffer = Some(KindStore::default()),
            Ok(Event::InitApply(k)) => {
                if let (Some(b), Some(o)) = (buffer.as_mut(), convert(&k)) {
                    b.insert(o);
                }
            }
            Ok(Event::InitDone) => {
                if let Some(b) = buffer.take() {
                    let n = b.len();
                    *w.write() = b;
                    tracing::info!(kind = %kind, objects = n, "watch cache synced");
                }
                w.synced.store(true, Ordering::Release);
            }
            Ok(Event::Apply(k)) => {
                let (ns, name) = ns_name(&k);
                match convert(&k) {
                    Some(o) => w.write().insert(o),
                    None => w.write().remove(&ns, &name),
                }
            }
            Ok(Event::Delete(k)) => {
                let (ns, name) = ns_name(&k);
                w.write().remove(&ns, &name);
            }
            Err(e) => {
                let forbidden = matches!(
                    &e,
                    watcher::Error::InitialListFailed(kube::Error::Api(s))
                        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
                        if s.code == 403
                );
                if forbidden && optional && !w.synced.load(Ordering::Acquire) {
                    tracing::error!(
                        kind = %kind,
                        error = %e,
                        "no permission to list this kind; continuing without it"
                    );
                    w.synced.store(true, Ordering::Release);
                    return;
                }
                tracing::warn!(kind = %kind, error = %e, "watch failed; retrying with backoff");
            }
        }
    }
}

impl Companions for ClusterCache {
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.services.read().get(namespace, name)
    }

    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.services
            .read()
            .in_ns(namespace)
            .filter(|o| o.service_selects(labels))
            .cloned()
            .collect()
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.pdbs
            .read()
            .in_ns(namespace)
            .filter(|o| o.pdb_selects(labels))
            .cloned()
            .collect()
    }

    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.statefulsets.read().get(namespace, name)
    }

    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>> {
        self.statefulsets.read().in_ns(namespace).cloned().collect()
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.config_maps.read().get(namespace, name)
    }

    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
        self.statefulsets.read().by_secondary(service_name)
    }

    fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
        self.services.read().by_secondary(name)
    }

    /// From the pod label index (a selector without a required pair scans).
    fn workloads_selecting(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Vec<Arc<Object>> {
        let s = self.statefulsets.read();
        let none = Labels::new();
        let matching =
            |o: &Arc<Object>| crate::selector::matches(sel, o.pod_labels().unwrap_or(&none));
        match s.pods.candidates(namespace, sel) {
            Some(c) => c
                .iter()
                .filter_map(|(ns, name)| s.get(ns, name))
                .filter(matching)
                .collect(),
            None => match namespace {
                Some(ns) => s.in_ns(ns).filter(|o| matching(o)).cloned().collect(),
                None => s
                    .by_ns
                    .values()
                    .flat_map(|m| m.values())
                    .filter(|o| matching(o))
                    .cloned()
                    .collect(),
            },
        }
    }

    fn pod_label_values(
        &self,
        namespace: &str,
        key: &str,
        limit: usize,
    ) -> Vec<(String, Arc<Object>)> {
        let s = self.statefulsets.read();
        s.pods
            .values(namespace, key, limit)
            .into_iter()
            .filter_map(|(v, name)| Some((v, s.get(namespace, &name)?)))
            .collect()
    }

    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>> {
        let s = self.statefulsets.read();
        match namespace {
            Some(ns) => s.in_ns(ns).cloned().collect(),
            None => s.by_ns.values().flat_map(|m| m.values()).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Arc<Object> {
        Arc::new(Object::from_value(v, None, "default").unwrap().unwrap())
    }

    fn sts(ns: &str, name: &str, svc: &str) -> Arc<Object> {
        sts_labelled(ns, name, svc, name)
    }

    fn sts_labelled(ns: &str, name: &str, svc: &str, a: &str) -> Arc<Object> {
        obj(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"serviceName": svc, "selector": {"matchLabels": {"a": a}},
                "template": {"metadata": {"labels": {"a": a}}, "spec": {"containers": []}}}
        }))
    }

    #[test]
    fn cross_namespace_indexes_follow_updates_and_deletes() {
        let c = ClusterCache::default();
        c.statefulsets.write().insert(sts("data", "zk", "zk-hs"));
        c.statefulsets.write().insert(sts("other", "zk", "zk-hs"));
        let names = |v: Vec<Arc<Object>>| -> Vec<String> {
            v.iter()
                .map(|o| format!("{}/{}", o.key.namespace, o.key.name))
                .collect()
        };
        assert_eq!(
            names(c.statefulsets_by_service("zk-hs")),
            ["data/zk", "other/zk"]
        );
        // an update that changes serviceName moves it in the index
        c.statefulsets.write().insert(sts("other", "zk", "zk-new"));
        assert_eq!(names(c.statefulsets_by_service("zk-hs")), ["data/zk"]);
        assert_eq!(names(c.statefulsets_by_service("zk-new")), ["other/zk"]);
        c.statefulsets.write().remove("data", "zk");
        assert!(c.statefulsets_by_service("zk-hs").is_empty());
        let svc = obj(serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "zk-cs", "namespace": "data"},
            "spec": {"selector": {"a": "zk"}}
        }));
        c.services.write().insert(svc);
        assert_eq!(names(c.services_named("zk-cs")), ["data/zk-cs"]);
        c.services.write().remove("data", "zk-cs");
        assert!(c.services_named("zk-cs").is_empty());
    }

    /// SL010's cross-namespace lookups come from the pod label index, which follows updates and
    /// deletes, and answer what a scan would.
    #[test]
    fn workload_label_index_follows_updates_and_deletes() {
        let c = ClusterCache::default();
        for (ns, name) in [("a", "zk"), ("b", "zk"), ("b", "web")] {
            c.statefulsets.write().insert(sts(ns, name, "x"));
        }
        let sel = |y: &str| -> LabelSelector { serde_json::from_str(y).unwrap() };
        let names = |v: Vec<Arc<Object>>| -> Vec<String> {
            let mut n: Vec<String> = v
                .iter()
                .map(|o| format!("{}/{}", o.key.namespace, o.key.name))
                .collect();
            n.sort();
            n
        };
        let zk = sel(r#"{"matchLabels": {"a": "zk"}}"#);
        assert_eq!(names(c.workloads_selecting(None, &zk)), ["a/zk", "b/zk"]);
        assert_eq!(names(c.workloads_selecting(Some("b"), &zk)), ["b/zk"]);
        assert!(c.workloads_selecting(Some("c"), &zk).is_empty());
        // no required pair: scanned, same answer as the trait default
        let not_web =
            sel(r#"{"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["web"]}]}"#);
        assert_eq!(
            names(c.workloads_selecting(None, &not_web)),
            ["a/zk", "b/zk"]
        );
        // an update moves it in the index; a delete removes it
        c.statefulsets
            .write()
            .insert(sts_labelled("b", "zk", "x", "zk2"));
        assert_eq!(names(c.workloads_selecting(None, &zk)), ["a/zk"]);
        c.statefulsets.write().remove("a", "zk");
        assert!(c.workloads_selecting(None, &zk).is_empty());
        let values: Vec<(String, String)> = c
            .pod_label_values("b", "a", 5)
            .into_iter()
            .map(|(v, o)| (v, o.key.name.clone()))
            .collect();
        assert_eq!(
            values,
            [
                ("web".to_string(), "web".to_string()),
                ("zk2".into(), "zk".into())
            ]
        );
    }
}
