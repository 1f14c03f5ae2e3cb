//! `statelint audit`: the rules over the objects of a running cluster (the `cluster` cargo
//! feature).
//!
//! Design: list, then check exactly as `check` does. Each kind the enabled rules read (their
//! [`Rule::reads`](crate::rules::Rule::reads), plus ConfigMaps, which role inference reads, plus
//! the StatefulSets themselves) is listed in pages (`limit`/`continue`), turned into the same
//! [`Object`]s that `check` builds from files (with no [`Origin`](crate::object::Origin): a
//! cluster object has no file position) and indexed in the same [`Catalog`], so the engine, the
//! [`Companions`](crate::catalog::Companions) answers and the findings are those of `check` on
//! the same objects. Reports name objects `namespace/name` with a `kubectl get` command instead
//! of a file position.
//!
//! - `--namespace NS` lists that namespace only (a namespaced Role is enough); an ensemble that
//!   runs in another namespace is then unverified, as in `check` without `--context`.
//! - `--selector` narrows the StatefulSets reported (listed with `labelSelector`, as kubectl
//!   does); every StatefulSet is still listed as a companion (a ZooKeeper ensemble for Kafka).
//! - A kind the API server refuses (403) or does not serve (404) is reported once; the rules
//!   that read it are not run (their findings would be guesses), everything else is audited.
//! - Objects are kept lean: `managedFields`, `status` and the last-applied annotation are
//!   dropped, ConfigMaps keep only the files the rules read (as the webhook's caches do).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use crate::catalog::{Catalog, Kind};
use crate::config::Config;
use crate::object::{Object, ObjectKey};
use crate::rules::{self, Outcome, RuleMeta};
use crate::source::InputError;

/// One API resource audit may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, as in the URL and in RBAC rules.
    pub plural: &'static str,
    pub kind: &'static str,
    /// The companion kind rules declare for it.
    pub companion: Kind,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The list URL path, in one namespace or across all.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.plural),
            None => format!("{base}/{}", self.plural),
        }
    }

    /// `kubectl get` name: `statefulsets.apps`, `services`.
    pub fn kubectl_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Everything audit can list. StatefulSets come first: they are what is reported.
pub const RESOURCES: &[Resource] = &[
    Resource {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        kind: "StatefulSet",
        companion: Kind::StatefulSet,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "services",
        kind: "Service",
        companion: Kind::Service,
    },
    Resource {
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
        kind: "PodDisruptionBudget",
        companion: Kind::PodDisruptionBudget,
    },
    Resource {
        group: "",
        version: "v1",
        plural: "configmaps",
        kind: "ConfigMap",
        companion: Kind::ConfigMap,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        kind: "Deployment",
        companion: Kind::Workload,
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        kind: "DaemonSet",
        companion: Kind::Workload,
    },
    Resource {
        group: "batch",
        version: "v1",
        plural: "jobs",
        kind: "Job",
        companion: Kind::Workload,
    },
    Resource {
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        kind: "CronJob",
        companion: Kind::Workload,
    },
];

/// The resource of an object's kind, if audit lists it.
pub fn resource_of(kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// The resources to list for the rules `config` enables: StatefulSets (reported), ConfigMaps
/// (role inference reads mounted config), and every kind an enabled rule reads.
pub fn resources_for(config: &Config) -> Vec<&'static Resource> {
    let reads: Vec<Kind> = rules::all()
        .iter()
        .filter(|r| config.is_enabled(r.meta().code))
        .flat_map(|r| r.reads().iter().copied())
        .collect();
    RESOURCES
        .iter()
        .filter(|res| {
            matches!(res.companion, Kind::StatefulSet | Kind::ConfigMap)
                || reads.iter().any(|k| k.covers(res.companion))
        })
        .collect()
}

/// What to audit.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// One namespace, or every namespace (`None`).
    pub namespace: Option<String>,
    /// Label selector for the StatefulSets reported (kubectl syntax, passed to the API server).
    pub selector: Option<String>,
    pub config: Config,
    /// Objects per list page.
    pub page_size: u32,
    /// Print a progress line on stderr.
    pub progress: bool,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            namespace: None,
            selector: None,
            config: Config::default(),
            page_size: 500,
            progress: false,
        }
    }
}

/// A kind that could not be listed (403, 404): the rules that read it did not run.
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub resource: &'static Resource,
    /// HTTP status code.
    pub code: u16,
    pub message: String,
    /// The rules not run because they read this kind.
    pub rules_skipped: Vec<&'static RuleMeta>,
}

impl Unavailable {
    /// One line for stderr.
    pub fn describe(&self, namespace: Option<&str>) -> String {
        let what = if self.code == 403 {
            "forbidden (403)"
        } else {
            "not served by this API server (404)"
        };
        let scope = namespace.map_or("in any namespace".to_string(), |n| {
            format!("in namespace {n}")
        });
        let skipped = if self.rules_skipped.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = self
                .rules_skipped
                .iter()
                .map(|m| format!("{} {}", m.code, m.slug))
                .collect();
            format!(
                "; not run, as they read {}: {}",
                self.resource.plural,
                names.join(", ")
            )
        };
        let roles = if self.resource.companion == Kind::ConfigMap {
            "; roles are inferred without mounted ConfigMaps"
        } else {
            ""
        };
        format!(
            "cannot list {} {scope}: {what}: {}{skipped}{roles}",
            self.resource.kubectl_name(),
            self.message
        )
    }
}

/// The result of an audit: the same parts as a [`crate::CheckRun`], from a cluster.
pub struct AuditRun {
    /// The objects checked (in the audited namespaces; with a selector, the StatefulSets it
    /// selects), sorted by kind, namespace and name.
    pub objects: Vec<Arc<Object>>,
    pub outcome: Outcome,
    /// The rules that ran.
    pub rules: Vec<&'static RuleMeta>,
    /// Kinds that could not be listed.
    pub unavailable: Vec<Unavailable>,
    /// Listed objects that could not be read (reported like input errors).
    pub errors: Vec<InputError>,
    /// Objects listed, by resource plural.
    pub listed: BTreeMap<&'static str, usize>,
    /// Namespaces holding a checked object.
    pub namespaces: BTreeSet<String>,
    pub catalog: Catalog,
}

impl AuditRun {
    pub fn statefulsets(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| o.statefulset().is_some())
            .count()
    }

    /// The report of this run, as `check` makes it (formats name objects, not files).
    pub fn report(&self) -> crate::report::Report<'_> {
        static NO_SOURCES: std::sync::LazyLock<crate::source::Sources> =
            std::sync::LazyLock::new(Default::default);
        let mut r = crate::report::Report::new(
            &NO_SOURCES,
            &self.outcome,
            &self.errors,
            0,
            self.objects.len(),
            self.statefulsets(),
        );
        r.objects = &self.objects;
        r.rules = self.rules.clone();
        r.cluster = true;
        r.summary.namespaces = Some(self.namespaces.len());
        r
    }
}

/// Why audit stopped.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot list {what}: {source}")]
    List {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "cannot list statefulsets.apps {scope}: {message} (audit needs `list` on statefulsets; \
         see docs/audit.md for the ClusterRole)"
    )]
    NoStatefulSets { scope: String, message: String },
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    cont: Option<String>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<Value>,
}

/// Progress on stderr: one line, rewritten.
struct Progress {
    on: bool,
    listed: AtomicUsize,
    started: Instant,
    last: std::sync::Mutex<Instant>,
}

impl Progress {
    fn new(on: bool) -> Progress {
        Progress {
            on,
            listed: AtomicUsize::new(0),
            started: Instant::now(),
            last: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn add(&self, n: usize, what: &str) {
        let total = self.listed.fetch_add(n, Ordering::Relaxed) + n;
        if !self.on {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed().as_millis() < 100 {
            return;
        }
        *last = Instant::now();
        self.line(&format!(
            "statelint audit: {total} objects listed ({what}), {:.1}s",
            self.started.elapsed().as_secs_f64()
        ));
    }

    fn line(&self, text: &str) {
        if self.on {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[K{text}");
            let _ = e.flush();
        }
    }

    fn done(&self) {
        if self.on {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

/// Drop what no rule reads (managedFields, status, the last-applied annotation; ConfigMap files
/// no rule reads) and set the apiVersion and kind that list items leave out.
pub fn lean(v: &mut Value, res: &Resource) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    m.insert("apiVersion".into(), Value::from(res.api_version()));
    m.insert("kind".into(), Value::from(res.kind));
    m.remove("status");
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if res.companion == Kind::ConfigMap {
        m.remove("binaryData");
        if let Some(data) = m.get_mut("data").and_then(Value::as_object_mut) {
            data.retain(|key, val| {
                val.as_str()
                    .is_some_and(|s| crate::ensemble::config_file_matters(key, s))
            });
        }
    }
}

fn status_of(e: &kube::Error) -> Option<(u16, String)> {
    match e {
        kube::Error::Api(s) => Some((s.code, s.message.clone())),
        _ => None,
    }
}

/// List every object of `res` (all pages), each turned into a `T` by `convert` as its page
/// arrives (so only one page of raw JSON is held at a time). `Ok(Err(..))`: the kind is
/// unavailable (403/404).
async fn list<T>(
    client: &kube::Client,
    res: &'static Resource,
    namespace: Option<&str>,
    selector: Option<&str>,
    page_size: u32,
    progress: &Progress,
    convert: impl Fn(Value) -> T,
) -> Result<Result<Vec<T>, (u16, String)>, AuditError> {
    let path = res.path(namespace);
    let mut restarts = 0;
    'again: loop {
        let mut items = Vec::new();
        let mut cont: Option<String> = None;
        loop {
            let lp = kube::api::ListParams {
                label_selector: selector.map(String::from),
                limit: Some(page_size),
                continue_token: cont.take(),
                ..Default::default()
            };
            let req = kube::core::Request::new(&path)
                .list(&lp)
                .map_err(|e| AuditError::List {
                    what: res.kubectl_name(),
                    source: kube::Error::BuildRequest(e),
                })?;
            match client.request::<Page>(req).await {
                Ok(page) => {
                    progress.add(page.items.len(), res.plural);
                    items.extend(page.items.into_iter().map(&convert));
                    match page.metadata.cont.filter(|c| !c.is_empty()) {
                        Some(c) => cont = Some(c),
                        None => return Ok(Ok(items)),
                    }
                }
                Err(e) => match status_of(&e) {
                    Some((403 | 404, msg)) if items.is_empty() => {
                        let code = status_of(&e).map_or(0, |s| s.0);
                        return Ok(Err((code, msg)));
                    }
                    // the continue token expired (a list slower than its lifetime): start over
                    Some((410, _)) if restarts < 3 => {
                        restarts += 1;
                        continue 'again;
                    }
                    _ => {
                        return Err(AuditError::List {
                            what: format!("{} ({path})", res.kubectl_name()),
                            source: e,
                        });
                    }
                },
            }
        }
    }
}

/// Audit the cluster `client` talks to.
pub async fn audit(client: &kube::Client, opts: &AuditOptions) -> Result<AuditRun, AuditError> {
    let progress = Progress::new(opts.progress);
    let ns = opts.namespace.as_deref();
    let wanted = resources_for(&opts.config);
    let lists = futures::future::join_all(wanted.iter().map(|res| {
        list(client, res, ns, None, opts.page_size, &progress, |mut v| {
            lean(&mut v, res);
            to_object(v, res)
        })
    }));
    // with a selector, the StatefulSets to report are listed as the API server selects them
    let selected = async {
        match &opts.selector {
            Some(sel) => list(
                client,
                &RESOURCES[0],
                ns,
                Some(sel.as_str()),
                opts.page_size,
                &progress,
                |v| {
                    let m = &v["metadata"];
                    (
                        m["namespace"].as_str().unwrap_or("default").to_string(),
                        m["name"].as_str().unwrap_or_default().to_string(),
                    )
                },
            )
            .await
            .map(Some),
            None => Ok(None),
        }
    };
    let (lists, selected) = futures::join!(lists, selected);
    let scope = ns.map_or("in any namespace".to_string(), |n| {
        format!("in namespace {n}")
    });
    let mut unavailable = Vec::new();
    let mut config = opts.config.clone();
    let mut listed = BTreeMap::new();
    let mut errors = Vec::new();
    let mut all: Vec<Arc<Object>> = Vec::new();
    for (res, got) in wanted.iter().zip(lists) {
        match got? {
            Ok(items) => {
                listed.insert(res.plural, items.len());
                for o in items {
                    match o {
                        Ok(Some(o)) => all.push(o),
                        Ok(None) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err((code, message)) => {
                if res.companion == Kind::StatefulSet {
                    progress.done();
                    return Err(AuditError::NoStatefulSets { scope, message });
                }
                let skipped: Vec<&'static RuleMeta> = rules::all()
                    .iter()
                    .filter(|r| config.is_enabled(r.meta().code))
                    .filter(|r| r.reads().iter().any(|k| k.covers(res.companion)))
                    .map(|r| r.meta())
                    .collect();
                let codes: Vec<String> = skipped.iter().map(|m| m.code.to_string()).collect();
                config
                    .ignore(&codes, &rules::Registry)
                    .expect("registered rule codes");
                unavailable.push(Unavailable {
                    resource: res,
                    code,
                    message,
                    rules_skipped: skipped,
                });
            }
        }
    }
    let selected: Option<BTreeSet<(String, String)>> = match selected? {
        None => None,
        Some(Ok(items)) => Some(items.into_iter().collect()),
        Some(Err((_, message))) => {
            progress.done();
            return Err(AuditError::NoStatefulSets { scope, message });
        }
    };
    progress.line(&format!("statelint audit: checking {} objects", all.len()));
    // stable order: as sorted files would give
    all.sort_by(|a, b| a.key.cmp(&b.key));
    let objects: Vec<Arc<Object>> = all
        .iter()
        .filter(|o| match &selected {
            Some(set) => {
                o.statefulset().is_some()
                    && set.contains(&(o.key.namespace.clone(), o.key.name.clone()))
            }
            // what a folder of these manifests would check: the kinds rules report on
            None => matches!(
                o.key.kind.as_str(),
                "StatefulSet" | "Service" | "PodDisruptionBudget"
            ),
        })
        .cloned()
        .collect();
    let catalog = Catalog::new(all);
    let outcome = rules::run(&objects, &catalog, &config);
    let rules = rules::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| config.is_enabled(m.code))
        .collect();
    let namespaces = objects.iter().map(|o| o.key.namespace.clone()).collect();
    progress.done();
    Ok(AuditRun {
        objects,
        outcome,
        rules,
        unavailable,
        errors,
        listed,
        namespaces,
        catalog,
    })
}

fn to_object(v: Value, res: &Resource) -> Result<Option<Arc<Object>>, InputError> {
    let name = format!(
        "{} {}/{}",
        res.kind,
        v["metadata"]["namespace"].as_str().unwrap_or("default"),
        v["metadata"]["name"].as_str().unwrap_or_default()
    );
    match Object::from_value(v, None, "default") {
        Ok(o) => Ok(o.map(Arc::new)),
        Err(e) => Err(InputError {
            file: name,
            file_id: None,
            at: None,
            message: format!("{} (at {})", e.message, e.pointer),
        }),
    }
}

/// Fetch an object as the API server has it (for `--show-source`), lean as audit keeps it but
/// with every ConfigMap file.
pub async fn fetch(client: &kube::Client, key: &ObjectKey) -> Result<Value, kube::Error> {
    let Some(res) = resource_of(&key.kind) else {
        return Ok(Value::Null);
    };
    let req = kube::core::Request::new(res.path(Some(&key.namespace)))
        .get(&key.name, &Default::default())
        .map_err(kube::Error::BuildRequest)?;
    let mut v: Value = client.request(req).await?;
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                a.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        }
        m.insert("apiVersion".into(), Value::from(res.api_version()));
        m.insert("kind".into(), Value::from(res.kind));
    }
    Ok(v)
}

/// A client from `KUBECONFIG` (and `context`, when given) or the in-cluster service account.
pub async fn client(context: Option<&str>) -> anyhow::Result<kube::Client> {
    use anyhow::Context as _;
    let config = match context {
        Some(c) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
            context: Some(c.to_string()),
            ..Default::default()
        })
        .await
        .with_context(|| format!("cannot load kubeconfig context {c}"))?,
        None => kube::Config::infer().await.context(
            "no cluster configuration: set KUBECONFIG (or ~/.kube/config), or run in a pod with \
             a service account",
        )?,
    };
    kube::Client::try_from(config).context("cannot build a Kubernetes client")
}

/// The collection path of the reports of `api` in namespace `ns`.
pub fn report_path(api: crate::report::policyreport::Api, ns: &str) -> String {
    use crate::report::policyreport::Api;
    match api {
        Api::Openreports => format!("/apis/openreports.io/v1alpha1/namespaces/{ns}/reports"),
        Api::Wgpolicyk8s => {
            format!("/apis/wgpolicyk8s.io/v1alpha2/namespaces/{ns}/policyreports")
        }
    }
}

/// Write `reports` (the `List` of [`crate::report::policyreport::to_value`]) with server-side
/// apply, field manager `statelint` (forced: statelint owns these reports). Returns how many
/// were written; stops at the first error (a missing CRD is a 404, missing RBAC a 403).
pub async fn apply_reports(
    client: &kube::Client,
    reports: &Value,
    api: crate::report::policyreport::Api,
) -> Result<usize, kube::Error> {
    let params = kube::api::PatchParams::apply("statelint").force();
    let mut n = 0;
    for item in reports["items"].as_array().into_iter().flatten() {
        let ns = item["metadata"]["namespace"].as_str().unwrap_or("default");
        let name = item["metadata"]["name"].as_str().unwrap_or_default();
        let req = kube::core::Request::new(report_path(api, ns))
            .patch(name, &params, &kube::api::Patch::Apply(item))
            .map_err(kube::Error::BuildRequest)?;
        client.request::<Value>(req).await?;
        n += 1;
    }
    Ok(n)
}

/// One scheduled audit (`statelint serve --audit-interval`): audit every namespace with
/// `config` and write its reports. Returns the run (for logs) and the reports written.
pub async fn write_reports(
    client: &kube::Client,
    config: &Config,
    api: crate::report::policyreport::Api,
) -> anyhow::Result<(AuditRun, usize)> {
    let run = audit(
        client,
        &AuditOptions {
            config: config.clone(),
            ..Default::default()
        },
    )
    .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let reports = crate::report::policyreport::to_value(&run.report(), api, now);
    let n = apply_reports(client, &reports, api).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot write the {} reports (is the CRD installed, and may statelint patch them?): \
             {e}",
            match api {
                crate::report::policyreport::Api::Openreports => "openreports.io/v1alpha1",
                crate::report::policyreport::Api::Wgpolicyk8s => "wgpolicyk8s.io/v1alpha2",
            }
        )
    })?;
    Ok((run, n))
}

/// A duration as `90s`, `30m`, `1h`, `1h30m` (at least one second).
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let mut total = 0u64;
    let mut num = String::new();
    let bad = || format!("`{s}` is not a duration: write it as 90s, 30m, 1h or 1h30m");
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() || total == 0 {
        return Err(if total == 0 && num.is_empty() && !s.trim().is_empty() {
            format!("`{s}`: the interval must be at least 1s")
        } else {
            bad()
        });
    }
    Ok(std::time::Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_interval("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_interval("2d").unwrap().as_secs(), 172_800);
        for bad in ["", "10", "1x", "h", "0s", "-1m"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert!(parse_interval("0m").unwrap_err().contains("at least 1s"));
    }
}
