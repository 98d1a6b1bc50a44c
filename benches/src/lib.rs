//! Benchmark support: the deterministic corpus generator and in-memory samples cut from it.
//!
//! [`corpus`] needs no part of the engine, so the `hvelv-corpus` binary and the peer
//! comparison (`benches/compare.sh`) keep working while the engine is mid-change.

pub mod corpus;
pub mod samples;
