//! SL008 `security-context`. The rule's documentation is its page, `rules/SL008-security-context.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: only StatefulSets with `volumeClaimTemplates`; every container (init
//! containers included) is checked with its effective `runAsUser` (its own, else the pod's),
//! and `runAsNonRoot: true` stands in for a uid.

use std::sync::Arc;

use k8s_openapi::api::core::v1::PodSpec;

use super::util::{container_pointer, containers_at, join_and};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::object::Object;

pub static META: RuleMeta = RuleMeta {
    code: "SL008",
    slug: "security-context",
    severity: Severity::Warning,
    summary: "pods with volumes set fsGroup and a non-root runAsUser",
    page: include_str!("../../rules/SL008-security-context.md"),
};

const TEMPLATE: &str = "/spec/template";
const POD: &str = "/spec/template/spec";

pub struct SecurityContext;

/// What a pod template without `spec` reads as (built once, not per check).
static DEFAULT_POD_SPEC: std::sync::LazyLock<PodSpec> = std::sync::LazyLock::new(PodSpec::default);

impl Rule for SecurityContext {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, object: &Arc<Object>, _cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(spec) = object.statefulset().and_then(|s| s.spec.as_ref()) else {
            return;
        };
        let claim_names: Vec<&str> = spec
            .volume_claim_templates
            .iter()
            .flatten()
            .map(|t| t.metadata.name.as_deref().unwrap_or("(unnamed)"))
            .collect();
        if claim_names.is_empty() {
            return;
        }
        let pod = spec.template.spec.as_ref().unwrap_or(&DEFAULT_POD_SPEC);
        let name = &object.key.name;

        let psc = pod.security_context.as_ref();
        let fs_group = psc.and_then(|s| s.fs_group);
        let pod_user = psc.and_then(|s| s.run_as_user);
        let pod_group = psc.and_then(|s| s.run_as_group);
        let pod_non_root = psc.and_then(|s| s.run_as_non_root);

        // per container: effective user, where it comes from, effective runAsNonRoot
        let mut no_user = Vec::new();
        let mut root_by_pod = Vec::new();
        let mut users = Vec::new();
        for (init, i, c) in containers_at(pod) {
            let csc = c.security_context.as_ref();
            let own_user = csc.and_then(|s| s.run_as_user);
            let non_root = csc.and_then(|s| s.run_as_non_root).or(pod_non_root) == Some(true);
            match own_user.or(pod_user) {
                None if !non_root => no_user.push(c.name.clone()),
                None => {}
                Some(0) if own_user.is_some() => {
                    let privileged = csc.and_then(|s| s.privileged) == Some(true);
                    let touches_data = c
                        .volume_mounts
                        .iter()
                        .flatten()
                        .any(|m| claim_names.contains(&m.name.as_str()));
                    if privileged && !touches_data {
                        // node setup (e.g. Elasticsearch's `sysctl -w vm.max_map_count`):
                        // needs root by design and never touches the data volumes
                        continue;
                    }
                    out.push(
                        Finding::new(
                            &META,
                            object,
                            {
                                let mut p = String::new();
                                container_pointer(&mut p, TEMPLATE, init, i);
                                p.push_str("/securityContext/runAsUser");
                                p
                            },
                            format!(
                                "StatefulSet {name} runs {}container {} as root \
                                 (runAsUser: 0){}",
                                if init { "init " } else { "" },
                                c.name,
                                refused(non_root)
                            ),
                        )
                        .help(root_help(init || privileged)),
                    )
                }
                Some(0) => root_by_pod.push((c.name.clone(), non_root)),
                Some(u) => users.push(u),
            }
        }
        if !root_by_pod.is_empty() {
            let names: Vec<String> = root_by_pod.iter().map(|(n, _)| n.clone()).collect();
            let refused_any = root_by_pod.iter().any(|(_, nr)| *nr);
            out.push(
                Finding::new(
                    &META,
                    object,
                    format!("{POD}/securityContext/runAsUser"),
                    format!(
                        "StatefulSet {name} runs {} {} as root (pod securityContext.runAsUser: \
                         0){}",
                        if names.len() == 1 {
                            "container"
                        } else {
                            "containers"
                        },
                        join_and(&names),
                        refused(refused_any)
                    ),
                )
                .help(root_help(false)),
            );
        }

        if fs_group.is_some() && no_user.is_empty() {
            return;
        }
        // the uid to suggest: the one already set, if there is a single one
        users.sort_unstable();
        users.dedup();
        let uid = match (pod_user.filter(|&u| u != 0), users.as_slice()) {
            (Some(u), _) | (None, &[u]) => u,
            _ => 1000,
        };
        let gid = pod_group.filter(|&g| g != 0).unwrap_or(uid);
        let mut add = Vec::new();
        if !no_user.is_empty() {
            add.push(format!("runAsUser: {uid}"));
            add.push("runAsNonRoot: true".into());
        }
        if fs_group.is_none() {
            add.push(format!("fsGroup: {gid}"));
        }
        let all = pod.containers.len() + pod.init_containers.as_ref().map_or(0, Vec::len);
        let what_is_wrong = match (no_user.len(), fs_group.is_some(), psc.is_some()) {
            (0, _, true) => "its pod securityContext sets no fsGroup".to_string(),
            (0, _, false) => "no pod securityContext (no fsGroup)".to_string(),
            (n, false, false) if n == all => {
                "no pod securityContext: no runAsUser and no fsGroup".to_string()
            }
            (n, false, true) if n == all => {
                "its pod securityContext sets no runAsUser and no fsGroup".to_string()
            }
            (n, true, _) if n == all => {
                "neither its pod securityContext nor its containers set runAsUser".to_string()
            }
            (n, has_fs_group, has_psc) => format!(
                "{} {} {} no runAsUser (neither {} own securityContext nor the pod's sets \
                 one){}",
                if n == 1 { "container" } else { "containers" },
                join_and(&no_user),
                if n == 1 { "gets" } else { "get" },
                if n == 1 { "its" } else { "their" },
                match (has_fs_group, has_psc) {
                    (true, _) => "",
                    (false, true) => " and the pod securityContext sets no fsGroup",
                    (false, false) => " and there is no pod securityContext (no fsGroup)",
                }
            ),
        };
        // a missing securityContext resolves to the key of the template's `spec`
        let claims: Vec<String> = claim_names.iter().map(|n| n.to_string()).collect();
        let message = format!(
            "StatefulSet {name} has volume claim templates ({}) but {what_is_wrong}",
            join_and(&claims)
        );
        let what = if psc.is_some() {
            format!(
                "add `{}` to `spec.template.spec.securityContext`",
                add.join(", ")
            )
        } else {
            format!(
                "add `securityContext: {{{}}}` under `spec.template.spec`",
                add.join(", ")
            )
        };
        let mut why = Vec::new();
        if fs_group.is_none() {
            why.push("fsGroup gives that group write access to the volumes");
        }
        if !no_user.is_empty() {
            why.push("runAsNonRoot makes the kubelet refuse to start a container as root");
        }
        let mut f =
            Finding::new(&META, object, format!("{POD}/securityContext"), message).help(format!(
                "{what}, with the uid and gid the image runs as: {}",
                why.join(", ")
            ));
        if psc.is_some() {
            f = f.on_key();
        }
        out.push(f);
    }
}

fn refused(non_root: bool) -> &'static str {
    if non_root {
        "; with runAsNonRoot: true as well, the kubelet refuses to start it"
    } else {
        ""
    }
}

fn root_help(setup: bool) -> String {
    let mut help = String::from(
        "set `runAsUser` to the non-root uid the image runs as (e.g. `runAsUser: 1000`) and \
         `runAsNonRoot: true`; with the pod's `fsGroup` the volumes are writable without root, \
         so no root `chown` is needed either",
    );
    if setup {
        help.push_str(
            "; if it needs root for node setup (e.g. `sysctl -w vm.max_map_count`), do that on \
             the node (node image or a tuning DaemonSet; namespaced sysctls go in the pod's \
             `securityContext.sysctls`), or accept it with the annotation \
             `statelint.io/ignore: security-context` and a `statelint.io/ignore-reason`",
        );
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn run(yaml: &str) -> Vec<Finding> {
        crate::rules::util::testing::lint(&SecurityContext, yaml, &Config::default())
    }

    /// A StatefulSet with one claim; `pod` is extra pod spec YAML (indented 6).
    fn sts(pod: &str, vct: bool) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: zk}}
spec:
  selector: {{matchLabels: {{app: zk}}}}
  template:
    metadata: {{labels: {{app: zk}}}}
    spec:
{pod}{}",
            if vct {
                "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
            } else {
                ""
            }
        )
    }

    const ONE: &str = "      containers: [{name: zk, image: zookeeper}]\n";

    fn messages(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn nothing_set_is_one_finding_with_the_yaml_to_add() {
        let f = run(&sts(ONE, true));
        assert_eq!(f.len(), 1, "{:?}", messages(&f));
        assert_eq!(f[0].at.pointer, "/spec/template/spec/securityContext");
        assert!(
            f[0].message
                .contains("has volume claim templates (data) but no pod securityContext: no runAsUser and no fsGroup"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].help.contains(
                "`securityContext: {runAsUser: 1000, runAsNonRoot: true, fsGroup: 1000}`"
            ),
            "{}",
            f[0].help
        );
    }

    #[test]
    fn without_volume_claims_nothing_is_checked() {
        assert!(run(&sts(ONE, false)).is_empty());
    }

    #[test]
    fn complete_pod_context_passes() {
        let pod = format!("{ONE}      securityContext: {{runAsUser: 1000, fsGroup: 1000}}\n");
        assert!(run(&sts(&pod, true)).is_empty());
    }

    #[test]
    fn run_as_non_root_stands_in_for_run_as_user() {
        let pod = format!("{ONE}      securityContext: {{runAsNonRoot: true, fsGroup: 1000}}\n");
        assert!(run(&sts(&pod, true)).is_empty());
        // a container can opt out of the pod's runAsNonRoot
        let pod = "      securityContext: {runAsNonRoot: true, fsGroup: 1000}\n      containers:\n      - {name: a, image: x}\n      - {name: b, image: x, securityContext: {runAsNonRoot: false}}\n";
        let f = run(&sts(pod, true));
        assert_eq!(f.len(), 1, "{:?}", messages(&f));
        assert!(
            f[0].message.contains("but container b gets no runAsUser"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn fs_group_missing_suggests_the_gid_in_use() {
        let pod = format!("{ONE}      securityContext: {{runAsUser: 1001, runAsGroup: 1002}}\n");
        let f = run(&sts(&pod, true));
        assert_eq!(f.len(), 1);
        assert!(f[0].at.on_key);
        assert!(
            f[0].message.ends_with("sets no fsGroup"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].help.starts_with("add `fsGroup: 1002`"),
            "{}",
            f[0].help
        );
    }

    #[test]
    fn every_container_setting_run_as_user_is_enough() {
        let pod = "      securityContext: {fsGroup: 1000}\n      initContainers:\n      - {name: init, image: x, securityContext: {runAsUser: 1000}}\n      containers:\n      - {name: zk, image: x, securityContext: {runAsUser: 1000}}\n";
        assert!(run(&sts(pod, true)).is_empty());
        // an init container without one is reported by name
        let pod = "      securityContext: {fsGroup: 1000}\n      initContainers:\n      - {name: init, image: x}\n      containers:\n      - {name: zk, image: x, securityContext: {runAsUser: 1000}}\n";
        let f = run(&sts(pod, true));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("container init gets no runAsUser"),
            "{}",
            f[0].message
        );
        assert!(f[0].help.contains("runAsUser: 1000"), "{}", f[0].help);
    }

    #[test]
    fn root_on_a_container_is_reported_at_its_run_as_user() {
        let pod = "      securityContext: {runAsUser: 1000, fsGroup: 1000}\n      initContainers:\n      - {name: chown, image: busybox, securityContext: {runAsUser: 0}}\n      containers: [{name: zk, image: x}]\n";
        let f = run(&sts(pod, true));
        assert_eq!(f.len(), 1, "{:?}", messages(&f));
        assert_eq!(
            f[0].at.pointer,
            "/spec/template/spec/initContainers/0/securityContext/runAsUser"
        );
        assert!(
            f[0].message.contains("container chown as root"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn privileged_node_setup_without_data_mounts_is_not_reported() {
        let pod = "      securityContext: {runAsUser: 1000, fsGroup: 1000}\n      initContainers:\n      - {name: sysctl, image: busybox, command: [sysctl, -w, vm.max_map_count=262144], securityContext: {runAsUser: 0, privileged: true}}\n      containers: [{name: es, image: x}]\n";
        assert!(run(&sts(pod, true)).is_empty());
        // the same container mounting the data volume is reported
        let pod = pod.replace(
            "privileged: true}}",
            "privileged: true}, volumeMounts: [{name: data, mountPath: /d}]}",
        );
        assert_eq!(run(&sts(&pod, true)).len(), 1);
    }

    #[test]
    fn root_at_pod_level_names_the_containers_that_inherit_it() {
        let pod = "      securityContext: {runAsUser: 0, runAsNonRoot: true, fsGroup: 1000}\n      containers:\n      - {name: a, image: x}\n      - {name: b, image: x}\n      - {name: c, image: x, securityContext: {runAsUser: 1000}}\n";
        let f = run(&sts(pod, true));
        assert_eq!(f.len(), 1, "{:?}", messages(&f));
        assert_eq!(
            f[0].at.pointer,
            "/spec/template/spec/securityContext/runAsUser"
        );
        assert!(
            f[0].message.contains("containers a and b as root"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("refuses to start"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn root_at_pod_level_overridden_everywhere_is_fine() {
        let pod = "      securityContext: {runAsUser: 0, fsGroup: 1000}\n      containers:\n      - {name: a, image: x, securityContext: {runAsUser: 1000}}\n";
        assert!(run(&sts(pod, true)).is_empty());
    }
}
