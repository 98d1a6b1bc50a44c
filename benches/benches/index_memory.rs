//! Memory of the in-memory blob index per entry, at 1 M and 10 M entries (issue 8's target:
//! at most 48 bytes per chunk at 10 M chunks).
//!
//! Not a criterion benchmark: a counting global allocator records the bytes live on the heap
//! before and after an index is built from synthetic packs (random ids, 1 MiB chunk lengths),
//! and the peak while building. The RSS growth from `/proc/self/status` is printed beside it as
//! a cross-check (it lags frees: the allocator keeps some pages).
//!
//! Four ways to hold the same blobs:
//!
//! * `hashmap add_pack`: the index before issue 8 (`support/hashmap_index.rs`), pack by pack;
//! * `sorted add_pack`: the engine's `Index`, pack by pack, as left by the last `add_pack`
//!   (up to an eighth of the blobs still pending in a hash map);
//! * `sorted +compact`: the same after `Index::compact`;
//! * `sorted from_files`: the engine's `Index::from_files` over index files holding every pack,
//!   which is how a repository loads its index. Its peak counts the decoded files, which
//!   are not part of the index: `peak B/entry` shows the peak above them.
//!
//! Two layouts of the same blobs: 16 blobs per 16 MiB pack (1 MiB chunks in the default packs:
//! the pack table costs about 2.5 bytes per blob) and 512 per pack (the largest packs, 512 MiB:
//! the blob table almost alone). More blobs of this size per pack would put offsets past any
//! real pack (1 GiB), which the index stores, but in its slow side map.
//!
//! Run: `cargo bench -p hvelv-benches --bench index_memory`
//! Sizes: `HVELV_INDEX_SIZES=1000000,4000000 cargo bench -p hvelv-benches --bench index_memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hvelv_engine::index::{Index, IndexFile, IndexedPack};

#[path = "support/hashmap_index.rs"]
mod hashmap_index;
use hashmap_index::HashMapIndex;

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

/// The packs of `entries` blobs, `per_pack` to a pack, handed to `add` one by one and dropped.
fn each_pack(entries: usize, per_pack: usize, mut add: impl FnMut(IndexedPack)) {
    let mut gen = SyntheticPacks::new(entries as u64, per_pack);
    let mut left = entries;
    while left > 0 {
        let mut p = gen.next_pack();
        p.entries.truncate(left);
        left -= p.entries.len();
        add(p);
    }
}

/// A baseline of heap, RSS and time; [`Mark::row`] prints what grew since, per entry.
struct Mark {
    live: usize,
    rss: usize,
    start: Instant,
}

impl Mark {
    fn now() -> Mark {
        let live = LIVE.load(Ordering::Relaxed);
        PEAK.store(live, Ordering::Relaxed);
        Mark {
            live,
            rss: rss(),
            start: Instant::now(),
        }
    }

    /// Count the peak and the time from here, keeping the baseline.
    fn restart(&mut self) {
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        self.start = Instant::now();
    }

    /// Print the row; `inputs` are bytes live during the build that are not the index.
    fn row(&self, what: &str, entries: usize, per_pack: usize, packs: usize, inputs: usize) {
        let secs = self.start.elapsed().as_secs_f64();
        let held = LIVE.load(Ordering::Relaxed) - self.live;
        let peak = PEAK.load(Ordering::Relaxed) - self.live - inputs;
        let rss_delta = rss().saturating_sub(self.rss);
        let mib = |b: usize| b as f64 / (1 << 20) as f64;
        println!(
            "| {what} | {entries} | {per_pack} | {packs} | {:.1} | {:.1} | {:.1} | {:.1} | {secs:.1} |",
            mib(held),
            held as f64 / entries as f64,
            peak as f64 / entries as f64,
            rss_delta as f64 / entries as f64,
        );
    }
}

fn measure(entries: usize, per_pack: usize) {
    let m = Mark::now();
    let mut old = HashMapIndex::default();
    each_pack(entries, per_pack, |p| {
        old.add_pack(p.id, p.session, &p.entries)
    });
    assert_eq!(old.len(), entries);
    m.row("hashmap add_pack", entries, per_pack, old.pack_count(), 0);
    drop(old);

    let m = Mark::now();
    let mut index = Index::new();
    each_pack(entries, per_pack, |p| {
        index.add_pack(p.id, p.session, &p.entries)
    });
    assert_eq!(index.len(), entries);
    m.row("sorted add_pack", entries, per_pack, index.pack_count(), 0);
    index.compact();
    assert_eq!(index.len(), entries);
    m.row("sorted +compact", entries, per_pack, index.pack_count(), 0);
    drop(index);

    let mut m = Mark::now();
    let mut packs = Vec::new();
    each_pack(entries, per_pack, |p| packs.push(p));
    let files = [IndexFile { packs }];
    let inputs = LIVE.load(Ordering::Relaxed) - m.live;
    m.restart();
    let index = Index::from_files(&files, &HashSet::new());
    assert_eq!(index.len(), entries);
    drop(files);
    m.row(
        "sorted from_files",
        entries,
        per_pack,
        index.pack_count(),
        inputs,
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
        "| index, built by | entries | blobs/pack | packs | heap MiB | heap B/entry | peak B/entry | RSS growth B/entry | build s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for per_pack in [16, 512] {
            measure(n, per_pack);
        }
    }
}
