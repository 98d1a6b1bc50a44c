//! Repository operations. Each is an async function over an [`crate::IndexedRepository`] that
//! runs its CPU work on threads, except [`forget`], the pure retention planner.

pub mod archive;
pub mod backup;
pub mod check;
mod check_report;
pub mod copy;
pub mod diff;
pub mod drill;
pub mod exclude;
pub(crate) mod fetch;
mod files_cache;
pub mod forget;
pub mod ls;
pub mod prune;
pub mod repair;
pub mod restore;
pub mod verify;
pub mod worm;

/// CPU cores to size worker pools by (2 when the system does not say).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
