//! The writer thread: applies queued writes in order, committing everything queued at once in
//! one transaction (group commit), then releases the barriers that were waiting for it.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use super::chunk::Encoder;
use super::{StoreError, StoredCheckpoint};
use crate::history::HistoryEvent;

/// One change to the store, in the order the engine made it.
pub(crate) enum Write {
    /// A new execution, with its first resume point.
    Start {
        seq: u64,
        arn: String,
        name: String,
        machine_arn: String,
        start_ns: i64,
        input: String,
        label: Option<String>,
        checkpoint: StoredCheckpoint,
    },
    /// A history event.
    Event { seq: u64, event: HistoryEvent },
    /// The execution's resume point moved.
    Checkpoint {
        seq: u64,
        checkpoint: StoredCheckpoint,
    },
    /// The state of the current checkpoint was entered.
    Entered {
        seq: u64,
        entered_id: u64,
        entered_ns: i64,
    },
    /// The execution ended.
    Finish {
        seq: u64,
        status: &'static str,
        stop_ns: i64,
        output: Option<String>,
        error: Option<String>,
        cause: Option<String>,
        last_state: Option<String>,
    },
    /// An unsuccessful execution runs again from `checkpoint` (RedriveExecution).
    Redrive {
        seq: u64,
        redrive_count: u32,
        redrive_ns: i64,
        checkpoint: StoredCheckpoint,
    },
    /// Released once everything before it is committed.
    Barrier(oneshot::Sender<Result<(), String>>),
}

pub(super) struct Writer {
    tx: mpsc::Sender<Write>,
}

/// Writes applied per transaction at most, so one commit never holds the lock for long.
const MAX_BATCH: usize = 4096;
/// Commits at most this often. Each barrier waits at most this long more, which an
/// execution pays once per state: a few milliseconds beside its S3 requests.
const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(2);

impl Writer {
    pub(super) fn spawn(conn: Connection, path: String) -> Writer {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("asl-store-writer".into())
            .spawn(move || run(conn, rx, &path));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the execution store's writer thread");
        }
        Writer { tx }
    }

    pub(super) fn send(&self, write: Write) {
        if self.tx.send(write).is_err() {
            tracing::error!("the execution store's writer has stopped; a write was lost");
        }
    }

    pub(super) async fn barrier(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Write::Barrier(tx))
            .map_err(|_| StoreError::WriterStopped)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Sqlite {
                path: String::new(),
                source: rusqlite::Error::ToSqlConversionFailure(message.into()),
            }),
            Err(_) => Err(StoreError::WriterStopped),
        }
    }
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Write>, path: &str) {
    let mut last_commit = Instant::now();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        // A commit rewrites every page it touched; under load, waiting a moment lets one
        // commit carry the writes of many executions instead of each paying for the same
        // pages. It sleeps rather than waits on the channel, so senders do not wake it for
        // each write.
        let wait = (last_commit + MIN_COMMIT_INTERVAL).saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        last_commit = Instant::now();
        let mut barriers = Vec::new();
        let result = apply(&mut conn, batch, &mut barriers);
        if let Err(e) = &result {
            tracing::error!(path, error = %e, "could not record executions");
        }
        for barrier in barriers {
            let _ = barrier.send(result.as_ref().map(|_| ()).map_err(ToString::to_string));
        }
    }
}

fn apply(
    conn: &mut Connection,
    batch: Vec<Write>,
    barriers: &mut Vec<oneshot::Sender<Result<(), String>>>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut start = tx.prepare_cached(
            "INSERT OR IGNORE INTO executions
               (seq, arn, name, machine_arn, status, start_ns, input, label, checkpoint,
                resume_input)
             VALUES (?1, ?2, ?3, ?4, 'RUNNING', ?5, ?6, ?7, ?8, ?9)",
        )?;
        let mut chunk = tx.prepare_cached(
            "INSERT INTO event_chunks (seq, first_id, last_id, body) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut checkpoint = tx.prepare_cached(
            "UPDATE executions SET checkpoint = ?2, resume_input = ?3 WHERE seq = ?1",
        )?;
        let mut entered = tx.prepare_cached(
            "UPDATE executions
               SET checkpoint = json_set(checkpoint, '$.entered_id', ?2, '$.entered_ns', ?3)
             WHERE seq = ?1 AND checkpoint IS NOT NULL",
        )?;
        let mut finish = tx.prepare_cached(
            "UPDATE executions SET status = ?2, stop_ns = ?3, output = ?4, error = ?5,
               cause = ?6, last_state = ?7,
               checkpoint = CASE WHEN ?2 = 'SUCCEEDED' THEN NULL ELSE checkpoint END,
               resume_input = CASE WHEN ?2 = 'SUCCEEDED' THEN NULL ELSE resume_input END
             WHERE seq = ?1",
        )?;
        let mut redrive = tx.prepare_cached(
            "UPDATE executions SET status = 'RUNNING', stop_ns = NULL, output = NULL,
               error = NULL, cause = NULL, last_state = NULL, redrive_count = ?2,
               redrive_ns = ?3, checkpoint = ?4, resume_input = ?5
             WHERE seq = ?1",
        )?;
        let mut chunks = Chunks::default();
        for write in batch {
            match write {
                Write::Start {
                    seq,
                    arn,
                    name,
                    machine_arn,
                    start_ns,
                    input,
                    label,
                    checkpoint: c,
                } => {
                    start.execute(params![
                        seq as i64,
                        arn,
                        name,
                        machine_arn,
                        start_ns,
                        input,
                        label,
                        c.fields,
                        c.input
                    ])?;
                }
                Write::Event { seq, event } => chunks.push(seq, &event),
                Write::Checkpoint { seq, checkpoint: c } => {
                    checkpoint.execute(params![seq as i64, c.fields, c.input])?;
                }
                Write::Entered {
                    seq,
                    entered_id,
                    entered_ns,
                } => {
                    entered.execute(params![seq as i64, entered_id as i64, entered_ns])?;
                }
                Write::Finish {
                    seq,
                    status,
                    stop_ns,
                    output,
                    error,
                    cause,
                    last_state,
                } => {
                    finish.execute(params![
                        seq as i64, status, stop_ns, output, error, cause, last_state
                    ])?;
                }
                Write::Redrive {
                    seq,
                    redrive_count,
                    redrive_ns,
                    checkpoint: c,
                } => {
                    redrive.execute(params![
                        seq as i64,
                        redrive_count,
                        redrive_ns,
                        c.fields,
                        c.input
                    ])?;
                }
                Write::Barrier(b) => barriers.push(b),
            }
        }
        for c in chunks.runs {
            chunk.execute(params![
                c.seq as i64,
                c.first_id as i64,
                (c.first_id + c.count - 1) as i64,
                c.encoder.finish()
            ])?;
        }
    }
    tx.commit()
}

/// The events of one batch, as runs of consecutive events per execution: one stored chunk
/// each.
#[derive(Default)]
struct Chunks {
    runs: Vec<Run>,
    /// The run each execution is extending.
    open: HashMap<u64, usize>,
}

struct Run {
    seq: u64,
    first_id: u64,
    count: u64,
    encoder: Encoder,
}

impl Chunks {
    fn push(&mut self, seq: u64, event: &HistoryEvent) {
        if let Some(&i) = self.open.get(&seq) {
            let run = &mut self.runs[i];
            if run.first_id + run.count == event.id {
                run.encoder.push(event);
                run.count += 1;
                return;
            }
        }
        self.open.insert(seq, self.runs.len());
        let mut encoder = Encoder::new();
        encoder.push(event);
        self.runs.push(Run {
            seq,
            first_id: event.id,
            count: 1,
            encoder,
        });
    }
}
