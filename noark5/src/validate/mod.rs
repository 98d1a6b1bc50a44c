//! Arkade-equivalent validation of an extract folder (placeholder replaced below).
