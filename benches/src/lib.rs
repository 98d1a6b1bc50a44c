//! Benchmark support: the deterministic corpus generator.
//!
//! [`corpus`] needs no part of the engine, so the `hvelv-corpus` binary and the peer
//! comparison (`benches/compare.sh`) keep working while the engine is mid-change.

pub mod corpus;
