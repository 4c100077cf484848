//! The one benchmark that shows copyflow beside its peers, in one run, as ratios (not a timed
//! test: nothing here passes or fails on a number).
//!
//! - **Small objects**: `copyflow up` (the release binary, its own process) and N objects of
//!   1-8 KiB uploaded into the watched bucket; verified copies per second end to end, the
//!   `up` process's CPU and bytes written per object, and how much the running pipeline slows the
//!   uploader (the same upload into an unwatched bucket first). Then the peers copy the same
//!   objects server-side on the same server: s5cmd, rclone, `aws s3 sync` (none of which
//!   verifies anything).
//! - **Large objects** (1 GiB and 6 GiB by default): the time from the end of the upload to
//!   the verified copy, beside a `cp` of the same file and the peers' server-side copies.
//! - **Cold starts** of the three Lambda binaries: spawn to the first `invocation/next`.
//!
//! Peers it cannot find (in PATH or `.tools/*/bin`) are reported as skipped.
//!
//! ```sh
//! cargo build --release -p validate-key -p copy-object -p verify-copy   # for the cold starts
//! cargo bench -p copyflow --bench compare
//! ```
//! `COPYFLOW_BENCH_OBJECTS` (default 5000), `COPYFLOW_BENCH_GIB` (default `1,6`; empty for
//! none), `COPYFLOW_BENCH_ONLY` (`small`, `large`, `cold`; comma-separated),
//! `COPYFLOW_BENCH_ENFORCE_IAM` (`false`: without the step policies; default: as configured).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ACCESS_KEY: &str = copyflow_s3::DEFAULT_ACCESS_KEY;
const SECRET_KEY: &str = copyflow_s3::DEFAULT_SECRET_KEY;
const SOURCE: &str = "bench-source";
const DESTINATION: &str = "bench-destination";
const UPLOAD_CONCURRENCY: usize = 32;

fn main() {
    let only = std::env::var("COPYFLOW_BENCH_ONLY").unwrap_or_default();
    let wanted = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    let objects: usize = env_number("COPYFLOW_BENCH_OBJECTS", 5000);
    let gib: Vec<u64> = std::env::var("COPYFLOW_BENCH_GIB")
        .unwrap_or_else(|_| "1,6".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let peers = Peers::find();
    println!("copyflow beside its peers (one machine, one run)");
    println!("  peers: {}", peers.describe());
    if wanted("small") {
        small_objects(objects, &peers);
    }
    if wanted("large") {
        for g in &gib {
            large_object(*g, &peers);
        }
    }
    if wanted("cold") {
        cold_starts();
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The peer tools this run can use; `None` is reported as skipped.
struct Peers {
    aws: Option<PathBuf>,
    rclone: Option<PathBuf>,
    s5cmd: Option<PathBuf>,
}

impl Peers {
    fn find() -> Peers {
        Peers {
            aws: std::env::var_os("COPYFLOW_AWS_CLI")
                .map(PathBuf::from)
                .or_else(|| which("aws")),
            rclone: which("rclone"),
            s5cmd: which("s5cmd"),
        }
    }

    fn describe(&self) -> String {
        [
            ("aws cli", &self.aws),
            ("rclone", &self.rclone),
            ("s5cmd", &self.s5cmd),
        ]
        .iter()
        .map(|(n, p)| match p {
            Some(_) => format!("{n} found"),
            None => format!("{n} skipped (not installed)"),
        })
        .collect::<Vec<_>>()
        .join(", ")
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// A command in PATH, or in the project's own tool venvs (`.tools/*/bin`).
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    if let Ok(tools) = std::fs::read_dir(workspace_root().join(".tools")) {
        dirs.extend(tools.flatten().map(|e| e.path().join("bin")));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        // pyenv shims exist for commands that no Python version has installed.
        .filter(|p| {
            ["--version", "version"].iter().any(|arg| {
                Command::new(p)
                    .arg(arg)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
        })
}

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `copyflow up` in its own process, with its stdout read line by line.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    s3: String,
    _dir: tempfile::TempDir,
}

impl Up {
    /// `multipart_threshold`: None for the settings' default.
    fn start(multipart_threshold: Option<u64>) -> Up {
        let dir = tempfile::tempdir().unwrap();
        let mut config = serde_json::json!({
            "source": {"bucket": SOURCE, "prefix": ""},
            "destination": {"bucket": DESTINATION},
            "local": {
                "s3Address": free_address().to_string(),
                "sfnAddress": free_address().to_string(),
                "consoleAddress": "127.0.0.1:0",
                "dataDir": dir.path().join("data"),
            }
        });
        if let Some(t) = multipart_threshold {
            config["copy"] = serde_json::json!({ "multipartThresholdBytes": t });
        }
        // COPYFLOW_BENCH_ENFORCE_IAM=false measures the pipeline without the step policies.
        if let Ok(v) = std::env::var("COPYFLOW_BENCH_ENFORCE_IAM") {
            config["local"]["enforceIam"] = serde_json::json!(v != "false");
        }
        let path = dir.path().join("copyflow.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_copyflow"))
            .arg("--config")
            .arg(&path)
            .arg("up")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s3 = String::new();
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("copyflow up did not start");
            if let Some(e) = line.trim().strip_prefix("S3") {
                s3 = e.trim().to_owned();
            }
            if line.starts_with("waiting for objects") {
                break;
            }
        }
        Up {
            child,
            lines,
            s3,
            _dir: dir,
        }
    }

    /// Waits for `n` finished executions (the ✔ / ✘ lines `up` prints); returns the failures.
    fn wait_finished(&self, n: usize) -> usize {
        let (mut done, mut failed) = (0, 0);
        while done < n {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(600))
                .expect("copyflow up stopped reporting executions");
            if line.starts_with('✔') {
                done += 1;
            } else if line.starts_with('✘') {
                done += 1;
                failed += 1;
            }
        }
        failed
    }

    /// User plus system CPU of the `up` process so far.
    fn cpu(&self) -> Duration {
        process_cpu(self.child.id())
    }

    /// Bytes the `up` process has passed to write calls so far (None: /proc does not say).
    fn written(&self) -> Option<u64> {
        process_written(self.child.id())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    let ticks: u64 = fields.iter().sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// `wchar` of /proc/PID/io: bytes handed to write, pwrite and send, to files and sockets
/// alike, counted per call (a page that SQLite writes ten times counts ten times, which is
/// the cost, where the disk's own counter would count it once).
fn process_written(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}

fn s3_client(endpoint: &str, rt: &tokio::runtime::Runtime) -> aws_sdk_s3::Client {
    let _guard = rt.enter();
    copyflow_core::s3::client_for_endpoint(endpoint, ACCESS_KEY, SECRET_KEY, "us-east-1")
}

fn create_bucket(rt: &tokio::runtime::Runtime, client: &aws_sdk_s3::Client, bucket: &str) {
    rt.block_on(async {
        if client.head_bucket().bucket(bucket).send().await.is_err() {
            client.create_bucket().bucket(bucket).send().await.unwrap();
        }
    });
}

/// The small objects: 1-8 KiB, in the employee/day/hour hierarchy.
fn small_files(n: usize, dir: &Path) -> Vec<(String, PathBuf)> {
    (0..n)
        .map(|i| {
            let key = format!("Bench{}/2020-04-06/{:02}/object-{i}.txt", i % 50, i % 24);
            let path = dir.join(&key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let size = 1024 + (i * 7919) % (7 * 1024);
            let line = format!("object {i} ");
            let body: Vec<u8> = line.bytes().cycle().take(size).collect();
            std::fs::write(&path, body).unwrap();
            (key, path)
        })
        .collect()
}

/// Uploads every file with s5cmd when it is installed, else with aws-sdk-s3 from this
/// process (both with UPLOAD_CONCURRENCY requests in flight); returns the seconds it took.
fn upload(
    rt: &tokio::runtime::Runtime,
    peers: &Peers,
    endpoint: &str,
    dir: &Path,
    files: &[(String, PathBuf)],
    bucket: &str,
) -> f64 {
    let began = Instant::now();
    if let Some(s5cmd) = &peers.s5cmd {
        let status = peer_command(s5cmd, endpoint)
            .args(["--numworkers", &UPLOAD_CONCURRENCY.to_string(), "cp"])
            .arg(format!("{}/*", dir.display()))
            .arg(format!("s3://{bucket}/"))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "s5cmd upload failed");
    } else {
        let client = s3_client(endpoint, rt);
        rt.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for (key, path) in files {
                if tasks.len() >= UPLOAD_CONCURRENCY {
                    tasks.join_next().await.unwrap().unwrap();
                }
                let (client, key, bucket) = (client.clone(), key.clone(), bucket.to_owned());
                let body = std::fs::read(path).unwrap();
                tasks.spawn(async move {
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(key)
                        .body(body.into())
                        .send()
                        .await
                        .unwrap();
                });
            }
            while let Some(t) = tasks.join_next().await {
                t.unwrap();
            }
        });
    }
    began.elapsed().as_secs_f64()
}

/// A peer's command line with the endpoint and the embedded server's credentials.
fn peer_command(program: &Path, endpoint: &str) -> Command {
    let mut c = Command::new(program);
    c.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1");
    let name = program.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match name {
        "rclone" => {
            // rclone's AWS SDK refuses to start when AWS_CA_BUNDLE is set ("unsupported
            // transport"); the endpoint is plain HTTP on loopback, so no bundle is needed.
            c.env_remove("AWS_CA_BUNDLE")
                .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
                .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
                .env("RCLONE_CONFIG_BENCH_ENDPOINT", endpoint)
                .env("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID", ACCESS_KEY)
                .env("RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY", SECRET_KEY)
                .env("RCLONE_CONFIG_BENCH_REGION", "us-east-1")
                .env("RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE", "true");
        }
        _ => {
            c.arg("--endpoint-url").arg(endpoint);
        }
    }
    c
}

/// Each installed peer copies `from` (a key prefix or one key) server-side into its own
/// bucket; returns (peer, seconds) for those that succeeded, and reports the rest.
fn peer_copies(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    peers: &Peers,
    endpoint: &str,
    key: Option<&str>,
) -> Vec<(&'static str, f64)> {
    let mut results = Vec::new();
    let runs: [(&str, &Option<PathBuf>); 3] = [
        ("s5cmd", &peers.s5cmd),
        ("rclone", &peers.rclone),
        ("aws cli", &peers.aws),
    ];
    for (name, program) in runs {
        let Some(program) = program else {
            println!("    {name:<24} skipped (not installed)");
            continue;
        };
        let bucket = format!("peer-{}", name.replace(' ', "-"));
        create_bucket(rt, client, &bucket);
        let mut c = peer_command(program, endpoint);
        let workers = UPLOAD_CONCURRENCY.to_string();
        match (name, key) {
            ("s5cmd", None) => c
                .args(["--numworkers", &workers, "cp"])
                .args([format!("s3://{SOURCE}/*"), format!("s3://{bucket}/")]),
            ("s5cmd", Some(k)) => c
                .arg("cp")
                .args([format!("s3://{SOURCE}/{k}"), format!("s3://{bucket}/{k}")]),
            ("rclone", None) => c
                .args(["copy", "--transfers", &workers, "--checkers", &workers])
                .args([format!("bench:{SOURCE}"), format!("bench:{bucket}")]),
            ("rclone", Some(k)) => c
                .arg("copyto")
                .args([format!("bench:{SOURCE}/{k}"), format!("bench:{bucket}/{k}")]),
            (_, None) => c
                .args(["s3", "sync", "--only-show-errors"])
                .args([format!("s3://{SOURCE}"), format!("s3://{bucket}")]),
            (_, Some(k)) => c
                .args(["s3", "cp", "--only-show-errors"])
                .args([format!("s3://{SOURCE}/{k}"), format!("s3://{bucket}/{k}")]),
        };
        let began = Instant::now();
        let out = c
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let seconds = began.elapsed().as_secs_f64();
        if out.status.success() {
            results.push((name, seconds));
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("").to_owned();
            println!("    {name:<24} failed: {last}");
        }
    }
    results
}

fn small_objects(n: usize, peers: &Peers) {
    println!("\nsmall objects: {n} of 1-8 KiB through `copyflow up`");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let up = Up::start(None);
    let client = s3_client(&up.s3, &rt);
    let files_dir = tempfile::tempdir().unwrap();
    let files = small_files(n, files_dir.path());
    create_bucket(&rt, &client, "bench-unwatched");
    let idle = upload(
        &rt,
        peers,
        &up.s3,
        files_dir.path(),
        &files,
        "bench-unwatched",
    );
    let cpu_before = up.cpu();
    let written_before = up.written();
    let began = Instant::now();
    let busy = upload(&rt, peers, &up.s3, files_dir.path(), &files, SOURCE);
    let failed = up.wait_finished(n);
    let seconds = began.elapsed().as_secs_f64();
    let cpu = up.cpu().saturating_sub(cpu_before).as_secs_f64();
    let written = up
        .written()
        .zip(written_before)
        .map(|(after, before)| after.saturating_sub(before));
    let uploader = if peers.s5cmd.is_some() {
        "s5cmd"
    } else {
        "aws-sdk-s3"
    };
    let rate = n as f64 / seconds;
    println!(
        "  copyflow                 {rate:>8.0} verified copies/s  ({seconds:.2} s, {:.2} s CPU per 1,000 objects, {failed} failed)",
        cpu * 1000.0 / n as f64
    );
    let body_bytes: u64 = files
        .iter()
        .map(|(_, path)| std::fs::metadata(path).map_or(0, |m| m.len()))
        .sum();
    match written {
        Some(written) => println!(
            "  written by `up`           {:>8.1} KiB per object ({:.0}x the object's bytes: key records, inline bodies, event outbox, execution history, HTTP responses)",
            written as f64 / 1024.0 / n as f64,
            written as f64 / body_bytes.max(1) as f64
        ),
        None => println!("  written by `up`           unknown (no /proc/PID/io here)"),
    }
    println!(
        "  uploader ({uploader:<10})    {:>8.0} PUT/s alone, {:.0} PUT/s while the pipeline runs (slowed {:.0}%)",
        n as f64 / idle,
        n as f64 / busy,
        (1.0 - idle / busy) * 100.0
    );
    println!("  peers, server-side copy of the same objects (no verification):");
    for (name, s) in peer_copies(&rt, &client, peers, &up.s3, None) {
        let peer_rate = n as f64 / s;
        println!(
            "    {name:<24} {peer_rate:>8.0} copies/s  copyflow/peer = {:.2}x",
            rate / peer_rate
        );
    }
}

fn large_object(gib: u64, peers: &Peers) {
    let size = gib << 30;
    println!("\nlarge object: {gib} GiB, uploaded multipart, copied and verified");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The issue's threshold: objects above 256 MiB take the multipart path.
    let up = Up::start(Some(256 << 20));
    let client = s3_client(&up.s3, &rt);
    let dir = tempfile::tempdir_in(workspace_root().join("target")).unwrap();
    let file = dir.path().join("large.bin");
    write_large_file(&file, size);
    let cp = {
        let began = Instant::now();
        let copy = dir.path().join("large.copy");
        assert!(
            Command::new("cp")
                .arg(&file)
                .arg(&copy)
                .status()
                .unwrap()
                .success()
        );
        let s = began.elapsed().as_secs_f64();
        std::fs::remove_file(copy).unwrap();
        s
    };
    let key = format!("Large/2020-04-06/12/object-{gib}gib.bin");
    let how = upload_large(&rt, &client, peers, &up.s3, &file, &key);
    let began = Instant::now();
    let failed = up.wait_finished(1);
    let seconds = began.elapsed().as_secs_f64();
    println!("  cp of the file            {cp:>7.2} s");
    println!(
        "  copyflow copy + verify    {seconds:>7.2} s  = {:.2}x cp  (source uploaded by {how}{})",
        seconds / cp,
        if failed > 0 { ", FAILED" } else { "" }
    );
    for (name, s) in peer_copies(&rt, &client, peers, &up.s3, Some(&key)) {
        println!(
            "  {name:<24}  {s:>7.2} s  = {:.2}x cp   copyflow/peer = {:.2}x",
            s / cp,
            seconds / s
        );
    }
}

fn write_large_file(path: &Path, size: u64) {
    let mut block = vec![0u8; 1 << 20];
    let mut rng = fastrand::Rng::with_seed(7);
    rng.fill(&mut block);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..(size >> 20) {
        // Different bytes in every MiB, so nothing downstream can dedupe.
        block[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

/// With the aws cli when installed (multipart, COMPOSITE CRC32 by default), else aws-sdk-s3
/// multipart with CRC32 part checksums.
fn upload_large(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    peers: &Peers,
    endpoint: &str,
    file: &Path,
    key: &str,
) -> &'static str {
    if let Some(aws) = &peers.aws {
        let status = peer_command(aws, endpoint)
            .args(["s3", "cp", "--only-show-errors"])
            .arg(file)
            .arg(format!("s3://{SOURCE}/{key}"))
            .status()
            .unwrap();
        assert!(status.success(), "aws s3 cp upload failed");
        return "aws cli";
    }
    use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
    rt.block_on(async {
        let upload = client
            .create_multipart_upload()
            .bucket(SOURCE)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .unwrap();
        let id = upload.upload_id().unwrap();
        let mut f = std::fs::File::open(file).unwrap();
        let mut parts = Vec::new();
        let mut buf = vec![0u8; 64 << 20];
        for number in 1.. {
            let n = read_full(&mut f, &mut buf);
            if n == 0 {
                break;
            }
            let part = client
                .upload_part()
                .bucket(SOURCE)
                .key(key)
                .upload_id(id)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(buf[..n].to_vec().into())
                .send()
                .await
                .unwrap();
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                    .build(),
            );
        }
        client
            .complete_multipart_upload()
            .bucket(SOURCE)
            .key(key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    "aws-sdk-s3"
}

fn read_full(f: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// Spawn to the first `GET /2018-06-01/runtime/invocation/next`, median of 20, per binary,
/// with the environment Lambda gives a function.
fn cold_starts() {
    const RUNS: usize = 20;
    let dir = Path::new(env!("CARGO_BIN_EXE_copyflow")).parent().unwrap();
    println!("\ncold starts: spawn to the first invocation/next, median of {RUNS}");
    let settings = {
        let doc: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(workspace_root().join("copyflow.json")).unwrap(),
        )
        .unwrap();
        let mut doc = doc.as_object().unwrap().clone();
        doc.remove("local");
        doc.remove("deploy");
        serde_json::Value::Object(doc).to_string()
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    for name in ["validate-key", "copy-object", "verify-copy"] {
        let binary = dir.join(name);
        if !binary.is_file() {
            println!(
                "  {name:<14} skipped (not built: cargo build --release -p validate-key -p copy-object -p verify-copy)"
            );
            continue;
        }
        let mut times: Vec<f64> = (0..=RUNS)
            .map(|_| one_cold_start(&binary, name, &api, &settings, &listener))
            .skip(1) // the first run warms the page cache
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  {name:<14} {:>6.1} ms median, {:.1} ms min",
            times[RUNS / 2],
            times[0]
        );
    }
}

fn one_cold_start(
    binary: &Path,
    name: &str,
    api: &str,
    settings: &str,
    listener: &TcpListener,
) -> f64 {
    let began = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs([
            ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
            ("TZ", ":UTC"),
            ("AWS_LAMBDA_RUNTIME_API", api),
            ("AWS_LAMBDA_FUNCTION_NAME", name),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2025/01/01/[$LATEST]0123456789abcdef",
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_SESSION_TOKEN", "token"),
            ("COPYFLOW_SETTINGS", settings),
            ("RUST_LOG", "info"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = conn.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "{name} closed the connection before asking for an event"
        );
        buf.extend_from_slice(&chunk[..n]);
    }
    let elapsed = began.elapsed().as_secs_f64() * 1000.0;
    assert!(
        buf.starts_with(b"GET /2018-06-01/runtime/invocation/next"),
        "{name} asked something else first"
    );
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}
