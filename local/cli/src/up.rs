//! `copyflow up`: the long-running local stack. S3 on `local.s3Address` (default
//! 127.0.0.1:9000) with data under `local.dataDir`, the Step Functions API on
//! `local.sfnAddress`, executions shown live as objects arrive, kept across restarts.

use copyflow::outln;

use copyflow_core::Settings;

use crate::{CliResult, render, sfn_api};
use copyflow::lambda_host::LambdaBinaries;
use copyflow::lock::DataDirLock;
use copyflow::pipeline::{DEFAULT_MAX_RUNNING, Pipeline, PipelineOptions, S3Target};

pub(crate) async fn run(
    settings: Settings,
    faults: Option<copyflow_s3::faults::FaultPlan>,
    mut binaries: Option<LambdaBinaries>,
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
    };
    let (pipeline, mut started) = Pipeline::start(options).await?;
    let (sfn, _api) = sfn_api::serve(settings.sfn_address(), pipeline.clone()).await.map_err(|e| {
        format!("cannot listen on {} for the Step Functions API: {e}. Stop whatever uses it, or set local.sfnAddress in {}", settings.sfn_address(), settings.origin())
    })?;
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
    if let Some(line) = lambda_line {
        outln!("{line}");
    }
    outln!(
        "  credentials         AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1",
        copyflow_s3::DEFAULT_ACCESS_KEY,
        copyflow_s3::DEFAULT_SECRET_KEY
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
    pipeline.shutdown().await;
    drop(lock);
    Ok(())
}

/// What `up` prints for a finished execution: outcome, key, duration and path, then the
/// copy's summary when there is one.
fn finished_lines(input: &str, output: Option<&str>, events: &[render::Event]) -> String {
    let path = render::path(events);
    let key = serde_json::from_str::<serde_json::Value>(input)
        .ok()
        .and_then(|i| copyflow::executions::object_key(&i))
        .unwrap_or_default();
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
    let output = output.and_then(|o| serde_json::from_str(o).ok());
    if let Some(line) = render::summary(output.as_ref(), &path) {
        lines.push_str("\n    ");
        lines.push_str(&line);
    }
    lines
}
