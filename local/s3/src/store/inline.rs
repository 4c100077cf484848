//! Small object bodies stored as rows of `keys.sqlite3` instead of segment files.
//!
//! Creating a file is the most expensive thing a small PUT does: on ext4 without a journal
//! the inode allocator scans past every inode freed in the last minute, and perf put 50% of
//! the server's CPU in `ext4_create` during the small-object benchmark. A body of at most
//! [`INLINE_MAX`] bytes is therefore one row of `inline_blobs`, named like a segment file
//! (a fresh id) and treated like one: written before the key record that names it, never
//! modified, removed when no version names it, and reclaimed at startup when a killed
//! server left it unnamed. A copy gets its own row with the same bytes (8 KiB duplicated
//! inside SQLite costs less than a hard link's directory entry).

use std::io;

use rusqlite::{Connection, OptionalExtension, params};

use super::db::{Db, to_io};
use super::lock;

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

impl Db {
    /// Stores `bytes` under `id`. Committed when this returns.
    pub(crate) fn put_inline(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let conn = lock(&self.writer);
        conn.prepare_cached("INSERT INTO inline_blobs (id, bytes) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![id, bytes]))
            .map_err(to_io)?;
        Ok(())
    }

    /// The bytes stored under `id`.
    pub(crate) fn inline(&self, id: &str) -> io::Result<Vec<u8>> {
        let conn = lock(&self.writer);
        conn.prepare_cached("SELECT bytes FROM inline_blobs WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id], |r| r.get(0)).optional())
            .map_err(to_io)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("inline blob {id}")))
    }

    /// Stores a copy of the bytes of `from` under `to`; false when `from` is gone.
    pub(crate) fn copy_inline(&self, from: &str, to: &str) -> io::Result<bool> {
        let conn = lock(&self.writer);
        let copied = conn
            .prepare_cached(
                "INSERT INTO inline_blobs (id, bytes) SELECT ?2, bytes FROM inline_blobs WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![from, to]))
            .map_err(to_io)?;
        Ok(copied == 1)
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
    fn a_copy_outlives_the_row_it_was_made_from() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.put_inline("a", b"hello").unwrap();
        assert!(db.copy_inline("a", "b").unwrap());
        db.remove_inline("a").unwrap();
        assert_eq!(db.inline("b").unwrap(), b"hello");
        assert_eq!(db.inline("a").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!db.copy_inline("a", "c").unwrap());
        assert_eq!(db.inline_ids().unwrap(), vec![("b".to_owned(), 5)]);
    }
}
