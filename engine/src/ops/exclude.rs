//! Exclude and include patterns (glob syntax, as restic and Borg users expect).
//!
//! A pattern without `/` matches an entry's name at any depth (`*.tmp`, `node_modules`).
//! A pattern with `/` matches the whole absolute path; without a leading `/` it may start at any
//! depth (`cache/*.bin` = `**/cache/*.bin`). A matched directory excludes everything below it.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// A compiled set of patterns.
#[derive(Debug, Clone)]
pub struct Patterns {
    names: GlobSet,
    paths: GlobSet,
    empty: bool,
}

impl Patterns {
    /// Compile patterns; an invalid one is an error naming it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Patterns> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        let mut empty = true;
        for p in patterns {
            let p = p.as_ref().trim_end_matches('/');
            if p.is_empty() {
                continue;
            }
            empty = false;
            let (set, pat) = if p.contains('/') {
                let full = if p.starts_with('/') {
                    p.to_owned()
                } else {
                    format!("**/{p}")
                };
                (&mut paths, full)
            } else {
                (&mut names, p.to_owned())
            };
            let g = GlobBuilder::new(&pat)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::invalid(format!("invalid pattern {p:?}: {e}")))?;
            set.add(g);
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::invalid(format!("invalid patterns: {e}")))
        };
        Ok(Patterns {
            names: build(names)?,
            paths: build(paths)?,
            empty,
        })
    }

    /// Read patterns from a file: one per line, `#` comments and blank lines ignored.
    pub fn read_file(path: &Path) -> Result<Vec<String>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!("cannot read exclude file {}: {e}", path.display()))
        })?;
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect())
    }

    /// True when there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Does `path` (absolute) match?
    pub fn matches(&self, path: &Path) -> bool {
        if self.empty {
            return false;
        }
        if let Some(name) = path.file_name() {
            if self.names.is_match(Path::new(name)) {
                return true;
            }
        }
        self.paths.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_path_patterns() {
        let p = Patterns::new(&["*.tmp", "cache/*.bin", "/srv/skip"]).unwrap();
        assert!(p.matches(Path::new("/a/b/x.tmp")));
        assert!(!p.matches(Path::new("/a/b/x.tmpl")));
        assert!(p.matches(Path::new("/a/cache/y.bin")));
        assert!(!p.matches(Path::new("/a/cache/d/y.bin")));
        assert!(p.matches(Path::new("/srv/skip")));
        assert!(!p.matches(Path::new("/x/srv/skip")));
        assert!(Patterns::new(&["[unclosed"]).is_err());
        assert!(Patterns::new::<&str>(&[]).unwrap().is_empty());
    }
}
