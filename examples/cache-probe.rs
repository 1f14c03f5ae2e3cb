//! Live heap bytes of the webhook's watch caches per cached object, kind by kind, with the
//! objects bench/cache-memory.sh serves (examples/common/cluster_objects.rs): what the caches
//! hold, without the allocator's free pages that RSS also counts, next to the caches' own
//! estimate (`statelint_cache_bytes`).
//!
//! `cargo run --features server --example cache-probe -- [N] [mix]`
//!
//! N objects of each kind (10000), or with `mix` the cluster bench/cache-memory.sh serves: N
//! Services, N/10 StatefulSets and PDBs, 20,000 ConfigMaps. The heap is counted twice: the bytes
//! asked for, and those bytes in the allocator's size classes (mimalloc's, as
//! `statelint::heap::alloc_bytes` models them), which is what the estimate estimates. Then 512
//! StatefulSets are looked up, filling the cache of built objects (`HOT_SLOTS`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[path = "common/cluster_objects.rs"]
mod cluster_objects;

use serde_json::Value;
use statelint::catalog::Companions;
use statelint::heap::alloc_bytes;
use statelint::webhook::cluster::{ClusterCache, Entry, HOT_SLOTS, Watched};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ROUNDED: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        ROUNDED.fetch_add(alloc_bytes(l.size()), Relaxed);
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        ROUNDED.fetch_sub(alloc_bytes(l.size()), Relaxed);
        COUNT.fetch_sub(1, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Relaxed);
        LIVE.fetch_sub(l.size(), Relaxed);
        ROUNDED.fetch_add(alloc_bytes(new), Relaxed);
        ROUNDED.fetch_sub(alloc_bytes(l.size()), Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// (asked, rounded, allocations)
fn heap() -> (isize, isize, isize) {
    (
        LIVE.load(Relaxed) as isize,
        ROUNDED.load(Relaxed) as isize,
        COUNT.load(Relaxed) as isize,
    )
}

#[derive(Default)]
struct Total {
    rounded: isize,
    estimate: isize,
}

fn row(what: &str, n: usize, kept: usize, d: (isize, isize, isize), estimate: isize) {
    let per = |x: isize| x / n.max(1) as isize;
    println!(
        "| {what} | {n} | {kept} | {} | {} | {:.1} | {} | {:.2} |",
        per(d.0),
        per(d.1),
        d.2 as f64 / n.max(1) as f64,
        per(estimate),
        estimate as f64 / d.1.max(1) as f64,
    );
}

fn fill<E: Entry>(w: &Watched<E>, n: usize, make: fn(usize) -> Value, total: &mut Total) {
    let (b0, e0) = (heap(), w.read().bytes() as isize);
    let values: Vec<Value> = (0..n).map(make).collect();
    for v in values.into_iter().rev() {
        let m = &v["metadata"];
        let (ns, name) = (
            m["namespace"].as_str().unwrap().to_string(),
            m["name"].as_str().unwrap().to_string(),
        );
        // the watch hands over the value after dropping its own copy: drop it first here too
        let e = E::decode(v).unwrap();
        if let Some(e) = e {
            w.write().insert(&ns, &name, e);
        }
    }
    let b1 = heap();
    let s = w.read();
    let d = (b1.0 - b0.0, b1.1 - b0.1, b1.2 - b0.2);
    let estimate = s.bytes() as isize - e0;
    total.rounded += d.1;
    total.estimate += estimate;
    row(w.kind, n, s.len(), d, estimate);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(10_000, |s| s.parse().expect("N"));
    let mix = args.next().as_deref() == Some("mix");
    let (sts, pdbs, cms) = if mix {
        (n / 10, n / 10, 20_000)
    } else {
        (n, n, n)
    };
    let c = ClusterCache::default();
    println!(
        "| kind | listed | kept | live heap bytes / listed | in size classes | allocations / listed | cache_bytes / listed | cache_bytes / size classes |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut total = Total::default();
    fill(&c.services, n, cluster_objects::service, &mut total);
    fill(&c.pdbs, pdbs, cluster_objects::pdb, &mut total);
    fill(
        &c.statefulsets,
        sts,
        cluster_objects::statefulset,
        &mut total,
    );
    fill(&c.config_maps, cms, cluster_objects::config_map, &mut total);
    // admissions look StatefulSets up: the last HOT_SLOTS built are kept
    let built = HOT_SLOTS.min(sts);
    let (b0, e0) = (heap(), c.statefulsets.read().bytes() as isize);
    let mut held = Vec::new();
    for i in 0..built {
        let v = cluster_objects::statefulset(i);
        let m = &v["metadata"];
        let o = c.statefulset(
            m["namespace"].as_str().unwrap(),
            m["name"].as_str().unwrap(),
        );
        held.push(o.expect("cached"));
    }
    drop(held);
    let b1 = heap();
    let d = (b1.0 - b0.0, b1.1 - b0.1, b1.2 - b0.2);
    let estimate = c.statefulsets.read().bytes() as isize - e0;
    total.rounded += d.1;
    total.estimate += estimate;
    row("StatefulSets built for lookups", built, built, d, estimate);
    println!(
        "\ntotal: {:.1} MB in size classes, cache_bytes {:.1} MB ({:.2})",
        total.rounded as f64 / 1e6,
        total.estimate as f64 / 1e6,
        total.estimate as f64 / total.rounded as f64
    );
}
