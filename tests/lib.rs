//! Cross-crate scenario tests live in `scenarios.rs`.
