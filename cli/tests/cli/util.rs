//! Shared helpers: a repository in a temp dir, running hvelv, comparing trees.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSWORD: &str = "test password";

/// A scratch directory with a repository path inside.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    /// A `hvelv` command with repository and password set.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hvelv"));
        c.env("HVELV_REPOSITORY", self.repo())
            .env("HVELV_PASSWORD", PASSWORD)
            .env_remove("HVELV_PASSWORD_FILE")
            .env_remove("HVELV_PASSWORD_COMMAND");
        c
    }
    /// Run with args; panics with full output unless the exit code is `code`.
    pub fn run_code(&self, args: &[&str], code: i32) -> Output {
        expect_code(&mut self.cmd(), args, code)
    }
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_code(args, 0)
    }
    /// `init` with fast KDF parameters and optional extra flags.
    pub fn init(&self, extra: &[&str]) {
        let mut a = vec!["init", "--kdf-memory", "8", "--kdf-passes", "1"];
        a.extend_from_slice(extra);
        self.run(&a);
    }
    /// `backup --json`, returning the parsed JSON.
    pub fn backup(&self, paths: &[&Path], extra: &[&str]) -> serde_json::Value {
        let mut a: Vec<String> = vec!["backup".into(), "--json".into()];
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(paths.iter().map(|p| p.to_str().unwrap().to_owned()));
        let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        let out = self.run(&a);
        serde_json::from_slice(&out.stdout).expect("backup --json output")
    }
}

/// Run `cmd` with `args`; panics with full output unless the exit code is `code`.
pub fn expect_code(cmd: &mut Command, args: &[&str], code: i32) -> Output {
    let out = cmd.args(args).output().expect("run hvelv");
    assert_eq!(
        out.status.code(),
        Some(code),
        "hvelv {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every file below `dir`.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Deterministic pseudo-random bytes (splitmix64).
pub fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        s = s.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Everything we restore, per entry, relative to the tree root.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Meta {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: (i64, i64),
    pub atime: Option<(i64, i64)>,
    pub rdev: u64,
    pub link: Vec<u8>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub content: Option<[u8; 32]>,
    /// Index of the first path sharing this inode (hard link group), if nlink > 1.
    pub link_group: Option<String>,
    /// True when the file occupies clearly fewer blocks than its size.
    pub sparse: bool,
}

fn kind(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "dir"
    } else if t.is_symlink() {
        "symlink"
    } else if t.is_file() {
        "file"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_char_device() {
        "chardev"
    } else if t.is_block_device() {
        "blockdev"
    } else {
        "socket"
    }
}

/// Metadata of every entry below `root` (not `root` itself), keyed by relative path.
/// `with_atime` also compares file access times (content is read with O_NOATIME after lstat).
pub fn tree_meta(root: &Path, with_atime: bool) -> BTreeMap<Vec<u8>, Meta> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let k = kind(&m);
            let mut xattrs: Vec<(Vec<u8>, Vec<u8>)> = if k == "symlink" {
                Vec::new()
            } else {
                xattr::list(&p)
                    .map(|l| {
                        l.filter_map(|n| {
                            let v = xattr::get(&p, &n).ok().flatten()?;
                            Some((n.as_bytes().to_vec(), v))
                        })
                        .collect()
                    })
                    .unwrap_or_default()
            };
            xattrs.sort();
            let link_group = (k == "file" && m.nlink() > 1).then(|| {
                inodes
                    .entry((m.dev(), m.ino()))
                    .or_insert_with(|| String::from_utf8_lossy(&rel).into_owned())
                    .clone()
            });
            let mut meta = Meta {
                kind: k,
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                size: if k == "file" { m.len() } else { 0 },
                mtime: if k == "dir" {
                    (0, 0)
                } else {
                    (m.mtime(), m.mtime_nsec())
                },
                atime: (with_atime && k == "file").then(|| (m.atime(), m.atime_nsec())),
                rdev: m.rdev(),
                link: if k == "symlink" {
                    fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec()
                } else {
                    Vec::new()
                },
                xattrs,
                content: None,
                link_group,
                sparse: k == "file" && m.len() >= 1 << 20 && m.blocks() * 512 < m.len() / 2,
            };
            if k == "file" {
                let mut f = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOATIME)
                    .open(&p)
                    .unwrap();
                let mut h = blake3::Hasher::new();
                let mut buf = vec![0; 1 << 20];
                loop {
                    let n = f.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                meta.content = Some(*h.finalize().as_bytes());
            }
            if k == "dir" {
                stack.push(p.clone());
            }
            out.insert(rel, meta);
        }
    }
    // Directory mtimes: read after the walk (reading does not change them).
    for (rel, meta) in out.iter_mut() {
        if meta.kind == "dir" {
            let m = fs::symlink_metadata(root.join(std::ffi::OsStr::from_bytes(rel))).unwrap();
            meta.mtime = (m.mtime(), m.mtime_nsec());
        }
    }
    out
}

/// Assert two trees are equal entry by entry, with a readable diff.
pub fn assert_same_tree(a: &Path, b: &Path, with_atime: bool) {
    let ma = tree_meta(a, with_atime);
    let mb = tree_meta(b, with_atime);
    let ka: Vec<_> = ma
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    let kb: Vec<_> = mb
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(
        ka,
        kb,
        "entry lists differ between {} and {}",
        a.display(),
        b.display()
    );
    for (k, va) in &ma {
        assert_eq!(
            Some(va),
            mb.get(k),
            "entry {:?} differs",
            String::from_utf8_lossy(k)
        );
    }
}

/// `diff -r` (no output means equal); skipped if diff is missing.
pub fn diff_r(a: &Path, b: &Path) {
    let Ok(out) = Command::new("diff")
        .arg("-r")
        .arg("--no-dereference")
        .arg(a)
        .arg(b)
        .output()
    else {
        eprintln!("diff not installed; relying on the metadata comparison");
        return;
    };
    // diff cannot compare special files; it reports "File A is a fifo while file B is a fifo".
    // Those lines are fine when both sides are the same type (tree_meta compares them).
    let text = String::from_utf8_lossy(&out.stdout);
    let real: Vec<&str> = text
        .lines()
        .filter(|l| {
            let same_type = l.starts_with("File ")
                && l.split(" while file ").count() == 2
                && l.split(" is a ").nth(1).map(|t| t.split(" while").next())
                    == l.rsplit(" is a ").next().map(Some);
            !same_type
        })
        .collect();
    assert!(
        out.status.success() || real.is_empty(),
        "diff -r {} {}:\n{}",
        a.display(),
        b.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

pub fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Files in a repository directory, except the config and keys.
pub fn repo_files(repo: &Path, sub: &str) -> Vec<PathBuf> {
    let d = repo.join(sub);
    if !d.exists() {
        return Vec::new();
    }
    all_files(&d)
}

/// Content hash of every entry below `root`, by relative path (`None` for non-files).
pub type Hashes = BTreeMap<Vec<u8>, Option<[u8; 32]>>;

/// See [`Hashes`].
pub fn content_hashes(root: &Path) -> Hashes {
    tree_meta(root, false)
        .into_iter()
        .map(|(k, m)| (k, m.content))
        .collect()
}

/// Start `cmd` (output discarded) and SIGKILL it after `delay` unless it ended before.
/// Returns true if it was killed while still running.
pub fn kill_after(mut cmd: Command, delay: std::time::Duration) -> bool {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start hvelv");
    let start = std::time::Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let killed = child.try_wait().unwrap().is_none();
    if killed {
        let _ = child.kill(); // SIGKILL
    }
    let _ = child.wait();
    killed
}
