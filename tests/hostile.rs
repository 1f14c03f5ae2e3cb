//! Hostile input, end to end: every row is an input file and what `statelint check` must do with
//! it — an input error with a message and a position, or specific findings — with no panic and
//! no hang (each run has a timeout, so a hang fails the row instead of blocking the suite).
//! Every row runs the real binary twice: `--format json` (asserted) and the default human
//! format (exit code and no panic).
//!
//! Times and memory are not asserted; docs/limits.md has the measured numbers.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// Per-run timeout: generous for a debug build on a busy machine; a hang still fails.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A finding a row expects: code, message substring, (line, column) when pinned.
type Want = (&'static str, &'static str, Option<(u64, u64)>);

/// What a row expects.
enum Expect {
    /// Exit 2 with one input error whose message contains `msg`, at `at` (line, column) when
    /// given (`None`: the error has no position).
    InputError {
        msg: &'static str,
        at: Option<(u64, u64)>,
    },
    /// Exit 0: nothing to report.
    Clean,
    /// Exit 1, no input error, and these findings: (code, message substring, (line, column)).
    Findings(Vec<Want>),
    /// Exit 1 with no input error, and at most `max` findings of `code`, one containing `msg`.
    AtMost {
        code: &'static str,
        max: usize,
        msg: &'static str,
    },
}

/// How a row's input is made.
enum Input {
    Text(String),
    Bytes(Vec<u8>),
    /// A sparse file of this many bytes (never read if the size limit works).
    Sparse(u64),
}

struct Row {
    name: &'static str,
    file: &'static str,
    input: Input,
    expect: Expect,
}

fn statefulset(name: &str, replicas: &str, containers: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  replicas: {replicas}
  serviceName: {name}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
{containers}"
    )
}

fn kafka_with_arg(arg: &str) -> String {
    statefulset(
        "kafka",
        "3",
        &format!(
            "      - name: kafka\n        image: kafka\n        args: [\"--override\", \"zookeeper.connect={arg}\"]\n"
        ),
    )
}

const ZK_ENSEMBLE: &str = "---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: zk}
spec:
  replicas: 3
  serviceName: zk
  selector: {matchLabels: {app: zk}}
  template:
    metadata: {labels: {app: zk}}
    spec: {containers: [{name: zk, image: zookeeper}]}
";

/// A Service and a StatefulSet, the Service not headless: SL001 at the clusterIP value,
/// line 6, column 14.
const SERVICE_AND_STS: &str = "apiVersion: v1
kind: Service
metadata:
  name: a
spec:
  clusterIP: 10.0.0.1
  selector: {app: a}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: a
spec:
  serviceName: a
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: a, image: zookeeper}]}
";

fn rows() -> Vec<Row> {
    use Expect::*;
    use Input::*;
    let mut rows = Vec::new();
    let mut row = |name, file, input, expect| {
        rows.push(Row {
            name,
            file,
            input,
            expect,
        })
    };

    // --- resource exhaustion -------------------------------------------------------------
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n");
    bomb.push_str("  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    // 10^10 nodes if expanded; the budget stops it at the alias that crosses 1,000,000
    row(
        "alias bomb (billion laughs)",
        "bomb.yaml",
        Text(bomb),
        InputError {
            msg: "more than 1000000 nodes (limit max-nodes-per-document; an alias bomb?)",
            at: Some((10, 47)),
        },
    );
    // aliases of aliases, each 120 levels down, nested 24,000 levels deep and overflowed the
    // stack (SIGABRT) before the depth of an alias counted against max-depth
    let mut nest = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nextra:\n");
    nest.push_str(&format!(
        "  a0: &a0 {}x{}\n",
        "[".repeat(120),
        "]".repeat(120)
    ));
    for i in 1..200 {
        nest.push_str(&format!(
            "  a{i}: &a{i} {}*a{}{}\n",
            "[".repeat(120),
            i - 1,
            "]".repeat(120)
        ));
    }
    row(
        "aliases nesting deep values in deep values",
        "alias-nest.yaml",
        Text(nest),
        InputError {
            msg: "nesting deeper than 128 levels through this alias (limit max-depth)",
            at: Some((6, 131)),
        },
    );
    row(
        "10,000-deep flow nesting",
        "deep-flow.yaml",
        Text("[".repeat(10_000) + &"]".repeat(10_000)),
        InputError {
            msg: "nesting deeper than 128 levels (limit max-depth)",
            // where the parser gives up (it reads flow collections ahead)
            at: Some((1, 256)),
        },
    );
    row(
        "10,000-deep block nesting",
        "deep-block.yaml",
        Text(
            (0..10_000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
        ),
        InputError {
            msg: "nesting deeper than 128 levels (limit max-depth)",
            at: Some((129, 129)),
        },
    );
    row(
        "100 MB file: rejected from its size",
        "huge.yaml",
        Sparse(100 * 1024 * 1024),
        InputError {
            msg: "file too large (100 MiB, more than the 64 MiB limit max-file-size)",
            at: None,
        },
    );
    row(
        "1,000,001 nodes without aliases",
        "many-nodes.yaml",
        Text(format!("[{}]", vec!["1"; 1_000_001].join(","))),
        InputError {
            msg: "limit max-nodes-per-document",
            at: Some((1, 2_000_000)),
        },
    );
    row(
        "100,001 documents",
        "many-docs.yaml",
        Text("a: 1\n---\n".repeat(100_001)),
        InputError {
            msg: "more than 100000 documents in one file (limit max-documents-per-file)",
            at: Some((200_000, 1)),
        },
    );
    row(
        "a List of 100,001 objects",
        "many-objects.json",
        Text(format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{}]}}",
            vec!["{\"apiVersion\": \"v1\", \"kind\": \"Secret\"}"; 100_001].join(",\n")
        )),
        InputError {
            msg: "more than 100000 objects in one file (limit max-objects)",
            at: Some((1, 1)),
        },
    );

    row(
        "a 1 MB mapping key with 10,000 children",
        "long-key.json",
        Text(format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"x\"}},\n\"extra\": {{\"{}\": {{{}}}}}}}",
            "k".repeat(1 << 20),
            (0..10_000)
                .map(|i| format!("\"c{i}\": \"<X>\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        InputError {
            msg: "mapping key longer than 4096 bytes (limit max-key-length)",
            at: Some((2, 11)),
        },
    );

    // --- bytes that are not YAML text ------------------------------------------------------
    row(
        "invalid UTF-8",
        "latin1.yaml",
        Bytes(b"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\xff\xfeb\n".to_vec()),
        InputError {
            msg: "invalid UTF-8",
            at: Some((4, 10)),
        },
    );
    row(
        "NUL byte",
        "nul.yaml",
        Bytes(b"apiVersion: v1\nkind: Service\x00\n".to_vec()),
        InputError {
            msg: "binary file (NUL byte)",
            at: Some((2, 14)),
        },
    );
    row(
        "binary garbage",
        "garbage.yaml",
        Bytes((0..4096u32).map(|i| (i * 7919 % 251) as u8 | 1).collect()),
        InputError {
            msg: "invalid UTF-8",
            at: Some((1, 2)),
        },
    );

    // --- wrong types and invalid values ----------------------------------------------------
    row(
        "a number where a label value belongs",
        "label-number.yaml",
        Text(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels:\n    version: 1\n"
                .into(),
        ),
        InputError {
            msg: "`version` must be a string, found a number (quote it: \"1\")",
            at: Some((6, 14)),
        },
    );
    row(
        "a number where serviceName belongs",
        "service-name-number.yaml",
        Text(
            statefulset("a", "3", "      - {name: a, image: zookeeper}\n")
                .replace("serviceName: a", "serviceName: 5"),
        ),
        InputError {
            msg: "spec.serviceName: invalid type: integer `5`, expected a string (quote it: \"5\")",
            at: Some((7, 16)),
        },
    );
    row(
        "replicas: \"three\"",
        "replicas-string.yaml",
        Text(statefulset(
            "a",
            "\"three\"",
            "      - {name: a, image: zookeeper}\n",
        )),
        InputError {
            msg: "spec.replicas: invalid type: string \"three\", expected i32",
            at: Some((6, 13)),
        },
    );
    row(
        "replicas: -1",
        "replicas-negative.yaml",
        Text(statefulset(
            "a",
            "-1",
            "      - {name: a, image: zookeeper}\n",
        )),
        InputError {
            msg: "spec.replicas: -1 is negative; the API server rejects it",
            at: Some((6, 13)),
        },
    );
    row(
        "duplicate keys",
        "duplicate.yaml",
        Text("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n".into()),
        InputError {
            msg: "duplicate mapping key `name`",
            at: Some((5, 3)),
        },
    );
    row(
        "a mapping used as a key",
        "mapping-key.yaml",
        Text("apiVersion: v1\nkind: Service\n? {a: 1}\n: x\n".into()),
        InputError {
            msg: "a mapping or sequence used as a mapping key",
            at: Some((3, 3)),
        },
    );
    row(
        "tabs for indentation",
        "tabs.yaml",
        Text("apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n".into()),
        InputError {
            msg: "YAML syntax error: tabs disallowed",
            at: Some((4, 2)),
        },
    );
    row(
        "minAvailable: 150%",
        "pdb-150.yaml",
        Text(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: a-pdb}\nspec:\n  minAvailable: 150%\n  selector: {matchLabels: {app: a}}\n---\n".to_string()
                + &statefulset("a", "3", "      - {name: a, image: zookeeper}\n"),
        ),
        Findings(vec![(
            "SL002",
            "PodDisruptionBudget a-pdb has an invalid minAvailable: \"150%\" is more than 100%",
            Some((5, 17)),
        )]),
    );

    // --- size without a limit: must stay linear ----------------------------------------------
    let containers: String = (0..10_000)
        .map(|i| format!("      - {{name: c{i}, image: kafka}}\n"))
        .collect();
    row(
        "10,000 containers",
        "containers.yaml",
        Text(statefulset("kafka", "3", &containers)),
        Findings(vec![(
            "SL001",
            "no Service kafka in namespace default",
            Some((7, 16)),
        )]),
    );
    let one_line = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "kafka"},
        "spec": {"replicas": 3, "serviceName": "kafka",
            "selector": {"matchLabels": {"app": "kafka"}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": "ssd",
                "resources": {"requests": {"storage": "1Gi"}}}}],
            "template": {"metadata": {"labels": {"app": "kafka"}}, "spec": {"containers":
                (0..10_000).map(|i| serde_json::json!({"name": format!("c{i}"), "image": "kafka",
                    "volumeMounts": [{"name": "nope", "mountPath": "/x"}]})).collect::<Vec<_>>()}}}
    });
    row(
        "10,000 findings on one minified JSON line",
        "one-line.json",
        Text(one_line.to_string()),
        Findings(vec![("SL004", "nope", None)]),
    );
    let hosts: Vec<String> = (0..25_000)
        .map(|i| format!("zk-{i}.zk.<NAMESPACE>.svc.cluster.local:2181"))
        .collect();
    row(
        "1 MB zookeeper.connect of placeholders",
        "zk-placeholders.yaml",
        Text(kafka_with_arg(&hosts.join(","))),
        Findings(vec![(
            "SL005",
            "all 25000 of its hosts still hold the template placeholder `<NAMESPACE>`",
            Some((17, 49)),
        )]),
    );
    let hosts: Vec<String> = (0..25_000)
        .map(|i| format!("zk-{i}.zk.default.svc.cluster.local:2181"))
        .collect();
    row(
        "1 MB zookeeper.connect naming 25,000 pods of a 3-pod ensemble",
        "zk-hosts.yaml",
        Text(kafka_with_arg(&hosts.join(",")) + ZK_ENSEMBLE),
        AtMost {
            code: "SL005",
            max: 10,
            msg: "(24987 more hosts of this setting have problems too, not listed)",
        },
    );
    let script: String = (0..20_000)
        .map(|i| format!("--override zookeeper.connect=zk-{i}.zk.<NS>.svc "))
        .collect();
    row(
        "20,000 zookeeper.connect settings in one script",
        "zk-script.yaml",
        Text(statefulset(
            "kafka",
            "3",
            &format!(
                "      - name: kafka\n        image: kafka\n        command: [sh, -c, \"{script}\"]\n"
            ),
        )),
        AtMost {
            code: "SL005",
            max: 16,
            msg: "still holds the template placeholder `<NS>`",
        },
    );
    row(
        "50,000 zookeeper.connect keys in one word",
        "zk-keys.yaml",
        Text(statefulset(
            "kafka",
            "3",
            &format!(
                "      - name: kafka\n        image: kafka\n        args: [\"{}\"]\n",
                "zookeeper.connect=".repeat(50_000)
            ),
        )),
        Findings(vec![("SL001", "no Service kafka", None)]),
    );
    let env: String = (1..40)
        .map(|i| {
            format!(
                "        - {{name: V{i}, value: \"$(V{})$(V{})\"}}\n",
                i - 1,
                i - 1
            )
        })
        .collect();
    row(
        "env expansion bomb ($(V39) = 2^39 copies)",
        "env-bomb.yaml",
        Text(statefulset(
            "kafka",
            "3",
            &format!(
                "      - name: kafka\n        image: kafka\n        env:\n        - {{name: V0, value: zk}}\n{env}        - {{name: KAFKA_ZOOKEEPER_CONNECT, value: \"$(V39)\"}}\n"
            ),
        )),
        Findings(vec![("SL001", "no Service kafka", None)]),
    );
    row(
        "300,000 unclosed $( in an env value",
        "env-parens.yaml",
        Text(statefulset(
            "kafka",
            "3",
            &format!(
                "      - name: kafka\n        image: kafka\n        env: [{{name: KAFKA_ZOOKEEPER_CONNECT, value: \"{}\"}}]\n",
                "$(".repeat(300_000)
            ),
        )),
        Findings(vec![("SL001", "no Service kafka", None)]),
    );
    row(
        "300,000 unclosed < in a placeholder scan",
        "angles.yaml",
        Text(statefulset(
            "kafka",
            "3",
            &format!(
                "      - name: kafka\n        image: \"{}<IMAGE>\"\n",
                "<A".repeat(300_000)
            ),
        )),
        Findings(vec![(
            "SL007",
            "still holds the template placeholder `<IMAGE>`",
            None,
        )]),
    );
    let strings: String = (0..10_000)
        .map(|i| format!("    k{i}: \"<PLACEHOLDER_{i}>\"\n"))
        .collect();
    row(
        "10,000 strings with placeholders in one StatefulSet",
        "placeholders.yaml",
        Text(
            statefulset("kafka", "3", "      - {name: kafka, image: kafka}\n").replace(
                "spec:\n  replicas",
                &format!("extra:\n{strings}spec:\n  replicas"),
            ),
        ),
        AtMost {
            code: "SL007",
            max: 100,
            msg: "still holds the template placeholder `<PLACEHOLDER_0>` in extra.k0",
        },
    );
    row(
        "a huge single-line string (8 MB)",
        "big-string.yaml",
        Text(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  big: {}\n",
            "x".repeat(8 << 20)
        )),
        Clean,
    );

    // --- legitimate but unusual YAML -------------------------------------------------------
    row("empty file", "empty.yaml", Text(String::new()), Clean);
    row(
        "only comments",
        "comments.yaml",
        Text("# nothing\n# here\n".into()),
        Clean,
    );
    row("--- only", "dashes.yaml", Text("---\n".into()), Clean);
    let items: Vec<String> = (0..10_000)
        .map(|i| format!("{{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {{\"name\": \"s{i}\"}}, \"spec\": {{\"clusterIP\": \"None\", \"selector\": {{\"app\": \"a{i}\"}}}}}}"))
        .collect();
    row(
        "a List with 10,000 items",
        "list.json",
        Text(format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n{}\n]}}",
            items.join(",\n")
        )),
        Clean,
    );
    row(
        "UTF-8 BOM",
        "bom.yaml",
        Text(format!("\u{feff}{SERVICE_AND_STS}")),
        Findings(vec![(
            "SL001",
            "is not headless (clusterIP: 10.0.0.1)",
            Some((6, 14)),
        )]),
    );
    row(
        "CRLF line endings",
        "crlf.yaml",
        Text(SERVICE_AND_STS.replace('\n', "\r\n")),
        Findings(vec![
            (
                "SL001",
                "is not headless (clusterIP: 10.0.0.1)",
                Some((6, 14)),
            ),
            ("SL002", "runs a single voter", Some((12, 9))),
        ]),
    );
    row(
        "CR line endings (old Mac)",
        "cr.yaml",
        Text(SERVICE_AND_STS.replace('\n', "\r")),
        Findings(vec![
            (
                "SL001",
                "is not headless (clusterIP: 10.0.0.1)",
                Some((6, 14)),
            ),
            ("SL002", "runs a single voter", Some((12, 9))),
        ]),
    );
    row(
        "anchors and merge keys",
        "merge.yaml",
        Text(
            "apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  <<: &headless {clusterIP: None}
  selector: {app: a}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: a
spec:
  serviceName: a
  selector: {matchLabels: &labels {app: a}}
  template:
    metadata: {labels: *labels}
    spec:
      containers:
      - &c {name: a, image: zookeeper, resources: {limits: {cpu: 1}}}
      - <<: *c
        name: b
"
            .into(),
        ),
        // SL001 passes only if `<<` merged clusterIP: None into the Service
        Findings(vec![("SL002", "runs a single voter", Some((11, 9)))]),
    );
    let mut nested = serde_json::json!({"leaf": true});
    for _ in 0..60 {
        nested = serde_json::json!({ "a": nested });
    }
    row(
        "deeply nested but valid JSON (60 levels)",
        "nested.json",
        Text(
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "x", "annotations": {"x": "y"}}, "extra": nested})
            .to_string(),
        ),
        Clean,
    );
    rows
}

fn write_input(dir: &Path, row: &Row) -> std::path::PathBuf {
    let path = dir.join(row.file);
    match &row.input {
        Input::Text(t) => std::fs::write(&path, t).unwrap(),
        Input::Bytes(b) => std::fs::write(&path, b).unwrap(),
        Input::Sparse(n) => {
            let f = std::fs::File::create(&path).unwrap();
            f.set_len(*n).unwrap();
            let mut f = f;
            f.flush().unwrap();
        }
    }
    path
}

fn run(dir: &Path, file: &str, json: bool) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::cargo_bin("statelint").unwrap();
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("check")
        .arg(file)
        .timeout(TIMEOUT);
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or_else(|| {
        panic!("{file}: killed (timeout {TIMEOUT:?}, or a signal); stderr:\n{stderr}")
    });
    (code, out.stdout, stderr)
}

fn position(v: &Value) -> Option<(u64, u64)> {
    Some((v["line"].as_u64()?, v["column"].as_u64()?))
}

fn check_row(dir: &Path, row: &Row) -> Result<(), String> {
    write_input(dir, row);
    let (code, stdout, stderr) = run(dir, row.file, true);
    if stderr.contains("panicked") {
        return Err(format!("panicked:\n{stderr}"));
    }
    let v: Value = serde_json::from_slice(&stdout)
        .map_err(|e| format!("output is not JSON ({e}); exit {code}; stderr:\n{stderr}"))?;
    let errors = v["errors"].as_array().cloned().unwrap_or_default();
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    let brief = |f: &Value| {
        format!(
            "{} {}:{} {}",
            f["code"].as_str().unwrap_or("error"),
            f["line"],
            f["column"],
            f["message"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect::<String>()
        )
    };
    let listing = || {
        errors
            .iter()
            .chain(findings.iter())
            .map(brief)
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    let want_code = match &row.expect {
        Expect::InputError { .. } => 2,
        Expect::Clean => 0,
        Expect::Findings(_) | Expect::AtMost { .. } => 1,
    };
    if code != want_code {
        return Err(format!(
            "exit {code}, expected {want_code}:\n  {}",
            listing()
        ));
    }
    match &row.expect {
        Expect::InputError { msg, at } => {
            let [e] = errors.as_slice() else {
                return Err(format!("expected one input error, got:\n  {}", listing()));
            };
            let m = e["message"].as_str().unwrap_or_default();
            if !m.contains(msg) {
                return Err(format!("message {m:?} lacks {msg:?}"));
            }
            if position(e) != *at {
                return Err(format!("error at {:?}, expected {at:?}: {m}", position(e)));
            }
        }
        Expect::Clean => {
            if !errors.is_empty() || !findings.is_empty() {
                return Err(format!("expected nothing, got:\n  {}", listing()));
            }
        }
        Expect::Findings(want) => {
            if !errors.is_empty() {
                return Err(format!("unexpected input errors:\n  {}", listing()));
            }
            for (wcode, wmsg, wat) in want {
                let hit = findings.iter().any(|f| {
                    f["code"] == *wcode
                        && f["message"].as_str().unwrap_or_default().contains(wmsg)
                        && (wat.is_none() || position(f) == *wat)
                });
                if !hit {
                    return Err(format!(
                        "no {wcode} finding with {wmsg:?} at {wat:?}; got:\n  {}",
                        listing()
                    ));
                }
            }
        }
        Expect::AtMost {
            code: wcode,
            max,
            msg,
        } => {
            if !errors.is_empty() {
                return Err(format!("unexpected input errors:\n  {}", listing()));
            }
            let of_code: Vec<&Value> = findings.iter().filter(|f| f["code"] == *wcode).collect();
            if of_code.is_empty() || of_code.len() > *max {
                return Err(format!(
                    "{} {wcode} findings, expected 1 to {max}",
                    of_code.len()
                ));
            }
            if !of_code
                .iter()
                .any(|f| f["message"].as_str().unwrap_or_default().contains(msg))
            {
                return Err(format!("no {wcode} finding with {msg:?}:\n  {}", listing()));
            }
        }
    }
    // the default human format renders the same run: same exit code, no panic
    let (hcode, _, hstderr) = run(dir, row.file, false);
    if hstderr.contains("panicked") {
        return Err(format!("human format panicked:\n{hstderr}"));
    }
    if hcode != code {
        return Err(format!("human format exit {hcode}, json {code}"));
    }
    Ok(())
}

#[test]
fn hostile_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let rows = rows();
    for row in &rows {
        let t = std::time::Instant::now();
        let result = check_row(dir.path(), row);
        eprintln!(
            "{:>6} ms  {}  {}",
            t.elapsed().as_millis(),
            if result.is_ok() { "ok  " } else { "FAIL" },
            row.name
        );
        if let Err(e) = result {
            failures.push(format!("{} ({}): {e}", row.name, row.file));
        }
        // free the disk space of the big inputs as we go
        let _ = std::fs::remove_file(dir.path().join(row.file));
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile inputs failed:\n\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n\n")
    );
}
