//! SL007 `unreplaced-placeholder`. The rule's documentation is its page, `rules/SL007-unreplaced-placeholder.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: the loader collects placeholder strings once per object
//! ([`crate::object::placeholder_in`]); this rule reports one finding per string, narrowed to the
//! placeholder. Placeholders inside a `zookeeper.connect` setting are left to SL005 while that
//! rule is enabled (it names the right host).

use std::sync::Arc;

use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::ensemble::settings::value_ranges;
use crate::object::{Object, placeholders_in};

pub static META: RuleMeta = RuleMeta {
    code: "SL007",
    slug: "unreplaced-placeholder",
    severity: Severity::Error,
    summary: "no template placeholder such as <NAMESPACE> is left in a StatefulSet, Service or PDB",
    page: include_str!("../../rules/SL007-unreplaced-placeholder.md"),
};

pub struct UnreplacedPlaceholder;

impl Rule for UnreplacedPlaceholder {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if object.placeholders.is_empty() {
            return;
        }
        let on = |code: &str| cx.config.is_enabled(code);
        // placeholders in settings SL005 or SL011 read are theirs to report
        let (env_names, keys) =
            crate::ensemble::owned_settings(object, cx.companions, on("SL005"), on("SL011"));
        let owned_env = owned_env_pointers(object, &env_names);
        for (pointer, text) in &object.placeholders {
            if owned_env.contains(pointer) {
                continue;
            }
            let owned: Vec<(usize, usize)> = keys
                .iter()
                .filter(|k| text.contains(*k))
                .flat_map(|k| value_ranges(text, k))
                .collect();
            let Some(placeholder) = placeholders(text)
                .find(|&(start, p)| !in_ranges(&owned, start, p.len()))
                .map(|(_, p)| p)
            else {
                continue;
            };
            let path = dotted(pointer);
            let help = if placeholder.starts_with("{{") {
                format!(
                    "`{placeholder}` is an unrendered template expression: render the template \
                     (`helm template`, or your templating tool) and apply and lint its output, \
                     not the template"
                )
            } else {
                format!(
                    "replace `{placeholder}` with the real value (or substitute it when \
                     rendering, e.g. with `sed` or `kustomize`) before applying"
                )
            };
            out.push(
                Finding::new(
                    &META,
                    object,
                    pointer.clone(),
                    format!(
                        "{} {} still holds the template placeholder `{placeholder}` in {path}",
                        object.key.kind, object.key.name
                    ),
                )
                .needle(placeholder)
                .help(help),
            );
        }
    }
}

/// Every placeholder in `s`, with its byte offset, in order.
fn placeholders(s: &str) -> impl Iterator<Item = (usize, &str)> {
    placeholders_in(s)
}

/// Is the placeholder at `start..start+len` part of a `zookeeper.connect` value in `s`
/// (`--override zookeeper.connect=zk-0.zk.<NS>.svc:2181`, `zookeeper.connect: {{ .Values.zk }}`)?
#[cfg(test)]
fn in_zookeeper_connect(s: &str, start: usize, len: usize) -> bool {
    in_ranges(&zookeeper_connect_values(s), start, len)
}

fn in_ranges(ranges: &[(usize, usize)], start: usize, len: usize) -> bool {
    ranges
        .iter()
        .any(|&(from, to)| start >= from && start + len <= to)
}

/// The byte ranges `key start..value end` of every `zookeeper.connect` setting in `s`.
#[cfg(test)]
fn zookeeper_connect_values(s: &str) -> Vec<(usize, usize)> {
    value_ranges(s, "zookeeper.connect")
}

/// Pointers of the values of env vars named `names` in the object's pod template.
fn owned_env_pointers(object: &Object, names: &[&str]) -> Vec<String> {
    let Some(spec) = object.pod_template().and_then(|t| t.spec.as_ref()) else {
        return Vec::new();
    };
    let base = format!("{}/spec", object.pod_template_pointer());
    let mut out = Vec::new();
    for (cptr, c) in super::util::containers(spec) {
        for (i, e) in c.env.iter().flatten().enumerate() {
            if names.contains(&e.name.as_str()) {
                out.push(format!("{base}{cptr}/env/{i}/value"));
            }
        }
    }
    out
}

/// `/spec/template/spec/containers/0/image` -> `spec.template.spec.containers[0].image`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else if seg.contains('.') || seg.contains('/') {
            out.push_str(&format!("[\"{seg}\"]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn run_with(yaml: &str, config: &Config) -> Vec<Finding> {
        crate::rules::util::testing::lint(&UnreplacedPlaceholder, yaml, config)
    }

    fn run(yaml: &str) -> Vec<Finding> {
        run_with(yaml, &Config::default())
    }

    fn sts(containers: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: kafka, namespace: data}}
spec:
  selector: {{matchLabels: {{app: kafka}}}}
  template:
    metadata: {{labels: {{app: kafka}}}}
    spec:
      containers:
{containers}"
        )
    }

    /// Found by fuzzing the webhook (fuzz/fuzz_targets/admission.rs): a multi-byte character
    /// inside a zookeeper.connect value made the scan slice a string inside a character.
    #[test]
    fn multibyte_characters_in_a_zookeeper_connect_value_do_not_panic() {
        let f = run(&sts(
            "      - {name: k, image: kafka, args: [\"--override zookeeper.connect=zk-0.zk.<NAMESPAĺ>.svc:2181 --x=<IMAGE>\"]}\n",
        ));
        assert_eq!(f.len(), 1, "only the placeholder outside zookeeper.connect");
        assert_eq!(f[0].at.needle.as_deref(), Some("<IMAGE>"));
    }

    #[test]
    fn image_placeholder_is_reported_at_the_placeholder() {
        let f = run(&sts("      - {name: k, image: \"<IMAGE>\"}\n"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].at.pointer, "/spec/template/spec/containers/0/image");
        assert_eq!(f[0].at.needle.as_deref(), Some("<IMAGE>"));
        assert!(
            f[0].message
                .contains("StatefulSet kafka still holds the template placeholder `<IMAGE>` in spec.template.spec.containers[0].image"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn one_finding_per_string_and_helm_expressions() {
        let f = run(&sts(
            "      - name: k\n        image: \"{{ .Values.image }}\"\n        args: [\"--a=<YOUR_A>-<YOUR_B>\", \"--b=<YOUR_B>\"]\n",
        ));
        assert_eq!(f.len(), 3);
        assert!(f.iter().any(|f| f.help.contains("unrendered template")));
        let needles: Vec<_> = f.iter().filter_map(|f| f.at.needle.clone()).collect();
        assert!(needles.contains(&"<YOUR_A>".to_string()), "{needles:?}");
    }

    #[test]
    fn shell_variables_and_comparisons_are_not_placeholders() {
        let f = run(&sts(
            "      - name: k\n        image: kafka:3\n        command: [sh, -c, \"if [ $N -lt 3 ] && [ a < b ]; then echo ${POD_NAME} $(HOSTNAME) > /tmp/x; fi\"]\n        env: [{name: A, value: \"$(POD_IP)\"}]\n",
        ));
        assert!(
            f.is_empty(),
            "{:?}",
            f.iter().map(|f| &f.message).collect::<Vec<_>>()
        );
    }

    #[test]
    fn zookeeper_connect_placeholders_belong_to_sl005() {
        let yaml = sts(
            "      - name: k\n        image: kafka:3\n        command: [sh, -c, \"exec kafka --override zookeeper.connect=zk-0.zk.<NAMESPACE>.svc:2181 --override broker.rack=<RACK>\"]\n        env:\n        - {name: KAFKA_ZOOKEEPER_CONNECT, value: \"zk.<NAMESPACE>:2181\"}\n        - {name: OTHER, value: \"<OTHER>\"}\n",
        );
        let f = run(&yaml);
        let needles: Vec<_> = f.iter().filter_map(|f| f.at.needle.clone()).collect();
        assert_eq!(needles, vec!["<RACK>".to_string(), "<OTHER>".to_string()]);

        // with SL005 disabled, this rule reports them
        let mut config = Config::default();
        config
            .ignore(&["SL005".into()], &crate::rules::Registry)
            .unwrap();
        let f = run_with(&yaml, &config);
        let needles: Vec<_> = f.iter().filter_map(|f| f.at.needle.clone()).collect();
        assert_eq!(
            needles,
            vec![
                "<NAMESPACE>".to_string(),
                "<NAMESPACE>".to_string(),
                "<OTHER>".to_string()
            ]
        );
    }

    #[test]
    fn zookeeper_connect_value_with_helm_expression() {
        let s = "zookeeper.connect={{ .Values.zk }}/kafka";
        let (start, p) = placeholders(s).next().unwrap();
        assert_eq!(p, "{{ .Values.zk }}");
        assert!(in_zookeeper_connect(s, start, p.len()));
        let s = "zookeeper.connect=zk:2181 id=<ID>";
        let (start, p) = placeholders(s).next().unwrap();
        assert!(!in_zookeeper_connect(s, start, p.len()));
    }

    #[test]
    fn placeholders_come_in_order() {
        let all: Vec<_> = placeholders("a <X> {{ y }} <Z>").collect();
        assert_eq!(all, vec![(2, "<X>"), (6, "{{ y }}"), (14, "<Z>")]);
    }

    #[test]
    fn services_and_pdbs_are_searched_too() {
        let yaml = "apiVersion: v1
kind: Service
metadata: {name: zk, namespace: <NAMESPACE>}
spec: {clusterIP: None, selector: {app: zk}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: zk}
spec: {minAvailable: 2, selector: {matchLabels: {app: \"{{ .Values.app }}\"}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: <NOT_CHECKED>}
";
        let f = run(yaml);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].at.pointer, "/metadata/namespace");
        assert!(f[0].message.starts_with("Service zk "), "{}", f[0].message);
        assert!(
            f[1].message.contains("spec.selector.matchLabels.app"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn dotted_paths() {
        assert_eq!(
            dotted("/metadata/annotations/statelint.io~1ignore"),
            "metadata.annotations[\"statelint.io/ignore\"]"
        );
        assert_eq!(dotted("/spec/ports/0/name"), "spec.ports[0].name");
    }
}
