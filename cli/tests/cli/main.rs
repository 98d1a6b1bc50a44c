//! End-to-end tests of the `hvelv` binary: one integration-test binary, helpers in `util`.

mod util;

mod archive;
mod check;
mod config;
mod copy;
mod crash;
mod damage;
mod dedup;
mod diff;
mod forget;
mod keys;
mod nightly;
mod noark5_package;
mod prune;
mod put_only;
mod roundtrip;
mod s3;
