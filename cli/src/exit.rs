//! Exit codes (documented in README.md) and error reporting.

use hvelv_engine::ErrorKind;

/// Success.
pub const OK: i32 = 0;
/// Fatal error: nothing or not everything was done.
pub const FATAL: i32 = 1;
/// The operation finished but some files could not be read (backup) or restored (restore).
pub const PARTIAL: i32 = 3;
/// `noark5 validate`/`extract`: the extract has errors (the report lists them).
pub const FINDINGS: i32 = 4;
/// No repository at the given location.
pub const NO_REPOSITORY: i32 = 10;
/// Another job conflicts (a second prune), or a prune overtook this job; retry later.
pub const CONFLICT: i32 = 11;
/// Wrong password.
pub const WRONG_PASSWORD: i32 = 12;
/// Repository data is damaged or was tampered with; `check` found errors.
pub const CORRUPT: i32 = 13;
/// The repository was opened with a put-only key, which can only add backups.
pub const PUT_ONLY: i32 = 15;

/// A file is under S3 Object Lock retention and cannot be deleted or overwritten yet.
pub const LOCKED: i32 = 14;
/// `run`: a step of a job failed (the report names it); the other steps ran.
pub const RUN_FAILED: i32 = 20;
/// `run`: the mass-change alert was raised (the report says why).
pub const RUN_ALERT: i32 = 21;

/// Print an error chain and choose the exit code from the engine error kind, if any.
pub fn report(e: &anyhow::Error) -> i32 {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    match e.downcast_ref::<hvelv_engine::Error>().map(|e| e.kind()) {
        Some(ErrorKind::NotFound) if e.to_string().contains("no hvelv repository") => NO_REPOSITORY,
        Some(ErrorKind::WrongPassword) => WRONG_PASSWORD,
        Some(ErrorKind::Corrupt) => CORRUPT,
        Some(ErrorKind::Conflict) => CONFLICT,
        Some(ErrorKind::PutOnly) => PUT_ONLY,
        Some(ErrorKind::Locked) => LOCKED,
        _ => FATAL,
    }
}
