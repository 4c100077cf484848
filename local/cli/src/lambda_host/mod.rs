//! The three steps as the real Lambda binaries: copyflow serves the Lambda Runtime API
//! (2018-06-01) on loopback and runs each step's `bootstrap` built for the host as child
//! processes, with the environment Lambda gives a function
//! (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>)
//! and `COPYFLOW_SETTINGS` as the CDK app sets it. This is what `copyflow up
//! --lambda-binaries DIR` runs instead of calling the steps in-process.
//!
//! | module | job |
//! |---|---|
//! | `protocol` | Routes, headers, deadline, error payloads, the settings variable: pure. |
//! | `sandbox` | One runtime process and its Runtime API listener. |
//! | `pool` | Warm reuse and cold starts up to a concurrency, per function. |
//!
//! Errors reach the state machine as `lambda:invoke` delivers them: the `errorType` the
//! runtime posted is the error, its body the cause. A process that exits mid-invocation
//! fails it with `Runtime.ExitError` (or the error it posted to `init/error`), one that
//! outlives the timeout is killed and fails it with `Sandbox.Timedout`, as on AWS.

mod pool;
mod protocol;
mod sandbox;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use copyflow_asl::LambdaError;
use serde_json::Value;

use pool::Pool;
use sandbox::Launch;

/// A step's binary and the function it is deployed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The Cargo binary (and `cargo lambda build` directory) name, e.g. `copy-object`.
    pub binary: &'static str,
    /// The function name the local state machine invokes.
    pub function: &'static str,
    /// The ASL placeholder of its ARN.
    pub placeholder: &'static str,
    /// The key of its section in `deploy.lambda`.
    pub deploy_key: &'static str,
    /// The CDK app's default memory size (`cdk/lib/settings.ts`).
    pub default_memory_mb: u32,
}

/// The three steps, in the order the state machine runs them.
pub const STEPS: [Step; 3] = [
    Step {
        binary: "validate-key",
        function: "copyflow-validate-key",
        placeholder: "ValidateKeyFunctionArn",
        deploy_key: "validateKey",
        default_memory_mb: 128,
    },
    Step {
        binary: "copy-object",
        function: "copyflow-copy-object",
        placeholder: "CopyObjectFunctionArn",
        deploy_key: "copyObject",
        default_memory_mb: 512,
    },
    Step {
        binary: "verify-copy",
        function: "copyflow-verify-copy",
        placeholder: "VerifyCopyFunctionArn",
        deploy_key: "verifyCopy",
        default_memory_mb: 1024,
    },
];

/// How the binaries are run.
#[derive(Debug, Clone)]
pub struct LambdaBinaries {
    /// Where the binaries are: `DIR/<binary>` (e.g. `target/debug`) or
    /// `DIR/<binary>/bootstrap` (the `cargo lambda build` layout).
    pub dir: PathBuf,
    /// Sandboxes each function may run at once.
    pub concurrency: usize,
    /// Per function name, a timeout other than its Task's `TimeoutSeconds`.
    pub timeouts: HashMap<String, Duration>,
    /// A directory for the functions' logs (`<function>.log`, appended), or none.
    pub logs_dir: Option<PathBuf>,
}

impl LambdaBinaries {
    /// The binaries in `dir`, at most `DEFAULT_CONCURRENCY` sandboxes per function.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LambdaBinaries {
            dir: dir.into(),
            concurrency: DEFAULT_CONCURRENCY,
            timeouts: HashMap::new(),
            logs_dir: None,
        }
    }

    /// The binary of `step` in [`LambdaBinaries::dir`], if there is one.
    pub fn binary(&self, step: &Step) -> Option<PathBuf> {
        locate(&self.dir, step.binary)
    }
}

/// Sandboxes per function unless told otherwise (the router runs up to 256 executions).
pub const DEFAULT_CONCURRENCY: usize = 16;

fn locate(dir: &Path, binary: &str) -> Option<PathBuf> {
    [dir.join(binary), dir.join(binary).join("bootstrap")]
        .into_iter()
        .find(|p| p.is_file())
}

/// What every function's environment shares.
#[derive(Debug, Clone)]
pub struct HostEnvironment {
    /// `AWS_REGION` and `AWS_DEFAULT_REGION`.
    pub region: String,
    /// The account in function ARNs.
    pub account: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: String,
    /// Keys of functions that sign with their own (the local runtime's IAM enforcement:
    /// each step's key is bound to its deployed policy); the others use the shared pair.
    pub function_keys: std::collections::BTreeMap<String, (String, String)>,
    /// `AWS_ENDPOINT_URL_S3`: the S3 the functions use (on AWS, unset).
    pub s3_endpoint: String,
    /// The settings document as written (its `local` and `deploy` are left out of
    /// `COPYFLOW_SETTINGS`; `deploy.lambda.*.memoryMb` and `deploy.logLevel` are used).
    pub document: Value,
    /// The state machine definition (the Tasks' `TimeoutSeconds`).
    pub definition: Value,
}

/// Why the host did not start.
#[derive(Debug, thiserror::Error)]
pub enum LambdaHostError {
    /// A binary is missing.
    #[error(
        "no {binary} binary in {dir} (looked for {dir}/{binary} and {dir}/{binary}/bootstrap): build the binaries for this machine first, e.g. cargo build --bins"
    )]
    Missing {
        /// The binary.
        binary: String,
        /// The directory.
        dir: String,
    },
    /// The logs directory cannot be created.
    #[error("cannot create the Lambda logs directory {dir}: {source}")]
    Logs {
        /// The directory.
        dir: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// The functions, each with its sandboxes.
#[derive(Debug)]
pub struct LambdaHost {
    pools: HashMap<String, Pool>,
    arns: HashMap<String, String>,
}

impl LambdaHost {
    /// Prepares the three functions; no process starts before its first invocation.
    pub fn new(
        binaries: &LambdaBinaries,
        env: &HostEnvironment,
    ) -> Result<LambdaHost, LambdaHostError> {
        if let Some(dir) = &binaries.logs_dir {
            std::fs::create_dir_all(dir).map_err(|source| LambdaHostError::Logs {
                dir: dir.display().to_string(),
                source,
            })?;
        }
        let timeouts: HashMap<String, Duration> = protocol::task_timeouts(&env.definition)
            .into_iter()
            .collect();
        let settings = protocol::settings_env(&env.document);
        let log_level = env
            .document
            .pointer("/deploy/logLevel")
            .and_then(Value::as_str)
            .unwrap_or("INFO")
            .to_owned();
        let mut pools = HashMap::new();
        let mut arns = HashMap::new();
        for step in STEPS {
            let binary = binaries
                .binary(&step)
                .ok_or_else(|| LambdaHostError::Missing {
                    binary: step.binary.to_owned(),
                    dir: binaries.dir.display().to_string(),
                })?;
            let memory = env
                .document
                .pointer(&format!("/deploy/lambda/{}/memoryMb", step.deploy_key))
                .and_then(Value::as_u64)
                .unwrap_or(u64::from(step.default_memory_mb));
            let timeout = binaries
                .timeouts
                .get(step.function)
                .or_else(|| timeouts.get(step.placeholder))
                .copied()
                .unwrap_or(Duration::from_secs(900));
            let vars = function_environment(step.function, memory, &log_level, &settings, env);
            let launch = Launch {
                binary,
                env: vars,
                log: binaries
                    .logs_dir
                    .as_ref()
                    .map(|d| d.join(format!("{}.log", step.function))),
            };
            pools.insert(
                step.function.to_owned(),
                Pool::new(launch, timeout, binaries.concurrency),
            );
            arns.insert(
                step.function.to_owned(),
                format!(
                    "arn:aws:lambda:{}:{}:function:{}",
                    env.region, env.account, step.function
                ),
            );
        }
        Ok(LambdaHost { pools, arns })
    }

    /// Invokes `function` synchronously (RequestResponse) with `payload`.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, LambdaError> {
        let (Some(pool), Some(arn)) = (self.pools.get(function), self.arns.get(function)) else {
            return Err(LambdaError::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            ));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let now_ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        let headers = protocol::InvocationHeaders {
            request_id: protocol::request_id(fastrand::u128(..)),
            deadline_ms: protocol::deadline_ms(now_ms, pool.timeout()),
            function_arn: arn.clone(),
            trace_id: protocol::trace_id(now.as_secs(), fastrand::u128(..)),
        };
        pool.invoke(headers, Bytes::from(payload.to_string())).await
    }

    /// Starts a new sandbox of `function` and measures its cold start: exec to its first
    /// `invocation/next`. The sandbox stays warm for the next invocation.
    pub async fn cold_start(&self, function: &str) -> Result<Option<Duration>, LambdaError> {
        match self.pools.get(function) {
            Some(pool) => pool.cold_start().await,
            None => Err(LambdaError::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {function}"),
            )),
        }
    }

    /// The binary of `function` and the environment its sandboxes get (without
    /// `AWS_LAMBDA_RUNTIME_API`, which is per sandbox): to run it under another Runtime API.
    pub fn launch(&self, function: &str) -> Option<(&Path, &[(String, String)])> {
        self.pools.get(function).map(Pool::launch)
    }

    /// Sandboxes `function` has started so far.
    pub fn cold_starts(&self, function: &str) -> u64 {
        self.pools.get(function).map_or(0, Pool::cold_starts)
    }

    /// Kills every idle sandbox and refuses new invocations.
    pub fn shutdown(&self) {
        for pool in self.pools.values() {
            pool.shutdown();
        }
    }
}

/// A function's environment as Lambda sets it for a `provided.al2023` function, plus
/// `AWS_ENDPOINT_URL_S3` (the local S3) and the two variables the CDK app sets.
fn function_environment(
    function: &str,
    memory_mb: u64,
    log_level: &str,
    settings: &str,
    env: &HostEnvironment,
) -> Vec<(String, String)> {
    let (access_key, secret_key) = env.function_keys.get(function).map_or(
        (env.access_key.as_str(), env.secret_key.as_str()),
        |(k, s)| (k.as_str(), s.as_str()),
    );
    let day = time::OffsetDateTime::now_utc().date();
    let stream = format!(
        "{:04}/{:02}/{:02}/[$LATEST]{:032x}",
        day.year(),
        u8::from(day.month()),
        day.day(),
        fastrand::u128(..)
    );
    [
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("_HANDLER", "bootstrap"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            &format!("/aws/lambda/{function}"),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", &stream),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", log_level),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", &env.region),
        ("AWS_DEFAULT_REGION", &env.region),
        ("AWS_ACCESS_KEY_ID", access_key),
        ("AWS_SECRET_ACCESS_KEY", secret_key),
        ("AWS_ENDPOINT_URL_S3", &env.s3_endpoint),
        ("COPYFLOW_SETTINGS", settings),
        ("RUST_LOG", &log_level.to_ascii_lowercase()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
