//! End-to-end tests of the `hvelv` binary: one integration-test binary, helpers in `util`.

mod util;

mod check;
mod crash;
mod damage;
mod dedup;
mod roundtrip;
mod s3;
