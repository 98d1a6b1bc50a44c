//! Pack building: `PackBuilder::add` of already sealed blobs, then `finish` (sealed header,
//! trailer, BLAKE3 of the whole pack for its file name), for a 16 MiB pack (the default
//! target) made of 16 blobs of 1 MiB (data) or of 4096 blobs of 4 KiB (small files, trees).
//!
//! Throughput counts the blob bytes added. The blobs are random (sealed data is).
//! Run: `cargo bench -p hvelv-benches --bench pack -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hvelv_engine::blob::BlobType;
use hvelv_engine::crypto::{random_bytes, KeySet, Session};
use hvelv_engine::pack::PackBuilder;
use hvelv_engine::BlobId;

const PACK: usize = 16 << 20;

fn build(session: &Session, blobs: &[(BlobId, &[u8])]) -> usize {
    let mut p = PackBuilder::with_capacity(PACK + (64 << 10));
    for (id, b) in blobs {
        p.add(BlobType::Data, *id, b.len() as u32, b);
    }
    p.finish(session).unwrap().bytes.len()
}

fn bench_pack(c: &mut Criterion) {
    let keys = KeySet::generate().unwrap();
    let session = keys.session().unwrap();
    let mut data = vec![0u8; PACK];
    random_bytes(&mut data).unwrap();
    let mut group = c.benchmark_group("pack-build");
    group.throughput(Throughput::Bytes(PACK as u64));
    for blob in [1usize << 20, 4 << 10] {
        let blobs: Vec<(BlobId, &[u8])> = data.chunks(blob).map(|b| (keys.blob_id(b), b)).collect();
        let name = format!("{} x {} KiB", blobs.len(), blob >> 10);
        group.bench_with_input(BenchmarkId::from_parameter(name), &blobs, |b, blobs| {
            b.iter(|| build(&session, black_box(blobs)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_pack);
criterion_main!(benches);
