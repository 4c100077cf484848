//! What an `UploadPartCopy` can know without reading: when its range is exactly one stored
//! part of a multipart source (or the whole of a single-segment object), the part's MD5 (its
//! ETag), its CRC64NVME and its checksum in the upload's algorithm are already recorded, and
//! its bytes are one immutable segment file the new part can share through a hard link.
//!
//! A copy that mirrors its source's part layout (what copyflow's copy step does for a
//! uniform multipart source) therefore costs no byte read or written. Any other range, or a
//! value that was never recorded (a part stored before `crc64nvme` was kept, a checksum in
//! another algorithm), is left to the reading path.

use std::ops::Range;

use copyflow_checksum::{Algorithm, Digest};

use crate::store::model::{ObjectVersion, Segment};

/// A part whose hashes are all known from the source's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KnownPart {
    /// The source segment that holds exactly the part's bytes (to be linked, not read).
    pub segment: Segment,
    pub md5: [u8; 16],
    pub crc64nvme: u64,
    /// Base64, in the upload's algorithm; `None` when the upload has none.
    pub checksum: Option<String>,
}

/// The part `range` of `src` would be, if everything about it is recorded; `alg` is the
/// upload's checksum algorithm.
pub(super) fn known_part(
    src: &ObjectVersion,
    range: &Range<u64>,
    alg: Option<Algorithm>,
) -> Option<KnownPart> {
    match &src.parts {
        Some(parts) => {
            if parts.len() != src.segments.len() {
                return None;
            }
            let mut start = 0u64;
            for (part, segment) in parts.iter().zip(&src.segments) {
                let span = start..start + part.size;
                start = span.end;
                if span != *range {
                    continue;
                }
                if segment.size != part.size {
                    return None;
                }
                let source_alg = src
                    .checksum
                    .as_ref()
                    .and_then(|c| Algorithm::from_s3_name(&c.algorithm));
                let crc64nvme = part.crc64nvme?;
                let checksum = match alg {
                    None => None,
                    Some(Algorithm::Crc64Nvme) => Some(crc64_base64(crc64nvme)?),
                    Some(a) if source_alg == Some(a) => Some(part.checksum.clone()?),
                    Some(_) => return None,
                };
                return Some(KnownPart {
                    segment: segment.clone(),
                    md5: md5_of_etag(&part.etag)?,
                    crc64nvme,
                    checksum,
                });
            }
            None
        }
        None => {
            let [segment] = src.segments.as_slice() else {
                return None;
            };
            if *range != (0..src.size) || segment.size != src.size {
                return None;
            }
            let stored = src.checksum.as_ref();
            let checksum = match alg {
                None => None,
                Some(Algorithm::Crc64Nvme) => Some(crc64_base64(src.crc64nvme)?),
                Some(a) => Some(
                    stored
                        .filter(|c| {
                            c.checksum_type == "FULL_OBJECT"
                                && Algorithm::from_s3_name(&c.algorithm) == Some(a)
                        })?
                        .value
                        .clone(),
                ),
            };
            Some(KnownPart {
                segment: segment.clone(),
                md5: md5_of_etag(&src.etag)?,
                crc64nvme: src.crc64nvme,
                checksum,
            })
        }
    }
}

fn crc64_base64(value: u64) -> Option<String> {
    Digest::from_crc(Algorithm::Crc64Nvme, value)
        .ok()
        .map(|d| d.to_base64())
}

/// The MD5 an ETag is, when it is one (32 hex digits; a multipart `…-N` ETag is not).
fn md5_of_etag(etag: &str) -> Option<[u8; 16]> {
    if etag.len() != 32 {
        return None;
    }
    let bytes = hex_simd::decode_to_vec(etag.as_bytes()).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use copyflow_checksum::Hasher;

    use super::*;
    use crate::store::model::{PartRecord, StoredChecksum};

    fn md5(data: &[u8]) -> [u8; 16] {
        let mut h = Hasher::new(&[], true);
        h.update(data);
        h.finish().md5().unwrap()
    }

    fn crc64(data: &[u8]) -> u64 {
        Digest::compute(Algorithm::Crc64Nvme, data)
            .as_u64()
            .unwrap()
    }

    fn segment(name: &str, size: usize) -> Segment {
        Segment {
            blob: name.to_owned(),
            size: size as u64,
            inline: false,
            pending: None,
        }
    }

    fn base(size: u64, etag: String, crc64nvme: u64) -> ObjectVersion {
        ObjectVersion {
            version_id: "null".into(),
            delete_marker: false,
            last_modified_ms: 0,
            size,
            etag,
            segments: vec![],
            headers: Default::default(),
            metadata: Default::default(),
            tags: vec![],
            storage_class: "STANDARD".into(),
            checksum: None,
            crc64nvme,
            parts: None,
        }
    }

    /// A multipart source of `parts`, COMPOSITE CRC32, every part recorded in full.
    fn multipart(parts: &[&[u8]]) -> ObjectVersion {
        let all = parts.concat();
        let mut v = base(all.len() as u64, "0123-2".into(), crc64(&all));
        v.segments = parts
            .iter()
            .enumerate()
            .map(|(i, p)| segment(&format!("s{i}"), p.len()))
            .collect();
        v.checksum = Some(StoredChecksum {
            algorithm: "CRC32".into(),
            checksum_type: "COMPOSITE".into(),
            value: "unused-2".into(),
        });
        v.parts = Some(
            parts
                .iter()
                .zip(1..)
                .map(|(p, number)| PartRecord {
                    number,
                    size: p.len() as u64,
                    etag: copyflow_checksum::md5_etag(&md5(p)),
                    checksum: Some(Digest::compute(Algorithm::Crc32, p).to_base64()),
                    crc64nvme: Some(crc64(p)),
                })
                .collect(),
        );
        v
    }

    #[test]
    fn a_range_that_is_one_source_part_is_known_in_every_algorithm_the_part_has() {
        let src = multipart(&[b"first part", b"second"]);
        let second = known_part(&src, &(10..16), Some(Algorithm::Crc32)).unwrap();
        assert_eq!(second.segment, segment("s1", 6));
        assert_eq!(second.md5, md5(b"second"));
        assert_eq!(second.crc64nvme, crc64(b"second"));
        assert_eq!(
            second.checksum,
            Some(Digest::compute(Algorithm::Crc32, b"second").to_base64())
        );
        let crc64_upload = known_part(&src, &(0..10), Some(Algorithm::Crc64Nvme)).unwrap();
        assert_eq!(
            crc64_upload.checksum,
            Some(Digest::compute(Algorithm::Crc64Nvme, b"first part").to_base64())
        );
        assert_eq!(known_part(&src, &(0..10), None).unwrap().checksum, None);
    }

    #[test]
    fn ranges_across_or_inside_parts_and_unrecorded_values_are_left_to_read() {
        let src = multipart(&[b"first part", b"second"]);
        for range in [0..16, 0..9, 1..10, 9..16, 10..15] {
            assert_eq!(
                known_part(&src, &range, Some(Algorithm::Crc32)),
                None,
                "{range:?}"
            );
        }
        // Another algorithm than the parts were uploaded with.
        assert_eq!(known_part(&src, &(0..10), Some(Algorithm::Crc32c)), None);
        // A part recorded before its CRC64NVME was kept.
        let mut old = src.clone();
        old.parts.as_mut().unwrap()[0].crc64nvme = None;
        assert_eq!(known_part(&old, &(0..10), None), None);
        // Segments that do not match the parts.
        let mut odd = src;
        odd.segments.pop();
        assert_eq!(known_part(&odd, &(0..10), None), None);
    }

    #[test]
    fn a_whole_single_segment_object_is_known_from_its_etag_and_stored_checksum() {
        let data = b"single put";
        let mut src = base(10, copyflow_checksum::md5_etag(&md5(data)), crc64(data));
        src.segments = vec![segment("only", 10)];
        src.checksum = Some(StoredChecksum {
            algorithm: "CRC32C".into(),
            checksum_type: "FULL_OBJECT".into(),
            value: Digest::compute(Algorithm::Crc32c, data).to_base64(),
        });
        let whole = known_part(&src, &(0..10), Some(Algorithm::Crc32c)).unwrap();
        assert_eq!(whole.md5, md5(data));
        assert_eq!(
            whole.checksum,
            src.checksum.as_ref().map(|c| c.value.clone())
        );
        assert_eq!(known_part(&src, &(0..9), Some(Algorithm::Crc32c)), None);
        assert_eq!(known_part(&src, &(0..10), Some(Algorithm::Sha256)), None);
        // A copy of a multipart object: one ETag but several segments.
        let mut linked = src.clone();
        linked.segments = vec![segment("a", 4), segment("b", 6)];
        assert_eq!(known_part(&linked, &(0..10), None), None);
        // An ETag that is not an MD5 (SSE-KMS style, or a multipart ETag).
        let mut opaque = src;
        opaque.etag = "abc-3".into();
        assert_eq!(known_part(&opaque, &(0..10), None), None);
    }
}
