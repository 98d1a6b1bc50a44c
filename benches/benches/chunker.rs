//! Chunker throughput: `hvelv_engine::chunker::Chunker::cut` against the `fastcdc` crate's
//! FastCDC 2020 (normalization level 2) with the same min/avg/max, on 64 MiB of random data,
//! text-like data (repetitive words) and a mix of both in 1 MiB stripes.
//!
//! Throughput counts every byte of the buffer, including the `min` bytes each chunk skips.
//! Run: `cargo bench -p hvelv-benches --bench chunker -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fastcdc::v2020::{FastCDC, Normalization};
use hvelv_engine::chunker::{Chunker, ChunkerParams};

const LEN: usize = 64 << 20;
const STRIPE: usize = 1 << 20;

/// splitmix64, so the data is the same with every crate version.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Words from a small vocabulary, with punctuation and line breaks: low entropy, long repeats.
fn text(seed: u64, len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "archive",
        "record",
        "of",
        "and",
        "backup",
        "journal",
        "case",
        "file",
        "to",
        "a",
        "in",
        "document",
        "registry",
        "is",
        "snapshot",
        "for",
        "municipality",
        "that",
        "with",
        "letter",
        "meeting",
        "decision",
        "on",
        "be",
        "by",
        "this",
        "from",
        "date",
        "reference",
        "council",
        "agency",
    ];
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(len + 32);
    while out.len() < len {
        let r = rng.next();
        out.extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
        out.push(match (r >> 32) % 16 {
            0 => b'\n',
            1 => b',',
            2 => b'.',
            _ => b' ',
        });
    }
    out.truncate(len);
    out
}

fn mixed(len: usize) -> Vec<u8> {
    let (r, t) = (random(2, len), text(3, len));
    let mut out = Vec::with_capacity(len);
    for (i, (rs, ts)) in r.chunks(STRIPE).zip(t.chunks(STRIPE)).enumerate() {
        out.extend_from_slice(if i % 2 == 0 { rs } else { ts });
    }
    out
}

fn hvelv_chunks(chunker: &Chunker, data: &[u8]) -> usize {
    let (mut rest, mut count) = (data, 0);
    while !rest.is_empty() {
        let n = chunker.cut(rest);
        rest = &rest[n..];
        count += 1;
    }
    count
}

fn fastcdc_chunks(p: ChunkerParams, data: &[u8]) -> usize {
    FastCDC::with_level(data, p.min, p.avg, p.max, Normalization::Level2).count()
}

fn bench_chunker(c: &mut Criterion) {
    let params = ChunkerParams::DEFAULT;
    let chunker = Chunker::new(params, &[7u8; 32]).unwrap();
    let inputs = [
        ("random", random(1, LEN)),
        ("text", text(1, LEN)),
        ("mixed", mixed(LEN)),
    ];
    let mut group = c.benchmark_group("chunker");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(LEN as u64));
    for (name, data) in &inputs {
        let (ours, theirs) = (hvelv_chunks(&chunker, data), fastcdc_chunks(params, data));
        eprintln!(
            "{name}: hvelv {ours} chunks (avg {} KiB), fastcdc {theirs} chunks (avg {} KiB)",
            LEN / ours / 1024,
            LEN / theirs / 1024
        );
        group.bench_with_input(BenchmarkId::new("hvelv", name), data, |b, d| {
            b.iter(|| hvelv_chunks(&chunker, black_box(d)))
        });
        group.bench_with_input(BenchmarkId::new("fastcdc-v2020", name), data, |b, d| {
            b.iter(|| fastcdc_chunks(params, black_box(d)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_chunker);
criterion_main!(benches);
