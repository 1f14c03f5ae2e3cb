//! Prometheus metrics (`GET /metrics`): admissions by verdict, findings by rule, latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// allowed | denied | warned | error
    pub verdict: &'static str,
    /// StatefulSet, Service, PodDisruptionBudget, other ("" when the request was unreadable).
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub code: &'static str,
    pub rule: &'static str,
    pub severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LiveReadLabels {
    /// found (the caches lacked it), missing (confirmed absent), failed (error or timeout)
    pub result: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Live reads before a denial for a companion the caches lacked (read-after-write).
    pub live_reads: Family<LiveReadLabels, Counter>,
    pub requests: Family<VerdictLabels, Counter>,
    pub findings: Family<RuleLabels, Counter>,
    pub latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("statelint");
        let requests = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "admission_requests",
            "Admission reviews answered, by verdict (allowed, denied, warned, error) and kind",
            requests.clone(),
        );
        let findings = Family::<RuleLabels, Counter>::default();
        registry.register(
            "admission_findings",
            "Findings reported in admission reviews, by rule and severity",
            findings.clone(),
        );
        // 50µs .. ~1.6s
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "admission_duration_seconds",
            "Time to answer an admission review (decode, check, encode)",
            latency.clone(),
        );
        let live_reads = Family::<LiveReadLabels, Counter>::default();
        registry.register(
            "live_reads",
            "Companions read from the API server because the watch caches lacked them, by result",
            live_reads.clone(),
        );
        Metrics {
            registry,
            live_reads,
            requests,
            findings,
            latency,
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
