//! The copy card: what the copy and the verification did to one object, read from the state
//! document the steps return (`job`, `copy`, `verify`). Pure.

use serde::Serialize;
use serde_json::Value;

use super::states::Analysis;

/// One side of the copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// The bucket.
    pub bucket: Option<String>,
    /// The key.
    pub key: Option<String>,
    /// The version read or written.
    pub version_id: Option<String>,
    /// The checksum S3 holds for it (base64).
    pub checksum: Option<String>,
}

/// The card.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyCard {
    /// Object size in bytes.
    pub bytes: Option<u64>,
    /// `CopyObject`, `multipart` or `none` (the destination already held it).
    pub method: Option<String>,
    /// Parts of a multipart copy, and parts done.
    pub parts_total: Option<u64>,
    /// Parts copied so far.
    pub parts_done: Option<u64>,
    /// The part size of a multipart copy.
    pub part_size_bytes: Option<u64>,
    /// `copied`, `already-present` or `in-progress`.
    pub copy_status: Option<String>,
    /// The source object.
    pub source: Side,
    /// The destination object.
    pub destination: Side,
    /// The checksum algorithm verification compared in.
    pub algorithm: Option<String>,
    /// How it was verified (`stored-checksums`, `computed`, ...).
    pub verify_method: Option<String>,
    /// The verdict, in words.
    pub verdict: Option<String>,
    /// `verified`, `in-progress`, ...
    pub verify_status: Option<String>,
    /// Bytes verification read (0 when S3's stored checksums sufficed).
    pub bytes_read: Option<u64>,
    /// What else verification compared (size, tags, metadata, ...).
    pub compared: Vec<String>,
    /// S3 requests of the copy and verify steps.
    pub requests: Option<u64>,
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// The newest state document that carries a `copy` section (or at least a `job`), from the
/// execution's output or its states' outputs and inputs, latest first.
fn document(output: Option<&str>, analysis: &Analysis) -> Option<Value> {
    let candidates = output.into_iter().chain(
        ["VerifyCopy", "CopyObject", "IsCopyNeeded"]
            .iter()
            .filter_map(|name| analysis.states.iter().find(|s| s.name == *name))
            .flat_map(|s| [s.output.as_deref(), s.input.as_deref()])
            .flatten(),
    );
    let docs: Vec<Value> = candidates
        .filter_map(|t| serde_json::from_str::<Value>(t).ok())
        .collect();
    docs.iter()
        .find(|d| d["copy"].is_object())
        .or_else(|| docs.iter().find(|d| d["job"].is_object()))
        .cloned()
}

/// The card for an execution, or None when no step got as far as a copy job.
pub fn card(output: Option<&str>, analysis: &Analysis) -> Option<CopyCard> {
    let doc = document(output, analysis)?;
    let (job, copy, verify) = (&doc["job"], &doc["copy"], &doc["verify"]);
    let method = s(&copy["method"]);
    let requests = match (copy["requests"].as_u64(), verify["requests"].as_u64()) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    Some(CopyCard {
        bytes: copy["source"]["size"]
            .as_u64()
            .or_else(|| job["source"]["size"].as_u64()),
        parts_total: copy["partsTotal"].as_u64().filter(|_| method.is_some()),
        parts_done: copy["partsDone"].as_u64().filter(|_| method.is_some()),
        part_size_bytes: copy["partSizeBytes"]
            .as_u64()
            .or_else(|| copy["checkpoint"]["partSize"].as_u64()),
        method,
        copy_status: s(&copy["status"]),
        source: Side {
            bucket: s(&job["source"]["bucket"]),
            key: s(&job["source"]["key"]),
            version_id: s(&copy["source"]["versionId"]).or_else(|| s(&job["source"]["versionId"])),
            checksum: s(&verify["sourceChecksum"]).or_else(|| s(&copy["source"]["checksum"])),
        },
        destination: Side {
            bucket: s(&job["destination"]["bucket"]),
            key: s(&copy["destinationKey"]).or_else(|| s(&job["destination"]["key"])),
            version_id: s(&copy["destination"]["versionId"]),
            checksum: s(&verify["destinationChecksum"])
                .or_else(|| s(&copy["destination"]["checksum"])),
        },
        algorithm: s(&verify["algorithm"]).or_else(|| s(&copy["destination"]["checksumAlgorithm"])),
        verify_method: s(&verify["method"]),
        verdict: s(&verify["verdict"]),
        verify_status: s(&verify["status"]),
        bytes_read: verify["bytesRead"].as_u64(),
        compared: verify["compared"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(s)
            .collect(),
        requests,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::console::states::analyse;
    use serde_json::json;

    #[test]
    fn a_verified_multipart_copy() {
        let output = json!({
            "job": {"source": {"bucket": "src", "key": "a/b", "size": 3}, "destination": {"bucket": "dst", "key": "a/b"}},
            "copy": {"status": "copied", "method": "multipart", "partsTotal": 3, "partsDone": 3,
                     "partSizeBytes": 5242880, "requests": 6, "destinationKey": "a/b",
                     "source": {"size": 3, "versionId": "v1", "checksum": "AAA="},
                     "destination": {"versionId": "v9", "checksum": "BBB=", "checksumAlgorithm": "CRC64NVME"}},
            "verify": {"status": "verified", "verdict": "identical", "method": "stored-checksums",
                       "algorithm": "CRC64NVME", "sourceChecksum": "CCC=", "destinationChecksum": "CCC=",
                       "bytesRead": 0, "compared": ["size", "tags"], "requests": 2}
        })
        .to_string();
        let c = card(Some(&output), &analyse(&[])).unwrap();
        assert_eq!(c.method.as_deref(), Some("multipart"));
        assert_eq!(
            (c.parts_total, c.parts_done, c.part_size_bytes),
            (Some(3), Some(3), Some(5242880))
        );
        assert_eq!(c.source.version_id.as_deref(), Some("v1"));
        assert_eq!(c.destination.version_id.as_deref(), Some("v9"));
        assert_eq!(c.source.checksum, c.destination.checksum);
        assert_eq!(c.bytes_read, Some(0));
        assert_eq!(c.requests, Some(8));
        assert_eq!(c.compared, ["size", "tags"]);
    }

    #[test]
    fn a_copy_in_progress_is_read_from_the_copy_state_and_its_checkpoint() {
        let events = vec![
            json!({"id": 1, "timestamp": 0.0, "type": "TaskStateEntered",
            "stateEnteredEventDetails": {"name": "CopyObject", "input": "{}"}}),
            json!({"id": 2, "timestamp": 0.0, "type": "TaskStateExited",
            "stateExitedEventDetails": {"name": "CopyObject", "output": json!({
                "job": {"source": {"bucket": "s", "key": "k", "size": 10}, "destination": {"bucket": "d", "key": "k"}},
                "copy": {"status": "in-progress", "method": "multipart", "partsTotal": 4, "partsDone": 1,
                         "checkpoint": {"partSize": 5242880}}}).to_string()}}),
        ];
        let c = card(None, &analyse(&events)).unwrap();
        assert_eq!(c.copy_status.as_deref(), Some("in-progress"));
        assert_eq!(c.part_size_bytes, Some(5242880));
        assert_eq!(c.verify_status, None);
    }

    #[test]
    fn no_job_no_card() {
        assert_eq!(
            card(Some("{\"error\":\"KeyRejected\"}"), &analyse(&[])),
            None
        );
    }
}
