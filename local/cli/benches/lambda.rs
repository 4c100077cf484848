//! The three Lambda binaries under copyflow's Lambda Runtime API, beside the in-process
//! call the default local runtime makes (not a timed test: nothing passes or fails on a
//! number).
//!
//! - **Cold start**: a new sandbox, exec of the binary to its first `invocation/next` (what
//!   `scripts/cold_start.py` measures, here through the real host, with the environment
//!   Lambda gives the function and `COPYFLOW_SETTINGS` as the CDK app sets it).
//! - **Warm invocation**: one invocation on a warm sandbox, from the engine's call to the
//!   function's answer (event over the Runtime API, the step, the answer back), against the
//!   embedded S3 server on loopback: validate-key on an event, copy-object of a new 1 KiB
//!   object, verify-copy of that copy.
//! - **In-process**: the same step called as a function with the same payloads.
//!
//! ```sh
//! cargo bench --workspace --bench lambda
//! ```
//! builds the binaries in release (`cargo build --workspace --bins --benches --release`, the
//! features `cargo bench --workspace` resolves) unless
//! `COPYFLOW_LAMBDA_BINARIES=DIR` names built ones. `COPYFLOW_BENCH_COLD` (default 20) cold
//! starts and `COPYFLOW_BENCH_WARM` (default 200) warm invocations per binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use copyflow::lambda_host::{HostEnvironment, LambdaBinaries, LambdaHost};
use copyflow::pipeline::DEFINITION;
use copyflow_core::deadline::Deadline;
use copyflow_core::{SettingsDocument, SettingsOrigin, Steps};
use copyflow_s3::{S3Server, ServerConfig};
use serde_json::{Value, json};

const SRC: &str = "bench-source";
const DST: &str = "bench-destination";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The release binaries of this checkout (built here unless named).
fn binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("COPYFLOW_LAMBDA_BINARIES") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = std::process::Command::new(cargo);
    build
        .current_dir(&workspace)
        .args([
            "build",
            "--workspace",
            "--bins",
            "--benches",
            "--release",
            "--locked",
        ])
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            build.env_remove(name.as_ref());
        }
    }
    let status = build.status().unwrap();
    assert!(status.success(), "building the Lambda binaries failed");
    profile_dir
}

struct Stats {
    median: Duration,
    p90: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at =
        |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    Stats {
        median: at(0.5),
        p90: at(0.9),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn micros(s: &Stats) -> String {
    format!(
        "{:>8.0} µs / {:>6.0} µs",
        s.median.as_secs_f64() * 1e6,
        s.p90.as_secs_f64() * 1e6
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let cold_runs = env_number("COPYFLOW_BENCH_COLD", 20).max(1);
    let warm_runs = env_number("COPYFLOW_BENCH_WARM", 200).max(1);
    let dir = binaries();
    let data = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig::new(data.path().join("s3")))
        .await
        .unwrap();
    let c = server.config();
    let s3 = copyflow_core::s3::client_for_endpoint(
        &server.endpoint(),
        &c.access_key,
        &c.secret_key,
        &c.region,
    );
    for bucket in [SRC, DST] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let document = SettingsDocument::new(SRC, DST);
    let settings = document.clone().check(SettingsOrigin::Built).unwrap();
    let env = HostEnvironment {
        region: c.region.clone(),
        account: copyflow_s3::LOCAL_ACCOUNT_ID.into(),
        access_key: c.access_key.clone(),
        secret_key: c.secret_key.clone(),
        function_keys: Default::default(),
        s3_endpoint: server.endpoint(),
        document: serde_json::to_value(&document).unwrap(),
        definition: serde_json::from_str(DEFINITION).unwrap(),
    };
    let mut b = LambdaBinaries::new(&dir);
    b.concurrency = 1;
    let steps = Steps::new(s3.clone(), settings.clone());
    let deadline = || {
        Deadline::at(
            Instant::now() + Duration::from_secs(900),
            Duration::from_secs(60),
        )
    };

    // Events for objects that exist: one per warm invocation and one for the warm-up, for
    // the binaries and (another set) for the in-process calls.
    let mut events = Vec::new();
    for i in 0..2 * (warm_runs + 1) {
        let key = format!("AjayMuralidhar/2020-04-06/12/bench-{i}.txt");
        let put = s3
            .put_object()
            .bucket(SRC)
            .key(&key)
            .body(ByteStream::from(vec![b'x'; 1024]))
            .send()
            .await
            .unwrap();
        events.push(json!({
            "version": "0", "id": format!("bench-{i}"), "detail-type": "Object Created",
            "source": "aws.s3", "account": copyflow_s3::LOCAL_ACCOUNT_ID,
            "time": "2020-04-06T12:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:s3:::{SRC}")],
            "detail": {"version": "0", "bucket": {"name": SRC},
                       "object": {"key": key, "size": 1024,
                                  "etag": put.e_tag().unwrap().trim_matches('"')},
                       "reason": "PutObject"}
        }));
    }
    let (for_binaries, for_in_process) = events.split_at(warm_runs + 1);

    println!(
        "the Lambda binaries under copyflow's Runtime API (binaries in {}; {cold_runs} cold starts, {warm_runs} warm invocations each; median / p90)",
        dir.display()
    );
    println!(
        "  {:<13} {:>20} {:>27} {:>27}",
        "binary", "cold start", "warm invocation", "in-process call"
    );
    for (binary, function) in [
        ("validate-key", "copyflow-validate-key"),
        ("copy-object", "copyflow-copy-object"),
        ("verify-copy", "copyflow-verify-copy"),
    ] {
        let mut cold = Vec::new();
        for _ in 0..cold_runs {
            let host = LambdaHost::new(&b, &env).unwrap();
            cold.push(host.cold_start(function).await.unwrap().unwrap());
            host.shutdown();
        }
        let cold = stats(cold);

        // The payloads each run gets: events, copy jobs, or copy reports.
        let payloads = |events: &[Value]| {
            let steps = &steps;
            let events = events.to_vec();
            async move {
                let mut out = Vec::new();
                for e in events {
                    let job = steps.validate_key(&e).unwrap();
                    out.push(match binary {
                        "validate-key" => e,
                        "copy-object" => job,
                        _ => steps.copy_object(job, deadline()).await.unwrap(),
                    });
                }
                out
            }
        };
        let host = LambdaHost::new(&b, &env).unwrap();
        let mut warm = Vec::new();
        for (i, p) in payloads(for_binaries).await.iter().enumerate() {
            let start = Instant::now();
            let r = host.invoke(function, p).await;
            if let Err(e) = &r {
                panic!("{binary}: {e}");
            }
            if i > 0 {
                warm.push(start.elapsed());
            }
        }
        assert_eq!(host.cold_starts(function), 1);
        host.shutdown();
        let warm = stats(warm);

        let mut in_process = Vec::new();
        for (i, p) in payloads(for_in_process).await.into_iter().enumerate() {
            let start = Instant::now();
            match binary {
                "validate-key" => drop(steps.validate_key(&p).unwrap()),
                "copy-object" => drop(steps.copy_object(p, deadline()).await.unwrap()),
                _ => drop(steps.verify_copy(p, deadline()).await.unwrap()),
            }
            if i > 0 {
                in_process.push(start.elapsed());
            }
        }
        let in_process = stats(in_process);
        println!(
            "  {binary:<13} {:>9} / {:>8} {:>27} {:>27}",
            ms(cold.median),
            ms(cold.p90),
            micros(&warm),
            micros(&in_process)
        );
    }
    server.shutdown().await;
}
