//! Live heap bytes of the webhook's watch caches per cached object, kind by kind, with the
//! objects bench/cache-memory.sh serves (examples/common/cluster_objects.rs): what the caches
//! hold, without the allocator's free pages that RSS also counts.
//!
//! `cargo run --features server --example cache-probe -- [N]` (N objects per kind, 10000)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[path = "common/cluster_objects.rs"]
mod cluster_objects;

use serde_json::Value;
use statelint::webhook::cluster::{ClusterCache, Entry, Watched};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Relaxed);
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        COUNT.fetch_sub(1, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Relaxed);
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn fill<E: Entry>(w: &Watched<E>, n: usize, make: fn(usize) -> Value) {
    let (live, count) = (LIVE.load(Relaxed), COUNT.load(Relaxed));
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
    let (live2, count2) = (LIVE.load(Relaxed), COUNT.load(Relaxed));
    let s = w.read();
    println!(
        "| {} | {n} | {} | {} | {} | {} |",
        w.kind,
        s.len(),
        (live2 as isize - live as isize) / n as isize,
        (count2 as isize - count as isize) as f64 / n as f64,
        s.bytes() / n,
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |s| s.parse().expect("N"));
    let c = ClusterCache::default();
    println!(
        "| kind | listed | kept | live heap bytes / listed | allocations / listed | cache_bytes / listed |"
    );
    println!("|---|---|---|---|---|---|");
    fill(&c.services, n, cluster_objects::service);
    fill(&c.pdbs, n, cluster_objects::pdb);
    fill(&c.statefulsets, n, cluster_objects::statefulset);
    fill(&c.config_maps, n, cluster_objects::config_map);
}
