//! SIGKILL safety of the standalone `copyflow-s3` binary: concurrent PUTs, a `kill -9` at a
//! random (seeded) moment, a restart on the same data dir, and then 0 acknowledged writes
//! lost, 0 objects partially visible, 0 orphan blob files, and every acknowledged PUT's
//! event in the durable outbox. Several rounds accumulate on one data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::retry::RetryConfig;
use md5::Digest as _;

const ROUNDS: u64 = 4;
const WRITERS: u64 = 8;
const MAX_SIZE: usize = 2 << 20;
const SEED: u64 = 0x6b69_6c6c;

/// The child server; killed (SIGKILL on unix) when dropped, so a failing test leaves none.
struct Server {
    child: Child,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_copyflow-s3"))
        .args(["--durable-events", "--address", "127.0.0.1:0", "--data"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let endpoint = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("copyflow-s3 serving ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, endpoint }
}

fn client(endpoint: &str) -> Client {
    let config = support::config(endpoint, "copyflow", "copyflow-secret", "us-east-1")
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    Client::from_conf(config)
}

/// The bytes of object `id`: a pure function of the id, so they need not be kept.
fn content(id: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(id);
    let size = rng.usize(0..MAX_SIZE);
    let mut bytes = vec![0u8; size];
    rng.fill(&mut bytes);
    bytes
}

fn key_of(id: u64) -> String {
    format!("obj/{id:016x}")
}

fn etag_of(bytes: &[u8]) -> String {
    hex_simd::encode_to_string(md5::Md5::digest(bytes), hex_simd::AsciiCase::Lower)
}

/// One writer: PUTs fresh objects until the server goes away; returns the acknowledged ids.
async fn writer(c: Client, round: u64, task: u64, sent: Arc<Mutex<HashSet<u64>>>) -> Vec<u64> {
    let mut acked = Vec::new();
    for i in 0.. {
        let id = SEED ^ (round << 48) ^ (task << 40) ^ i;
        sent.lock().unwrap().insert(id);
        let put = c
            .put_object()
            .bucket("kill")
            .key(key_of(id))
            .body(ByteStream::from(content(id)))
            .send()
            .await;
        match put {
            Ok(_) => acked.push(id),
            Err(_) => break,
        }
    }
    acked
}

async fn get(c: &Client, key: &str) -> Vec<u8> {
    c.get_object()
        .bucket("kill")
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {key}: {e:?}"))
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

async fn listed_keys(c: &Client) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket("kill")
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return keys;
        }
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The names of every stored segment: files under `blobs/` and inline rows of
/// `keys.sqlite3`.
fn stored_blobs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = files_under(&dir.join("blobs"))
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    let db = rusqlite::Connection::open(dir.join("keys.sqlite3")).unwrap();
    let mut stmt = db.prepare("SELECT id FROM inline_blobs").unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    names.extend(rows.map(Result::unwrap));
    names
}

/// Blob ids named by any key record (rows of `keys.sqlite3`) or upload on disk.
fn referenced_blobs(dir: &Path) -> HashSet<String> {
    let mut referenced = HashSet::new();
    let mut add = |v: &serde_json::Value| {
        if let Some(blob) = v["blob"].as_str() {
            referenced.insert(blob.to_owned());
        }
    };
    // Only committed records: SQLite never shows a half-written row.
    let db = rusqlite::Connection::open(dir.join("keys.sqlite3")).unwrap();
    let mut stmt = db.prepare("SELECT record FROM keys").unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap);
    for json in rows {
        let rec: serde_json::Value = serde_json::from_str(&json).unwrap();
        for v in rec["versions"].as_array().unwrap() {
            v["segments"].as_array().unwrap().iter().for_each(&mut add);
        }
    }
    for file in files_under(&dir.join("uploads")) {
        if file.extension() != Some("json".as_ref()) {
            continue;
        }
        let up: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for part in up["parts"].as_object().unwrap().values() {
            add(&part["segment"]);
        }
    }
    referenced
}

/// (key, etag) of every event in the outbox, read straight from its database.
fn outbox_events(dir: &Path) -> HashMap<String, String> {
    let db = rusqlite::Connection::open(dir.join("events.sqlite3")).unwrap();
    let mut stmt = db.prepare("SELECT event FROM events").unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap);
    rows.map(|json| {
        let e: serde_json::Value = serde_json::from_str(&json).unwrap();
        let o = &e["detail"]["object"];
        (
            o["key"].as_str().unwrap().to_owned(),
            o["etag"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_acknowledged_put_shows_no_partial_object_and_leaves_no_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let sent = Arc::new(Mutex::new(HashSet::new()));
    let mut acked: Vec<u64> = Vec::new();
    let mut interrupted = 0u64;
    let mut reclaimed = 0usize;
    let mut temps_reclaimed = 0usize;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let server = spawn(dir.path());
        let c = client(&server.endpoint);
        c.create_bucket().bucket("kill").send().await.unwrap();
        let writers: Vec<_> = (0..WRITERS)
            .map(|task| tokio::spawn(writer(c.clone(), round, task, sent.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.u64(300..1500))).await;
        drop(server); // SIGKILL
        for w in writers {
            acked.extend(w.await.unwrap());
            interrupted += 1;
        }

        let referenced = referenced_blobs(dir.path());
        reclaimed += stored_blobs(dir.path())
            .iter()
            .filter(|name| !referenced.contains(*name))
            .count();
        temps_reclaimed += files_under(dir.path())
            .iter()
            .filter(|p| p.to_string_lossy().contains(".tmp-"))
            .count();

        let server = spawn(dir.path());
        let c = client(&server.endpoint);
        // 0 acknowledged writes lost, bytes identical.
        for &id in &acked {
            let got = get(&c, &key_of(id)).await;
            assert!(got == content(id), "acknowledged {} changed", key_of(id));
        }
        // 0 partially visible: every listed object is one some PUT sent, whole.
        let sent_now = sent.lock().unwrap().clone();
        let by_key: HashMap<String, u64> = sent_now.iter().map(|&id| (key_of(id), id)).collect();
        let listed = listed_keys(&c).await;
        for key in &listed {
            let id = by_key
                .get(key)
                .unwrap_or_else(|| panic!("listed {key} was never sent"));
            assert!(
                get(&c, key).await == content(*id),
                "{key} is not what was sent"
            );
        }
        // 0 orphans: every stored segment (file or inline row) is referenced; no temp
        // files left.
        let referenced = referenced_blobs(dir.path());
        let blobs = stored_blobs(dir.path());
        let orphans: Vec<_> = blobs
            .iter()
            .filter(|name| !referenced.contains(*name))
            .collect();
        assert!(orphans.is_empty(), "orphan blobs: {orphans:?}");
        assert_eq!(blobs.len(), listed.len(), "one blob per object");
        let temps: Vec<_> = files_under(dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(temps.is_empty(), "temp files left: {temps:?}");
        // Every acknowledged PUT has its event in the outbox.
        let events = outbox_events(dir.path());
        for &id in &acked {
            let etag = events
                .get(&key_of(id))
                .unwrap_or_else(|| panic!("no outbox event for {}", key_of(id)));
            assert_eq!(*etag, etag_of(&content(id)));
        }
        drop(server);
    }
    let sent_total = sent.lock().unwrap().len();
    println!(
        "kill test: {ROUNDS} rounds, {sent_total} PUTs sent, {} acknowledged, {interrupted} interrupted by SIGKILL; \
         {reclaimed} orphan blobs and {temps_reclaimed} temp files reclaimed at restart; \
         0 acknowledged lost, 0 partially visible, 0 orphan blobs, every acknowledged PUT in the outbox ({:.1} s)",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        !acked.is_empty(),
        "some PUTs were acknowledged before the kill"
    );
}
