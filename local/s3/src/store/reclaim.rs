//! Startup reclaim of files a killed server left behind.
//!
//! Bytes are written before the metadata that names them is committed, and JSON records are
//! written to a temp file then renamed, so a `kill -9` can leave segment files no key row
//! or upload names (the write got its bytes down but never committed) and `*.tmp-*` files
//! (the rename never happened). Neither is ever visible through S3; both only waste disk.
//! At startup, before the server accepts requests, every segment under `blobs/` that no
//! version and no uploaded part references is deleted, and so is every such inline segment
//! (a row of the key database) and every leftover temp file.
//!
//! Files are referenced by name: a copy shares its source's bytes through a hard link of its
//! own (see [`super::blobs`]), so deleting an unreferenced name never removes bytes another
//! name still holds; the file system frees them with the last link.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Store, lock};

/// What a reclaim pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reclaimed {
    pub orphan_blobs: u64,
    /// Bytes freed: an orphan name whose file another name still holds frees nothing.
    pub orphan_bytes: u64,
    pub temp_files: u64,
}

/// Whether `name` is a temp file of `write_json` (`<stem>.tmp-<uuid>`), pure.
pub(crate) fn is_temp_file(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && ext.starts_with("tmp-"))
}

fn entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.map(|e| e.path())).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The part of a stored key record reclaim reads: the segments each version names.
#[derive(Deserialize)]
struct Refs {
    versions: Vec<VersionRefs>,
}

#[derive(Deserialize)]
struct VersionRefs {
    segments: Vec<BlobRef>,
}

#[derive(Deserialize)]
struct BlobRef {
    blob: String,
}

/// The bytes removing this name frees: its size if it is the file's last name.
#[cfg(unix)]
fn freed_by_unlink(m: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    if m.nlink() <= 1 { m.len() } else { 0 }
}

#[cfg(not(unix))]
fn freed_by_unlink(m: &std::fs::Metadata) -> u64 {
    m.len()
}

impl Store {
    /// Every blob id a version or an uploaded part references; the key records are streamed
    /// from the database, so only the set of names is held at once.
    fn referenced_blobs(&self) -> io::Result<HashSet<String>> {
        let mut referenced = HashSet::new();
        let mut unreadable = None;
        self.db
            .for_each_record(|json| match serde_json::from_str::<Refs>(json) {
                Ok(refs) => referenced.extend(
                    refs.versions
                        .into_iter()
                        .flat_map(|v| v.segments.into_iter().map(|s| s.blob)),
                ),
                Err(e) => unreadable = Some(e),
            })?;
        if let Some(e) = unreadable {
            // Deleting blobs a record we cannot read might name would lose data.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unreadable key record: {e}"),
            ));
        }
        for upload in lock(&self.uploads).values() {
            referenced.extend(upload.parts.values().map(|p| p.segment.blob.clone()));
        }
        Ok(referenced)
    }

    /// Deletes unreferenced segments and leftover temp files; call before serving.
    pub(crate) fn reclaim(&self) -> io::Result<Reclaimed> {
        let mut out = Reclaimed::default();
        let referenced = self.referenced_blobs()?;
        for fan in entries(&self.root.join("blobs"))? {
            if !fan.is_dir() {
                continue;
            }
            for blob in entries(&fan)? {
                if referenced.contains(file_name(&blob)) {
                    continue;
                }
                let size = std::fs::metadata(&blob).map_or(0, |m| freed_by_unlink(&m));
                remove(&blob)?;
                out.orphan_blobs += 1;
                out.orphan_bytes += size;
            }
        }
        for (id, size) in self.db.inline_ids()? {
            if !referenced.contains(&id) {
                self.db.remove_inline(&id)?;
                out.orphan_blobs += 1;
                out.orphan_bytes += size;
            }
        }
        let mut dirs = vec![self.root.join("uploads")];
        for bucket in entries(&self.root.join("buckets"))? {
            dirs.push(bucket.join("keys"));
            dirs.push(bucket);
        }
        for dir in dirs {
            for file in entries(&dir)? {
                if file.is_file() && is_temp_file(file_name(&file)) {
                    remove(&file)?;
                    out.temp_files += 1;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::is_temp_file;

    /// Two orphan names of one 5-byte file: both go, and 5 bytes are freed, not 10.
    #[cfg(unix)]
    #[test]
    fn orphan_bytes_count_a_file_once_whatever_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(dir.path()).unwrap();
        let fan = dir.path().join("blobs").join("ab");
        std::fs::create_dir_all(&fan).unwrap();
        std::fs::write(fan.join("ab01"), b"12345").unwrap();
        std::fs::hard_link(fan.join("ab01"), fan.join("ab02")).unwrap();
        let reclaimed = store.reclaim().unwrap();
        assert_eq!((reclaimed.orphan_blobs, reclaimed.orphan_bytes), (2, 5));
        assert_eq!(std::fs::read_dir(&fan).unwrap().count(), 0);
    }

    #[test]
    fn temp_files_are_recognised_by_their_tmp_extension() {
        assert!(is_temp_file("0a1b.tmp-5f0e3c1d2b3a4f5e6d7c8b9a0f1e2d3c"));
        assert!(is_temp_file("bucket.tmp-abc"));
        assert!(!is_temp_file("0a1b.json"));
        assert!(!is_temp_file("bucket.json"));
        assert!(!is_temp_file(".tmp-abc"));
        assert!(!is_temp_file("tmp-abc"));
    }
}
