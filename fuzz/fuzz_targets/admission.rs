//! The webhook's AdmissionReview handling on arbitrary bodies: decode (the 400 path), then the
//! decision with every rule, in both modes, and the response serialisation. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statelint::catalog::Catalog;
use statelint::config::Config;
use statelint::rules;
use statelint::webhook::admit::{Mode, Reviewer, decode};

fuzz_target!(|data: &[u8]| {
    let Ok(review) = decode(data) else { return };
    let companions = Catalog::default();
    let config = Config::default();
    let reviewer = Reviewer {
        companions: &companions,
        config: &config,
        mode: if data.len() % 2 == 0 { Mode::Enforce } else { Mode::Warn },
        runner: rules::run,
    };
    let decision = reviewer.review(review);
    serde_json::to_vec(&decision.response).expect("responses serialise");
});
