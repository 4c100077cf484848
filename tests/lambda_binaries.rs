//! The deployed artifacts, run locally: the state machine's Tasks dispatched to the three
//! real Lambda binaries (`functions/*`) as child processes under copyflow's Lambda Runtime
//! API, against the embedded S3 server. Every outcome of the state machine, the checkpoint
//! loop of a multipart copy (driven by the deadline header), warm reuse, the answer to bad
//! settings, and what a crashing or hanging runtime turns into.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/binaries.rs"]
mod binaries;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use copyflow::lambda_host::{HostEnvironment, LambdaBinaries, LambdaHost};
use copyflow::pipeline::{DEFINITION, Pipeline, PipelineOptions, S3Target};
use copyflow::render;
use copyflow_asl::{LambdaError, StartedExecution};
use copyflow_core::{SettingsDocument, SettingsOrigin};
use copyflow_s3::faults::{Fault, FaultPlan, Operation};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

const SRC: &str = "copyflow-source";
const DST: &str = "copyflow-destination";

struct Env {
    pipeline: Arc<Pipeline>,
    started: UnboundedReceiver<StartedExecution>,
    dir: tempfile::TempDir,
}

async fn env_with(document: SettingsDocument, edit: impl FnOnce(&mut LambdaBinaries)) -> Env {
    env_with_policies(document, edit, None).await
}

/// [`env_with`] with the step policies given (None: the deployed ones).
async fn env_with_policies(
    document: SettingsDocument,
    edit: impl FnOnce(&mut LambdaBinaries),
    policies: Option<Vec<(String, Value)>>,
) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut lambda = LambdaBinaries::new(binaries::dir());
    lambda.logs_dir = Some(dir.path().join("lambda-logs"));
    edit(&mut lambda);
    let options = PipelineOptions {
        settings: document.check(SettingsOrigin::Built).unwrap(),
        s3: S3Target::Embedded {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("s3"),
        },
        executions_dir: None,
        max_running: copyflow::pipeline::DEFAULT_MAX_RUNNING,
        lambda_binaries: Some(lambda),
        server_runtime: None,
    };
    let (pipeline, started) = match policies {
        None => Pipeline::start(options).await.unwrap(),
        Some(p) => Pipeline::start_with_step_policies(options, &p)
            .await
            .unwrap(),
    };
    Env {
        pipeline,
        started,
        dir,
    }
}

impl Env {
    async fn put(&self, key: &str, body: Vec<u8>) {
        self.pipeline
            .s3()
            .put_object()
            .bucket(SRC)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }

    async fn next_finished(&mut self) -> (render::Path, Value) {
        let s = tokio::time::timeout(Duration::from_secs(20), self.started.recv())
            .await
            .unwrap()
            .unwrap();
        self.finished(&s.execution_arn).await
    }

    async fn finished(&self, arn: &str) -> (render::Path, Value) {
        let ex = self.pipeline.executions();
        let waited = tokio::time::timeout(Duration::from_secs(60), ex.engine().wait_for(arn)).await;
        assert!(
            waited.is_ok(),
            "{arn} did not finish; logs:\n{}",
            self.logs()
        );
        let events: Vec<render::Event> = ex
            .history(arn)
            .unwrap()
            .iter()
            .map(render::Event::from_json)
            .collect();
        (render::path(&events), ex.describe(arn).unwrap())
    }

    async fn restart(&mut self, description: &Value, name: &str) -> String {
        let input = description["input"].as_str().unwrap();
        let arn = self
            .pipeline
            .start_execution(self.pipeline.machine_arn(), Some(name), input)
            .unwrap()
            .execution_arn;
        let announced = self.started.recv().await.unwrap();
        assert_eq!(announced.execution_arn, arn);
        arn
    }

    fn host(&self) -> &Arc<LambdaHost> {
        self.pipeline.lambda_host().unwrap()
    }

    /// The functions' logs (for failure messages).
    fn logs(&self) -> String {
        let mut all = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("lambda-logs")) {
            for entry in entries.flatten() {
                all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        all
    }
}

fn visits(path: &render::Path, state: &str) -> usize {
    path.visits.iter().filter(|v| v.state == state).count()
}

/// The binaries sign with their own step keys, so the embedded server holds them to the
/// deployed policies: without `s3:PutObject` in copy-object's policy its copy is refused
/// with AWS's AccessDenied naming the step's user, and the execution ends CopyFailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_are_held_to_their_deployed_iam_policies() {
    let document = SettingsDocument::new(SRC, DST);
    let settings = document.clone().check(SettingsOrigin::Built).unwrap();
    let mut policies = copyflow::step_keys::policy_documents(&settings);
    for (state, policy) in &mut policies {
        if state != "CopyObject" {
            continue;
        }
        for statement in policy["Statement"].as_array_mut().unwrap() {
            if let Some(actions) = statement["Action"].as_array_mut() {
                actions.retain(|a| a != "s3:PutObject");
            }
        }
    }
    let mut e = env_with_policies(document, |_| {}, Some(policies)).await;
    e.put(
        "AjayMuralidhar/2020-04-06/12/denied.txt",
        b"no put".to_vec(),
    )
    .await;
    let (path, _) = e.next_finished().await;
    assert_eq!(
        (path.outcome(), path.error.as_deref()),
        ("CopyFailed", Some("AccessDenied")),
        "{:?}\n{}",
        path.visits,
        e.logs()
    );
    let cause = path.cause.unwrap_or_default();
    assert!(
        cause.contains("copyflow-copy-object") && cause.contains("s3:PutObject"),
        "{cause}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_is_reached_through_the_real_lambda_binaries() {
    let mut e = env_with(SettingsDocument::new(SRC, DST), |_| {}).await;
    e.put("AjayMuralidhar/2020-04-06/12/my-task.txt", b"task".to_vec())
        .await;
    let (copied, first) = e.next_finished().await;
    assert_eq!(
        (copied.outcome(), copied.status.as_str()),
        ("Copied", "SUCCEEDED"),
        "{:?}\n{}",
        copied.visits,
        e.logs()
    );
    let output: Value = serde_json::from_str(first["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["verify"]["verdict"], "identical");

    e.put("AjayMuralidhar/2020-04-06/", Vec::new()).await;
    assert_eq!(e.next_finished().await.0.outcome(), "Skipped");

    e.put(
        "AjayMuralidhar/2020-02-30/12/no-such-day.txt",
        b"x".to_vec(),
    )
    .await;
    let (rejected, _) = e.next_finished().await;
    assert_eq!(
        (rejected.outcome(), rejected.error.as_deref()),
        ("KeyRejected", Some("KeyRejected"))
    );

    e.put(
        "AjayMuralidhar/2020-04-06/12/my-task.txt",
        b"task, revised".to_vec(),
    )
    .await;
    e.next_finished().await;
    let stale = e.restart(&first, "stale-event").await;
    assert_eq!(e.finished(&stale).await.0.outcome(), "Superseded");

    e.put("PriyaNair/2020-04-07/09/gone.txt", b"soon deleted".to_vec())
        .await;
    let (_, gone) = e.next_finished().await;
    e.pipeline
        .s3()
        .delete_object()
        .bucket(SRC)
        .key("PriyaNair/2020-04-07/09/gone.txt")
        .send()
        .await
        .unwrap();
    let late = e.restart(&gone, "event-of-a-deleted-object").await;
    let (failed, _) = e.finished(&late).await;
    assert_eq!(
        (failed.outcome(), failed.error.as_deref()),
        ("CopyFailed", Some("SourceNotFound"))
    );

    // One execution at a time: every function ran warm after its one cold start.
    for function in [
        "copyflow-validate-key",
        "copyflow-copy-object",
        "copyflow-verify-copy",
    ] {
        assert_eq!(e.host().cold_starts(function), 1, "{function}");
    }
    e.pipeline.shutdown().await;
}

/// The copy-object binary gets a 11 s budget with a 10 s margin in its deadline header, and
/// every part copy takes 400 ms: each invocation copies a part or two and returns a
/// checkpoint, which the state machine feeds back until the copy completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_copy_loops_through_checkpoints_set_by_the_deadline_header() {
    let mut settings = SettingsDocument::new(SRC, DST);
    settings.copy.multipart_threshold_bytes = 8 << 20;
    settings.copy.part_size_bytes = 5 << 20;
    settings.copy.max_concurrency = 1;
    settings.copy.deadline_margin_seconds = 10;
    let mut e = env_with(settings, |b| {
        b.timeouts
            .insert("copyflow-copy-object".into(), Duration::from_secs(11));
    })
    .await;
    e.pipeline.with_faults(Some(FaultPlan::new(3).fail(
        Operation::UploadPartCopy,
        Fault::Latency(Duration::from_millis(400)),
        1.0,
    )));
    e.put("ChenWei/2020-04-09/18/site-survey.mp4", vec![7u8; 30 << 20])
        .await;
    let (path, description) = e.next_finished().await;
    assert_eq!(path.outcome(), "Copied", "{:?}\n{}", path.visits, e.logs());
    assert!(
        visits(&path, "CopyObject") >= 2,
        "expected a checkpoint loop: {:?}",
        path.visits
    );
    let output: Value = serde_json::from_str(description["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["copy"]["method"], "multipart");
    assert_eq!(output["copy"]["partsTotal"], 6);
    assert_eq!(output["verify"]["verdict"], "identical");
    e.pipeline.with_faults(None);
    e.pipeline.shutdown().await;
}

/// A copy that went wrong without S3 saying so: the destination holds other bytes and the
/// copy step reports that write as its own. The real verify-copy binary finds the mismatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_differs_ends_in_verification_failed_through_the_real_binaries() {
    let mut e = env_with(SettingsDocument::new(SRC, DST), |_| {}).await;
    let host = e.host().clone();
    let s3 = e.pipeline.s3().clone();
    // The copy-object binary runs as usual; then the destination is overwritten and the
    // copy's report points at the overwrite.
    e.pipeline.executions().engine().register_function(
        "copyflow-copy-object",
        move |payload: Value| {
            let (host, s3) = (host.clone(), s3.clone());
            async move {
                let mut doc = host.invoke("copyflow-copy-object", &payload).await?;
                let key = doc["copy"]["destinationKey"].as_str().unwrap().to_owned();
                let bad = s3
                    .put_object()
                    .bucket(DST)
                    .key(&key)
                    .body(ByteStream::from_static(b"corrupted bytes"))
                    .send()
                    .await
                    .map_err(|e| LambdaError::new("Test", e.to_string()))?;
                let destination = &mut doc["copy"]["destination"];
                destination["etag"] = json!(bad.e_tag().unwrap().trim_matches('"'));
                if let Some(v) = bad.version_id() {
                    destination["versionId"] = json!(v);
                }
                Ok(doc)
            }
        },
    );
    e.put(
        "AjayMuralidhar/2020-04-06/12/corrupt.txt",
        b"the real bytes".to_vec(),
    )
    .await;
    let (path, _) = e.next_finished().await;
    assert_eq!(
        (path.outcome(), path.error.as_deref()),
        ("VerificationFailed", Some("ChecksumMismatch")),
        "{:?}\n{}",
        path.visits,
        e.logs()
    );
    e.pipeline.shutdown().await;
}

fn host_env(document: Value) -> HostEnvironment {
    HostEnvironment {
        region: "us-east-1".into(),
        account: copyflow_s3::LOCAL_ACCOUNT_ID.into(),
        access_key: copyflow_s3::DEFAULT_ACCESS_KEY.into(),
        secret_key: copyflow_s3::DEFAULT_SECRET_KEY.into(),
        function_keys: Default::default(),
        // Nothing listens there: no invocation here reaches S3.
        s3_endpoint: "http://127.0.0.1:9".into(),
        document,
        definition: serde_json::from_str(DEFINITION).unwrap(),
    }
}

/// Settings the functions refuse (`copy.maxConcurrency` 0): each binary starts its runtime
/// anyway and answers every invocation with ConfigurationError naming the field, from the
/// same process (one cold start, no crash loop).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_are_answered_with_configuration_error_by_every_binary() {
    let document = json!({
        "source": {"bucket": SRC},
        "destination": {"bucket": DST},
        "copy": {"maxConcurrency": 0},
    });
    let host = LambdaHost::new(&LambdaBinaries::new(binaries::dir()), &host_env(document)).unwrap();
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events/aws-doc-example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for function in [
        "copyflow-validate-key",
        "copyflow-copy-object",
        "copyflow-verify-copy",
    ] {
        for _ in 0..3 {
            let error = host.invoke(function, &event).await.unwrap_err();
            assert_eq!(
                error.error_type, "ConfigurationError",
                "{function}: {error}"
            );
            assert!(
                error.error_message.contains("copy.maxConcurrency"),
                "{function}: {error}"
            );
            let failure = error.to_failure();
            assert_eq!(failure.error, "ConfigurationError");
            let cause: Value = serde_json::from_str(failure.cause.as_deref().unwrap()).unwrap();
            assert_eq!(cause["errorType"], "ConfigurationError");
        }
        assert_eq!(host.cold_starts(function), 1, "{function} was restarted");
    }
    host.shutdown();
}

/// Stand-in runtimes written in bash (its /dev/tcp), for what the real binaries never do:
/// take an event and exit, post an init error, hang past the deadline.
fn scripted_runtimes(dir: &Path, script: &str) -> LambdaBinaries {
    use std::os::unix::fs::PermissionsExt;
    for name in ["validate-key", "copy-object", "verify-copy"] {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/bash\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    LambdaBinaries::new(dir)
}

/// Sends one request to the Runtime API and reads the status line.
const REQUEST: &str = r#"
request() {
  exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
  printf '%s %s HTTP/1.1\r\nHost: runtime\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$1" "$2" "${#3}" "$3" >&3
  read -r status <&3
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_exits_mid_invocation_fails_it_with_runtime_exit_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!("{REQUEST}\nrequest GET /2018-06-01/runtime/invocation/next ''\nexit 3");
    let host = LambdaHost::new(
        &scripted_runtimes(dir.path(), &script),
        &host_env(json!({})),
    )
    .unwrap();
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        host.invoke("copyflow-copy-object", &json!({})),
    )
    .await
    .expect("an exit must not hang the invocation")
    .unwrap_err();
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(
        error
            .error_message
            .ends_with("Runtime exited with error: exit status 3"),
        "{error}"
    );
    // The next invocation gets a new sandbox, which fails the same way.
    let again = host.invoke("copyflow-copy-object", &json!({})).await;
    assert_eq!(again.unwrap_err().error_type, "Runtime.ExitError");
    assert_eq!(host.cold_starts("copyflow-copy-object"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_is_the_invocations_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"{REQUEST}
request POST /2018-06-01/runtime/init/error '{{"errorType":"Runtime.InitError","errorMessage":"no config"}}'
exit 1"#
    );
    let host = LambdaHost::new(
        &scripted_runtimes(dir.path(), &script),
        &host_env(json!({})),
    )
    .unwrap();
    let error = host
        .invoke("copyflow-validate-key", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (error.error_type.as_str(), error.error_message.as_str()),
        ("Runtime.InitError", "no config")
    );
}

/// A runtime that takes its event and never answers is killed at the deadline (no orphan
/// left): Sandbox.Timedout, as Lambda reports a timeout. Shutdown kills idle sandboxes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_past_its_deadline_is_killed_and_the_invocation_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = format!(
        "echo $$ >> {}\n{REQUEST}\nrequest GET /2018-06-01/runtime/invocation/next ''\nsleep 600",
        pids.display()
    );
    let mut binaries = scripted_runtimes(dir.path(), &script);
    binaries
        .timeouts
        .insert("copyflow-verify-copy".into(), Duration::from_secs(1));
    let host = LambdaHost::new(&binaries, &host_env(json!({}))).unwrap();
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        host.invoke("copyflow-verify-copy", &json!({})),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert!(
        error
            .error_message
            .ends_with("Task timed out after 1.00 seconds"),
        "{error}"
    );
    // A warm sandbox of another function, then shutdown.
    let warm = host.cold_start("copyflow-validate-key").await.unwrap();
    assert!(warm.is_some());
    host.shutdown();
    drop(host);
    let pids = std::fs::read_to_string(&pids).unwrap();
    let pids: Vec<&str> = pids.lines().collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(stat.is_empty(), "process {pid} is still there: {stat}");
    }
}

#[test]
fn the_binaries_are_found() {
    let b = LambdaBinaries::new(binaries::dir());
    for step in copyflow::lambda_host::STEPS {
        assert!(b.binary(&step).is_some(), "{}", step.binary);
    }
    let _: HashMap<String, Duration> = b.timeouts;
}

/// Twenty invocations at once with a concurrency of 3: at most three sandboxes start, every
/// invocation is answered, and later invocations run warm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandboxes_start_on_demand_up_to_the_concurrency_and_are_reused() {
    let document = serde_json::to_value(SettingsDocument::new(SRC, DST)).unwrap();
    let mut binaries = LambdaBinaries::new(binaries::dir());
    binaries.concurrency = 3;
    let host = Arc::new(LambdaHost::new(&binaries, &host_env(document)).unwrap());
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events/versioned.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (host, event) = (host.clone(), event.clone());
            tokio::spawn(async move { host.invoke("copyflow-validate-key", &event).await })
        })
        .collect();
    for call in calls {
        let job = call.await.unwrap().unwrap();
        assert_eq!(job["action"], "copy", "{job}");
    }
    let started = host.cold_starts("copyflow-validate-key");
    assert!((1..=3).contains(&started), "{started} sandboxes");
    for _ in 0..5 {
        host.invoke("copyflow-validate-key", &event).await.unwrap();
    }
    assert_eq!(host.cold_starts("copyflow-validate-key"), started);
    host.shutdown();
}
