//! Crash safety of the local runtime: `copyflow up` is killed (SIGKILL) at a seeded random
//! moment while a client uploads a seeded mix of small and multipart-path objects, then
//! restarted on the same data directory, round after round. Afterwards, once the pipeline is
//! quiet: every object in the source bucket has a byte-identical verified copy, each has
//! exactly one execution and it ended `Copied`, every acknowledged PUT is in the source, and
//! the destination holds no multipart upload.
//!
//! Rounds: `COPYFLOW_CRASH_ROUNDS` (default 10), seed: `COPYFLOW_CRASH_SEED` (default 9).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};

const SOURCE: &str = "copyflow-source";
const DESTINATION: &str = "copyflow-destination";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

mod support;
use support::{MACHINE, s3, sfn, up};

/// Deterministic content of one object.
fn body(key: &str, size: usize) -> Vec<u8> {
    let seed = key
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..size).map(|_| rng.u8(..)).collect()
}

struct Upload {
    key: String,
    size: usize,
}

/// This round's objects: small ones and one or two over the lowered multipart threshold.
fn plan(round: u64, rng: &mut fastrand::Rng) -> Vec<Upload> {
    let mut out = Vec::new();
    for i in 0..rng.usize(20..40) {
        out.push(Upload {
            key: format!("Crash{round}/2020-04-06/{:02}/small-{i}.txt", i % 24),
            size: rng.usize(0..16_384),
        });
    }
    for i in 0..rng.usize(1..3) {
        out.push(Upload {
            key: format!("Crash{round}/2020-04-07/10/large-{i}.bin"),
            size: rng.usize(12..24) << 20,
        });
    }
    rng.shuffle(&mut out);
    out
}

async fn all_executions(
    client: &aws_sdk_sfn::Client,
) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = client
            .list_executions()
            .state_machine_arn(MACHINE)
            .max_results(1000)
            .set_next_token(next)
            .send()
            .await
            .unwrap();
        out.extend(page.executions().iter().cloned());
        match page.next_token() {
            Some(t) => next = Some(t.to_owned()),
            None => return out,
        }
    }
}

async fn list_keys(client: &aws_sdk_s3::Client, bucket: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            keys.insert(o.key().unwrap_or_default().to_owned());
        }
    }
    keys
}

async fn get(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(out.body.collect().await.ok()?.into_bytes().to_vec())
}

#[test]
fn killing_up_at_random_moments_loses_nothing_and_leaves_nothing_behind() {
    let rounds = env_u64("COPYFLOW_CRASH_ROUNDS", 10);
    let seed = env_u64("COPYFLOW_CRASH_SEED", 9);
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |settings| {
        settings["copy"]["multipartThresholdBytes"] = json!(8 << 20);
        settings["copy"]["partSizeBytes"] = json!(5 << 20);
        settings["copy"]["maxConcurrency"] = json!(2);
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut acknowledged: BTreeMap<String, usize> = BTreeMap::new();

    for round in 0..rounds {
        let running = up(&config);
        let uploads = plan(round, &mut rng);
        let kill_after = Duration::from_millis(rng.u64(50..1500));
        let client = s3(&s3_endpoint);
        let acked: Vec<(String, usize)> = runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for u in uploads {
                let client = client.clone();
                tasks.spawn(async move {
                    let bytes = body(&u.key, u.size);
                    let put = client
                        .put_object()
                        .bucket(SOURCE)
                        .key(&u.key)
                        .body(ByteStream::from(bytes))
                        .send()
                        .await;
                    put.ok().map(|_| (u.key, u.size))
                });
            }
            let deadline = tokio::time::sleep(kill_after);
            tokio::pin!(deadline);
            let mut acked = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    next = tasks.join_next() => match next {
                        Some(Ok(Some(done))) => acked.push(done),
                        Some(_) => {}
                        // everything uploaded before the kill: let the pipeline run into it
                        None => { (&mut deadline).await; break; }
                    },
                }
            }
            drop(running); // SIGKILL, in the middle of whatever is going on
            while let Some(next) = tasks.join_next().await {
                if let Ok(Some(done)) = next {
                    acked.push(done);
                }
            }
            acked
        });
        acknowledged.extend(acked);
    }

    // The last restart: let it finish everything.
    let _up = up(&config);
    let report = runtime.block_on(async {
        let s3c = s3(&s3_endpoint);
        let sfnc = sfn(&sfn_endpoint);
        let deadline = Instant::now() + Duration::from_secs(300);
        let (source_keys, executions) = loop {
            let source_keys = list_keys(&s3c, SOURCE).await;
            let executions = all_executions(&sfnc).await;
            let running = executions
                .iter()
                .filter(|e| e.status() == &aws_sdk_sfn::types::ExecutionStatus::Running)
                .count();
            if running == 0 && executions.len() >= source_keys.len() {
                // quiet for a moment: nothing new started
                tokio::time::sleep(Duration::from_millis(1500)).await;
                if all_executions(&sfnc).await.len() == executions.len() {
                    break (source_keys, executions);
                }
            }
            assert!(Instant::now() < deadline, "the pipeline did not go quiet: {running} running, {} executions for {} objects", executions.len(), source_keys.len());
            tokio::time::sleep(Duration::from_millis(300)).await;
        };

        let lost: Vec<&String> = acknowledged.keys().filter(|k| !source_keys.contains(*k)).collect();
        assert!(lost.is_empty(), "acknowledged PUTs missing from the source: {lost:?}");

        // Each execution's object key, outcome and how often it invoked CopyObject.
        let mut per_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut duplicate_writes = 0;
        for e in &executions {
            let d = sfnc.describe_execution().execution_arn(e.execution_arn()).send().await.unwrap();
            let input: Value = serde_json::from_str(d.input().unwrap_or("{}")).unwrap();
            let key = input["detail"]["object"]["key"].as_str().unwrap().to_owned();
            let history = sfnc
                .get_execution_history()
                .execution_arn(e.execution_arn())
                .max_results(1000)
                .send()
                .await
                .unwrap();
            let outcome = history
                .events()
                .iter()
                .rev()
                .find_map(|h| h.state_entered_event_details())
                .map(|s| s.name().to_owned())
                .unwrap_or_default();
            let scheduled = history
                .events()
                .iter()
                .filter(|h| h.r#type() == &aws_sdk_sfn::types::HistoryEventType::TaskScheduled)
                .count();
            let entered = history
                .events()
                .iter()
                .filter(|h| h.r#type() == &aws_sdk_sfn::types::HistoryEventType::TaskStateEntered)
                .count();
            // A Task invoked more often than it was entered was re-invoked after a restart.
            duplicate_writes += scheduled.saturating_sub(entered);
            per_key.entry(key).or_default().push(format!("{}:{outcome}", e.status().as_str()));
        }
        let mut wrong = Vec::new();
        for key in &source_keys {
            match per_key.get(key).map(Vec::as_slice) {
                Some([one]) if one == "SUCCEEDED:Copied" => {}
                other => wrong.push(format!("{key}: {other:?}")),
            }
        }
        assert!(wrong.is_empty(), "objects without exactly one Copied execution: {wrong:#?}");

        let mut mismatched = Vec::new();
        for key in &source_keys {
            let (a, b) = (get(&s3c, SOURCE, key).await, get(&s3c, DESTINATION, key).await);
            if a.is_none() || a != b {
                mismatched.push(key.clone());
            }
        }
        assert!(mismatched.is_empty(), "copies that differ from their source: {mismatched:?}");

        let uploads = s3c.list_multipart_uploads().bucket(DESTINATION).send().await.unwrap();
        let orphaned = uploads.uploads().len();
        assert_eq!(orphaned, 0, "multipart uploads left in the destination: {:?}", uploads.uploads());
        format!(
            "crash test: rounds={rounds} objects={} acknowledged={} lost={} orphaned_uploads={orphaned} task_reinvocations={duplicate_writes}",
            source_keys.len(),
            acknowledged.len(),
            lost.len()
        )
    });
    println!("{report}");
}
