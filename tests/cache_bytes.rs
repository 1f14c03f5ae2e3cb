//! `statelint_cache_bytes` tracks what the watch caches really hold: each kind's estimate
//! (`Store::bytes`) against the heap this test's counting allocator sees the caches take, in the
//! allocator's size classes (`statelint::heap::alloc_bytes`, mimalloc's). The objects are the
//! Helm-style ones bench/cache-memory.sh serves (examples/common/cluster_objects.rs). Counted per
//! thread, so the test harness's own allocations do not count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

#[path = "../examples/common/cluster_objects.rs"]
mod cluster_objects;

use serde_json::Value;
use statelint::catalog::Companions;
use statelint::heap::alloc_bytes;
use statelint::webhook::cluster::{ClusterCache, Entry, HOT_SLOTS, Watched};

struct Counting;

thread_local! {
    /// Bytes this thread holds, in size classes.
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn count(n: isize) {
    let _ = HELD.try_with(|h| h.set(h.get() + n));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(alloc_bytes(l.size()) as isize);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(-(alloc_bytes(l.size()) as isize));
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(alloc_bytes(new) as isize - alloc_bytes(l.size()) as isize);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn held() -> isize {
    HELD.with(Cell::get)
}

/// The estimate is within this fraction of the counted heap, for each kind and in total.
const TOLERANCE: f64 = 0.05;

/// (counted, estimated) bytes of `n` objects of one kind.
fn fill<E: Entry>(w: &Watched<E>, n: usize, make: fn(usize) -> Value) -> (isize, isize) {
    let (h0, e0) = (held(), w.read().bytes() as isize);
    let values: Vec<Value> = (0..n).map(make).collect();
    // each value is dropped once decoded (the watch hands over its own)
    for v in values {
        let m = &v["metadata"];
        let (ns, name) = (
            m["namespace"].as_str().unwrap().to_string(),
            m["name"].as_str().unwrap().to_string(),
        );
        if let Some(e) = E::decode(v).unwrap() {
            w.write().insert(&ns, &name, e);
        }
    }
    (held() - h0, w.read().bytes() as isize - e0)
}

#[test]
fn cache_bytes_tracks_the_counted_heap() {
    let c = ClusterCache::default();
    let n = 1_000;
    let mut rows = vec![
        ("Service", fill(&c.services, n, cluster_objects::service)),
        (
            "PodDisruptionBudget",
            fill(&c.pdbs, n, cluster_objects::pdb),
        ),
        (
            "StatefulSet",
            fill(&c.statefulsets, n, cluster_objects::statefulset),
        ),
        // one in ten is kept (the others hold no file the rules read)
        (
            "ConfigMap",
            fill(&c.config_maps, n * 10, cluster_objects::config_map),
        ),
    ];
    assert_eq!(c.config_maps.read().len(), n);
    // admissions look StatefulSets up: the last HOT_SLOTS objects built are kept, and counted
    let (h0, e0) = (held(), c.statefulsets.read().bytes() as isize);
    for i in 0..HOT_SLOTS {
        let v = cluster_objects::statefulset(i);
        let m = &v["metadata"];
        let ns = m["namespace"].as_str().unwrap();
        assert!(c.statefulset(ns, m["name"].as_str().unwrap()).is_some());
    }
    rows.push((
        "StatefulSets built for lookups",
        (held() - h0, c.statefulsets.read().bytes() as isize - e0),
    ));
    let total = rows
        .iter()
        .fold((0, 0), |(h, e), (_, (h1, e1))| (h + h1, e + e1));
    rows.push(("total", total));
    let mut off = Vec::new();
    for (what, (counted, estimate)) in &rows {
        let ratio = *estimate as f64 / *counted as f64;
        println!("{what}: counted {counted} B, estimated {estimate} B ({ratio:.2})");
        if (ratio - 1.0).abs() > TOLERANCE {
            off.push(format!(
                "{what}: estimated {estimate} B for {counted} B counted ({ratio:.2})"
            ));
        }
    }
    assert!(
        off.is_empty(),
        "estimate off by more than {TOLERANCE}: {off:#?}"
    );
}

/// The node estimate of a `BTreeMap` ([`statelint::heap::btree`]) against the count, filled in
/// key order both ways (list pages arrive sorted by namespace and name).
#[test]
fn btree_estimate_tracks_the_counted_heap() {
    use std::collections::BTreeMap;
    for n in [10usize, 100, 1_000, 10_000] {
        for rev in [false, true] {
            let h0 = held();
            let mut m: BTreeMap<u64, [u8; 32]> = BTreeMap::new();
            for k in 0..n as u64 {
                m.insert(if rev { n as u64 - k } else { k }, [0; 32]);
            }
            let (counted, estimate) = (
                held() - h0,
                statelint::heap::btree::<u64, [u8; 32]>(n) as isize,
            );
            let ratio = estimate as f64 / counted as f64;
            assert!(
                (ratio - 1.0).abs() <= 0.05,
                "{n} entries (reversed: {rev}): {estimate} B estimated, {counted} B counted"
            );
        }
    }
}
