//! Repository operations. Each is an async function over an [`crate::IndexedRepository`] that
//! runs its CPU work on threads.

pub mod backup;
pub mod copy;
pub mod exclude;
pub(crate) mod fetch;
pub mod ls;
pub mod prune;
pub mod restore;
