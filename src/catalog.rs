//! All objects of a run, indexed by (kind, namespace, name) and by label, and the
//! [`Companions`] trait through which rules find a StatefulSet's Services, PDBs, ConfigMaps and
//! ZooKeeper ensembles. The webhook implements the same trait over the live cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use rustc_hash::FxHashMap;

use crate::object::{Body, Labels, Object};
use crate::selector;

mod overlay;
pub use overlay::Overlay;

static NO_LABELS: Labels = Labels::new();

/// The pod template labels of a workload (none when it has none).
fn pod_labels_of(w: &Object) -> &Labels {
    w.pod_labels().unwrap_or(&NO_LABELS)
}

/// A kind of companion: what a rule may read through [`Companions`] besides the object it
/// checks. Rules declare theirs ([`crate::rules::Rule::reads`]); the webhook re-checks the rules
/// that read a kind when an object of that kind changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Service,
    PodDisruptionBudget,
    StatefulSet,
    ConfigMap,
    /// Anything with a pod template (StatefulSets included): Deployments, DaemonSets, Jobs...
    Workload,
}

impl Kind {
    /// The companion kind of an API kind (`group`, `kind`), if it is one. A StatefulSet is
    /// [`Kind::StatefulSet`] (it is also a workload: see [`Kind::covers`]).
    pub fn of(group: &str, kind: &str) -> Option<Kind> {
        Some(match (group, kind) {
            ("", "Service") => Kind::Service,
            ("policy", "PodDisruptionBudget") => Kind::PodDisruptionBudget,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("", "ConfigMap") => Kind::ConfigMap,
            ("apps", "Deployment" | "DaemonSet" | "ReplicaSet")
            | ("batch", "Job" | "CronJob")
            | ("", "Pod" | "ReplicationController" | "PodTemplate") => Kind::Workload,
            _ => return None,
        })
    }

    /// Does a rule that reads `self` see objects of kind `changed`?
    pub fn covers(self, changed: Kind) -> bool {
        self == changed || (self == Kind::Workload && changed == Kind::StatefulSet)
    }

    /// The object `name` of this kind in `namespace`, for kinds [`Companions`] looks up by name.
    pub fn lookup(self, c: &dyn Companions, namespace: &str, name: &str) -> Option<Arc<Object>> {
        match self {
            Kind::Service => c.service(namespace, name),
            Kind::StatefulSet => c.statefulset(namespace, name),
            Kind::ConfigMap => c.config_map(namespace, name),
            Kind::PodDisruptionBudget | Kind::Workload => None,
        }
    }
}

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
    /// StatefulSets in every namespace whose `spec.serviceName` is `service_name` (to find an
    /// ensemble that a member list or a client names, wherever it runs). From an index.
    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>>;
    /// Services named `name` in every namespace. From an index.
    fn services_named(&self, name: &str) -> Vec<Arc<Object>>;
    /// Workloads with a pod template (StatefulSets, Deployments, DaemonSets, Jobs, ...) in
    /// `namespace`, or in every namespace when `None`.
    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>>;
    /// Workloads in `namespace` (every namespace when `None`) whose pod template labels `sel`
    /// selects. The default scans [`Companions::workloads`]; [`Catalog`] answers from an index.
    fn workloads_selecting(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Vec<Arc<Object>> {
        self.workloads(namespace)
            .into_iter()
            .filter(|w| selector::matches(sel, pod_labels_of(w)))
            .collect()
    }
    /// The values pod templates in `namespace` give label `key`, smallest first, at most
    /// `limit`, each with the first workload that has it (for "did you mean" hints). The default
    /// scans [`Companions::workloads`]; [`Catalog`] answers from an index.
    fn pod_label_values(
        &self,
        namespace: &str,
        key: &str,
        limit: usize,
    ) -> Vec<(String, Arc<Object>)> {
        let mut values: std::collections::BTreeMap<String, Arc<Object>> = Default::default();
        for w in self.workloads(Some(namespace)) {
            if let Some(v) = pod_labels_of(&w).get(key) {
                values.entry(v.clone()).or_insert(w);
            }
        }
        values.into_iter().take(limit).collect()
    }
}

type Key = (String, String, String); // kind, namespace, name

/// A (kind, namespace, name) key as borrowed strings, so that [`Catalog`] looks objects up
/// without building a [`Key`] (three `String`s) per lookup.
trait KeyView {
    fn parts(&self) -> (&str, &str, &str);
}

impl KeyView for Key {
    fn parts(&self) -> (&str, &str, &str) {
        (&self.0, &self.1, &self.2)
    }
}

impl KeyView for (&str, &str, &str) {
    fn parts(&self) -> (&str, &str, &str) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn KeyView + 'a> for Key {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

// hashes as the tuple of its strings, like `Key` itself
impl std::hash::Hash for dyn KeyView + '_ {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.parts().hash(h);
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyView + '_ {}

/// Selector index for one namespace: objects keyed by one (label, value) pair every pod they
/// select must carry, plus those that cannot be keyed (checked one by one).
#[derive(Default)]
struct SelectorIndex {
    by_pair: FxHashMap<String, FxHashMap<String, Vec<usize>>>,
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

/// Workloads keyed by each (label, value) pair of their pod template.
#[derive(Default)]
struct PodLabelIndex {
    by_pair: FxHashMap<String, std::collections::BTreeMap<String, Vec<usize>>>,
}

impl PodLabelIndex {
    fn add(&mut self, labels: &Labels, i: usize) {
        for (k, v) in labels {
            self.by_pair
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .push(i);
        }
    }

    fn get(&self, k: &str, v: &str) -> &[usize] {
        self.by_pair
            .get(k)
            .and_then(|vals| vals.get(v))
            .map_or(&[], Vec::as_slice)
    }
}

/// Workloads by the labels of their pod template, for a store that changes (watch caches):
/// objects are added and removed by namespace and name. Answers
/// [`Companions::workloads_selecting`] (SL010's cluster-wide `podAffinity`) from the pairs a
/// selector requires instead of a scan of every workload, and
/// [`Companions::pod_label_values`] from the namespace's values of a key. Names are shared
/// (`Arc<str>`) with the store, and each label key and value is held once.
#[derive(Default)]
pub struct WorkloadLabelIndex {
    /// label key -> value -> (namespace, name) sorted, every namespace.
    all: HashMap<Arc<str>, HashMap<Arc<str>, Vec<NsName>>>,
    /// namespace -> label key -> value (sorted) -> names (sorted).
    per_ns: HashMap<Arc<str>, HashMap<Arc<str>, NamesByValue>>,
}

/// (namespace, name)
type NsName = (Arc<str>, Arc<str>);
/// label value (sorted) -> workload names (sorted)
type NamesByValue = BTreeMap<Arc<str>, Vec<Arc<str>>>;

impl WorkloadLabelIndex {
    /// Index workload `namespace`/`name` by its pod template `labels`.
    pub fn add<'a>(
        &mut self,
        namespace: &Arc<str>,
        name: &Arc<str>,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        for (k, v) in labels {
            let key = match self.all.get_key_value(k) {
                Some((key, _)) => key.clone(),
                None => Arc::from(k),
            };
            let vals = self.all.entry(key.clone()).or_default();
            let value = match vals.get_key_value(v) {
                Some((value, _)) => value.clone(),
                None => Arc::from(v),
            };
            let list = vals.entry(value.clone()).or_default();
            let item = (namespace.clone(), name.clone());
            if let Err(i) = list.binary_search(&item) {
                list.insert(i, item);
            }
            let names = self
                .per_ns
                .entry(namespace.clone())
                .or_default()
                .entry(key)
                .or_default()
                .entry(value)
                .or_default();
            if let Err(i) = names.binary_search(name) {
                names.insert(i, name.clone());
            }
        }
    }

    /// Estimated heap bytes of the index (its tables, lists and label texts; the namespaces and
    /// names are the caller's, shared).
    pub fn heap_bytes(&self) -> usize {
        use crate::heap::{arc_str, btree, hash_table, vec};
        let all: usize = self
            .all
            .iter()
            .map(|(k, vals)| {
                arc_str(k.len())
                    + hash_table::<Arc<str>, Vec<NsName>>(vals.capacity())
                    + vals
                        .iter()
                        .map(|(v, list)| arc_str(v.len()) + vec::<NsName>(list.capacity()))
                        .sum::<usize>()
            })
            .sum::<usize>()
            + hash_table::<Arc<str>, HashMap<Arc<str>, Vec<NsName>>>(self.all.capacity());
        let per_ns: usize = self
            .per_ns
            .values()
            .map(|keys| {
                hash_table::<Arc<str>, NamesByValue>(keys.capacity())
                    + keys
                        .values()
                        .map(|vals| {
                            btree::<Arc<str>, Vec<Arc<str>>>(vals.len())
                                + vals
                                    .values()
                                    .map(|names| vec::<Arc<str>>(names.capacity()))
                                    .sum::<usize>()
                        })
                        .sum::<usize>()
            })
            .sum::<usize>()
            + hash_table::<Arc<str>, HashMap<Arc<str>, NamesByValue>>(self.per_ns.capacity());
        all + per_ns
    }

    /// Forget workload `namespace`/`name`, added with these `labels`.
    pub fn remove<'a>(
        &mut self,
        namespace: &str,
        name: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let (ns, name) = (namespace, name);
        for (k, v) in labels {
            if let Some(vals) = self.all.get_mut(k) {
                if let Some(list) = vals.get_mut(v) {
                    list.retain(|(n, m)| !(&**n == ns && &**m == name));
                    if list.is_empty() {
                        vals.remove(v);
                    }
                }
                if vals.is_empty() {
                    self.all.remove(k);
                }
            }
            if let Some(keys) = self.per_ns.get_mut(ns) {
                if let Some(vals) = keys.get_mut(k) {
                    if let Some(names) = vals.get_mut(v) {
                        names.retain(|n| &**n != name);
                        if names.is_empty() {
                            vals.remove(v);
                        }
                    }
                    if vals.is_empty() {
                        keys.remove(k);
                    }
                }
                if keys.is_empty() {
                    self.per_ns.remove(ns);
                }
            }
        }
    }

    /// Candidates for `sel` in `namespace` (every namespace when `None`): the workloads carrying
    /// a pair every selected pod must carry, as (namespace, name). `None` when the selector
    /// requires no single pair (the caller then scans); the caller still matches each candidate
    /// against the whole selector.
    pub fn candidates(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Option<Vec<(Arc<str>, Arc<str>)>> {
        let (k, v) = selector::required_pair(sel)?;
        Some(match namespace {
            Some(ns) => match self.per_ns.get_key_value(ns) {
                Some((ns, keys)) => keys
                    .get(k)
                    .and_then(|vals| vals.get(v))
                    .into_iter()
                    .flatten()
                    .map(|n| (ns.clone(), n.clone()))
                    .collect(),
                None => Vec::new(),
            },
            None => self
                .all
                .get(k)
                .and_then(|vals| vals.get(v))
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// The values workloads in `namespace` give label `key`, smallest first, at most `limit`,
    /// each with the (sorted) first workload name that has it.
    pub fn values(&self, namespace: &str, key: &str, limit: usize) -> Vec<(String, String)> {
        self.per_ns
            .get(namespace)
            .and_then(|keys| keys.get(key))
            .into_iter()
            .flatten()
            .take(limit)
            .filter_map(|(v, names)| Some((v.to_string(), names.first()?.to_string())))
            .collect()
    }
}

/// The objects read from files, with the indexes [`Companions`] needs.
#[derive(Default)]
pub struct Catalog {
    objects: Vec<Arc<Object>>,
    by_key: FxHashMap<Key, usize>,
    by_kind_ns: FxHashMap<(String, String), Vec<usize>>,
    workloads_by_ns: FxHashMap<String, Vec<usize>>,
    /// Workloads by one pod template label (key -> value -> ids), per namespace and overall.
    workload_labels: FxHashMap<String, PodLabelIndex>,
    workload_labels_all: PodLabelIndex,
    services: FxHashMap<String, SelectorIndex>,
    pdbs: FxHashMap<String, SelectorIndex>,
    /// StatefulSets by `spec.serviceName`, every namespace.
    by_service_name: FxHashMap<String, Vec<usize>>,
    /// Services by name, every namespace.
    services_by_name: FxHashMap<String, Vec<usize>>,
    /// Per object: is it the first of its (kind, namespace, name), the one [`Self::by_key`]
    /// holds? (A list by service name keeps only those, without a lookup per object.)
    first_of_key: Vec<bool>,
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
        let first = match self
            .by_key
            .entry((o.key.kind.clone(), ns.clone(), o.key.name.clone()))
        {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
                true
            }
            std::collections::hash_map::Entry::Occupied(_) => false,
        };
        self.first_of_key.push(first);
        self.by_kind_ns
            .entry((o.key.kind.clone(), ns.clone()))
            .or_default()
            .push(i);
        match &o.body {
            Body::Service(_) => {
                let pair = o
                    .service_selector()
                    .and_then(|m| m.iter().next())
                    .map(|(k, v)| (k.as_str(), v.as_str()));
                self.services.entry(ns).or_default().add(pair, i);
                self.services_by_name
                    .entry(o.key.name.clone())
                    .or_default()
                    .push(i);
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
                if let Some(svc) = o
                    .statefulset()
                    .and_then(|s| s.spec.as_ref())
                    .and_then(|s| s.service_name.as_deref())
                {
                    self.by_service_name
                        .entry(svc.to_string())
                        .or_default()
                        .push(i);
                }
                let labels = pod_labels_of(&o);
                self.workload_labels_all.add(labels, i);
                self.workload_labels
                    .entry(ns.clone())
                    .or_default()
                    .add(labels, i);
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
            .get(&(kind, ns, name) as &dyn KeyView)
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
            o.service_selects(labels)
        })
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.select(self.pdbs.get(namespace), labels, |o| o.pdb_selects(labels))
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

    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
        self.by_service_name
            .get(service_name)
            .into_iter()
            .flatten()
            .filter(|&&i| self.first_of_key[i])
            .map(|&i| self.objects[i].clone())
            .collect()
    }

    fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
        self.services_by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter(|&&i| self.first_of_key[i])
            .map(|&i| self.objects[i].clone())
            .collect()
    }

    fn workloads_selecting(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Vec<Arc<Object>> {
        // a pair every selected pod carries narrows the candidates; without one, scan
        let Some((k, v)) = selector::required_pair(sel) else {
            let ids: Box<dyn Iterator<Item = &usize>> = match namespace {
                Some(ns) => Box::new(self.workloads_by_ns.get(ns).into_iter().flatten()),
                None => Box::new(self.workloads_by_ns.values().flatten()),
            };
            return ids
                .map(|&i| &self.objects[i])
                .filter(|w| selector::matches(sel, pod_labels_of(w)))
                .cloned()
                .collect();
        };
        let index = match namespace {
            Some(ns) => self.workload_labels.get(ns),
            None => Some(&self.workload_labels_all),
        };
        index
            .map_or(&[][..], |ix| ix.get(k, v))
            .iter()
            .map(|&i| &self.objects[i])
            .filter(|w| selector::matches(sel, pod_labels_of(w)))
            .cloned()
            .collect()
    }

    fn pod_label_values(
        &self,
        namespace: &str,
        key: &str,
        limit: usize,
    ) -> Vec<(String, Arc<Object>)> {
        self.workload_labels
            .get(namespace)
            .and_then(|ix| ix.by_pair.get(key))
            .into_iter()
            .flatten()
            .take(limit)
            .map(|(v, ids)| (v.clone(), self.objects[ids[0]].clone()))
            .collect()
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
    use crate::object::FileId;
    use crate::source::{Limits, parse_file};

    #[test]
    fn workloads_selecting_uses_the_label_index_and_matches_fully() {
        let yaml = "apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: x}
spec: {template: {metadata: {labels: {app: web, tier: fe}}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: b, namespace: w}
spec: {template: {metadata: {labels: {app: web}}}}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: x}
";
        let (objects, errors) = parse_file(FileId(0), yaml, "default", &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        let c = Catalog::new(objects.into_iter().map(Arc::new));
        let sel = |y: &str| -> LabelSelector { serde_json::from_str(y).unwrap() };
        let names = |v: Vec<Arc<Object>>| -> Vec<String> {
            let mut n: Vec<_> = v.iter().map(|o| o.key.name.clone()).collect();
            n.sort();
            n
        };
        let web = sel(r#"{"matchLabels": {"app": "web"}}"#);
        assert_eq!(names(c.workloads_selecting(Some("x"), &web)), ["a"]);
        assert_eq!(names(c.workloads_selecting(None, &web)), ["a", "b"]);
        assert!(c.workloads_selecting(Some("z"), &web).is_empty());
        let fe = sel(r#"{"matchLabels": {"app": "web", "tier": "fe"}}"#);
        assert_eq!(names(c.workloads_selecting(None, &fe)), ["a"]);
        // no required pair: scanned (a Pod without labels matches DoesNotExist)
        let no_app = sel(r#"{"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}"#);
        assert_eq!(names(c.workloads_selecting(Some("x"), &no_app)), ["c"]);
        // the trait default gives the same answers
        struct Plain<'a>(&'a Catalog);
        impl Companions for Plain<'_> {
            fn service(&self, n: &str, m: &str) -> Option<Arc<Object>> {
                self.0.service(n, m)
            }
            fn services_selecting(&self, n: &str, l: &Labels) -> Vec<Arc<Object>> {
                self.0.services_selecting(n, l)
            }
            fn pdbs_selecting(&self, n: &str, l: &Labels) -> Vec<Arc<Object>> {
                self.0.pdbs_selecting(n, l)
            }
            fn statefulset(&self, n: &str, m: &str) -> Option<Arc<Object>> {
                self.0.statefulset(n, m)
            }
            fn statefulsets(&self, n: &str) -> Vec<Arc<Object>> {
                self.0.statefulsets(n)
            }
            fn config_map(&self, n: &str, m: &str) -> Option<Arc<Object>> {
                self.0.config_map(n, m)
            }
            fn statefulsets_by_service(&self, s: &str) -> Vec<Arc<Object>> {
                self.0.statefulsets_by_service(s)
            }
            fn services_named(&self, s: &str) -> Vec<Arc<Object>> {
                self.0.services_named(s)
            }
            fn workloads(&self, n: Option<&str>) -> Vec<Arc<Object>> {
                self.0.workloads(n)
            }
        }
        assert_eq!(names(Plain(&c).workloads_selecting(None, &web)), ["a", "b"]);
        assert_eq!(
            names(Plain(&c).workloads_selecting(Some("x"), &no_app)),
            ["c"]
        );
        let values = |v: Vec<(String, Arc<Object>)>| -> Vec<(String, String)> {
            v.into_iter()
                .map(|(v, o)| (v, o.key.name.clone()))
                .collect()
        };
        let want = vec![("fe".to_string(), "a".to_string())];
        assert_eq!(values(c.pod_label_values("x", "tier", 5)), want);
        assert_eq!(values(Plain(&c).pod_label_values("x", "tier", 5)), want);
        assert!(c.pod_label_values("x", "tier", 0).is_empty());
        assert!(c.pod_label_values("w", "tier", 5).is_empty());
    }
}
