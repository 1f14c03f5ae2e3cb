//! SL005 `zookeeper-connect`. The rule's documentation is its page, `rules/SL005-zookeeper-connect.md` (what it
//! checks, why, examples, options); keep it there, not here.
//!
//! Implementation notes: settings are read from command/args (also inside `sh -c` scripts),
//! env (with `$(VAR)` expansion) and the `server.properties` of mounted ConfigMaps
//! ([`Companions::config_map`]); each connect string is scanned byte-wise (linear, no regex).
//! The ensemble a host names is found through [`Companions::statefulset`],
//! [`Companions::service`] and [`Companions::statefulsets`]. The cluster domain is the
//! `cluster-domain` option ([`Options`]).
//!
//! [`Companions::config_map`]: crate::catalog::Companions::config_map
//! [`Companions::statefulset`]: crate::catalog::Companions::statefulset
//! [`Companions::service`]: crate::catalog::Companions::service
//! [`Companions::statefulsets`]: crate::catalog::Companions::statefulsets

use std::sync::Arc;

use k8s_openapi::api::core::v1::Container;

use super::util::{container_pointer, containers_at, join_and, lazy};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::Kind;
use crate::config::{self, OptionError, Options as RawOptions};
use crate::ensemble::hosts::{HostRef, TargetRef, parse_connect_ref, resolve_ref, split_ordinal};
use crate::ensemble::lookup::{self, Ensemble, service_name, service_ports};
use crate::ensemble::settings::{self, Setting};
use crate::ensemble::system::serves_zookeeper as is_zookeeper;
use crate::object::{Object, placeholder_in};
use crate::selector;

pub static META: RuleMeta = RuleMeta {
    code: "SL005",
    slug: "zookeeper-connect",
    severity: Severity::Error,
    summary: "ZooKeeper clients' connect strings (Kafka zookeeper.connect, Pulsar, BookKeeper, Solr, Druid, ClickHouse) name a real ensemble, namespace, host and port",
    page: include_str!("../../rules/SL005-zookeeper-connect.md"),
};

/// ZooKeeper's default client port.
const DEFAULT_PORT: i32 = 2181;

pub struct ZookeeperConnect;

/// `.statelint.yaml` options (see the rule's page).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// The cluster's DNS domain (`cluster.local` when not set).
    #[serde(default)]
    pub cluster_domain: Option<ClusterDomain>,
}

/// A DNS domain such as `cluster.local` (leading and trailing dots dropped).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct ClusterDomain(pub String);

impl TryFrom<String> for ClusterDomain {
    type Error = &'static str;
    fn try_from(d: String) -> Result<Self, Self::Error> {
        if d.is_empty() || d.contains(['/', ':', ' ']) {
            return Err("expected a DNS domain such as cluster.local");
        }
        Ok(ClusterDomain(d.trim_matches('.').to_string()))
    }
}

impl Options {
    fn cluster_domain(&self) -> &str {
        self.cluster_domain
            .as_ref()
            .map_or("cluster.local", |d| d.0.as_str())
    }
}

impl Rule for ZookeeperConnect {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn options(&self, raw: &serde_json::Value) -> Result<Option<RawOptions>, Vec<OptionError>> {
        config::boxed_options::<Options>(raw)
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::Service,
            Kind::StatefulSet,
            Kind::ConfigMap,
            Kind::Workload,
        ]
    }

    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let Some(tpl) = object.statefulset().map(|_| object.pod_template()) else {
            return;
        };
        let Some(spec) = tpl.and_then(|t| t.spec.as_ref()) else {
            return;
        };
        let ns = object.key.namespace.as_str();
        // every setting once (a ConfigMap two containers mount is read for each), in order
        let mut all: Vec<Setting> = Vec::new();
        let mut cptr = String::with_capacity(48);
        for (init, i, c) in containers_at(spec) {
            container_pointer(&mut cptr, object.pod_template_pointer(), init, i);
            let want = &crate::ensemble::ZOOKEEPER_CONNECT;
            let found = settings::read(c, &cptr, spec, ns, cx.companions, want);
            // most StatefulSets set it in one container: that Vec is kept, not copied
            if all.is_empty() {
                all = found;
            } else {
                all.extend(found);
            }
        }
        // the first of each (ConfigMap, pointer, text), found by sorting (a script may set
        // thousands), without cloning keys
        fn key(s: &Setting) -> (Option<&crate::object::ObjectKey>, &str, &str) {
            (
                s.config_map.as_ref().map(|o| &o.key),
                s.pointer.as_str(),
                s.written.as_str(),
            )
        }
        let mut keep = Vec::new();
        if all.len() > 1 {
            keep = vec![true; all.len()];
            let mut order: Vec<usize> = (0..all.len()).collect();
            order.sort_by(|&a, &b| key(&all[a]).cmp(&key(&all[b])).then(a.cmp(&b)));
            for w in order.windows(2) {
                if key(&all[w[0]]) == key(&all[w[1]]) {
                    keep[w[1]] = false;
                }
            }
        }
        for (i, s) in all.iter().enumerate() {
            if keep.get(i).copied().unwrap_or(true) {
                check_setting(object, s, cx, out);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper ensembles

/// containerPorts of the ZooKeeper pods; 2181 when they declare none.
fn pod_ports(sts: &Object) -> Vec<i32> {
    lookup::pod_ports(sts, DEFAULT_PORT)
}

/// Is `port` among [`pod_ports`] (without listing them)?
fn pod_serves(sts: &Object, port: i32) -> bool {
    lookup::pod_serves(sts, port, DEFAULT_PORT)
}

/// The port clients should use: 2181 when served, else the containerPort named `client`, else
/// the first one.
fn client_port(sts: &Object) -> i32 {
    let ports = pod_ports(sts);
    if ports.contains(&DEFAULT_PORT) {
        return DEFAULT_PORT;
    }
    sts.pod_template()
        .and_then(|t| t.spec.as_ref())
        .into_iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some("client"))
        .map_or(ports[0], |p| p.container_port)
}

/// The ZooKeeper StatefulSet in `ns` that Service name `svc` leads to.
fn find_ensemble(ns: &str, svc: &str, pod: Option<&str>, cx: &Ctx<'_>) -> Option<Ensemble> {
    lookup::find(ns, svc, pod, cx.companions, &|o| {
        is_zookeeper(o, cx.companions)
    })
}

/// The ZooKeeper StatefulSets of a namespace (for messages, when the hosts name none of them).
fn zookeepers(ns: &str, cx: &Ctx<'_>) -> Vec<Arc<Object>> {
    cx.companions
        .statefulsets(ns)
        .into_iter()
        .filter(|o| is_zookeeper(o, cx.companions))
        .collect()
}

/// The connect string for an ensemble's pods.
fn pod_connect_string(zk: &Object, domain: &str, chroot: Option<&str>) -> String {
    let port = client_port(zk);
    let svc = service_name(zk);
    let ns = &zk.key.namespace;
    let hosts: Vec<String> = (0..zk.replicas().max(1))
        .map(|i| format!("{}-{i}.{svc}.{ns}.svc.{domain}:{port}", zk.key.name))
        .collect();
    format!("{}{}", hosts.join(","), chroot.unwrap_or(""))
}

/// `zk (Service zk-hs, 3 replicas)`.
fn describe_ensemble(zk: &Object) -> String {
    let n = zk.replicas();
    format!(
        "{} (Service {}, {} replica{})",
        zk.key.name,
        service_name(zk),
        n,
        if n == 1 { "" } else { "s" }
    )
}

fn pod_range(zk: &Object) -> String {
    match zk.replicas() {
        n if n <= 0 => "no pods".to_string(),
        1 => format!("only {}-0", zk.key.name),
        n => format!("{0}-0 to {0}-{1}", zk.key.name, n - 1),
    }
}

fn ports_text(ports: &[i32]) -> String {
    let p: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
    join_and(&p)
}

// ---------------------------------------------------------------------------------------------
// Checking one setting

/// The last Service asked about and the answer, borrowing the names asked with.
struct LastService<'a> {
    companions: &'a dyn crate::catalog::Companions,
    last: std::cell::RefCell<Option<Asked<'a>>>,
}

/// (namespace, name, the Service if there is one).
type Asked<'a> = (&'a str, &'a str, Option<Arc<Object>>);

impl<'a> LastService<'a> {
    fn ask(&self, ns: &'a str, svc: &'a str) {
        let known = matches!(&*self.last.borrow(), Some((n, s, _)) if *n == ns && *s == svc);
        if !known {
            let found = self.companions.service(ns, svc);
            *self.last.borrow_mut() = Some((ns, svc, found));
        }
    }

    fn get(&self, ns: &'a str, svc: &'a str) -> Option<Arc<Object>> {
        self.ask(ns, svc);
        self.last.borrow().as_ref().and_then(|(_, _, f)| f.clone())
    }

    /// Is Service `svc` in `ns` headless?
    fn headless(&self, ns: &'a str, svc: &'a str) -> bool {
        self.ask(ns, svc);
        self.last
            .borrow()
            .as_ref()
            .and_then(|(_, _, f)| f.as_ref())
            .is_some_and(|s| s.is_headless_service())
    }
}

/// At most this many findings about single hosts of one setting.
const MAX_HOST_FINDINGS: usize = 10;

fn check_setting(kafka: &Arc<Object>, s: &Setting, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let domain = cx
        .options::<Options>(&META)
        .map_or("cluster.local", Options::cluster_domain)
        .trim_matches('.');
    let kns = kafka.key.namespace.as_str();
    // the setting's name in help text (`zookeeper.connect`, `metadataStoreUrl`, `ZK_HOST`...)
    let key = crate::ensemble::connect_key(&s.key);
    // help keeps the scheme the value is written with (`zk:`, `zk+hierarchical://`)
    // (the scheme read once, for the first finding: it scans the value, and findings about
    // each host name it again)
    let scheme = std::cell::OnceCell::new();
    let key = lazy(|f| {
        if s.key.starts_with('<') {
            // ClickHouse's XML `<zookeeper>` nodes
            write!(f, "the {} nodes ", s.key)
        } else {
            let scheme = scheme.get_or_init(|| crate::ensemble::hosts::connect_scheme(&s.written));
            write!(f, "{key}={scheme}")
        }
    });
    let (written_hosts, written_chroot) = parse_connect_ref(&s.written);
    // the value after expansion, parsed once (most values are written out: the same text)
    let parsed_value = s
        .value
        .as_deref()
        .filter(|v| *v != s.written)
        .map(parse_connect_ref);
    let value_parsed = || match (&s.value, &parsed_value) {
        (None, _) => None,
        (Some(_), Some((h, c))) => Some((h, c)),
        (Some(_), None) => Some((&written_hosts, &written_chroot)),
    };
    let finding = |host_text: &str, msg: String| {
        let f = Finding::new(&META, kafka, s.pointer.clone(), msg);
        let f = match &s.config_map {
            Some(cm) => f.at(cm, s.pointer.clone()),
            None => f,
        };
        // a host read from a structured file: the occurrence of its text where it is written
        let nth = s
            .needles
            .iter()
            .find(|(t, _)| t == host_text)
            .map_or(0, |(_, n)| *n);
        f.needle_nth(host_text.to_string(), nth)
    };
    let intro = lazy(|f| {
        write!(
            f,
            "StatefulSet {} sets {} (container {})",
            kafka.key.name, s.source, s.container
        )
    });

    // most values hold no `{`, `<` (template placeholders) nor `$` (variables): one scan each
    // tells, before any host is looked at (the hosts are slices of these texts)
    let written_marks = memchr::memchr2(b'{', b'<', s.written.as_bytes()).is_some();
    let value_vars = s
        .value
        .as_deref()
        .is_some_and(|v| memchr::memchr(b'$', v.as_bytes()).is_some());

    // 1. placeholders: `<X>` and `{{ }}` as written; `${X}` after expansion (a shell script
    // may define it)
    let value_hosts = value_parsed().map(|(h, _)| h);
    let placeholder_of = |i: usize| -> Option<String> {
        placeholder_in(written_hosts[i].text)
            .map(str::to_string)
            .or_else(|| {
                let v = value_hosts.as_ref()?;
                let h = if v.len() == written_hosts.len() {
                    v.get(i)?
                } else {
                    v.first()?
                };
                shell_placeholder(h.text).map(str::to_string)
            })
    };
    if (written_marks || value_vars)
        && let Some(first) = (0..written_hosts.len()).find(|&i| placeholder_of(i).is_some())
    {
        let with_ph: Vec<usize> = (first..written_hosts.len())
            .filter(|&i| placeholder_of(i).is_some())
            .collect();
        let ph = placeholder_of(first).unwrap_or_default();
        let h = &written_hosts[first];
        let zks = zookeepers(kns, cx);
        let chroot = written_chroot;
        let is_ns = ph.to_ascii_uppercase().contains("NAMESPACE");
        let what = if is_ns {
            "the namespace where the ZooKeeper ensemble runs".to_string()
        } else {
            "the real value".to_string()
        };
        let help = match zks.as_slice() {
            [zk] => format!(
                "replace `{ph}` with {}: {key}{}",
                if is_ns {
                    format!(
                        "`{kns}`, the namespace of ZooKeeper StatefulSet {}",
                        zk.key.name
                    )
                } else {
                    what
                },
                pod_connect_string(zk, domain, chroot)
            ),
            _ => format!(
                "replace `{ph}` with {what}{}",
                if is_ns {
                    format!(" (`{kns}` if it runs next to this StatefulSet)")
                } else {
                    String::new()
                }
            ),
        };
        let n = with_ph.len();
        let hosts = if n == 1 {
            "host `".to_string() + h.host + "` still holds"
        } else {
            if n == written_hosts.len() {
                format!("all {n} of its hosts still hold")
            } else {
                format!("{n} of its hosts still hold")
            }
        };
        out.push(
            finding(
                s.needles
                    .get(first)
                    .map(|(t, _)| t)
                    .filter(|t| !t.is_empty())
                    .map_or(h.text, String::as_str),
                format!(
                    "{intro}, but {hosts} the template placeholder `{ph}`, which no DNS name can contain"
                ),
            )
            .help(help),
        );
        return;
    }
    let Some((hosts, chroot)) = value_parsed() else {
        return; // depends on a value we cannot know
    };
    // the written text of host i, for the needle
    let text_of = |i: usize| -> String {
        if s.needles.len() == hosts.len() && !s.needles[i].0.is_empty() {
            s.needles[i].0.clone()
        } else if written_hosts.len() == hosts.len() {
            written_hosts[i].text.to_string()
        } else {
            s.written.clone()
        }
    };
    if hosts.is_empty() {
        out.push(
            finding(&s.written, format!("{intro}, but it names no host")).help(format!(
                "list the ZooKeeper servers: {key}zk-0.zk-hs.<ns>.svc.cluster.local:2181,..."
            )),
        );
        return;
    }
    // undefined variables left after expansion
    for (i, h) in hosts.iter().enumerate().filter(|_| value_vars) {
        if let Some(v) = h.text.bytes().position(|b| b == b'$').map(|j| &h.text[j..]) {
            let var: String = v.chars().take_while(|c| *c != '.' && *c != ':').collect();
            out.push(
                finding(
                    &text_of(i),
                    format!(
                        "{intro}, but host `{}` refers to `{var}`, which is not defined in the container's env",
                        h.host
                    ),
                )
                .help("define the variable in the container's env before it is used (Kubernetes expands `$(VAR)` only from vars listed earlier), or write the host name out"),
            );
            return;
        }
    }

    // 2. resolve every host
    let mut targets = Vec::new();
    // the last Service asked about and the answer (the hosts of a list usually name one
    // Service, which the ensemble lookup below asks about again: it is looked up once)
    let last_service = LastService {
        companions: cx.companions,
        last: Default::default(),
    };
    // host names as the resolver reads them (lowercase), borrowed when written so
    let lowered: Vec<String> = if hosts
        .iter()
        .any(|h| h.host.bytes().any(|b| b.is_ascii_uppercase()))
    {
        hosts.iter().map(|h| h.host.to_ascii_lowercase()).collect()
    } else {
        Vec::new()
    };
    for (i, h) in hosts.iter().enumerate() {
        let host = lowered.get(i).map_or(h.host, String::as_str);
        let t = resolve_ref(host, kns, domain, |ns, pod, svc| {
            last_service.headless(ns, svc)
                || split_ordinal(pod)
                    .and_then(|(name, _)| cx.companions.statefulset(ns, name))
                    .is_some_and(|z| service_name(&z) == svc)
        });
        if let TargetRef::WrongDomain { domain: d } = t {
            out.push(
                finding(
                    &text_of(i),
                    format!(
                        "{intro}, but host `{}` uses the cluster domain `{d}`; this cluster's domain is `{domain}`",
                        h.host
                    ),
                )
                .help(format!(
                    "write `.svc.{domain}` (or set `cluster-domain` for zookeeper-connect in .statelint.yaml if the cluster uses `{d}`)"
                )),
            );
            return;
        }
        targets.push(t);
    }
    // (index, namespace, Service, pod) of the in-cluster hosts
    let in_cluster = || {
        targets.iter().enumerate().filter_map(|(i, t)| match *t {
            TargetRef::Pod { pod, service, ns } => Some((i, ns, service, Some(pod))),
            TargetRef::Service { service, ns } => Some((i, ns, service, None)),
            _ => None,
        })
    };
    let Some((first_i, hns, hsvc, first_pod)) = in_cluster().next() else {
        return; // only external hosts: nothing to check
    };

    // 3. one namespace, one service
    if let Some((i, ns, svc, _)) = in_cluster().find(|&(_, ns, svc, _)| ns != hns || svc != hsvc) {
        let (what, a, b) = if ns != hns {
            ("namespace", hns, ns)
        } else {
            ("Service", hsvc, svc)
        };
        out.push(
            finding(
                &text_of(i),
                format!(
                    "{intro}, but its hosts disagree on the {what}: `{}` names `{b}` where `{}` names `{a}`",
                    hosts[i].host, hosts[first_i].host
                ),
            )
            .help({
                match find_ensemble(hns, hsvc, first_pod, cx) {
                    Some(e) => format!(
                        "all hosts must be members of one ZooKeeper ensemble; for {} in `{hns}` write {key}{}",
                        e.sts.key.name,
                        pod_connect_string(&e.sts, domain, chroot.as_deref())
                    ),
                    None => format!(
                        "all hosts must be members of one ZooKeeper ensemble: use the same Service and namespace for each (`<zk>-0.{hsvc}.{hns}.svc.{domain}:2181,<zk>-1...`)"
                    ),
                }
            }),
        );
        return;
    }

    // 4. the namespace where the ensemble lives: the hosts' namespace, else wherever a
    // ZooKeeper StatefulSet of that Service runs (found through the Service-name indexes of
    // the input, context or cluster, not by a scan)
    let mut ens = lookup::find_with_service(
        hns,
        hsvc,
        last_service.get(hns, hsvc),
        first_pod,
        cx.companions,
        &|o| is_zookeeper(o, cx.companions),
    );
    if ens.is_none() {
        let mut elsewhere = lookup::find_anywhere(hsvc, first_pod, cx.companions, &|o| {
            is_zookeeper(o, cx.companions)
        });
        // the client's own namespace first
        elsewhere.sort_by_key(|e| e.sts.key.namespace != kns);
        if let Some(e) = elsewhere.first() {
            let zk = &e.sts;
            let zns = &zk.key.namespace;
            let via = match &e.service {
                Some(svc) if service_name(zk) != hsvc => {
                    format!(" through Service {}", svc.key.name)
                }
                _ => String::new(),
            };
            let others = if elsewhere.len() > 1 {
                let names: Vec<String> = elsewhere[1..]
                    .iter()
                    .map(|e| format!("{} in `{}`", e.sts.key.name, e.sts.key.namespace))
                    .collect();
                format!(" (also {})", join_and(&names))
            } else {
                String::new()
            };
            out.push(
                finding(
                    &text_of(first_i),
                    format!(
                        "{intro}, but its hosts name namespace `{hns}`; ZooKeeper ensemble {}{via} runs in namespace `{zns}`{others}",
                        zk.key.name
                    ),
                )
                .help(format!(
                    "write {key}{}",
                    suggestion(e, hosts, domain, chroot.as_deref())
                ))
                .note(zk, "/metadata/namespace", format!("ZooKeeper StatefulSet {} is in namespace `{zns}`", zk.key.name)),
            );
            return;
        }
        let zks_h = zookeepers(hns, cx);
        if zks_h.is_empty() {
            // nowhere in what statelint was given: cannot be verified, never an error
            let mut help = "to verify the hosts, check ZooKeeper's manifests in the same run or pass them with `--context DIR` (the webhook looks the ensemble up in the cluster)".to_string();
            let zks_k = if hns != kns {
                zookeepers(kns, cx)
            } else {
                Vec::new()
            };
            if let [zk] = zks_k.as_slice() {
                help = format!(
                    "{help}; to use ZooKeeper StatefulSet {} in `{kns}` instead, write {key}{}",
                    zk.key.name,
                    pod_connect_string(zk, domain, chroot.as_deref())
                );
            }
            out.push(
                finding(
                    &text_of(first_i),
                    format!(
                        "{intro}; no ZooKeeper StatefulSet with Service `{hsvc}` is known in namespace `{hns}` or any other, so its hosts cannot be verified"
                    ),
                )
                .severity(Severity::Warning)
                .help(help),
            );
            return;
        }
        if !zks_h.is_empty() {
            let names: Vec<String> = zks_h.iter().map(|z| describe_ensemble(z)).collect();
            let svc_obj = cx.companions.service(hns, hsvc);
            let why = match &svc_obj {
                Some(svc) => {
                    let sel = svc
                        .service_selector()
                        .filter(|m| !m.is_empty())
                        .map_or("nothing".to_string(), selector::describe_map);
                    format!(
                        "Service {hsvc} selects {sel}, which matches none of {} pods",
                        if zks_h.len() == 1 { "its" } else { "their" }
                    )
                }
                None => format!("there is no Service or ZooKeeper serviceName `{hsvc}` in `{hns}`"),
            };
            let mut f = finding(
                &text_of(first_i),
                format!(
                    "{intro}, but no ZooKeeper ensemble in namespace `{hns}` is reached through `{hsvc}`: the ensemble{} there {} {}, and {why}",
                    if names.len() == 1 { "" } else { "s" },
                    if names.len() == 1 { "is" } else { "are" },
                    join_and(&names)
                ),
            );
            if let Some(svc) = &svc_obj {
                f = f.note(svc, "/spec/selector", format!("selector of Service {hsvc}"));
            }
            f = match zks_h.as_slice() {
                [zk] => f
                    .help(format!(
                        "write {key}{}",
                        pod_connect_string(zk, domain, chroot.as_deref())
                    ))
                    .note(zk, "/spec/serviceName", format!("pods of {} are named under Service {}", zk.key.name, service_name(zk))),
                _ => f.help(format!(
                    "name the pods of one of them: `<name>-<ordinal>.<serviceName>.{hns}.svc.{domain}:2181`"
                )),
            };
            out.push(f);
        }
        return;
    }
    let Some(e) = ens.take() else { return };

    // 5. each host against the known ensemble
    let zk = &e.sts;
    let zns = zk.key.namespace.as_str();
    let zsvc = service_name(zk);
    let replicas = zk.replicas();
    // the pods' ports, listed only for a finding (a port is checked without the list)
    let pods_ports = std::cell::OnceCell::new();
    let pods_ports = || pods_ports.get_or_init(|| pod_ports(zk));
    let mut found = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let port: Option<i32> = match &h.port {
            None => Some(DEFAULT_PORT),
            Some(p) => p.parse().ok(),
        };
        let bad_port_help = |good: i32| format!("use port {good}: `{}:{good}`", h.host);
        match targets[i] {
            TargetRef::Pod { pod, service, .. } => {
                let ordinal = split_ordinal(pod);
                let ok_name = ordinal.is_some_and(|(n, _)| n == zk.key.name);
                if !ok_name || service != zsvc {
                    let why = if service != zsvc {
                        format!(
                            "pod DNS names exist only under the StatefulSet's serviceName `{zsvc}`, not `{service}`"
                        )
                    } else {
                        format!(
                            "it is not a pod of ZooKeeper StatefulSet {} ({})",
                            zk.key.name,
                            pod_range(zk)
                        )
                    };
                    found.push(
                        finding(
                            &text_of(i),
                            format!("{intro}, but host `{}` does not resolve: {why}", h.host),
                        )
                        .help(format!(
                            "write {key}{}",
                            pod_connect_string(zk, domain, chroot.as_deref())
                        ))
                        .note(
                            zk,
                            "/spec/serviceName",
                            format!("ZooKeeper StatefulSet {} in `{zns}`", zk.key.name),
                        ),
                    );
                    continue;
                }
                let Some((_, ord)) = ordinal else { continue };
                if ord as i64 >= replicas as i64 {
                    found.push(
                        finding(
                            &text_of(i),
                            format!(
                                "{intro}, but host `{}` names pod {pod}, and ZooKeeper StatefulSet {} in `{zns}` has {replicas} replica{} ({})",
                                h.host,
                                zk.key.name,
                                if replicas == 1 { "" } else { "s" },
                                pod_range(zk)
                            ),
                        )
                        .help(format!(
                            "list only existing pods: {key}{} (or scale {} up first)",
                            pod_connect_string(zk, domain, chroot.as_deref()),
                            zk.key.name
                        ))
                        .note(zk, "/spec/replicas", format!("{} runs {replicas} replica{}", zk.key.name, if replicas == 1 { "" } else { "s" })),
                    );
                    continue;
                }
                if !port.is_some_and(|p| pod_serves(zk, p)) {
                    found.push(
                        finding(
                            &text_of(i),
                            format!(
                                "{intro}, but host `{}` uses port {}, and the ZooKeeper pods of {} serve {} (a pod name reaches the pod directly, so only containerPorts count)",
                                h.host,
                                h.port.unwrap_or("2181"),
                                zk.key.name,
                                ports_text(pods_ports())
                            ),
                        )
                        .help(bad_port_help(client_port(zk)))
                        .note(zk, pod_ports_pointer(zk), format!("containerPorts of {}", zk.key.name)),
                    );
                }
            }
            TargetRef::Service { service, .. } => {
                let Some(svc) = e.service.as_ref().filter(|s| s.key.name == *service) else {
                    let exists = cx.companions.service(zns, service);
                    let why = match exists {
                        Some(_) => format!(
                            "Service {service} does not select the pods of ZooKeeper StatefulSet {}",
                            zk.key.name
                        ),
                        None => format!("there is no Service {service} in namespace `{zns}`"),
                    };
                    found.push(
                        finding(&text_of(i), format!("{intro}, but host `{}` does not reach ZooKeeper: {why}", h.host))
                            .help(format!(
                                "create a Service {service} selecting the ZooKeeper pods, or write {key}{}",
                                pod_connect_string(zk, domain, chroot.as_deref())
                            ))
                            .note(zk, "/spec/serviceName", format!("ZooKeeper StatefulSet {} in `{zns}`", zk.key.name)),
                    );
                    continue;
                };
                let headless = svc.is_headless_service();
                let served = if headless {
                    pods_ports().clone()
                } else {
                    service_ports(svc)
                };
                if !port.is_some_and(|p| served.contains(&p)) {
                    let (what, note_obj, note_ptr, note) = if headless {
                        (
                            format!(
                                "headless Service {service} resolves to the pod addresses, and the ZooKeeper pods of {} serve {}",
                                zk.key.name,
                                ports_text(&served)
                            ),
                            zk.clone(),
                            pod_ports_pointer(zk),
                            format!("containerPorts of {}", zk.key.name),
                        )
                    } else {
                        (
                            format!(
                                "Service {service} serves port{} {}",
                                if served.len() == 1 { "" } else { "s" },
                                ports_text(&served)
                            ),
                            svc.clone(),
                            "/spec/ports".to_string(),
                            format!("ports of Service {service}"),
                        )
                    };
                    let good = if headless {
                        client_port(zk)
                    } else {
                        service_client_port(&served)
                    };
                    found.push(
                        finding(
                            &text_of(i),
                            format!(
                                "{intro}, but host `{}` uses port {}, and {what}",
                                h.host,
                                h.port.unwrap_or("2181 (the default)")
                            ),
                        )
                        .help(format!("use port {good}: `{}:{good}`", h.host))
                        .note(&note_obj, note_ptr, note),
                    );
                }
            }
            _ => {}
        }
    }
    // a setting with thousands of wrong hosts gets a few findings, not thousands
    if found.len() > MAX_HOST_FINDINGS {
        let more = found.len() - MAX_HOST_FINDINGS;
        found.truncate(MAX_HOST_FINDINGS);
        if let Some(last) = found.last_mut() {
            last.message.push_str(&format!(
                " ({more} more host{} of this setting {} problems too, not listed)",
                if more == 1 { "" } else { "s" },
                if more == 1 { "has" } else { "have" }
            ));
        }
    }
    out.append(&mut found);
}

fn service_client_port(ports: &[i32]) -> i32 {
    if ports.contains(&DEFAULT_PORT) || ports.is_empty() {
        DEFAULT_PORT
    } else {
        ports[0]
    }
}

fn pod_ports_pointer(zk: &Object) -> String {
    let spec = zk.pod_template().and_then(|t| t.spec.as_ref());
    let i = spec
        .and_then(|s| {
            let port = client_port(zk);
            let has = |c: &Container, f: &dyn Fn(i32) -> bool| {
                c.ports.iter().flatten().any(|p| f(p.container_port))
            };
            s.containers
                .iter()
                .position(|c| has(c, &|p| p == port))
                .or_else(|| s.containers.iter().position(|c| has(c, &|_| true)))
        })
        .unwrap_or(0);
    format!("{}/spec/containers/{i}/ports", zk.pod_template_pointer())
}

/// The connect string to write for an ensemble, in the style of the hosts as written: the
/// Service form when they go through a Service, else the pod names.
fn suggestion(e: &Ensemble, hosts: &[HostRef<'_>], domain: &str, chroot: Option<&str>) -> String {
    let zk = &e.sts;
    match &e.service {
        Some(svc) if hosts.len() == 1 => {
            let port = if svc.is_headless_service() {
                client_port(zk)
            } else {
                service_client_port(&service_ports(svc))
            };
            format!(
                "{}.{}.svc.{domain}:{port}{}",
                svc.key.name,
                zk.key.namespace,
                chroot.unwrap_or("")
            )
        }
        _ => pod_connect_string(zk, domain, chroot),
    }
}

/// `${NAME}` in a host (a shell placeholder no shell expanded).
fn shell_placeholder(s: &str) -> Option<&str> {
    if !s.as_bytes().contains(&b'$') {
        return None;
    }
    let i = s.find("${")?;
    let j = s[i..].find('}')?;
    Some(&s[i..i + j + 1])
}
