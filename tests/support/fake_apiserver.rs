//! fake_apiserver: a tiny Kubernetes API server on loopback (plain HTTP) that serves list
//! responses (with resourceVersion) and watch streams (`?watch=true`, newline-delimited JSON
//! WatchEvents) for services, poddisruptionbudgets, statefulsets and configmaps (and lists of
//! deployments, daemonsets, jobs and cronjobs), enough for kube-rs watchers and
//! `statelint audit`. Lists can be held behind a gate (to observe "not synced yet"), a kind can
//! answer 403, and objects can be added or deleted while watches are open (events are kept
//! and replayed from the resourceVersion a watch asks for, so none is lost between a list and
//! its watch). It also answers a GET of one object (`/api/v1/namespaces/NS/services/NAME`, 404
//! when absent) and a list of one namespace, for the webhook's read-after-write check; an object
//! can be added quietly (in the store, no watch event yet: a watch that lags).
//!
//! Lists, cluster-wide or of one namespace, are paged (`limit` / `continue`) and filtered by
//! `labelSelector` (`k=v`, `k==v`, `k!=v`, `k`, `!k` terms).
//!
//! Faults, as a real API server shows them: after
//! [`expire`](FakeApiServer::expire) the open watches end and a watch from an older
//! resourceVersion gets `410 Gone` (the client must relist); [`drop_watches`] ends the open
//! watches only; [`set_down`] answers 503 to everything (an outage) until it is lifted; any
//! JSON can be stored as an object, so a malformed one is served like the others.
//!
//! The same server runs as a process for the benchmarks (examples/fake_apiserver.rs), with
//! `POST /fake/expire`, `/fake/drop-watches`, `/fake/down`, `/fake/up` to drive it.
//!
//! [`drop_watches`]: FakeApiServer::drop_watches
//! [`set_down`]: FakeApiServer::set_down
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;

type Body = BoxBody<Bytes, Infallible>;

#[derive(Default)]
struct Kind {
    history: bool,
    api_version: String,
    list_kind: String,
    items: BTreeMap<(String, String), Value>,
    /// (resourceVersion, event) history, for watches that start from an older version.
    events: Vec<(u64, Value)>,
    watchers: Vec<mpsc::UnboundedSender<Value>>,
}

struct State {
    rv: u64,
    kinds: HashMap<&'static str, Kind>,
    forbidden: HashSet<&'static str>,
    /// Watches from a resourceVersion at or below this get 410 Gone.
    compacted: u64,
    down: bool,
    /// PATCH requests (server-side apply of reports): path?query, Content-Type, body.
    patches: Vec<(String, String, Value)>,
}

pub struct FakeApiServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    gate: tokio::sync::watch::Sender<bool>,
    /// Paths requested so far (path?query).
    pub requests: Arc<Mutex<Vec<String>>>,
}

const KINDS: &[(&str, &str, &str, &str)] = &[
    ("/api/v1/services", "v1", "ServiceList", "Service"),
    (
        "/apis/policy/v1/poddisruptionbudgets",
        "policy/v1",
        "PodDisruptionBudgetList",
        "PodDisruptionBudget",
    ),
    (
        "/apis/apps/v1/statefulsets",
        "apps/v1",
        "StatefulSetList",
        "StatefulSet",
    ),
    ("/api/v1/configmaps", "v1", "ConfigMapList", "ConfigMap"),
    (
        "/apis/apps/v1/deployments",
        "apps/v1",
        "DeploymentList",
        "Deployment",
    ),
    (
        "/apis/apps/v1/daemonsets",
        "apps/v1",
        "DaemonSetList",
        "DaemonSet",
    ),
    ("/apis/batch/v1/jobs", "batch/v1", "JobList", "Job"),
    (
        "/apis/batch/v1/cronjobs",
        "batch/v1",
        "CronJobList",
        "CronJob",
    ),
];

fn path_of(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|k| k.3 == kind)
        .unwrap_or_else(|| panic!("fake_apiserver does not serve {kind}"))
        .0
}

impl FakeApiServer {
    /// Start with these objects; lists wait until [`open`](Self::open) when `gated`.
    pub async fn start(objects: &[Value], gated: bool) -> FakeApiServer {
        let mut kinds = HashMap::new();
        for (path, av, list, _) in KINDS {
            kinds.insert(
                *path,
                Kind {
                    history: true,
                    api_version: av.to_string(),
                    list_kind: list.to_string(),
                    ..Default::default()
                },
            );
        }
        let state = Arc::new(Mutex::new(State {
            rv: 100,
            kinds,
            forbidden: HashSet::new(),
            compacted: 0,
            down: false,
            patches: Vec::new(),
        }));
        let (gate, _) = tokio::sync::watch::channel(!gated);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let me = FakeApiServer {
            addr,
            state: state.clone(),
            gate: gate.clone(),
            requests: Arc::default(),
        };
        for o in objects {
            me.apply(o.clone());
        }
        let requests = me.requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (state, gate, requests) = (state.clone(), gate.clone(), requests.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        handle(req, state.clone(), gate.subscribe(), requests.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        me
    }

    /// Let lists through.
    pub fn open(&self) {
        let _ = self.gate.send(true);
    }

    /// Compact history: open watches end, and a watch from any resourceVersion seen so far gets
    /// 410 Gone, so clients relist.
    pub fn expire(&self) {
        expire(&mut self.state.lock().unwrap());
    }

    /// End the open watches (clients re-watch from their last resourceVersion).
    pub fn drop_watches(&self) {
        drop_watches(&mut self.state.lock().unwrap());
    }

    /// An outage: every request gets 503 and open watches end, until `set_down(false)`.
    pub fn set_down(&self, down: bool) {
        let mut st = self.state.lock().unwrap();
        st.down = down;
        if down {
            drop_watches(&mut st);
        }
    }

    /// Keep events for replay to watches that start from an older resourceVersion (the
    /// default). Benchmarks load 100k objects with it off, before any client connects.
    pub fn keep_history(&self, keep: bool) {
        let mut st = self.state.lock().unwrap();
        for k in st.kinds.values_mut() {
            k.history = keep;
            if !keep {
                k.events.clear();
            }
        }
    }

    /// Answer 403 for this kind.
    pub fn forbid(&self, kind: &str) {
        self.state.lock().unwrap().forbidden.insert(path_of(kind));
    }

    /// A client for this server, as `statelint serve` builds it.
    #[cfg(feature = "server")]
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        // configured as `statelint serve` configures its own
        statelint::webhook::cluster::client(config).unwrap()
    }

    /// A client for this server (a build without the webhook: kube's defaults).
    #[cfg(not(feature = "server"))]
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    /// A kubeconfig (file content) that points kubectl-like clients (`statelint audit`) here.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n\
             \x20   user: fake\ncurrent-context: fake\n",
            self.addr
        )
    }

    /// Requests so far whose path ends with `suffix` (`/statefulsets`), as path?query.
    pub fn requests_for(&self, suffix: &str) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.split('?').next().unwrap_or("").ends_with(suffix))
            .cloned()
            .collect()
    }

    /// Create or replace an object (ADDED / MODIFIED to open watches).
    pub fn apply(&self, mut obj: Value) {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        let rv = st.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = key_of(&obj);
        let k = st
            .kinds
            .get_mut(path_of(obj["kind"].as_str().unwrap()))
            .unwrap();
        let ty = if k.items.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        k.items.insert(key, obj.clone());
        broadcast(k, rv, json!({"type": ty, "object": obj}));
    }

    /// Create an object without telling open watches (a watch that has not caught up): a GET
    /// or a list finds it, the watch caches do not.
    pub fn apply_quietly(&self, mut obj: Value) {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        let k = st
            .kinds
            .get_mut(path_of(obj["kind"].as_str().unwrap()))
            .unwrap();
        k.items.insert(key_of(&obj), obj);
    }

    /// Answer 403 to every PATCH (no RBAC to write reports).
    pub fn forbid_patches(&self) {
        self.state.lock().unwrap().forbidden.insert("patch");
    }

    /// PATCH requests so far (path?query, Content-Type, body): what `statelint` applied.
    pub fn patches(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().patches.clone()
    }

    /// Requests for one namespace or one object (`/namespaces/` in the path): live reads.
    pub fn namespaced_requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.contains("/namespaces/"))
            .cloned()
            .collect()
    }

    /// Delete an object (DELETED to open watches).
    pub fn delete(&self, obj: &Value) {
        let mut st = self.state.lock().unwrap();
        st.rv += 1;
        let rv = st.rv;
        let k = st
            .kinds
            .get_mut(path_of(obj["kind"].as_str().unwrap()))
            .unwrap();
        if let Some(mut old) = k.items.remove(&key_of(obj)) {
            old["metadata"]["resourceVersion"] = json!(rv.to_string());
            broadcast(k, rv, json!({"type": "DELETED", "object": old}));
        }
    }
}

fn key_of(o: &Value) -> (String, String) {
    (
        o["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        o["metadata"]["name"].as_str().unwrap().to_string(),
    )
}

/// `/api/v1/namespaces/NS/services[/NAME]` -> (`/api/v1/services`, NS, NAME).
fn namespaced(path: &str) -> Option<(String, String, Option<String>)> {
    let (prefix, rest) = path.split_once("/namespaces/")?;
    let mut parts = rest.split('/');
    let ns = parts.next()?.to_string();
    let resource = parts.next()?;
    let name = parts.next().map(str::to_string);
    Some((format!("{prefix}/{resource}"), ns, name))
}

fn broadcast(k: &mut Kind, rv: u64, ev: Value) {
    if k.history {
        k.events.push((rv, ev.clone()));
    }
    k.watchers.retain(|w| w.send(ev.clone()).is_ok());
}

fn drop_watches(st: &mut State) {
    for k in st.kinds.values_mut() {
        k.watchers.clear();
    }
}

fn expire(st: &mut State) {
    st.rv += 1;
    st.compacted = st.rv;
    for k in st.kinds.values_mut() {
        k.events.clear();
    }
    drop_watches(st);
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())).boxed())
        .unwrap()
}

/// Percent-decoding of a query value (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a label selector (equality and existence terms) selects object `o`.
fn selects(selector: &str, o: &Value) -> bool {
    let labels = &o["metadata"]["labels"];
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|t| {
            if let Some((k, v)) = t.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                labels[k.trim()].as_str() == Some(v.trim())
            } else if let Some(k) = t.strip_prefix('!') {
                labels.get(k.trim()).is_none()
            } else {
                labels.get(t).is_some()
            }
        })
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    mut gate: tokio::sync::watch::Receiver<bool>,
    requests: Arc<Mutex<Vec<String>>>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    requests.lock().unwrap().push(format!("{path}?{query}"));
    let status = |code: u16, reason: &str, msg: &str| {
        json_response(
            StatusCode::from_u16(code).unwrap(),
            &json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                "message": msg, "reason": reason, "code": code}),
        )
    };
    if req.method() == hyper::Method::PATCH {
        // server-side apply (reports): recorded and answered with the object applied
        let ct = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = req.into_body().collect().await.map(|b| b.to_bytes());
        let body: Value = body
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let mut st = state.lock().unwrap();
        if st.forbidden.contains("patch") {
            return Ok(status(403, "Forbidden", &format!("{path}: cannot patch")));
        }
        st.patches
            .push((format!("{path}?{query}"), ct, body.clone()));
        return Ok(json_response(StatusCode::OK, &body));
    }
    if let Some(op) = path.strip_prefix("/fake/") {
        let mut st = state.lock().unwrap();
        match op {
            "expire" => expire(&mut st),
            "drop-watches" => drop_watches(&mut st),
            "down" => {
                st.down = true;
                drop_watches(&mut st);
            }
            "up" => st.down = false,
            _ => return Ok(status(404, "NotFound", &format!("{path} not served"))),
        }
        return Ok(json_response(StatusCode::OK, &json!({"rv": st.rv})));
    }
    // /api/v1/namespaces/NS/services[/NAME] -> (/api/v1/services, NS, NAME)
    let (path, scope) = match namespaced(&path) {
        Some((kind, ns, name)) => (kind, Some((ns, name))),
        None => (path, None),
    };
    {
        let st = state.lock().unwrap();
        if st.down {
            return Ok(status(
                503,
                "ServiceUnavailable",
                "the fake API server is down",
            ));
        }
        let Some(known) = st.kinds.keys().find(|k| **k == path) else {
            return Ok(status(404, "NotFound", &format!("{path} not served")));
        };
        if st.forbidden.contains(known) {
            return Ok(status(403, "Forbidden", &format!("{path} is forbidden")));
        }
    }
    let _ = gate.wait_for(|open| *open).await;
    let watch = matches!(param(&query, "watch"), Some("true" | "1"));
    let mut st = state.lock().unwrap();
    let rv = st.rv;
    let compacted = st.compacted;
    let k = st.kinds.get_mut(path.as_str()).unwrap();
    let mut only_ns = None;
    if let Some((ns, name)) = scope {
        assert!(!watch, "fake_apiserver watches all namespaces only");
        match name {
            Some(name) => {
                return Ok(match k.items.get(&(ns.clone(), name.clone())) {
                    Some(o) => json_response(StatusCode::OK, o),
                    None => status(404, "NotFound", &format!("{name} not found")),
                });
            }
            None => only_ns = Some(ns),
        }
    }
    if !watch {
        let selector = param(&query, "labelSelector").map(decode);
        // pages in key order: `continue` is the last key served, percent-free
        // ("namespace/name" in hex), so objects added meanwhile are served once
        let limit: usize = param(&query, "limit")
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(usize::MAX);
        let after: Option<(String, String)> = param(&query, "continue").map(|c| {
            let bytes: Vec<u8> = (0..c.len() / 2)
                .map(|i| u8::from_str_radix(&c[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let s = String::from_utf8(bytes).unwrap();
            let (ns, name) = s.split_once('/').unwrap();
            (ns.to_string(), name.to_string())
        });
        let range = match &after {
            Some(a) => k.items.range((
                std::ops::Bound::Excluded(a.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => k.items.range(..),
        };
        let mut items: Vec<&Value> = Vec::new();
        let mut last = None;
        let mut more = false;
        let range = range.filter(|((n, _), o)| {
            only_ns.as_ref().is_none_or(|want| want == n)
                && selector.as_deref().is_none_or(|s| selects(s, o))
        });
        for (key, v) in range {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(v);
            last = Some(key);
        }
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if more && let Some((ns, name)) = last {
            let token: String = format!("{ns}/{name}")
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect();
            meta["continue"] = json!(token);
        }
        let body = json!({"apiVersion": k.api_version, "kind": k.list_kind,
            "metadata": meta, "items": items});
        return Ok(json_response(StatusCode::OK, &body));
    }
    let from: u64 = param(&query, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(rv);
    if from < compacted {
        // as the API server does: a 200 watch whose only event is an ERROR 410
        let gone = json!({"type": "ERROR", "object": {"apiVersion": "v1", "kind": "Status",
            "metadata": {}, "status": "Failure", "reason": "Expired", "code": 410,
            "message": format!("too old resource version: {from} ({compacted})")}});
        let line = format!("{gone}\n");
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(line)).boxed())
            .unwrap());
    }
    let (tx, rx) = mpsc::unbounded_channel();
    for (r, ev) in &k.events {
        if *r > from {
            let _ = tx.send(ev.clone());
        }
    }
    k.watchers.push(tx);
    drop(st);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let ev = rx.recv().await?;
        let mut line = ev.to_string();
        line.push('\n');
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), rx))
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap())
}
