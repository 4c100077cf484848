//! Benchmark of the embedded S3 server (run: `cargo bench -p copyflow-s3`).
//!
//! One run reports, side by side on the same disk:
//! - a plain file copy of 1 GiB (`std::fs::copy`, i.e. the kernel's copy_file_range) and a
//!   userspace read+write copy of the same bytes: the baselines;
//! - PUT of the 1 GiB object through aws-sdk-s3 (streamed, SigV4, SDK request checksum);
//! - server-side CopyObject of that object;
//! - 1,000 small (1 KiB) PUTs from one Rust client with 32 requests in flight.
//!
//! Targets (issue 2): COPY within 1.5x of the file copy; small PUTs >= 2,000/s on 2 cores.
//! Every large measurement starts after `sync` and ends after `sync`, so each one pays for
//! getting its bytes to disk and none profits from page-cache headroom left by another.
//! Set COPYFLOW_BENCH_MIB to change the large object size (default 1024).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;

fn mib_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

/// Flushes every dirty page so each measurement starts from the same state and includes
/// getting its bytes to disk (otherwise whichever runs first wins on page-cache headroom).
fn sync_all() {
    let _ = std::process::Command::new("sync").status();
}

fn userspace_copy(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    let mut r = std::fs::File::open(from)?;
    let mut w = std::fs::File::create(to)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let mib: u64 = std::env::var("COPYFLOW_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mib * 1024 * 1024;
    // Under target/ so the data, the server's store and the baseline copies share one disk.
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-tmp");
    std::fs::create_dir_all(&base).unwrap();
    let work = tempfile::tempdir_in(&base).unwrap();
    let source = work.path().join("source.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let mut rng = fastrand::Rng::with_seed(7);
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            rng.fill(&mut chunk);
            f.write_all(&chunk).unwrap();
        }
        f.flush().unwrap();
        f.get_ref().sync_all().unwrap();
    }

    sync_all();
    let t = Instant::now();
    std::fs::copy(&source, work.path().join("copy-kernel.bin")).unwrap();
    sync_all();
    let file_copy = t.elapsed();
    let t = Instant::now();
    userspace_copy(&source, &work.path().join("copy-user.bin")).unwrap();
    sync_all();
    let user_copy = t.elapsed();

    let server =
        copyflow_s3::S3Server::start(copyflow_s3::ServerConfig::new(work.path().join("s3")))
            .await
            .unwrap();
    let c = server.config();
    let client = support::client(&server.endpoint(), &c.access_key, &c.secret_key, &c.region);
    client.create_bucket().bucket("bench").send().await.unwrap();

    sync_all();
    let t = Instant::now();
    let body = ByteStream::from_path(&source).await.unwrap();
    client
        .put_object()
        .bucket("bench")
        .key("big.bin")
        .body(body)
        .send()
        .await
        .unwrap();
    sync_all();
    let put = t.elapsed();

    // COPY and the file copy, interleaved three times: this disk's speed drifts, so compare
    // medians of neighbours rather than single runs far apart.
    let mut copies = Vec::new();
    let mut file_copies = Vec::new();
    for round in 0..3 {
        let t = Instant::now();
        client
            .copy_object()
            .bucket("bench")
            .key(format!("big-copy-{round}.bin"))
            .copy_source("bench/big.bin")
            .send()
            .await
            .unwrap();
        sync_all();
        copies.push(t.elapsed());
        let t = Instant::now();
        std::fs::copy(
            &source,
            work.path().join(format!("copy-kernel-{round}.bin")),
        )
        .unwrap();
        sync_all();
        file_copies.push(t.elapsed());
    }
    copies.sort();
    file_copies.sort();
    let (copy, file_copy_median) = (copies[1], file_copies[1]);

    let small = 1000usize;
    let payload = bytes::Bytes::from(vec![b'x'; 1024]);
    let t = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..small)
        .map(|i| {
            let client = client.clone();
            let payload = payload.clone();
            async move {
                client
                    .put_object()
                    .bucket("bench")
                    .key(format!("AjayMuralidhar/2020-04-06/12/task-{i}.txt"))
                    .body(ByteStream::from(payload))
                    .send()
                    .await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let small_elapsed = t.elapsed();
    assert!(
        results.iter().all(Result::is_ok),
        "every small PUT succeeded"
    );
    server.shutdown().await;

    println!(
        "copyflow-s3 benchmark ({mib} MiB object, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| what | time | throughput | vs file copy |");
    println!("|---|---|---|---|");
    let row = |name: &str, d: Duration| {
        println!(
            "| {name} | {:.3} s | {:.0} MiB/s | {:.2}x |",
            d.as_secs_f64(),
            mib_per_s(size, d),
            d.as_secs_f64() / file_copy.as_secs_f64()
        );
    };
    row("plain file copy (std::fs::copy)", file_copy);
    row("userspace read+write copy, 1 MiB buffer", user_copy);
    row("S3 PutObject via aws-sdk-s3", put);
    row("S3 CopyObject (server-side), median of 3", copy);
    row(
        "plain file copy, median of 3 interleaved with the COPYs",
        file_copy_median,
    );
    println!(
        "| {small} small PUTs (1 KiB, 32 in flight) | {:.3} s | {:.0} PUT/s | target >= 2000/s |",
        small_elapsed.as_secs_f64(),
        small as f64 / small_elapsed.as_secs_f64()
    );
    println!(
        "COPY / file copy (interleaved medians) = {:.2} (target <= 1.5)",
        copy.as_secs_f64() / file_copy_median.as_secs_f64()
    );
}
