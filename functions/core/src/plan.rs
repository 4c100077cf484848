//! Copy planning: one `CopyObject` or a multipart copy, and the byte ranges of its parts.
//!
//! S3's limits (S3 User Guide, "Amazon S3 multipart upload limits";
//! `docs/aws-facts.md#copyobject-limits`, `#multipart-limits`, `#maximum-object-size`):
//!
//! - `CopyObject` copies at most 5 GiB ([`MAX_COPY_OBJECT_SIZE`]) in one request;
//! - a multipart upload has at most 10,000 parts ([`MAX_PARTS`]), numbered consecutively from 1
//!   (required when parts carry checksums, else `400 InvalidPartOrder`), each 5 MiB..5 GiB
//!   ([`MIN_PART_SIZE`], [`MAX_PART_SIZE`]) except the last, which may be smaller;
//! - so the largest object is 10,000 × 5 GiB = 48.8 TiB ([`MAX_OBJECT_SIZE`]), and only with
//!   every part at exactly 5 GiB;
//! - `UploadPartCopy` ranges (`x-amz-copy-source-range`) are inclusive, `bytes=first-last`, and
//!   only allowed when the source is larger than 5 MB (so the multipart threshold is at least
//!   [`MIN_PART_SIZE`]).
//!
//! Why the single-request threshold is 1 GiB ([`DEFAULT_MULTIPART_THRESHOLD`]) and not 5 GiB:
//! a `CopyObject` cannot be interrupted, resumed or parallelised. It runs inside a Lambda
//! invocation capped at 900 s, and a timeout or a transient error redoes the whole copy. At
//! 1 GiB a copy takes seconds at S3's usual server-side rate and stays well under the budget
//! even at a pessimistic 10 MB/s (~110 s); above it, parallel `UploadPartCopy` is faster, and a
//! failure costs one part, not the object. Small objects (the common case) keep the cheap path:
//! one request, metadata and tags carried by S3's `COPY` directives.

use crate::StepError;

/// 1 KiB.
pub const KIB: u64 = 1024;
/// 1 MiB.
pub const MIB: u64 = 1024 * KIB;
/// 1 GiB.
pub const GIB: u64 = 1024 * MIB;
/// 1 TiB.
pub const TIB: u64 = 1024 * GIB;

/// The smallest part S3 accepts, except for the last part: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The largest part S3 accepts: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * GIB;
/// The most parts one multipart upload may have.
pub const MAX_PARTS: u32 = 10_000;
/// The largest source `CopyObject` accepts: 5 GiB (5,368,709,120 bytes).
pub const MAX_COPY_OBJECT_SIZE: u64 = 5 * GIB;
/// The largest object S3 stores: 10,000 parts of 5 GiB = 53,687,091,200,000 bytes (48.8 TiB).
pub const MAX_OBJECT_SIZE: u64 = MAX_PARTS as u64 * MAX_PART_SIZE;

/// Objects up to this size are copied with one `CopyObject` (see the module docs): 1 GiB.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = GIB;
/// The preferred part size of a multipart copy: 64 MiB. Big enough that a 5 GiB object takes
/// 80 requests, small enough that 8 parallel parts keep S3 busy and a failed part is cheap to
/// redo. Raised automatically for objects over 625 GiB (10,000 × 64 MiB).
pub const DEFAULT_PART_SIZE: u64 = 64 * MIB;

/// The tunables of [`plan_copy`] (`copy.multipartThresholdBytes`, `copy.partSizeBytes`),
/// checked against S3's limits when built ([`PlanOptions::new`]), so the planner never checks
/// them again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    multipart_threshold: u64,
    part_size: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

impl PlanOptions {
    /// Checks both values against S3's limits. `multipart_threshold` must be in
    /// [`MIN_PART_SIZE`]..=[`MAX_COPY_OBJECT_SIZE`], `part_size` in
    /// [`MIN_PART_SIZE`]..=[`MAX_PART_SIZE`]; the error has one `(setting, "is N: what to
    /// use")` for each value out of bounds.
    pub fn new(
        multipart_threshold: u64,
        part_size: u64,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        if !(MIN_PART_SIZE..=MAX_COPY_OBJECT_SIZE).contains(&multipart_threshold) {
            problems.push((
                "copy.multipartThresholdBytes",
                format!(
                    "is {multipart_threshold}: it must be between {MIN_PART_SIZE} (5 MiB, the \
                     smallest object S3 copies by ranges) and {MAX_COPY_OBJECT_SIZE} (5 GiB, the \
                     CopyObject limit)"
                ),
            ));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            problems.push((
                "copy.partSizeBytes",
                format!(
                    "is {part_size}: S3 parts must be between {MIN_PART_SIZE} (5 MiB) and \
                     {MAX_PART_SIZE} (5 GiB)"
                ),
            ));
        }
        if problems.is_empty() {
            Ok(Self {
                multipart_threshold,
                part_size,
            })
        } else {
            Err(problems)
        }
    }

    /// Objects of at most this many bytes are copied with one `CopyObject`.
    pub const fn multipart_threshold(&self) -> u64 {
        self.multipart_threshold
    }

    /// The preferred part size; raised when the object would otherwise need more than
    /// [`MAX_PARTS`] parts.
    pub const fn part_size(&self) -> u64 {
        self.part_size
    }
}

/// How to copy one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyPlan {
    /// One `CopyObject` request.
    Single {
        /// The object size in bytes.
        size: u64,
    },
    /// `CreateMultipartUpload`, one `UploadPartCopy` per part, `CompleteMultipartUpload`.
    Multipart {
        /// The size of every part but the last.
        part_size: u64,
        /// The parts in order, numbered from 1, covering every byte exactly once.
        parts: Vec<PartRange>,
    },
}

impl CopyPlan {
    /// The number of copy requests the plan makes (1, or the number of parts).
    pub fn requests(&self) -> usize {
        match self {
            Self::Single { .. } => 1,
            Self::Multipart { parts, .. } => parts.len(),
        }
    }
}

/// One part of a multipart copy (or one range of a ranged read): bytes `start..=end_inclusive`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartRange {
    /// The part number, from 1.
    pub number: u32,
    /// The first byte (zero-based).
    pub start: u64,
    /// The last byte, inclusive, as S3's `bytes=first-last` ranges are.
    pub end_inclusive: u64,
}

impl PartRange {
    /// The number of bytes in the range (never 0).
    pub const fn len(&self) -> u64 {
        self.end_inclusive - self.start + 1
    }

    /// Always `false`: a range covers at least one byte. (For clippy's `len_without_is_empty`.)
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// The `Range` / `x-amz-copy-source-range` value, `bytes=start-end` (inclusive).
    pub fn range_header(&self) -> String {
        range_header(self.start, self.end_inclusive)
    }
}

/// `bytes=start-end_inclusive`, the HTTP range form S3 expects for `x-amz-copy-source-range` and
/// ranged `GetObject` (both ends inclusive, zero-based).
pub fn range_header(start: u64, end_inclusive: u64) -> String {
    format!("bytes={start}-{end_inclusive}")
}

/// Plans the copy of an object of `size` bytes.
///
/// `Single` up to `options.multipart_threshold`, `Multipart` above it, with
/// [`part_size_for`]`(size, options.part_size)`.
///
/// Errors: `CopyFailed` when `size` exceeds [`MAX_OBJECT_SIZE`] (S3 cannot hold such an
/// object; no retry will help). The options were checked when they were built.
pub fn plan_copy(size: u64, options: &PlanOptions) -> Result<CopyPlan, StepError> {
    if size <= options.multipart_threshold {
        return Ok(CopyPlan::Single { size });
    }
    let part_size = part_size_for(size, options.part_size)?;
    let parts = ranges(size, part_size)
        .ok_or_else(|| StepError::Internal(format!("no ranges for {size} bytes")))?
        .collect();
    Ok(CopyPlan::Multipart { part_size, parts })
}

/// The part size for a multipart copy of `size` bytes: `preferred` (clamped to S3's part
/// limits) when that needs at most [`MAX_PARTS`] parts, else the smallest whole number of MiB
/// that does (at most [`MAX_PART_SIZE`]).
///
/// Errors with `CopyFailed` when `size` exceeds [`MAX_OBJECT_SIZE`].
pub fn part_size_for(size: u64, preferred: u64) -> Result<u64, StepError> {
    if size > MAX_OBJECT_SIZE {
        return Err(StepError::CopyFailed(format!(
            "the object is {size} bytes, larger than S3's maximum object size of \
             {MAX_OBJECT_SIZE} bytes (10,000 parts of 5 GiB)"
        )));
    }
    let preferred = preferred.clamp(MIN_PART_SIZE, MAX_PART_SIZE);
    let smallest = size.div_ceil(u64::from(MAX_PARTS));
    if preferred >= smallest {
        return Ok(preferred);
    }
    // `smallest <= MAX_PART_SIZE` because `size <= MAX_OBJECT_SIZE`, and MAX_PART_SIZE is a
    // whole number of MiB, so rounding up never crosses it.
    Ok((smallest.div_ceil(MIB) * MIB).min(MAX_PART_SIZE))
}

/// The part size that mirrors a multipart source's own layout: its first part's size, when
/// `parts_count` parts of that size (the last one shorter or equal) make up exactly `size`
/// bytes and the size is one S3 accepts for parts. `None` for anything else (a single-part
/// source, an uneven layout), which then takes the planned part size.
///
/// Why mirror: the copy's part *n* is then exactly the source's part *n*, so its ETag and
/// COMPOSITE checksum come out equal to the source's on S3, and a server that stores parts
/// (copyflow's own) copies each one without reading it. Every SDK and the aws cli upload in
/// equal parts, so this is the common case for large sources.
pub fn mirrored_part_size(size: u64, first_part: u64, parts_count: u32) -> Option<u64> {
    if parts_count < 2 || !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&first_part) {
        return None;
    }
    let full = u64::from(parts_count - 1).checked_mul(first_part)?;
    (full < size && size <= full.checked_add(first_part)?).then_some(first_part)
}

/// Splits `size` bytes into consecutive ranges of `chunk` bytes (the last may be shorter),
/// numbered from 1: multipart parts, or the ranged reads of the verify fallback.
///
/// Lazy, so a 48.8 TiB object split in 1 MiB ranges costs no memory. `None` when `chunk` is 0
/// or there would be more than `u32::MAX` ranges. An empty object has no ranges.
pub fn ranges(size: u64, chunk: u64) -> Option<Ranges> {
    if chunk == 0 {
        return None;
    }
    let count = size.div_ceil(chunk);
    u32::try_from(count).ok()?;
    Some(Ranges {
        size,
        chunk,
        next: 0,
        count,
    })
}

/// The iterator of [`ranges`].
#[derive(Clone, Debug)]
pub struct Ranges {
    size: u64,
    chunk: u64,
    /// Zero-based index of the next range.
    next: u64,
    count: u64,
}

impl Iterator for Ranges {
    type Item = PartRange;

    fn next(&mut self) -> Option<PartRange> {
        if self.next >= self.count {
            return None;
        }
        let start = self.next * self.chunk;
        let end_exclusive = start.saturating_add(self.chunk).min(self.size);
        self.next += 1;
        Some(PartRange {
            // `count <= u32::MAX` was checked in `ranges`.
            number: u32::try_from(self.next).unwrap_or(u32::MAX),
            start,
            end_inclusive: end_exclusive - 1,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.count - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Ranges {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn multipart(plan: &CopyPlan) -> (u64, &[PartRange]) {
        match plan {
            CopyPlan::Multipart { part_size, parts } => (*part_size, parts),
            CopyPlan::Single { .. } => panic!("expected a multipart plan, got {plan:?}"),
        }
    }

    #[test]
    fn a_uniform_multipart_source_is_mirrored_and_anything_else_is_not() {
        // The aws cli's 8 MiB parts: 128 for 1 GiB, and a short last part.
        assert_eq!(mirrored_part_size(GIB, 8 * MIB, 128), Some(8 * MIB));
        assert_eq!(mirrored_part_size(GIB + 1, 8 * MIB, 129), Some(8 * MIB));
        for (size, first, count) in [
            (GIB, 8 * MIB, 1),      // single part
            (GIB, 8 * MIB, 127),    // the parts cannot hold the object
            (GIB, 8 * MIB, 129),    // the last part would be empty
            (20 * MIB, 4 * MIB, 5), // parts below S3's minimum
            (12 * GIB, 6 * GIB, 2), // parts above S3's maximum
        ] {
            assert_eq!(
                mirrored_part_size(size, first, count),
                None,
                "{size} {first} {count}"
            );
        }
    }

    #[test]
    fn the_largest_object_is_ten_thousand_five_gib_parts() {
        assert_eq!(MAX_OBJECT_SIZE, 53_687_091_200_000);
        assert_eq!(MAX_COPY_OBJECT_SIZE, 5_368_709_120);
    }

    #[test]
    fn objects_up_to_the_threshold_are_copied_in_one_request() {
        let options = PlanOptions::default();
        for size in [0, 1, 5 * MIB, GIB] {
            assert_eq!(
                plan_copy(size, &options).unwrap(),
                CopyPlan::Single { size }
            );
        }
    }

    #[test]
    fn one_byte_over_the_threshold_goes_multipart() {
        let plan = plan_copy(GIB + 1, &PlanOptions::default()).unwrap();
        let (part_size, parts) = multipart(&plan);
        assert_eq!(part_size, 64 * MIB);
        assert_eq!(parts.len(), 17);
        assert_eq!(parts[16].len(), 1);
        assert_eq!(plan.requests(), 17);
    }

    #[test]
    fn a_64_mib_object_with_a_low_threshold_has_the_expected_parts() {
        let options = PlanOptions::new(8 * MIB, 16 * MIB).unwrap();
        let plan = plan_copy(64 * MIB, &options).unwrap();
        let (_, parts) = multipart(&plan);
        let headers: Vec<String> = parts.iter().map(PartRange::range_header).collect();
        assert_eq!(
            headers,
            [
                "bytes=0-16777215",
                "bytes=16777216-33554431",
                "bytes=33554432-50331647",
                "bytes=50331648-67108863"
            ]
        );
    }

    #[test]
    fn five_tib_needs_parts_of_525_mib() {
        let size = 5 * TIB;
        assert_eq!(part_size_for(size, DEFAULT_PART_SIZE).unwrap(), 525 * MIB);
        let plan = plan_copy(size, &PlanOptions::default()).unwrap();
        let (_, parts) = multipart(&plan);
        assert_eq!(parts.len(), 9_987);
    }

    #[test]
    fn the_largest_object_uses_ten_thousand_parts_of_exactly_five_gib() {
        let plan = plan_copy(MAX_OBJECT_SIZE, &PlanOptions::default()).unwrap();
        let (part_size, parts) = multipart(&plan);
        assert_eq!(part_size, MAX_PART_SIZE);
        assert_eq!(parts.len(), 10_000);
        assert!(parts.iter().all(|p| p.len() == MAX_PART_SIZE));
    }

    #[test]
    fn larger_than_s3_maximum_is_a_copy_failure() {
        let error = plan_copy(MAX_OBJECT_SIZE + 1, &PlanOptions::default()).unwrap_err();
        assert_eq!(error.name(), "CopyFailed");
    }

    #[test]
    fn options_outside_s3_limits_are_refused_with_the_setting_named() {
        for (threshold, part_size, field) in [
            (
                MIN_PART_SIZE - 1,
                DEFAULT_PART_SIZE,
                "copy.multipartThresholdBytes",
            ),
            (
                MAX_COPY_OBJECT_SIZE + 1,
                DEFAULT_PART_SIZE,
                "copy.multipartThresholdBytes",
            ),
            (GIB, MIN_PART_SIZE - 1, "copy.partSizeBytes"),
            (GIB, MAX_PART_SIZE + 1, "copy.partSizeBytes"),
        ] {
            let problems = PlanOptions::new(threshold, part_size).unwrap_err();
            let fields: Vec<&str> = problems.iter().map(|(f, _)| *f).collect();
            assert_eq!(fields, [field], "{threshold} {part_size}");
        }
        let both = PlanOptions::new(0, 0).unwrap_err();
        assert_eq!(both.len(), 2);
        assert!(both[0].1.contains("CopyObject limit"), "{both:?}");
    }

    #[test]
    fn options_at_s3_limits_are_accepted() {
        for (threshold, part_size) in [
            (MIN_PART_SIZE, MIN_PART_SIZE),
            (MAX_COPY_OBJECT_SIZE, MAX_PART_SIZE),
        ] {
            let options = PlanOptions::new(threshold, part_size).unwrap();
            assert_eq!(options.multipart_threshold(), threshold);
            assert_eq!(options.part_size(), part_size);
        }
    }

    #[test]
    fn range_header_is_inclusive() {
        assert_eq!(range_header(0, 9), "bytes=0-9");
        let range = PartRange {
            number: 1,
            start: 0,
            end_inclusive: 9,
        };
        assert_eq!(range.len(), 10);
    }

    #[test]
    fn ranges_of_an_empty_object_are_empty_and_a_zero_chunk_is_refused() {
        assert_eq!(ranges(0, MIB).unwrap().count(), 0);
        assert!(ranges(10, 0).is_none());
        assert!(ranges(u64::MAX, 1).is_none());
    }

    #[test]
    fn ranges_know_their_length() {
        let r = ranges(10 * MIB + 1, MIB).unwrap();
        assert_eq!(r.len(), 11);
    }

    /// Object sizes spread over the whole range, with extra weight on the boundaries.
    fn any_size() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..=64 * MIB,
            0..=MAX_OBJECT_SIZE,
            (0u64..10_000).prop_map(|d| MAX_OBJECT_SIZE - d),
            (0u64..10_000).prop_map(|d| (625 * GIB).saturating_sub(5_000).saturating_add(d)),
        ]
    }

    proptest! {
        #[test]
        fn part_plans_cover_every_byte_exactly_once_within_s3_limits(
            size in any_size(),
            threshold in MIN_PART_SIZE..=MAX_COPY_OBJECT_SIZE,
            preferred in MIN_PART_SIZE..=MAX_PART_SIZE,
        ) {
            let options = PlanOptions::new(threshold, preferred).unwrap();
            match plan_copy(size, &options).unwrap() {
                CopyPlan::Single { size: planned } => {
                    prop_assert!(size <= threshold);
                    prop_assert_eq!(planned, size);
                }
                CopyPlan::Multipart { part_size, parts } => {
                    prop_assert!(size > threshold);
                    prop_assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size));
                    prop_assert!(part_size >= preferred);
                    prop_assert!(!parts.is_empty());
                    prop_assert!(parts.len() <= MAX_PARTS as usize);
                    let mut next = 0u64;
                    for (index, part) in parts.iter().enumerate() {
                        prop_assert_eq!(part.number as usize, index + 1);
                        prop_assert_eq!(part.start, next);
                        prop_assert!(part.end_inclusive >= part.start);
                        prop_assert!(part.len() <= MAX_PART_SIZE);
                        if index + 1 < parts.len() {
                            prop_assert_eq!(part.len(), part_size);
                            prop_assert!(part.len() >= MIN_PART_SIZE);
                        }
                        next = part.end_inclusive + 1;
                    }
                    prop_assert_eq!(next, size);
                }
            }
        }

        #[test]
        fn the_part_size_is_only_raised_when_the_preferred_one_needs_too_many_parts(
            size in any_size(),
            preferred in MIN_PART_SIZE..=MAX_PART_SIZE,
        ) {
            let part_size = part_size_for(size, preferred).unwrap();
            if size.div_ceil(preferred) <= u64::from(MAX_PARTS) {
                prop_assert_eq!(part_size, preferred);
            } else {
                prop_assert_eq!(part_size % MIB, 0);
                // Minimal among whole MiB sizes: one MiB less would need too many parts.
                prop_assert!(size.div_ceil(part_size - MIB) > u64::from(MAX_PARTS));
            }
        }

        #[test]
        fn ranges_tile_the_object(size in 0u64..=10 * GIB, chunk in 1u64..=GIB) {
            let mut next = 0;
            let mut count = 0usize;
            for (index, range) in ranges(size, chunk).unwrap().enumerate() {
                prop_assert_eq!(range.number as usize, index + 1);
                prop_assert_eq!(range.start, next);
                prop_assert!(range.len() <= chunk);
                next = range.end_inclusive + 1;
                count += 1;
            }
            prop_assert_eq!(next, size);
            prop_assert_eq!(count, ranges(size, chunk).unwrap().len());
        }
    }
}
