//! A [`Companions`] view with some objects replaced, added or removed: what the world looks
//! like after a change under admission (the new StatefulSet, an updated Service, a deleted PDB).

use std::sync::Arc;

use super::Companions;
use crate::object::{Labels, Object};

/// The companion view with some objects replaced, added (`Some`) or removed (`None`).
pub struct Overlay<'a> {
    base: &'a dyn Companions,
    changes: Vec<(String, String, String, Option<Arc<Object>>)>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Companions) -> Self {
        Overlay {
            base,
            changes: Vec::new(),
        }
    }

    /// Replace `kind` `at.namespace`/`at.name` with `with` (None removes it).
    pub fn with(mut self, kind: &str, at: &Object, with: Option<Arc<Object>>) -> Self {
        self.changes.push((
            kind.to_string(),
            at.key.namespace.clone(),
            at.key.name.clone(),
            with,
        ));
        self
    }

    fn changed(&self, kind: &str, ns: &str, name: &str) -> Option<&Option<Arc<Object>>> {
        self.changes
            .iter()
            .find(|(k, n, m, _)| k == kind && n == ns && m == name)
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
                && kinds.contains(&k.as_str())
                && ns.is_none_or(|ns| ns == n)
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
