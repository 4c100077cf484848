//! The verify-copy step: proves the destination identical to the source version that was
//! copied, and names how.
//!
//! - `stored-checksum`: both objects carry comparable full-object checksums (the copy step
//!   makes S3 compute the destination's in the source's algorithm): compared with zero
//!   bytes read.
//! - `combined-part-crcs`: the source is a multipart upload with a COMPOSITE CRC32 or CRC32C
//!   checksum (the aws cli's and boto3's default): its full-object CRC is combined from the
//!   part CRCs and sizes GetObjectAttributes lists ([`parts`]), after checking the list
//!   against the composite value, and compared with the full-object checksum S3 computed for
//!   the copy in the same algorithm: zero bytes read.
//! - `computed-checksum`: the source has no comparable stored checksum (written before S3
//!   stored them by default, or composite SHA): its CRC is computed from parallel ranged GETs
//!   with bounded memory ([`computed`]) and compared with the destination's.
//!
//! Size, content headers and user metadata are compared too, and tags on the multipart path
//! (where copyflow sets them itself; CopyObject copies them inside S3). A mismatching copy is
//! deleted before the step fails with `ChecksumMismatch`, so a bad copy never looks valid.

mod computed;
mod parts;

use computed::Crc;
use parts::Combined;

use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::checksums::{Comparison, RangeProgress, StoredChecksum, compare};
use crate::copy::CopyOutcome;
use crate::s3::{ObjectInfo, classify, head_object_if_exists, tags_of};
use crate::{Algorithm, CopyJob, Settings, StepError};

/// Everything verification needs besides the state document.
#[derive(Debug)]
pub struct VerifyContext<'a> {
    /// The client every request of the step goes through, for both buckets.
    pub client: &'a Client,
    /// Range size and concurrency of the ranged GETs behind a computed checksum.
    pub settings: &'a Settings,
    /// A computed checksum stops starting ranges near it and returns a checkpoint.
    pub deadline: crate::deadline::Deadline,
}

/// `{"job": ..., "copy": ..., "verify"?: ...}` plus anything else the state carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyDocument {
    /// The job validate-key produced.
    pub job: CopyJob,
    /// The copy step's section; verify needs a finished copy (`destination` set).
    pub copy: CopyOutcome,
    /// This step's section, set once the copy is proven identical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyOutcome>,
    /// Fields of other steps, passed through untouched.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// How the bytes were proven identical (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyMethod {
    /// Comparable checksums S3 stored for both objects, compared without reading any bytes.
    StoredChecksum,
    /// A CRC computed from ranged GETs (the source's, and the destination's unless S3 stores
    /// one in the same algorithm), because no stored pair was comparable.
    ComputedChecksum,
    /// The source's full-object CRC combined from its part CRCs and sizes (GetObjectAttributes
    /// `ObjectParts` of a COMPOSITE CRC32 / CRC32C upload), compared with the destination's
    /// stored full-object value: no byte read.
    CombinedPartCrcs,
}

/// The verify step's section of the state document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOutcome {
    /// `verified`, or `in-progress` when a computed checksum needs another invocation (the
    /// state machine loops back with this document).
    #[serde(default)]
    pub status: VerifyStatus,
    /// "identical" once verified ("in-progress" before); any difference is an error.
    pub verdict: String,
    /// How identity was proven.
    pub method: VerifyMethod,
    /// S3 name of the algorithm both checksums are in.
    pub algorithm: String,
    /// The source's checksum, base64 (a COMPOSITE one keeps its `-N`).
    pub source_checksum: String,
    /// The destination's checksum in the same form.
    pub destination_checksum: String,
    /// Size of both objects, in bytes.
    pub size: u64,
    /// What else was compared.
    pub compared: Vec<String>,
    /// Object bytes read to prove it (0 with stored checksums and combined part CRCs).
    pub bytes_read: u64,
    /// S3 requests this step made.
    pub requests: u32,
    /// Where a computed checksum stands, while `in-progress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<VerifyCheckpoint>,
}

/// Whether verification is finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyStatus {
    /// The destination is proven identical.
    #[default]
    Verified,
    /// A computed checksum ran out of invocation time; `checkpoint` continues it.
    InProgress,
}

/// A computed verification between invocations: the CRC of the source (and, when the
/// destination has no comparable stored value, of the destination) over the bytes read so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyCheckpoint {
    /// S3 name of the CRC algorithm.
    pub algorithm: String,
    /// Progress over the source.
    pub source: RangeProgress,
    /// Progress over the destination, once it is being read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<RangeProgress>,
    /// Invocations so far.
    pub invocations: u32,
}

/// What proving the bytes came to.
enum Proof {
    Identical(VerifyOutcome),
    Different(String),
    Unfinished(VerifyOutcome),
}

/// Runs the verify-copy step on a state document (`{"job": ..., "copy": ...}`) and returns it
/// with `verify` set when the destination is identical to the copied source version.
///
/// Fails with `DestinationChanged` when the destination was overwritten after the copy (this
/// execution can no longer prove anything about it), `CopyFailed` when it vanished, and
/// `ChecksumMismatch` after deleting a copy that differs in bytes, size, content headers,
/// metadata or tags.
pub async fn verify(
    cx: &VerifyContext<'_>,
    mut doc: VerifyDocument,
) -> Result<VerifyDocument, StepError> {
    let copy = &doc.copy;
    let job = &doc.job;
    let bucket = &job.destination.bucket;
    let key = &copy.destination_key;
    let written = copy.destination.as_ref().ok_or_else(|| {
        StepError::Internal("verify needs a finished copy (copy.destination is missing)".into())
    })?;
    let mut requests = 1;
    let dest = head_object_if_exists(cx.client, bucket, key, written.version_id.as_deref())
        .await?
        .ok_or_else(|| {
            StepError::CopyFailed(format!(
                "s3://{bucket}/{key} vanished before it could be verified"
            ))
        })?;
    if dest.etag != written.etag {
        return Err(StepError::DestinationChanged(format!(
            "s3://{bucket}/{key} was overwritten (ETag {}) after this copy wrote {}; find who else writes this key, and start a new execution with the event to copy it again",
            dest.etag, written.etag
        )));
    }
    let source = &copy.source;
    let mut problems = property_differences(source, &dest);
    let mut compared = vec![
        "size".to_owned(),
        "content-headers".to_owned(),
        "metadata".to_owned(),
    ];
    if let Some(expected) = &copy.source_tags {
        requests += 1;
        let mut actual = tags_of(cx.client, bucket, key, written.version_id.as_deref()).await?;
        let mut expected = expected.clone();
        actual.sort();
        expected.sort();
        if actual != expected {
            problems.push(format!(
                "tags differ: source {expected:?}, destination {actual:?}"
            ));
        }
        compared.push("tags".to_owned());
    }
    let previous = doc
        .verify
        .as_ref()
        .filter(|v| v.status == VerifyStatus::InProgress)
        .and_then(|v| v.checkpoint.clone());
    let proof = if problems.is_empty() {
        prove_bytes(cx, job, source, &dest, previous.as_ref(), &mut requests).await?
    } else {
        Proof::Different(String::new())
    };
    match proof {
        Proof::Identical(mut outcome) | Proof::Unfinished(mut outcome) => {
            outcome.compared = compared;
            outcome.requests = requests;
            match outcome.status {
                VerifyStatus::Verified => {
                    tracing::info!(key = %key, method = ?outcome.method, "copy verified identical")
                }
                VerifyStatus::InProgress => {
                    tracing::info!(key = %key, "deadline near: returning a verification checkpoint")
                }
            }
            doc.verify = Some(outcome);
            Ok(doc)
        }
        Proof::Different(p) => {
            if !p.is_empty() {
                problems.push(p);
            }
            let deleted = delete_bad_copy(
                cx.client,
                bucket,
                key,
                written.version_id.as_deref(),
                &written.etag,
            )
            .await;
            Err(StepError::ChecksumMismatch(format!(
                "s3://{bucket}/{key} is not identical to its source: {}; {deleted}",
                problems.join("; ")
            )))
        }
    }
}

fn property_differences(source: &ObjectInfo, dest: &ObjectInfo) -> Vec<String> {
    let mut out = Vec::new();
    if source.size != dest.size {
        out.push(format!("size {} != {}", dest.size, source.size));
    }
    if source.headers != dest.headers {
        out.push(format!(
            "content headers differ: source {:?}, destination {:?}",
            source.headers, dest.headers
        ));
    }
    if source.metadata != dest.metadata {
        out.push(format!(
            "user metadata differs: source {:?}, destination {:?}",
            source.metadata, dest.metadata
        ));
    }
    out
}

/// Proves the bytes identical (or different), or reports how far a computed checksum got.
async fn prove_bytes(
    cx: &VerifyContext<'_>,
    job: &CopyJob,
    source: &ObjectInfo,
    dest: &ObjectInfo,
    previous: Option<&VerifyCheckpoint>,
    requests: &mut u32,
) -> Result<Proof, StepError> {
    let (src, dst) = (source.stored_checksum(), dest.stored_checksum());
    if let (Some(a), Some(b)) = (src, dst) {
        match compare(a, b) {
            Comparison::Identical => {
                return Ok(Proof::Identical(outcome(
                    VerifyMethod::StoredChecksum,
                    a,
                    b,
                    source.size,
                    0,
                )));
            }
            Comparison::Different => {
                return Ok(Proof::Different(format!(
                    "{} checksum {} != source's {}",
                    a.algorithm(),
                    dst_value(dest),
                    dst_value(source)
                )));
            }
            Comparison::NotComparable { reason } => {
                tracing::info!(%reason, "stored checksums not comparable")
            }
        }
    }
    // A multipart source whose parts carry CRCs (COMPOSITE CRC32 / CRC32C) and a copy with a
    // full-object checksum in that algorithm (the copy step asks S3 for one): the source's
    // full-object CRC follows from its part CRCs and sizes, with no byte read.
    if let (Some(StoredChecksum::Composite { digest, .. }), Some(StoredChecksum::FullObject(d))) =
        (src, dst)
        && digest.algorithm().is_crc()
        && d.algorithm() == digest.algorithm()
    {
        let algorithm = d.algorithm();
        let (combined, reqs) =
            parts::combined_part_crcs(cx, &job.source.bucket, source, algorithm).await?;
        *requests += reqs;
        match combined {
            Combined::Crc(crc) if crc == d => {
                return Ok(Proof::Identical(outcome(
                    VerifyMethod::CombinedPartCrcs,
                    StoredChecksum::FullObject(crc),
                    StoredChecksum::FullObject(d),
                    source.size,
                    0,
                )));
            }
            Combined::Crc(crc) => {
                return Ok(Proof::Different(format!(
                    "{algorithm} of the source combined from its part checksums {crc} != \
                     destination's {d}"
                )));
            }
            Combined::Unusable(reason) => {
                tracing::warn!(%reason, "part checksums cannot prove the copy; computing")
            }
        }
    }
    // Compute the source's CRC in the destination's full-object algorithm (or CRC64NVME).
    let algorithm = match dst {
        Some(StoredChecksum::FullObject(d)) if d.algorithm().is_crc() => d.algorithm(),
        _ => Algorithm::Crc64Nvme,
    };
    let previous = previous.filter(|c| c.algorithm == algorithm.as_s3_name());
    let invocations = previous.map_or(1, |c| c.invocations + 1);
    let size = source.size;
    let unfinished = |progress: RangeProgress, destination: Option<RangeProgress>, read: u64| {
        Proof::Unfinished(VerifyOutcome {
            status: VerifyStatus::InProgress,
            verdict: "in-progress".to_owned(),
            method: VerifyMethod::ComputedChecksum,
            algorithm: algorithm.as_s3_name().to_owned(),
            source_checksum: String::new(),
            destination_checksum: String::new(),
            size,
            compared: Vec::new(),
            bytes_read: read,
            requests: 0,
            checkpoint: Some(VerifyCheckpoint {
                algorithm: algorithm.as_s3_name().to_owned(),
                source: progress,
                destination,
                invocations,
            }),
        })
    };
    let from = previous.map(|c| c.source).unwrap_or_default();
    let (crc, mut bytes_read, reqs) =
        computed::object_crc(cx, &job.source.bucket, source, algorithm, from).await?;
    *requests += reqs;
    let source_crc = match crc {
        Crc::Done(d) => d,
        Crc::Partial(p) => return Ok(unfinished(p, None, bytes_read)),
    };
    let dest_crc = match dst {
        Some(StoredChecksum::FullObject(d)) if d.algorithm() == algorithm => d,
        _ => {
            let from = previous.and_then(|c| c.destination).unwrap_or_default();
            let (crc, read, reqs) =
                computed::object_crc(cx, &job.destination.bucket, dest, algorithm, from).await?;
            *requests += reqs;
            bytes_read += read;
            match crc {
                Crc::Done(d) => d,
                Crc::Partial(p) => {
                    let whole = RangeProgress {
                        crc: source_crc.as_u64().unwrap_or(0),
                        next_start: source.size,
                    };
                    return Ok(unfinished(whole, Some(p), bytes_read));
                }
            }
        }
    };
    if source_crc == dest_crc {
        Ok(Proof::Identical(outcome(
            VerifyMethod::ComputedChecksum,
            StoredChecksum::FullObject(source_crc),
            StoredChecksum::FullObject(dest_crc),
            source.size,
            bytes_read,
        )))
    } else {
        Ok(Proof::Different(format!(
            "computed {algorithm} of the source {} != destination's {}",
            source_crc.to_base64(),
            dest_crc.to_base64()
        )))
    }
}

fn dst_value(o: &ObjectInfo) -> &str {
    o.checksum.as_deref().unwrap_or("none")
}

fn render(c: StoredChecksum) -> String {
    match c {
        StoredChecksum::FullObject(d) => d.to_base64(),
        StoredChecksum::Composite { digest, parts } => parts.map_or_else(
            || digest.to_base64(),
            |n| format!("{}-{n}", digest.to_base64()),
        ),
    }
}

fn outcome(
    method: VerifyMethod,
    source: StoredChecksum,
    dest: StoredChecksum,
    size: u64,
    bytes_read: u64,
) -> VerifyOutcome {
    let algorithm = source.algorithm().as_s3_name().to_owned();
    VerifyOutcome {
        status: VerifyStatus::Verified,
        verdict: "identical".to_owned(),
        method,
        algorithm,
        source_checksum: render(source),
        destination_checksum: render(dest),
        size,
        compared: Vec::new(),
        bytes_read,
        requests: 0,
        checkpoint: None,
    }
}

/// Removes the copy this execution made so it cannot pass for a good one.
async fn delete_bad_copy(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    bad_etag: &str,
) -> String {
    // Without a version id the key may hold a newer, good copy by now: delete only what this
    // execution wrote (checked again just before deleting).
    if version_id.is_none() {
        match head_object_if_exists(client, bucket, key, None).await {
            Ok(Some(now)) if now.etag == bad_etag => {}
            Ok(_) => return "the key was overwritten meanwhile, so nothing was deleted".to_owned(),
            Err(e) => {
                return format!("the bad copy could not be re-checked before deleting it ({e})");
            }
        }
    }
    match client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .send()
        .await
    {
        Ok(_) => "the bad copy was deleted".to_owned(),
        Err(e) => format!(
            "deleting the bad copy failed too ({})",
            classify("DeleteObject", &e)
        ),
    }
}
