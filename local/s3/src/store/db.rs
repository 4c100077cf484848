//! Per-key metadata in SQLite, so the store's memory does not grow with the object count.
//!
//! Every key's versions ([`KeyRecord`], as JSON) are one row of
//! `keys (bucket, key, record) WITHOUT ROWID` in `keys.sqlite3` in the data directory; the
//! primary key `(bucket, key)` orders rows in UTF-8 binary order (SQLite's default `BINARY`
//! collation compares bytes), which is S3's listing order, so a listing is a range scan.
//!
//! Small bodies are rows of a second table of the same file, `inline_blobs` (see
//! [`super::inline`]).
//!
//! Same settings as the event outbox: `journal_mode=WAL` with `synchronous=NORMAL`, so a
//! commit survives a killed process without an fsync per write. One writer connection
//! (writers are already serialized per bucket by the bucket lock) and one reader connection
//! for listings; WAL lets those run beside a write and each read sees only committed rows, so
//! a reader never observes a torn record.
//!
//! Point reads (one key's record: every HEAD, GET, copy and commit) go through the writer
//! connection: a SQLite connection drops its whole page cache when it starts a read after
//! another connection wrote, so on the reader every lookup after a write re-read its pages
//! from the WAL (measured: a tenth of the server's CPU during the small-object benchmark).
//! The writer's cache stays valid because the writes are its own.

use std::collections::VecDeque;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use s3s::{S3Error, S3Result};

use super::model::KeyRecord;
use super::{inline, lock};

/// The database file, in the server's data directory.
pub(crate) const KEYS_FILE: &str = "keys.sqlite3";

/// Rows fetched per query while walking a listing, after the first query.
const PAGE: usize = 500;

pub(crate) struct Db {
    /// Point reads and every write; see the module docs.
    pub(super) writer: Mutex<Connection>,
    /// Listings and startup scans.
    pub(super) reader: Mutex<Connection>,
}

pub(super) fn to_io(e: rusqlite::Error) -> io::Error {
    io::Error::other(format!("key database: {e}"))
}

fn to_s3(e: impl std::fmt::Display) -> S3Error {
    super::internal(e)
}

fn connect(path: &Path) -> io::Result<Connection> {
    let conn = Connection::open(path).map_err(to_io)?;
    // journal_mode answers with a row, so it is read rather than executed.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(to_io)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(io::Error::other(format!(
            "key database: journal_mode is {mode}, not WAL"
        )));
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;")
        .map_err(to_io)?;
    // Checkpoint every 16,384 pages (64 MiB of WAL) instead of 1,000, as the execution store
    // does: a leaf page that many PUTs of neighbouring keys rewrite is copied into the
    // database once per checkpoint, and each checkpoint pays an fsync (perf: checkpoints were
    // a fifth of the cost of storing a key record).
    conn.execute_batch("PRAGMA wal_autocheckpoint=16384;")
        .map_err(to_io)?;
    Ok(conn)
}

/// Decodes a stored record, without the spare capacity a growing Vec would keep.
pub(crate) fn decode(json: &str) -> serde_json::Result<KeyRecord> {
    let mut rec: KeyRecord = serde_json::from_str(json)?;
    rec.versions.shrink_to_fit();
    Ok(rec)
}

impl Db {
    /// Opens (or creates) `dir/keys.sqlite3`.
    pub(crate) fn open(dir: &Path) -> io::Result<Db> {
        let path = dir.join(KEYS_FILE);
        let writer = connect(&path)?;
        writer
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS keys (
                     bucket TEXT NOT NULL,
                     key TEXT NOT NULL,
                     record TEXT NOT NULL,
                     PRIMARY KEY (bucket, key)
                 ) WITHOUT ROWID;",
            )
            .map_err(to_io)?;
        super::inline::create_table(&writer).map_err(to_io)?;
        let reader = connect(&path)?;
        Ok(Db {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// The record of `bucket`/`key`, if the key has any version.
    pub(crate) fn get(&self, bucket: &str, key: &str) -> S3Result<Option<KeyRecord>> {
        let conn = lock(&self.writer);
        let json: Option<String> = conn
            .prepare_cached("SELECT record FROM keys WHERE bucket = ?1 AND key = ?2")
            .and_then(|mut s| s.query_row(params![bucket, key], |r| r.get(0)).optional())
            .map_err(to_s3)?;
        json.map(|j| decode(&j)).transpose().map_err(to_s3)
    }

    /// Stores `rec` as the record of `bucket`/`key`, with the pending bytes of its inline
    /// segments, or with `None` (or no versions left) removes the key. Committed when this
    /// returns.
    pub(crate) fn put(&self, bucket: &str, key: &str, rec: Option<&KeyRecord>) -> S3Result<()> {
        let conn = lock(&self.writer);
        match rec.filter(|r| !r.versions.is_empty()) {
            Some(rec) => {
                let json = serde_json::to_string(rec).map_err(to_s3)?;
                let store = |conn: &Connection| {
                    conn.prepare_cached(
                        "INSERT OR REPLACE INTO keys (bucket, key, record) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut s| s.execute(params![bucket, key, json]))
                };
                if inline::pending(rec).next().is_none() {
                    store(&conn).map_err(to_s3)?;
                } else {
                    // The bytes and the record that names them commit together.
                    let tx = conn.unchecked_transaction().map_err(to_s3)?;
                    inline::insert_pending(&tx, rec).map_err(to_s3)?;
                    store(&tx).map_err(to_s3)?;
                    tx.commit().map_err(to_s3)?;
                }
            }
            None => {
                conn.prepare_cached("DELETE FROM keys WHERE bucket = ?1 AND key = ?2")
                    .and_then(|mut s| s.execute(params![bucket, key]))
                    .map_err(to_s3)?;
            }
        }
        Ok(())
    }

    /// Whether `bucket` holds any key.
    pub(crate) fn has_keys(&self, bucket: &str) -> S3Result<bool> {
        let conn = lock(&self.reader);
        conn.prepare_cached("SELECT 1 FROM keys WHERE bucket = ?1 LIMIT 1")
            .and_then(|mut s| s.exists(params![bucket]))
            .map_err(to_s3)
    }

    /// Up to `limit` records of `bucket` from `from` on, in key order.
    fn page(
        &self,
        bucket: &str,
        from: &Bound<String>,
        limit: usize,
    ) -> S3Result<Vec<(String, String)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = lock(&self.reader);
        let (sql, start) = match from {
            Bound::Included(k) => (
                "SELECT key, record FROM keys WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3",
                k.as_str(),
            ),
            Bound::Excluded(k) => (
                "SELECT key, record FROM keys WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
                k.as_str(),
            ),
            Bound::Unbounded => (
                "SELECT key, record FROM keys WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3",
                "",
            ),
        };
        let mut stmt = conn.prepare_cached(sql).map_err(to_s3)?;
        stmt.query_map(params![bucket, start, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .and_then(Iterator::collect)
        .map_err(to_s3)
    }

    /// The records of `bucket` from `from` on, in key order, fetched a page at a time as the
    /// iterator is consumed (so a listing reads only as far as it goes). The first query
    /// reads `first` rows (a listing of N keys reads N + 1 to see whether more follow).
    pub(crate) fn rows<'d>(
        &'d self,
        bucket: &'d str,
        from: Bound<String>,
        first: usize,
    ) -> Rows<'d> {
        Rows {
            db: self,
            bucket,
            from,
            limit: first.clamp(1, 2 * PAGE + 1),
            buf: VecDeque::new(),
            done: false,
            error: None,
        }
    }

    /// Imports key records (from the JSON key files of older versions) in one transaction.
    pub(crate) fn import(
        &self,
        bucket: &str,
        records: impl IntoIterator<Item = io::Result<KeyRecord>>,
    ) -> io::Result<usize> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction().map_err(to_io)?;
        let mut n = 0;
        {
            let mut stmt = tx
                .prepare("INSERT OR REPLACE INTO keys (bucket, key, record) VALUES (?1, ?2, ?3)")
                .map_err(to_io)?;
            for rec in records {
                let rec = rec?;
                if rec.versions.is_empty() {
                    continue;
                }
                let json = serde_json::to_string(&rec).map_err(io::Error::other)?;
                stmt.execute(params![bucket, rec.key, json])
                    .map_err(to_io)?;
                n += 1;
            }
        }
        tx.commit().map_err(to_io)?;
        Ok(n)
    }

    /// Calls `f` with every stored record's JSON, streaming (one row in memory at a time).
    pub(crate) fn for_each_record(&self, mut f: impl FnMut(&str)) -> io::Result<()> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare("SELECT record FROM keys").map_err(to_io)?;
        let mut rows = stmt.query([]).map_err(to_io)?;
        while let Some(row) = rows.next().map_err(to_io)? {
            let json = row.get_ref(0).map_err(to_io)?.as_str().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("key database: {e}"))
            })?;
            f(json);
        }
        Ok(())
    }
}

/// See [`Db::rows`]. A database error ends the iteration; check [`Rows::finish`].
pub(crate) struct Rows<'d> {
    db: &'d Db,
    bucket: &'d str,
    from: Bound<String>,
    /// Rows the next query reads.
    limit: usize,
    buf: VecDeque<(String, String)>,
    done: bool,
    error: Option<S3Error>,
}

impl Rows<'_> {
    /// The error that cut the iteration short, if any.
    pub(crate) fn finish(self) -> S3Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

impl Iterator for Rows<'_> {
    type Item = (String, KeyRecord);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((key, json)) = self.buf.pop_front() {
                match decode(&json) {
                    Ok(rec) => return Some((key, rec)),
                    Err(e) => {
                        tracing::warn!(bucket = self.bucket, key, error = %e, "unreadable key record, skipped");
                        continue;
                    }
                }
            }
            if self.done || self.error.is_some() {
                return None;
            }
            match self.db.page(self.bucket, &self.from, self.limit) {
                Ok(page) => {
                    self.done = page.len() < self.limit;
                    self.limit = PAGE;
                    if let Some((last, _)) = page.last() {
                        self.from = Bound::Excluded(last.clone());
                    }
                    self.buf.extend(page);
                    if self.buf.is_empty() {
                        return None;
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn record(key: &str) -> KeyRecord {
        serde_json::from_value(serde_json::json!({
            "key": key,
            "versions": [{
                "version_id": "null", "last_modified_ms": 0, "size": 1, "etag": "e",
                "segments": [{"blob": format!("b-{key}"), "size": 1}],
                "headers": {}, "metadata": {}, "tags": [], "storage_class": "STANDARD",
                "checksum": null, "crc64nvme": 0, "parts": null
            }]
        }))
        .unwrap()
    }

    #[test]
    fn rows_walk_every_key_of_one_bucket_in_order_across_pages() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let keys: Vec<String> = (0..PAGE * 2 + 3).map(|i| format!("k{i:05}")).collect();
        for k in keys.iter().rev() {
            db.put("b", k, Some(&record(k))).unwrap();
        }
        db.put("a", "k00000", Some(&record("k00000"))).unwrap();
        db.put("c", "k99999", Some(&record("k99999"))).unwrap();
        let mut rows = db.rows("b", Bound::Excluded("k00001".to_owned()), 3);
        let got: Vec<String> = rows.by_ref().map(|(k, _)| k).collect();
        rows.finish().unwrap();
        assert_eq!(got, keys[2..]);
        let all = db.rows("b", Bound::Unbounded, PAGE).count();
        assert_eq!(all, keys.len());
    }

    #[test]
    fn a_record_without_versions_removes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.put("b", "k", Some(&record("k"))).unwrap();
        assert!(db.has_keys("b").unwrap());
        assert_eq!(db.get("b", "k").unwrap().unwrap().versions.len(), 1);
        let mut empty = record("k");
        empty.versions.clear();
        db.put("b", "k", Some(&empty)).unwrap();
        assert!(db.get("b", "k").unwrap().is_none());
        assert!(!db.has_keys("b").unwrap());
    }
}
