//! Small object bodies stored as rows of `keys.sqlite3` instead of segment files.
//!
//! A file per small object costs a create, a write and a close per PUT, and an inode; on
//! ext4 without a journal, right after many files were freed (a build), the inode allocator
//! scans past every inode freed in the last minute, and perf then put 50% of the server's
//! CPU in `ext4_create` during the small-object benchmark (in steady state the rate is the
//! same either way). A body of at most [`INLINE_MAX`] bytes is therefore one row of
//! `inline_blobs`, named like a segment file (a fresh id) and treated like one: never
//! modified, removed when no version names it, and reclaimed at startup when a killed
//! server left it unnamed. A copy gets its own row with the same bytes, so no row is shared
//! and none needs a reference count.
//!
//! The row is inserted in the same transaction as the key record that names it (the bytes
//! wait in [`Segment::pending`] until then), so a PUT or a copy of a small object is one
//! commit; an uploaded part, recorded outside the database, is inserted on its own.

use std::io;

use rusqlite::{Connection, OptionalExtension, params};

use super::db::{Db, to_io};
use super::lock;
use super::model::{KeyRecord, Segment};

/// Bodies up to this size are stored inline. SQLite reads and writes blobs of this size
/// faster than the file system creates and opens files for them; larger ones are files, so
/// the database stays a small index that a checkpoint copies quickly.
pub(crate) const INLINE_MAX: usize = 64 * 1024;

pub(super) fn create_table(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS inline_blobs (
             id TEXT PRIMARY KEY,
             bytes BLOB NOT NULL
         );",
    )
}

fn insert(conn: &Connection, id: &str, bytes: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO inline_blobs (id, bytes) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![id, bytes]))
        .map(|_| ())
}

/// The segments of `rec` whose bytes are not in the database yet.
pub(super) fn pending(rec: &KeyRecord) -> impl Iterator<Item = &Segment> {
    rec.versions
        .iter()
        .flat_map(|v| &v.segments)
        .filter(|s| s.pending.is_some())
}

/// Inserts the pending bytes of `rec`'s segments; inside the caller's transaction.
pub(super) fn insert_pending(conn: &Connection, rec: &KeyRecord) -> rusqlite::Result<()> {
    for s in pending(rec) {
        if let Some(bytes) = &s.pending {
            insert(conn, &s.blob, bytes)?;
        }
    }
    Ok(())
}

impl Db {
    /// Stores `bytes` under `id`. Committed when this returns.
    pub(crate) fn put_inline(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        insert(&lock(&self.writer), id, bytes).map_err(to_io)
    }

    /// The bytes stored under `id`.
    pub(crate) fn inline(&self, id: &str) -> io::Result<Vec<u8>> {
        let conn = lock(&self.writer);
        conn.prepare_cached("SELECT bytes FROM inline_blobs WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
            .map_err(to_io)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("inline blob {id}")))
    }

    /// Removes the bytes stored under `id` (nothing when there are none).
    pub(crate) fn remove_inline(&self, id: &str) -> io::Result<()> {
        let conn = lock(&self.writer);
        conn.prepare_cached("DELETE FROM inline_blobs WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id]))
            .map_err(to_io)?;
        Ok(())
    }

    /// Every inline blob's id and size, for the startup reclaim.
    pub(crate) fn inline_ids(&self) -> io::Result<Vec<(String, u64)>> {
        let conn = lock(&self.reader);
        let mut stmt = conn
            .prepare("SELECT id, length(bytes) FROM inline_blobs")
            .map_err(to_io)?;
        stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
        })
        .and_then(Iterator::collect)
        .map_err(to_io)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_stored_read_listed_and_removed_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.put_inline("a", b"hello").unwrap();
        db.put_inline("b", b"bye").unwrap();
        db.remove_inline("a").unwrap();
        db.remove_inline("a").unwrap();
        assert_eq!(db.inline("b").unwrap(), b"bye");
        assert_eq!(db.inline("a").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(db.inline_ids().unwrap(), vec![("b".to_owned(), 3)]);
    }

    #[test]
    fn a_record_commits_the_pending_bytes_it_names_in_its_own_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let mut rec: KeyRecord = serde_json::from_value(serde_json::json!({
            "key": "k",
            "versions": [{
                "version_id": "null", "last_modified_ms": 0, "size": 2, "etag": "e",
                "segments": [{"blob": "s1", "size": 2, "inline": true}],
                "headers": {}, "metadata": {}, "tags": [], "storage_class": "STANDARD",
                "checksum": null, "crc64nvme": 0, "parts": null
            }]
        }))
        .unwrap();
        rec.versions[0].segments[0].pending = Some(bytes::Bytes::from_static(b"hi"));
        // The id is taken: the transaction fails whole, the record is not stored.
        db.put_inline("s1", b"old").unwrap();
        assert!(db.put("b", "k", Some(&rec)).is_err());
        assert!(db.get("b", "k").unwrap().is_none());
        db.remove_inline("s1").unwrap();
        db.put("b", "k", Some(&rec)).unwrap();
        assert_eq!(db.inline("s1").unwrap(), b"hi");
        let stored = db.get("b", "k").unwrap().unwrap();
        assert_eq!(stored.versions[0].segments[0].pending, None);
        assert!(stored.versions[0].segments[0].inline);
    }
}
