//! Host names as a pod's resolver reads them: `<pod>.<service>.<ns>.svc.<domain>`, the short
//! forms the DNS search path completes from the client's namespace, Service names, IPs and
//! names outside the cluster; `host:port` lists.

/// One `host[:port]` of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: Option<String>,
    /// The entry as written (`host:port`).
    pub text: String,
}

/// One `host[:port]` of a list, borrowed from the text it is written in (what
/// [`parse_connect_ref`] gives: no allocation per host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostRef<'a> {
    pub host: &'a str,
    pub port: Option<&'a str>,
    /// The entry as written (`host:port`).
    pub text: &'a str,
}

impl HostRef<'_> {
    pub fn to_owned(&self) -> HostPort {
        HostPort {
            host: self.host.to_string(),
            port: self.port.map(str::to_string),
            text: self.text.to_string(),
        }
    }
}

/// Split one `host[:port]` (or `[v6]:port`).
pub fn host_port(h: &str) -> HostPort {
    host_port_ref(h).to_owned()
}

/// [`host_port`], borrowed.
pub fn host_port_ref(h: &str) -> HostRef<'_> {
    // `h.rsplit_once(':')`, byte-wise (host lists are short and many)
    let split = h
        .bytes()
        .rposition(|b| b == b':')
        .map(|i| (&h[..i], &h[i + 1..]));
    let (host, port) = match split {
        Some((a, p)) if !a.bytes().any(|b| b == b']') || a.ends_with(']') => (a, Some(p)),
        _ => (h, None),
    };
    HostRef {
        host: host.trim_end_matches('.'),
        port,
        text: h,
    }
}

/// Split `h1:p1,h2:p2/chroot` (a ZooKeeper connect string) into hosts and the chroot. Pulsar's
/// metadata-store URLs (`zk:h1:p1,h2:p2/chroot`, `metadata-store:zk:...`) and BookKeeper's
/// metadata service URIs (`zk+hierarchical://h1:p1;h2:p2/ledgers`) are read the same way; a
/// host named `zk` (`zk:2181`) is a host, not a scheme.
pub fn parse_connect(s: &str) -> (Vec<HostPort>, Option<String>) {
    let (hosts, chroot) = parse_connect_ref(s);
    (
        hosts.iter().map(HostRef::to_owned).collect(),
        chroot.map(str::to_string),
    )
}

/// [`parse_connect`], borrowed from `s`.
pub fn parse_connect_ref(s: &str) -> (Vec<HostRef<'_>>, Option<&str>) {
    let s = trim(s);
    let s = &s[connect_scheme(s).len()..];
    let (list, chroot) = match memchr::memchr(b'/', s.as_bytes()) {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let mut hosts = Vec::new();
    for h in split_bytes(list, |b| b == b',' || b == b';') {
        let h = trim(h);
        if !h.is_empty() {
            hosts.push(host_port_ref(h));
        }
    }
    (hosts, chroot)
}

/// `s.trim()`, without decoding characters when both ends are printable ASCII (nothing to
/// trim: most texts).
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// The scheme in front of a connect string's hosts: `zk:`, `metadata-store:zk:`,
/// `zk+hierarchical://`; `""` for a plain `h1:p1,h2:p2` (and for `zk:2181`, host `zk`).
pub fn connect_scheme(s: &str) -> &str {
    let s = trim(s);
    let rest = s.strip_prefix("metadata-store:").unwrap_or(s);
    if !rest.starts_with("zk") {
        // neither `zk...://` nor `zk:`
        return &s[..s.len() - rest.len()];
    }
    let hosts = match split_scheme(rest) {
        Some((scheme, r)) if scheme.starts_with("zk") => r,
        _ => match rest.strip_prefix("zk:") {
            // `zk:2181`: host zk, port 2181
            Some(r)
                if !r
                    .split([',', ';', '/'])
                    .next()
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
            {
                r
            }
            _ => rest,
        },
    };
    &s[..s.len() - hosts.len()]
}

/// `s.split_once("://")`, byte-wise (the first `:` followed by `//`).
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let at = memchr::memchr_iter(b':', b).find(|&i| b[i + 1..].starts_with(b"//"))?;
    Some((&s[..at], &s[at + 3..]))
}

/// `s.split(pat)` for an ASCII byte predicate, byte-wise (no char decoding).
fn split_bytes(s: &str, pat: impl Fn(u8) -> bool) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(&pat) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The host and port of a URL (`http://etcd-0.etcd:2380` -> `etcd-0.etcd`, `2380`).
pub fn url_host_port(url: &str) -> HostPort {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['/', '?']).next().unwrap_or(rest);
    // `user:password@host:port`
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let mut hp = host_port(rest);
    hp.text = url.to_string();
    hp
}

/// What an in-cluster host name means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `<pod>.<service>.<ns>.svc.<domain>`.
    Pod {
        pod: String,
        service: String,
        ns: String,
    },
    /// `<service>.<ns>.svc.<domain>`.
    Service { service: String, ns: String },
    /// Ends in `.svc.<other domain>`.
    WrongDomain { domain: String },
    /// An IP address or a name outside the cluster: not checked.
    External,
}

impl Target {
    pub fn pod(pod: &str, service: &str, ns: &str) -> Target {
        Target::Pod {
            pod: pod.into(),
            service: service.into(),
            ns: ns.into(),
        }
    }

    pub fn service(service: &str, ns: &str) -> Target {
        Target::Service {
            service: service.into(),
            ns: ns.into(),
        }
    }

    /// (namespace, Service, pod) of an in-cluster target.
    pub fn parts(&self) -> Option<(&str, &str, Option<&str>)> {
        match self {
            Target::Pod { pod, service, ns } => Some((ns, service, Some(pod))),
            Target::Service { service, ns } => Some((ns, service, None)),
            _ => None,
        }
    }
}

/// [`Target`], borrowed from the host name and the client's namespace (what [`resolve_ref`]
/// gives: no allocation per host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRef<'a> {
    Pod {
        pod: &'a str,
        service: &'a str,
        ns: &'a str,
    },
    Service {
        service: &'a str,
        ns: &'a str,
    },
    WrongDomain {
        domain: &'a str,
    },
    External,
}

impl TargetRef<'_> {
    pub fn to_owned(&self) -> Target {
        match *self {
            TargetRef::Pod { pod, service, ns } => Target::pod(pod, service, ns),
            TargetRef::Service { service, ns } => Target::service(service, ns),
            TargetRef::WrongDomain { domain } => Target::WrongDomain {
                domain: domain.to_string(),
            },
            TargetRef::External => Target::External,
        }
    }
}

/// Top-level domains that make a short name external rather than `<pod>.<svc>.<ns>`.
const PUBLIC_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "dev",
    "local",
    "internal",
    "lan",
    "corp",
    "home",
    "cloud",
    "localdomain",
    "intra",
    "private",
    "eu",
    "de",
    "uk",
    "us",
];

/// Resolve a host as the pod's resolver does with the search path
/// `<ns>.svc.<domain> svc.<domain> <domain>`. `pod_service_exists(ns, pod, svc)` says whether
/// pod `pod` of a headless Service `svc` may exist in `ns` (to pick between `a.b` = pod a of
/// Service b in the pod's namespace, and Service a in namespace b).
pub fn resolve(
    host: &str,
    pod_ns: &str,
    domain: &str,
    pod_service_exists: impl Fn(&str, &str, &str) -> bool,
) -> Target {
    resolve_ref(host, pod_ns, domain, |ns, pod, svc| {
        pod_service_exists(ns, pod, svc)
    })
    .to_owned()
}

/// [`resolve`], borrowed from `host` and `pod_ns`.
pub fn resolve_ref<'a>(
    host: &'a str,
    pod_ns: &'a str,
    domain: &str,
    pod_service_exists: impl Fn(&'a str, &'a str, &'a str) -> bool,
) -> TargetRef<'a> {
    if host.is_empty()
        || host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || host.contains(':')
        || host == "localhost"
    {
        return TargetRef::External;
    }
    // `<...>.svc.<domain>`
    let in_domain = host
        .strip_suffix(domain)
        .and_then(|p| p.strip_suffix(".svc."));
    // the labels, when there are at most 4 (more name nothing in the cluster)
    let mut buf = [""; 4];
    let mut n = 0;
    let mut many = false;
    let mut push = |l| {
        if n < buf.len() {
            buf[n] = l;
            n += 1;
        } else {
            many = true;
        }
    };
    if let Some(p) = in_domain {
        split_bytes(p, |b| b == b'.').for_each(&mut push);
        push("svc");
    } else if let Some(i) = find_svc(host) {
        return TargetRef::WrongDomain {
            domain: &host[i + 5..],
        };
    } else {
        split_bytes(host, |b| b == b'.').for_each(&mut push);
        if let Some(dot) = host.bytes().rposition(|b| b == b'.')
            && PUBLIC_TLDS.contains(&&host[dot + 1..])
        {
            return TargetRef::External;
        }
    }
    if many {
        return TargetRef::External;
    }
    let pod = |pod, service, ns| TargetRef::Pod { pod, service, ns };
    let svc = |service, ns| TargetRef::Service { service, ns };
    match buf[..n] {
        [s, n, "svc"] => svc(s, n),
        [p, s, n, "svc"] => pod(p, s, n),
        [s] => svc(s, pod_ns),
        [a, b] => {
            if pod_service_exists(pod_ns, a, b) {
                pod(a, b, pod_ns)
            } else {
                svc(a, b)
            }
        }
        [p, s, n] => pod(p, s, n),
        _ => TargetRef::External,
    }
}

/// `host.find(".svc.")`, byte-wise.
fn find_svc(host: &str) -> Option<usize> {
    host.as_bytes().windows(5).position(|w| w == b".svc.")
}

/// Split `zk-12` into (`zk`, 12).
pub fn split_ordinal(pod: &str) -> Option<(&str, u32)> {
    let dash = pod.bytes().rposition(|b| b == b'-')?;
    let (name, ord) = (&pod[..dash], &pod.as_bytes()[dash + 1..]);
    if ord.is_empty() || (ord.len() > 1 && ord[0] == b'0') {
        return None;
    }
    let mut n: u32 = 0;
    for &b in ord {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some((name, n))
}

#[cfg(test)]
mod tests {

    #[test]
    fn connect_strings_with_schemes() {
        let hosts =
            |v: &str| -> Vec<String> { parse_connect(v).0.into_iter().map(|h| h.host).collect() };
        assert_eq!(hosts("zk:pulsar-zookeeper:2181"), ["pulsar-zookeeper"]);
        assert_eq!(connect_scheme("zk:pulsar-zookeeper:2181"), "zk:");
        assert_eq!(hosts("metadata-store:zk:a:2181,b:2181/chroot"), ["a", "b"]);
        assert_eq!(
            parse_connect("zk+hierarchical://a:2181;b:2181/ledgers")
                .1
                .as_deref(),
            Some("/ledgers")
        );
        assert_eq!(hosts("zk+hierarchical://a:2181;b:2181/ledgers"), ["a", "b"]);
        // a host named zk
        assert_eq!(hosts("zk:2181"), ["zk"]);
        assert_eq!(connect_scheme("zk:2181,zk2:2181"), "");
        assert_eq!(
            hosts("zk-0.zk:2181,zk-1.zk:2181/kafka"),
            ["zk-0.zk", "zk-1.zk"]
        );
    }

    use super::*;

    #[test]
    fn parses_hosts_ports_and_chroot() {
        let (h, c) = parse_connect("zk-0.zk:2181, zk-1.zk:2182,zk-2.zk/kafka/prod");
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].host, "zk-0.zk");
        assert_eq!(h[0].port.as_deref(), Some("2181"));
        assert_eq!(h[1].port.as_deref(), Some("2182"));
        assert_eq!(h[2].port, None);
        assert_eq!(c.as_deref(), Some("/kafka/prod"));
        let (h, c) = parse_connect("zookeeper:2181");
        assert_eq!(h.len(), 1);
        assert_eq!(c, None);
        let (h, _) = parse_connect("a:1,,b:2,");
        assert_eq!(h.len(), 2);
        // whitespace around hosts, ASCII or not, is trimmed as `str::trim` does
        let (h, c) = parse_connect_ref("\u{a0}zk-0:2181 ,\tzk-1\u{2003}; zk-2:1/x");
        let hosts: Vec<&str> = h.iter().map(|h| h.host).collect();
        assert_eq!(hosts, ["zk-0", "zk-1", "zk-2"]);
        assert_eq!(h[1].text, "zk-1");
        assert_eq!(c, Some("/x"));
        assert_eq!(parse_connect_ref(" \u{3000} ").0, []);
    }

    #[test]
    fn parses_urls() {
        let u = url_host_port("https://etcd-0.etcd-hs.ns.svc.cluster.local:2380");
        assert_eq!(u.host, "etcd-0.etcd-hs.ns.svc.cluster.local");
        assert_eq!(u.port.as_deref(), Some("2380"));
        let u = url_host_port("http://etcd-0:2380/");
        assert_eq!(u.host, "etcd-0");
        assert_eq!(url_host_port("etcd-0.x").port, None);
    }

    #[test]
    fn resolves_short_forms_like_the_search_path() {
        let none = |_: &str, _: &str, _: &str| false;
        let hs = |ns: &str, _: &str, s: &str| ns == "data" && s == "zk-hs";
        let (pod, svc) = (Target::pod, Target::service);
        let d = "cluster.local";
        assert_eq!(
            resolve("zk-0.zk-hs.data.svc.cluster.local", "x", d, none),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(
            resolve("zk-0.zk-hs.data.svc", "x", d, none),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(
            resolve("zk-0.zk-hs.data", "x", d, none),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(
            resolve("zk-0.zk-hs", "data", d, hs),
            pod("zk-0", "zk-hs", "data")
        );
        assert_eq!(resolve("zk-cs.other", "data", d, hs), svc("zk-cs", "other"));
        assert_eq!(resolve("zk-cs", "data", d, none), svc("zk-cs", "data"));
        assert_eq!(
            resolve("zk-cs.data.svc.cluster.local", "x", d, none),
            svc("zk-cs", "data")
        );
        assert_eq!(resolve("10.0.0.1", "x", d, none), Target::External);
        assert_eq!(resolve("zk1.example.com", "x", d, none), Target::External);
        assert_eq!(
            resolve("zk-0.zk.data.svc.corp.local", "x", d, none),
            Target::WrongDomain {
                domain: "corp.local".into()
            }
        );
        assert_eq!(
            resolve("zk-0.zk.data.svc.corp.local", "x", "corp.local", none),
            pod("zk-0", "zk", "data")
        );
    }

    #[test]
    fn ordinals() {
        assert_eq!(split_ordinal("zk-2"), Some(("zk", 2)));
        assert_eq!(split_ordinal("my-zk-10"), Some(("my-zk", 10)));
        assert_eq!(split_ordinal("zk-01"), None);
        assert_eq!(split_ordinal("zk"), None);
        assert_eq!(split_ordinal("zk-a"), None);
    }
}
