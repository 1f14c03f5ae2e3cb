//! SL004 `volume-claim-storage-class`. The rule's documentation is its page, `rules/SL004-volume-claim-storage-class.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: no companion is read. Mounts are collected from every container (init
//! containers included; `volumeMounts` and `volumeDevices`) and matched against the templates
//! and pod volumes; the legacy `volume.beta.kubernetes.io/storage-class` annotation wins over
//! `storageClassName`. The allowed classes are the `storage-classes` option ([`Options`]).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, Volume};

use super::util::{container_pointer, containers_at, join_and, lazy, present};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::config::{self, OptionError, Options as RawOptions, StringList};
use crate::object::Object;
use crate::source::yaml::push_segment;

pub static META: RuleMeta = RuleMeta {
    code: "SL004",
    slug: "volume-claim-storage-class",
    severity: Severity::Error,
    summary: "data lives on mounted volume claim templates with an allowed storage class",
    page: include_str!("../../rules/SL004-volume-claim-storage-class.md"),
};

pub struct VolumeClaimStorageClass;

/// `.statelint.yaml` options (see the rule's page).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// The allowed classes; `None` allows any non-empty class.
    #[serde(default)]
    pub storage_classes: Option<StringList>,
}

/// The pre-`storageClassName` way to name a class; it wins over the field when both are set.
const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// What a claim template without `spec` reads as (built once, not per template).
static DEFAULT_CLAIM_SPEC: std::sync::LazyLock<PersistentVolumeClaimSpec> =
    std::sync::LazyLock::new(PersistentVolumeClaimSpec::default);

impl Rule for VolumeClaimStorageClass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn options(&self, raw: &serde_json::Value) -> Result<Option<RawOptions>, Vec<OptionError>> {
        config::boxed_options::<Options>(raw)
    }

    fn check(&self, obj: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(spec) = obj.statefulset().and_then(|s| s.spec.as_ref()) else {
            return;
        };
        let name = &obj.key.name;
        let templates = spec.volume_claim_templates.as_deref().unwrap_or(&[]);
        let pod = spec.template.spec.as_ref();
        let volumes: &[Volume] = pod.and_then(|p| p.volumes.as_deref()).unwrap_or(&[]);
        let allowed = cx
            .options::<Options>(&META)
            .and_then(|o| o.storage_classes.as_ref())
            .map(|l| l.0.as_slice());

        let mut mounts: Vec<Mount<'_>> = Vec::new();
        if let Some(p) = pod {
            for (init, ci, c) in containers_at(p) {
                for (k, m) in c.volume_mounts.iter().flatten().enumerate() {
                    mounts.push((&c.name, (init, ci), "volumeMounts", k, &m.name));
                }
                for (k, d) in c.volume_devices.iter().flatten().enumerate() {
                    mounts.push((&c.name, (init, ci), "volumeDevices", k, &d.name));
                }
            }
        }

        // a voter that keeps no data by design (MongoDB arbiter, Redis Sentinel) needs none
        // (unknown software without data is only assumed stateless: it still hears about it)
        let needs_data = cx.role.is_none_or(|r| r.stores_data || r.assumed);
        if templates.is_empty() && needs_data {
            let mut used: Vec<String> = Vec::new();
            for (.., m) in &mounts {
                if let Some(v) = volumes.iter().find(|v| v.name == *m) {
                    let d = describe_volume(v);
                    if !used.contains(&d) {
                        used.push(d);
                    }
                }
            }
            let data = if used.is_empty() {
                "its data lives on the containers' ephemeral filesystem and is lost whenever a pod is \
                 re-created"
                    .to_string()
            } else {
                format!("its containers only mount {}", join_and(&used))
            };
            out.push(
                Finding::new(
                    &META,
                    obj,
                    "/spec/volumeClaimTemplates",
                    format!(
                        "StatefulSet {name} has no volumeClaimTemplates: {data}; each replica needs \
                         its own persistent volume that follows it when it is rescheduled"
                    ),
                )
                .on_key()
                .help(format!(
                    "add volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{accessModes: \
                     [ReadWriteOnce], storageClassName: {}, resources: {{requests: {{storage: \
                     10Gi}}}}}}}}] and mount `data` at the service's data directory{}",
                    allowed.and_then(|a| a.first()).map_or("<class>", String::as_str),
                    if cx.role.is_some_and(|r| r.assumed) {
                        "; if it keeps no data, annotate the StatefulSet statelint.io/role: \
                         stateless"
                    } else {
                        ""
                    }
                )),
            );
        }

        // sorted, for binary search (a pod may mount thousands of volumes)
        let mut mounted: Vec<&str> = mounts.iter().map(|(.., m)| *m).collect();
        mounted.sort_unstable();
        let mut template_names: Vec<&str> = templates
            .iter()
            .filter_map(|t| t.metadata.name.as_deref())
            .collect();
        template_names.sort_unstable();
        // worked out for the first mount of nothing
        let unmounted: std::cell::OnceCell<Vec<String>> = std::cell::OnceCell::new();

        for (i, t) in templates.iter().enumerate() {
            check_template(obj, i, t, &mounted, allowed, out);
        }

        for (container, (init, ci), field, k, m) in &mounts {
            if template_names.binary_search(m).is_ok() || volumes.iter().any(|v| v.name == *m) {
                continue;
            }
            let unmounted = unmounted.get_or_init(|| {
                templates
                    .iter()
                    .filter_map(|t| t.metadata.name.clone())
                    .filter(|n| mounted.binary_search(&n.as_str()).is_err())
                    .collect()
            });
            let hint = if unmounted.is_empty() {
                format!("add a volume claim template or a pod volume named {m}, or fix the name")
            } else {
                format!(
                    "did you mean {}? Mount a volume claim template by its metadata.name",
                    join_and(unmounted)
                )
            };
            out.push(
                Finding::new(
                    &META,
                    obj,
                    {
                        let mut p = String::new();
                        container_pointer(&mut p, obj.pod_template_pointer(), *init, *ci);
                        format!("{p}/{field}/{k}/name")
                    },
                    format!(
                        "container {container} of StatefulSet {name} mounts volume {m}, which is \
                         neither a volume claim template nor a volume of the pod: the API server \
                         rejects the pods, so the StatefulSet creates none"
                    ),
                )
                .help(hint),
            );
        }
    }
}

/// (container name, (init container?, its index), field, index, mounted name)
type Mount<'a> = (&'a str, (bool, usize), &'static str, usize, &'a str);

/// `emptyDir cache (deleted with its pod)` and the like.
fn describe_volume(v: &Volume) -> String {
    let n = &v.name;
    if v.empty_dir.is_some() {
        format!("emptyDir {n} (deleted with its pod)")
    } else if let Some(c) = &v.persistent_volume_claim {
        format!(
            "the PersistentVolumeClaim {} (volume {n}), one claim shared by every replica",
            c.claim_name
        )
    } else if v.host_path.is_some() {
        format!("hostPath {n} (tied to whichever node the pod lands on)")
    } else if v.config_map.is_some()
        || v.secret.is_some()
        || v.projected.is_some()
        || v.downward_api.is_some()
    {
        format!("read-only volume {n}")
    } else {
        format!("volume {n}")
    }
}

fn check_template(
    obj: &Arc<Object>,
    i: usize,
    t: &PersistentVolumeClaim,
    mounted: &[&str], // sorted
    allowed: Option<&[String]>,
    out: &mut Vec<Finding>,
) {
    let sts = &obj.key.name;
    // pointers and texts are written only for a finding
    let tptr = lazy(|f| write!(f, "/spec/volumeClaimTemplates/{i}"));
    let tname = t.metadata.name.as_deref().unwrap_or("");
    let what = lazy(|f| {
        if tname.is_empty() {
            write!(f, "volume claim template #{i} of StatefulSet {sts}")
        } else {
            write!(f, "volume claim template {tname} of StatefulSet {sts}")
        }
    });
    let at_name = |msg: String| {
        let name_ptr = format!("{tptr}/metadata/name");
        if present(obj, &name_ptr) {
            Finding::new(&META, obj, name_ptr, msg)
        } else {
            Finding::new(&META, obj, name_ptr, msg)
                .at(obj, format!("{tptr}/metadata"))
                .on_key()
        }
    };
    let allowed_text = lazy(|f| f.write_str(&allowed.unwrap_or_default().join(", ")));
    let use_class = lazy(|f| match allowed {
        Some(_) => write!(f, "an allowed storage class ({allowed_text})"),
        None => f.write_str("the storage class your platform provides for this data"),
    });
    let spec = t.spec.as_ref().unwrap_or(&DEFAULT_CLAIM_SPEC);

    // storage class: the beta annotation wins over the field, as in Kubernetes
    let annotation = t
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(BETA_CLASS_ANNOTATION));
    let (class, source) = match (annotation, &spec.storage_class_name) {
        (Some(a), _) => (Some(a.as_str()), BETA_CLASS_ANNOTATION),
        (None, Some(c)) => (Some(c.as_str()), "storageClassName"),
        (None, None) => (None, ""),
    };
    let class_ptr = || match annotation {
        Some(_) => {
            let mut p = format!("{tptr}/metadata/annotations");
            push_segment(&mut p, BETA_CLASS_ANNOTATION);
            p
        }
        None => format!("{tptr}/spec/storageClassName"),
    };
    match class {
        // charts leave the class empty on purpose, for the cluster's default class: only an
        // error when the platform's classes are configured
        None if allowed.is_none() => out.push(
            at_name(format!(
                "{what} sets no storageClassName: its claims get the cluster's default \
                 StorageClass, which differs from cluster to cluster (and without one they stay \
                 Pending)"
            ))
            .severity(Severity::Warning)
            .help(
                "set spec.storageClassName to the storage class your platform provides for this \
                 data if the cluster default is not meant; list the allowed classes under \
                 storage-classes in .statelint.yaml to make this an error",
            ),
        ),
        None => out.push(
            at_name(format!(
                "{what} sets no storageClassName: its claims get the cluster's default \
                 StorageClass, not one of the allowed storage classes ({})",
                allowed_text
            ))
            .help(format!("set spec.storageClassName to {use_class}")),
        ),
        Some("") => out.push(
            Finding::new(
                &META,
                obj,
                class_ptr(),
                format!(
                    "{what} sets {source} to \"\", which turns off dynamic provisioning: its claims \
                     only bind to pre-created PersistentVolumes without a class, or stay Pending"
                ),
            )
            .help(format!("set {source} to {use_class}")),
        ),
        Some(c) => {
            if let Some(list) = allowed
                && !list.iter().any(|a| a == c) {
                    out.push(
                        Finding::new(
                            &META,
                            obj,
                            class_ptr(),
                            format!(
                                "{what} uses storage class {c}, which is not one of the allowed \
                                 storage classes ({allowed_text})"
                            ),
                        )
                        .help(format!(
                            "use {use_class}; storage-classes in .statelint.yaml lists the classes \
                             the platform supports"
                        )),
                    );
                }
        }
    }

    let has_storage = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .is_some_and(|r| r.contains_key("storage"));
    if !has_storage {
        let ptr = format!("{tptr}/spec/resources/requests/storage");
        let mut f = if present(obj, &format!("{tptr}/spec/resources")) {
            Finding::new(&META, obj, ptr, String::new()).on_key()
        } else {
            at_name(String::new())
        };
        f.message = format!(
            "{what} requests no storage size (spec.resources.requests.storage): claims without \
             one are rejected, so the pods cannot start"
        );
        out.push(f.help("set spec.resources.requests.storage, e.g. 10Gi"));
    }

    if spec.access_modes.as_ref().is_none_or(|m| m.is_empty()) {
        let ptr = format!("{tptr}/spec/accessModes");
        let f = if present(obj, &ptr) {
            Finding::new(&META, obj, ptr, String::new())
        } else {
            at_name(String::new())
        };
        out.push(Finding {
            message: format!(
                "{what} sets no accessModes: claims without one are rejected, so the pods cannot \
                 start"
            ),
            ..f.help("set spec.accessModes: [ReadWriteOnce] (one volume per replica)")
        });
    }

    if !tname.is_empty() && mounted.binary_search(&tname).is_err() {
        out.push(
            at_name(format!(
                "no container of StatefulSet {sts} mounts volume claim template {tname}: its claims \
                 are provisioned for nothing, and the data lands on the containers' ephemeral \
                 filesystem"
            ))
            .help(format!(
                "add volumeMounts: [{{name: {tname}, mountPath: <data directory>}}] to the container \
                 that stores the data"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::rules::util::testing::lint;

    fn sts(mounts: &str, extra_pod: &str, templates: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: zk}}
spec:
  serviceName: zk-hs
  selector: {{matchLabels: {{app: zk}}}}
  template:
    metadata: {{labels: {{app: zk}}}}
    spec:
      containers:
      - name: zk
        image: zookeeper
        volumeMounts: {mounts}
{extra_pod}
{templates}
"
        )
    }

    const GOOD: &str = "  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: fast
      resources: {requests: {storage: 10Gi}}";

    fn run(yaml: &str) -> Vec<Finding> {
        lint(&VolumeClaimStorageClass, yaml, &Config::default())
    }

    fn messages(yaml: &str) -> Vec<String> {
        run(yaml).into_iter().map(|f| f.message).collect()
    }

    fn fails(yaml: &str, text: &str) -> Finding {
        let f = run(yaml);
        assert_eq!(f.len(), 1, "{yaml}\n{f:#?}");
        assert!(f[0].message.contains(text), "{}", f[0].message);
        f[0].clone()
    }

    const MOUNT: &str = "[{name: data, mountPath: /data}]";

    #[test]
    fn good_template_passes() {
        assert!(messages(&sts(MOUNT, "", GOOD)).is_empty());
        // a block device counts as mounting it
        let yaml = sts("[]", "", GOOD).replace(
            "volumeMounts: []",
            "volumeDevices: [{name: data, devicePath: /dev/xvda}]",
        );
        assert!(messages(&yaml).is_empty());
        // an init container mounting a pod volume, and the main one the template
        let yaml = sts(
            "[{name: data, mountPath: /data}, {name: conf, mountPath: /conf}]",
            "      volumes: [{name: conf, configMap: {name: zk}}]",
            GOOD,
        );
        assert!(messages(&yaml).is_empty());
    }

    #[test]
    fn no_templates() {
        let f = fails(
            &sts("[]", "", ""),
            "has no volumeClaimTemplates: its data lives on the containers' ephemeral filesystem",
        );
        assert!(f.at.on_key);
        fails(
            &sts(
                MOUNT,
                "      volumes: [{name: data, emptyDir: {}}]",
                "  volumeClaimTemplates: []",
            ),
            "its containers only mount emptyDir data (deleted with its pod)",
        );
        fails(
            &sts(
                MOUNT,
                "      volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]",
                "",
            ),
            "one claim shared by every replica",
        );
    }

    #[test]
    fn storage_class_missing_empty_or_not_allowed() {
        let f = fails(
            &sts(
                MOUNT,
                "",
                &GOOD.replace("      storageClassName: fast\n", ""),
            ),
            "volume claim template data of StatefulSet zk sets no storageClassName",
        );
        assert_eq!(f.at.pointer, "/spec/volumeClaimTemplates/0/metadata/name");
        // charts leave the class to the cluster default on purpose: a warning while no
        // storage-classes are configured, an error once they are
        assert_eq!(f.severity, Severity::Warning);
        let mut configured = Config::default();
        configured.set_options(
            META.code,
            Options {
                storage_classes: Some(StringList(vec!["gold".into()])),
            },
        );
        let f = lint(
            &VolumeClaimStorageClass,
            &sts(
                MOUNT,
                "",
                &GOOD.replace("      storageClassName: fast\n", ""),
            ),
            &configured,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(
            f[0].message
                .contains("not one of the allowed storage classes (gold)"),
            "{}",
            f[0].message
        );
        let f = fails(
            &sts(
                MOUNT,
                "",
                &GOOD.replace("storageClassName: fast", "storageClassName: ''"),
            ),
            "sets storageClassName to \"\"",
        );
        assert_eq!(
            f.at.pointer,
            "/spec/volumeClaimTemplates/0/spec/storageClassName"
        );
        let mut config = Config::default();
        config.set_options(
            META.code,
            Options {
                storage_classes: Some(StringList(vec!["gold".into(), "silver".into()])),
            },
        );
        let f = lint(&VolumeClaimStorageClass, &sts(MOUNT, "", GOOD), &config);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("uses storage class fast, which is not one of the allowed storage classes (gold, silver)"),
            "{}",
            f[0].message
        );
        let ok = GOOD.replace("storageClassName: fast", "storageClassName: silver");
        assert!(lint(&VolumeClaimStorageClass, &sts(MOUNT, "", &ok), &config).is_empty());
    }

    #[test]
    fn legacy_annotation_counts_and_wins() {
        let annotated = |class: &str, field: &str| {
            GOOD.replace(
                "metadata: {name: data}",
                &format!("metadata: {{name: data, annotations: {{volume.beta.kubernetes.io/storage-class: {class}}}}}"),
            )
            .replace("      storageClassName: fast\n", field)
        };
        assert!(messages(&sts(MOUNT, "", &annotated("fast", ""))).is_empty());
        let f = fails(
            &sts(
                MOUNT,
                "",
                &annotated("''", "      storageClassName: fast\n"),
            ),
            "sets volume.beta.kubernetes.io/storage-class to \"\"",
        );
        assert_eq!(
            f.at.pointer,
            "/spec/volumeClaimTemplates/0/metadata/annotations/volume.beta.kubernetes.io~1storage-class"
        );
    }

    #[test]
    fn size_and_access_modes() {
        let f = fails(
            &sts(
                MOUNT,
                "",
                &GOOD.replace(
                    "resources: {requests: {storage: 10Gi}}",
                    "resources: {requests: {}}",
                ),
            ),
            "requests no storage size",
        );
        assert!(f.at.on_key);
        fails(
            &sts(
                MOUNT,
                "",
                &GOOD.replace("      resources: {requests: {storage: 10Gi}}", ""),
            ),
            "requests no storage size",
        );
        fails(
            &sts(
                MOUNT,
                "",
                &GOOD.replace("      accessModes: [ReadWriteOnce]\n", ""),
            ),
            "sets no accessModes",
        );
        fails(
            &sts(
                MOUNT,
                "",
                &GOOD.replace("accessModes: [ReadWriteOnce]", "accessModes: []"),
            ),
            "sets no accessModes",
        );
    }

    #[test]
    fn unmounted_template_and_unknown_mount() {
        let f = fails(
            &sts("[]", "", GOOD),
            "no container of StatefulSet zk mounts volume claim template data",
        );
        assert_eq!(f.at.pointer, "/spec/volumeClaimTemplates/0/metadata/name");
        let f = run(&sts("[{name: datadir, mountPath: /data}]", "", GOOD));
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(
            f[0].message
                .contains("no container of StatefulSet zk mounts volume claim template data")
        );
        assert!(
            f[1].message
                .contains("container zk of StatefulSet zk mounts volume datadir, which is neither")
        );
        assert_eq!(
            f[1].at.pointer,
            "/spec/template/spec/containers/0/volumeMounts/0/name"
        );
        assert!(f[1].help.contains("did you mean data?"));
    }

    #[test]
    fn every_problem_of_a_template_is_reported() {
        let t = "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {}";
        let m = messages(&sts(MOUNT, "", t));
        assert_eq!(m.len(), 3, "{m:#?}");
    }
}
