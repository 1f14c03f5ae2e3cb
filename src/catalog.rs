//! All objects of a run, indexed by (kind, namespace, name) and by label, and the
//! [`Companions`] trait through which rules find a StatefulSet's Services, PDBs, ConfigMaps and
//! ZooKeeper ensembles. The webhook implements the same trait over the live cluster.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use rustc_hash::FxHasher;

use crate::object::{Body, Labels, Object};
use crate::selector;

/// What a rule may ask about the world around a StatefulSet. Implementations must answer from
/// memory (indexes or watch caches), never with a scan per call or a network round trip.
pub trait Companions: Send + Sync {
    /// The Service `name` in `namespace`.
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>>;
    /// Services in `namespace` whose selector selects pods carrying `labels`.
    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>>;
    /// PodDisruptionBudgets in `namespace` that select pods carrying `labels`.
    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>>;
    /// The StatefulSet `name` in `namespace`.
    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>>;
    /// All StatefulSets in `namespace` (to find ZooKeeper ensembles).
    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>>;
    /// The ConfigMap `name` in `namespace`.
    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>>;
    /// Workloads with a pod template (StatefulSets, Deployments, DaemonSets, Jobs, ...) in
    /// `namespace`, or in every namespace when `None`.
    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>>;
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The entry of `key`, created empty when missing, without allocating the key when present.
fn slot<'m, V: Default>(m: &'m mut FxMap<String, V>, key: &str) -> &'m mut V {
    if !m.contains_key(key) {
        m.insert(key.to_string(), V::default());
    }
    m.get_mut(key).expect("inserted above")
}

/// Selector index for one namespace: objects keyed by one (label, value) pair every pod they
/// select must carry, plus those that cannot be keyed (checked one by one).
#[derive(Default)]
struct SelectorIndex {
    by_pair: FxMap<String, FxMap<String, Vec<usize>>>,
    unkeyed: Vec<usize>,
}

impl SelectorIndex {
    fn add(&mut self, pair: Option<(&str, &str)>, i: usize) {
        match pair {
            Some((k, v)) => slot(slot(&mut self.by_pair, k), v).push(i),
            None => self.unkeyed.push(i),
        }
    }

    fn candidates<'a>(&'a self, labels: &'a Labels) -> impl Iterator<Item = usize> + 'a {
        let keyed = labels.iter().flat_map(move |(k, v)| {
            self.by_pair
                .get(k)
                .and_then(|vals| vals.get(v))
                .into_iter()
                .flatten()
                .copied()
        });
        keyed.chain(self.unkeyed.iter().copied())
    }
}

/// The objects read from files, with the indexes [`Companions`] needs.
#[derive(Default)]
pub struct Catalog {
    objects: Vec<Arc<Object>>,
    /// kind -> namespace -> name -> first object of that name
    by_key: FxMap<String, FxMap<String, FxMap<String, usize>>>,
    /// kind -> namespace -> objects
    by_kind_ns: FxMap<String, FxMap<String, Vec<usize>>>,
    workloads_by_ns: FxMap<String, Vec<usize>>,
    services: FxMap<String, SelectorIndex>,
    pdbs: FxMap<String, SelectorIndex>,
}

impl Catalog {
    pub fn new(objects: impl IntoIterator<Item = Arc<Object>>) -> Self {
        let mut c = Catalog::default();
        for o in objects {
            c.add(o);
        }
        c
    }

    pub fn add(&mut self, o: Arc<Object>) {
        let i = self.objects.len();
        let (kind, ns) = (o.key.kind.as_str(), o.key.namespace.as_str());
        // the first object of a name wins, as `kubectl apply` would create it first
        let names = slot(slot(&mut self.by_key, kind), ns);
        if !names.contains_key(&o.key.name) {
            names.insert(o.key.name.clone(), i);
        }
        slot(slot(&mut self.by_kind_ns, kind), ns).push(i);
        match &o.body {
            Body::Service(s) => {
                let pair = s
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .and_then(|m| m.iter().next())
                    .map(|(k, v)| (k.as_str(), v.as_str()));
                slot(&mut self.services, ns).add(pair, i);
            }
            Body::Pdb(p) => {
                let pair = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .and_then(selector::required_pair);
                slot(&mut self.pdbs, ns).add(pair, i);
            }
            Body::StatefulSet(_) | Body::Workload(_) => {
                slot(&mut self.workloads_by_ns, ns).push(i);
            }
            _ => {}
        }
        self.objects.push(o);
    }

    pub fn objects(&self) -> &[Arc<Object>] {
        &self.objects
    }

    fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Arc<Object>> {
        let i = *self.by_key.get(kind)?.get(ns)?.get(name)?;
        Some(self.objects[i].clone())
    }

    fn select(
        &self,
        index: Option<&SelectorIndex>,
        labels: &Labels,
        keep: impl Fn(&Object) -> bool,
    ) -> Vec<Arc<Object>> {
        let Some(index) = index else {
            return Vec::new();
        };
        let mut ids: Vec<usize> = index
            .candidates(labels)
            .filter(|&i| keep(&self.objects[i]))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|i| self.objects[i].clone()).collect()
    }
}

impl Companions for Catalog {
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("Service", namespace, name)
    }

    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.select(self.services.get(namespace), labels, |o| {
            o.service()
                .and_then(|s| s.spec.as_ref())
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|sel| selector::map_matches(sel, labels))
        })
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.select(self.pdbs.get(namespace), labels, |o| {
            let sel = o
                .pdb()
                .and_then(|p| p.spec.as_ref())
                .and_then(|s| s.selector.as_ref());
            selector::pdb_matches(sel, o.is_legacy_pdb(), labels)
        })
    }

    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("StatefulSet", namespace, name)
    }

    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>> {
        self.by_kind_ns
            .get("StatefulSet")
            .and_then(|m| m.get(namespace))
            .into_iter()
            .flatten()
            .map(|&i| self.objects[i].clone())
            .collect()
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("ConfigMap", namespace, name)
    }

    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>> {
        match namespace {
            Some(ns) => self
                .workloads_by_ns
                .get(ns)
                .into_iter()
                .flatten()
                .map(|&i| self.objects[i].clone())
                .collect(),
            None => self
                .workloads_by_ns
                .values()
                .flatten()
                .map(|&i| self.objects[i].clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> Arc<Object> {
        Arc::new(Object::from_value(v, None, "default").unwrap().unwrap())
    }

    #[test]
    fn lookups_by_name_namespace_and_labels() {
        let sts = |name: &str, ns: &str| {
            obj(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": name}}, "serviceName": "x",
                         "template": {"metadata": {"labels": {"app": name}}}}}))
        };
        let svc = |name: &str, ns: &str, app: &str| {
            obj(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": app}}}))
        };
        let pdb = obj(
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "p", "namespace": "a"},
            "spec": {"selector": {"matchLabels": {"app": "zk"}}}}),
        );
        let first = svc("zk-hs", "a", "zk");
        let c = Catalog::new([
            sts("zk", "a"),
            sts("kafka", "a"),
            sts("zk", "b"),
            first.clone(),
            svc("zk-hs", "a", "other"),
            svc("zk-hs", "b", "zk"),
            pdb,
        ]);
        assert!(Arc::ptr_eq(&c.service("a", "zk-hs").unwrap(), &first));
        assert!(c.service("c", "zk-hs").is_none());
        assert_eq!(c.statefulset("b", "zk").unwrap().key.namespace, "b");
        assert!(c.config_map("a", "zk").is_none());
        let names = |v: Vec<Arc<Object>>| v.iter().map(|o| o.key.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(c.statefulsets("a")), ["zk", "kafka"]);
        assert_eq!(c.workloads(Some("b")).len(), 1);
        assert_eq!(c.workloads(None).len(), 3);
        let labels: Labels = [("app".to_string(), "zk".to_string())].into();
        assert_eq!(c.services_selecting("a", &labels).len(), 1);
        assert_eq!(c.pdbs_selecting("a", &labels).len(), 1);
        assert!(c.pdbs_selecting("b", &labels).is_empty());
    }
}
