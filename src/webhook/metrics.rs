//! Prometheus metrics (`GET /metrics`): admissions by verdict, findings by rule, latency, and
//! the health of the watch caches.

use super::admit::Verdict;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
pub struct KindLabels {
    /// Service, PodDisruptionBudget, StatefulSet, ConfigMap
    pub kind: &'static str,
}

/// The watch caches' health, one series per kind. Counters move as events arrive; gauges are
/// set at each scrape ([`crate::webhook::cluster::ClusterCache::export_metrics`]).
#[derive(Clone, Default)]
pub struct WatchMetrics {
    pub up: Family<KindLabels, Gauge>,
    pub synced: Family<KindLabels, Gauge>,
    pub last_event_age: Family<KindLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub relists: Family<KindLabels, Counter>,
    pub errors: Family<KindLabels, Counter>,
    pub decode_failures: Family<KindLabels, Counter>,
    pub objects: Family<KindLabels, Gauge>,
    pub bytes: Family<KindLabels, Gauge>,
}

impl WatchMetrics {
    fn register(&self, r: &mut Registry) {
        r.register(
            "watch_up",
            "1 when the kind's watch cache has synced and its list/watch is not failing",
            self.up.clone(),
        );
        r.register(
            "watch_synced",
            "1 once the kind's initial list has completed",
            self.synced.clone(),
        );
        r.register(
            "watch_last_event_age_seconds",
            "Seconds since the kind's last list or watch event (NaN before the first)",
            self.last_event_age.clone(),
        );
        r.register(
            "watch_relists",
            "Relists after the initial one (a watch expired with 410 Gone, or a restart)",
            self.relists.clone(),
        );
        r.register(
            "watch_errors",
            "Failed list or watch attempts (410 Gone included)",
            self.errors.clone(),
        );
        r.register(
            "watch_decode_failures",
            "Listed or watched objects skipped because they do not decode",
            self.decode_failures.clone(),
        );
        r.register(
            "cache_objects",
            "Objects held in the kind's watch cache",
            self.objects.clone(),
        );
        r.register(
            "cache_bytes",
            "Estimated bytes held by the kind's watch cache",
            self.bytes.clone(),
        );
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LiveReadLabels {
    /// found (the caches lacked it), missing (confirmed absent), failed (error or timeout)
    pub result: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub watch: WatchMetrics,
    /// Live reads before a denial for a companion the caches lacked (read-after-write).
    pub live_reads: Family<LiveReadLabels, Counter>,
    pub requests: Family<VerdictLabels, Counter>,
    /// `requests`' counters, each looked up in the family once (a lookup hashes its labels
    /// under the family's lock): by verdict, then by [`REQUEST_KINDS`].
    request_counters: [[std::sync::OnceLock<Counter>; REQUEST_KINDS.len()]; 4],
    pub findings: Family<RuleLabels, Counter>,
    pub latency: Histogram,
}

/// The `kind` label values of `admission_requests` (bounded: a caller may send any kind; ""
/// for a request answered with an error before it was reviewed).
pub const REQUEST_KINDS: [&str; 5] = ["StatefulSet", "Service", "PodDisruptionBudget", "other", ""];

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
        let watch = WatchMetrics::default();
        watch.register(&mut registry);
        Metrics {
            registry,
            watch,
            live_reads,
            requests,
            request_counters: Default::default(),
            findings,
            latency,
        }
    }

    /// Count a reviewed request: `kind` is the request's kind (a kind other than StatefulSet,
    /// Service and PodDisruptionBudget counts as "other").
    pub fn count_request(&self, verdict: Verdict, kind: &str) {
        let k = match kind {
            "StatefulSet" => 0,
            "Service" => 1,
            "PodDisruptionBudget" => 2,
            _ => 3,
        };
        self.count(verdict, k);
    }

    /// Count a request answered with an error before it was reviewed (kind "").
    pub fn count_unreviewed(&self) {
        self.count(Verdict::Error, 4);
    }

    /// One counter per (verdict, kind), looked up in the family once: the index is the
    /// verdict itself, so a counter can never carry another verdict's label.
    fn count(&self, verdict: Verdict, k: usize) {
        let v = match verdict {
            Verdict::Allowed => 0,
            Verdict::Warned => 1,
            Verdict::Denied => 2,
            Verdict::Error => 3,
        };
        self.request_counters[v][k]
            .get_or_init(|| {
                self.requests
                    .get_or_create(&VerdictLabels {
                        verdict: verdict.as_str(),
                        kind: REQUEST_KINDS[k],
                    })
                    .clone()
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
