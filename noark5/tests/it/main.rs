//! The integration tests of hvelv-noark5 (one binary; modules by area).

mod addml_golden;
mod arkade;
mod build;
mod existing;
mod helse;
mod jsonl;
mod package;
mod util;
