//! Sources (placeholder replaced below).
