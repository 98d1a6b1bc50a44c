//! Tree blobs: one directory's entries, sorted by name, in a stable binary encoding.
//!
//! A tree is stored as a blob of type [`crate::blob::BlobType::Tree`]. Every field of a [`Node`] is
//! encrypted with the rest of the blob; names are raw OS bytes (non-UTF-8 names round-trip).
//! The byte layout is specified in `docs/FORMAT.md` ("Tree blob").

use crate::error::{Error, Result};
use crate::format::codec::{Reader, Writer};
use crate::id::BlobId;

/// Version byte at the start of every encoded tree.
pub const TREE_VERSION: u8 = 1;

/// File type of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// Regular file; `content` lists its chunks.
    File = 1,
    /// Directory; `subtree` is its tree blob.
    Dir = 2,
    /// Symbolic link; `link_target` holds the target bytes.
    Symlink = 3,
    /// Character device; `rdev` holds the device number.
    CharDev = 4,
    /// Block device; `rdev` holds the device number.
    BlockDev = 5,
    /// Named pipe.
    Fifo = 6,
    /// Unix socket (recorded; restored as a socket node only where possible).
    Socket = 7,
}

impl NodeKind {
    fn from_u8(v: u8) -> Result<Self> {
        Ok(match v {
            1 => NodeKind::File,
            2 => NodeKind::Dir,
            3 => NodeKind::Symlink,
            4 => NodeKind::CharDev,
            5 => NodeKind::BlockDev,
            6 => NodeKind::Fifo,
            7 => NodeKind::Socket,
            _ => return Err(Error::corrupt(format!("tree node has unknown type {v}"))),
        })
    }
    /// A short lower-case name ("file", "dir", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::File => "file",
            NodeKind::Dir => "dir",
            NodeKind::Symlink => "symlink",
            NodeKind::CharDev => "chardev",
            NodeKind::BlockDev => "blockdev",
            NodeKind::Fifo => "fifo",
            NodeKind::Socket => "socket",
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Timestamp {
    /// Whole seconds (may be negative).
    pub secs: i64,
    /// Nanoseconds, 0..1e9.
    pub nanos: u32,
}

/// Node flag bit: the file was sparse when backed up (holes are recreated on restore).
pub const FLAG_SPARSE: u8 = 1;

/// One directory entry with its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Entry name as raw OS bytes (no `/`).
    pub name: Vec<u8>,
    /// File type.
    pub kind: Option<NodeKind>,
    /// Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Numeric owner.
    pub uid: u32,
    /// Numeric group.
    pub gid: u32,
    /// Owner name at backup time ("" when unknown).
    pub user: String,
    /// Group name at backup time ("" when unknown).
    pub group: String,
    /// Modification time.
    pub mtime: Timestamp,
    /// Access time.
    pub atime: Timestamp,
    /// Status change time (used only to detect changes against a parent snapshot).
    pub ctime: Timestamp,
    /// Device of the file system the entry lives on.
    pub dev: u64,
    /// Inode number.
    pub inode: u64,
    /// Hard link count.
    pub nlink: u64,
    /// File size in bytes (files), 0 otherwise.
    pub size: u64,
    /// Device number for device nodes.
    pub rdev: u64,
    /// Symlink target bytes.
    pub link_target: Vec<u8>,
    /// Extended attributes (name, value), sorted by name. POSIX ACLs travel here
    /// (`system.posix_acl_access`, `system.posix_acl_default`).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Bit set of `FLAG_*`.
    pub flags: u8,
    /// Chunks of a file, in order.
    pub content: Vec<BlobId>,
    /// Tree blob of a directory.
    pub subtree: Option<BlobId>,
}

impl Node {
    /// The node's kind; every decoded node has one.
    pub fn kind(&self) -> NodeKind {
        self.kind.unwrap_or(NodeKind::File)
    }
    /// True if the sparse flag is set.
    pub fn is_sparse(&self) -> bool {
        self.flags & FLAG_SPARSE != 0
    }
    /// The name, lossily converted for display.
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A directory listing: nodes sorted by name, names unique.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    /// The entries, sorted by `name` bytes.
    pub nodes: Vec<Node>,
}

fn put_time(w: &mut Writer, t: Timestamp) {
    w.i64(t.secs).u32(t.nanos);
}

fn get_time(r: &mut Reader<'_>) -> Result<Timestamp> {
    let secs = r.i64()?;
    let nanos = r.u32()?;
    if nanos >= 1_000_000_000 {
        return Err(Error::corrupt(
            "tree node has a timestamp with nanoseconds >= 1e9",
        ));
    }
    Ok(Timestamp { secs, nanos })
}

impl Tree {
    /// Encode (the plaintext of a tree blob).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64 + self.nodes.len() * 160);
        w.u8(TREE_VERSION);
        w.u32(self.nodes.len() as u32);
        for n in &self.nodes {
            w.bytes(&n.name)
                .u8(n.kind() as u8)
                .u32(n.mode)
                .u32(n.uid)
                .u32(n.gid);
            w.str(&n.user).str(&n.group);
            put_time(&mut w, n.mtime);
            put_time(&mut w, n.atime);
            put_time(&mut w, n.ctime);
            w.u64(n.dev)
                .u64(n.inode)
                .u64(n.nlink)
                .u64(n.size)
                .u64(n.rdev);
            w.bytes(&n.link_target);
            w.u32(n.xattrs.len() as u32);
            for (k, v) in &n.xattrs {
                w.bytes(k).bytes(v);
            }
            w.u8(n.flags);
            w.u32(n.content.len() as u32);
            for id in &n.content {
                w.raw(&id.0);
            }
            match &n.subtree {
                Some(id) => w.u8(1).raw(&id.0),
                None => w.u8(0),
            };
        }
        w.finish()
    }

    /// Decode a tree blob's plaintext; never panics on malformed input.
    pub fn decode(buf: &[u8]) -> Result<Tree> {
        let mut r = Reader::new(buf, "tree");
        let v = r.u8()?;
        if v != TREE_VERSION {
            return Err(Error::new(
                crate::ErrorKind::Unsupported,
                format!("tree version {v} is not supported (this build reads {TREE_VERSION})"),
            ));
        }
        let count = r.count(60)?;
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            let name = r.bytes()?.to_vec();
            if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
                return Err(Error::corrupt(format!(
                    "tree has an invalid entry name {:?}",
                    String::from_utf8_lossy(&name)
                )));
            }
            let kind = NodeKind::from_u8(r.u8()?)?;
            let mode = r.u32()?;
            let uid = r.u32()?;
            let gid = r.u32()?;
            let user = r.str()?.to_owned();
            let group = r.str()?.to_owned();
            let mtime = get_time(&mut r)?;
            let atime = get_time(&mut r)?;
            let ctime = get_time(&mut r)?;
            let dev = r.u64()?;
            let inode = r.u64()?;
            let nlink = r.u64()?;
            let size = r.u64()?;
            let rdev = r.u64()?;
            let link_target = r.bytes()?.to_vec();
            let nx = r.count(8)?;
            let mut xattrs = Vec::with_capacity(nx);
            for _ in 0..nx {
                let k = r.bytes()?.to_vec();
                let v = r.bytes()?.to_vec();
                xattrs.push((k, v));
            }
            let flags = r.u8()?;
            let nc = r.count(32)?;
            let mut content = Vec::with_capacity(nc);
            for _ in 0..nc {
                content.push(BlobId(r.array()?));
            }
            let subtree = match r.u8()? {
                0 => None,
                1 => Some(BlobId(r.array()?)),
                x => return Err(Error::corrupt(format!("tree node has subtree marker {x}"))),
            };
            if let Some(prev) = nodes.last().map(|n: &Node| &n.name) {
                if prev >= &name {
                    return Err(Error::corrupt("tree entries are not sorted and unique"));
                }
            }
            nodes.push(Node {
                name,
                kind: Some(kind),
                mode,
                uid,
                gid,
                user,
                group,
                mtime,
                atime,
                ctime,
                dev,
                inode,
                nlink,
                size,
                rdev,
                link_target,
                xattrs,
                flags,
                content,
                subtree,
            });
        }
        r.end()?;
        Ok(Tree { nodes })
    }

    /// Find an entry by name.
    pub fn get(&self, name: &[u8]) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        Tree {
            nodes: vec![
                Node {
                    name: b"a\xff\xfe".to_vec(),
                    kind: Some(NodeKind::File),
                    mode: 0o644,
                    size: 3,
                    xattrs: vec![(b"user.x".to_vec(), b"1".to_vec())],
                    content: vec![BlobId([7; 32])],
                    mtime: Timestamp { secs: -3, nanos: 5 },
                    ..Default::default()
                },
                Node {
                    name: b"dir".to_vec(),
                    kind: Some(NodeKind::Dir),
                    subtree: Some(BlobId([1; 32])),
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let t = sample();
        assert_eq!(Tree::decode(&t.encode()).unwrap(), t);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = sample().encode();
        for cut in 0..b.len() {
            assert!(Tree::decode(&b[..cut]).is_err(), "cut {cut}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Tree::decode(&data);
        }

        #[test]
        fn bit_flips_never_panic(pos in 0usize..4096, bit in 0u8..8) {
            let mut b = sample().encode();
            let p = pos % b.len();
            b[p] ^= 1 << bit;
            let _ = Tree::decode(&b);
        }
    }
}
