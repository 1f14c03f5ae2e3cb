//! A [`Companions`] view with some objects replaced, added or removed: what the world looks
//! like after a change under admission (the new StatefulSet, an updated Service, a deleted PDB).

use std::sync::Arc;

use super::Companions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::object::{Labels, Object};
use crate::selector;

/// The companion view with some objects replaced, added (`Some`) or removed (`None`).
pub struct Overlay<'a> {
    base: &'a dyn Companions,
    /// (kind, namespace, name, replacement), borrowed from the caller: building the view of a
    /// review copies no name.
    changes: Vec<(&'a str, &'a str, &'a str, Option<Arc<Object>>)>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Companions) -> Self {
        Overlay {
            base,
            changes: Vec::new(),
        }
    }

    /// Replace `kind` `at.namespace`/`at.name` with `with` (None removes it).
    pub fn with(mut self, kind: &'a str, at: &'a Object, with: Option<Arc<Object>>) -> Self {
        self.changes
            .push((kind, &at.key.namespace, &at.key.name, with));
        self
    }

    fn changed(&self, kind: &str, ns: &str, name: &str) -> Option<&Option<Arc<Object>>> {
        self.changes
            .iter()
            .find(|(k, n, m, _)| *k == kind && *n == ns && *m == name)
            .map(|(_, _, _, o)| o)
    }

    fn get(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        base: impl FnOnce() -> Option<Arc<Object>>,
    ) -> Option<Arc<Object>> {
        match self.changed(kind, ns, name) {
            Some(o) => o.clone(),
            None => base(),
        }
    }

    /// Base answers minus replaced objects, plus the replacements that `keep`.
    fn merge(
        &self,
        kinds: &[&str],
        ns: Option<&str>,
        base: Vec<Arc<Object>>,
        keep: impl Fn(&Object) -> bool,
    ) -> Vec<Arc<Object>> {
        let mut out: Vec<Arc<Object>> = base
            .into_iter()
            .filter(|o| {
                self.changed(&o.key.kind, &o.key.namespace, &o.key.name)
                    .is_none()
            })
            .collect();
        for (k, n, _, o) in &self.changes {
            if let Some(o) = o
                && kinds.contains(k)
                && ns.is_none_or(|ns| ns == *n)
                && keep(o)
            {
                out.push(o.clone());
            }
        }
        out
    }
}

impl Companions for Overlay<'_> {
    fn service(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("Service", namespace, name, || {
            self.base.service(namespace, name)
        })
    }

    fn services_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.merge(
            &["Service"],
            Some(namespace),
            self.base.services_selecting(namespace, labels),
            |o| o.service_selects(labels),
        )
    }

    fn pdbs_selecting(&self, namespace: &str, labels: &Labels) -> Vec<Arc<Object>> {
        self.merge(
            &["PodDisruptionBudget"],
            Some(namespace),
            self.base.pdbs_selecting(namespace, labels),
            |o| o.pdb_selects(labels),
        )
    }

    fn statefulset(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("StatefulSet", namespace, name, || {
            self.base.statefulset(namespace, name)
        })
    }

    fn statefulsets(&self, namespace: &str) -> Vec<Arc<Object>> {
        self.merge(
            &["StatefulSet"],
            Some(namespace),
            self.base.statefulsets(namespace),
            |_| true,
        )
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.get("ConfigMap", namespace, name, || {
            self.base.config_map(namespace, name)
        })
    }

    fn workloads(&self, namespace: Option<&str>) -> Vec<Arc<Object>> {
        self.merge(
            &["StatefulSet"],
            namespace,
            self.base.workloads(namespace),
            |o| o.pod_template().is_some(),
        )
    }

    /// The base's answer (from its index) merged with the changes: never a scan of the base.
    fn workloads_selecting(
        &self,
        namespace: Option<&str>,
        sel: &LabelSelector,
    ) -> Vec<Arc<Object>> {
        self.merge(
            &["StatefulSet"],
            namespace,
            self.base.workloads_selecting(namespace, sel),
            |o| {
                o.pod_template().is_some()
                    && selector::matches(sel, o.pod_labels().unwrap_or(&Labels::new()))
            },
        )
    }

    /// The base's values (from its index) with the changed objects' values in place of those of
    /// their old versions (a value that only a replaced object's old version had is dropped,
    /// even if another workload shares it and lies beyond the base's answer: these feed hints).
    fn pod_label_values(
        &self,
        namespace: &str,
        key: &str,
        limit: usize,
    ) -> Vec<(String, Arc<Object>)> {
        let mut values: std::collections::BTreeMap<String, Arc<Object>> = self
            .base
            .pod_label_values(namespace, key, limit + self.changes.len())
            .into_iter()
            .filter(|(_, o)| {
                self.changed(&o.key.kind, &o.key.namespace, &o.key.name)
                    .is_none()
            })
            .collect();
        for (k, n, _, o) in &self.changes {
            if let Some(o) = o
                && *k == "StatefulSet"
                && *n == namespace
                && let Some(v) = o.pod_labels().and_then(|l| l.get(key))
            {
                values.entry(v.clone()).or_insert_with(|| o.clone());
            }
        }
        values.into_iter().take(limit).collect()
    }

    fn statefulsets_by_service(&self, service_name: &str) -> Vec<Arc<Object>> {
        self.merge(
            &["StatefulSet"],
            None,
            self.base.statefulsets_by_service(service_name),
            |o| o.service_name() == Some(service_name),
        )
    }

    fn services_named(&self, name: &str) -> Vec<Arc<Object>> {
        self.merge(&["Service"], None, self.base.services_named(name), |o| {
            o.key.name == name
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn sts(ns: &str, name: &str, app: &str) -> Arc<Object> {
        let v = serde_json::json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": app}},
                "template": {"metadata": {"labels": {"app": app}}}}});
        Arc::new(Object::from_value(v, None, ns).unwrap().unwrap())
    }

    /// A base that answers label lookups from its index and panics when asked to list every
    /// workload: the overlay must not fall back to the scanning trait defaults.
    struct NoScan(Catalog);

    impl Companions for NoScan {
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
        fn workloads(&self, _: Option<&str>) -> Vec<Arc<Object>> {
            panic!("scanned every workload")
        }
        fn workloads_selecting(&self, n: Option<&str>, s: &LabelSelector) -> Vec<Arc<Object>> {
            self.0.workloads_selecting(n, s)
        }
        fn pod_label_values(&self, n: &str, k: &str, l: usize) -> Vec<(String, Arc<Object>)> {
            self.0.pod_label_values(n, k, l)
        }
    }

    #[test]
    fn label_lookups_go_to_the_base_index_with_the_changes_merged() {
        let base = NoScan(Catalog::new([sts("a", "zk", "zk"), sts("b", "web", "web")]));
        let new = sts("a", "zk", "zk2");
        let view = Overlay::new(&base).with("StatefulSet", &new, Some(new.clone()));
        let sel = |app: &str| -> LabelSelector {
            serde_json::from_value(serde_json::json!({"matchLabels": {"app": app}})).unwrap()
        };
        let names = |v: Vec<Arc<Object>>| -> Vec<String> {
            v.iter()
                .map(|o| format!("{}/{}", o.key.namespace, o.key.name))
                .collect()
        };
        // the old zk (app=zk) is replaced by the new one (app=zk2)
        assert!(view.workloads_selecting(None, &sel("zk")).is_empty());
        assert_eq!(names(view.workloads_selecting(None, &sel("zk2"))), ["a/zk"]);
        assert_eq!(
            names(view.workloads_selecting(Some("b"), &sel("web"))),
            ["b/web"]
        );
        assert!(view.workloads_selecting(Some("b"), &sel("zk2")).is_empty());
        let values: Vec<String> = view
            .pod_label_values("a", "app", 5)
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert_eq!(values, ["zk2"]);
    }
}
