//! The database layout and connection settings.
//!
//! `executions` holds one row per execution (the `DescribeExecution` fields plus the host's
//! label, the state it ended in, the resume point while it runs (kept after an unsuccessful
//! end: a redrive starts there; its fields as JSON in `checkpoint`, the state input as text
//! in `resume_input`) and how often it was redriven); `event_chunks` holds
//! the history: the consecutive events of one execution that one commit wrote, as one LZ4
//! block (see [`super::chunk`]: each event's JSON text beside its payload, unescaped; older
//! stores' chunks are JSON lines, still read). Rows append in rowid order, so a commit dirties few pages, and the
//! state document the events of a chunk repeat is stored about once. `events` (one row
//! per event) is where earlier versions wrote; it is still read, never written. Indexes
//! serve the reads the API makes: newest first per state machine, by status, by label
//! prefix.

use std::path::Path;

use rusqlite::Connection;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS executions (
    seq         INTEGER PRIMARY KEY,
    arn         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    machine_arn TEXT NOT NULL,
    status      TEXT NOT NULL,
    start_ns    INTEGER NOT NULL,
    stop_ns     INTEGER,
    input       TEXT NOT NULL,
    output      TEXT,
    error       TEXT,
    cause       TEXT,
    label       TEXT,
    last_state  TEXT,
    checkpoint  TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_ns  INTEGER,
    resume_input TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions(machine_arn, seq);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions(machine_arn, status, seq);
CREATE INDEX IF NOT EXISTS executions_by_label ON executions(machine_arn, label, seq);
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER NOT NULL,
    id    INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (seq, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_chunks (
    seq      INTEGER NOT NULL,
    first_id INTEGER NOT NULL,
    last_id  INTEGER NOT NULL,
    body     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS event_chunks_by_execution ON event_chunks(seq, last_id);
";

/// Opens a connection with the store's settings and makes sure the tables exist.
pub(super) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL: readers never block the writer; NORMAL: no fsync per commit, still atomic and
    // durable against a killed process.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A bounded page cache (about 8 MiB): memory does not grow with the number of executions.
    conn.pragma_update(None, "cache_size", -8192)?;
    // Checkpoint the WAL into the database every 16,384 pages (64 MiB) instead of 1,000: a
    // page rewritten by many commits is copied once per checkpoint, and each checkpoint
    // pays an fsync.
    conn.pragma_update(None, "wal_autocheckpoint", 16384)?;
    conn.execute_batch(SCHEMA)?;
    // Columns later versions added, for a store an earlier one wrote (every execution of
    // a store from before redrive has been redriven 0 times).
    add_column(&conn, "redrive_count", "INTEGER NOT NULL DEFAULT 0")?;
    add_column(&conn, "redrive_ns", "INTEGER")?;
    add_column(&conn, "resume_input", "TEXT")?;
    Ok(conn)
}

/// Adds `column` to the executions table of a store written before it existed.
fn add_column(conn: &Connection, column: &str, declaration: &str) -> rusqlite::Result<()> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('executions') WHERE name = ?1",
        [column],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has {
        conn.execute_batch(&format!(
            "ALTER TABLE executions ADD COLUMN {column} {declaration};"
        ))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_store_from_before_redrive_gains_its_columns_and_keeps_its_rows_and_resume_point() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                r#"CREATE TABLE executions (
                   seq INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                   machine_arn TEXT NOT NULL, status TEXT NOT NULL, start_ns INTEGER NOT NULL,
                   stop_ns INTEGER, input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT,
                   label TEXT, last_state TEXT, checkpoint TEXT);
                 INSERT INTO executions (seq, arn, name, machine_arn, status, start_ns, input,
                   checkpoint)
                   VALUES (1, 'arn:e', 'e', 'arn:m', 'FAILED', 0, '{}',
                   '{"state":"CopyObject","input":"{\"a\":1}","entered_id":5,"entered_ns":6}');"#,
            )
            .unwrap();
        }
        let conn = open(&path).unwrap();
        let count: i64 = conn
            .query_row(
                "SELECT redrive_count FROM executions WHERE seq = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(count, 0);
        // Its resume point, stored with the input inside the JSON, still reads back whole.
        let resume = crate::durable::read::checkpoint(&conn, 1).unwrap().unwrap();
        assert_eq!(
            (
                resume.state.as_str(),
                resume.input.as_str(),
                resume.entered_id
            ),
            ("CopyObject", r#"{"a":1}"#, 5)
        );
        drop(conn);
        // Opening again finds the columns there and leaves them alone.
        open(&path).unwrap();
    }
}
