//! SL001 `headless-service`. The rule's documentation is its page, `rules/SL001-headless-service.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: reads the Service named by `spec.serviceName`
//! ([`Companions::service`]); findings about the Service point into it, with a note on
//! `serviceName`. When the Service is missing, a headless Service already selecting the pods
//! ([`Companions::services_selecting`]) is suggested. The webhook asks this rule what a Service
//! UPDATE or DELETE breaks ([`Rule::concerns`], [`Rule::removal_breaks`]).
//!
//! [`Companions::service`]: crate::catalog::Companions::service
//! [`Companions::services_selecting`]: crate::catalog::Companions::services_selecting

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ServiceSpec;

use super::util::{present, yaml_map, yaml_scalar};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::{Companions, Kind};
use crate::object::{Labels, Object};
use crate::selector::describe_map;
use crate::source::yaml::push_segment;

pub static META: RuleMeta = RuleMeta {
    code: "SL001",
    slug: "headless-service",
    severity: Severity::Error,
    summary: "StatefulSet has a headless Service (clusterIP: None, selecting its pods) named by spec.serviceName",
    page: include_str!("../../rules/SL001-headless-service.md"),
};

pub struct HeadlessService;

const SERVICE_NAME: &str = "/spec/serviceName";

/// What a Service without `spec` reads as (built once, not per check).
static DEFAULT_SERVICE_SPEC: std::sync::LazyLock<ServiceSpec> =
    std::sync::LazyLock::new(ServiceSpec::default);

impl Rule for HeadlessService {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Service]
    }

    fn concerns(&self, sts: &Object, service: &Object) -> bool {
        sts.service_name() == Some(service.key.name.as_str())
    }

    /// Deleting the headless Service a StatefulSet names removes its pods' DNS names.
    fn removal_breaks(
        &self,
        sts: &Arc<Object>,
        service: &Arc<Object>,
        _cx: &Ctx<'_>,
    ) -> Option<Finding> {
        if !service.is_headless_service() || !self.concerns(sts, service) {
            return None;
        }
        let (name, sts_name, ns) = (&service.key.name, &sts.key.name, &sts.key.namespace);
        Some(
            Finding::new(
                &META,
                sts,
                SERVICE_NAME,
                format!(
                    "Service {name} is the headless Service of StatefulSet {sts_name} \
                     (spec.serviceName); deleting it removes the DNS names of its {} pods",
                    sts.replicas()
                ),
            )
            .help(format!(
                "delete StatefulSet {sts_name} first (kubectl delete statefulset {sts_name} -n \
                 {ns}), or point its serviceName at another headless Service"
            )),
        )
    }

    fn companion_missing(&self, sts: &Object, view: &dyn Companions) -> bool {
        sts.service_name()
            .is_some_and(|n| view.service(&sts.key.namespace, n).is_none())
    }

    fn check(&self, obj: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(sts) = obj.statefulset() else {
            return;
        };
        let spec = sts.spec.as_ref();
        let name = &obj.key.name;
        let ns = &obj.key.namespace;
        let empty = Labels::new();
        let pod_labels = obj.pod_labels().unwrap_or(&empty);
        let selector_labels = spec
            .and_then(|s| s.selector.match_labels.as_ref())
            .filter(|m| !m.is_empty())
            .unwrap_or(pod_labels);
        let service_name = obj.service_name().unwrap_or("");

        if service_name.is_empty() {
            let what = if spec.is_some_and(|s| s.service_name.is_some()) {
                "an empty spec.serviceName"
            } else {
                "no spec.serviceName"
            };
            let help = match headless_selecting(cx, ns, pod_labels) {
                Some(svc) => format!(
                    "set spec.serviceName: {} (that headless Service already selects the pods)",
                    yaml_scalar(&svc.key.name)
                ),
                None => {
                    let suggested = format!("{name}-headless");
                    format!(
                        "set spec.serviceName: {suggested}, and {}",
                        create_help(&suggested, ns, selector_labels)
                    )
                }
            };
            let mut f = Finding::new(
                &META,
                obj,
                SERVICE_NAME,
                format!(
                    "StatefulSet {name} has {what}: its pods get no stable DNS names \
                     (<pod>.<service>.{ns}.svc) to find each other by"
                ),
            )
            .help(help);
            if !present(obj, SERVICE_NAME) {
                f = f.on_key();
            }
            out.push(f);
            return;
        }

        let Some(svc_obj) = cx.companions.service(ns, service_name) else {
            out.push(
                Finding::new(
                    &META,
                    obj,
                    SERVICE_NAME,
                    format!(
                        "StatefulSet {name} names Service {service_name} in spec.serviceName, \
                         but there is no Service {service_name} in namespace {ns}"
                    ),
                )
                .help(match headless_selecting(cx, ns, pod_labels) {
                    Some(svc) => format!(
                        "headless Service {} selects these pods: set spec.serviceName: {}, or {}",
                        svc.key.name,
                        yaml_scalar(&svc.key.name),
                        create_help(service_name, ns, selector_labels)
                    ),
                    None => create_help(service_name, ns, selector_labels),
                }),
            );
            return;
        };
        let Some(svc) = svc_obj.service() else {
            return;
        };
        let svc_spec = svc.spec.as_ref().unwrap_or(&DEFAULT_SERVICE_SPEC);
        let governing = "spec.serviceName names this Service";

        // type
        let ty = svc_spec.type_.as_deref().unwrap_or("ClusterIP");
        if ty != "ClusterIP" {
            out.push(
                Finding::new(
                    &META,
                    obj,
                    SERVICE_NAME,
                    format!(
                        "Service {service_name}, which StatefulSet {name} names in spec.serviceName, \
                         has type {ty}: a headless Service must be type ClusterIP"
                    ),
                )
                .at(&svc_obj, "/spec/type")
                .note(obj, SERVICE_NAME, governing)
                .help(format!(
                    "give the StatefulSet its own headless Service (type ClusterIP, clusterIP: None); \
                     expose the pods to clients through a separate {ty} Service"
                )),
            );
        }

        // clusterIP
        let cluster_ip = svc_spec
            .cluster_ip
            .as_deref()
            .or_else(|| svc_spec.cluster_ips.as_ref()?.first().map(String::as_str));
        // (other types cannot be headless: the type finding covers them)
        if cluster_ip != Some("None") && ty == "ClusterIP" {
            let (what, ptr) = match cluster_ip {
                Some(ip) if svc_spec.cluster_ip.is_some() => {
                    (format!("clusterIP: {ip}"), "/spec/clusterIP")
                }
                Some(ip) => (format!("clusterIPs: [{ip}]"), "/spec/clusterIPs/0"),
                None => ("no clusterIP".to_string(), "/spec/clusterIP"),
            };
            let mut f = Finding::new(
                &META,
                obj,
                SERVICE_NAME,
                format!(
                    "Service {service_name}, which StatefulSet {name} names in spec.serviceName, \
                     is not headless ({what}): the pods of {name} get no per-pod DNS records"
                ),
            )
            .at(&svc_obj, ptr)
            .note(obj, SERVICE_NAME, governing)
            .help(format!(
                "set clusterIP: None in Service {service_name} (clusterIP cannot be changed in place: \
                 delete and re-create the Service); if clients need a load-balanced address, \
                 add a second, ordinary Service for them"
            ));
            if !present(&svc_obj, ptr) {
                f = f.on_key();
            }
            out.push(f);
        }

        // selector
        let no_selector = BTreeMap::new();
        let sel = svc_spec.selector.as_ref().unwrap_or(&no_selector);
        if sel.is_empty() {
            let ptr = "/spec/selector";
            let mut f = Finding::new(
                &META,
                obj,
                SERVICE_NAME,
                format!(
                    "Service {service_name}, which StatefulSet {name} names in spec.serviceName, \
                     has no selector: it selects no pods, so they get no DNS records"
                ),
            )
            .at(&svc_obj, ptr)
            .note(obj, SERVICE_NAME, governing)
            .help(format!(
                "add selector: {} to Service {service_name}",
                yaml_map(selector_labels)
            ));
            if !present(&svc_obj, ptr) {
                f = f.on_key();
            }
            out.push(f);
        } else if let Some(k) = sel
            .iter()
            .find(|(k, v)| pod_labels.get(*k) != Some(*v))
            .map(|(k, _)| k)
        {
            let mut ptr = "/spec/selector".to_string();
            push_segment(&mut ptr, k);
            let have = match pod_labels.get(k) {
                Some(pv) => format!("are labelled {k}={pv}"),
                None => format!("have no label {k}"),
            };
            let mut f = Finding::new(
                &META,
                obj,
                SERVICE_NAME,
                format!(
                    "Service {service_name}, which StatefulSet {name} names in spec.serviceName, \
                     selects {}, but the pods of {name} {have}: the Service selects none of them",
                    describe_map(sel),
                ),
            )
            .at(&svc_obj, ptr)
            .note(obj, SERVICE_NAME, governing);
            let template_labels = "/spec/template/metadata/labels";
            if present(obj, template_labels) {
                f = f.note(obj, template_labels, "the pod template's labels");
            }
            let fixed: BTreeMap<String, String> = sel
                .iter()
                .filter(|(k, _)| pod_labels.contains_key(*k))
                .map(|(k, _)| (k.clone(), pod_labels[k].clone()))
                .collect();
            let fixed = if fixed.is_empty() {
                selector_labels.clone()
            } else {
                fixed
            };
            out.push(f.help(format!(
                "make the Service's selector a subset of the pod template labels, e.g. selector: {}",
                yaml_map(&fixed)
            )));
        }
    }
}

/// A headless Service in `ns` that already selects pods with `labels` (the one to name).
fn headless_selecting(cx: &Ctx<'_>, ns: &str, labels: &Labels) -> Option<Arc<Object>> {
    cx.companions
        .services_selecting(ns, labels)
        .into_iter()
        .find(|s| s.is_headless_service())
}

/// How to create the missing Service: a minimal manifest and the order to apply it in.
fn create_help(service: &str, ns: &str, labels: &Labels) -> String {
    format!(
        "create the headless Service and apply it before the StatefulSet (within one \
         `kubectl apply -f` file, put it above the StatefulSet): {{apiVersion: v1, kind: Service, \
         metadata: {{name: {}, namespace: {}}}, spec: {{clusterIP: None, selector: {}}}}}",
        yaml_scalar(service),
        yaml_scalar(ns),
        yaml_map(labels)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::util::testing::{lint, messages};

    const STS: &str = "
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk}
spec:
  serviceName: zk-hs
  selector: {matchLabels: {app: zk}}
  template:
    metadata: {labels: {app: zk, tier: db}}
    spec: {containers: [{name: zk, image: zookeeper}]}
";

    fn with_service(spec: &str) -> String {
        format!(
            "{STS}---\napiVersion: v1\nkind: Service\nmetadata: {{name: zk-hs}}\nspec: {spec}\n"
        )
    }

    fn one(yaml: &str) -> String {
        let m = messages(&HeadlessService, yaml);
        assert_eq!(m.len(), 1, "{m:#?}");
        m[0].clone()
    }

    #[test]
    fn headless_service_passes() {
        assert!(
            messages(
                &HeadlessService,
                &with_service("{clusterIP: None, selector: {app: zk}}")
            )
            .is_empty()
        );
        assert!(
            messages(
                &HeadlessService,
                &with_service("{clusterIP: None, type: ClusterIP, selector: {app: zk, tier: db}}")
            )
            .is_empty()
        );
        // clusterIPs alone is how the API server echoes a headless Service back
        assert!(
            messages(
                &HeadlessService,
                &with_service("{clusterIPs: [None], selector: {app: zk}}")
            )
            .is_empty()
        );
    }

    #[test]
    fn missing_and_empty_service_name() {
        let yaml = STS.replace("  serviceName: zk-hs\n", "");
        let m = one(&yaml);
        assert!(m.contains("no spec.serviceName"), "{m}");
        let f = &lint(&HeadlessService, &yaml, &Default::default())[0];
        assert!(f.at.on_key);
        assert!(
            f.help.contains("clusterIP: None, selector: {app: zk}"),
            "{}",
            f.help
        );
        let m = one(&STS.replace("serviceName: zk-hs", "serviceName: ''"));
        assert!(m.contains("an empty spec.serviceName"), "{m}");
        // an existing headless Service selecting the pods is suggested
        let yaml = with_service("{clusterIP: None, selector: {app: zk}}")
            .replace("  serviceName: zk-hs\n", "");
        let f = lint(&HeadlessService, &yaml, &Default::default());
        assert_eq!(f.len(), 1);
        assert!(
            f[0].help
                .starts_with("set spec.serviceName: zk-hs (that headless"),
            "{}",
            f[0].help
        );
    }

    #[test]
    fn missing_service_says_how_to_create_it() {
        let f = lint(&HeadlessService, STS, &Default::default());
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("no Service zk-hs in namespace default")
        );
        assert!(f[0].help.contains("above the StatefulSet"));
        assert!(f[0].help.contains("name: zk-hs"));
    }

    #[test]
    fn a_headless_service_under_another_name_is_suggested() {
        let yaml = with_service("{clusterIP: None, selector: {app: zk}}")
            .replace("metadata: {name: zk-hs}", "metadata: {name: zk-headless}");
        let f = lint(&HeadlessService, &yaml, &Default::default());
        assert_eq!(f.len(), 1);
        assert!(
            f[0].help.starts_with(
                "headless Service zk-headless selects these pods: set spec.serviceName: zk-headless"
            ),
            "{}",
            f[0].help
        );
    }

    #[test]
    fn service_in_another_namespace_does_not_count() {
        let yaml = with_service("{clusterIP: None, selector: {app: zk}}").replace(
            "metadata: {name: zk-hs}",
            "metadata: {name: zk-hs, namespace: other}",
        );
        assert!(one(&yaml).contains("no Service zk-hs in namespace default"));
    }

    #[test]
    fn cluster_ip_not_none() {
        let f = lint(
            &HeadlessService,
            &with_service("{selector: {app: zk}}"),
            &Default::default(),
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("not headless (no clusterIP)"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].at.object.key.kind, "Service");
        assert_eq!(f[0].notes.len(), 1);
        let m = one(&with_service("{clusterIP: 10.0.0.12, selector: {app: zk}}"));
        assert!(m.contains("clusterIP: 10.0.0.12"), "{m}");
        // case matters: the API server only treats `None` as headless
        let m = one(&with_service("{clusterIP: none, selector: {app: zk}}"));
        assert!(m.contains("not headless"), "{m}");
    }

    #[test]
    fn selector_problems() {
        let m = one(&with_service("{clusterIP: None}"));
        assert!(m.contains("has no selector"), "{m}");
        let m = one(&with_service("{clusterIP: None, selector: {}}"));
        assert!(m.contains("has no selector"), "{m}");
        let f = lint(
            &HeadlessService,
            &with_service("{clusterIP: None, selector: {app: zookeeper}}"),
            &Default::default(),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("labelled app=zk"), "{}", f[0].message);
        assert_eq!(f[0].at.pointer, "/spec/selector/app");
        assert!(f[0].help.contains("selector: {app: zk}"), "{}", f[0].help);
        let m = one(&with_service(
            "{clusterIP: None, selector: {app: zk, role: server}}",
        ));
        assert!(m.contains("have no label role"), "{m}");
    }

    #[test]
    fn wrong_type() {
        let m = one(&with_service("{type: NodePort, selector: {app: zk}}"));
        assert!(m.contains("has type NodePort"), "{m}");
        let m = one(&with_service(
            "{type: ExternalName, externalName: zk.example.com, selector: {app: zk}}",
        ));
        assert!(m.contains("has type ExternalName"), "{m}");
    }

    #[test]
    fn other_kinds_are_ignored() {
        assert!(
            messages(
                &HeadlessService,
                "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
            )
            .is_empty()
        );
    }
}
