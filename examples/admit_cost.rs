//! Per-admission cost without HTTP or TLS, for callgrind (bench/webhook.sh, docs/webhook.md):
//! decode an AdmissionReview, decide, encode the answer, N times, in one thread.
//!
//! ```sh
//! cargo build --profile profiling --features server --example admit_cost
//! valgrind --tool=callgrind target/profiling/examples/admit_cost sts 2000    # Kafka StatefulSet CREATE, every rule
//! valgrind --tool=callgrind target/profiling/examples/admit_cost floor 2000  # ConfigMap CREATE of the same size, no rule
//! ```
//!
//! Both reviews are about 1.3 KB (printed at the end). The StatefulSet's companions
//! (its headless Service and PDB, the ZooKeeper ensemble it connects to) are in the companion
//! view, so it is allowed: the cost measured is the common case. The reviews are in
//! examples/common/admit_reviews.rs.

// the allocator `statelint serve` runs with (src/main.rs)
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/admit_reviews.rs"]
mod admit_reviews;

use admit_reviews::{companions, reviews};
use statelint::config::Config;
use statelint::webhook::admit::{Mode, Reviewer, decode};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("sts");
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let (sts, floor) = reviews();
    let body = match which {
        "sts" => &sts,
        "floor" | "decode" => &floor,
        other => panic!("sts, floor or decode, not {other}"),
    };
    let c = companions();
    let config = Config::default();
    let reviewer = Reviewer {
        companions: &c,
        config: &config,
        mode: Mode::Enforce,
        runner: statelint::rules::run,
    };
    let mut allowed = 0;
    let mut bytes = 0;
    if which == "decode" {
        // what a bare webhook does (axum's `Json<AdmissionReview<DynamicObject>>` extractor):
        // the whole review decoded, answered `allowed: true` -- of the StatefulSet review
        use kube::core::DynamicObject;
        use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
        for _ in 0..n {
            let review: AdmissionReview<DynamicObject> = serde_json::from_slice(&sts).unwrap();
            let req: AdmissionRequest<DynamicObject> = review.try_into().unwrap();
            let resp = AdmissionResponse::from(&req);
            allowed += usize::from(resp.allowed);
            bytes += serde_json::to_vec(&resp.into_review()).unwrap().len();
        }
        eprintln!(
            "decode: {n} reviews of {} bytes, {allowed} allowed, {bytes} bytes answered",
            sts.len()
        );
        return;
    }
    for _ in 0..n {
        let d = reviewer.review(decode(body).unwrap());
        allowed += usize::from(d.response.allowed);
        bytes += serde_json::to_vec(&d.response.into_review()).unwrap().len();
    }
    eprintln!(
        "{which}: {n} reviews of {} bytes, {allowed} allowed, {bytes} bytes answered",
        body.len()
    );
}
