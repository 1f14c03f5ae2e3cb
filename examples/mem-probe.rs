//! Where the memory of `statelint check` goes: live and peak heap bytes after each stage.
//! `cargo run --release --example mem-probe -- DIR`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let n = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(n, Relaxed);
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let n = LIVE.fetch_add(new - l.size(), Relaxed) + new - l.size();
            PEAK.fetch_max(n, Relaxed);
        } else {
            LIVE.fetch_sub(l.size() - new, Relaxed);
        }
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mb(n: usize) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn stage(name: &str) {
    println!(
        "{name:<10} live {:>10}  peak {:>10}  allocations {}",
        mb(LIVE.load(Relaxed)),
        mb(PEAK.load(Relaxed)),
        COUNT.load(Relaxed)
    );
}

fn main() {
    let paths: Vec<_> = std::env::args().skip(1).map(Into::into).collect();
    let opts = statelint::CheckOptions {
        paths,
        namespace: "default".into(),
        ..Default::default()
    };
    let run = statelint::check(&opts);
    stage("checked");
    let text: usize = run.loaded.sources.iter().map(|(_, f)| f.text.len()).sum();
    let spans: usize = {
        let mut seen = std::collections::HashSet::new();
        run.objects
            .iter()
            .filter_map(|o| o.origin.as_ref())
            .filter(|o| seen.insert(std::sync::Arc::as_ptr(&o.spans)))
            .map(|o| o.spans.len())
            .sum()
    };
    println!(
        "input text {}, {} objects, {} span entries",
        mb(text),
        run.objects.len(),
        spans
    );
    let mut out = Vec::new();
    run.report()
        .write(statelint::report::Format::Json, false, &mut out)
        .unwrap();
    stage("reported");
    println!("report {} bytes", out.len());
    drop(out);
    let statelint::CheckRun {
        loaded,
        objects,
        outcome,
        ..
    } = run;
    drop(outcome);
    let mut by_kind: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for o in objects {
        by_kind.entry(o.key.kind.clone()).or_default().push(o);
    }
    for (k, v) in by_kind {
        let before = LIVE.load(Relaxed);
        let n = v.len();
        drop(v);
        let freed = before - LIVE.load(Relaxed);
        println!(
            "{k:<22} {n:>6} objects {:>10} ({} B each, spans included)",
            mb(freed),
            freed / n.max(1)
        );
    }
    drop(loaded);
    stage("dropped");
}
