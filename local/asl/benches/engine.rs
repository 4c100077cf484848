//! Engine throughput and memory: executions per second of a 4-state Task → Choice → Task →
//! Succeed machine with no-op handlers, on a 2-worker tokio runtime (the target machine has 2
//! cores), and resident memory per finished execution (history kept).
//!
//! Run with `cargo bench -p copyflow-asl`. Memory is read from `/proc/self/statm` (resident
//! pages) before and after a round whose executions are all kept, so it includes the history,
//! the record and allocator overhead; `unsafe` is forbidden workspace-wide, so no counting
//! allocator. `ASL_BENCH_EXECUTIONS` sets the round size (default 20 000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Instant;

use copyflow_asl::{Engine, ExecutionFilter, ExecutionStatus, LambdaError, Store};
use serde_json::{Value, json};

fn definition() -> String {
    let task = |next: &str| {
        json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "noop", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}],
            "Next": next
        })
    };
    json!({
        "StartAt": "ValidateKey",
        "States": {
            "ValidateKey": task("IsCopyNeeded"),
            "IsCopyNeeded": {"Type": "Choice",
                "Choices": [{"Variable": "$.action", "StringEquals": "skip", "Next": "Done"}],
                "Default": "CopyObject"},
            "CopyObject": task("Done"),
            "Done": {"Type": "Succeed"}
        }
    })
    .to_string()
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn round(engine: &Engine, arn: &str, n: usize) -> f64 {
    let input = json!({
        "detail": {"bucket": {"name": "source"}, "object": {"key": "photos/2024/cat.jpg", "size": 1024, "etag": "d41d8cd98f00b204e9800998ecf8427e"}},
        "action": "copy"
    })
    .to_string();
    let start = Instant::now();
    let mut arns = Vec::with_capacity(n);
    for _ in 0..n {
        arns.push(
            engine
                .start_execution(arn, None, &input)
                .unwrap()
                .execution_arn,
        );
    }
    for a in &arns {
        let done = engine.wait_for(a).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Succeeded);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) run a quick smoke round.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("ASL_BENCH_EXECUTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benchmarking { 20_000 } else { 200 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = Engine::new();
        engine.register_function("noop", |p: Value| async move { Ok::<_, LambdaError>(p) });
        let arn = engine
            .create_state_machine("bench", &definition(), &HashMap::new())
            .unwrap();
        // Memory first, in a fresh process: warm up, then keep one round's executions.
        round(&engine, &arn, 1000).await;
        engine.forget_finished();
        let before = resident_bytes();
        round(&engine, &arn, n).await;
        let after = resident_bytes();
        let kept = engine.execution_count();
        let history_bytes: usize = engine
            .list_executions(None, None)
            .iter()
            .take(100)
            .filter_map(|d| engine.get_execution_history(&d.execution_arn))
            .map(|h| h.iter().map(|e| e.to_json().to_string().len()).sum::<usize>())
            .sum::<usize>()
            / 100;
        let events_per_execution = engine
            .list_executions(None, None)
            .first()
            .and_then(|d| engine.get_execution_history(&d.execution_arn))
            .map_or(0, |h| h.len());
        engine.forget_finished();
        // Throughput: median of three rounds (finished executions dropped between rounds).
        let mut rates = Vec::new();
        for _ in 0..3 {
            rates.push(round(&engine, &arn, n).await);
            engine.forget_finished();
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "asl engine: {:.0} executions/s (median of 3 rounds of {n}; min {:.0}, max {:.0}) on 2 tokio workers, 4-state Task/Choice machine, no-op handlers",
            rates[1], rates[0], rates[2]
        );
        durable(n, rates[1]).await;
        println!(
            "asl engine: {:.1} KiB resident per finished execution kept ({kept} kept, RSS {:.1} -> {:.1} MiB); its history is {events_per_execution} events, {history_bytes} bytes as GetExecutionHistory JSON",
            after.saturating_sub(before) as f64 / kept.max(1) as f64 / 1024.0,
            before as f64 / 1048576.0,
            after as f64 / 1048576.0
        );
    });
}

/// The same rounds on an engine with a store.
async fn durable(n: usize, in_memory_rate: f64) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .store(Store::open(&dir.path().join("executions.sqlite3")).unwrap())
        .build();
    engine.register_function("noop", |p: Value| async move { Ok::<_, LambdaError>(p) });
    let arn = engine
        .create_state_machine("bench", &definition(), &HashMap::new())
        .unwrap();
    round(&engine, &arn, 1000).await;
    let before = resident_bytes();
    let mut rates = Vec::new();
    for _ in 0..3 {
        rates.push(round(&engine, &arn, n).await);
    }
    engine.flush().await.unwrap();
    let after = resident_bytes();
    rates.sort_by(f64::total_cmp);
    println!(
        "asl engine with a store: {:.0} executions/s (median of 3 rounds of {n}), {:.2}x the in-memory rate; {:.2} KiB resident per finished execution over {} ({:.1} -> {:.1} MiB)",
        rates[1],
        rates[1] / in_memory_rate,
        after.saturating_sub(before) as f64 / (3 * n) as f64 / 1024.0,
        3 * n,
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    let start = Instant::now();
    let (mut pages, mut seen, mut before_seq) = (0, 0, None);
    loop {
        let page = engine
            .list_page(&ExecutionFilter {
                machine_arn: &arn,
                before_seq,
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        pages += 1;
        seen += page.len();
        match page.last() {
            Some(last) if page.len() == 100 => before_seq = Some(last.seq),
            _ => break,
        }
    }
    println!(
        "asl engine with a store: paged through {seen} executions, 100 a page, in {:.2} s ({pages} pages)",
        start.elapsed().as_secs_f64()
    );
}
