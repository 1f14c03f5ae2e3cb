//! SL009 `odd-replicas`. The rule's documentation is its page, `rules/SL009-odd-replicas.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: the product comes from image, command or name ([`is_zookeeper`],
//! [`is_etcd`]). StatefulSets of one product that a Service (broader than the StatefulSet's own
//! selector) selects together are one ensemble ([`Companions::services_selecting`],
//! [`Companions::statefulsets`]): their replicas are summed, and each member reports the total.
//!
//! [`Companions::services_selecting`]: crate::catalog::Companions::services_selecting
//! [`Companions::statefulsets`]: crate::catalog::Companions::statefulsets

use std::sync::Arc;

use super::util::{join_and, quorum};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::Kind;
use crate::ensemble::system::{is_etcd, is_zookeeper};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL009",
    slug: "odd-replicas",
    severity: Severity::Warning,
    summary: "ZooKeeper and etcd ensembles have an odd number of replicas",
    page: include_str!("../../rules/SL009-odd-replicas.md"),
};

pub struct OddReplicas;

fn product(obj: &Object, companions: &dyn crate::catalog::Companions) -> Option<&'static str> {
    if is_zookeeper(obj, companions) {
        Some("ZooKeeper")
    } else if is_etcd(obj, companions) {
        Some("etcd")
    } else {
        None
    }
}

/// The StatefulSets of `obj`'s ensemble: itself plus the other StatefulSets of the same
/// product in its namespace whose pods a Service selecting `obj`'s pods also selects.
fn ensemble(obj: &Arc<Object>, kind: &str, cx: &Ctx<'_>) -> Vec<Arc<Object>> {
    let mut members = vec![obj.clone()];
    let Some(labels) = obj.pod_labels() else {
        return members;
    };
    let ns = &obj.key.namespace;
    // Only a Service broader than the StatefulSet's own selector can also select the pods of
    // another StatefulSet; without one, skip the scan of the namespace.
    let own: Option<&std::collections::BTreeMap<String, String>> = obj
        .statefulset()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.selector.match_labels.as_ref());
    let services: Vec<Arc<Object>> = cx
        .companions
        .services_selecting(ns, labels)
        .into_iter()
        .filter(|s| match (s.service_selector(), own) {
            (Some(sel), Some(own)) => !own.iter().all(|(k, v)| sel.get(k) == Some(v)),
            _ => true,
        })
        .collect();
    if services.is_empty() {
        return members;
    }
    for other in cx.companions.statefulsets(ns) {
        if other.key == obj.key || product(&other, cx.companions) != Some(kind) {
            continue;
        }
        let Some(ol) = other.pod_labels() else {
            continue;
        };
        let shared = services.iter().any(|s| s.service_selects(ol));
        if shared {
            members.push(other);
        }
    }
    members.sort_by(|a, b| a.key.name.cmp(&b.key.name));
    members
}

impl Rule for OddReplicas {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn depends_on_replicas(&self) -> bool {
        true
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Service, Kind::StatefulSet, Kind::ConfigMap]
    }

    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if object.statefulset().is_none() {
            return;
        }
        let Some(kind) = product(object, cx.companions) else {
            return;
        };
        let own = object.replicas();
        let members = ensemble(object, kind, cx);
        let total: i32 = members.iter().map(|m| m.replicas()).sum();
        if total <= 0 || total % 2 != 0 {
            return;
        }
        let tolerated = total - quorum(total);
        let s = |n: i32| if n == 1 { "" } else { "s" };
        let name = &object.key.name;
        let mut f = if members.len() == 1 {
            Finding::new(
                &META,
                object,
                "/spec/replicas",
                format!(
                    "{kind} StatefulSet {name} has {total} replicas, an even number: a quorum needs {q}, so it survives {tolerated} failure{}, no more than {} replica{} would",
                    s(tolerated),
                    total - 1,
                    s(total - 1),
                    q = quorum(total),
                ),
            )
            .help(format!(
                "set replicas to {} (tolerates {} failure{}) or {} (tolerates {})",
                total - 1,
                (total - 1) - quorum(total - 1),
                s((total - 1) - quorum(total - 1)),
                total + 1,
                (total + 1) - quorum(total + 1)
            ))
        } else {
            let parts: Vec<String> = members
                .iter()
                .map(|m| format!("{} ({})", m.key.name, m.replicas()))
                .collect();
            Finding::new(
                &META,
                object,
                "/spec/replicas",
                format!(
                    "{kind} StatefulSet {name} ({own} replica{}) is part of one ensemble with {total} members in all, {}: an even number; a quorum needs {q}, so it survives {tolerated} failure{}, no more than {} members would",
                    s(own),
                    join_and(&parts),
                    s(tolerated),
                    total - 1,
                    q = quorum(total),
                ),
            )
            .help(format!(
                "make the total odd: {} or {} members across {}",
                total - 1,
                total + 1,
                join_and(&members.iter().map(|m| m.key.name.clone()).collect::<Vec<_>>())
            ))
        };
        if object
            .origin
            .as_ref()
            .is_some_and(|o| !o.has("/spec/replicas"))
        {
            f = f.on_key();
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rules::util::testing::one_container_statefulset as sts;

    fn is_etcd(o: &Object) -> bool {
        super::is_etcd(o, &crate::catalog::Catalog::default())
    }

    #[test]
    fn detects_etcd() {
        assert!(is_etcd(&sts("store", "quay.io/coreos/etcd:v3.5", &[])));
        assert!(is_etcd(&sts("store", "registry.k8s.io/etcd:3.5.9-0", &[])));
        assert!(is_etcd(&sts("store", "base:1", &["/usr/local/bin/etcd"])));
        assert!(is_etcd(&sts("etcd", "base:1", &[])));
        assert!(!is_etcd(&sts(
            "ops",
            "quay.io/coreos/etcd-operator:v0.9",
            &[]
        )));
        assert!(!is_etcd(&sts("etcd-backup", "base:1", &[])));
        assert!(!is_etcd(&sts("metcdx", "base:1", &[])));
        assert!(!is_etcd(&sts("kafka", "bitnami/kafka:3", &[])));
    }
}
