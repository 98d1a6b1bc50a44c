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
