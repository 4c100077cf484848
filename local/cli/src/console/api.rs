//! The console's HTTP routes: the page and its assets, the JSON API the page reads, and the
//! server-sent events that bring new executions in live.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::source::{ListQuery, Source, SourceError, again_name};
use super::{assets, card, graph, live, progress, states};
use crate::stats as copyflow_stats;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(super) struct Console {
    pub(super) source: Arc<dyn Source>,
    /// How often the live feed looks for changes.
    pub(super) poll: Duration,
}

/// The router over a source.
pub(super) fn router(console: Console) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", assets::INDEX) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", assets::APP) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", assets::STYLE) }),
        )
        .route("/api/machine", get(machine))
        .route("/api/executions", get(executions))
        .route("/api/execution", get(execution))
        .route("/api/progress", get(copy_progress))
        .route("/api/stats", get(stats))
        .route("/api/redrive", post(redrive))
        .route("/api/copy-again", post(copy_again))
        .route("/api/live", get(live_feed))
        .layer(middleware::from_fn(guard))
        .with_state(console)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The page runs only its own script and style: a key can never become markup
            // that runs, even if some rendering forgot to treat it as text.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Loopback only, and no cross-site writes: the Host must be a loopback name (a DNS
/// rebinding page cannot read the API), and a POST must carry the console's own header
/// (a form on another site cannot send it without a preflight this server never grants).
async fn guard(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !is_loopback_host(host) {
        return error(
            StatusCode::FORBIDDEN,
            SourceError::new(
                "Forbidden",
                "the console answers only on a loopback address",
            ),
        );
    }
    if request.method() == axum::http::Method::POST
        && request.headers().get("x-copyflow-console") != Some(&HeaderValue::from_static("1"))
    {
        return error(
            StatusCode::FORBIDDEN,
            SourceError::new("Forbidden", "missing the X-Copyflow-Console header"),
        );
    }
    next.run(request).await
}

/// `127.0.0.1:8084`, `localhost:8084`, `[::1]:8084` (with or without a port).
pub(super) fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(n, _)| n)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn error(status: StatusCode, e: SourceError) -> Response {
    (status, Json(json!({"code": e.code, "message": e.message}))).into_response()
}

fn failed(e: SourceError) -> Response {
    let status = match e.code.as_str() {
        "ExecutionDoesNotExist" => StatusCode::NOT_FOUND,
        "ValidationException"
        | "ExecutionNotRedrivable"
        | "ExecutionAlreadyExists"
        | "InvalidExecutionInput"
        | "ExpressHasNoHistory" => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    };
    error(status, e)
}

/// Express state machines keep no executions in the Step Functions API.
const EXPRESS_NOTE: &str = "This is an Express state machine: Step Functions keeps no execution history for it in its API (no ListExecutions, GetExecutionHistory or redrive). Its executions are in the state machine's CloudWatch Logs log group.";

async fn machine(State(c): State<Console>) -> Response {
    match c.source.machine().await {
        Ok(m) => match graph::layout(&m.definition) {
            Ok(g) => Json(json!({
                "arn": m.arn, "name": m.name, "kind": m.kind, "origin": m.origin,
                "graph": g,
                "note": (m.kind == "EXPRESS").then_some(EXPRESS_NOTE),
            }))
            .into_response(),
            Err(e) => failed(SourceError::new("InvalidDefinition", e.to_string())),
        },
        Err(e) => failed(e),
    }
}

async fn refuse_express(c: &Console) -> Result<(), SourceError> {
    let m = c.source.machine().await?;
    if m.kind == "EXPRESS" {
        return Err(SourceError::new("ExpressHasNoHistory", EXPRESS_NOTE));
    }
    Ok(())
}

async fn executions(State(c): State<Console>, Query(q): Query<ListQuery>) -> Response {
    if let Err(e) = refuse_express(&c).await {
        return failed(e);
    }
    match c.source.list(&q).await {
        Ok(page) => Json(page).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Debug, Deserialize)]
struct ByArn {
    arn: String,
}

async fn execution(State(c): State<Console>, Query(q): Query<ByArn>) -> Response {
    let d = match c.source.describe(&q.arn).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return failed(SourceError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{}'", q.arn),
            ));
        }
        Err(e) => return failed(e),
    };
    let events = match c.source.history(&q.arn).await {
        Ok(events) => events,
        Err(e) => return failed(e),
    };
    let analysis = states::analyse(&events);
    let copy = card::card(d.output.as_deref(), &analysis);
    let mut row = d.row.clone();
    if row.status != "RUNNING" && row.outcome.is_none() {
        row.outcome = analysis.path.last().cloned();
    }
    Json(json!({
        "row": row,
        "input": d.input,
        "output": d.output,
        "error": d.error,
        "cause": d.cause,
        "redriveCount": d.redrive_count,
        "path": analysis.path,
        "states": analysis.states,
        "events": events,
        "card": copy,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatsQuery {
    /// Only executions started this many seconds before now.
    since_seconds: Option<f64>,
    /// Read at most this many executions, newest first (default 10,000).
    limit: Option<usize>,
}

/// `copyflow stats`'s figures (`copyflow::stats`) over the source's executions: the local
/// execution index, or the Step Functions API with `--aws`.
async fn stats(State(c): State<Console>, Query(q): Query<StatsQuery>) -> Response {
    if let Err(e) = refuse_express(&c).await {
        return failed(e);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let cutoff = q.since_seconds.map(|s| now - s);
    let limit = q.limit.unwrap_or(10_000);
    let mut records = Vec::new();
    let mut query = ListQuery {
        limit: Some(200),
        ..ListQuery::default()
    };
    'pages: loop {
        let page = match c.source.list(&query).await {
            Ok(page) => page,
            Err(e) => return failed(e),
        };
        for row in &page.rows {
            if cutoff.is_some_and(|cut| row.start < cut) || records.len() >= limit {
                break 'pages;
            }
            let d = match c.source.describe(&row.arn).await {
                Ok(Some(d)) => d,
                Ok(None) => continue,
                Err(e) => return failed(e),
            };
            let mut fail_state = row.outcome.clone();
            if row.status == "FAILED" && fail_state.is_none() {
                fail_state = match c.source.history(&row.arn).await {
                    Ok(events) => states::analyse(&events).path.last().cloned(),
                    Err(e) => return failed(e),
                };
            }
            let parse = |s: Option<&str>| s.and_then(|s| serde_json::from_str::<Value>(s).ok());
            let (input, output) = (parse(Some(&d.input)), parse(d.output.as_deref()));
            records.push(copyflow_stats::Record::from_description(
                &row.status,
                input.as_ref(),
                output.as_ref(),
                d.error.as_deref(),
                fail_state.as_deref().filter(|_| row.status == "FAILED"),
                row.start,
                row.stop,
            ));
        }
        match page.next {
            Some(next) => query.next = Some(next),
            None => break,
        }
    }
    Json(copyflow_stats::aggregate(&records, q.since_seconds)).into_response()
}

async fn copy_progress(State(c): State<Console>, Query(q): Query<ByArn>) -> Response {
    let events = match c.source.history(&q.arn).await {
        Ok(events) => events,
        Err(e) => return failed(e),
    };
    let Some(target) = progress::target(&states::analyse(&events)) else {
        return Json(json!({"progress": null})).into_response();
    };
    match progress::read(c.source.s3(), &target, c.source.part_size_hint()).await {
        Ok(p) => Json(json!({"progress": p})).into_response(),
        Err(message) => failed(SourceError::new("S3Error", message)),
    }
}

async fn redrive(State(c): State<Console>, Query(q): Query<ByArn>) -> Response {
    match c.source.redrive(&q.arn).await {
        Ok(()) => Json(json!({"executionArn": q.arn})).into_response(),
        Err(e) => failed(e),
    }
}

async fn copy_again(State(c): State<Console>, Query(q): Query<ByArn>) -> Response {
    let d = match c.source.describe(&q.arn).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return failed(SourceError::new(
                "ExecutionDoesNotExist",
                format!("Execution Does Not Exist: '{}'", q.arn),
            ));
        }
        Err(e) => return failed(e),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    match c
        .source
        .start(&again_name(&d.row.name, now), &d.input)
        .await
    {
        Ok(arn) => Json(json!({"executionArn": arn})).into_response(),
        Err(e) => failed(e),
    }
}

async fn live_feed(
    State(c): State<Console>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let rows = live::changes(c.source.clone(), c.poll);
    let events = futures::StreamExt::map(rows, |row: Value| {
        Ok(Event::default().event("row").data(row.to_string()))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "127.0.0.1:8084",
            "localhost:8084",
            "[::1]:8084",
            "127.0.0.1",
            "localhost",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example:8084", "10.0.0.1:8084", "", "[fe80::1]:80"] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
