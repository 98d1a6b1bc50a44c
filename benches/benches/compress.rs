//! zstd at levels 1, 3 (the default) and 6: compression and decompression of 1 MiB (the
//! default average chunk) of each kind of corpus data. Goes through the engine's own entry
//! points (`blob::compress`, `blob::decompress`, which checks the frame's content size).
//!
//! Throughput counts uncompressed bytes both ways; the compression ratio is printed once.
//! Run: `cargo bench -p hvelv-benches --bench compress -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hvelv_benches::samples::Samples;
use hvelv_engine::blob::{compress, decompress};

const LEN: usize = 1 << 20;

fn bench_zstd(c: &mut Criterion) {
    let samples = Samples::generate(LEN, 1).unwrap();
    let mut group = c.benchmark_group("zstd");
    group.throughput(Throughput::Bytes(LEN as u64));
    for level in [1, 3, 6] {
        for (kind, data) in samples.kinds() {
            let packed = compress(data, level).unwrap();
            eprintln!(
                "zstd -{level} {kind}: {LEN} -> {} bytes (ratio {:.2})",
                packed.len(),
                LEN as f64 / packed.len() as f64
            );
            group.bench_with_input(
                BenchmarkId::new(format!("compress-{level}"), kind),
                data,
                |b, d| b.iter(|| compress(black_box(d), level).unwrap()),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("decompress-{level}"), kind),
                &packed,
                |b, p| b.iter(|| decompress(black_box(p)).unwrap()),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_zstd);
criterion_main!(benches);
