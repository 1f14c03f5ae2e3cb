//! SL009 `odd-replicas`. The rule's documentation is its page, `rules/SL009-odd-replicas.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: which quorum a StatefulSet votes in, and which StatefulSets vote
//! together, come from [`crate::ensemble::quorum`] (role voter of a majority-quorum system;
//! StatefulSets behind one broader Service, or of one MongoDB replica set). Their replicas are
//! summed, and each member reports the total.

use std::sync::Arc;

use super::util::{join_and, quorum};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::Kind;
use crate::ensemble::quorum::ensemble;
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL009",
    slug: "odd-replicas",
    severity: Severity::Warning,
    summary: "majority-quorum ensembles (ZooKeeper, etcd, KRaft controllers, Consul, NATS JetStream, Elasticsearch masters, MongoDB...) have an odd number of voters",
    page: include_str!("../../rules/SL009-odd-replicas.md"),
};

pub struct OddReplicas;

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
        let Some((quorum_of, members)) = ensemble(object, cx.companions) else {
            return;
        };
        let kind = quorum_of.label();
        let own = object.replicas();
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
    use crate::object::Object;
    use crate::rules::util::testing::one_container_statefulset as sts;

    fn is_etcd(o: &Object) -> bool {
        crate::ensemble::system::is_etcd(o, &crate::catalog::Catalog::default())
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
