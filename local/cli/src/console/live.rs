//! The live feed: the newest page of executions, read again every poll, and each row that
//! is new or changed (status, outcome, end) sent on. Reading the source rather than hooking
//! the engine keeps it the same for a local run and a deployed pipeline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::source::{ListQuery, Row, Source};

/// Rows the feed watches: a page the size the executions page shows.
const WATCHED: u32 = 50;

/// The rows of `page` that differ from `seen` (and `seen` updated to them).
pub(super) fn changed(seen: &mut HashMap<String, Row>, page: Vec<Row>) -> Vec<Row> {
    let mut out = Vec::new();
    for row in page.into_iter().rev() {
        if seen.get(&row.arn) != Some(&row) {
            seen.insert(row.arn.clone(), row.clone());
            out.push(row);
        }
    }
    // Forget what scrolled out of the newest page.
    if seen.len() > 4 * WATCHED as usize {
        let mut rows: Vec<(String, f64)> = seen.iter().map(|(k, r)| (k.clone(), r.start)).collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (arn, _) in rows.into_iter().skip(2 * WATCHED as usize) {
            seen.remove(&arn);
        }
    }
    out
}

/// Rows as they change, oldest change first, forever; what exists when the feed opens is
/// not sent (the page has just read it).
pub(super) fn changes(
    source: Arc<dyn Source>,
    poll: Duration,
) -> impl futures::Stream<Item = Value> + Send {
    struct Feed {
        source: Arc<dyn Source>,
        seen: HashMap<String, Row>,
        pending: Vec<Row>,
        started: bool,
    }
    let feed = Feed {
        source,
        seen: HashMap::new(),
        pending: Vec::new(),
        started: false,
    };
    futures::stream::unfold(feed, move |mut feed| async move {
        loop {
            if let Some(row) = feed.pending.pop() {
                let value = serde_json::to_value(&row).unwrap_or(Value::Null);
                return Some((value, feed));
            }
            if feed.started {
                tokio::time::sleep(poll).await;
            }
            let query = ListQuery {
                limit: Some(WATCHED),
                ..Default::default()
            };
            if let Ok(page) = feed.source.list(&query).await {
                let mut rows = changed(&mut feed.seen, page.rows);
                if !feed.started {
                    rows.clear();
                }
                // `pending` pops from the end: put the oldest change there.
                rows.reverse();
                feed.pending = rows;
            }
            feed.started = true;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arn: &str, status: &str, start: f64) -> Row {
        Row {
            arn: arn.into(),
            name: arn.into(),
            status: status.into(),
            outcome: None,
            key: None,
            size: None,
            start,
            stop: None,
        }
    }

    #[test]
    fn only_new_and_changed_rows_are_sent_oldest_first() {
        let mut seen = HashMap::new();
        let first = changed(
            &mut seen,
            vec![row("b", "RUNNING", 2.0), row("a", "SUCCEEDED", 1.0)],
        );
        assert_eq!(
            first.iter().map(|r| r.arn.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let again = changed(
            &mut seen,
            vec![row("b", "RUNNING", 2.0), row("a", "SUCCEEDED", 1.0)],
        );
        assert!(again.is_empty());
        let later = changed(
            &mut seen,
            vec![
                row("c", "RUNNING", 3.0),
                row("b", "SUCCEEDED", 2.0),
                row("a", "SUCCEEDED", 1.0),
            ],
        );
        assert_eq!(
            later.iter().map(|r| r.arn.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let mut seen = HashMap::new();
        for i in 0..1000 {
            changed(
                &mut seen,
                vec![row(&format!("e{i}"), "RUNNING", f64::from(i))],
            );
        }
        assert!(seen.len() <= 4 * WATCHED as usize);
        assert!(seen.contains_key("e999"));
    }
}
