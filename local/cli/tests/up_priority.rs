//! `copyflow up` serves the application first: the embedded server's main listener runs on
//! threads of the process's own priority, the pipeline (engine workers, the history writer)
//! on threads 10 nice levels lower. Read from /proc of a real `up`, so Linux only.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

/// Niceness of each thread of process `pid`, by thread name.
fn niceness_by_thread(pid: u32) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the parenthesised name: state is field 3, nice is field 19.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let nice: i32 = after_name.split(' ').nth(16).unwrap().parse().unwrap();
        out.entry(name.trim().to_owned()).or_default().push(nice);
    }
    out
}

#[test]
fn the_server_keeps_the_process_priority_and_the_pipeline_runs_ten_levels_lower() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _, _) = support::config(dir.path(), |_| {});
    let up = support::up(&config);
    let threads = niceness_by_thread(up.0.id());
    let own = threads
        .get("copyflow")
        .and_then(|n| n.first().copied())
        .expect("the main thread");
    let lowered = (own + 10).min(19);
    let server = threads.get("copyflow-s3").expect("the server's threads");
    assert!(server.iter().all(|&n| n == own), "{threads:?}");
    let workers = threads
        .get("tokio-rt-worker")
        .expect("the pipeline's workers");
    assert!(workers.iter().all(|&n| n == lowered), "{threads:?}");
    let writer = threads.get("asl-store-write").expect("the history writer");
    assert!(writer.iter().all(|&n| n == lowered), "{threads:?}");
}
