//! The in-memory blob index (`hvelv_engine::index::Index`, today a hash map of blob id →
//! location) at 1 M entries (1 TiB of 1 MiB chunks):
//!
//! * `lookup`: `get` and `dedup_hit` of 4096 ids that are present (hit) or absent (miss), in
//!   random order, so most probes miss the CPU caches as they do in a backup;
//! * `build`: `Index::from_files` over 16 index files holding 1 M entries in total (what opening
//!   a repository does after decoding), `merge` of one 100 k-entry file into a 1 M-entry index
//!   (the index clone is set up outside the timing), and `IndexFile::decode` of 100 k entries.
//!
//! Throughput is in entries (lookups or index entries). Memory per entry: `benches/index_memory.rs`.
//! Run: `cargo bench -p hvelv-benches --bench index -- --warm-up-time 1 --measurement-time 3`

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hvelv_engine::index::{Index, IndexFile, IndexedPack};
use hvelv_engine::BlobId;

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
            packs: (0..packs_per_file)
                .map(|_| {
                    let (id, entries) = gen.next_pack();
                    IndexedPack {
                        id,
                        session: [0; 32],
                        entries,
                    }
                })
                .collect(),
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
    // Visit in id order, which is unrelated to insertion order: random probes.
    present.sort_unstable_by_key(|id| id.0);
    let absent: Vec<BlobId> = (0..PROBES).map(|_| BlobId(gen.id())).collect();

    let mut group = c.benchmark_group("index-lookup-1M");
    group.throughput(Throughput::Elements(PROBES as u64));
    for (name, ids) in [("hit", &present), ("miss", &absent)] {
        group.bench_function(format!("get/{name}"), |b| {
            b.iter(|| {
                black_box(ids)
                    .iter()
                    .filter(|id| index.get(id).is_some())
                    .count()
            })
        });
        group.bench_function(format!("dedup_hit/{name}"), |b| {
            b.iter(|| {
                black_box(ids)
                    .iter()
                    .filter(|id| index.dedup_hit(id))
                    .count()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("index-build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("from_files/1M in 16 files", |b| {
        b.iter(|| Index::from_files(black_box(&files), &none).len())
    });
    let extra = index_files(&mut gen, 100_000, 1).pop().unwrap();
    group.throughput(Throughput::Elements(extra.blob_count() as u64));
    group.bench_function("merge/100k into 1M", |b| {
        b.iter_batched(
            || index.clone(),
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
