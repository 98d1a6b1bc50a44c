//! File-system metadata: capture a [`Node`] at backup, recreate it at restore.
//!
//! Backup calls [`capture`] for every entry it walks; restore creates the entry (a
//! [`FileWriter`] for regular files, `create_dir` for directories, [`create_special`] for the
//! rest) and then calls [`apply`]. Directories should get [`apply`] *after* their children are
//! restored, or creating the children moves the directory's mtime again.
//!
//! Decisions:
//! - Nothing here follows symlinks: `lstat`, `llistxattr`/`lgetxattr`/`lsetxattr`, `lchown`,
//!   `utimensat(AT_SYMLINK_NOFOLLOW)`, and [`FileWriter::create`] opens with `O_NOFOLLOW`.
//! - Partial metadata loss is a warning, not an error: an unreadable or vanished xattr at
//!   backup, an owner or xattr the restoring user or target file system cannot set. Errors are
//!   reserved for failures that leave the entry itself wrong (cannot create it, cannot set its
//!   mode or times).
//! - [`apply`] order is chown → xattrs → chmod → times. chown clears setuid/setgid and
//!   `security.capability`, so both come after it. xattrs come before chmod because writing
//!   `system.posix_acl_access` rewrites the group bits (and may drop setgid), and because a
//!   non-root owner cannot set `user.*` xattrs on a file already made read-only; the chmod
//!   afterwards sets the ACL mask back to the recorded group bits, which is the recorded mask.
//!   Times are last because every other step changes ctime and some change mtime.
//! - Owner/group names are looked up with the reentrant `getpw*_r`/`getgr*_r` and cached per
//!   [`Names`]; unknown ids have the name "" (and are restored numerically).

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::tree::{Node, NodeKind, Timestamp, FLAG_SPARSE};

/// Granularity of hole detection in [`FileWriter`] and of the sparse heuristic in [`capture`].
const BLOCK: usize = 4096;

/// Largest buffer offered to `getpw*_r`/`getgr*_r` (groups with many members need large ones).
const MAX_NSS_BUF: usize = 1 << 20;

/// Caches uid/gid ↔ name lookups done through the reentrant libc calls.
#[derive(Debug, Default)]
pub struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
    uids: HashMap<String, Option<u32>>,
    gids: HashMap<String, Option<u32>>,
}

impl Names {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The user name of `uid`, "" when the system does not know it.
    pub fn user(&mut self, uid: u32) -> String {
        self.users
            .entry(uid)
            .or_insert_with(|| user_name(uid).unwrap_or_default())
            .clone()
    }

    /// The group name of `gid`, "" when the system does not know it.
    pub fn group(&mut self, gid: u32) -> String {
        self.groups
            .entry(gid)
            .or_insert_with(|| group_name(gid).unwrap_or_default())
            .clone()
    }

    /// The local uid of user `name`, if there is one.
    pub fn uid_by_name(&mut self, name: &str) -> Option<u32> {
        if let Some(v) = self.uids.get(name) {
            return *v;
        }
        let v = uid_of(name);
        self.uids.insert(name.to_owned(), v);
        v
    }

    /// The local gid of group `name`, if there is one.
    pub fn gid_by_name(&mut self, name: &str) -> Option<u32> {
        if let Some(v) = self.gids.get(name) {
            return *v;
        }
        let v = gid_of(name);
        self.gids.insert(name.to_owned(), v);
        v
    }
}

/// Runs one reentrant NSS lookup, growing its string buffer on `ERANGE`. `call` returns the
/// libc return code and the extracted answer; any failure other than `ERANGE` means "unknown".
fn nss_lookup<T>(
    mut call: impl FnMut(&mut [libc::c_char]) -> (libc::c_int, Option<T>),
) -> Option<T> {
    let mut len = 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; len];
        match call(&mut buf) {
            (0, out) => return out,
            (libc::ERANGE, _) if len < MAX_NSS_BUF => len *= 4,
            (libc::EINTR, _) => {}
            _ => return None,
        }
    }
}

fn user_name(uid: u32) -> Option<String> {
    nss_lookup(|buf| {
        // SAFETY: `passwd` is plain data; all-zero is a valid (empty) value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf.len()` is the buffer's real size.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut res) };
        let name = (rc == 0 && !res.is_null() && !pwd.pw_name.is_null()).then(|| {
            // SAFETY: on success `pw_name` points to a NUL-terminated string inside `buf`.
            unsafe { CStr::from_ptr(pwd.pw_name) }
                .to_string_lossy()
                .into_owned()
        });
        (rc, name)
    })
}

fn group_name(gid: u32) -> Option<String> {
    nss_lookup(|buf| {
        // SAFETY: `group` is plain data; all-zero is a valid (empty) value.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf.len()` is the buffer's real size.
        let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut res) };
        let name = (rc == 0 && !res.is_null() && !grp.gr_name.is_null()).then(|| {
            // SAFETY: on success `gr_name` points to a NUL-terminated string inside `buf`.
            unsafe { CStr::from_ptr(grp.gr_name) }
                .to_string_lossy()
                .into_owned()
        });
        (rc, name)
    })
}

fn uid_of(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok().filter(|_| !name.is_empty())?;
    nss_lookup(|buf| {
        // SAFETY: `passwd` is plain data; all-zero is a valid (empty) value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf.len()` is the buffer's real size.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut res,
            )
        };
        (rc, (rc == 0 && !res.is_null()).then_some(pwd.pw_uid))
    })
}

fn gid_of(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok().filter(|_| !name.is_empty())?;
    nss_lookup(|buf| {
        // SAFETY: `group` is plain data; all-zero is a valid (empty) value.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut res: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf.len()` is the buffer's real size.
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut grp,
                buf.as_mut_ptr(),
                buf.len(),
                &mut res,
            )
        };
        (rc, (rc == 0 && !res.is_null()).then_some(grp.gr_gid))
    })
}

fn timestamp(secs: i64, nsecs: i64) -> Timestamp {
    Timestamp {
        secs,
        nanos: u32::try_from(nsecs)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .unwrap_or(0),
    }
}

fn errno_is(err: &io::Error, codes: &[libc::c_int]) -> bool {
    err.raw_os_error().is_some_and(|c| codes.contains(&c))
}

/// The file system does not support (this namespace of) extended attributes.
fn xattr_unsupported(err: &io::Error) -> bool {
    errno_is(err, &[libc::ENOTSUP, libc::EOPNOTSUPP])
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {path:?} contains a NUL byte")))
}

/// All extended attributes of `path` (not following symlinks), sorted by name.
fn read_xattrs(path: &Path, warnings: &mut Vec<String>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(e) if xattr_unsupported(&e) => return Vec::new(),
        Err(e) => {
            warnings.push(format!("cannot list extended attributes of {path:?}: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for name in names {
        match xattr::get(path, &name) {
            Ok(Some(value)) => out.push((name.as_bytes().to_vec(), value)),
            Ok(None) => warnings.push(format!(
                "extended attribute {name:?} of {path:?} vanished while reading it"
            )),
            Err(e) => warnings.push(format!(
                "cannot read extended attribute {name:?} of {path:?}: {e}"
            )),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Metadata of `path` (not following symlinks; `md` is its `symlink_metadata`) as a [`Node`]
/// with everything but `content`/`subtree` filled in.
///
/// `name` is the raw bytes of the file name (the whole path when it has none, like "/").
/// Parts that cannot be read (an xattr that vanished, xattrs that cannot be listed) become
/// warnings naming the path; the node is still returned. Fails only when the entry's type is
/// unknown or a symlink's target cannot be read.
pub fn capture(path: &Path, md: &Metadata, names: &mut Names) -> Result<(Node, Vec<String>)> {
    let ft = md.file_type();
    let kind = if ft.is_file() {
        NodeKind::File
    } else if ft.is_dir() {
        NodeKind::Dir
    } else if ft.is_symlink() {
        NodeKind::Symlink
    } else if ft.is_char_device() {
        NodeKind::CharDev
    } else if ft.is_block_device() {
        NodeKind::BlockDev
    } else if ft.is_fifo() {
        NodeKind::Fifo
    } else if ft.is_socket() {
        NodeKind::Socket
    } else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{path:?} has an unknown file type (mode {:o})", md.mode()),
        ));
    };
    let mut warnings = Vec::new();
    let name = path
        .file_name()
        .unwrap_or(path.as_os_str())
        .as_bytes()
        .to_vec();
    let link_target = if kind == NodeKind::Symlink {
        std::fs::read_link(path)
            .map_err(|e| Error::io(format!("reading symlink {path:?}"), e))?
            .into_os_string()
            .into_vec()
    } else {
        Vec::new()
    };
    let size = if kind == NodeKind::File { md.size() } else { 0 };
    let rdev = match kind {
        NodeKind::CharDev | NodeKind::BlockDev => md.rdev(),
        _ => 0,
    };
    let sparse =
        kind == NodeKind::File && size >= BLOCK as u64 && md.blocks().saturating_mul(512) < size;
    let node = Node {
        name,
        kind: Some(kind),
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        user: names.user(md.uid()),
        group: names.group(md.gid()),
        mtime: timestamp(md.mtime(), md.mtime_nsec()),
        atime: timestamp(md.atime(), md.atime_nsec()),
        ctime: timestamp(md.ctime(), md.ctime_nsec()),
        dev: md.dev(),
        inode: md.ino(),
        nlink: md.nlink(),
        size,
        rdev,
        link_target,
        xattrs: read_xattrs(path, &mut warnings),
        flags: if sparse { FLAG_SPARSE } else { 0 },
        content: Vec::new(),
        subtree: None,
    };
    Ok((node, warnings))
}

/// What [`apply`] restores beyond permission bits, xattrs and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Restore the recorded uid/gid as-is, ignoring the recorded names.
    pub numeric_ids: bool,
    /// Change ownership at all (normally only root can).
    pub set_owner: bool,
}

impl Default for ApplyOptions {
    /// Owners are restored when running as root, mapped by name.
    fn default() -> Self {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        ApplyOptions {
            numeric_ids: false,
            set_owner: euid == 0,
        }
    }
}

fn mknod(path: &Path, format: libc::mode_t, rdev: u64, what: &str) -> Result<()> {
    let c = c_path(path)?;
    // SAFETY: `c` is a valid NUL-terminated path.
    let rc = unsafe { libc::mknod(c.as_ptr(), format | 0o600, rdev as libc::dev_t) };
    if rc != 0 {
        return Err(Error::io(
            format!("creating {what} {path:?}"),
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Create a symlink, fifo, character/block device or socket node at `path`, as recorded in
/// `node`. Nothing is removed: fails with [`ErrorKind::AlreadyExists`] if `path` exists.
/// Non-symlinks are created with mode 0o600; [`apply`] sets the recorded mode.
pub fn create_special(path: &Path, node: &Node) -> Result<()> {
    match node.kind() {
        NodeKind::Symlink => std::os::unix::fs::symlink(OsStr::from_bytes(&node.link_target), path)
            .map_err(|e| Error::io(format!("creating symlink {path:?}"), e)),
        NodeKind::Fifo => mknod(path, libc::S_IFIFO, 0, "fifo"),
        NodeKind::CharDev => mknod(path, libc::S_IFCHR, node.rdev, "character device"),
        NodeKind::BlockDev => mknod(path, libc::S_IFBLK, node.rdev, "block device"),
        NodeKind::Socket => mknod(path, libc::S_IFSOCK, 0, "socket"),
        kind @ (NodeKind::File | NodeKind::Dir) => Err(Error::invalid(format!(
            "cannot create {path:?} as a special node: it is a {}",
            kind.as_str()
        ))),
    }
}

fn to_timespec(t: Timestamp) -> libc::timespec {
    // SAFETY: `timespec` is plain data; zeroing also covers padding fields on some targets.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    ts.tv_sec = t.secs as libc::time_t;
    ts.tv_nsec = t.nanos as libc::c_long;
    ts
}

/// Apply `node`'s ownership, xattrs, permission bits and times to the existing entry at
/// `path`, not following symlinks.
///
/// - Ownership (only with `opts.set_owner`): the local ids of the recorded user/group names
///   when they exist here and `!opts.numeric_ids`, else the recorded numeric ids.
/// - xattrs: each recorded one is set; others already present are left alone.
/// - Permission bits: `node.mode`, except on symlinks (Linux has no symlink modes).
/// - atime/mtime with nanoseconds, on the symlink itself for symlinks.
///
/// Returns warnings for what could not be set (chown without privilege, an xattr the target
/// file system or user cannot hold). Fails if `path` is missing, if it is a symlink while the
/// node is not (or the reverse), or if mode or times cannot be set.
pub fn apply(
    path: &Path,
    node: &Node,
    opts: &ApplyOptions,
    names: &mut Names,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let c = c_path(path)?;
    let is_link = node.kind() == NodeKind::Symlink;
    let current = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io(format!("reading metadata of {path:?}"), e))?;
    if current.file_type().is_symlink() != is_link {
        return Err(Error::invalid(format!(
            "cannot restore metadata of a {} onto {path:?}: it is {}a symlink",
            node.kind().as_str(),
            if is_link { "not " } else { "" }
        )));
    }

    if opts.set_owner {
        let by_name = |name: &str, lookup: &mut dyn FnMut(&str) -> Option<u32>| {
            if opts.numeric_ids || name.is_empty() {
                None
            } else {
                lookup(name)
            }
        };
        let uid = by_name(&node.user, &mut |n| names.uid_by_name(n)).unwrap_or(node.uid);
        let gid = by_name(&node.group, &mut |n| names.gid_by_name(n)).unwrap_or(node.gid);
        // SAFETY: `c` is a valid NUL-terminated path.
        if unsafe { libc::lchown(c.as_ptr(), uid, gid) } != 0 {
            let err = io::Error::last_os_error();
            if errno_is(&err, &[libc::EPERM, libc::EINVAL]) {
                warnings.push(format!("cannot set owner {uid}:{gid} of {path:?}: {err}"));
            } else {
                return Err(Error::io(format!("setting owner of {path:?}"), err));
            }
        }
    }

    for (name, value) in &node.xattrs {
        let name = OsStr::from_bytes(name);
        if is_link && name.as_bytes().starts_with(b"user.") {
            warnings.push(format!(
                "cannot set extended attribute {name:?} on symlink {path:?}: Linux allows no user.* attributes on symlinks"
            ));
            continue;
        }
        if let Err(e) = xattr::set(path, name, value) {
            let soft = xattr_unsupported(&e)
                || errno_is(
                    &e,
                    &[
                        libc::EPERM,
                        libc::EACCES,
                        libc::ENOSPC,
                        libc::EDQUOT,
                        libc::E2BIG,
                        libc::ERANGE,
                        libc::EINVAL,
                    ],
                );
            if soft {
                warnings.push(format!(
                    "cannot set extended attribute {name:?} on {path:?}: {e}"
                ));
            } else {
                return Err(Error::io(
                    format!("setting extended attribute {name:?} on {path:?}"),
                    e,
                ));
            }
        }
    }

    if !is_link {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(node.mode & 0o7777))
            .map_err(|e| Error::io(format!("setting permissions of {path:?}"), e))?;
    }

    let times = [to_timespec(node.atime), to_timespec(node.mtime)];
    // SAFETY: `c` is a valid NUL-terminated path and `times` holds exactly two timespecs.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(Error::io(
            format!("setting times of {path:?}"),
            io::Error::last_os_error(),
        ));
    }
    Ok(warnings)
}

/// Writes a regular file's content piece by piece at restore.
///
/// In sparse mode every all-zero 4 KiB block (aligned to file offsets) is skipped instead of
/// written, so holes are recreated; pieces of any size and alignment are accepted (a partial
/// block is held back until it is complete or [`FileWriter::finish`] is called). Writes are
/// positional (`pwrite`), so skipping a block is just not writing it.
#[derive(Debug)]
pub struct FileWriter {
    file: File,
    path: PathBuf,
    sparse: bool,
    /// File offset up to which data has been written or skipped; `tail` starts here.
    done: u64,
    /// Sparse mode: the incomplete block at `done`, shorter than [`BLOCK`].
    tail: Vec<u8>,
}

fn is_zero(block: &[u8]) -> bool {
    block.iter().fold(0u8, |acc, &b| acc | b) == 0
}

impl FileWriter {
    /// Create (or truncate) the regular file at `path` with mode 0o600 until [`apply`] runs.
    /// A symlink at `path` is not followed: that fails.
    pub fn create(path: &Path, sparse: bool) -> Result<FileWriter> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| Error::io(format!("creating file {path:?}"), e))?;
        Ok(FileWriter {
            file,
            path: path.to_path_buf(),
            sparse,
            done: 0,
            tail: Vec::new(),
        })
    }

    fn write_at(&self, data: &[u8], offset: u64) -> Result<()> {
        self.file
            .write_all_at(data, offset)
            .map_err(|e| Error::io(format!("writing {:?} at offset {offset}", self.path), e))
    }

    /// Write `data` (whole blocks only) at `done`, coalescing runs of non-zero blocks into one
    /// write and skipping all-zero blocks.
    fn write_blocks(&mut self, data: &[u8]) -> Result<()> {
        let mut run_start = None;
        for (i, block) in data.chunks(BLOCK).enumerate() {
            let zero = is_zero(block);
            match (zero, run_start) {
                (false, None) => run_start = Some(i * BLOCK),
                (true, Some(s)) => {
                    self.write_at(&data[s..i * BLOCK], self.done + s as u64)?;
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run_start {
            self.write_at(&data[s..], self.done + s as u64)?;
        }
        self.done += data.len() as u64;
        Ok(())
    }

    /// Append `data` to the file.
    pub fn write(&mut self, mut data: &[u8]) -> Result<()> {
        if !self.sparse {
            self.write_at(data, self.done)?;
            self.done += data.len() as u64;
            return Ok(());
        }
        if !self.tail.is_empty() {
            let take = (BLOCK - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < BLOCK {
                return Ok(());
            }
            let block = std::mem::take(&mut self.tail);
            self.write_blocks(&block)?;
            self.tail = block;
            self.tail.clear();
        }
        let whole = data.len() - data.len() % BLOCK;
        self.write_blocks(&data[..whole])?;
        self.tail.extend_from_slice(&data[whole..]);
        Ok(())
    }

    /// Write what is held back and set the file's length to `size` (extending with a hole or
    /// truncating). Does not fsync; the caller decides.
    pub fn finish(self, size: u64) -> Result<()> {
        if !self.tail.is_empty() && !is_zero(&self.tail) {
            self.write_at(&self.tail, self.done)?;
        }
        self.file
            .set_len(size)
            .map_err(|e| Error::io(format!("setting length of {:?} to {size}", self.path), e))
    }
}

/// True if `now` (a fresh [`capture`]) is the same regular file content as `node` (from a
/// parent snapshot) by size, mtime, ctime and inode, so the backup may reuse `node.content`
/// without reading. The device number is not compared: it is not stable across reboots on
/// some file systems (btrfs subvolumes, NFS).
pub fn unchanged(node: &Node, now: &Node) -> bool {
    node.kind() == NodeKind::File
        && now.kind() == NodeKind::File
        && node.size == now.size
        && node.mtime == now.mtime
        && node.ctime == now.ctime
        && node.inode == now.inode
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::process::Command;

    use filetime::FileTime;

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    fn set_times(path: &Path, atime: (i64, u32), mtime: (i64, u32)) {
        filetime::set_symlink_file_times(
            path,
            FileTime::from_unix_time(atime.0, atime.1),
            FileTime::from_unix_time(mtime.0, mtime.1),
        )
        .unwrap();
    }

    fn lcapture(path: &Path, names: &mut Names) -> Node {
        let md = fs::symlink_metadata(path).unwrap();
        let (node, warnings) = capture(path, &md, names).unwrap();
        assert!(warnings.is_empty(), "{path:?}: {warnings:?}");
        node
    }

    /// Whether `dir`'s file system takes user.* xattrs; prints why not when it does not.
    fn user_xattrs_supported(dir: &Path) -> bool {
        let probe = dir.join("xattr-probe");
        fs::write(&probe, b"").unwrap();
        let res = xattr::set(&probe, "user.hvelv-probe", b"1");
        fs::remove_file(&probe).unwrap();
        match res {
            Ok(()) => true,
            Err(e) => {
                println!("user xattrs unsupported in {dir:?} ({e}); skipping those assertions");
                false
            }
        }
    }

    fn setfacl(args: &[&str], path: &Path) -> bool {
        match Command::new("setfacl").args(args).arg(path).status() {
            Ok(s) if s.success() => true,
            Ok(s) => {
                println!("setfacl {args:?} failed ({s}); skipping ACL assertions");
                false
            }
            Err(e) => {
                println!("no setfacl binary ({e}); skipping ACL assertions");
                false
            }
        }
    }

    /// Every restorable field of `a` equals that of `b`.
    fn assert_same_meta(a: &Node, b: &Node) {
        let strip = |n: &Node| Node {
            ctime: Timestamp::default(),
            dev: 0,
            inode: 0,
            nlink: 0,
            ..n.clone()
        };
        assert_eq!(strip(a), strip(b));
    }

    /// Capture `src`, recreate it at `dst` as restore would, apply, and capture again.
    fn round_trip(src: &Path, dst: &Path, names: &mut Names) -> (Node, Node) {
        let a = lcapture(src, names);
        match a.kind() {
            NodeKind::File => {
                let mut w = FileWriter::create(dst, a.is_sparse()).unwrap();
                w.write(&fs::read(src).unwrap()).unwrap();
                w.finish(a.size).unwrap();
            }
            NodeKind::Dir => fs::create_dir(dst).unwrap(),
            _ => create_special(dst, &a).unwrap(),
        }
        let warnings = apply(dst, &a, &ApplyOptions::default(), names).unwrap();
        assert!(warnings.is_empty(), "{dst:?}: {warnings:?}");
        let b = lcapture(dst, names);
        assert_same_meta(&a, &b);
        (a, b)
    }

    fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let dst = tmp.path().join("dst");
        fs::create_dir(&src).unwrap();
        fs::create_dir(&dst).unwrap();
        (tmp, src, dst)
    }

    const ATIME: (i64, u32) = (1_600_000_000, 123_456_789);
    const MTIME: (i64, u32) = (1_500_000_000, 987_654_321);

    #[test]
    fn setuid_file_with_foreign_owner_and_nanosecond_times() {
        let (_tmp, src, dst) = dirs();
        let mut names = Names::new();
        let f = src.join("suid");
        fs::write(&f, b"#!/bin/sh\n").unwrap();
        if is_root() {
            std::os::unix::fs::lchown(&f, Some(1234), Some(2345)).unwrap();
        } else {
            println!("not root: the file keeps our own owner");
        }
        fs::set_permissions(&f, fs::Permissions::from_mode(0o4755)).unwrap();
        set_times(&f, ATIME, MTIME);
        let (a, _) = round_trip(&f, &dst.join("suid"), &mut names);
        assert_eq!(a.kind(), NodeKind::File);
        assert_eq!(a.mode, 0o4755);
        assert_eq!(a.size, 10);
        assert_eq!(
            a.atime,
            Timestamp {
                secs: ATIME.0,
                nanos: ATIME.1
            }
        );
        assert_eq!(
            a.mtime,
            Timestamp {
                secs: MTIME.0,
                nanos: MTIME.1
            }
        );
        assert_eq!(a.nlink, 1);
        assert_ne!(a.inode, 0);
        if is_root() {
            assert_eq!((a.uid, a.gid), (1234, 2345));
            assert_eq!(a.user, names.user(1234));
        }
        assert_eq!(fs::read(dst.join("suid")).unwrap(), b"#!/bin/sh\n");
    }

    #[test]
    fn symlink_keeps_its_own_times_and_target() {
        let (_tmp, src, dst) = dirs();
        let mut names = Names::new();
        fs::write(dst.join("target"), b"x").unwrap();
        set_times(&dst.join("target"), (1, 0), (2, 0));
        let l = src.join("link");
        std::os::unix::fs::symlink("target", &l).unwrap();
        set_times(&l, ATIME, MTIME);
        let (a, _) = round_trip(&l, &dst.join("link"), &mut names);
        assert_eq!(a.kind(), NodeKind::Symlink);
        assert_eq!(a.link_target, b"target");
        assert_eq!(a.size, 0);
        assert_eq!(
            a.mtime,
            Timestamp {
                secs: MTIME.0,
                nanos: MTIME.1
            }
        );
        // The target was not touched through the link.
        let t = fs::metadata(dst.join("target")).unwrap();
        assert_eq!((t.atime(), t.mtime()), (1, 2));
    }

    #[test]
    fn fifo_socket_and_char_device() {
        let (_tmp, src, dst) = dirs();
        let mut names = Names::new();
        let fifo = src.join("fifo");
        mknod(&fifo, libc::S_IFIFO, 0, "fifo").unwrap();
        fs::set_permissions(&fifo, fs::Permissions::from_mode(0o640)).unwrap();
        set_times(&fifo, ATIME, MTIME);
        let (a, _) = round_trip(&fifo, &dst.join("fifo"), &mut names);
        assert_eq!((a.kind(), a.mode), (NodeKind::Fifo, 0o640));

        let sock = src.join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let (a, _) = round_trip(&sock, &dst.join("sock"), &mut names);
        assert_eq!(a.kind(), NodeKind::Socket);

        let null = src.join("null");
        let dev = libc::makedev(1, 3);
        match mknod(&null, libc::S_IFCHR, dev, "character device") {
            Ok(()) => {
                fs::set_permissions(&null, fs::Permissions::from_mode(0o666)).unwrap();
                let (a, b) = round_trip(&null, &dst.join("null"), &mut names);
                assert_eq!((a.kind(), a.rdev, a.mode), (NodeKind::CharDev, dev, 0o666));
                assert_eq!(b.rdev, dev);
            }
            Err(e) => println!("cannot mknod a character device here ({e}); skipping it"),
        }
    }

    #[test]
    fn sticky_directory_with_default_acl() {
        let (_tmp, src, dst) = dirs();
        let mut names = Names::new();
        let d = src.join("shared");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o1777)).unwrap();
        let acl = setfacl(&["-d", "-m", "u:1234:rx"], &d);
        set_times(&d, ATIME, MTIME);
        let (a, _) = round_trip(&d, &dst.join("shared"), &mut names);
        assert_eq!((a.kind(), a.mode, a.size), (NodeKind::Dir, 0o1777, 0));
        if acl {
            assert!(a
                .xattrs
                .iter()
                .any(|(k, _)| k == b"system.posix_acl_default"));
        }
    }

    #[test]
    fn xattrs_and_acl_round_trip() {
        let (tmp, src, dst) = dirs();
        let mut names = Names::new();
        let f = src.join("attrs");
        fs::write(&f, b"data").unwrap();
        let user = user_xattrs_supported(tmp.path());
        if user {
            xattr::set(&f, "user.b", b"\x00\xffbinary").unwrap();
            xattr::set(&f, "user.a", b"1").unwrap();
        }
        let trusted = is_root() && xattr::set(&f, "trusted.t", b"root only").is_ok();
        let acl = setfacl(&["-m", "u:1234:r"], &f);
        set_times(&f, ATIME, MTIME);
        let (a, _) = round_trip(&f, &dst.join("attrs"), &mut names);
        let keys: Vec<&[u8]> = a.xattrs.iter().map(|(k, _)| k.as_slice()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        if user {
            assert!(a.xattrs.contains(&(b"user.a".to_vec(), b"1".to_vec())));
            assert!(a
                .xattrs
                .contains(&(b"user.b".to_vec(), b"\x00\xffbinary".to_vec())));
        }
        if trusted {
            assert!(keys.contains(&&b"trusted.t"[..]));
        }
        if acl {
            assert!(keys.contains(&&b"system.posix_acl_access"[..]), "{keys:?}");
            let out = Command::new("getfacl")
                .arg("-c")
                .arg(dst.join("attrs"))
                .output();
            if let Ok(out) = out {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("user:1234:r--"), "{text}");
            }
        }
    }

    #[test]
    fn apply_keeps_unrecorded_xattrs() {
        let tmp = tempfile::tempdir().unwrap();
        if !user_xattrs_supported(tmp.path()) {
            return;
        }
        let f = tmp.path().join("f");
        fs::write(&f, b"").unwrap();
        xattr::set(&f, "user.keep", b"k").unwrap();
        let node = Node {
            kind: Some(NodeKind::File),
            mode: 0o400,
            xattrs: vec![(b"user.new".to_vec(), b"n".to_vec())],
            ..Default::default()
        };
        let opts = ApplyOptions {
            numeric_ids: false,
            set_owner: false,
        };
        let w = apply(&f, &node, &opts, &mut Names::new()).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            xattr::get(&f, "user.keep").unwrap().as_deref(),
            Some(&b"k"[..])
        );
        assert_eq!(
            xattr::get(&f, "user.new").unwrap().as_deref(),
            Some(&b"n"[..])
        );
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o400);
    }

    #[test]
    fn non_utf8_name() {
        let (_tmp, src, dst) = dirs();
        let mut names = Names::new();
        let name = OsStr::from_bytes(b"caf\xe9");
        let f = src.join(name);
        fs::write(&f, b"").unwrap();
        set_times(&f, ATIME, MTIME);
        let (a, _) = round_trip(&f, &dst.join(name), &mut names);
        assert_eq!(a.name, b"caf\xe9");
    }

    #[test]
    fn name_of_root_path() {
        let md = fs::symlink_metadata("/").unwrap();
        let (node, _) = capture(Path::new("/"), &md, &mut Names::new()).unwrap();
        assert_eq!(node.name, b"/");
        assert_eq!(node.kind(), NodeKind::Dir);
    }

    #[test]
    fn owner_by_name_unless_numeric() {
        if !is_root() {
            println!("not root: skipping chown test");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        fs::write(&f, b"").unwrap();
        let mut names = Names::new();
        let node = Node {
            kind: Some(NodeKind::File),
            mode: 0o644,
            uid: 4321,
            gid: 4322,
            user: "root".into(),
            group: "no-such-group-hvelv".into(),
            ..Default::default()
        };
        let by_name = ApplyOptions {
            numeric_ids: false,
            set_owner: true,
        };
        assert!(apply(&f, &node, &by_name, &mut names).unwrap().is_empty());
        let md = fs::metadata(&f).unwrap();
        assert_eq!((md.uid(), md.gid()), (0, 4322));
        let numeric = ApplyOptions {
            numeric_ids: true,
            set_owner: true,
        };
        assert!(apply(&f, &node, &numeric, &mut names).unwrap().is_empty());
        let md = fs::metadata(&f).unwrap();
        assert_eq!((md.uid(), md.gid()), (4321, 4322));
    }

    #[test]
    fn default_options_follow_euid() {
        let o = ApplyOptions::default();
        assert_eq!(o.set_owner, is_root());
        assert!(!o.numeric_ids);
    }

    #[test]
    fn user_xattr_on_symlink_is_a_warning() {
        let tmp = tempfile::tempdir().unwrap();
        let l = tmp.path().join("l");
        let node = Node {
            kind: Some(NodeKind::Symlink),
            link_target: b"nowhere".to_vec(),
            xattrs: vec![(b"user.x".to_vec(), b"1".to_vec())],
            mtime: Timestamp { secs: 5, nanos: 6 },
            ..Default::default()
        };
        create_special(&l, &node).unwrap();
        let opts = ApplyOptions {
            numeric_ids: false,
            set_owner: false,
        };
        let w = apply(&l, &node, &opts, &mut Names::new()).unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains(&format!("{l:?}")), "{w:?}");
        let md = fs::symlink_metadata(&l).unwrap();
        assert_eq!((md.mtime(), md.mtime_nsec()), (5, 6));
    }

    #[test]
    fn create_special_refuses_existing_and_regular() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("p");
        let fifo = Node {
            kind: Some(NodeKind::Fifo),
            ..Default::default()
        };
        create_special(&p, &fifo).unwrap();
        let e = create_special(&p, &fifo).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.to_string().contains(&format!("{p:?}")), "{e}");
        let link = Node {
            kind: Some(NodeKind::Symlink),
            link_target: b"x".to_vec(),
            ..Default::default()
        };
        assert_eq!(
            create_special(&p, &link).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        let file = Node {
            kind: Some(NodeKind::File),
            ..Default::default()
        };
        let e = create_special(&tmp.path().join("q"), &file).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn apply_refuses_symlink_in_place_of_file() {
        let tmp = tempfile::tempdir().unwrap();
        let l = tmp.path().join("l");
        std::os::unix::fs::symlink("/etc/passwd", &l).unwrap();
        let node = Node {
            kind: Some(NodeKind::File),
            mode: 0o777,
            ..Default::default()
        };
        let e = apply(&l, &node, &ApplyOptions::default(), &mut Names::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = FileWriter::create(&l, false).unwrap_err();
        assert!(e.to_string().contains(&format!("{l:?}")), "{e}");
        let e = apply(
            &tmp.path().join("missing"),
            &node,
            &ApplyOptions::default(),
            &mut Names::new(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    /// Deterministic non-zero bytes.
    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
            .collect()
    }

    /// Write `content` through a FileWriter in pieces of the given sizes (cycled).
    fn write_pieces(path: &Path, sparse: bool, content: &[u8], sizes: &[usize]) {
        let mut w = FileWriter::create(path, sparse).unwrap();
        let mut off = 0;
        for &n in sizes.iter().cycle() {
            if off == content.len() {
                break;
            }
            let end = (off + n).min(content.len());
            w.write(&content[off..end]).unwrap();
            off = end;
        }
        w.finish(content.len() as u64).unwrap();
    }

    #[test]
    fn file_writer_sparse_and_dense() {
        const MIB: usize = 1 << 20;
        let mut content = data(MIB, 3);
        content.resize(65 * MIB, 0);
        content.extend_from_slice(&data(MIB, 7));
        let sizes = [1, 4095, 4097, 65_537, 1_000_003, 12_345, 3 * MIB + 17];
        let tmp = tempfile::tempdir().unwrap();
        let mut names = Names::new();

        let sparse = tmp.path().join("sparse");
        write_pieces(&sparse, true, &content, &sizes);
        assert!(
            fs::read(&sparse).unwrap() == content,
            "sparse content differs"
        );
        let md = fs::metadata(&sparse).unwrap();
        assert_eq!(md.len(), content.len() as u64);
        println!(
            "sparse: {} bytes allocated for {}",
            md.blocks() * 512,
            md.len()
        );
        assert!(md.blocks() * 512 < 4 * MIB as u64, "{} blocks", md.blocks());
        assert!(lcapture(&sparse, &mut names).is_sparse());

        let dense = tmp.path().join("dense");
        write_pieces(&dense, false, &content, &sizes);
        assert!(
            fs::read(&dense).unwrap() == content,
            "dense content differs"
        );
        let md = fs::metadata(&dense).unwrap();
        assert!(md.blocks() * 512 >= md.len(), "{} blocks", md.blocks());
        assert!(!lcapture(&dense, &mut names).is_sparse());
    }

    #[test]
    fn file_writer_trailing_hole_and_truncate() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        let mut w = FileWriter::create(&p, true).unwrap();
        w.write(b"abc").unwrap();
        w.write(&[0; 10_000]).unwrap();
        w.finish(50_000).unwrap();
        let got = fs::read(&p).unwrap();
        assert_eq!(got.len(), 50_000);
        assert_eq!(&got[..3], b"abc");
        assert!(got[3..].iter().all(|&b| b == 0));
        // Re-creating truncates the old content.
        let mut w = FileWriter::create(&p, true).unwrap();
        w.write(b"xy").unwrap();
        w.finish(2).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"xy");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn file_writer_matches_input(
            runs in proptest::collection::vec((proptest::prelude::any::<bool>(), 1usize..20_000), 0..8),
            sizes in proptest::collection::vec(1usize..9_000, 1..6),
            sparse in proptest::prelude::any::<bool>(),
        ) {
            let mut content = Vec::new();
            for (i, (zero, len)) in runs.iter().enumerate() {
                if *zero {
                    content.resize(content.len() + len, 0);
                } else {
                    content.extend_from_slice(&data(*len, i as u8));
                }
            }
            let tmp = tempfile::tempdir().unwrap();
            let p = tmp.path().join("f");
            write_pieces(&p, sparse, &content, &sizes);
            proptest::prop_assert!(fs::read(&p).unwrap() == content);
        }
    }

    #[test]
    fn names() {
        let mut n = Names::new();
        assert_eq!(n.user(0), "root");
        assert_eq!(n.group(0), "root");
        assert_eq!(n.user(3_999_999_999), "");
        assert_eq!(n.group(3_999_999_999), "");
        assert_eq!(n.uid_by_name("root"), Some(0));
        assert_eq!(n.gid_by_name("root"), Some(0));
        assert_eq!(n.uid_by_name("no-such-user-hvelv"), None);
        assert_eq!(n.gid_by_name(""), None);
        assert_eq!(n.uid_by_name("nul\0byte"), None);
        // Cached answers stay the same.
        assert_eq!(n.user(0), "root");
        assert_eq!(n.uid_by_name("no-such-user-hvelv"), None);
    }

    #[test]
    fn unchanged_compares_size_times_inode() {
        let a = Node {
            kind: Some(NodeKind::File),
            size: 5,
            mtime: Timestamp { secs: 1, nanos: 2 },
            ctime: Timestamp { secs: 3, nanos: 4 },
            inode: 9,
            dev: 1,
            atime: Timestamp { secs: 7, nanos: 0 },
            ..Default::default()
        };
        let same = Node {
            dev: 2,
            atime: Timestamp::default(),
            ..a.clone()
        };
        assert!(unchanged(&a, &same));
        assert!(!unchanged(
            &a,
            &Node {
                size: 6,
                ..a.clone()
            }
        ));
        assert!(!unchanged(
            &a,
            &Node {
                mtime: Timestamp { secs: 1, nanos: 3 },
                ..a.clone()
            }
        ));
        assert!(!unchanged(
            &a,
            &Node {
                ctime: Timestamp { secs: 3, nanos: 5 },
                ..a.clone()
            }
        ));
        assert!(!unchanged(
            &a,
            &Node {
                inode: 10,
                ..a.clone()
            }
        ));
        assert!(!unchanged(
            &a,
            &Node {
                kind: Some(NodeKind::Symlink),
                ..a.clone()
            }
        ));
    }
}
