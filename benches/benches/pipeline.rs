//! The whole blob pipeline on 1 MiB chunks (the default average chunk size) of each kind of
//! corpus data, at the default zstd level 3:
//!
//! * `seal`: what a backup does per new chunk: keyed BLAKE3 id, then `BlobSealer::seal`
//!   (compressibility probe, zstd when it helps, AES-256-GCM);
//! * `open`: what a restore does per chunk: `open_blob` (AES-256-GCM open, zstd decompression,
//!   id re-derived and compared).
//!
//! Throughput counts plaintext bytes. One thread; the backup runs one sealer per worker.
//! Run: `cargo bench -p hvelv-benches --bench pipeline -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hvelv_benches::samples::Samples;
use hvelv_engine::blob::{open_blob, BlobSealer, BlobType};
use hvelv_engine::config::DEFAULT_ZSTD_LEVEL;
use hvelv_engine::crypto::KeySet;

const CHUNK: usize = 1 << 20;
const LEVEL: i32 = DEFAULT_ZSTD_LEVEL;

fn bench_pipeline(c: &mut Criterion) {
    let keys = KeySet::generate().unwrap();
    let session = keys.session().unwrap();
    let opener = session.sealer.clone();
    let mut sealer = BlobSealer::new(&session.sealer, LEVEL).unwrap();
    let samples = Samples::generate(CHUNK, 1).unwrap();
    let mut group = c.benchmark_group("blob-pipeline");
    group.throughput(Throughput::Bytes(CHUNK as u64));
    for (kind, chunk) in samples.kinds() {
        let id = keys.blob_id(chunk);
        let sealed = sealer.seal(BlobType::Data, &id, chunk).unwrap();
        eprintln!(
            "{kind}: 1 MiB chunk sealed to {} bytes (ratio {:.2})",
            sealed.len(),
            CHUNK as f64 / sealed.len() as f64
        );
        group.bench_with_input(BenchmarkId::new("seal", kind), chunk, |b, d| {
            b.iter(|| {
                let d = black_box(d);
                let id = keys.blob_id(d);
                sealer.seal(BlobType::Data, &id, d).unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("open", kind), &sealed, |b, s| {
            b.iter(|| open_blob(&keys, &opener, BlobType::Data, &id, black_box(s)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
