//! Live progress of a multipart copy in flight, read from S3 itself (ListMultipartUploads
//! for the destination key, then ListParts of its upload), so it reads the same on AWS as
//! locally and needs nothing from the copy step while it runs.

use serde::Serialize;
use serde_json::Value;

use super::states::Analysis;

/// Where a running copy stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The destination key.
    pub key: String,
    /// The multipart upload being written.
    pub upload_id: String,
    /// Parts uploaded.
    pub parts_done: u64,
    /// Parts the copy needs, when the part size is known.
    pub parts_total: Option<u64>,
    /// The part size the copy uses, once its checkpoint or its uploaded parts show it.
    pub part_size: Option<u64>,
    /// Bytes uploaded.
    pub bytes_done: u64,
    /// The object's size.
    pub bytes_total: u64,
    /// Bytes per second since the upload was created.
    pub bytes_per_second: Option<f64>,
    /// Seconds left at that rate.
    pub eta_seconds: Option<f64>,
}

/// What to look for: the destination of the copy the execution is running.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The destination bucket.
    pub bucket: String,
    /// The destination key.
    pub key: String,
    /// The source size.
    pub size: u64,
    /// The part size, when the state document says it.
    pub part_size: Option<u64>,
}

/// The copy an execution is in the middle of: its CopyObject state is entered and not left.
pub fn target(analysis: &Analysis) -> Option<Target> {
    let copy = analysis.states.iter().find(|s| s.name == "CopyObject")?;
    if copy.status != super::states::StateStatus::InProgress {
        return None;
    }
    let doc: Value = serde_json::from_str(copy.input.as_deref()?).ok()?;
    let job = &doc["job"];
    Some(Target {
        bucket: job["destination"]["bucket"].as_str()?.to_owned(),
        key: doc["copy"]["destinationKey"]
            .as_str()
            .or_else(|| job["destination"]["key"].as_str())?
            .to_owned(),
        size: job["source"]["size"].as_u64()?,
        part_size: doc["copy"]["checkpoint"]["partSize"].as_u64(),
    })
}

/// Rate and time left from what is done, the total and the seconds since the start.
pub fn estimate(done: u64, total: u64, seconds: f64) -> (Option<f64>, Option<f64>) {
    if seconds <= 0.0 || done == 0 {
        return (None, None);
    }
    let rate = done as f64 / seconds;
    (Some(rate), Some(total.saturating_sub(done) as f64 / rate))
}

/// Parts a copy of `size` bytes in parts of `part_size` needs.
pub fn parts_for(size: u64, part_size: u64) -> u64 {
    if part_size == 0 {
        return 0;
    }
    size.div_ceil(part_size).max(1)
}

/// The part size a copy in flight uses. Its checkpoint says it when there is one; otherwise
/// the parts already uploaded do, since the copy step may mirror a multipart source's own
/// parts instead of the configured size: part 1 has the full size, and so does any part but
/// the last, which is the largest one seen when two or more are. The configured size is the
/// guess only until a part shows the real one.
pub fn layout_part_size(
    checkpoint: Option<u64>,
    seen: &[(i32, u64)],
    configured: Option<u64>,
) -> Option<u64> {
    let first = seen.iter().find(|(n, _)| *n == 1).map(|(_, s)| *s);
    let largest = (seen.len() >= 2)
        .then(|| seen.iter().map(|(_, s)| *s).max())
        .flatten();
    checkpoint.or(first).or(largest).or(configured)
}

/// Reads the progress of the newest multipart upload of the target key; None when it has
/// none (not started yet, or finished).
pub async fn read(
    s3: &aws_sdk_s3::Client,
    target: &Target,
    part_size_hint: Option<u64>,
) -> Result<Option<Progress>, String> {
    let uploads = s3
        .list_multipart_uploads()
        .bucket(&target.bucket)
        .prefix(&target.key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "ListMultipartUploads: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    let newest = uploads
        .uploads()
        .iter()
        .filter(|u| u.key() == Some(target.key.as_str()))
        .max_by_key(|u| u.initiated().map(|t| t.as_nanos()));
    let Some(upload) = newest else {
        return Ok(None);
    };
    let upload_id = upload.upload_id().unwrap_or_default().to_owned();
    let (mut bytes, mut seen) = (0u64, Vec::new());
    let mut marker: Option<String> = None;
    loop {
        let out = s3
            .list_parts()
            .bucket(&target.bucket)
            .key(&target.key)
            .upload_id(&upload_id)
            .set_part_number_marker(marker)
            .send()
            .await
            .map_err(|e| format!("ListParts: {}", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        for p in out.parts() {
            let size = p.size().unwrap_or(0).max(0) as u64;
            bytes += size;
            seen.push((p.part_number().unwrap_or(0), size));
        }
        marker = out.next_part_number_marker().map(str::to_owned);
        if out.is_truncated() != Some(true) || marker.is_none() {
            break;
        }
    }
    let part_size = layout_part_size(target.part_size, &seen, None);
    let sized_by = part_size.or(part_size_hint);
    let seconds = upload
        .initiated()
        .map(|t| {
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9 - t.as_secs_f64()
        })
        .unwrap_or(0.0);
    let (rate, eta) = estimate(bytes, target.size, seconds);
    Ok(Some(Progress {
        key: target.key.clone(),
        upload_id,
        parts_done: seen.len() as u64,
        parts_total: sized_by.map(|p| parts_for(target.size, p)),
        part_size,
        bytes_done: bytes.min(target.size),
        bytes_total: target.size,
        bytes_per_second: rate,
        eta_seconds: eta,
    }))
}

/// `1.5 GiB`, `640.0 MiB`, `12 B`.
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut v, mut i) = (n, 0);
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// The terminal line `up` prints while a multipart copy runs.
pub fn line(p: &Progress) -> String {
    let total = p
        .parts_total
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    let mut out = format!(
        "{}/{total} parts, {} of {}",
        p.parts_done,
        human_bytes(p.bytes_done as f64),
        human_bytes(p.bytes_total as f64)
    );
    if let Some(rate) = p.bytes_per_second {
        out.push_str(&format!(", {}/s", human_bytes(rate)));
    }
    if let Some(eta) = p.eta_seconds {
        out.push_str(&format!(", ETA {eta:.0} s"));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::console::states::analyse;
    use serde_json::json;

    #[test]
    fn rate_and_eta() {
        assert_eq!(estimate(50, 150, 5.0), (Some(10.0), Some(10.0)));
        assert_eq!(estimate(0, 150, 5.0), (None, None));
        assert_eq!(estimate(10, 10, 0.0), (None, None));
    }

    #[test]
    fn the_terminal_line() {
        let p = Progress {
            key: "k".into(),
            upload_id: "u".into(),
            parts_done: 12,
            parts_total: Some(192),
            part_size: Some(16 * 1024 * 1024),
            bytes_done: 192 * 1024 * 1024,
            bytes_total: 3 * 1024 * 1024 * 1024,
            bytes_per_second: Some(100.0 * 1024.0 * 1024.0),
            eta_seconds: Some(28.7),
        };
        assert_eq!(
            line(&p),
            "12/192 parts, 192.0 MiB of 3.0 GiB, 100.0 MiB/s, ETA 29 s"
        );
        assert_eq!(human_bytes(12.0), "12 B");
    }

    #[test]
    fn the_part_size_is_the_uploads_own_once_a_part_shows_it() {
        const MIB: u64 = 1024 * 1024;
        let configured = Some(5 * MIB);
        assert_eq!(layout_part_size(None, &[], configured), configured);
        assert_eq!(
            layout_part_size(None, &[(1, 8 * MIB)], configured),
            Some(8 * MIB)
        );
        // Out of order, part 1 not yet done: the largest of two or more.
        assert_eq!(
            layout_part_size(None, &[(3, 8 * MIB), (13, 4 * MIB)], configured),
            Some(8 * MIB)
        );
        // A lone part other than 1 may be the short last one.
        assert_eq!(
            layout_part_size(None, &[(13, 4 * MIB)], configured),
            configured
        );
        assert_eq!(
            layout_part_size(Some(6 * MIB), &[(1, 8 * MIB)], configured),
            Some(6 * MIB)
        );
        assert_eq!(layout_part_size(None, &[], None), None);
    }

    #[test]
    fn part_counts() {
        assert_eq!(parts_for(10, 5), 2);
        assert_eq!(parts_for(11, 5), 3);
        assert_eq!(parts_for(0, 5), 1);
        assert_eq!(parts_for(3, 0), 0);
    }

    #[test]
    fn the_target_is_the_open_copy_state_and_its_checkpoint() {
        let input = json!({"job": {"source": {"size": 100}, "destination": {"bucket": "d", "key": "k"}},
                           "copy": {"destinationKey": "k2", "checkpoint": {"partSize": 10}}});
        let events = vec![
            json!({"id": 2, "timestamp": 0.0, "type": "TaskStateEntered",
            "stateEnteredEventDetails": {"name": "CopyObject", "input": input.to_string()}}),
        ];
        let t = target(&analyse(&events)).unwrap();
        assert_eq!(
            t,
            Target {
                bucket: "d".into(),
                key: "k2".into(),
                size: 100,
                part_size: Some(10)
            }
        );
        let mut done = events.clone();
        done.push(json!({"id": 3, "timestamp": 1.0, "type": "TaskStateExited",
            "stateExitedEventDetails": {"name": "CopyObject", "output": "{}"}}));
        assert_eq!(target(&analyse(&done)), None);
    }
}
