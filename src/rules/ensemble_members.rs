//! SL011 `ensemble-members`: implementation notes (the rule's documentation is its page,
//! `rules/SL011-ensemble-members.md`).
//!
//! For each StatefulSet that runs a known quorum system, every container's peer lists are read
//! through [`crate::ensemble`] (args, scripts, env, mounted ConfigMaps) and parsed per format
//! ([`crate::ensemble::members`]). Each member host is resolved as the pod's resolver would
//! ([`crate::ensemble::hosts::resolve`]) and looked up through the Companions indexes
//! ([`crate::ensemble::lookup`]). Voter lists must name each voter pod of the ensemble once;
//! seed lists must only name pods or Services that exist. Members that cannot be verified
//! (IPs, names outside the cluster, a StatefulSet that is not in the input) are never errors,
//! and a list with such a member is not checked for missing voters.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::util::{container_pointer, containers, containers_at, join_and};
use super::zookeeper_connect::{self, ClusterDomain};
use super::{Ctx, Finding, Rule, RuleMeta, Severity};
use crate::catalog::Kind;
use crate::config::{self, OptionError, Options as RawOptions};
use crate::ensemble::hosts::{Target, resolve, split_ordinal, url_host_port};
use crate::ensemble::lookup::{self, Ensemble, is_headless, service_name};
use crate::ensemble::members::{
    self as peer_lists, Format, LISTS, ListKind, ListSpec, Member, Needle, PeerList, System,
};
use crate::ensemble::settings::{self, EnvVal, Form, Setting};
use crate::ensemble::system::{runs, votes, which_run};
use crate::object::{Object, ObjectKey, placeholder_in, shell_placeholder_in};
use k8s_openapi::api::core::v1::{Container, PodSpec};

pub static META: RuleMeta = RuleMeta {
    code: "SL011",
    slug: "ensemble-members",
    severity: Severity::Error,
    summary: "peer lists (ZooKeeper servers, etcd initial cluster, KRaft voters, Elasticsearch initial masters, Consul bootstrap-expect) name exactly the ensemble's members",
    page: include_str!("../../rules/SL011-ensemble-members.md"),
};

pub struct EnsembleMembers;

/// `.statelint.yaml` options (see the rule's page).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// The cluster's DNS domain; when not set, zookeeper-connect's, else `cluster.local`.
    #[serde(default)]
    pub cluster_domain: Option<ClusterDomain>,
}

/// The cluster domain: this rule's option, else zookeeper-connect's, else `cluster.local`.
fn cluster_domain<'a>(cx: &'a Ctx<'_>) -> &'a str {
    cx.options::<Options>(&META)
        .and_then(|o| o.cluster_domain.as_ref())
        .or_else(|| {
            cx.options::<zookeeper_connect::Options>(&zookeeper_connect::META)
                .and_then(|o| o.cluster_domain.as_ref())
        })
        .map_or("cluster.local", |d| d.0.as_str())
}

/// How a system's members are called in messages.
fn member_word(system: System) -> &'static str {
    match system {
        System::Kafka => "KRaft controller",
        System::Elasticsearch => "master-eligible Elasticsearch",
        System::OpenSearch => "cluster-manager-eligible OpenSearch",
        System::Consul => "Consul server",
        System::Cassandra => "Cassandra node",
        System::CockroachDB => "CockroachDB node",
        System::Redpanda => "Redpanda broker",
        System::Nats => "NATS server",
        System::Vault => "Vault server",
        System::SeaweedFS => "SeaweedFS master",
        s => s.name(),
    }
}

impl Rule for EnsembleMembers {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn depends_on_replicas(&self) -> bool {
        true
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

    fn concerns(&self, sts: &Object, companion: &Object) -> bool {
        // a ConfigMap matters to the StatefulSets that mount it; Services and StatefulSets
        // may be members of any ensemble of the namespace
        companion.config_map().is_none() || mounts_config_map(sts, &companion.key.name)
    }

    fn check(&self, object: &Arc<Object>, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
        if object.statefulset().is_none() {
            return;
        }
        let Some(spec) = object.pod_template().and_then(|t| t.spec.as_ref()) else {
            return;
        };
        let systems: Vec<System> = which_run(
            object,
            &[
                System::ZooKeeper,
                System::Etcd,
                System::Kafka,
                System::Elasticsearch,
                System::OpenSearch,
                System::Consul,
                System::Cassandra,
                System::CockroachDB,
                System::Redpanda,
                System::ClickHouseKeeper,
                System::Nats,
                System::Vault,
                System::SeaweedFS,
            ],
            cx.companions,
        );
        if systems.is_empty() {
            return;
        }
        let ns = object.key.namespace.as_str();
        let mut seen = BTreeSet::new();
        let mut cptr = String::with_capacity(48);
        for list_spec in LISTS.iter().filter(|l| systems.contains(&l.system)) {
            for (init, i, c) in containers_at(spec) {
                container_pointer(&mut cptr, object.pod_template_pointer(), init, i);
                let found = settings::read(c, &cptr, spec, ns, cx.companions, &list_spec.want);
                let named = settings::names_config_file(c, list_spec.want.config_files);
                let found = in_effect(list_spec.system, found, named)
                    .into_iter()
                    .filter(|s| {
                        seen.insert((
                            s.config_map.as_ref().map(|o| o.key.clone()),
                            s.pointer.clone(),
                            s.key.clone(),
                            s.written.clone(),
                        ))
                    })
                    .collect();
                for list in PeerList::build(*list_spec, found) {
                    check_list(object, &list, cx, out);
                }
            }
        }
        if systems.contains(&System::Etcd) {
            for (init, i, c) in containers_at(spec) {
                container_pointer(&mut cptr, object.pod_template_pointer(), init, i);
                check_etcd_self(object, c, &cptr, spec, cx, out);
            }
        }
    }
}

/// The settings of one list that the software uses, when it is written in several places:
/// etcd ignores its flags and env vars when given `--config-file`; Elasticsearch and OpenSearch
/// settings given on the command line (`-E`, or env vars the images turn into `-E`) override
/// the config file's, and the Cassandra images write `CASSANDRA_SEEDS` into cassandra.yaml.
/// `file_named`: the container names a config file (`--config-file`), read or not; etcd then
/// uses nothing else, so nothing else is checked.
fn in_effect(system: System, found: Vec<Setting>, file_named: bool) -> Vec<Setting> {
    let from_file = |s: &Setting| s.form == Form::ConfigMap;
    let file_wins = system == System::Etcd;
    let file_loses = matches!(
        system,
        System::Elasticsearch | System::OpenSearch | System::Cassandra
    );
    if file_wins && (file_named || found.iter().any(from_file)) {
        found.into_iter().filter(from_file).collect()
    } else if file_loses && found.iter().any(|s| !from_file(s)) {
        found.into_iter().filter(|s| !from_file(s)).collect()
    } else {
        found
    }
}

/// The pods of one StatefulSet a list names: ordinal -> (member index, id).
type Listed = BTreeMap<u32, (usize, Option<i64>)>;

/// What a member turned out to be.
enum Resolved {
    /// Pod `ordinal` of this StatefulSet.
    Pod(Arc<Object>, u32),
    /// A Service selecting the pods of an ensemble StatefulSet (seed lists).
    Service,
    /// Reported, or not verifiable: no more checks.
    Done,
}

/// Is `sts` a voter of its system (the roles catalogue: a KRaft controller votes, a
/// broker-only node does not; an Elasticsearch master-eligible node votes, a data node does
/// not; a Consul server votes)?
fn is_voter(sts: &Object, system: System, cx: &Ctx<'_>) -> bool {
    match system {
        System::Kafka
        | System::Elasticsearch
        | System::OpenSearch
        | System::Consul
        | System::SeaweedFS => votes(sts, cx.companions),
        _ => true,
    }
}

/// The id of pod `ordinal` of `sts` when the settings say how ids are derived: Bitnami Kafka's
/// `KAFKA_MIN_ID` (node.id = ordinal + KAFKA_MIN_ID), Yolean ZooKeeper's `ID_OFFSET`, a script
/// that sets the id to `${HOSTNAME##*-}` (+ N).
fn id_offset(sts: &Object, system: System) -> Option<i64> {
    let spec = sts.pod_template().and_then(|t| t.spec.as_ref())?;
    for (_, c) in containers(spec) {
        let (env, _) = settings::container_env(c.env.as_deref().unwrap_or_default(), "");
        // Bitnami's ClickHouse Keeper image takes the ordinal of a pod name as server id
        let from_pod_name = c.env.iter().flatten().any(|e| {
            e.name == "CLICKHOUSE_KEEPER_SERVER_ID"
                && e.value_from
                    .as_ref()
                    .and_then(|f| f.field_ref.as_ref())
                    .is_some_and(|f| f.field_path == "metadata.name")
        });
        if system == System::ClickHouseKeeper && from_pod_name {
            return Some(0);
        }
        let var = match system {
            System::Kafka => "KAFKA_MIN_ID",
            System::ZooKeeper => "ID_OFFSET",
            _ => return None,
        };
        if let Some(EnvVal::Lit(v)) = env.get(var)
            && let Ok(n) = v.trim().parse()
        {
            return Some(n);
        }
        let id_keys: &[&str] = match system {
            System::Kafka => &["KAFKA_CFG_NODE_ID=", "KAFKA_NODE_ID=", "node.id="],
            _ => &["ZOO_SERVER_ID=", "ZOOKEEPER_SERVER_ID=", "MYID="],
        };
        for w in c.command.iter().flatten().chain(c.args.iter().flatten()) {
            for k in id_keys {
                let Some(i) = w.find(k) else { continue };
                let v = &w[i + k.len()..];
                let v = v.split(|ch: char| ch.is_whitespace() || ch == ';').next()?;
                let v = v.trim_matches('"');
                if v == "${HOSTNAME##*-}" {
                    return Some(0);
                }
                // $((${HOSTNAME##*-}+1)) / $(( ${HOSTNAME##*-} + 1 ))
                let inner: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                if let Some(n) = inner
                    .strip_prefix("$((${HOSTNAME##*-}+")
                    .and_then(|r| r.strip_suffix("))"))
                    .and_then(|n| n.parse().ok())
                {
                    return Some(n);
                }
            }
        }
    }
    None
}

/// Whether `sts`'s pods mount ConfigMap `name` (as a volume).
fn mounts_config_map(sts: &Object, name: &str) -> bool {
    sts.pod_template()
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vols| {
            vols.iter()
                .any(|v| v.config_map.as_ref().is_some_and(|c| c.name == name))
        })
}

/// Whether the object's namespace is written in its source (not the `--namespace` default).
/// Objects from the cluster always have one.
fn namespace_written(o: &Object) -> bool {
    super::util::present(o, "/metadata/namespace")
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn pod_range(sts: &Object) -> String {
    match sts.replicas() {
        n if n <= 0 => "no pods".to_string(),
        1 => format!("only {}-0", sts.key.name),
        n => format!("{0}-0 to {0}-{1}", sts.key.name, n - 1),
    }
}

/// The host of pod `ordinal` of `sts`, written in the same form as `like` (short names stay
/// short when they still resolve from `client_ns`).
fn pod_host(sts: &Object, ordinal: i64, like: &str, client_ns: &str, domain: &str) -> String {
    let pod = format!("{}-{ordinal}", sts.key.name);
    let svc = service_name(sts);
    // written without a namespace: keep the one the member names
    let labels: Vec<&str> = like.trim_end_matches('.').split('.').collect();
    let ns = match labels.get(2) {
        Some(n) if !namespace_written(sts) && labels.len() >= 3 => *n,
        _ => sts.key.namespace.as_str(),
    };
    let same_ns = ns == client_ns;
    match labels.len() {
        1 if same_ns => pod,
        2 if same_ns => format!("{pod}.{svc}"),
        1..=3 => format!("{pod}.{svc}.{ns}"),
        4 => format!("{pod}.{svc}.{ns}.svc"),
        _ => format!("{pod}.{svc}.{ns}.svc.{domain}"),
    }
}

/// A member's entry for pod `ordinal` of `sts`, in the style of `like`.
fn render(
    format: Format,
    like: &Member,
    sts: &Object,
    ordinal: i64,
    id: Option<i64>,
    client_ns: &str,
    domain: &str,
) -> String {
    let host = pod_host(sts, ordinal, &like.host.host, client_ns, domain);
    let addr = like.host.text.replacen(&like.host.host, &host, 1);
    let entry = like.text.replacen(&like.host.host, &host, 1);
    match format {
        Format::ZooCfgServer => format!("server.{}={entry}", id.unwrap_or(ordinal + 1)),
        Format::ZooServers if like.text.starts_with("server.") => {
            let value = entry.split_once('=').map_or(entry.as_str(), |(_, v)| v);
            format!("server.{}={value}", id.unwrap_or(ordinal + 1))
        }
        Format::ZooServers if !like.positional => {
            let addr = entry.rsplit_once("::").map_or(entry.as_str(), |(a, _)| a);
            format!("{addr}::{}", id.unwrap_or(ordinal + 1))
        }
        Format::EtcdInitialCluster => {
            let name = like.name.as_deref().unwrap_or("");
            let like_pod = like.host.host.split('.').next().unwrap_or("");
            let name = if name == like_pod || name.is_empty() {
                format!("{}-{ordinal}", sts.key.name)
            } else {
                name.to_string()
            };
            let url = like
                .text
                .split_once('=')
                .map_or(like.text.as_str(), |(_, u)| u);
            format!("{name}={}", url.replacen(&like.host.host, &host, 1))
        }
        Format::KraftVoters => format!("{}@{addr}", id.unwrap_or(ordinal)),
        Format::KeeperRaft => format!(
            "<server><id>{}</id><hostname>{host}</hostname><port>{}</port></server>",
            id.unwrap_or(ordinal + 1),
            like.host.port.as_deref().unwrap_or("9234")
        ),
        _ => entry,
    }
}

fn separator(format: Format, written: &str) -> &'static str {
    match format {
        Format::ZooCfgServer => "\n",
        Format::ZooServers if written.trim().contains(' ') => " ",
        Format::ZookeeperServers if written.contains(';') => ";",
        Format::NodeNames if !written.contains(',') && written.trim().contains(' ') => " ",
        Format::KeeperRaft => "",
        _ => ",",
    }
}

fn check_list(object: &Arc<Object>, list: &PeerList, cx: &Ctx<'_>, out: &mut Vec<Finding>) {
    if list.unknown || list.members.is_empty() {
        return;
    }
    let spec: ListSpec = list.spec;
    let system = spec.system;
    // Elasticsearch's voter list names master-eligible nodes only; a data node's pod is no member
    let only_voters = spec.kind == ListKind::Voters
        && matches!(
            system,
            System::Elasticsearch | System::OpenSearch | System::SeaweedFS
        );
    let is_member =
        |o: &Object| runs(o, system, cx.companions) && (!only_voters || is_voter(o, system, cx));
    let domain = cluster_domain(cx);
    let ns = object.key.namespace.as_str();
    let what = member_word(system);
    let first = &list.settings[0];
    let source = if spec.format == Format::ZooCfgServer {
        first
            .source
            .replacen(&format!("`{}`", first.key), "`server.N`", 1)
    } else {
        first.source.clone()
    };
    let intro = format!(
        "StatefulSet {} sets {source} (container {})",
        object.key.name, first.container
    );
    let finding = |s: &Setting, needle: &Needle, msg: String| {
        let f = Finding::new(&META, object, s.pointer.clone(), msg);
        let f = match &s.config_map {
            Some(cm) => f.at(cm, s.pointer.clone()),
            None => f,
        };
        f.needle_nth(needle.text.clone(), needle.nth)
    };
    // members found, by StatefulSet: ordinal -> (member index, id)
    if spec.kind == ListKind::Count {
        let (si, needle, m) = &list.members[0];
        let n = object.replicas() as i64;
        if let Some(count) = m.id
            && count != n
        {
            let s = &list.settings[*si];
            out.push(
                finding(
                    s,
                    needle,
                    format!(
                        "{intro}, but {} says the ensemble has {count} servers and StatefulSet {} runs {}",
                        s.key,
                        object.key.name,
                        plural(n, "replica")
                    ),
                )
                .help(format!(
                    "set {} to {n} (or scale {} to {count} replicas): {}",
                    s.key,
                    object.key.name,
                    if system == System::Consul {
                        "the servers wait for that many before they elect a leader"
                    } else {
                        "the server list is generated from it"
                    }
                )),
            );
        }
        return;
    }
    let mut pods: BTreeMap<ObjectKey, (Arc<Object>, Listed)> = BTreeMap::new();
    // members that could not be verified or were reported: the list is not checked for
    // missing voters
    let mut incomplete = false;
    let mut reported = 0;
    for (mi, (si, needle, m)) in list.members.iter().enumerate() {
        let s = &list.settings[*si];
        if let Some(ph) = placeholder_in(&needle.text)
            .or_else(|| shell_placeholder_in(&m.text))
            .map(str::to_string)
        {
            out.push(
                finding(
                    s,
                    needle,
                    format!(
                        "{intro}, but member `{}` still holds the template placeholder `{ph}`",
                        m.text
                    ),
                )
                .help(format!(
                    "replace `{ph}` with the real value: the {what} pods are {} (Service {}, namespace `{ns}`)",
                    pod_range(object),
                    service_name(object)
                )),
            );
            incomplete = true;
            reported += 1;
            continue;
        }
        let host = m.host.host.to_ascii_lowercase();
        if host.contains('$') || host.is_empty() {
            incomplete = true;
            continue;
        }
        let mut problems = Vec::new();
        let r = resolve_member(
            object,
            list,
            m,
            &host,
            cx,
            &is_member,
            &mut problems,
            domain,
        );
        for (msg, help, severity) in problems {
            out.push(
                finding(s, needle, format!("{intro}, but {msg}"))
                    .help(help)
                    .severity(severity),
            );
            reported += 1;
        }
        match r {
            Resolved::Pod(sts, ord) => {
                let entry = pods
                    .entry(sts.key.clone())
                    .or_insert_with(|| (sts.clone(), BTreeMap::new()));
                if let Some((prev, _)) = entry.1.get(&ord) {
                    out.push(
                        finding(
                            s,
                            needle,
                            format!(
                                "{intro}, but member `{}` names pod {}-{ord} again (also `{}`)",
                                m.text, sts.key.name, list.members[*prev].2.text
                            ),
                        )
                        .help(format!("list each {what} pod once: remove `{}`", m.text)),
                    );
                    reported += 1;
                    continue;
                }
                entry.1.insert(ord, (mi, m.id));
            }
            Resolved::Service => {}
            Resolved::Done => {
                incomplete = true;
            }
        }
    }
    if spec.kind != ListKind::Voters {
        return;
    }
    // the ensemble: the StatefulSets the list names, and this one when it votes
    let self_votes = is_voter(object, system, cx);
    if self_votes && !pods.contains_key(&object.key) && !incomplete {
        pods.insert(object.key.clone(), (object.clone(), BTreeMap::new()));
    }
    // ids: one offset (id - ordinal) per StatefulSet, the derived one when the settings say
    let mut id_problem = false;
    let mut all_ids: BTreeMap<i64, usize> = BTreeMap::new();
    for (sts, found) in pods.values() {
        let ids: Vec<(u32, usize, i64)> = found
            .iter()
            .filter_map(|(o, (mi, id))| id.map(|id| (*o, *mi, id)))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let derived = id_offset(sts, system);
        let expected = derived.unwrap_or_else(|| {
            let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
            for (o, _, id) in &ids {
                *counts.entry(id - *o as i64).or_default() += 1;
            }
            let best = counts.values().copied().max().unwrap_or(0);
            // ties: the usual convention of the system
            let usual = if system == System::Kafka { 0 } else { 1 };
            if counts.get(&usual) == Some(&best) {
                usual
            } else {
                counts
                    .iter()
                    .find(|(_, c)| **c == best)
                    .map_or(usual, |(k, _)| *k)
            }
        });
        for (o, mi, id) in ids {
            if let Some(prev) = all_ids.insert(id, mi) {
                let (si, needle, m) = &list.members[mi];
                out.push(
                    finding(
                        &list.settings[*si],
                        needle,
                        format!(
                            "{intro}, but member `{}` has id {id}, which `{}` has too",
                            m.text, list.members[prev].2.text
                        ),
                    )
                    .help("each voter needs its own id"),
                );
                id_problem = true;
                continue;
            }
            if id - o as i64 != expected {
                let (si, needle, m) = &list.members[mi];
                let why = match derived {
                    Some(d) if system == System::Kafka => format!(
                        "{} derives node.id = ordinal + {d}, so pod {}-{o} runs as node {}",
                        sts.key.name,
                        sts.key.name,
                        o as i64 + d
                    ),
                    Some(d) => format!(
                        "{} derives its id = ordinal + {d}, so pod {}-{o} runs as server {}",
                        sts.key.name,
                        sts.key.name,
                        o as i64 + d
                    ),
                    None => format!(
                        "the other members of {} use id = ordinal + {expected}, so pod {}-{o} would be {}",
                        sts.key.name,
                        sts.key.name,
                        o as i64 + expected
                    ),
                };
                let positional = m.positional;
                out.push(
                    finding(
                        &list.settings[*si],
                        needle,
                        format!(
                            "{intro}, but member `{}` gives pod {}-{o} the id {id}{}; {why}",
                            m.text,
                            sts.key.name,
                            if positional {
                                " (its position in the list)"
                            } else {
                                ""
                            }
                        ),
                    )
                    .help(if positional {
                        let entries: Vec<String> = (0..sts.replicas().max(0) as i64)
                            .map(|k| render(spec.format, m, sts, k, Some(k + expected), ns, domain))
                            .collect();
                        format!(
                            "list the pods in ordinal order: {}={}",
                            list.settings[*si].key,
                            entries.join(separator(spec.format, &list.settings[*si].written))
                        )
                    } else {
                        format!(
                            "use the id the pod runs with: `{}`",
                            render(
                                spec.format,
                                m,
                                sts,
                                o as i64,
                                Some(o as i64 + expected),
                                ns,
                                domain
                            )
                        )
                    }),
                );
                id_problem = true;
            }
        }
    }
    if incomplete {
        return;
    }
    // voters missing from the list
    let mut missing: Vec<String> = Vec::new();
    let mut total = 0i64;
    for (sts, found) in pods.values() {
        let n = sts.replicas().max(0) as u32;
        total += n as i64;
        for o in 0..n {
            if !found.contains_key(&o) {
                missing.push(format!("{}-{o}", sts.key.name));
            }
        }
    }
    if missing.is_empty() || reported > 0 && missing.len() as i64 >= total {
        return;
    }
    // the corrected list, in the style of the first member
    let Some((_, _, like)) = list.members.first() else {
        return;
    };
    let mut entries = Vec::new();
    let mut added = Vec::new();
    for (sts, found) in pods.values() {
        let offset = id_offset(sts, system).unwrap_or(if system == System::Kafka { 0 } else { 1 });
        for o in 0..sts.replicas().max(0) as i64 {
            let e = render(spec.format, like, sts, o, Some(o + offset), ns, domain);
            if !found.contains_key(&(o as u32)) {
                added.push(e.clone());
            }
            entries.push(e);
        }
    }
    let listed = list.members.len();
    let last = list.settings.last().unwrap_or(first);
    let needle = list
        .members
        .last()
        .filter(|(si, _, _)| list.settings[*si].pointer == last.pointer)
        .map_or(Needle::first(last.written.clone()), |(_, n, _)| n.clone());
    let sets: Vec<String> = pods
        .values()
        .map(|(s, _)| {
            format!(
                "{} ({})",
                s.key.name,
                plural(s.replicas() as i64, "replica")
            )
        })
        .collect();
    let key = if matches!(spec.format, Format::ZooCfgServer | Format::KeeperRaft) {
        String::new()
    } else {
        format!("{}=", first.key)
    };
    let _ = id_problem;
    out.push(
        finding(
            last,
            &needle,
            format!(
                "{intro}, but it lists {} and the ensemble {}{} has {total} voters: {} {} missing, so {}",
                plural(listed as i64, "member"),
                join_and(&sets),
                if sets.len() == 1 { "" } else { " together" },
                join_and(&missing),
                if missing.len() == 1 { "is" } else { "are" },
                match system {
                    System::ZooKeeper => "the missing servers never join the quorum",
                    System::Etcd => "etcd refuses to bootstrap the missing members",
                    System::ClickHouseKeeper => "the missing servers never join the Raft quorum",
                    System::SeaweedFS => "the missing masters are not in the Raft configuration the masters start with",
                    System::Elasticsearch | System::OpenSearch => "a new cluster bootstraps without them in its first voting configuration, or never forms when the listed nodes are not enough",
                    _ => "the missing controllers never vote, and the quorum tolerates fewer failures than its size suggests",
                }
            ),
        )
        .help(if spec.format == Format::ZooCfgServer {
            let add: Vec<String> = added.iter().map(|e| format!("`{e}`")).collect();
            format!("add {}", join_and(&add))
        } else {
            format!(
                "list every voter once: {key}{}",
                entries.join(separator(spec.format, &first.written))
            )
        }),
    );
}

/// Resolve one member; what is wrong with it goes to `problems` (message, help).
#[allow(clippy::too_many_arguments)]
fn resolve_member(
    object: &Arc<Object>,
    list: &PeerList,
    m: &Member,
    host: &str,
    cx: &Ctx<'_>,
    is_member: &dyn Fn(&Object) -> bool,
    problems: &mut Vec<(String, String, Severity)>,
    domain: &str,
) -> Resolved {
    let mut report = |msg: String, help: String| problems.push((msg, help, Severity::Error));
    let spec = list.spec;
    let what = member_word(spec.system);
    let ns = object.key.namespace.as_str();
    let c = cx.companions;
    // a bare pod name (Pulsar's ZOOKEEPER_SERVERS): a pod of a StatefulSet of this namespace
    let target = match split_ordinal(host) {
        Some((name, _)) if !host.contains('.') => match c.statefulset(ns, name) {
            Some(sts) if is_member(&sts) => Target::pod(host, service_name(&sts), ns),
            _ => resolve(host, ns, domain, |_, _, _| false),
        },
        _ => resolve(host, ns, domain, |n, pod, svc| {
            c.service(n, svc).is_some_and(|s| is_headless(&s))
                || split_ordinal(pod)
                    .and_then(|(name, _)| c.statefulset(n, name))
                    .is_some_and(|z| service_name(&z) == svc)
        }),
    };
    let fix = |sts: &Object, ord: i64| -> String {
        let offset = id_offset(sts, spec.system);
        let id = m.id.map(|id| {
            // keep the member's id unless it is derived from the ordinal
            offset.map_or(id, |o| ord + o)
        });
        render(spec.format, m, sts, ord, id, ns, domain)
    };
    match target {
        Target::External => Resolved::Done,
        Target::WrongDomain { domain: d } => {
            report(
                format!(
                    "member `{}` uses the cluster domain `{d}`; this cluster's domain is `{domain}`",
                    m.text
                ),
                format!(
                    "write `.svc.{domain}` (or set `cluster-domain` in .statelint.yaml if the cluster uses `{d}`)"
                ),
            );
            Resolved::Done
        }
        Target::Pod {
            pod,
            service,
            ns: hns,
        } => {
            let prefix = split_ordinal(&pod);
            // pod `ord` of `sts`, which the member names: exists, or is past the last replica
            let mut pod_of = |sts: &Arc<Object>, ord: u32| -> Resolved {
                if (ord as i64) < sts.replicas() as i64 {
                    return Resolved::Pod(sts.clone(), ord);
                }
                report(
                    format!(
                        "member `{}` names pod {pod}, and {what} StatefulSet {} has {} ({})",
                        m.text,
                        sts.key.name,
                        plural(sts.replicas() as i64, "replica"),
                        pod_range(sts)
                    ),
                    if spec.kind == ListKind::Voters {
                        format!(
                            "remove `{}` (or scale {} to {} replicas and list all of them)",
                            m.text,
                            sts.key.name,
                            ord + 1
                        )
                    } else {
                        format!("name an existing pod, e.g. `{}`", fix(sts, 0))
                    },
                );
                Resolved::Done
            };
            if let Some(e) = lookup::find(&hns, &service, Some(&pod), c, is_member) {
                // the object being checked, not another document with the same name
                let sts = if e.sts.key == object.key {
                    object
                } else {
                    &e.sts
                };
                // the pod prefix names another StatefulSet of that namespace: its Service is wrong
                let named = prefix
                    .filter(|(n, _)| *n != sts.key.name)
                    .and_then(|(n, _)| c.statefulset(&hns, n))
                    .filter(|o| is_member(o));
                match prefix {
                    Some((name, ord)) if name == sts.key.name && service_name(sts) == service => {
                        pod_of(sts, ord)
                    }
                    _ if named.is_some() => {
                        let other = named.unwrap_or_else(|| sts.clone());
                        report(
                            format!(
                                "member `{}` does not resolve: pod DNS names of {} exist only under its serviceName `{}`, not `{service}`",
                                m.text,
                                other.key.name,
                                service_name(&other)
                            ),
                            format!(
                                "write `{}`",
                                fix(&other, prefix.map_or(0, |(_, o)| o as i64))
                            ),
                        );
                        Resolved::Done
                    }
                    _ => {
                        report(
                            format!(
                                "member `{}` does not resolve: pod DNS names under Service {service} are those of {what} StatefulSet {} ({})",
                                m.text,
                                sts.key.name,
                                pod_range(sts)
                            ),
                            format!("write `{}`", fix(sts, prefix.map_or(0, |(_, o)| o as i64))),
                        );
                        Resolved::Done
                    }
                }
            } else {
                // not in the namespace the host names: somewhere else, or this StatefulSet
                let mut elsewhere = lookup::find_anywhere(&service, Some(&pod), c, is_member);
                elsewhere.sort_by_key(|e| e.sts.key.namespace != ns);
                let own = prefix.is_some_and(|(n, _)| n == object.key.name)
                    || service == service_name(object);
                let target: Option<Arc<Object>> = elsewhere
                    .iter()
                    .map(|e: &Ensemble| e.sts.clone())
                    .find(|s| prefix.is_some_and(|(n, _)| n == s.key.name))
                    .or_else(|| own.then(|| object.clone()));
                let target = target.map(|t| {
                    if t.key == object.key {
                        object.clone()
                    } else {
                        t
                    }
                });
                match target {
                    // written without a namespace: it runs wherever it is applied (`kubectl -n`,
                    // `helm -n`), which may well be the one the member names
                    Some(sts)
                        if sts.key.namespace != hns
                            && !namespace_written(&sts)
                            && prefix.is_some_and(|(n, _)| n == sts.key.name)
                            && service_name(&sts) == service =>
                    {
                        return pod_of(&sts, prefix.map_or(0, |(_, o)| o));
                    }
                    Some(sts) => {
                        let ord = prefix.map_or(0, |(_, o)| o as i64);
                        let why = if sts.key.namespace != hns {
                            format!(
                                "it names namespace `{hns}`, and {what} StatefulSet {} runs in `{}`",
                                sts.key.name, sts.key.namespace
                            )
                        } else {
                            format!(
                                "pod DNS names of {} exist only under its serviceName `{}`, not `{service}`",
                                sts.key.name,
                                service_name(&sts)
                            )
                        };
                        let n = sts.replicas() as i64;
                        if ord < n {
                            report(
                                format!("member `{}` does not resolve: {why}", m.text),
                                format!("write `{}`", fix(&sts, ord)),
                            );
                        } else {
                            report(
                                format!(
                                    "member `{}` does not resolve: {why}, where it has {} ({})",
                                    m.text,
                                    plural(n, "replica"),
                                    pod_range(&sts)
                                ),
                                format!(
                                    "remove it, or name a pod that exists, e.g. `{}`",
                                    fix(&sts, 0)
                                ),
                            );
                        }
                    }
                    None => {
                        problems.push((
                            format!(
                                "member `{}` names Service `{service}` in namespace `{hns}`, and no {what} StatefulSet of that Service is known, so it cannot be verified",
                                m.text
                            ),
                            "check the ensemble's manifests in the same run or pass them with `--context DIR`".to_string(),
                            Severity::Warning,
                        ));
                        return Resolved::Done;
                    }
                }
                Resolved::Done
            }
        }
        Target::Service { service, ns: hns } => {
            let found = lookup::find(&hns, &service, None, c, is_member);
            match (spec.kind, found) {
                (ListKind::Seeds, Some(e)) => match e.service {
                    Some(_) => Resolved::Service,
                    None => Resolved::Done,
                },
                (ListKind::Voters | ListKind::Count, Some(e)) => {
                    let n = e.sts.replicas() as i64;
                    report(
                        format!(
                            "member `{}` is Service {service}, which stands for any of the {} pods of {}; a voter list names each voter pod",
                            m.text, n, e.sts.key.name
                        ),
                        format!("name one pod per entry, e.g. `{}`", fix(&e.sts, 0)),
                    );
                    Resolved::Done
                }
                (_, None) => {
                    let mut elsewhere = lookup::find_anywhere(&service, None, c, is_member);
                    elsewhere.sort_by_key(|e| e.sts.key.namespace != ns);
                    match elsewhere.first() {
                        Some(e) => {
                            report(
                                format!(
                                    "member `{}` names namespace `{hns}`, and the {what} StatefulSet {} of Service {service} runs in `{}`",
                                    m.text, e.sts.key.name, e.sts.key.namespace
                                ),
                                format!(
                                    "write `{}`",
                                    m.text.replacen(
                                        &m.host.host,
                                        &format!("{service}.{}.svc.{domain}", e.sts.key.namespace),
                                        1
                                    )
                                ),
                            );
                        }
                        None if spec.kind == ListKind::Voters
                            || hns == ns && service_name(object) == service =>
                        {
                            report(
                                format!(
                                    "member `{}` names no pod: there is no {what} StatefulSet or Service `{service}` in namespace `{hns}`",
                                    m.text
                                ),
                                format!(
                                    "name the pods of {}: `{}`",
                                    object.key.name,
                                    render(spec.format, m, object, 0, m.id, ns, domain)
                                ),
                            );
                        }
                        None => {}
                    }
                    Resolved::Done
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::rules::util::testing::lint;

    fn zk(replicas: u32, env: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: zk, namespace: data}}
spec:
  serviceName: zk-hs
  replicas: {replicas}
  selector: {{matchLabels: {{app: zk}}}}
  template:
    metadata: {{labels: {{app: zk}}}}
    spec:
      containers:
      - name: zookeeper
        image: bitnami/zookeeper:3.9
        env:
        - {{name: ZOO_SERVERS, value: \"{env}\"}}
---
apiVersion: v1
kind: Service
metadata: {{name: zk-hs, namespace: data}}
spec: {{clusterIP: None, selector: {{app: zk}}}}
"
        )
    }

    /// Each finding as `message | help`.
    pub(super) fn messages(yaml: &str) -> Vec<String> {
        lint(&EnsembleMembers, yaml, &Config::default())
            .into_iter()
            .map(|f| format!("{} | {}", f.message, f.help))
            .collect()
    }

    const FQ: &str = ".zk-hs.data.svc.cluster.local:2888:3888";

    #[test]
    fn etcd_config_file_replaces_flags_and_env() {
        // the config file is on an emptyDir (not readable): the wrong flag and env are
        // ignored by etcd, so nothing is reported
        let yaml = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: etcd, namespace: kv}
spec:
  serviceName: etcd
  replicas: 3
  selector: {matchLabels: {app: etcd}}
  template:
    metadata: {labels: {app: etcd}}
    spec:
      containers:
      - name: etcd
        image: quay.io/coreos/etcd:v3.5.16
        command: [etcd, --config-file, /cfg/etcd.yml, --initial-cluster, etcd-7=http://etcd-7.etcd:2380]
        env:
        - {name: ETCD_NAME, value: nobody}
        volumeMounts: [{name: cfg, mountPath: /cfg}]
      volumes: [{name: cfg, emptyDir: {}}]
";
        assert!(messages(yaml).is_empty(), "{:?}", messages(yaml));
        let without = yaml.replace("--config-file, /cfg/etcd.yml, ", "");
        assert_eq!(messages(&without).len(), 2, "{:?}", messages(&without));
    }

    #[test]
    fn right_lists_pass() {
        let v = format!("zk-0{FQ}::1 zk-1{FQ}::2 zk-2{FQ}::3");
        assert!(
            messages(&zk(3, &v)).is_empty(),
            "{:?}",
            messages(&zk(3, &v))
        );
        let v = "zk-0.zk-hs:2888:3888,zk-1.zk-hs:2888:3888,zk-2.zk-hs:2888:3888";
        assert!(messages(&zk(3, v)).is_empty(), "{:?}", messages(&zk(3, v)));
    }

    /// Bitnami's Consul chart: 3 servers, CONSUL_BOOTSTRAP_EXPECT and CONSUL_RETRY_JOIN.
    fn bitnami_consul(expect: &str, join: &str) -> String {
        format!(
            "apiVersion: v1
kind: Service
metadata: {{name: consul-hs, namespace: data}}
spec: {{clusterIP: None, selector: {{app: consul}}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: consul, namespace: data}}
spec:
  serviceName: consul-hs
  replicas: 3
  selector: {{matchLabels: {{app: consul}}}}
  template:
    metadata: {{labels: {{app: consul}}}}
    spec:
      containers:
      - name: consul
        image: bitnami/consul:1.21
        env:
        - {{name: CONSUL_RETRY_JOIN, value: '{join}'}}
        - {{name: CONSUL_BOOTSTRAP_EXPECT, value: '{expect}'}}
"
        )
    }

    #[test]
    fn bitnami_consul_env() {
        let join = "consul-hs.data.svc.cluster.local";
        assert_eq!(messages(&bitnami_consul("3", join)), Vec::<String>::new());
        let m = messages(&bitnami_consul("5", join));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("CONSUL_BOOTSTRAP_EXPECT says the ensemble has 5 servers"),
            "{m:?}"
        );
        let m = messages(&bitnami_consul("3", "consul-hs.prod.svc.cluster.local"));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("names namespace `prod`"), "{m:?}");
    }

    #[test]
    fn extra_missing_and_misplaced_members() {
        let v = format!("zk-0{FQ}::1 zk-1{FQ}::2 zk-2{FQ}::3 zk-3{FQ}::4");
        let m = messages(&zk(3, &v));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("names pod zk-3"), "{m:?}");
        let v = format!("zk-0{FQ}::1 zk-1{FQ}::2");
        let m = messages(&zk(3, &v));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("zk-2 is missing"), "{m:?}");
        assert!(m[0].contains(&format!("zk-2{FQ}::3")), "{m:?}");
        let v = "zk-0.zk-hs.prod.svc.cluster.local:2888:3888::1 zk-1.zk-hs.data.svc.cluster.local:2888:3888::2 zk-2.zk-hs.data.svc.cluster.local:2888:3888::3";
        let m = messages(&zk(3, v));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("runs in `data`"), "{m:?}");
        assert!(m[0].contains(&format!("write `zk-0{FQ}::1`")), "{m:?}");
        // ids that do not follow the ordinals
        let v = format!("zk-0{FQ}::1 zk-1{FQ}::3 zk-2{FQ}::2");
        let m = messages(&zk(3, &v));
        assert_eq!(m.len(), 2, "{m:?}");
    }
}

/// etcd's own member settings, read beside its `--initial-cluster`.
const ETCD_NAME: settings::Want<'static> = settings::Want {
    properties: &[],
    flags: &["--name"],
    env: &["ETCD_NAME"],
    files: &[],
    file_keys: &["name"],
    config_files: peer_lists::ETCD_CONFIG_FILE,
    ..settings::Want::NONE
};
const ETCD_ADVERTISE_PEER: settings::Want<'static> = settings::Want {
    properties: &[],
    flags: &["--initial-advertise-peer-urls"],
    env: &["ETCD_INITIAL_ADVERTISE_PEER_URLS"],
    files: &[],
    file_keys: &["initial-advertise-peer-urls"],
    config_files: peer_lists::ETCD_CONFIG_FILE,
    ..settings::Want::NONE
};

/// A setting's value in pod `pod`: `fieldRef: metadata.name` and, in a shell script,
/// `$HOSTNAME` are the pod's name. `None` when it depends on anything else statelint cannot
/// know.
fn value_in_pod(s: &Setting, c: &Container, ns: &str, pod: &str) -> Option<String> {
    let (env, _) =
        settings::container_env_of_pod(c.env.as_deref().unwrap_or_default(), ns, Some(pod));
    let v = match s.form {
        Form::ConfigMap => s.value.clone()?,
        Form::Env if s.config_map.is_some() => s.value.clone()?,
        Form::Env => match env.get(&s.key) {
            Some(EnvVal::Lit(v)) => v.clone(),
            _ => return None,
        },
        Form::Argv => settings::k8s_expand(&s.written, &env, ns)?,
        Form::Script => {
            let script = s.script.as_deref()?;
            if settings::sources_files(script) {
                return None;
            }
            let v = settings::k8s_expand(&s.written, &env, ns)?;
            let mut env = env;
            env.insert("HOSTNAME".to_string(), EnvVal::Lit(pod.to_string()));
            let vars = settings::script_vars(script, &env, ns);
            settings::shell_expand(&v, &vars, ns)?
        }
    };
    let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
    (!v.is_empty() && !v.contains('$') && !v.contains('`')).then_some(v)
}

/// The one value `found` settings have in pod `pod` (`None` when unknown or they disagree),
/// with the setting it comes from.
fn one_value<'a>(
    found: &'a [Setting],
    c: &Container,
    ns: &str,
    pod: &str,
) -> Option<(&'a Setting, String)> {
    let mut out: Option<(&Setting, String)> = None;
    for s in found {
        let v = value_in_pod(s, c, ns, pod)?;
        match &out {
            Some((_, prev)) if *prev != v => return None,
            Some(_) => {}
            None => out = Some((s, v)),
        }
    }
    out
}

/// A peer URL as etcd compares it: scheme, where the host resolves, port. `None` when it
/// cannot be told (an IP, a name outside the cluster, another cluster domain).
fn peer_url_key(
    url: &str,
    ns: &str,
    domain: &str,
    cx: &Ctx<'_>,
) -> Option<(String, Target, String)> {
    let (scheme, _) = url.split_once("://")?;
    let hp = url_host_port(url);
    let port = hp.port.clone()?;
    let host = hp.host.to_ascii_lowercase();
    let c = cx.companions;
    let target = resolve(&host, ns, domain, |n, pod, svc| {
        c.service(n, svc).is_some_and(|s| is_headless(&s))
            || split_ordinal(pod)
                .and_then(|(name, _)| c.statefulset(n, name))
                .is_some_and(|z| service_name(&z) == svc)
    });
    match target {
        Target::Pod { .. } | Target::Service { .. } => {
            Some((scheme.to_ascii_lowercase(), target, port))
        }
        _ => None,
    }
}

/// etcd checks at bootstrap that its `--name` is a member of `--initial-cluster` and that its
/// `--initial-advertise-peer-urls` are the URLs listed for that name. Evaluated for every pod
/// of the StatefulSet, with the pod's name where the settings use it.
fn check_etcd_self(
    object: &Arc<Object>,
    c: &Container,
    cptr: &str,
    spec: &PodSpec,
    cx: &Ctx<'_>,
    out: &mut Vec<Finding>,
) {
    let ns = object.key.namespace.as_str();
    let Some(list_spec) = LISTS
        .iter()
        .find(|l| l.system == System::Etcd && l.kind == ListKind::Voters)
    else {
        return;
    };
    // with `--config-file`, etcd reads its name and URLs from that file only
    let named = settings::names_config_file(c, list_spec.want.config_files);
    let lists = in_effect(
        System::Etcd,
        settings::read(c, cptr, spec, ns, cx.companions, &list_spec.want),
        named,
    );
    let config_file = named || lists.iter().any(|s| s.form == Form::ConfigMap);
    let only_file = |found: Vec<Setting>| -> Vec<Setting> {
        found
            .into_iter()
            .filter(|s| !config_file || s.form == Form::ConfigMap)
            .collect()
    };
    let mut names = only_file(settings::read(c, cptr, spec, ns, cx.companions, &ETCD_NAME));
    // `ETCD_NAME` straight from `fieldRef: metadata.name` (the reader keeps only `value`s)
    for (i, e) in c.env.iter().flatten().enumerate().filter(|_| !config_file) {
        let field = e
            .value_from
            .as_ref()
            .and_then(|f| f.field_ref.as_ref())
            .map(|f| f.field_path.as_str());
        if e.name == "ETCD_NAME" && e.value.is_none() && field == Some("metadata.name") {
            names.push(Setting {
                key: e.name.clone(),
                form: Form::Env,
                pointer: format!("{cptr}/env/{i}/valueFrom/fieldRef/fieldPath"),
                config_map: None,
                source: "env ETCD_NAME".to_string(),
                container: c.name.clone(),
                written: "metadata.name".to_string(),
                value: None,
                script: None,
                structured: None,
                needles: Vec::new(),
            });
        }
    }
    let adverts = only_file(settings::read(
        c,
        cptr,
        spec,
        ns,
        cx.companions,
        &ETCD_ADVERTISE_PEER,
    ));
    if lists.is_empty() || names.is_empty() && adverts.is_empty() {
        return;
    }
    let replicas = object.replicas().max(0);
    let domain = cluster_domain(cx);
    let sts = object.key.name.as_str();
    let finding = |s: &Setting, needle: &str, msg: String| {
        let f = Finding::new(&META, object, s.pointer.clone(), msg);
        let f = match &s.config_map {
            Some(cm) => f.at(cm, s.pointer.clone()),
            None => f,
        };
        f.needle(needle.to_string())
    };
    // name not in the list (a literal, or derived otherwise than as the pod name): pods
    let mut unlisted: Vec<(String, String)> = Vec::new();
    let mut unlisted_at: Option<&Setting> = None;
    // pod-name members listed under another name: (list setting, entry, pod)
    let mut renamed: Vec<(&Setting, String, String)> = Vec::new();
    // advertise URLs that differ from the list's: (pod, advertised, listed)
    let mut differ: Vec<(String, String, String)> = Vec::new();
    let mut differ_at: Option<&Setting> = None;
    let mut list_at: Option<&Setting> = None;
    // pod-name members whose entry names another pod's URL: (list setting, entry, pod, other)
    let mut misplaced: Vec<(&Setting, String, String, String)> = Vec::new();
    for i in 0..replicas {
        let pod = format!("{sts}-{i}");
        let Some((ls, list)) = one_value(&lists, c, ns, &pod) else {
            return;
        };
        list_at = Some(ls);
        let members = peer_lists::parse(Format::EtcdInitialCluster, &ls.key, &list);
        if members
            .iter()
            .any(|m| m.name.as_deref().is_none_or(str::is_empty))
        {
            return;
        }
        let name = one_value(&names, c, ns, &pod);
        let Some((ns_setting, name)) = name else {
            continue;
        };
        let entries: Vec<&Member> = members
            .iter()
            .filter(|m| m.name.as_deref() == Some(name.as_str()))
            .collect();
        if entries.is_empty() {
            if name == pod {
                // the list has this pod's URL under another name; a pod missing from the list
                // altogether is check_list's finding
                let own = members.iter().find(|m| {
                    peer_url_key(&m.host.text, ns, domain, cx)
                        .is_some_and(|(_, t, _)| t == Target::pod(&pod, service_name(object), ns))
                });
                if let Some(m) = own {
                    renamed.push((ls, m.text.clone(), pod.clone()));
                }
            } else {
                unlisted.push((pod.clone(), name.clone()));
                unlisted_at = Some(ns_setting);
            }
            continue;
        }
        if name == pod {
            let other = entries.iter().find_map(|m| {
                let url = m.text.split_once('=').map_or(m.text.as_str(), |(_, u)| u);
                match peer_url_key(url.trim(), ns, domain, cx) {
                    Some((
                        _,
                        Target::Pod {
                            pod: p,
                            service,
                            ns: n,
                        },
                        _,
                    )) if p != pod
                        && n == ns
                        && service == service_name(object)
                        && split_ordinal(&p).is_some_and(|(b, _)| b == sts) =>
                    {
                        Some((m.text.clone(), p))
                    }
                    _ => None,
                }
            });
            if let Some((entry, p)) = other {
                // a URL listed twice is check_list's finding (and it names the missing pod)
                let twice = members
                    .iter()
                    .filter(|m| {
                        let url = m.text.split_once('=').map_or(m.text.as_str(), |(_, u)| u);
                        peer_url_key(url.trim(), ns, domain, cx)
                            .is_some_and(|(_, t, _)| t == Target::pod(&p, service_name(object), ns))
                    })
                    .count()
                    > 1;
                if !twice {
                    misplaced.push((ls, entry, pod.clone(), p));
                }
                continue;
            }
        }
        let Some((as_setting, advertised)) = one_value(&adverts, c, ns, &pod) else {
            continue;
        };
        let mut adv: Vec<_> = Vec::new();
        for u in advertised
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            match peer_url_key(u, ns, domain, cx) {
                Some(k) => adv.push(k),
                None => {
                    adv.clear();
                    break;
                }
            }
        }
        let mut listed: Vec<_> = Vec::new();
        for m in &entries {
            let url = m.text.split_once('=').map_or(m.text.as_str(), |(_, u)| u);
            match peer_url_key(url.trim(), ns, domain, cx) {
                Some(k) => listed.push(k),
                None => {
                    listed.clear();
                    break;
                }
            }
        }
        if adv.is_empty() || listed.is_empty() {
            continue;
        }
        let same = adv.iter().all(|a| listed.contains(a)) && listed.iter().all(|l| adv.contains(l));
        if !same {
            let listed_text: Vec<String> = entries.iter().map(|m| m.text.clone()).collect();
            differ.push((pod.clone(), advertised.clone(), listed_text.join(",")));
            differ_at = Some(as_setting);
        }
    }
    let Some(ls) = list_at else { return };
    let intro = format!("StatefulSet {sts} (container {})", c.name);
    if let Some(s) = unlisted_at {
        let (pod, name) = &unlisted[0];
        let names: BTreeSet<&str> = unlisted.iter().map(|(_, n)| n.as_str()).collect();
        let pods: Vec<String> = unlisted.iter().map(|(p, _)| p.clone()).collect();
        let what = if names.len() == 1 {
            format!("`{name}`")
        } else {
            format!("`{name}` in pod {pod}")
        };
        out.push(
            finding(
                s,
                &s.written,
                format!(
                    "{intro} sets {} to {what}, but {} names no member {what}: etcd refuses to start {} (\"couldn't find local name in the initial cluster configuration\")",
                    s.source, ls.source, join_and(&pods)
                ),
            )
            .help(format!(
                "set {} to the pod's name (`$(POD_NAME)` from fieldRef metadata.name), which {} lists, or list `{name}` there",
                s.source, ls.source
            )),
        );
    }
    for (s, entry, pod) in renamed {
        let url = entry.split_once('=').map_or(entry.as_str(), |(_, u)| u);
        out.push(
            finding(
                s,
                &entry,
                format!(
                    "{intro} sets {} to `{pod}` in pod {pod} (its pod name), but {} lists that pod's URL as `{entry}`, under another name: etcd refuses to start {pod}",
                    names.first().map_or("`--name`", |n| n.source.as_str()),
                    s.source
                ),
            )
            .help(format!("name the member as the pod: `{pod}={url}`")),
        );
    }
    for (s, entry, pod, other) in misplaced {
        let url = entry.split_once('=').map_or(entry.as_str(), |(_, u)| u);
        let fixed = url.replacen(&other, &pod, 1);
        out.push(
            finding(
                s,
                &entry,
                format!(
                    "{intro} runs pod {pod} as member `{pod}`, but {} gives `{pod}` the URL of pod {other} (`{entry}`): peers would reach {other} for {pod}",
                    s.source
                ),
            )
            .help(format!("give each member its own pod's URL: `{pod}={fixed}`")),
        );
    }
    if let Some(s) = differ_at {
        let (pod, advertised, listed) = &differ[0];
        let pods: Vec<String> = differ.iter().map(|(p, _, _)| p.clone()).collect();
        out.push(
            finding(
                s,
                &s.written,
                format!(
                    "{intro} sets {} so that pod {pod} advertises `{advertised}`, but {} lists `{listed}` for it: etcd refuses to bootstrap {} (\"--initial-cluster has ... but missing from --initial-advertise-peer-urls\")",
                    s.source, ls.source, join_and(&pods)
                ),
            )
            .help(format!(
                "advertise the URL the list gives each member (scheme, host and port): for {pod}, `{}`",
                listed.split_once('=').map_or(listed.as_str(), |(_, u)| u)
            )),
        );
    }
}

#[cfg(test)]
mod etcd_self_tests {
    use super::tests::messages;

    /// An etcd StatefulSet of 3 whose container runs `script` with `MY_POD_NAME` from the pod.
    fn etcd(script: &str, extra_env: &str) -> String {
        format!(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: etcd, namespace: data}}
spec:
  serviceName: etcd-hs
  replicas: 3
  selector: {{matchLabels: {{app: etcd}}}}
  template:
    metadata: {{labels: {{app: etcd}}}}
    spec:
      containers:
      - name: etcd
        image: quay.io/coreos/etcd:v3.5.17
        command: [/bin/sh, -c, '{script}']
        env:
        - name: MY_POD_NAME
          valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
{extra_env}
---
apiVersion: v1
kind: Service
metadata: {{name: etcd-hs, namespace: data}}
spec: {{clusterIP: None, selector: {{app: etcd}}}}
"
        )
    }

    const LIST: &str = "etcd-0=http://etcd-0.etcd-hs:2380,etcd-1=http://etcd-1.etcd-hs:2380,etcd-2=http://etcd-2.etcd-hs:2380";

    #[test]
    fn script_with_hostname_passes_and_wrong_port_fails() {
        let ok = format!(
            "exec etcd --name ${{HOSTNAME}} --initial-advertise-peer-urls http://${{HOSTNAME}}.etcd-hs.data.svc.cluster.local:2380 --initial-cluster {LIST}"
        );
        assert!(
            messages(&etcd(&ok, "")).is_empty(),
            "{:?}",
            messages(&etcd(&ok, ""))
        );
        let bad = ok.replace("cluster.local:2380", "cluster.local:2390");
        let m = messages(&etcd(&bad, ""));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("advertises `http://etcd-0.etcd-hs.data.svc.cluster.local:2390`"),
            "{m:?}"
        );
        let bad = ok.replace("http://${HOSTNAME}", "https://${HOSTNAME}");
        assert_eq!(messages(&etcd(&bad, "")).len(), 1);
    }

    #[test]
    fn entries_under_another_name_or_with_another_pods_url() {
        let list = LIST.replace("etcd-1=", "member1=");
        let s = format!("exec etcd --name $(MY_POD_NAME) --initial-cluster {list}");
        let m = messages(&etcd(&s, ""));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("`member1=http://etcd-1.etcd-hs:2380`, under another name"),
            "{m:?}"
        );
        assert!(
            m[0].contains("`etcd-1=http://etcd-1.etcd-hs:2380`"),
            "{m:?}"
        );
        let list = LIST.replace("etcd-1=http://etcd-1", "etcd-1=http://etcd-2");
        let s = format!("exec etcd --name $(MY_POD_NAME) --initial-cluster {list}");
        let m = messages(&etcd(&s, ""));
        // a URL listed twice is check_list's finding
        assert!(
            !m.iter().any(|m| m.contains("gives `etcd-1` the URL")),
            "{m:?}"
        );
        let list = LIST
            .replace("etcd-1=http://etcd-1", "etcd-1=http://etcd-X")
            .replace("etcd-2=http://etcd-2", "etcd-2=http://etcd-1")
            .replace("etcd-X", "etcd-2");
        let s = format!("exec etcd --name $(MY_POD_NAME) --initial-cluster {list}");
        let m = messages(&etcd(&s, ""));
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].contains("gives `etcd-1` the URL of pod etcd-2"),
            "{m:?}"
        );
        assert!(
            m[1].contains("`etcd-2=http://etcd-2.etcd-hs:2380`"),
            "{m:?}"
        );
    }

    #[test]
    fn unknown_values_are_skipped() {
        // the name from a Secret, a literal that is listed, an advertise URL by IP
        let s = format!("exec etcd --name $(NAME) --initial-cluster {LIST}");
        let env = "        - name: NAME\n          valueFrom: {secretKeyRef: {name: s, key: k}}";
        assert!(messages(&etcd(&s, env)).is_empty());
        let s = format!("exec etcd --name etcd-1 --initial-cluster {LIST}");
        assert!(messages(&etcd(&s, "")).is_empty());
        let s = format!(
            "exec etcd --name ${{HOSTNAME}} --initial-advertise-peer-urls http://${{POD_IP}}:2380 --initial-cluster {LIST}"
        );
        assert!(messages(&etcd(&s, "")).is_empty());
        // ETCD_NAME straight from the pod name
        let s = format!(
            "exec etcd --initial-advertise-peer-urls http://${{HOSTNAME}}.etcd-hs:2379 --initial-cluster {LIST}"
        );
        let env = "        - name: ETCD_NAME\n          valueFrom: {fieldRef: {fieldPath: metadata.name}}";
        let m = messages(&etcd(&s, env));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].contains("advertises `http://etcd-0.etcd-hs:2379`"),
            "{m:?}"
        );
        let s = format!("exec etcd --name other --initial-cluster {LIST}");
        let m = messages(&etcd(&s, ""));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("names no member `other`"), "{m:?}");
    }
}
