//! The local pipeline: the embedded S3 server (or any S3 endpoint), the local Step Functions
//! engine running `statemachine/copyflow.asl.json`, and the three steps registered as the
//! Lambda functions the ASL names, called in-process with the payloads Lambda would get, or
//! (with [`PipelineOptions::lambda_binaries`]) run as the real Lambda binaries under a local
//! Lambda Runtime API ([`crate::lambda_host`]).
//! An event router plays EventBridge: every `Object Created` event that matches the rule
//! starts an execution, named after the event id (so a redelivered event is not run twice).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use copyflow_asl::{Engine, EngineConfig, LambdaError, StartError, StartedExecution};
use copyflow_core::deadline::Deadline;
use copyflow_core::{Settings, StepError, Steps};
use copyflow_s3::Outbox;
use copyflow_s3::{S3Server, ServerConfig};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::sync::mpsc;

use crate::executions::Executions;
use crate::lambda_host::{HostEnvironment, LambdaBinaries, LambdaHost, LambdaHostError, STEPS};
use crate::rule::Rule;

/// The state machine the CDK app deploys, compiled in so the binary runs from anywhere.
pub const DEFINITION: &str = include_str!("../../../statemachine/copyflow.asl.json");
/// The local state machine's name (its ARN ends in `stateMachine:copyflow`).
pub const STATE_MACHINE: &str = "copyflow";
/// Lambda's own limit; the copy step's checkpointing works against it locally too.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(900);
const LOCAL_ACCOUNT: &str = copyflow_s3::LOCAL_ACCOUNT_ID;
const LOCAL_REGION: &str = "us-east-1";

/// Where the steps' S3 is.
#[derive(Debug)]
pub enum S3Target {
    /// Start the embedded server on `address` with its data in `data_dir`.
    Embedded {
        /// The loopback address it listens on.
        address: SocketAddr,
        /// Its objects and event outbox.
        data_dir: PathBuf,
    },
    /// Use an existing endpoint (LocalStack, MinIO, ...): no events, executions are started
    /// explicitly.
    External {
        /// Its URL.
        endpoint: String,
        /// The access key id the steps sign with.
        access_key: String,
        /// The secret key the steps sign with.
        secret_key: String,
        /// The Region the steps sign for.
        region: String,
    },
}

/// What a [`Pipeline`] is started with.
#[derive(Debug)]
pub struct PipelineOptions {
    /// The checked settings (buckets, key rules, copy and verify options).
    pub settings: Settings,
    /// Where the steps' S3 is.
    pub s3: S3Target,
    /// Where executions are recorded (None: memory only).
    pub executions_dir: Option<PathBuf>,
    /// Executions started from S3 events that run at once (the rest wait in the outbox).
    pub max_running: usize,
    /// Run the steps as these Lambda binaries instead of in-process (the default).
    pub lambda_binaries: Option<LambdaBinaries>,
    /// Serve the embedded S3 server on this runtime instead of the caller's (`up` gives it
    /// one of higher priority than the pipeline's, see the CLI's `priority`).
    pub server_runtime: Option<tokio::runtime::Handle>,
}

/// The local twin running: the S3 server (when embedded), the engine with the state machine,
/// the steps as its Lambda handlers, and the router from S3 events to executions.
pub struct Pipeline {
    server: std::sync::Mutex<Option<S3Server>>,
    endpoint: String,
    executions: Arc<Executions>,
    machine_arn: String,
    /// The backfill state machine (`statemachine/backfill.asl.json`).
    backfill: String,
    settings: Settings,
    s3: aws_sdk_s3::Client,
    started: mpsc::UnboundedSender<StartedExecution>,
    /// One permit per execution the router has running.
    running: Arc<Semaphore>,
    /// The Lambda binaries' sandboxes, when the steps run as binaries.
    lambda_host: Option<Arc<LambdaHost>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("endpoint", &self.endpoint)
            .field("machine_arn", &self.machine_arn)
            .finish_non_exhaustive()
    }
}

/// The CDK app's default `deploy.abortIncompleteMultipartUploadDays`.
const ABORT_INCOMPLETE_UPLOAD_DAYS: i32 = 7;
/// Events the router takes from the outbox at a time.
const ROUTER_BATCH: usize = 256;
/// Executions the router runs at once unless told otherwise.
pub const DEFAULT_MAX_RUNNING: usize = 256;

/// Why a [`Pipeline`] did not start.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The S3 address is taken.
    #[error(
        "cannot listen on {address}: {source}. Is another copyflow (or another S3 server) running there? Stop it, or set local.s3Address in copyflow.json"
    )]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The loopback listener for the steps' own S3 requests (see `S3Server::listen_also`)
    /// could not be opened; no setting chooses its port, so none is named.
    #[error("cannot listen on a free loopback port for the steps' S3 requests: {0}")]
    StepsListener(std::io::Error),
    /// The data directory cannot be opened.
    #[error("cannot open the data directory {dir}: {source}")]
    Data {
        /// The directory.
        dir: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The ASL does not load in the engine.
    #[error("the state machine definition does not load: {0}")]
    Definition(String),
    /// The executions store cannot be opened.
    #[error("{0}")]
    Store(String),
    /// A step policy (`tests/fixtures/step-policies.json`) does not parse.
    #[error("the step policies do not load: {0}")]
    StepPolicies(#[from] copyflow_s3::iam::PolicyError),
    /// The Lambda binaries cannot be run.
    #[error("{0}")]
    LambdaBinaries(#[from] LambdaHostError),
    /// A bucket could not be created.
    #[error("creating bucket {bucket}: {message}")]
    Bucket {
        /// The bucket.
        bucket: String,
        /// S3's answer.
        message: String,
    },
}

/// A bucket request that failed while `up` set the buckets up, as one line.
fn bucket_error(bucket: &str, message: String) -> PipelineError {
    PipelineError::Bucket {
        bucket: bucket.to_owned(),
        message,
    }
}

fn lambda_error(e: StepError) -> LambdaError {
    LambdaError::new(e.name(), e.to_string())
}

fn function_arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{name}")
}

impl Pipeline {
    /// Starts everything; the receiver reports each execution the router (or the API) starts.
    pub async fn start(
        options: PipelineOptions,
    ) -> Result<(Arc<Pipeline>, mpsc::UnboundedReceiver<StartedExecution>), PipelineError> {
        let policies = crate::step_keys::policy_documents(&options.settings);
        Pipeline::start_with_step_policies(options, &policies).await
    }

    /// [`Pipeline::start`] with the embedded server holding each step to `policies` (by Task
    /// state, see [`crate::step_keys::policy_documents`]) instead of the deployed ones, unless
    /// `local.enforceIam` is false.
    pub async fn start_with_step_policies(
        options: PipelineOptions,
        policies: &[(String, Value)],
    ) -> Result<(Arc<Pipeline>, mpsc::UnboundedReceiver<StartedExecution>), PipelineError> {
        let region = LOCAL_REGION.to_owned();
        let enforce_iam = options.settings.enforce_iam();
        let (server, endpoint, steps_endpoint, client, keys) = match options.s3 {
            S3Target::Embedded { address, data_dir } => {
                let config = ServerConfig {
                    address,
                    data_dir: data_dir.clone(),
                    // As on AWS: only a bucket with EventBridge turned on sends events
                    // (create_buckets turns it on for the source, as the CDK app does).
                    events_by_default: false,
                    identities: match enforce_iam {
                        true => crate::step_keys::identities_from(policies)?,
                        false => Vec::new(),
                    },
                    ..ServerConfig::new(&data_dir)
                };
                let started = match &options.server_runtime {
                    // Its accept loop and connections run where it was started.
                    Some(runtime) => runtime
                        .spawn(S3Server::start(config))
                        .await
                        .unwrap_or_else(|e| Err(std::io::Error::other(e))),
                    None => S3Server::start(config).await,
                };
                let server = started.map_err(|source| match source.kind() {
                    std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied => {
                        PipelineError::Bind { address, source }
                    }
                    _ => PipelineError::Data {
                        dir: data_dir.clone(),
                        source,
                    },
                })?;
                // With a server runtime of its own, the pipeline's requests get a listener
                // on this (lower-priority) runtime: see the CLI's `priority`.
                let steps_endpoint = match &options.server_runtime {
                    Some(_) => {
                        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                        let local = server
                            .listen_also(loopback)
                            .await
                            .map_err(PipelineError::StepsListener)?;
                        format!("http://{local}")
                    }
                    None => server.endpoint(),
                };
                let c = server.config();
                let client = copyflow_core::s3::client_for_endpoint(
                    &steps_endpoint,
                    &c.access_key,
                    &c.secret_key,
                    &c.region,
                );
                let endpoint = server.endpoint();
                let keys = (c.access_key.clone(), c.secret_key.clone(), c.region.clone());
                (Some(server), endpoint, steps_endpoint, client, keys)
            }
            S3Target::External {
                endpoint,
                access_key,
                secret_key,
                region: r,
            } => {
                let client =
                    copyflow_core::s3::client_for_endpoint(&endpoint, &access_key, &secret_key, &r);
                (
                    None,
                    endpoint.clone(),
                    endpoint,
                    client,
                    (access_key, secret_key, r),
                )
            }
        };
        let embedded_with_iam = server.is_some() && enforce_iam;
        let steps = Arc::new(match embedded_with_iam {
            true => crate::step_keys::steps_with_own_keys(
                &steps_endpoint,
                &region,
                options.settings.clone(),
            ),
            false => Steps::new(client.clone(), options.settings.clone()),
        });
        let executions = Arc::new(
            Executions::open(
                EngineConfig {
                    region: region.clone(),
                    account_id: LOCAL_ACCOUNT.to_owned(),
                    role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/copyflow-local"),
                },
                options.executions_dir.as_deref(),
            )
            .map_err(|e| PipelineError::Store(e.to_string()))?,
        );
        let engine = executions.engine();
        let lambda_host = match &options.lambda_binaries {
            Some(binaries) => {
                let env = HostEnvironment {
                    // The Region the functions sign their S3 requests for.
                    region: keys.2.clone(),
                    account: LOCAL_ACCOUNT.to_owned(),
                    access_key: keys.0.clone(),
                    secret_key: keys.1.clone(),
                    // With IAM enforced each function signs with its own key, bound to its
                    // deployed policy, as the in-process steps do.
                    function_keys: match embedded_with_iam {
                        true => crate::step_keys::STEPS
                            .iter()
                            .map(|(_, f)| ((*f).to_owned(), crate::step_keys::credentials(f)))
                            .collect(),
                        false => Default::default(),
                    },
                    s3_endpoint: steps_endpoint.clone(),
                    document: raw_document(&options.settings),
                    definition: serde_json::from_str(DEFINITION)
                        .map_err(|e| PipelineError::Definition(e.to_string()))?,
                };
                let host = Arc::new(LambdaHost::new(binaries, &env)?);
                register_binaries(engine, &host);
                Some(host)
            }
            None => {
                register_steps(engine, &steps);
                None
            }
        };
        let substitutions: HashMap<String, String> = substitutions(&region).into_iter().collect();
        let machine_arn = engine
            .create_state_machine(STATE_MACHINE, DEFINITION, &substitutions)
            .map_err(|e| PipelineError::Definition(e.to_string()))?;
        let backfill_substitutions = crate::backfill_machine::substitutions(
            &options.settings,
            &region,
            LOCAL_ACCOUNT,
            &machine_arn,
        );
        let backfill = crate::backfill_machine::install(engine, &client, &backfill_substitutions)
            .map_err(|e| PipelineError::Definition(format!("backfill.asl.json: {e}")))?;
        let (started, started_rx) = mpsc::unbounded_channel();
        let embedded = server.is_some();
        let outbox = server.as_ref().and_then(S3Server::outbox);
        let pipeline = Arc::new(Pipeline {
            server: std::sync::Mutex::new(server),
            endpoint,
            executions,
            machine_arn,
            backfill,
            settings: options.settings,
            s3: client,
            started,
            running: Arc::new(Semaphore::new(options.max_running.max(1))),
            lambda_host,
        });
        // Executions that were running when the last process stopped continue first.
        let resumed = pipeline
            .executions
            .engine()
            .resume(&pipeline.machine_arn)
            .map_err(|e| PipelineError::Store(e.to_string()))?;
        let resumed_backfills = pipeline
            .executions
            .engine()
            .resume(&pipeline.backfill)
            .map_err(|e| PipelineError::Store(e.to_string()))?;
        for r in resumed.into_iter().chain(resumed_backfills) {
            let _ = pipeline.started.send(r);
        }
        if embedded {
            pipeline.create_buckets().await?;
            crate::backfill_machine::ensure_report_bucket(&pipeline.s3)
                .await
                .map_err(|m| bucket_error(crate::backfill_machine::REPORT_BUCKET, m))?;
            if let Some(outbox) = outbox {
                tokio::spawn(pipeline.clone().route_events(outbox));
            }
        }
        Ok((pipeline, started_rx))
    }

    /// Turns a bucket's EventBridge notifications on or off (its notification configuration).
    async fn set_eventbridge(&self, bucket: &str, on: bool) -> Result<(), PipelineError> {
        let configuration = aws_sdk_s3::types::NotificationConfiguration::builder()
            .set_event_bridge_configuration(
                on.then(|| aws_sdk_s3::types::EventBridgeConfiguration::builder().build()),
            )
            .build();
        self.s3
            .put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(configuration)
            .send()
            .await
            .map_err(|e| bucket_error(bucket, crate::sdk_error::one_line(&e)))?;
        Ok(())
    }

    async fn create_buckets(&self) -> Result<(), PipelineError> {
        for bucket in [
            self.settings.source_bucket(),
            self.settings.destination_bucket(),
        ] {
            if self.s3.head_bucket().bucket(bucket).send().await.is_err() {
                self.s3
                    .create_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| bucket_error(bucket, crate::sdk_error::one_line(&e)))?;
            }
            if crate::deploy::bucket_versioning(&self.settings) {
                self.enable_versioning(bucket).await?;
            }
            // The CDK app turns EventBridge on for the source bucket only.
            self.set_eventbridge(bucket, bucket == self.settings.source_bucket())
                .await?;
            self.abort_incomplete_uploads(bucket).await?;
        }
        Ok(())
    }

    /// Versioned like the deployed buckets, so copies are pinned to the event's version.
    async fn enable_versioning(&self, bucket: &str) -> Result<(), PipelineError> {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        self.s3
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| bucket_error(bucket, crate::sdk_error::one_line(&e)))?;
        Ok(())
    }

    /// The lifecycle backstop the CDK app gives its buckets: multipart uploads still open
    /// this many days after they began are aborted (the CDK default,
    /// `deploy.abortIncompleteMultipartUploadDays`).
    async fn abort_incomplete_uploads(&self, bucket: &str) -> Result<(), PipelineError> {
        use aws_sdk_s3::types::{
            AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
            LifecycleRule, LifecycleRuleFilter,
        };
        let failed = |message: String| PipelineError::Bucket {
            bucket: bucket.to_owned(),
            message,
        };
        let rule = LifecycleRule::builder()
            .id("abort-incomplete-multipart-uploads")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(ABORT_INCOMPLETE_UPLOAD_DAYS)
                    .build(),
            )
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let config = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| failed(e.to_string()))?;
        self.s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config)
            .send()
            .await
            .map_err(|e| failed(crate::sdk_error::one_line(&e).to_string()))?;
        Ok(())
    }

    /// Plays EventBridge from the server's durable outbox: each matching event starts an
    /// execution named after the event id, and is acknowledged only once that execution is
    /// durably started (a redelivered event finds its name taken and starts nothing). At most
    /// `max_running` executions run at once; the rest of the events wait in the outbox.
    async fn route_events(self: Arc<Self>, outbox: Arc<Outbox>) {
        let rule = self.rule();
        loop {
            let batch = outbox.recv_batch(ROUTER_BATCH).await;
            let mut delivered = Vec::with_capacity(batch.len());
            for entry in batch {
                let Ok(json) = serde_json::to_value(&*entry.event) else {
                    delivered.push(entry.seq);
                    continue;
                };
                if !rule.matches(&json) {
                    delivered.push(entry.seq);
                    continue;
                }
                let permit = match self.running.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        // Full: acknowledge what was started, then wait for a slot.
                        self.acknowledge(&outbox, &mut delivered).await;
                        match self.running.clone().acquire_owned().await {
                            Ok(p) => p,
                            Err(_) => return,
                        }
                    }
                };
                match self.start_execution(
                    &self.machine_arn,
                    Some(&entry.event.id),
                    &json.to_string(),
                ) {
                    Ok(started) => {
                        let engine = self.executions.engine().clone();
                        tokio::spawn(async move {
                            engine.wait_for(&started.execution_arn).await;
                            drop(permit);
                        });
                        delivered.push(entry.seq);
                    }
                    Err(StartError::ExecutionAlreadyExists(_)) => delivered.push(entry.seq),
                    Err(e) => {
                        // Not acknowledged: delivered again after a restart.
                        tracing::warn!(error = %e, "could not start an execution");
                    }
                }
            }
            self.acknowledge(&outbox, &mut delivered).await;
        }
    }

    /// Acknowledges delivered events once the executions they started are on disk.
    async fn acknowledge(&self, outbox: &Outbox, delivered: &mut Vec<u64>) {
        if delivered.is_empty() {
            return;
        }
        if let Err(e) = self.executions.engine().flush().await {
            tracing::warn!(error = %e, "executions not recorded; their events stay in the outbox");
            delivered.clear();
            return;
        }
        if let Err(e) = outbox.ack(delivered) {
            tracing::warn!(error = %e, "could not acknowledge delivered events");
        }
        delivered.clear();
    }

    /// The EventBridge rule the CDK app deploys for these settings.
    fn rule(&self) -> Rule {
        Rule::from_settings(&self.settings)
    }

    /// StartExecution. Recorded in the store when there is one; call
    /// `executions().engine().flush()` to wait until it is on disk.
    pub fn start_execution(
        &self,
        machine: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<StartedExecution, StartError> {
        let started = self
            .executions
            .engine()
            .start_execution(machine, name, input)?;
        let _ = self.started.send(started.clone());
        Ok(started)
    }

    /// The engine and its execution store.
    pub fn executions(&self) -> &Arc<Executions> {
        &self.executions
    }

    /// The local state machine's ARN.
    pub fn machine_arn(&self) -> &str {
        &self.machine_arn
    }

    /// The local backfill state machine's ARN.
    pub fn backfill_machine_arn(&self) -> &str {
        &self.backfill
    }

    /// The definition of `machine_arn` as deployed (placeholders filled in).
    pub fn deployed_definition_of(&self, machine_arn: &str) -> String {
        if machine_arn != self.backfill {
            return self.deployed_definition();
        }
        let mut text = crate::backfill_machine::BACKFILL_DEFINITION.to_owned();
        let substitutions = crate::backfill_machine::substitutions(
            &self.settings,
            LOCAL_REGION,
            LOCAL_ACCOUNT,
            &self.machine_arn,
        );
        for (name, value) in substitutions {
            text = text.replace(&format!("${{{name}}}"), &value);
        }
        text
    }

    /// The ASL the engine runs (the file the CDK app deploys).
    pub fn definition(&self) -> &'static str {
        DEFINITION
    }

    /// The definition as deployed: the `${...FunctionArn}` placeholders filled in, as
    /// DescribeStateMachine returns it on AWS.
    pub fn deployed_definition(&self) -> String {
        let mut text = DEFINITION.to_owned();
        for (name, arn) in substitutions(LOCAL_REGION) {
            text = text.replace(&format!("${{{name}}}"), &arn);
        }
        text
    }

    /// `http://127.0.0.1:PORT` of the S3 the steps use.
    pub fn s3_endpoint(&self) -> &str {
        &self.endpoint
    }

    /// An S3 client for that endpoint.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// Sets (or clears) the embedded server's fault plan; false without an embedded server.
    pub fn with_faults(&self, plan: Option<copyflow_s3::faults::FaultPlan>) -> bool {
        let guard = self
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(|s| s.faults().set_plan(plan)).is_some()
    }

    /// What the embedded server's fault injection did so far (None without one).
    pub fn fault_summary(&self) -> Option<String> {
        let guard = self
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().map(|s| s.faults().summary())
    }

    /// The Lambda binaries' host, when the steps run as binaries.
    pub fn lambda_host(&self) -> Option<&Arc<LambdaHost>> {
        self.lambda_host.as_ref()
    }

    /// Stops the embedded server (running executions fail their next S3 call) and the
    /// Lambda binaries' idle sandboxes.
    pub async fn shutdown(&self) {
        if let Some(host) = &self.lambda_host {
            host.shutdown();
        }
        let server = self
            .server
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}

/// The definition's placeholders and the local function ARNs that fill them.
fn substitutions(region: &str) -> Vec<(String, String)> {
    [
        ("ValidateKeyFunctionArn", "copyflow-validate-key"),
        ("CopyObjectFunctionArn", "copyflow-copy-object"),
        ("VerifyCopyFunctionArn", "copyflow-verify-copy"),
    ]
    .into_iter()
    .map(|(k, f)| (k.to_owned(), function_arn(region, f)))
    .collect()
}

/// The settings document as written: the file it was read from, else the checked document.
fn raw_document(settings: &Settings) -> Value {
    if let copyflow_core::SettingsOrigin::File(path) = settings.origin() {
        let text = std::fs::read_to_string(path).ok();
        if let Some(v) = text.and_then(|t| serde_json::from_str(&t).ok()) {
            return v;
        }
    }
    serde_json::to_value(settings.document()).unwrap_or(Value::Null)
}

/// The three steps as the Lambda binaries, each function invoked through the host.
fn register_binaries(engine: &Engine, host: &Arc<LambdaHost>) {
    for step in STEPS {
        let host = host.clone();
        engine.register_function(step.function, move |payload: Value| {
            let host = host.clone();
            async move { host.invoke(step.function, &payload).await }
        });
    }
}

/// The three steps as the functions the ASL invokes.
fn register_steps(engine: &Engine, steps: &Arc<Steps>) {
    let s = steps.clone();
    engine.register_function("copyflow-validate-key", move |payload: Value| {
        let s = s.clone();
        async move { s.validate_key(&payload).map_err(lambda_error) }
    });
    let s = steps.clone();
    engine.register_function("copyflow-copy-object", move |payload: Value| {
        let s = s.clone();
        async move {
            let margin = s.settings().deadline_margin();
            s.copy_object(
                payload,
                Deadline::at(Instant::now() + FUNCTION_TIMEOUT, margin),
            )
            .await
            .map_err(lambda_error)
        }
    });
    let s = steps.clone();
    engine.register_function("copyflow-verify-copy", move |payload: Value| {
        let s = s.clone();
        async move {
            let margin = s.settings().deadline_margin();
            s.verify_copy(
                payload,
                Deadline::at(Instant::now() + FUNCTION_TIMEOUT, margin),
            )
            .await
            .map_err(lambda_error)
        }
    });
}
