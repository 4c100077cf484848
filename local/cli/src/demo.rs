//! `copyflow demo`: the whole pipeline on loopback, on a realistic tree of files, with every
//! outcome the state machine has, printed as each execution's path through the states.
//! Exit code 0 only if every execution ends in the outcome it should.

use copyflow::outln;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use copyflow_core::Settings;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::CliResult;
use crate::render;
use copyflow::pipeline::{Pipeline, PipelineOptions, S3Target};

struct Case {
    key: String,
    size: usize,
    expect: &'static str,
    why: &'static str,
}

fn case(key: &str, size: usize, expect: &'static str, why: &'static str) -> Case {
    Case {
        key: key.to_owned(),
        size,
        expect,
        why,
    }
}

/// The tree: employees / day / hour / file, plus the awkward cases.
fn workload(large: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for (employee, days) in [
        ("AjayMuralidhar", ["2020-04-06", "2020-04-07"]),
        ("PriyaNair", ["2020-04-06", "2020-04-08"]),
        ("ChenWei", ["2020-04-07", "2020-04-09"]),
    ] {
        for day in days {
            for (hour, file) in [
                ("09", "standup-notes.md"),
                ("12", "my-task.txt"),
                ("17", "timesheet.csv"),
            ] {
                cases.push(case(
                    &format!("{employee}/{day}/{hour}/{file}"),
                    2048 + cases.len() * 97,
                    "Copied",
                    "new file",
                ));
            }
        }
    }
    cases.push(case(
        "ChenWei/2020-04-09/18/site-survey.mp4",
        large,
        "Copied",
        "large: multipart copy",
    ));
    cases.push(case(
        "AjayMuralidhar/2020-04-06/12/my task + notes.txt",
        512,
        "Copied",
        "spaces and +",
    ));
    cases.push(case(
        "ZoëMüller/2020-04-06/13/résumé 東京.txt",
        777,
        "Copied",
        "unicode",
    ));
    cases.push(case(
        "PriyaNair/2020-04-06/14/100% done.txt",
        64,
        "Copied",
        "percent sign",
    ));
    cases.push(case(
        "PriyaNair/2020-04-06/15/empty.log",
        0,
        "Copied",
        "zero bytes",
    ));
    cases.push(case(
        "AjayMuralidhar/2020-13-45/12/bad-date.txt",
        10,
        "KeyRejected",
        "no such date",
    ));
    cases.push(case(
        "notes-without-hierarchy.txt",
        10,
        "KeyRejected",
        "not employee/day/hour/file",
    ));
    cases.push(case(
        "AjayMuralidhar/2020-04-10/",
        0,
        "Skipped",
        "folder marker",
    ));
    cases
}

fn body(size: usize, seed: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed as u64);
    (0..size).map(|_| rng.alphanumeric() as u8).collect()
}

struct Finished {
    name: String,
    key: String,
    path: render::Path,
    output: Option<Value>,
}

pub(crate) async fn run(settings: Settings) -> CliResult<bool> {
    // A large object small enough for a quick demo still takes the multipart path.
    let mut document = settings.document().clone();
    document.copy.multipart_threshold_bytes = 16 * 1024 * 1024;
    document.copy.part_size_bytes = 8 * 1024 * 1024;
    let settings = document.check(settings.origin().clone())?;
    let large = 40 * 1024 * 1024;
    let dir = tempfile::tempdir()?;
    let started_at = Instant::now();
    let options = PipelineOptions {
        settings: settings.clone(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: Some(dir.path().join("executions")),
        max_running: copyflow::pipeline::DEFAULT_MAX_RUNNING,
    };
    let (pipeline, mut started) = Pipeline::start(options).await?;
    outln!("copyflow demo");
    outln!("  S3 (embedded)          {}", pipeline.s3_endpoint());
    outln!(
        "  state machine          {} (statemachine/copyflow.asl.json)",
        pipeline.machine_arn()
    );
    outln!(
        "  source -> destination  s3://{} -> s3://{}",
        settings.source_bucket(),
        settings.destination_bucket()
    );
    outln!(
        "  multipart above        {} MiB (lowered for the demo), parts of {} MiB",
        settings.plan_options().multipart_threshold() >> 20,
        settings.plan_options().part_size() >> 20
    );

    let cases = workload(large);
    outln!(
        "\nuploading {} objects to s3://{} ...\n",
        cases.len(),
        settings.source_bucket()
    );
    let expected: HashMap<String, &Case> = cases.iter().map(|c| (c.key.clone(), c)).collect();
    for (i, c) in cases.iter().enumerate() {
        pipeline
            .s3()
            .put_object()
            .bucket(settings.source_bucket())
            .key(&c.key)
            .body(ByteStream::from(body(c.size, i)))
            .send()
            .await?;
    }
    let mut finished = wait_all(&pipeline, &mut started, cases.len()).await;

    // At-least-once delivery: the same event again must not copy twice.
    let first = finished
        .iter()
        .find(|f| f.key == cases[0].key)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let input = pipeline
        .executions()
        .describe(&arn_of(&pipeline, &first))
        .and_then(|d| d["input"].as_str().map(str::to_owned))
        .unwrap_or_default();
    pipeline.start_execution(pipeline.machine_arn(), Some("redelivered-event"), &input)?;
    finished.extend(wait_all(&pipeline, &mut started, 1).await);

    // A source overwritten before its first event is handled: the late event is Superseded.
    let key = "ChenWei/2020-04-07/10/draft.txt";
    pipeline
        .s3()
        .put_object()
        .bucket(settings.source_bucket())
        .key(key)
        .body(ByteStream::from_static(b"draft one"))
        .send()
        .await?;
    let v1 = wait_all(&pipeline, &mut started, 1).await;
    let v1_input = v1
        .first()
        .and_then(|f| pipeline.executions().describe(&arn_of(&pipeline, &f.name)))
        .and_then(|d| d["input"].as_str().map(str::to_owned))
        .unwrap_or_default();
    finished.extend(v1);
    pipeline
        .s3()
        .put_object()
        .bucket(settings.source_bucket())
        .key(key)
        .body(ByteStream::from_static(b"draft two, final"))
        .send()
        .await?;
    finished.extend(wait_all(&pipeline, &mut started, 1).await);
    pipeline.start_execution(
        pipeline.machine_arn(),
        Some("late-event-of-overwritten-object"),
        &v1_input,
    )?;
    finished.extend(wait_all(&pipeline, &mut started, 1).await);

    let extra = [
        (
            "redelivered-event",
            "Copied",
            "same event twice: nothing copied again",
        ),
        (
            "late-event-of-overwritten-object",
            "Superseded",
            "source overwritten after its event",
        ),
    ];
    let mut ok = true;
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut bytes = 0u64;
    let mut methods: HashMap<String, usize> = HashMap::new();
    outln!("\n{:<11} {:<52} expected", "outcome", "object");
    for f in &finished {
        let (expect, why) = match extra.iter().find(|(n, _, _)| *n == f.name) {
            Some((_, e, w)) => (*e, *w),
            None if f.key == key => ("Copied", "overwritten object, each version copied in turn"),
            None => expected
                .get(&f.key)
                .map_or(("?", "unexpected"), |c| (c.expect, c.why)),
        };
        let good = f.path.outcome() == expect;
        ok &= good;
        outln!(
            "{:<11} {:<52} {} {}",
            f.path.outcome(),
            truncate(&copyflow::output::escape(&f.key), 52),
            if good { "ok" } else { "MISMATCH, expected" },
            if good {
                why.to_owned()
            } else {
                expect.to_owned()
            }
        );
        *counts.entry(f.path.outcome().to_owned()).or_default() += 1;
        if let Some(out) = &f.output {
            if out["copy"]["status"] == "copied" {
                bytes += out["copy"]["source"]["size"].as_u64().unwrap_or(0);
            }
            if let Some(m) = out["verify"]["method"].as_str() {
                *methods.entry(m.to_owned()).or_default() += 1;
            }
        }
    }
    outln!(
        "\nsummary: {} executions in {}",
        finished.len(),
        render::duration(started_at.elapsed().as_secs_f64())
    );
    let mut names: Vec<_> = counts.iter().collect();
    names.sort();
    outln!(
        "  outcomes: {}",
        names
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!("  bytes copied: {bytes}");
    let mut m: Vec<_> = methods.iter().collect();
    m.sort();
    outln!(
        "  copies verified identical: {}",
        m.iter()
            .map(|(k, v)| format!("{v} by {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!(
        "  {}",
        if ok {
            "every execution ended as expected"
        } else {
            "SOME EXECUTIONS ENDED UNEXPECTEDLY"
        }
    );
    pipeline.shutdown().await;
    Ok(ok)
}

fn arn_of(pipeline: &Pipeline, name: &str) -> String {
    format!(
        "{}:{name}",
        pipeline
            .machine_arn()
            .replace(":stateMachine:", ":execution:")
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// Waits for the next `count` executions to start and finish, printing each path as it ends.
async fn wait_all(
    pipeline: &Arc<Pipeline>,
    started: &mut tokio::sync::mpsc::UnboundedReceiver<copyflow_asl::StartedExecution>,
    count: usize,
) -> Vec<Finished> {
    let mut set = JoinSet::new();
    for _ in 0..count {
        let Some(s) = started.recv().await else { break };
        let p = pipeline.clone();
        set.spawn(async move {
            let d = p.executions().engine().wait_for(&s.execution_arn).await;
            let events: Vec<render::Event> = p
                .executions()
                .history(&s.execution_arn)
                .unwrap_or_default()
                .iter()
                .map(render::Event::from_json)
                .collect();
            let input: Value = d
                .as_ref()
                .and_then(|d| serde_json::from_str(&d.input).ok())
                .unwrap_or_default();
            let raw = input["detail"]["object"]["key"]
                .as_str()
                .unwrap_or_default();
            Finished {
                name: d.as_ref().map(|d| d.name.clone()).unwrap_or_default(),
                key: raw.to_owned(),
                path: render::path(&events),
                output: d
                    .and_then(|d| d.output)
                    .and_then(|o| serde_json::from_str(&o).ok()),
            }
        });
    }
    let mut out = Vec::new();
    while let Some(Ok(f)) = set.join_next().await {
        let mark = if f.path.status == "SUCCEEDED" {
            "✔"
        } else {
            "✘"
        };
        outln!(
            "{mark} {:<11} {}  [{}]",
            f.path.outcome(),
            copyflow::output::escape(&f.key),
            f.path.seconds.map_or_else(String::new, render::duration)
        );
        outln!("    {}", f.path.one_line());
        if let Some(line) = render::summary(f.output.as_ref(), &f.path) {
            outln!("    {line}");
        }
        out.push(f);
    }
    out
}
