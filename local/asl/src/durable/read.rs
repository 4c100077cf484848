//! Reads: one execution, a page of executions, a page of history, the running ones. Each
//! query uses an index, so its cost follows the page asked for, not the number stored.

use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::Checkpoint;
use crate::execution::{ExecutionDescription, ExecutionStatus};

/// An execution as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExecution {
    /// Its sequence number: the order of starts, the paging token.
    pub seq: u64,
    /// The `DescribeExecution` fields.
    pub description: ExecutionDescription,
    /// The host's label (copyflow: the object key).
    pub label: Option<String>,
    /// The last state it entered, once it ended (copyflow: the outcome).
    pub last_state: Option<String>,
}

/// Which executions a page holds.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter<'a> {
    /// The state machine's ARN.
    pub machine_arn: &'a str,
    /// Only this status.
    pub status: Option<ExecutionStatus>,
    /// Only labels starting with this.
    pub label_prefix: Option<&'a str>,
    /// Only labels containing this.
    pub label_contains: Option<&'a str>,
    /// Only executions that ended in this state.
    pub last_state: Option<&'a str>,
    /// Only executions older than this sequence number (the page token).
    pub before_seq: Option<u64>,
    /// At most this many.
    pub limit: u64,
}

const COLUMNS: &str = "seq, arn, name, machine_arn, status, start_ns, stop_ns, input, output, \
                       error, cause, label, last_state, redrive_count, redrive_ns";

fn time_of(ns: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn stored(row: &Row<'_>) -> rusqlite::Result<StoredExecution> {
    let status: String = row.get(4)?;
    Ok(StoredExecution {
        seq: row.get::<_, i64>(0)? as u64,
        description: ExecutionDescription {
            execution_arn: row.get(1)?,
            name: row.get(2)?,
            state_machine_arn: row.get(3)?,
            status: ExecutionStatus::parse(&status).unwrap_or(ExecutionStatus::Failed),
            start_date: time_of(row.get(5)?),
            stop_date: row.get::<_, Option<i64>>(6)?.map(time_of),
            input: row.get(7)?,
            output: row.get(8)?,
            error: row.get(9)?,
            cause: row.get(10)?,
            redrive_count: row.get::<_, i64>(13)?.try_into().unwrap_or(u32::MAX),
            redrive_date: row.get::<_, Option<i64>>(14)?.map(time_of),
        },
        label: row.get(11)?,
        last_state: row.get(12)?,
    })
}

/// The columns of a page entry: no input, output or cause (they can be kilobytes each, and
/// a page of summaries is what `ListExecutions` returns).
const SUMMARY_COLUMNS: &str = "seq, arn, name, machine_arn, status, start_ns, stop_ns, '', NULL, \
                               error, NULL, label, last_state, redrive_count, redrive_ns";

pub(super) fn max_seq(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM executions", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

pub(super) fn by_arn(conn: &Connection, arn: &str) -> rusqlite::Result<Option<StoredExecution>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM executions WHERE arn = ?1"))?
        .query_row(params![arn], stored)
        .optional()
}

pub(super) fn exists(conn: &Connection, arn: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM executions WHERE arn = ?1")?
        .query_row(params![arn], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
}

/// `LIKE` with `\` as the escape character, so `%` and `_` in a label match literally.
fn like_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn list(
    conn: &Connection,
    f: &ExecutionFilter<'_>,
) -> rusqlite::Result<Vec<StoredExecution>> {
    let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM executions WHERE machine_arn = ?1");
    let mut args: Vec<rusqlite::types::Value> = vec![f.machine_arn.to_owned().into()];
    let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(s) = f.status {
        arg(&mut sql, " AND status = ?", s.as_str().to_owned().into());
    }
    if let Some(p) = f.label_prefix {
        arg(
            &mut sql,
            " AND label LIKE ? ESCAPE '\\'",
            format!("{}%", like_escaped(p)).into(),
        );
    }
    if let Some(p) = f.label_contains {
        arg(
            &mut sql,
            " AND label LIKE ? ESCAPE '\\'",
            format!("%{}%", like_escaped(p)).into(),
        );
    }
    if let Some(s) = f.last_state {
        arg(&mut sql, " AND last_state = ?", s.to_owned().into());
    }
    if let Some(b) = f.before_seq {
        arg(&mut sql, " AND seq < ?", (b as i64).into());
    }
    arg(
        &mut sql,
        " ORDER BY seq DESC LIMIT ?",
        (f.limit.min(i64::MAX as u64) as i64).into(),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), stored)?;
    rows.collect()
}

pub(super) fn count_by_status(
    conn: &Connection,
    machine_arn: &str,
) -> rusqlite::Result<Vec<(ExecutionStatus, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, COUNT(*) FROM executions WHERE machine_arn = ?1 GROUP BY status",
    )?;
    let rows = stmt.query_map(params![machine_arn], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (status, n) = row?;
        if let Some(s) = ExecutionStatus::parse(&status) {
            out.push((s, n as u64));
        }
    }
    Ok(out)
}

pub(super) fn history(
    conn: &Connection,
    seq: u64,
    after: u64,
    limit: u64,
) -> rusqlite::Result<Vec<String>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let after_sql = after.min(i64::MAX as u64) as i64;
    // Rows from earlier versions first: their ids are below any chunk's of the same execution.
    let mut legacy = conn.prepare_cached(
        "SELECT event FROM events WHERE seq = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let mut out: Vec<String> = legacy
        .query_map(
            params![seq as i64, after_sql, limit.min(i64::MAX as usize) as i64],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    if out.len() >= limit {
        return Ok(out);
    }
    let mut chunks = conn.prepare_cached(
        "SELECT first_id, body FROM event_chunks WHERE seq = ?1 AND last_id > ?2 ORDER BY first_id",
    )?;
    let mut rows = chunks.query(params![seq as i64, after_sql])?;
    while let Some(row) = rows.next()? {
        let first_id = row.get::<_, i64>(0)? as u64;
        let body = row.get_ref(1)?.as_blob()?;
        let events = super::chunk::decode(body).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, e.into())
        })?;
        let skip = usize::try_from(after.saturating_sub(first_id - 1)).unwrap_or(usize::MAX);
        for text in events.into_iter().skip(skip) {
            out.push(text);
            if out.len() >= limit {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

pub(super) fn last_event_id(conn: &Connection, seq: u64) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM events WHERE seq = ?1), 0),
                    COALESCE((SELECT MAX(last_id) FROM event_chunks WHERE seq = ?1), 0))",
    )?
    .query_row(params![seq as i64], |r| r.get::<_, i64>(0))
    .map(|n| n as u64)
}

pub(super) fn checkpoint(conn: &Connection, seq: u64) -> rusqlite::Result<Option<Checkpoint>> {
    let stored: Option<(Option<String>, Option<String>)> = conn
        .prepare_cached("SELECT checkpoint, resume_input FROM executions WHERE seq = ?1")?
        .query_row(params![seq as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(stored.and_then(|(fields, input)| Checkpoint::from_stored(fields.as_deref()?, input)))
}

pub(super) fn running(
    conn: &Connection,
    machine_arn: &str,
) -> rusqlite::Result<Vec<(StoredExecution, Option<Checkpoint>)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, checkpoint, resume_input FROM executions
         WHERE machine_arn = ?1 AND status = 'RUNNING' ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![machine_arn], |r| {
        let fields: Option<String> = r.get(15)?;
        let input: Option<String> = r.get(16)?;
        let checkpoint = fields.and_then(|f| Checkpoint::from_stored(&f, input));
        Ok((stored(r)?, checkpoint))
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::like_escaped;

    #[test]
    fn like_patterns_match_percent_and_underscore_literally() {
        assert_eq!(like_escaped("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(like_escaped("plain/key"), "plain/key");
    }
}
