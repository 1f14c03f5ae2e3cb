//! Behaviour snapshot for performance work: everything the loader produced for the given
//! paths (objects, typed bodies, the source span of every node, input errors), one line per
//! fact, so two builds can be diffed. `cargo run --release --example dump-objects -- PATH...`

use std::io::Write;

use serde_json::Value;
use statelint::object::{Body, Object};

fn body_json(o: &Object) -> Value {
    match &o.body {
        Body::StatefulSet(x) => serde_json::to_value(x),
        Body::Service(x) => serde_json::to_value(x),
        Body::Pdb(x) => serde_json::to_value(x),
        Body::ConfigMap(x) => serde_json::to_value(x),
        Body::Workload(x) => serde_json::to_value(x),
        Body::Other => Ok(Value::Null),
    }
    .expect("serializable")
}

fn pointers(v: &Value, ptr: &mut String, out: &mut Vec<String>) {
    out.push(ptr.clone());
    let len = ptr.len();
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                ptr.push_str(&format!("/{i}"));
                pointers(x, ptr, out);
                ptr.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                statelint::source::yaml::push_segment(ptr, k);
                pointers(x, ptr, out);
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

fn main() {
    let paths: Vec<_> = std::env::args().skip(1).map(Into::into).collect();
    let run = statelint::check(&statelint::CheckOptions {
        paths,
        namespace: "default".into(),
        ..Default::default()
    });
    let report = run.report();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for o in &run.objects {
        let body = body_json(o);
        writeln!(
            out,
            "object {:?} labels={:?} ignore={:?} reason={:?} placeholders={:?}",
            o.key, o.labels, o.ignore, o.ignore_reason, o.placeholders
        )
        .unwrap();
        writeln!(out, "  body {body}").unwrap();
        let Some(origin) = &o.origin else { continue };
        let mut ptrs = Vec::new();
        pointers(&body, &mut String::new(), &mut ptrs);
        for extra in ["/metadata/annotations", "/nope", "/spec/nope/deeper"] {
            ptrs.push(extra.into());
        }
        for p in ptrs {
            let loc = origin
                .span(&p)
                .map(|s| (s, report.location(origin.file, s.value)));
            writeln!(
                out,
                "  {p:?} has={} span={:?}",
                origin.has(&p),
                loc.map(|(s, l)| (s.key, s.value, l.file, l.line, l.column))
            )
            .unwrap();
        }
    }
    for e in &run.loaded.errors {
        let loc = report.error_location(e).map(|l| (l.line, l.column));
        writeln!(out, "error {} {:?} {}", e.file, loc, e.message).unwrap();
    }
    writeln!(out, "summary {:?}", report.summary).unwrap();
}
