//! All objects of a run, indexed by (kind, namespace, name) and by label, and the
//! [`Companions`] trait through which rules find a StatefulSet's Services, PDBs, ConfigMaps and
//! ZooKeeper ensembles. The webhook implements the same trait over the live cluster.

use std::collections::HashMap;
use std::sync::Arc;

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

type Key = (String, String, String); // kind, namespace, name

/// Selector index for one namespace: objects keyed by one (label, value) pair every pod they
/// select must carry, plus those that cannot be keyed (checked one by one).
#[derive(Default)]
struct SelectorIndex {
    by_pair: HashMap<String, HashMap<String, Vec<usize>>>,
    unkeyed: Vec<usize>,
}

impl SelectorIndex {
    fn add(&mut self, pair: Option<(&str, &str)>, i: usize) {
        match pair {
            Some((k, v)) => self
                .by_pair
                .entry(k.to_string())
                .or_default()
                .entry(v.to_string())
                .or_default()
                .push(i),
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
    by_key: HashMap<Key, usize>,
    by_kind_ns: HashMap<(String, String), Vec<usize>>,
    workloads_by_ns: HashMap<String, Vec<usize>>,
    services: HashMap<String, SelectorIndex>,
    pdbs: HashMap<String, SelectorIndex>,
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
        let ns = o.key.namespace.clone();
        // the first object of a name wins, as `kubectl apply` would create it first
        self.by_key
            .entry((o.key.kind.clone(), ns.clone(), o.key.name.clone()))
            .or_insert(i);
        self.by_kind_ns
            .entry((o.key.kind.clone(), ns.clone()))
            .or_default()
            .push(i);
        match &o.body {
            Body::Service(s) => {
                let pair = s
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .and_then(|m| m.iter().next())
                    .map(|(k, v)| (k.as_str(), v.as_str()));
                self.services.entry(ns).or_default().add(pair, i);
            }
            Body::Pdb(p) => {
                let pair = p
                    .spec
                    .as_ref()
                    .and_then(|s| s.selector.as_ref())
                    .and_then(selector::required_pair);
                self.pdbs.entry(ns).or_default().add(pair, i);
            }
            Body::StatefulSet(_) | Body::Workload(_) => {
                self.workloads_by_ns.entry(ns).or_default().push(i);
            }
            _ => {}
        }
        self.objects.push(o);
    }

    pub fn objects(&self) -> &[Arc<Object>] {
        &self.objects
    }

    fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Arc<Object>> {
        self.by_key
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
            .map(|&i| self.objects[i].clone())
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
            .get(&("StatefulSet".to_string(), namespace.to_string()))
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
