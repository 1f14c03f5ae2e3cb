//! The whole pipeline on arbitrary bytes: load, index, run every rule, render every format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statelint::report::Format;
use statelint::{CheckOptions, check_bytes};

fuzz_target!(|data: &[u8]| {
    let opts = CheckOptions {
        namespace: "default".into(),
        ..Default::default()
    };
    let run = check_bytes(vec![("fuzz.yaml".into(), data.to_vec())], &opts);
    let report = run.report();
    for f in [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Github,
    ] {
        let mut out = Vec::new();
        report.write(f, false, &mut out).expect("writing to memory cannot fail");
        assert!(!out.is_empty() || matches!(f, Format::Github));
    }
});
