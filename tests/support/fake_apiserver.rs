//! fake_apiserver: a tiny Kubernetes API server on loopback (plain HTTP) that serves list
//! responses (with resourceVersion) and watch streams (`?watch=true`, newline-delimited JSON
//! WatchEvents) for services, poddisruptionbudgets, statefulsets, configmaps, deployments,
//! daemonsets, jobs and cronjobs, enough for kube-rs watchers and for `statelint audit`. Lists
//! can be held behind a gate (to observe "not synced yet"), a kind can answer 403, and objects
//! can be added or deleted while watches are open (events are kept and replayed from the
//! resourceVersion a watch asks for, so none is lost between a list and its watch).
//!
//! As the real API server: cluster-wide paths (`/apis/apps/v1/statefulsets`) and namespaced
//! ones (`/apis/apps/v1/namespaces/NS/statefulsets`, `.../statefulsets/NAME` for one object),
//! `limit` + `continue` paging (an opaque token; items in namespace/name order, without
//! `apiVersion`/`kind`), and `labelSelector` with `k=v`, `k==v`, `k!=v`, `k` and `!k` terms.
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

    /// Answer 403 for this kind.
    pub fn forbid(&self, kind: &str) {
        self.state.lock().unwrap().forbidden.insert(path_of(kind));
    }

    /// A kubeconfig file content that points kubectl-like clients (statelint audit) here.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             users:\n- name: fake\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n\
             \x20   user: fake\ncurrent-context: fake\n",
            self.addr
        )
    }

    /// Requests so far whose path ends with `suffix` (`/statefulsets`), path?query.
    pub fn requests_for(&self, suffix: &str) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.split('?').next().unwrap_or("").ends_with(suffix))
            .cloned()
            .collect()
    }

    /// A client for this server.
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        kube::Client::try_from(config).unwrap()
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

fn broadcast(k: &mut Kind, rv: u64, ev: Value) {
    k.events.push((rv, ev.clone()));
    k.watchers.retain(|w| w.send(ev.clone()).is_ok());
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())).boxed())
        .unwrap()
}

/// (cluster-wide list path of the kind, namespace, object name) of a request path.
fn route(path: &str) -> Option<(String, Option<String>, Option<String>)> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let base = match *segs.first()? {
        "api" => 2,
        "apis" => 3,
        _ => return None,
    };
    let prefix = segs.get(..base)?.join("/");
    let rest = &segs[base..];
    let (ns, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    match rest {
        [plural] => Some((format!("/{prefix}/{plural}"), ns, None)),
        [plural, name] if ns.is_some() => {
            Some((format!("/{prefix}/{plural}"), ns, Some(name.to_string())))
        }
        _ => None,
    }
}

/// Percent-decoding of a query value (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a label selector (equality terms and existence) selects object `o`.
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
    let Some((kind_path, ns, name)) = route(&path) else {
        return Ok(status(404, "NotFound", &format!("{path} not served")));
    };
    {
        let st = state.lock().unwrap();
        let Some(known) = st.kinds.keys().find(|k| **k == kind_path) else {
            return Ok(status(404, "NotFound", &format!("{path} not served")));
        };
        if st.forbidden.contains(known) {
            return Ok(status(
                403,
                "Forbidden",
                &format!("{path} is forbidden: User \"system:serviceaccount:x:y\" cannot list"),
            ));
        }
    }
    let _ = gate.wait_for(|open| *open).await;
    let watch = matches!(param(&query, "watch"), Some("true" | "1"));
    let mut st = state.lock().unwrap();
    let rv = st.rv;
    let k = st.kinds.get_mut(kind_path.as_str()).unwrap();
    if let Some(name) = name {
        let key = (ns.clone().unwrap_or_default(), name.clone());
        return Ok(match k.items.get(&key) {
            Some(o) => json_response(StatusCode::OK, o),
            None => status(404, "NotFound", &format!("{name} not found")),
        });
    }
    if !watch {
        let selector = param(&query, "labelSelector").map(decode);
        let matching = k.items.iter().filter(|((n, _), o)| {
            ns.as_ref().is_none_or(|want| want == n)
                && selector.as_deref().is_none_or(|s| selects(s, o))
        });
        // the continue token: the position after the last item sent
        let from: usize = param(&query, "continue")
            .and_then(|c| c.strip_prefix("after-"))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let limit: usize = param(&query, "limit")
            .and_then(|l| l.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let mut items: Vec<Value> = matching
            .skip(from)
            .take(limit.saturating_add(1))
            .map(|(_, o)| {
                let mut o = o.clone();
                // list items carry no apiVersion/kind, as from the real API server
                if let Some(m) = o.as_object_mut() {
                    m.remove("apiVersion");
                    m.remove("kind");
                }
                o
            })
            .collect();
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if items.len() > limit {
            items.truncate(limit);
            meta["continue"] = json!(format!("after-{}", from + limit));
        }
        return Ok(json_response(
            StatusCode::OK,
            &json!({"apiVersion": k.api_version, "kind": k.list_kind,
                "metadata": meta, "items": items}),
        ));
    }
    let from: u64 = param(&query, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(rv);
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
