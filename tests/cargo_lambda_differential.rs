//! Differential check of copyflow's Lambda Runtime API against cargo-lambda's own emulator:
//! the same three binaries, with the same environment (the embedded S3 server as their S3),
//! invoked with the same events through `cargo lambda watch --only-lambda-apis` +
//! `cargo lambda invoke --data-file` and through copyflow's host, return the same payloads
//! and error types.
//!
//! cargo-lambda comes from PyPI (`scripts/test.sh` installs it in `.tools/cargo-lambda-venv`;
//! `COPYFLOW_CARGO_LAMBDA` names another). `--only-lambda-apis` makes the emulator serve the
//! Runtime API without building anything: the binaries are the ones this checkout built.
//! `COPYFLOW_SKIP_CARGO_LAMBDA=1` skips the test (loudly); nothing else does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/binaries.rs"]
mod binaries;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use copyflow::lambda_host::{HostEnvironment, LambdaBinaries, LambdaHost, STEPS};
use copyflow::pipeline::DEFINITION;
use copyflow_core::SettingsDocument;
use copyflow_s3::{S3Server, ServerConfig};
use serde_json::{Value, json};

const SRC: &str = "copyflow-source";
const DST: &str = "copyflow-destination";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The cargo-lambda executable, or None when the test is to be skipped.
fn cargo_lambda() -> Option<PathBuf> {
    if std::env::var("COPYFLOW_SKIP_CARGO_LAMBDA").as_deref() == Ok("1") {
        eprintln!(
            "\n!!! SKIPPED: the cargo-lambda differential test (COPYFLOW_SKIP_CARGO_LAMBDA=1) !!!\n"
        );
        return None;
    }
    let exe = std::env::var_os("COPYFLOW_CARGO_LAMBDA").map_or_else(
        || workspace().join(".tools/cargo-lambda-venv/bin/cargo-lambda"),
        PathBuf::from,
    );
    assert!(
        exe.is_file(),
        "cargo-lambda not found at {}: run ./scripts/test.sh (it installs it from PyPI), or \
         python3 -m venv .tools/cargo-lambda-venv && .tools/cargo-lambda-venv/bin/pip install \
         cargo-lambda, or set COPYFLOW_CARGO_LAMBDA; COPYFLOW_SKIP_CARGO_LAMBDA=1 skips this test",
        exe.display()
    );
    Some(exe)
}

/// `cargo lambda watch --only-lambda-apis` and the binaries polling it; all killed on drop.
struct Emulator {
    exe: PathBuf,
    port: u16,
    watch: Child,
    functions: Vec<Child>,
    dir: PathBuf,
}

impl Emulator {
    fn start(exe: PathBuf, dir: &Path) -> Emulator {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join("cargo-lambda-watch.log")).unwrap();
        let watch = Command::new(&exe)
            .current_dir(workspace())
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address"])
            .arg("127.0.0.1")
            .arg("--invoke-port")
            .arg(port.to_string())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let emulator = Emulator {
            exe,
            port,
            watch,
            functions: Vec::new(),
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen:\n{}",
                emulator.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        emulator
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("cargo-lambda-watch.log")).unwrap_or_default()
    }

    /// Runs `binary` as function `name` against the emulator, with `env` (copyflow's).
    fn run_function(&mut self, name: &str, binary: &Path, env: &[(String, String)]) {
        let child = Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt/{name}", self.port),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.functions.push(child);
    }

    fn stop_functions(&mut self) {
        for mut c in self.functions.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `cargo lambda invoke NAME --data-file`: the payload, or (errorType, errorMessage).
    fn invoke(&self, name: &str, payload: &Value) -> Result<Value, (String, String)> {
        let file = self.dir.join(format!("{name}-event.json"));
        std::fs::write(&file, payload.to_string()).unwrap();
        let out = Command::new(&self.exe)
            .current_dir(workspace())
            .args(["lambda", "invoke", name, "--invoke-address", "127.0.0.1"])
            .arg("--invoke-port")
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(&file)
            .args(["--output-format", "json"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        if out.status.success() {
            return Ok(serde_json::from_slice(&out.stdout).unwrap());
        }
        // miette's report: "Error: <errorType>", a blank line, then "× <errorMessage>" wrapped
        // over lines that continue with "│ ", then hints for cargo-lambda itself.
        let text = String::from_utf8_lossy(&out.stderr);
        let mut lines = text.lines();
        let error_type = lines
            .find_map(|l| l.trim().strip_prefix("Error: "))
            .unwrap_or_else(|| panic!("no error in cargo lambda invoke's output:\n{text}"))
            .to_owned();
        let mut message = Vec::new();
        for line in lines {
            let line = line.trim();
            if let Some(first) = line.strip_prefix("× ") {
                message.push(first);
            } else if let Some(more) = line.strip_prefix("│ ").or(line.strip_prefix("│")) {
                message.push(more);
            } else if !message.is_empty() {
                break;
            }
        }
        Err((error_type, message.join(" ")))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_functions();
        let _ = self.watch.kill();
        let _ = self.watch.wait();
    }
}

/// The text without its whitespace: the emulator's report wraps long messages at spaces and
/// after hyphens, so only the characters are compared.
fn words(text: &str) -> String {
    text.split_whitespace().collect()
}

/// copyflow's answer in the emulator's terms.
async fn through_copyflow(
    host: &LambdaHost,
    function: &str,
    payload: &Value,
) -> Result<Value, (String, String)> {
    host.invoke(function, payload)
        .await
        .map_err(|e| (e.error_type, e.error_message))
}

async fn through_cargo_lambda(
    emulator: &Emulator,
    name: &str,
    payload: &Value,
) -> Result<Value, (String, String)> {
    // The emulator runs outside this runtime, but the S3 server it reaches runs inside it.
    tokio::task::block_in_place(|| emulator.invoke(name, payload))
}

fn same(
    case: &str,
    copyflow: &Result<Value, (String, String)>,
    emulator: &Result<Value, (String, String)>,
) {
    match (copyflow, emulator) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}: different payloads"),
        (Err((ta, ma)), Err((tb, mb))) => {
            assert_eq!(ta, tb, "{case}: different error types");
            assert_eq!(words(ma), words(mb), "{case}: different error messages");
        }
        _ => panic!("{case}: copyflow answered {copyflow:?}, cargo-lambda {emulator:?}"),
    }
}

fn fixture(name: &str) -> Value {
    let path = workspace().join("tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn host_env(server: &S3Server, document: Value) -> HostEnvironment {
    let c = server.config();
    HostEnvironment {
        region: c.region.clone(),
        account: copyflow_s3::LOCAL_ACCOUNT_ID.into(),
        access_key: c.access_key.clone(),
        secret_key: c.secret_key.clone(),
        function_keys: Default::default(),
        s3_endpoint: server.endpoint(),
        document,
        definition: serde_json::from_str(DEFINITION).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_answer_cargo_lambdas_emulator_as_they_answer_copyflows_runtime_api() {
    let Some(exe) = cargo_lambda() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(ServerConfig::new(dir.path().join("s3")))
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
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let document = serde_json::to_value(SettingsDocument::new(SRC, DST)).unwrap();
    let host = LambdaHost::new(
        &LambdaBinaries::new(binaries::dir()),
        &host_env(&server, document),
    )
    .unwrap();
    let mut emulator = Emulator::start(exe, dir.path());
    for step in STEPS {
        let (binary, env) = host.launch(step.function).unwrap();
        emulator.run_function(step.binary, binary, env);
    }
    let both = |binary: &'static str, function: &'static str, payload: Value| {
        let (host, emulator) = (&host, &emulator);
        async move {
            let a = through_copyflow(host, function, &payload).await;
            let b = through_cargo_lambda(emulator, binary, &payload).await;
            (a, b)
        }
    };

    // validate-key: every fixture event.
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("tests/fixtures/events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        let (a, b) = both("validate-key", "copyflow-validate-key", fixture(name)).await;
        same(&format!("validate-key {name}"), &a, &b);
    }

    // copy-object and verify-copy on an object in the embedded S3.
    let key = "AjayMuralidhar/2020-04-06/12/differential.txt";
    let put = s3
        .put_object()
        .bucket(SRC)
        .key(key)
        .body(ByteStream::from_static(
            b"the same bytes through two runtimes",
        ))
        .send()
        .await
        .unwrap();
    let mut event = fixture("versioned.json");
    let object = &mut event["detail"]["object"];
    object["key"] = json!(key);
    object["size"] = json!(35);
    object["etag"] = json!(put.e_tag().unwrap().trim_matches('"'));
    object["version-id"] = json!(put.version_id().unwrap());
    let job = host.invoke("copyflow-validate-key", &event).await.unwrap();
    let delete_destination = || async {
        let versions = s3
            .list_object_versions()
            .bucket(DST)
            .prefix(key)
            .send()
            .await
            .unwrap();
        for v in versions.versions() {
            s3.delete_object()
                .bucket(DST)
                .key(key)
                .version_id(v.version_id().unwrap())
                .send()
                .await
                .unwrap();
        }
    };
    let by_emulator = through_cargo_lambda(&emulator, "copy-object", &job).await;
    delete_destination().await;
    let by_copyflow = through_copyflow(&host, "copyflow-copy-object", &job).await;
    // Each run wrote its own destination version; the rest must be the same.
    let without_version = |r: &Result<Value, (String, String)>| {
        let mut r = r.clone();
        if let Ok(doc) = &mut r
            && let Some(d) = doc
                .pointer_mut("/copy/destination")
                .and_then(Value::as_object_mut)
        {
            d.remove("versionId");
        }
        r
    };
    same(
        "copy-object",
        &without_version(&by_copyflow),
        &without_version(&by_emulator),
    );
    let copied = by_copyflow.unwrap();
    assert_eq!(copied["copy"]["status"], "copied", "{copied}");
    let (a, b) = both("verify-copy", "copyflow-verify-copy", copied.clone()).await;
    same("verify-copy", &a, &b);
    assert_eq!(a.unwrap()["verify"]["verdict"], "identical");

    // The source version deleted since: the same SourceNotFound from both.
    s3.delete_object()
        .bucket(SRC)
        .key(key)
        .version_id(put.version_id().unwrap())
        .send()
        .await
        .unwrap();
    let (a, b) = both("copy-object", "copyflow-copy-object", job.clone()).await;
    same("copy-object of a deleted source", &a, &b);
    assert_eq!(a.unwrap_err().0, "SourceNotFound");

    // Bad settings: ConfigurationError from every binary, through both.
    emulator.stop_functions();
    host.shutdown();
    let bad = json!({"source": {"bucket": SRC}, "destination": {"bucket": DST},
                     "verify": {"rangeSizeBytes": 1}});
    let bad_host = LambdaHost::new(
        &LambdaBinaries::new(binaries::dir()),
        &host_env(&server, bad),
    )
    .unwrap();
    for step in STEPS {
        let (binary, env) = bad_host.launch(step.function).unwrap();
        emulator.run_function(step.binary, binary, env);
    }
    for step in STEPS {
        let a = through_copyflow(&bad_host, step.function, &event).await;
        let b = through_cargo_lambda(&emulator, step.binary, &event).await;
        same(&format!("{} with bad settings", step.binary), &a, &b);
        let (error_type, message) = a.unwrap_err();
        assert_eq!(error_type, "ConfigurationError");
        assert!(message.contains("verify.rangeSizeBytes"), "{message}");
    }
    bad_host.shutdown();
    drop(emulator);
    server.shutdown().await;
}
