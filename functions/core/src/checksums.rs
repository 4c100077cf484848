//! Checksums as the copy and verify steps see them: values S3 reports, and whether two of them
//! prove a copy identical.
//!
//! The math (CRC64NVME with the NVMe polynomial, CRC combining, composite checksums, base64
//! header form) lives in `copyflow-checksum` and is re-exported from the crate root; this module
//! adds the rules verification needs (S3 User Guide, "Checking object integrity";
//! `docs/aws-facts.md#full-object-and-composite-checksums` and `#etags`):
//!
//! - **Never compare ETags.** They depend on part layout and encryption, not only on bytes.
//! - A `FULL_OBJECT` checksum is a checksum of the bytes, whatever the upload method: two of the
//!   same algorithm prove identity or difference.
//! - A `COMPOSITE` checksum (`<base64>-<N>`) is a checksum of the parts' checksums. Two equal
//!   ones prove identity; two different ones prove nothing (the part layouts may differ), and a
//!   composite never compares with a full-object value.
//! - S3 stores one algorithm per object. Objects written before December 2024 may have none:
//!   then verify computes CRC64NVME itself from ranged reads, combined with [`RangeCombiner`]
//!   (CRCs are linear, so ranges read in parallel combine without re-reading).

use std::collections::BTreeMap;
use std::fmt;

use copyflow_checksum::{Algorithm, ChecksumError, ChecksumType, Digest, combine_crc};

use crate::StepError;
use crate::plan::PartRange;

/// CRC64NVME of `data`: S3's default checksum, always `FULL_OBJECT`.
#[cfg(test)]
fn crc64nvme(data: &[u8]) -> Digest {
    Digest::compute(Algorithm::Crc64Nvme, data)
}

/// CRC64NVME of `data` in the form S3 returns in `x-amz-checksum-crc64nvme` /
/// `ChecksumCRC64NVME`: padded base64 of the 8 big-endian bytes (`AAAAAAAAAAA=` for nothing).
#[cfg(test)]
fn crc64nvme_base64(data: &[u8]) -> String {
    crc64nvme(data).to_base64()
}

/// A checksum S3 reports for a whole object, in comparable form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoredChecksum {
    /// A checksum of the object's bytes (`x-amz-checksum-type: FULL_OBJECT`, or any
    /// single-part object).
    FullObject(Digest),
    /// A checksum of the parts' checksums (`COMPOSITE`), reported as `<base64>-<parts>`.
    Composite {
        /// The checksum of the concatenated part checksums.
        digest: Digest,
        /// The part count from the `-N` suffix; `None` when S3 reported the type without the
        /// suffix.
        parts: Option<u32>,
    },
}

impl StoredChecksum {
    /// Parses one `x-amz-checksum-<algorithm>` value together with `x-amz-checksum-type`
    /// (`FULL_OBJECT` / `COMPOSITE`, any case, or absent).
    ///
    /// A `-N` suffix means composite (`-` is not a base64 character). Without a type, a value
    /// without suffix is full-object: single-part objects are always `FULL_OBJECT`, and S3
    /// adds the suffix to composite values. A `-N` value declared `FULL_OBJECT`, or an unknown
    /// type name, is an error.
    pub fn parse(
        algorithm: Algorithm,
        value: &str,
        checksum_type: Option<&str>,
    ) -> Result<Self, ChecksumError> {
        let declared = checksum_type.map(str::parse::<ChecksumType>).transpose()?;
        if value.contains('-') {
            if declared == Some(ChecksumType::FullObject) {
                return Err(ChecksumError::InvalidComposite(format!(
                    "{value} (declared FULL_OBJECT)"
                )));
            }
            let (digest, parts) = copyflow_checksum::parse_composite(algorithm, value)?;
            return Ok(Self::Composite {
                digest,
                parts: Some(parts),
            });
        }
        let digest = Digest::from_base64(algorithm, value)?;
        Ok(match declared {
            Some(ChecksumType::Composite) => Self::Composite {
                digest,
                parts: None,
            },
            Some(ChecksumType::FullObject) | None => Self::FullObject(digest),
        })
    }

    /// The algorithm of the value.
    pub const fn algorithm(&self) -> Algorithm {
        self.digest().algorithm()
    }

    /// The digest, without the part count.
    pub const fn digest(&self) -> &Digest {
        match self {
            Self::FullObject(digest) | Self::Composite { digest, .. } => digest,
        }
    }

    /// S3's checksum type of the value.
    pub const fn checksum_type(&self) -> ChecksumType {
        match self {
            Self::FullObject(_) => ChecksumType::FullObject,
            Self::Composite { .. } => ChecksumType::Composite,
        }
    }

    /// Whether this is the value copyflow's own copies carry (full-object CRC64NVME), which
    /// proves a copy with zero bytes read when the source has the same.
    pub fn is_full_object_crc64nvme(&self) -> bool {
        matches!(self, Self::FullObject(d) if d.algorithm() == Algorithm::Crc64Nvme)
    }
}

impl fmt::Display for StoredChecksum {
    /// The S3 form with algorithm and type, e.g. `CRC64NVME FULL_OBJECT AAAAAAAAAAA=` or
    /// `SHA256 COMPOSITE q1w2...=-12`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FullObject(d) => write!(f, "{} FULL_OBJECT {d}", d.algorithm()),
            Self::Composite {
                digest,
                parts: Some(n),
            } => write!(f, "{} COMPOSITE {digest}-{n}", digest.algorithm()),
            Self::Composite {
                digest,
                parts: None,
            } => write!(f, "{} COMPOSITE {digest}", digest.algorithm()),
        }
    }
}

impl fmt::Debug for StoredChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredChecksum({self})")
    }
}

/// The checksum fields of a `HeadObject` / `GetObject` / `GetObjectAttributes` response (read
/// with `ChecksumMode=ENABLED`), borrowed as S3 sends them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChecksumFields<'a> {
    /// `x-amz-checksum-crc64nvme`.
    pub crc64nvme: Option<&'a str>,
    /// `x-amz-checksum-crc32c`.
    pub crc32c: Option<&'a str>,
    /// `x-amz-checksum-crc32`.
    pub crc32: Option<&'a str>,
    /// `x-amz-checksum-sha256`.
    pub sha256: Option<&'a str>,
    /// `x-amz-checksum-sha1`.
    pub sha1: Option<&'a str>,
    /// `x-amz-checksum-type`.
    pub checksum_type: Option<&'a str>,
}

impl ChecksumFields<'_> {
    /// The stored checksum, `None` when the object has none (e.g. written before December
    /// 2024, or read without `ChecksumMode=ENABLED`).
    ///
    /// S3 stores one algorithm per object; should a response carry several, the first of
    /// CRC64NVME, CRC32C, CRC32, SHA256, SHA1 is taken (CRC64NVME is what copyflow's copies
    /// carry, so it is the one most likely to compare).
    pub(crate) fn stored(&self) -> Result<Option<StoredChecksum>, ChecksumError> {
        let candidates = [
            (Algorithm::Crc64Nvme, self.crc64nvme),
            (Algorithm::Crc32c, self.crc32c),
            (Algorithm::Crc32, self.crc32),
            (Algorithm::Sha256, self.sha256),
            (Algorithm::Sha1, self.sha1),
        ];
        candidates
            .into_iter()
            .find_map(|(algorithm, value)| value.map(|v| (algorithm, v)))
            .map(|(algorithm, value)| StoredChecksum::parse(algorithm, value, self.checksum_type))
            .transpose()
    }
}

/// What comparing two stored checksums proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// The objects hold the same bytes.
    Identical,
    /// The objects hold different bytes.
    Different,
    /// The values cannot prove either; verify must compute a checksum instead.
    NotComparable {
        /// Why, for the step output.
        reason: String,
    },
}

/// Compares the checksum of a copy's source with its destination's.
///
/// - different algorithms: not comparable;
/// - full-object vs full-object: identical or different;
/// - composite vs composite: identical when equal (same part checksums in the same order),
///   not comparable otherwise: the part layouts may differ (different part sizes give
///   different composites for the same bytes), and neither side says;
/// - composite vs full-object: not comparable.
pub(crate) fn compare(source: StoredChecksum, destination: StoredChecksum) -> Comparison {
    if source.algorithm() != destination.algorithm() {
        return Comparison::NotComparable {
            reason: format!(
                "the source has a {} checksum, the destination a {} one",
                source.algorithm(),
                destination.algorithm()
            ),
        };
    }
    match (source, destination) {
        (StoredChecksum::FullObject(a), StoredChecksum::FullObject(b)) => {
            if a == b {
                Comparison::Identical
            } else {
                Comparison::Different
            }
        }
        (
            StoredChecksum::Composite {
                digest: a,
                parts: parts_a,
            },
            StoredChecksum::Composite {
                digest: b,
                parts: parts_b,
            },
        ) => {
            let same_count = match (parts_a, parts_b) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            if a == b && same_count {
                Comparison::Identical
            } else {
                Comparison::NotComparable {
                    reason: format!(
                        "composite checksums differ ({source} vs {destination}), which may be \
                         a different part layout rather than different bytes"
                    ),
                }
            }
        }
        _ => Comparison::NotComparable {
            reason: format!(
                "the source checksum is {}, the destination's {}: a composite checksum only \
                 compares with another composite",
                source.checksum_type(),
                destination.checksum_type()
            ),
        },
    }
}

/// One part of a multipart object as `GetObjectAttributes` (`ObjectParts`) reports it: its
/// number, size and stored part checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartCrc {
    /// The part number (S3 allows gaps: 1, 3, 7 is a valid upload).
    pub number: i32,
    /// The part's size in bytes.
    pub size: u64,
    /// The part's CRC as S3 stored it.
    pub checksum: Digest,
}

/// The full-object CRC of a multipart object from its parts' CRCs and sizes, with no byte
/// read: `CRC(p1 || p2 || ...)` follows from `CRC(pi)` and `len(pi)` (CRCs combine).
///
/// The part list is checked against what S3 says about the whole object before it is
/// trusted: the parts must be in ascending part-number order, all in `algorithm`, and add
/// up to `object_size`; and the object's own stored checksum `claim`, if given, must agree:
/// a `COMPOSITE` claim is the CRC over the concatenated part CRCs (with `N` parts when it
/// has a `-N`), a `FULL_OBJECT` claim must equal the combined value. A part list that does
/// not belong to the object fails (the error says why) and the caller reads the bytes
/// instead.
pub(crate) fn full_object_crc_from_parts(
    algorithm: Algorithm,
    parts: &[PartCrc],
    object_size: u64,
    claim: Option<&StoredChecksum>,
) -> Result<Digest, String> {
    if !algorithm.is_crc() {
        return Err(format!("{algorithm} part checksums do not combine"));
    }
    if parts.is_empty() {
        return Err("no parts listed".to_owned());
    }
    let mut total = 0u64;
    let mut previous = 0;
    for part in parts {
        if part.number <= previous {
            return Err(format!("part {} listed after part {previous}", part.number));
        }
        previous = part.number;
        if part.checksum.algorithm() != algorithm {
            return Err(format!(
                "part {} has a {} checksum, the object {algorithm}",
                part.number,
                part.checksum.algorithm()
            ));
        }
        total = total
            .checked_add(part.size)
            .ok_or_else(|| "part sizes overflow".to_owned())?;
    }
    if total != object_size {
        return Err(format!(
            "{} parts add up to {total} bytes, the object has {object_size}",
            parts.len()
        ));
    }
    let with_sizes: Vec<(Digest, u64)> = parts.iter().map(|p| (p.checksum, p.size)).collect();
    let combined = copyflow_checksum::combine_full_object(algorithm, &with_sizes)
        .map_err(|e| e.to_string())?;
    match claim {
        None => {}
        Some(c) if c.algorithm() != algorithm => {
            return Err(format!(
                "the object's checksum is {}, its parts' {algorithm}",
                c.algorithm()
            ));
        }
        Some(StoredChecksum::Composite { digest, parts: n }) => {
            if let Some(n) = n
                && usize::try_from(*n).ok() != Some(parts.len())
            {
                return Err(format!(
                    "the composite checksum counts {n} parts, {} are listed",
                    parts.len()
                ));
            }
            let digests: Vec<Digest> = parts.iter().map(|p| p.checksum).collect();
            let over_parts = copyflow_checksum::composite_digest(algorithm, &digests)
                .map_err(|e| e.to_string())?;
            if over_parts != *digest {
                return Err(format!(
                    "the listed part checksums give the composite {over_parts}, the object \
                     claims {digest}"
                ));
            }
        }
        Some(StoredChecksum::FullObject(digest)) if combined != *digest => {
            return Err(format!(
                "the listed parts combine to {combined}, the object claims {digest}"
            ));
        }
        Some(StoredChecksum::FullObject(_)) => {}
    }
    Ok(combined)
}

/// The CRC of bytes `0..next_start` of an object: where a computed checksum stands between
/// two invocations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeProgress {
    /// CRC of the bytes so far.
    pub crc: u64,
    /// The first byte not yet read.
    pub next_start: u64,
}

/// Combines the CRCs of adjacent byte ranges of one object into the object's full-object CRC,
/// accepting ranges in any order (parallel ranged reads finish out of order) and holding only
/// the ranges that arrived ahead of the next expected one, so memory stays bounded by the
/// read concurrency.
#[derive(Clone, Debug)]
pub(crate) struct RangeCombiner {
    algorithm: Algorithm,
    /// CRC of bytes `0..next_start`.
    crc: u64,
    /// The first byte not yet folded in.
    next_start: u64,
    /// Ranges that arrived early: start -> (length, CRC).
    pending: BTreeMap<u64, (u64, u64)>,
}

impl RangeCombiner {
    /// A combiner for a CRC algorithm (CRC32, CRC32C or CRC64NVME); SHA values cannot be
    /// combined.
    pub(crate) fn new(algorithm: Algorithm) -> Result<Self, ChecksumError> {
        if !algorithm.is_crc() {
            return Err(ChecksumError::NotCrc(algorithm));
        }
        Ok(Self {
            algorithm,
            crc: 0,
            next_start: 0,
            pending: BTreeMap::new(),
        })
    }

    /// Adds the CRC of one range. Errors (`Internal`: a caller bug) on a digest of another
    /// algorithm, or a range that overlaps one already added.
    pub(crate) fn add(&mut self, range: PartRange, digest: Digest) -> Result<(), StepError> {
        if digest.algorithm() != self.algorithm {
            return Err(StepError::Internal(format!(
                "range {}: expected a {} checksum, got {}",
                range.range_header(),
                self.algorithm,
                digest.algorithm()
            )));
        }
        let crc = digest
            .as_u64()
            .ok_or_else(|| StepError::Internal(format!("{} is not a CRC", digest.algorithm())))?;
        let overlaps_pending = self
            .pending
            .range(..=range.end_inclusive)
            .next_back()
            .is_some_and(|(&start, &(len, _))| start + len > range.start);
        if range.start < self.next_start || overlaps_pending {
            return Err(StepError::Internal(format!(
                "range {} overlaps a range already combined",
                range.range_header()
            )));
        }
        self.pending.insert(range.start, (range.len(), crc));
        while let Some((len, crc)) = self.pending.remove(&self.next_start) {
            self.crc = combine_crc(self.algorithm, self.crc, crc, len)
                .map_err(|e| StepError::Internal(e.to_string()))?;
            self.next_start += len;
        }
        Ok(())
    }

    /// How many bytes from the start are combined so far.
    pub(crate) const fn combined_bytes(&self) -> u64 {
        self.next_start
    }

    /// Continues from a [`RangeProgress`] saved by an earlier invocation.
    pub(crate) fn resume(
        algorithm: Algorithm,
        progress: RangeProgress,
    ) -> Result<Self, ChecksumError> {
        let mut c = Self::new(algorithm)?;
        Digest::from_crc(algorithm, progress.crc)?;
        c.crc = progress.crc;
        c.next_start = progress.next_start;
        Ok(c)
    }

    /// The contiguous prefix combined so far (ranges that arrived ahead of a gap are dropped:
    /// they are read again on resume).
    pub(crate) const fn progress(&self) -> RangeProgress {
        RangeProgress {
            crc: self.crc,
            next_start: self.next_start,
        }
    }

    /// The full-object CRC, once every byte of an object of `size` bytes was added. Errors
    /// (`Internal`) when a range is missing or extends past `size`.
    pub(crate) fn finish(self, size: u64) -> Result<Digest, StepError> {
        if self.next_start != size || !self.pending.is_empty() {
            return Err(StepError::Internal(format!(
                "ranges combine to bytes 0..{} of a {size}-byte object ({} ranges not \
                 adjacent to them)",
                self.next_start,
                self.pending.len()
            )));
        }
        Digest::from_crc(self.algorithm, self.crc).map_err(|e| StepError::Internal(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::plan::ranges;
    use proptest::prelude::*;

    #[test]
    fn crc64nvme_of_known_inputs_matches_s3() {
        // The CRC of nothing, as S3 reports it for an empty object, and the CRC catalogue's
        // check value of CRC-64/NVME.
        assert_eq!(crc64nvme_base64(b""), "AAAAAAAAAAA=");
        assert_eq!(
            crc64nvme(b"123456789").as_u64(),
            Some(0xAE8B_1486_0A79_9888)
        );
    }

    #[test]
    fn parses_a_full_object_value_with_and_without_a_type() {
        let value = crc64nvme_base64(b"abc");
        for checksum_type in [None, Some("FULL_OBJECT"), Some("full_object")] {
            let parsed =
                StoredChecksum::parse(Algorithm::Crc64Nvme, &value, checksum_type).unwrap();
            assert_eq!(parsed, StoredChecksum::FullObject(crc64nvme(b"abc")));
            assert!(parsed.is_full_object_crc64nvme());
        }
    }

    #[test]
    fn parses_a_composite_value_with_its_part_count() {
        let digest = Digest::compute(Algorithm::Sha256, b"parts");
        let value = format!("{}-12", digest.to_base64());
        let parsed = StoredChecksum::parse(Algorithm::Sha256, &value, Some("COMPOSITE")).unwrap();
        assert_eq!(
            parsed,
            StoredChecksum::Composite {
                digest,
                parts: Some(12)
            }
        );
        assert_eq!(parsed.to_string(), format!("SHA256 COMPOSITE {value}"));
        let without_type = StoredChecksum::parse(Algorithm::Sha256, &value, None).unwrap();
        assert_eq!(without_type, parsed);
    }

    #[test]
    fn a_composite_type_without_suffix_has_an_unknown_part_count() {
        let digest = Digest::compute(Algorithm::Crc32, b"x");
        let parsed =
            StoredChecksum::parse(Algorithm::Crc32, &digest.to_base64(), Some("COMPOSITE"))
                .unwrap();
        assert_eq!(
            parsed,
            StoredChecksum::Composite {
                digest,
                parts: None
            }
        );
    }

    #[test]
    fn rejects_inconsistent_or_malformed_values() {
        let digest = Digest::compute(Algorithm::Crc32, b"x").to_base64();
        assert!(
            StoredChecksum::parse(
                Algorithm::Crc32,
                &format!("{digest}-3"),
                Some("FULL_OBJECT")
            )
            .is_err()
        );
        assert!(StoredChecksum::parse(Algorithm::Crc32, &digest, Some("PARTIAL")).is_err());
        assert!(StoredChecksum::parse(Algorithm::Crc32, "not base64!", None).is_err());
        assert!(StoredChecksum::parse(Algorithm::Crc64Nvme, &digest, None).is_err());
        assert!(StoredChecksum::parse(Algorithm::Crc32, &format!("{digest}-0"), None).is_err());
    }

    #[test]
    fn fields_prefer_crc64nvme_and_report_no_checksum_as_none() {
        assert_eq!(ChecksumFields::default().stored().unwrap(), None);
        let crc64 = crc64nvme_base64(b"a");
        let crc32 = Digest::compute(Algorithm::Crc32, b"a").to_base64();
        let fields = ChecksumFields {
            crc32: Some(&crc32),
            crc64nvme: Some(&crc64),
            checksum_type: Some("FULL_OBJECT"),
            ..ChecksumFields::default()
        };
        assert_eq!(
            fields.stored().unwrap(),
            Some(StoredChecksum::FullObject(crc64nvme(b"a")))
        );
    }

    fn full(data: &[u8]) -> StoredChecksum {
        StoredChecksum::FullObject(crc64nvme(data))
    }

    fn composite(algorithm: Algorithm, seed: &[u8], parts: u32) -> StoredChecksum {
        StoredChecksum::Composite {
            digest: Digest::compute(algorithm, seed),
            parts: Some(parts),
        }
    }

    #[test]
    fn equal_full_object_checksums_are_identical_and_unequal_ones_different() {
        assert_eq!(compare(full(b"a"), full(b"a")), Comparison::Identical);
        assert_eq!(compare(full(b"a"), full(b"b")), Comparison::Different);
    }

    #[test]
    fn different_algorithms_are_not_comparable() {
        let crc32 = StoredChecksum::FullObject(Digest::compute(Algorithm::Crc32, b"a"));
        assert!(matches!(
            compare(crc32, full(b"a")),
            Comparison::NotComparable { reason } if reason.contains("CRC32") && reason.contains("CRC64NVME")
        ));
    }

    #[test]
    fn composite_checksums_only_prove_identity() {
        let a = composite(Algorithm::Sha256, b"a", 3);
        assert_eq!(compare(a, a), Comparison::Identical);
        assert!(matches!(
            compare(a, composite(Algorithm::Sha256, b"b", 3)),
            Comparison::NotComparable { .. }
        ));
        assert!(matches!(
            compare(a, composite(Algorithm::Sha256, b"a", 4)),
            Comparison::NotComparable { .. }
        ));
    }

    #[test]
    fn composite_never_compares_with_full_object() {
        let crc32_full = StoredChecksum::FullObject(Digest::compute(Algorithm::Crc32, b"a"));
        let crc32_composite = composite(Algorithm::Crc32, b"a", 2);
        for (a, b) in [(crc32_full, crc32_composite), (crc32_composite, crc32_full)] {
            assert!(
                matches!(compare(a, b), Comparison::NotComparable { reason } if reason.contains("composite"))
            );
        }
    }

    #[test]
    fn the_combiner_refuses_sha_overlaps_and_gaps() {
        assert!(RangeCombiner::new(Algorithm::Sha256).is_err());
        let data = b"0123456789";
        let r = |number, start, end_inclusive| PartRange {
            number,
            start,
            end_inclusive,
        };
        let mut combiner = RangeCombiner::new(Algorithm::Crc64Nvme).unwrap();
        combiner.add(r(1, 0, 4), crc64nvme(&data[0..5])).unwrap();
        assert!(combiner.add(r(9, 3, 6), crc64nvme(&data[3..7])).is_err());
        assert!(
            combiner
                .add(r(2, 5, 9), Digest::compute(Algorithm::Crc32, &data[5..]))
                .is_err()
        );
        combiner.add(r(3, 8, 9), crc64nvme(&data[8..])).unwrap();
        assert!(combiner.add(r(4, 7, 8), crc64nvme(&data[7..9])).is_err());
        assert_eq!(combiner.combined_bytes(), 5);
        assert!(combiner.clone().finish(10).is_err());
        combiner.add(r(2, 5, 7), crc64nvme(&data[5..8])).unwrap();
        assert_eq!(combiner.finish(10).unwrap(), crc64nvme(data));
    }

    #[test]
    fn an_empty_object_combines_to_the_crc_of_nothing() {
        let combiner = RangeCombiner::new(Algorithm::Crc64Nvme).unwrap();
        assert_eq!(combiner.finish(0).unwrap(), crc64nvme(b""));
    }

    /// The parts of `data` cut at `cuts` (sorted, deduplicated offsets), numbered from 1 with
    /// a gap after every third part.
    fn parts_of(algorithm: Algorithm, data: &[u8], cuts: &[usize]) -> Vec<PartCrc> {
        let mut bounds: Vec<usize> = cuts
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < data.len())
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        bounds.insert(0, 0);
        bounds.push(data.len());
        bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| PartCrc {
                number: i32::try_from(i + 1 + i / 3).unwrap(),
                size: (w[1] - w[0]) as u64,
                checksum: Digest::compute(algorithm, &data[w[0]..w[1]]),
            })
            .collect()
    }

    fn composite_claim(algorithm: Algorithm, parts: &[PartCrc]) -> StoredChecksum {
        let digests: Vec<Digest> = parts.iter().map(|p| p.checksum).collect();
        let value = copyflow_checksum::composite(algorithm, &digests).unwrap();
        StoredChecksum::parse(algorithm, &value, Some("COMPOSITE")).unwrap()
    }

    #[test]
    fn part_crcs_that_do_not_belong_to_the_object_are_refused() {
        let alg = Algorithm::Crc32;
        let data = b"the parts of a multipart object, in three pieces";
        let parts = parts_of(alg, data, &[10, 30]);
        let claim = composite_claim(alg, &parts);
        let size = data.len() as u64;
        assert_eq!(
            full_object_crc_from_parts(alg, &parts, size, Some(&claim)).unwrap(),
            Digest::compute(alg, data)
        );
        // Another object's composite, a wrong part count, a wrong size, a swapped order.
        let other = composite_claim(alg, &parts_of(alg, b"other bytes entirely", &[5]));
        let err = full_object_crc_from_parts(alg, &parts, size, Some(&other)).unwrap_err();
        assert!(err.contains("composite"), "{err}");
        let StoredChecksum::Composite { digest, .. } = claim else {
            unreachable!()
        };
        let miscounted = StoredChecksum::Composite {
            digest,
            parts: Some(4),
        };
        assert!(
            full_object_crc_from_parts(alg, &parts, size, Some(&miscounted))
                .unwrap_err()
                .contains("4 parts")
        );
        assert!(
            full_object_crc_from_parts(alg, &parts, size + 1, Some(&claim))
                .unwrap_err()
                .contains("bytes")
        );
        let mut swapped = parts.clone();
        swapped.swap(0, 1);
        assert!(full_object_crc_from_parts(alg, &swapped, size, None).is_err());
        // A composite claim without its -N still checks the digest.
        let uncounted = StoredChecksum::Composite {
            digest,
            parts: None,
        };
        assert!(full_object_crc_from_parts(alg, &parts, size, Some(&uncounted)).is_ok());
        // A full-object claim must equal the combined value.
        let full = StoredChecksum::FullObject(Digest::compute(alg, data));
        assert!(full_object_crc_from_parts(alg, &parts, size, Some(&full)).is_ok());
        let wrong = StoredChecksum::FullObject(Digest::compute(alg, b"x"));
        assert!(full_object_crc_from_parts(alg, &parts, size, Some(&wrong)).is_err());
        // Algorithms: SHA does not combine; parts and claim must agree.
        assert!(full_object_crc_from_parts(Algorithm::Sha256, &[], 0, None).is_err());
        assert!(full_object_crc_from_parts(Algorithm::Crc32c, &parts, size, None).is_err());
        let c = composite_claim(
            Algorithm::Crc32c,
            &parts_of(Algorithm::Crc32c, data, &[10, 30]),
        );
        assert!(full_object_crc_from_parts(alg, &parts, size, Some(&c)).is_err());
        assert!(full_object_crc_from_parts(alg, &[], 0, None).is_err());
    }

    proptest! {
        #[test]
        fn part_crcs_with_sizes_combine_to_the_crc_of_the_concatenated_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..4096),
            cuts in proptest::collection::vec(0usize..4096, 0..12),
            algorithm in prop_oneof![Just(Algorithm::Crc32), Just(Algorithm::Crc32c)],
        ) {
            let parts = parts_of(algorithm, &data, &cuts);
            let claim = composite_claim(algorithm, &parts);
            prop_assert_eq!(
                full_object_crc_from_parts(algorithm, &parts, data.len() as u64, Some(&claim)).unwrap(),
                Digest::compute(algorithm, &data)
            );
        }

        #[test]
        fn range_crcs_combined_in_any_order_equal_the_whole_object_crc(
            data in proptest::collection::vec(any::<u8>(), 0..4096),
            chunk in 1u64..600,
            seed in any::<u64>(),
            algorithm in prop_oneof![
                Just(Algorithm::Crc64Nvme), Just(Algorithm::Crc32), Just(Algorithm::Crc32c)
            ],
        ) {
            let size = data.len() as u64;
            let mut parts: Vec<PartRange> = ranges(size, chunk).unwrap().collect();
            // A deterministic shuffle: parallel reads finish in any order.
            let n = parts.len();
            for i in 0..n {
                let j = usize::try_from((seed.rotate_left(i as u32) ^ i as u64) % n as u64).unwrap();
                parts.swap(i, j);
            }
            let mut combiner = RangeCombiner::new(algorithm).unwrap();
            for part in parts {
                let bytes = &data[part.start as usize..=part.end_inclusive as usize];
                combiner.add(part, Digest::compute(algorithm, bytes)).unwrap();
            }
            prop_assert_eq!(combiner.finish(size).unwrap(), Digest::compute(algorithm, &data));
        }

        #[test]
        fn a_stored_value_round_trips_through_its_s3_form(data in proptest::collection::vec(any::<u8>(), 0..64), parts in 1u32..=10_000) {
            let digest = Digest::compute(Algorithm::Crc32c, &data);
            let full = StoredChecksum::parse(Algorithm::Crc32c, &digest.to_base64(), None).unwrap();
            prop_assert_eq!(full, StoredChecksum::FullObject(digest));
            let value = format!("{digest}-{parts}");
            let comp = StoredChecksum::parse(Algorithm::Crc32c, &value, Some("COMPOSITE")).unwrap();
            prop_assert_eq!(comp, StoredChecksum::Composite { digest, parts: Some(parts) });
        }
    }
}
