//! The in-memory blob index (`hvelv_engine::index::Index`: a sorted, bucketed table of 45-byte
//! records) at 1 M entries (1 TiB of 1 MiB chunks), beside the hash-map index it replaced
//! (`support/hashmap_index.rs`, named `hashmap`; the engine's is `sorted`):
//!
//! * `lookup`: `get` and `dedup_hit` of 4096 ids that are present (hit) or absent (miss), in
//!   random order, so most probes miss the CPU caches as they do in a backup; `hit-dependent`
//!   chains the lookups (latency instead of throughput);
//! * `build`: `Index::from_files` over 16 index files holding 1 M entries in total (what opening
//!   a repository does after decoding), `merge` of one 100 k-entry file into a 1 M-entry index
//!   (the index clone is set up outside the timing), and `IndexFile::decode` of 100 k entries.
//!
//! Throughput is in entries (lookups or index entries). Memory per entry: `benches/index_memory.rs`.
//! Run: `cargo bench -p hvelv-benches --bench index -- --warm-up-time 1 --measurement-time 3`

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hvelv_engine::index::{Index, IndexFile};
use hvelv_engine::BlobId;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

#[path = "support/hashmap_index.rs"]
mod hashmap_index;
use hashmap_index::HashMapIndex;

#[path = "support/synthetic_index.rs"]
mod synthetic_index;
use synthetic_index::SyntheticPacks;

/// 2^20, so that it splits evenly into 16 files of 16-blob packs.
const ENTRIES: usize = 1 << 20;
/// 1 MiB chunks in 16 MiB packs.
const PER_PACK: usize = 16;
const PROBES: usize = 4096;
const FILES: usize = 16;

/// `n` entries spread over `files` index files.
fn index_files(gen: &mut SyntheticPacks, n: usize, files: usize) -> Vec<IndexFile> {
    let packs_per_file = n / PER_PACK / files;
    (0..files)
        .map(|_| IndexFile {
            packs: (0..packs_per_file).map(|_| gen.next_pack()).collect(),
        })
        .collect()
}

fn bench_index(c: &mut Criterion) {
    let mut gen = SyntheticPacks::new(1, PER_PACK);
    let files = index_files(&mut gen, ENTRIES, FILES);
    let none = HashSet::new();
    let index = Index::from_files(&files, &none);
    assert_eq!(index.len(), ENTRIES);
    let step = ENTRIES / PROBES;
    let mut present: Vec<BlobId> = files
        .iter()
        .flat_map(|f| f.packs.iter().flat_map(|p| p.entries.iter().map(|e| e.id)))
        .step_by(step)
        .take(PROBES)
        .collect();
    // Visit in random order. (Id order would be memory order for both indexes: the sorted
    // table by construction, the hash map because its hash is the id's first bytes.)
    present.shuffle(&mut SmallRng::seed_from_u64(7));
    let absent: Vec<BlobId> = (0..PROBES).map(|_| BlobId(gen.id())).collect();

    let old = HashMapIndex::from_files(&files, &none);
    assert_eq!(old.len(), ENTRIES);

    let mut group = c.benchmark_group("index-lookup-1M");
    group.throughput(Throughput::Elements(PROBES as u64));
    for (name, ids) in [("hit", &present), ("miss", &absent)] {
        group.bench_function(format!("sorted/get/{name}"), |b| {
            b.iter(|| {
                black_box(ids)
                    .iter()
                    .filter(|id| index.get(id).is_some())
                    .count()
            })
        });
        group.bench_function(format!("hashmap/get/{name}"), |b| {
            b.iter(|| {
                black_box(ids)
                    .iter()
                    .filter(|id| old.get(id).is_some())
                    .count()
            })
        });
        group.bench_function(format!("sorted/dedup_hit/{name}"), |b| {
            b.iter(|| {
                black_box(ids)
                    .iter()
                    .filter(|id| index.dedup_hit(id))
                    .count()
            })
        });
        group.bench_function(format!("hashmap/dedup_hit/{name}"), |b| {
            b.iter(|| black_box(ids).iter().filter(|id| old.dedup_hit(id)).count())
        });
    }
    // Latency: each lookup's id depends on the previous lookup's result, so lookups cannot
    // overlap (in a backup one lookup follows the hashing of a whole chunk, ~300 µs). The
    // loops above measure throughput, where a hash map's predictable probe lets the CPU run
    // several lookups' cache misses at once.
    fn chain(ids: &[BlobId], get: impl Fn(&BlobId) -> Option<u32>) -> usize {
        let mut i = 0;
        for _ in 0..ids.len() {
            let raw = get(&ids[i]).unwrap_or(0) as usize;
            i = (i + 1 + (raw & 1)) % ids.len();
        }
        i
    }
    group.bench_function("sorted/get/hit-dependent", |b| {
        b.iter(|| {
            chain(black_box(&present), |id| {
                index.get(id).map(|l| l.raw_length)
            })
        })
    });
    group.bench_function("hashmap/get/hit-dependent", |b| {
        b.iter(|| chain(black_box(&present), |id| old.get(id).map(|l| l.raw_length)))
    });
    group.finish();

    let mut group = c.benchmark_group("index-build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("sorted/from_files/1M in 16 files", |b| {
        b.iter(|| Index::from_files(black_box(&files), &none).len())
    });
    group.bench_function("hashmap/from_files/1M in 16 files", |b| {
        b.iter(|| HashMapIndex::from_files(black_box(&files), &none).len())
    });
    let extra = index_files(&mut gen, 100_000, 1).pop().unwrap();
    group.throughput(Throughput::Elements(extra.blob_count() as u64));
    // One merge of 100 k entries stays pending (below an eighth of 1 M); `compact` folds
    // them into the table, as the next merge past the threshold would.
    group.bench_function("sorted/merge/100k into 1M", |b| {
        b.iter_batched(
            || index.clone(),
            |mut i| {
                i.merge(black_box(&extra));
                i
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("sorted/merge+compact/100k into 1M", |b| {
        b.iter_batched(
            || index.clone(),
            |mut i| {
                i.merge(black_box(&extra));
                i.compact();
                i
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("hashmap/merge/100k into 1M", |b| {
        b.iter_batched(
            || old.clone(),
            |mut i| {
                i.merge(black_box(&extra));
                i
            },
            BatchSize::PerIteration,
        )
    });
    let encoded = extra.encode();
    group.bench_function("decode/100k", |b| {
        b.iter(|| IndexFile::decode(black_box(&encoded)).unwrap().blob_count())
    });
    group.finish();
}

criterion_group!(benches, bench_index);
criterion_main!(benches);
