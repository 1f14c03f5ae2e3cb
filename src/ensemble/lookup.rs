//! Finding the StatefulSets a host list names, through the [`Companions`] indexes (never a scan
//! of every StatefulSet): by the hosts' Service name in their namespace, and across every
//! namespace of the input, context or cluster when they are not there.

use std::sync::Arc;

use crate::catalog::Companions;
use crate::object::Object;
use crate::selector;

use super::hosts::split_ordinal;

/// A StatefulSet the hosts name, and the Service they go through (if any).
#[derive(Debug, Clone)]
pub struct Ensemble {
    pub sts: Arc<Object>,
    /// The Service the hosts name, when it exists and selects the ensemble's pods.
    pub service: Option<Arc<Object>>,
}

/// A StatefulSet's `spec.serviceName` ("" when unset).
pub fn service_name(sts: &Object) -> &str {
    sts.statefulset()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.service_name.as_deref())
        .unwrap_or("")
}

/// Does `service` select the pods of `sts` (a non-empty selector)?
pub fn selects(service: &Object, sts: &Object) -> bool {
    let sel = service
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.selector.as_ref());
    match (sel, sts.pod_labels()) {
        (Some(sel), Some(labels)) if !sel.is_empty() => selector::map_matches(sel, labels),
        _ => false,
    }
}

pub fn is_headless(service: &Object) -> bool {
    service
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.cluster_ip.as_deref())
        == Some("None")
}

pub fn service_ports(service: &Object) -> Vec<i32> {
    service
        .service()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| p.port)
        .collect()
}

/// containerPorts of a StatefulSet's pods, sorted; `default` when they declare none.
pub fn pod_ports(sts: &Object, default: i32) -> Vec<i32> {
    let mut ports: Vec<i32> = declared_ports(sts).collect();
    if ports.is_empty() {
        return vec![default];
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Whether `port` is among [`pod_ports`] (without listing them).
pub fn pod_serves(sts: &Object, port: i32, default: i32) -> bool {
    let mut any = false;
    for p in declared_ports(sts) {
        if p == port {
            return true;
        }
        any = true;
    }
    !any && port == default
}

/// The `containerPort`s of the pods' containers, as written.
fn declared_ports(sts: &Object) -> impl Iterator<Item = i32> + '_ {
    sts.pod_template()
        .and_then(|t| t.spec.as_ref())
        .into_iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| p.container_port)
}

/// StatefulSets that Service name `svc` in `ns` leads to and `is_member` accepts: those whose
/// `serviceName` is `svc`, and those a Service `svc` selects.
/// `services`: the Services named `svc` (in `ns`), when the caller looked them up already.
fn candidates(
    ns: Option<&str>,
    svc: &str,
    services: Option<Vec<Arc<Object>>>,
    companions: &dyn Companions,
    is_member: &dyn Fn(&Object) -> bool,
) -> Vec<Ensemble> {
    let services: Vec<Arc<Object>> = match (services, ns) {
        (Some(known), _) => known,
        (None, Some(ns)) => companions.service(ns, svc).into_iter().collect(),
        (None, None) => companions.services_named(svc),
    };
    let by_service = companions.statefulsets_by_service(svc);
    candidates_of(ns, &services, by_service, companions, is_member)
}

/// [`candidates`] from the Services named `svc` and the StatefulSets whose serviceName is `svc`.
fn candidates_of(
    ns: Option<&str>,
    services: &[Arc<Object>],
    by_service: Vec<Arc<Object>>,
    companions: &dyn Companions,
    is_member: &dyn Fn(&Object) -> bool,
) -> Vec<Ensemble> {
    let mut out: Vec<Ensemble> = Vec::new();
    for sts in by_service {
        if ns.is_some_and(|ns| ns != sts.key.namespace) || !is_member(&sts) {
            continue;
        }
        let service = services
            .iter()
            .find(|s| s.key.namespace == sts.key.namespace && selects(s, &sts))
            .cloned();
        out.push(Ensemble { sts, service });
    }
    for s in services {
        let Some(sel) = s
            .service()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.selector.as_ref())
            .filter(|m| !m.is_empty())
        else {
            continue;
        };
        let ls = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
            match_labels: Some(sel.clone()),
            match_expressions: None,
        };
        for w in companions.workloads_selecting(Some(&s.key.namespace), &ls) {
            if w.statefulset().is_none() || !is_member(&w) || out.iter().any(|e| e.sts.key == w.key)
            {
                continue;
            }
            out.push(Ensemble {
                sts: w,
                service: Some(s.clone()),
            });
        }
    }
    out.sort_by(|a, b| a.sts.key.cmp(&b.sts.key));
    out
}

/// The StatefulSet in `ns` that Service name `svc` leads to: its `serviceName`, or a Service of
/// that name selecting its pods. `pod` (a pod-name host) prefers the StatefulSet of that name.
pub fn find(
    ns: &str,
    svc: &str,
    pod: Option<&str>,
    companions: &dyn Companions,
    is_member: &dyn Fn(&Object) -> bool,
) -> Option<Ensemble> {
    let service = companions.service(ns, svc);
    find_given(ns, svc, service.as_slice(), pod, companions, is_member)
}

/// [`find`] when the caller already asked `companions` for Service `svc` in `ns`: `service` is
/// the answer (no second lookup).
pub fn find_with_service(
    ns: &str,
    svc: &str,
    service: Option<Arc<Object>>,
    pod: Option<&str>,
    companions: &dyn Companions,
    is_member: &dyn Fn(&Object) -> bool,
) -> Option<Ensemble> {
    find_given(ns, svc, service.as_slice(), pod, companions, is_member)
}

/// `services`: the Services named `svc` in `ns` (at most one).
fn find_given(
    ns: &str,
    svc: &str,
    services: &[Arc<Object>],
    pod: Option<&str>,
    companions: &dyn Companions,
    is_member: &dyn Fn(&Object) -> bool,
) -> Option<Ensemble> {
    let prefix = pod.and_then(split_ordinal).map(|(n, _)| n);
    let by_service = companions.statefulsets_by_service(svc);
    // The common case, a pod name of a StatefulSet whose serviceName is `svc`: the candidates
    // are ordered by (name is not the pod's, serviceName is not `svc`, key), and no other
    // candidate can come before it (a StatefulSet a Service selects that has this name in `ns`
    // is this one; one whose serviceName is `svc` is in `by_service`), so the search for the
    // workloads the Services select is skipped.
    if let Some(prefix) = prefix {
        let mut best: Option<&Arc<Object>> = None;
        for sts in &by_service {
            if sts.key.name == prefix
                && sts.key.namespace == ns
                && service_name(sts) == svc
                && is_member(sts)
                && best.is_none_or(|b| sts.key < b.key)
            {
                best = Some(sts);
            }
        }
        if let Some(sts) = best {
            let service = services
                .iter()
                .find(|s| s.key.namespace == sts.key.namespace && selects(s, sts))
                .cloned();
            return Some(Ensemble {
                sts: sts.clone(),
                service,
            });
        }
    }
    let mut found = candidates_of(Some(ns), services, by_service, companions, is_member);
    found.sort_by_key(|e| {
        (
            Some(e.sts.key.name.as_str()) != prefix,
            service_name(&e.sts) != svc,
        )
    });
    found.into_iter().next()
}

/// The StatefulSets that Service name `svc` leads to in every namespace (an ensemble the hosts
/// place in the wrong namespace), the one named by `pod` first.
pub fn find_anywhere(
    svc: &str,
    pod: Option<&str>,
    companions: &dyn Companions,
    is_member: &dyn Fn(&Object) -> bool,
) -> Vec<Ensemble> {
    let prefix = pod.and_then(split_ordinal).map(|(n, _)| n);
    let mut found = candidates(None, svc, None, companions, is_member);
    found.sort_by_key(|e| {
        (
            Some(e.sts.key.name.as_str()) != prefix,
            service_name(&e.sts) != svc,
        )
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::ensemble::system::is_zookeeper;
    use crate::object::FileId;
    use crate::source::{Limits, parse_file};

    fn catalog(yaml: &str) -> Catalog {
        let (objects, errors) = parse_file(FileId(0), yaml, "default", &Limits::default());
        assert!(errors.is_empty(), "{errors:?}");
        Catalog::new(objects.into_iter().map(Arc::new))
    }

    const INPUT: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk, namespace: data}
spec:
  serviceName: zk-hs
  selector: {matchLabels: {app: zk}}
  template:
    metadata: {labels: {app: zk}}
    spec: {containers: [{name: zk, image: zookeeper:3.9}]}
---
apiVersion: v1
kind: Service
metadata: {name: zk-cs, namespace: data}
spec: {selector: {app: zk}, ports: [{port: 2181}]}
---
apiVersion: v1
kind: Service
metadata: {name: zk-cs, namespace: other}
spec: {selector: {app: nothing}, ports: [{port: 2181}]}
";

    #[test]
    fn finds_ensembles_by_service_in_any_namespace() {
        let c = catalog(INPUT);
        let zk = |o: &Object| is_zookeeper(o, &c);
        let e = find("data", "zk-hs", Some("zk-0"), &c, &zk).unwrap();
        assert_eq!(e.sts.key.name, "zk");
        assert!(e.service.is_none());
        let e = find("data", "zk-cs", None, &c, &zk).unwrap();
        assert_eq!(e.service.unwrap().key.name, "zk-cs");
        assert!(find("other", "zk-hs", None, &c, &zk).is_none());
        assert!(find("other", "zk-cs", None, &c, &zk).is_none());
        let all = find_anywhere("zk-hs", None, &c, &zk);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].sts.key.namespace, "data");
        let all = find_anywhere("zk-cs", None, &c, &zk);
        assert_eq!(all.len(), 1, "only the Service that selects ZooKeeper pods");
        assert!(find_anywhere("nope", None, &c, &zk).is_empty());
        // not a member of the system asked for
        assert!(find_anywhere("zk-hs", None, &c, &|_: &Object| false).is_empty());
    }

    #[test]
    fn a_pod_name_picks_its_statefulset_with_or_without_the_selector_search() {
        // zk2's serviceName is another, but Service zk-cs selects its pods too
        let input = INPUT.to_string()
            + "---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk2, namespace: data}
spec:
  serviceName: zk-cs
  selector: {matchLabels: {app: zk}}
  template:
    metadata: {labels: {app: zk}}
    spec: {containers: [{name: zk, image: zookeeper:3.9}]}
";
        let c = catalog(&input);
        let zk = |o: &Object| is_zookeeper(o, &c);
        // the serviceName index names it: found without the search, with the Service
        let e = find("data", "zk-cs", Some("zk2-0"), &c, &zk).unwrap();
        assert_eq!(e.sts.key.name, "zk2");
        assert_eq!(e.service.unwrap().key.name, "zk-cs");
        // found through the Service's selector
        let e = find("data", "zk-cs", Some("zk-0"), &c, &zk).unwrap();
        assert_eq!(e.sts.key.name, "zk");
        assert_eq!(e.service.unwrap().key.name, "zk-cs");
        // no pod of that name: the serviceName first
        let e = find("data", "zk-cs", Some("zk3-0"), &c, &zk).unwrap();
        assert_eq!(e.sts.key.name, "zk2");
        // not a member: not found either way
        assert!(find("data", "zk-cs", Some("zk2-0"), &c, &|_: &Object| false).is_none());
    }
}
