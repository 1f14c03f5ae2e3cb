//! The pod template as the rules and the shared modules below them read it: its containers
//! (init containers first) with their JSON pointers, and image names. Below [`crate::rules`]
//! (which re-exports these through `rules::util`), so that [`crate::system`] and
//! [`crate::ensemble`] need not import the rules.

use k8s_openapi::api::core::v1::{Container, PodSpec};

/// Every container of a pod spec (init containers first) with its JSON pointer relative to
/// the pod spec.
pub fn containers(spec: &PodSpec) -> impl Iterator<Item = (String, &Container)> {
    spec.init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (format!("/initContainers/{i}"), c))
        .chain(
            spec.containers
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("/containers/{i}"), c)),
        )
}

/// The repository part of an image reference, lower-cased: `docker.io/bitnami/zookeeper:3.8`
/// -> `zookeeper`.
pub fn image_name(image: &str) -> String {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).to_ascii_lowercase()
}

/// Every container of a pod spec as [`containers`] gives them, with its pointer written lazily:
/// (init container?, index, container). [`container_pointer`] writes the pointer.
pub fn containers_at(spec: &PodSpec) -> impl Iterator<Item = (bool, usize, &Container)> {
    spec.init_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (true, i, c))
        .chain(
            spec.containers
                .iter()
                .enumerate()
                .map(|(i, c)| (false, i, c)),
        )
}

/// `{template}/spec/initContainers/{i}` or `{template}/spec/containers/{i}` into `buf`
/// (cleared first); `template` is the pod template's pointer
/// ([`crate::object::Object::pod_template_pointer`]).
pub fn container_pointer(buf: &mut String, template: &str, init: bool, i: usize) {
    buf.clear();
    buf.push_str(template);
    buf.push_str(if init {
        "/spec/initContainers/"
    } else {
        "/spec/containers/"
    });
    push_index(buf, i);
}

/// Append a decimal index without the formatting machinery.
pub fn push_index(buf: &mut String, i: usize) {
    if i < 10 {
        buf.push((b'0' + i as u8) as char);
    } else {
        use std::fmt::Write;
        let _ = write!(buf, "{i}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names() {
        assert_eq!(image_name("docker.io/bitnami/zookeeper:3.8"), "zookeeper");
        assert_eq!(image_name("zookeeper"), "zookeeper");
        assert_eq!(image_name("reg:5000/x/Kafka@sha256:abc"), "kafka");
    }
}

/// Test support: objects to read.
#[cfg(test)]
pub mod testing {
    /// A StatefulSet in `default` with one container of `image` running `command`.
    pub fn one_container_statefulset(
        name: &str,
        image: &str,
        command: &[&str],
    ) -> crate::object::Object {
        let v = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "s",
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [
                    {"name": "c", "image": image, "command": command}]}}}
        });
        crate::object::Object::from_value(v, None, "default")
            .unwrap()
            .unwrap()
    }
}
