//! `copyflow up`: the long-running local stack. S3 on `local.s3Address` (default
//! 127.0.0.1:9000) with data under `local.dataDir`, the Step Functions API on
//! `local.sfnAddress`, executions shown live as objects arrive, kept across restarts.

use copyflow::outln;

use copyflow_core::Settings;

use std::sync::Arc;
use std::time::Duration;

use crate::{CliResult, render, sfn_api};
use copyflow::console::{self, progress, source::local::LocalSource, states};
use copyflow::lambda_host::LambdaBinaries;
use copyflow::lock::DataDirLock;
use copyflow::pipeline::{DEFAULT_MAX_RUNNING, Pipeline, PipelineOptions, S3Target};

pub(crate) async fn run(
    settings: Settings,
    faults: Option<copyflow_s3::faults::FaultPlan>,
    mut binaries: Option<LambdaBinaries>,
    server_runtime: Option<tokio::runtime::Handle>,
) -> CliResult<()> {
    let data = settings.data_dir();
    let mut lock = DataDirLock::acquire(&data, "up")?;
    if let Some(b) = &mut binaries {
        b.logs_dir = Some(data.join("lambda-logs"));
    }
    let lambda_line = binaries.as_ref().map(|b| {
        format!(
            "  Lambda binaries     {} (Runtime API on loopback, up to {} sandboxes per function; logs in {})",
            b.dir.display(),
            b.concurrency,
            data.join("lambda-logs").display()
        )
    });
    let options = PipelineOptions {
        settings: settings.clone(),
        s3: S3Target::Embedded {
            address: settings.s3_address(),
            data_dir: data.join("s3"),
        },
        executions_dir: Some(data.join("executions")),
        max_running: DEFAULT_MAX_RUNNING,
        lambda_binaries: binaries,
        server_runtime,
    };
    // Started on a (lowered) worker rather than this thread, so the threads it starts (the
    // execution history's writer) inherit the pipeline's priority.
    let (pipeline, mut started) = tokio::spawn(Pipeline::start(options))
        .await
        .map_err(|e| format!("the pipeline did not start: {e}"))??;
    let (sfn, _api) = sfn_api::serve(settings.sfn_address(), pipeline.clone()).await.map_err(|e| {
        format!("cannot listen on {} for the Step Functions API: {e}. Stop whatever uses it, or set local.sfnAddress in {}", settings.sfn_address(), settings.origin())
    })?;
    let part_size = settings.document().copy.part_size_bytes;
    // The console is a view: when its port is taken, up runs without it and says so.
    let console_source = Arc::new(LocalSource::new(pipeline.clone(), part_size));
    let console = match console::serve(settings.console_address(), console_source, CONSOLE_POLL)
        .await
    {
        Ok((address, task)) => Some((address, task)),
        Err(e) => {
            outln!(
                "the console is not served: cannot listen on {}: {e} (set local.consoleAddress in {})",
                settings.console_address(),
                settings.origin()
            );
            None
        }
    };
    let s3 = pipeline.s3_endpoint().to_owned();
    let fault_injection = faults.is_some();
    if let Some(plan) = faults {
        outln!(
            "fault injection on: {} rule(s), seed {} (the state machine's retries and the SDK's absorb them)",
            plan.rules.len(),
            plan.seed
        );
        pipeline.with_faults(Some(plan));
    }
    lock.advertise(&s3, &sfn.to_string());
    let machine = pipeline.machine_arn().to_owned();
    let earlier = pipeline.executions().count(&machine);
    let (src, dst) = (settings.source_bucket(), settings.destination_bucket());
    outln!(
        "copyflow is up (data in {}; {earlier} executions from earlier runs)",
        data.display()
    );
    outln!("  S3                  {s3}");
    outln!("  Step Functions API  http://{sfn}");
    outln!("  state machine       {machine}");
    if let Some((address, _)) = &console {
        outln!("  console             http://{address}/");
    }
    if let Some(line) = lambda_line {
        outln!("{line}");
    }
    outln!(
        "  credentials         AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1",
        copyflow_s3::DEFAULT_ACCESS_KEY,
        copyflow_s3::DEFAULT_SECRET_KEY
    );
    outln!(
        "  step permissions    {}",
        match settings.enforce_iam() {
            true => "each step held to its deployed IAM policy (local.enforceIam)",
            false => "full access (local.enforceIam is false)",
        }
    );
    outln!();
    outln!("try:");
    outln!(
        "  aws --endpoint-url {s3} s3 cp ./report.txt s3://{src}/{}AjayMuralidhar/2020-04-06/12/report.txt",
        settings.source_prefix()
    );
    outln!("  aws --endpoint-url {s3} s3 ls --recursive s3://{dst}/");
    outln!(
        "  aws --endpoint-url http://{sfn} stepfunctions list-executions --state-machine-arn {machine}"
    );
    outln!("  copyflow executions        copyflow history <execution-name>");
    outln!("\nwaiting for objects in s3://{src} (Ctrl-C stops)\n");
    loop {
        tokio::select! {
            next = started.recv() => {
                let Some(s) = next else { break };
                let threshold = settings.document().copy.multipart_threshold_bytes;
                tokio::spawn(report_large_copy(pipeline.clone(), s.execution_arn.clone(), threshold, part_size));
                let p = pipeline.clone();
                tokio::spawn(async move {
                    let engine = p.executions().engine();
                    // Only the copying happens under the record's lock; parsing and layout after.
                    let from_memory = engine.wait_then(&s.execution_arn, |d, events| {
                        let events: Vec<render::Event> = events.iter().map(render::Event::from_history).collect();
                        (d.input.clone(), d.output.clone(), events)
                    });
                    let lines = match from_memory.await {
                        Some((input, output, events)) => finished_lines(&input, output.as_deref(), &events),
                        // Already out of memory (it ended before this task ran): the store has it.
                        None => {
                            let d = p.executions().describe(&s.execution_arn);
                            let text = |k: &str| d.as_ref().and_then(|d| d[k].as_str().map(str::to_owned));
                            let events: Vec<render::Event> = p.executions().history(&s.execution_arn).unwrap_or_default().iter().map(render::Event::from_json).collect();
                            finished_lines(&text("input").unwrap_or_default(), text("output").as_deref(), &events)
                        }
                    };
                    outln!("{lines}");
                });
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    outln!("stopping");
    if let Some(summary) = pipeline.fault_summary().filter(|_| fault_injection) {
        outln!("fault injection: {summary}");
    }
    if let Some((_, task)) = console {
        task.abort();
    }
    pipeline.shutdown().await;
    drop(lock);
    Ok(())
}

/// How often the console's live feed reads the newest executions.
const CONSOLE_POLL: Duration = Duration::from_millis(500);
/// The least time between two progress lines of one copy.
const PROGRESS_EVERY: Duration = Duration::from_secs(3);

/// For an object at or above the multipart threshold: a line when its copy starts, then
/// its progress at most every [`PROGRESS_EVERY`], read from S3 as the console reads it. The
/// first line waits for the first uploaded part, which shows the part size the copy uses.
async fn report_large_copy(
    pipeline: Arc<copyflow::pipeline::Pipeline>,
    arn: String,
    threshold: u64,
    part_size: u64,
) {
    let executions = pipeline.executions();
    let size = executions
        .engine()
        .stored_execution(&arn)
        .and_then(|e| console::source::key_and_size(&e.description.input).1);
    if size.is_none_or(|s| s < threshold) {
        return;
    }
    let (mut announced, mut last) = (false, None::<std::time::Instant>);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let running = executions
            .engine()
            .stored_execution(&arn)
            .is_some_and(|e| e.description.status == copyflow_asl::ExecutionStatus::Running);
        if !running {
            return;
        }
        let events = executions.history(&arn).unwrap_or_default();
        let Some(target) = progress::target(&states::analyse(&events)) else {
            continue;
        };
        let key = copyflow::output::escape(&target.key).into_owned();
        if announced && last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            continue;
        }
        let Ok(Some(p)) = progress::read(pipeline.s3(), &target, Some(part_size)).await else {
            continue;
        };
        // Announced once the uploaded parts show the part size: the copy may mirror the
        // source's parts rather than use the configured size.
        if let (false, Some(size)) = (announced, p.part_size) {
            outln!(
                "→ copying {key}: {}, multipart in parts of {}",
                progress::human_bytes(target.size as f64),
                progress::human_bytes(size as f64)
            );
            announced = true;
        }
        if announced {
            outln!("  … {key}: {}", progress::line(&p));
            last = Some(std::time::Instant::now());
        }
    }
}

/// What `up` prints for a finished execution: outcome, key, duration and path, then the
/// copy's summary when there is one.
fn finished_lines(input: &str, output: Option<&str>, events: &[render::Event]) -> String {
    let path = render::path(events);
    let key = console::source::key_and_size(input).0.unwrap_or_default();
    let mark = if path.status == "SUCCEEDED" {
        "✔"
    } else {
        "✘"
    };
    let mut lines = format!(
        "{mark} {:<11} {}  [{}]\n    {}",
        path.outcome(),
        copyflow::output::escape(&key),
        path.seconds.map_or_else(String::new, render::duration),
        path.one_line()
    );
    let output = output
        .and_then(|o| serde_json::from_str::<SummaryFields>(o).ok())
        .map(SummaryFields::into_value);
    if let Some(line) = render::summary(output.as_ref(), &path) {
        lines.push_str("\n    ");
        lines.push_str(&line);
    }
    lines
}

/// The parts of an execution's output that [`render::summary`] reads; the rest of the state
/// document is skipped.
#[derive(serde::Deserialize)]
struct SummaryFields {
    action: Option<serde_json::Value>,
    message: Option<serde_json::Value>,
    copy: Option<serde_json::Value>,
    verify: Option<serde_json::Value>,
}

impl SummaryFields {
    fn into_value(self) -> serde_json::Value {
        let fields = [
            ("action", self.action),
            ("message", self.message),
            ("copy", self.copy),
            ("verify", self.verify),
        ];
        fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn succeeded() -> Vec<render::Event> {
        let event = serde_json::json!({"id": 1, "timestamp": 1.0, "type": "ExecutionSucceeded",
            "previousEventId": 0, "executionSucceededEventDetails": {"output": "{}"}});
        vec![render::Event::from_json(&event)]
    }

    #[test]
    fn the_finished_lines_read_the_key_and_the_summary_as_the_whole_documents_do() {
        let input = r#"{"detail":{"bucket":{"name":"src"},"object":{"key":"a/\u001b[31mb.txt","size":4}},"detail-type":"Object Created"}"#;
        let output = serde_json::json!({
            "detail": {"object": {"key": "a/b.txt"}},
            "copy": {"status": "copied", "method": "copy-object",
                     "source": {"size": 4, "versionId": "v-src"},
                     "destination": {"versionId": "v-dst"}},
            "verify": {"method": "stored-checksum", "algorithm": "CRC32", "bytesRead": 0}
        });
        let events = succeeded();
        let lines = finished_lines(input, Some(&output.to_string()), &events);
        let summary = render::summary(Some(&output), &render::path(&events)).unwrap();
        assert!(lines.ends_with(&format!("\n    {summary}")), "{lines}");
        assert!(lines.contains("a/\\u{1b}[31mb.txt"), "{lines}");

        let skipped = serde_json::json!({"action": "skip", "message": "not an object key"});
        let lines = finished_lines(input, Some(&skipped.to_string()), &events);
        assert!(lines.ends_with("\n    not an object key"), "{lines}");
    }
}
