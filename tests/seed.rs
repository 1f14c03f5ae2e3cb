//! The seed example (fixtures/seed: ZooKeeper + Kafka on glusterfs-storage, laid out as the
//! platform guide shows, with the guide's `<NAMESPACE>` still in zookeeper.connect) is checked
//! as one folder, as a new user would run `statelint check fixtures/seed`. SL005 must catch the
//! placeholder on the Kafka StatefulSet, at the first host that holds it; the human and JSON
//! reports are snapshot-tested.

use std::path::PathBuf;

use statelint::config::Config;
use statelint::report::Format;
use statelint::{CheckOptions, CheckRun, check};

fn run() -> CheckRun {
    let opts = CheckOptions {
        paths: vec![PathBuf::from("fixtures/seed")],
        namespace: "default".into(),
        config: Config::default(),
        ..Default::default()
    };
    check(&opts)
}

fn render(run: &CheckRun, format: Format) -> String {
    let mut out = Vec::new();
    run.report().write(format, false, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn seed_placeholder_is_caught_on_kafka() {
    let run = run();
    assert_eq!(
        run.files, 2,
        "zookeeper.yaml and kafka.yaml are checked together"
    );
    let json: serde_json::Value = serde_json::from_str(&render(&run, Format::Json)).unwrap();
    let sl005: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "SL005")
        .collect();
    assert_eq!(sl005.len(), 1, "one SL005 finding: {json:#}");
    let f = sl005[0];
    assert_eq!(f["rule"], "zookeeper-connect");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["object"]["kind"], "StatefulSet");
    assert_eq!(f["object"]["name"], "kafka");
    assert_eq!(f["object"]["namespace"], "default");
    assert!(f["file"].as_str().unwrap().ends_with("kafka.yaml"));
    assert!(f["message"].as_str().unwrap().contains("<NAMESPACE>"));
    // the span starts at the first host holding the placeholder
    let text = std::fs::read_to_string("fixtures/seed/kafka.yaml").unwrap();
    let line = f["line"].as_u64().unwrap() as usize;
    let column = f["column"].as_u64().unwrap() as usize;
    let src_line = text.lines().nth(line - 1).unwrap();
    assert!(
        src_line[column - 1..].starts_with("zk-0.zk-svc.<NAMESPACE>.svc.cluster.local:2181"),
        "points at {line}:{column}: {src_line}"
    );
    // the help gives the string to write, for the ensemble next to it
    assert!(f["help"].as_str().unwrap().contains(
        "zk-0.zk-svc.default.svc.cluster.local:2181,zk-1.zk-svc.default.svc.cluster.local:2181,zk-2.zk-svc.default.svc.cluster.local:2181"
    ));
    // the ZooKeeper StatefulSet is fine as far as SL005 goes
    assert!(
        !json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "SL005" && f["object"]["name"] == "zk")
    );
}

#[test]
fn seed_reports_match_snapshots() {
    let run = run();
    insta::assert_snapshot!("seed_human", render(&run, Format::Human));
    insta::assert_snapshot!("seed_json", render(&run, Format::Json));
}

/// Every output format on the seed, snapshot-tested (the SARIF working-folder URI is machine
/// specific and replaced by `file:///WORKDIR/`).
#[test]
fn seed_every_format_snapshot() {
    let run = run();
    let cwd = std::env::current_dir().unwrap();
    let base = format!("file://{}/", cwd.display());
    for (name, format) in [
        ("sarif", Format::Sarif),
        ("junit", Format::Junit),
        ("github", Format::Github),
    ] {
        let text = render(&run, format).replace(&base, "file:///WORKDIR/");
        insta::assert_snapshot!(format!("seed_{name}"), text);
    }
}
