//! Small helpers shared by rules.

use k8s_openapi::api::core::v1::{Container, PodSpec};

/// Majority of `n` members: floor(n/2)+1.
pub fn quorum(n: i32) -> i32 {
    n / 2 + 1
}

/// `percent`% of `n`, rounded up (as the disruption controller rounds minAvailable and
/// maxUnavailable percentages).
pub fn percent_of_round_up(percent: i64, n: i32) -> i64 {
    let prod = percent * n as i64;
    if prod <= 0 {
        return prod / 100;
    }
    (prod + 99) / 100
}

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

/// Join names for a message: `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_a_majority() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(2), 2);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(5), 3);
    }

    #[test]
    fn percent_rounds_up() {
        assert_eq!(percent_of_round_up(50, 3), 2);
        assert_eq!(percent_of_round_up(34, 3), 2);
        assert_eq!(percent_of_round_up(33, 3), 1);
        assert_eq!(percent_of_round_up(100, 3), 3);
        assert_eq!(percent_of_round_up(0, 3), 0);
    }

    #[test]
    fn image_names() {
        assert_eq!(image_name("docker.io/bitnami/zookeeper:3.8"), "zookeeper");
        assert_eq!(image_name("zookeeper"), "zookeeper");
        assert_eq!(image_name("reg:5000/x/Kafka@sha256:abc"), "kafka");
    }
}
