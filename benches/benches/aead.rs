//! AES-256-GCM through the engine's reusable `Sealer` (random nonce per message, associated
//! data bound): seal and open of 64 KiB and 1 MiB messages. AES-GCM is data-independent, so
//! the input is random bytes.
//!
//! Run: `cargo bench -p hvelv-benches --bench aead -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hvelv_engine::crypto::{random_bytes, KeySet};

const AAD: &[u8] = b"hvelv bench aad";

fn bench_aes_gcm(c: &mut Criterion) {
    let sealer = KeySet::generate().unwrap().sealer();
    let mut group = c.benchmark_group("aes-256-gcm");
    for size in [64usize << 10, 1 << 20] {
        let mut plain = vec![0u8; size];
        random_bytes(&mut plain).unwrap();
        let sealed = sealer.seal(AAD, &plain).unwrap();
        let name = format!("{} KiB", size >> 10);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", &name), &plain, |b, p| {
            b.iter(|| sealer.seal(AAD, black_box(p)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("open", &name), &sealed, |b, s| {
            b.iter(|| sealer.open(AAD, black_box(s), &"bench").unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_aes_gcm);
criterion_main!(benches);
