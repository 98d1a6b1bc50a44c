//! Memory of the in-memory blob index per entry, at 1 M and 10 M entries (issue 8's target:
//! at most 48 bytes per chunk at 10 M chunks).
//!
//! Not a criterion benchmark: a counting global allocator records the bytes live on the heap
//! before and after an `Index` is built from synthetic packs (random ids, 1 MiB chunk lengths),
//! and the peak while building (a hash table holds its old and new tables while it grows).
//! The entries of each pack are dropped once added, so only the index itself stays. The RSS
//! growth from `/proc/self/status` is printed beside it as a cross-check.
//!
//! Two layouts of the same blobs: 16 blobs per 16 MiB pack (1 MiB chunks: realistic, and the
//! pack table costs something per blob) and 65 536 blobs per pack (the blob map alone).
//!
//! Run: `cargo bench -p hvelv-benches --bench index_memory`
//! Sizes: `HVELV_INDEX_SIZES=1000000,4000000 cargo bench -p hvelv-benches --bench index_memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hvelv_engine::index::Index;

#[path = "support/synthetic_index.rs"]
mod synthetic_index;
use synthetic_index::SyntheticPacks;

/// The system allocator, counting live bytes (as requested) and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Resident set size in bytes (`VmRSS`), 0 where `/proc` is missing.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn measure(entries: usize, per_pack: usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let rss_before = rss();
    let start = Instant::now();
    let mut gen = SyntheticPacks::new(entries as u64, per_pack);
    let mut index = Index::new();
    let mut left = entries;
    while left > 0 {
        let (pack, mut blobs) = gen.next_pack();
        blobs.truncate(left);
        left -= blobs.len();
        index.add_pack(pack, [0; 32], &blobs);
    }
    let secs = start.elapsed().as_secs_f64();
    let held = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let rss_delta = rss().saturating_sub(rss_before);
    assert_eq!(index.len(), entries);
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    println!(
        "| {entries} | {per_pack} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {secs:.1} |",
        index.pack_count(),
        mib(held),
        held as f64 / entries as f64,
        mib(peak),
        peak as f64 / entries as f64,
        rss_delta as f64 / entries as f64,
    );
    drop(index);
}

fn main() {
    let sizes: Vec<usize> = std::env::var("HVELV_INDEX_SIZES")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("HVELV_INDEX_SIZES: comma-separated counts")
        })
        .collect();
    println!(
        "| entries | blobs/pack | packs | heap MiB | heap B/entry | peak MiB | peak B/entry | RSS growth B/entry | build s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for per_pack in [16, 65_536] {
            measure(n, per_pack);
        }
    }
}
