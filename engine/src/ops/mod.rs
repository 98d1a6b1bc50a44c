//! Repository operations. Each is an async function over an [`crate::IndexedRepository`] that
//! runs its CPU work on threads.

pub mod backup;
pub mod check;
mod check_report;
pub mod exclude;
pub(crate) mod fetch;
pub mod ls;
pub mod repair;
pub mod restore;
pub mod verify;
