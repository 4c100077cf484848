//! The durable store of an engine: executions, their histories and their resume points in
//! one SQLite database, so executions survive a killed process the way Step Functions
//! Standard executions survive a host failure.
//!
//! - **What is written when.** Every history event is queued to one writer thread as it
//!   happens; the runner waits for a [`Store::barrier`] before it enters the next top-level
//!   state, so a state never starts before the history that led to it is on disk. The writer
//!   commits whatever is queued in one transaction (group commit), so many executions share a
//!   commit.
//! - **Why SQLite.** WAL mode with `synchronous=NORMAL`: a commit is in the operating
//!   system's hands when it returns, so it survives `kill -9` without an fsync per commit (a
//!   power cut may lose the last commits; the WAL keeps the database consistent). Indexed
//!   queries make a `ListExecutions` page cost the page, not the total.
//! - **Bounded memory.** Finished executions live only here; the engine keeps in memory the
//!   executions that run.
//! - **Resume.** A running execution's row carries a [`Checkpoint`]: the top-level state it
//!   is in, that state's input, and the retry counters and back-off deadline of a Task that
//!   failed, so a restarted engine continues from there.

mod checkpoint;
mod chunk;
mod read;
mod schema;
mod write;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub(crate) use checkpoint::{Checkpoint, PendingRetry, StoredCheckpoint};
pub use read::{ExecutionFilter, StoredExecution};
pub(crate) use write::Write;

use crate::execution::ExecutionStatus;

/// Why the store could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused (the file is not a database, the disk is full, ...).
    #[error("execution store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The directory for the database could not be created.
    #[error("execution store {path}: {source}")]
    Io {
        /// The database file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The writer thread is gone (the process is shutting down).
    #[error("the execution store's writer has stopped")]
    WriterStopped,
}

/// The executions database of one engine. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: String,
    opened_max_seq: u64,
    reader: Mutex<rusqlite::Connection>,
    writer: write::Writer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (or creates, with its directory) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: name.clone(),
                source,
            })?;
        }
        let err = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        let writer_conn = schema::open(path).map_err(err)?;
        let reader = schema::open(path).map_err(err)?;
        let opened_max_seq = read::max_seq(&reader).map_err(err)?;
        let writer = write::Writer::spawn(writer_conn, name.clone());
        Ok(Store {
            inner: Arc::new(Inner {
                opened_max_seq,
                path: name,
                reader: Mutex::new(reader),
                writer,
            }),
        })
    }

    pub(crate) fn send(&self, write: Write) {
        self.inner.writer.send(write);
    }

    /// Waits until everything queued so far is committed.
    pub async fn barrier(&self) -> Result<(), StoreError> {
        self.inner.writer.barrier().await
    }

    fn reader(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.inner
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn sqlite<T>(&self, r: rusqlite::Result<T>) -> Result<T, StoreError> {
        r.map_err(|source| StoreError::Sqlite {
            path: self.inner.path.clone(),
            source,
        })
    }

    /// The highest sequence number on record when the store was opened.
    pub fn opened_max_seq(&self) -> u64 {
        self.inner.opened_max_seq
    }

    /// The highest execution sequence number on record (0 when empty).
    pub fn max_seq(&self) -> Result<u64, StoreError> {
        let r = read::max_seq(&self.reader());
        self.sqlite(r)
    }

    /// One execution by ARN.
    pub fn execution(&self, arn: &str) -> Result<Option<StoredExecution>, StoreError> {
        let r = read::by_arn(&self.reader(), arn);
        self.sqlite(r)
    }

    /// Whether an execution with this ARN is on record (its name is taken).
    pub fn exists(&self, arn: &str) -> Result<bool, StoreError> {
        let r = read::exists(&self.reader(), arn);
        self.sqlite(r)
    }

    /// A page of executions, newest first, as summaries: their input, output and cause are
    /// left out (read one with [`Store::execution`] for those).
    pub fn list(&self, filter: &ExecutionFilter<'_>) -> Result<Vec<StoredExecution>, StoreError> {
        let r = read::list(&self.reader(), filter);
        self.sqlite(r)
    }

    /// How many executions of a state machine have each status.
    pub fn count_by_status(
        &self,
        machine_arn: &str,
    ) -> Result<Vec<(ExecutionStatus, u64)>, StoreError> {
        let r = read::count_by_status(&self.reader(), machine_arn);
        self.sqlite(r)
    }

    /// History events (wire JSON text) of execution `seq` with ids in `(after, after + limit]`.
    pub fn history(&self, seq: u64, after: u64, limit: u64) -> Result<Vec<String>, StoreError> {
        let r = read::history(&self.reader(), seq, after, limit);
        self.sqlite(r)
    }

    /// The id of the last history event of execution `seq` (0 if none).
    pub fn last_event_id(&self, seq: u64) -> Result<u64, StoreError> {
        let r = read::last_event_id(&self.reader(), seq);
        self.sqlite(r)
    }

    /// The resume point of execution `seq`: where it runs, or where it stopped when it
    /// ended unsuccessfully (`None` once it succeeded).
    pub(crate) fn checkpoint(&self, seq: u64) -> Result<Option<Checkpoint>, StoreError> {
        let r = read::checkpoint(&self.reader(), seq);
        self.sqlite(r)
    }

    /// The executions still running, with their resume points, oldest first.
    pub(crate) fn running(
        &self,
        machine_arn: &str,
    ) -> Result<Vec<(StoredExecution, Option<Checkpoint>)>, StoreError> {
        let r = read::running(&self.reader(), machine_arn);
        self.sqlite(r)
    }
}
