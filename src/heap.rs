//! Estimates of the heap bytes std collections hold, as the allocator hands them out (for the
//! webhook's `statelint_cache_bytes`). They follow the layouts of std's `Vec`, `HashMap`
//! (hashbrown: one allocation of buckets and control bytes, 7/8 full at most) and `BTreeMap`
//! (nodes of up to 11 entries; filled in key order, as list pages arrive, a full node keeps 6 and
//! sends one up, so there is a node per ~7 entries), with mimalloc's size classes
//! ([`alloc_bytes`]).

use std::mem::size_of;

/// Heap bytes of an allocation of `n` bytes as the allocator rounds it (size classes of 16 bytes
/// up to 128, then a quarter of the power of two apart: mimalloc's bins).
pub fn alloc_bytes(n: usize) -> usize {
    match n {
        0 => 0,
        1..=128 => n.div_ceil(16) * 16,
        _ => {
            let step = (n.next_power_of_two() / 8).max(16);
            n.div_ceil(step) * step
        }
    }
}

/// An `Arc<str>` of `len` bytes (two counters before the text).
pub fn arc_str(len: usize) -> usize {
    alloc_bytes(16 + len)
}

/// A `Vec<T>` (or `Box<[T]>`) of capacity `cap`.
pub fn vec<T>(cap: usize) -> usize {
    alloc_bytes(cap * size_of::<T>())
}

/// The table of a `HashMap<K, V>` whose `capacity()` is `cap`: buckets of `(K, V)`, one control
/// byte each and a group's worth more.
pub fn hash_table<K, V>(cap: usize) -> usize {
    match buckets(cap) {
        0 => 0,
        b => alloc_bytes(b * size_of::<(K, V)>() + b + 16),
    }
}

/// hashbrown's buckets for a `capacity()` (7/8 of the buckets from 8 on, one less below).
fn buckets(cap: usize) -> usize {
    match cap {
        0 => 0,
        1..=6 => (cap + 1).next_power_of_two(),
        _ => cap * 8 / 7,
    }
}

/// Bytes of the nodes of a `BTreeMap<K, V>` of `len` entries: leaves of 11 slots and the
/// internal nodes above them (12 edges more), ~7 entries a node (tests/cache_bytes.rs counts).
pub fn btree<K, V>(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let leaf = alloc_bytes(16 + 11 * (size_of::<K>() + size_of::<V>()));
    let internal = alloc_bytes(16 + 11 * (size_of::<K>() + size_of::<V>()) + 12 * 8);
    // a node split in key order keeps 6 entries and sends one up: 7 entries per leaf, 7
    // children per internal node
    let per_node = |n: usize| ((n + 3) / 7).max(1);
    let leaves = per_node(len);
    let mut internals = 0;
    let mut level = leaves;
    while level > 1 {
        level = per_node(level);
        internals += level;
    }
    leaves * leaf + internals * internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn hash_table_buckets_follow_capacity() {
        for (n, want) in [(1usize, 4usize), (3, 4), (7, 8), (14, 16), (1000, 2048)] {
            let m: HashMap<u64, u64> = (0..n as u64).map(|i| (i, i)).collect();
            assert_eq!(buckets(m.capacity()), want, "{n} entries");
        }
        assert_eq!(hash_table::<u64, u64>(0), 0);
        assert_eq!(hash_table::<u64, u64>(7), alloc_bytes(8 * 16 + 8 + 16));
    }

    #[test]
    fn btree_nodes() {
        assert_eq!(btree::<u64, u64>(0), 0);
        let leaf = alloc_bytes(16 + 11 * 16);
        assert_eq!(btree::<u64, u64>(6), leaf);
        // 100 entries: 14 leaves under 2 internal nodes under a root
        assert_eq!(
            btree::<u64, u64>(100),
            14 * leaf + 3 * alloc_bytes(16 + 11 * 16 + 96)
        );
    }
}
