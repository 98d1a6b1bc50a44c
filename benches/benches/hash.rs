//! Keyed BLAKE3 (`KeySet::blob_id`, the content address of every blob) on 4 KiB (small files,
//! tree blobs), 64 KiB and 1 MiB (the default average chunk) inputs. BLAKE3 is
//! data-independent, so one kind of input (the corpus's office documents) is enough.
//!
//! Run: `cargo bench -p hvelv-benches --bench hash -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hvelv_benches::samples::Samples;
use hvelv_engine::crypto::KeySet;

fn bench_blob_id(c: &mut Criterion) {
    let keys = KeySet::generate().unwrap();
    let data = Samples::generate(1 << 20, 1).unwrap().docs;
    let mut group = c.benchmark_group("blake3-keyed");
    for size in [4 << 10, 64 << 10, 1 << 20] {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{} KiB", size >> 10)),
            &data[..size],
            |b, d| b.iter(|| keys.blob_id(black_box(d))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_blob_id);
criterion_main!(benches);
