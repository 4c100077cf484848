//! Every conformance check, and the helpers they share. Each check is an `async fn(Ctx) ->
//! Outcome` named as the sentence it proves; it makes its own bucket(s), so checks are
//! independent and run concurrently.
//!
//! Expected values follow AWS S3's documented behaviour (the S3 API reference, quoted in
//! aws-sdk-s3's doc comments, and `docs/aws-facts.md`); expected checksums and ETags are
//! computed here, on the client side, never taken from the server.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
};
use copyflow_checksum::{Algorithm, Digest};
use md5::Digest as _;

use crate::harness::{Check, Ctx, OrFail, Outcome};

#[path = "checks/buckets.rs"]
mod buckets;
#[path = "checks/checksums.rs"]
mod checksums;
#[path = "checks/copy.rs"]
mod copy;
#[path = "checks/errors.rs"]
mod errors;
#[path = "checks/listing.rs"]
mod listing;
#[path = "checks/multipart.rs"]
mod multipart;
#[path = "checks/objects.rs"]
mod objects;
#[path = "checks/tagging.rs"]
mod tagging;
#[path = "checks/versions.rs"]
mod versions;
#[path = "checks/wire.rs"]
mod wire;

/// `checks![client: module::function, ...]` registers checks under the functions' names,
/// made through `client` (aws-sdk-s3 unless the module is `wire`, see [`client_of`]).
macro_rules! checks {
    ($($module:ident :: $name:ident),* $(,)?) => {
        vec![$(Check {
            name: stringify!($name),
            client: client_of(stringify!($module), stringify!($name)),
            run: |ctx| Box::pin($module::$name(ctx)),
        }),*]
    };
}

/// The client a check speaks through: the `wire` module's checks name it first.
fn client_of(module: &str, name: &str) -> &'static str {
    match module {
        "wire" if name.starts_with("boto3_") => "boto3",
        "wire" => "aws-cli",
        _ => "aws-sdk-s3",
    }
}

/// The whole suite, in the order its lines are printed.
pub(crate) fn all() -> Vec<Check> {
    checks![
        // Buckets and versioning.
        buckets::bucket_create_head_list_delete_round_trip,
        buckets::deleting_a_non_empty_bucket_is_409_bucket_not_empty,
        buckets::operations_on_a_missing_bucket_are_404_no_such_bucket,
        buckets::recreating_own_bucket_outside_us_east_1_is_409_bucket_already_owned_by_you,
        buckets::recreating_own_bucket_in_us_east_1_succeeds_for_legacy_compatibility,
        buckets::bucket_versioning_status_reports_enabled_then_suspended,
        buckets::versioned_puts_keep_old_versions_readable_by_version_id,
        buckets::suspended_versioning_keeps_old_versions_and_overwrites_the_null_version,
        buckets::delete_in_a_versioned_bucket_adds_a_delete_marker,
        buckets::unsupported_put_bucket_website_is_501_not_implemented,
        buckets::lifecycle_abort_incomplete_multipart_upload_rule_round_trips_and_delete_makes_get_404,
        buckets::lifecycle_rule_with_days_after_initiation_0_is_400_invalid_argument,
        // Objects.
        objects::put_then_get_round_trips_bytes_with_md5_etag,
        objects::zero_byte_object_round_trips,
        objects::one_mib_object_round_trips,
        objects::range_get_of_first_bytes_returns_them_with_content_range,
        objects::range_get_of_middle_bytes_returns_them,
        objects::range_get_suffix_returns_last_bytes,
        objects::range_get_open_ended_returns_rest_of_object,
        objects::range_get_end_past_object_size_is_truncated_to_the_object,
        objects::range_get_starting_past_the_end_is_416_invalid_range,
        objects::get_and_head_with_part_number_return_that_part,
        objects::head_of_a_missing_key_is_404,
        objects::get_of_a_missing_key_is_404_no_such_key,
        objects::delete_object_removes_it_and_deleting_a_missing_key_succeeds,
        objects::delete_objects_reports_every_key_as_deleted,
        objects::delete_objects_in_quiet_mode_reports_no_deleted_keys,
        objects::user_metadata_and_content_headers_round_trip,
        objects::storage_class_is_recorded_and_returned_by_head_and_list,
        objects::put_if_none_match_star_on_an_existing_key_is_412,
        objects::put_if_match_with_a_wrong_etag_is_412_and_with_the_current_etag_succeeds,
        objects::put_if_match_on_a_missing_key_is_404_no_such_key,
        // Listing and key names.
        listing::list_objects_v2_prefix_and_delimiter_group_common_prefixes,
        listing::list_objects_v2_max_keys_and_continuation_token_page_through_all_keys,
        listing::list_objects_v2_counts_common_prefixes_toward_max_keys,
        listing::list_objects_v2_start_after_skips_keys_up_to_it,
        listing::keys_with_spaces_unicode_and_plus_round_trip,
        // CopyObject.
        copy::copy_object_copies_bytes_with_md5_etag,
        copy::copy_of_a_missing_source_is_404_no_such_key,
        copy::copy_source_with_special_characters_is_url_decoded,
        copy::copy_source_with_version_id_copies_that_version,
        copy::copy_onto_itself_without_changes_is_400_invalid_request,
        copy::copy_metadata_directive_copy_keeps_source_metadata_and_content_headers,
        copy::copy_metadata_directive_copy_keeps_source_expires,
        copy::copy_metadata_directive_replace_takes_only_request_metadata,
        copy::copy_tagging_directive_copy_keeps_source_tags,
        copy::copy_tagging_directive_replace_takes_request_tags,
        copy::copy_does_not_keep_the_source_storage_class,
        copy::copy_source_conditions_that_hold_allow_the_copy,
        copy::copy_source_if_match_mismatch_is_412,
        copy::copy_source_if_none_match_matching_etag_is_412,
        copy::copy_source_if_modified_since_after_last_modified_is_412,
        copy::copy_source_if_modified_since_in_the_future_is_ignored,
        copy::copy_source_if_unmodified_since_before_last_modified_is_412,
        copy::copy_source_if_match_true_overrides_if_unmodified_since_false,
        copy::copy_source_if_none_match_false_with_if_modified_since_true_is_412,
        copy::copy_if_none_match_star_onto_an_existing_destination_is_412,
        copy::copy_with_checksum_algorithm_recomputes_the_checksum,
        copy::copy_without_checksum_algorithm_keeps_the_source_checksum,
        // Multipart uploads.
        multipart::multipart_etag_is_md5_of_part_md5s_with_part_count,
        multipart::multipart_full_object_crc32_is_crc32_of_the_whole_body,
        multipart::multipart_full_object_crc64nvme_is_crc64nvme_of_the_whole_body,
        multipart::multipart_composite_sha256_is_hash_of_part_hashes_with_part_count,
        multipart::multipart_composite_crc32c_is_crc_of_part_crcs_with_part_count,
        multipart::multipart_object_keeps_metadata_storage_class_and_content_type_from_create,
        multipart::upload_part_copy_with_source_range_copies_those_bytes,
        multipart::upload_part_copy_returns_the_part_checksum_in_copy_part_result,
        multipart::upload_part_copy_source_if_match_mismatch_is_412,
        multipart::list_parts_reports_numbers_sizes_etags_and_checksums,
        multipart::list_multipart_uploads_lists_only_uploads_in_progress,
        multipart::complete_with_a_wrong_part_checksum_is_400_invalid_part,
        multipart::complete_with_a_wrong_full_object_checksum_is_400_bad_digest,
        multipart::complete_with_a_wrong_mpu_object_size_is_400_invalid_request,
        multipart::complete_with_a_non_last_part_under_5_mib_is_400_entity_too_small,
        multipart::complete_with_a_wrong_part_etag_is_400_invalid_part,
        multipart::complete_with_parts_out_of_order_is_400_invalid_part_order,
        multipart::complete_if_none_match_star_onto_an_existing_key_is_412,
        multipart::abort_makes_the_upload_404_no_such_upload,
        // Checksums.
        checksums::put_with_crc32_stores_and_returns_it,
        checksums::put_with_crc32c_stores_and_returns_it,
        checksums::put_with_crc64nvme_stores_and_returns_it,
        checksums::put_with_sha1_stores_and_returns_it,
        checksums::put_with_sha256_stores_and_returns_it,
        checksums::put_with_streaming_body_and_trailing_checksum_stores_it,
        checksums::put_with_a_wrong_checksum_is_400_bad_digest,
        checksums::put_with_a_wrong_content_md5_is_400_bad_digest,
        checksums::upload_part_with_a_wrong_checksum_is_400_bad_digest,
        checksums::put_without_checksum_gets_default_crc64nvme_full_object_checksum,
        // Tagging and attributes.
        tagging::put_with_tagging_header_sets_the_tags,
        tagging::create_multipart_upload_with_tagging_sets_the_tags,
        tagging::put_get_delete_object_tagging_round_trip,
        tagging::get_object_attributes_reports_etag_checksum_size_and_storage_class,
        tagging::get_object_attributes_lists_composite_parts_with_part_checksums,
        // Errors, limits and ListObjectVersions.
        versions::list_object_versions_pages_with_key_and_version_id_markers,
        versions::list_object_versions_reports_delete_markers_and_is_latest,
        versions::list_object_versions_rolls_keys_up_into_common_prefixes,
        errors::errors_carry_the_aws_message,
        errors::user_metadata_over_2_kb_is_400_metadata_too_large,
        errors::reserved_bucket_names_are_400_invalid_bucket_name,
        // The same behaviours through a second client (another wire encoding).
        wire::boto3_get_object_attributes_with_several_attributes_returns_all_of_them,
        wire::boto3_put_with_sha256_checksum_header_stores_and_returns_it,
        wire::boto3_put_with_a_wrong_checksum_header_is_400_bad_digest,
        wire::boto3_presigned_get_url_returns_the_object,
        wire::boto3_presigned_url_valid_for_8_days_is_400_authorization_query_parameters_error,
        wire::boto3_errors_carry_aws_messages,
        wire::boto3_a_wrong_secret_is_403_signature_does_not_match_with_its_message,
        wire::boto3_metadata_over_2_kb_is_400_metadata_too_large,
        wire::boto3_reserved_bucket_names_are_400_invalid_bucket_name,
        wire::boto3_list_object_versions_pages_through_versions_and_delete_markers,
        wire::aws_cli_get_object_attributes_with_several_attributes_returns_all_of_them,
        wire::aws_cli_get_object_of_a_missing_key_prints_the_no_such_key_message,
    ]
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.

pub(crate) const MIB: usize = 1024 * 1024;
/// S3's minimum size of every part but the last.
pub(crate) const MIN_PART: usize = 5 * MIB;

/// `len` deterministic bytes that differ for each `seed` and do not repeat with a short period
/// (so a range or part served from the wrong offset is caught).
pub(crate) fn body(len: usize, seed: u32) -> Vec<u8> {
    let mut state = 0x9E37_79B9_u32 ^ seed.wrapping_mul(0x85EB_CA6B);
    (0..len)
        .map(|_| {
            // xorshift32
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    md5::Md5::digest(data).into()
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&md5(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An ETag as S3 sends it in headers: quoted.
pub(crate) fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// The ETag S3 gives a multipart object, computed here: MD5 of the concatenated part MD5s,
/// then `-<part count>`.
pub(crate) fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut concatenated = Vec::new();
    for part in parts {
        concatenated.extend_from_slice(&md5(part));
    }
    format!("{}-{}", md5_hex(&concatenated), parts.len())
}

pub(crate) fn algorithm(sdk: &ChecksumAlgorithm) -> Algorithm {
    match sdk {
        ChecksumAlgorithm::Crc32 => Algorithm::Crc32,
        ChecksumAlgorithm::Crc32C => Algorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme => Algorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1 => Algorithm::Sha1,
        ChecksumAlgorithm::Sha256 => Algorithm::Sha256,
        other => panic!("no S3 checksum algorithm {other:?} in this suite"),
    }
}

/// The checksum header value (base64 of the big-endian digest) of `data`.
pub(crate) fn checksum(algorithm: Algorithm, data: &[u8]) -> String {
    Digest::compute(algorithm, data).to_base64()
}

/// S3's `COMPOSITE` checksum value: the algorithm over the concatenated raw part digests,
/// then `-<part count>`.
pub(crate) fn composite_checksum(algorithm: Algorithm, parts: &[&[u8]]) -> String {
    let mut concatenated = Vec::new();
    for part in parts {
        concatenated.extend_from_slice(Digest::compute(algorithm, part).as_bytes());
    }
    format!("{}-{}", checksum(algorithm, &concatenated), parts.len())
}

/// `checksum_field!(output, algorithm)`: the `checksum_<algorithm>()` getter of any S3
/// output type that has all five.
macro_rules! checksum_field {
    ($output:expr, $algorithm:expr) => {
        match $algorithm {
            copyflow_checksum::Algorithm::Crc32 => $output.checksum_crc32(),
            copyflow_checksum::Algorithm::Crc32c => $output.checksum_crc32_c(),
            copyflow_checksum::Algorithm::Crc64Nvme => $output.checksum_crc64_nvme(),
            copyflow_checksum::Algorithm::Sha1 => $output.checksum_sha1(),
            copyflow_checksum::Algorithm::Sha256 => $output.checksum_sha256(),
        }
    };
}
pub(crate) use checksum_field;

/// The other four algorithms' fields of `$output` must be absent.
macro_rules! only_checksum {
    ($output:expr, $algorithm:expr, $what:expr) => {{
        for other in copyflow_checksum::Algorithm::ALL {
            if other != $algorithm {
                if let Some(value) = $crate::checks::checksum_field!($output, other) {
                    return Err(format!(
                        "{}: unexpected {} checksum {value:?} beside {}",
                        $what,
                        other.as_s3_name(),
                        $algorithm.as_s3_name()
                    ));
                }
            }
        }
    }};
}
pub(crate) use only_checksum;

pub(crate) async fn put(ctx: &Ctx, bucket: &str, key: &str, data: &[u8]) -> Result<String, String> {
    let out = ctx
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .or_fail(&format!("PutObject {key}"))?;
    out.e_tag
        .ok_or_else(|| format!("PutObject {key}: no ETag in the response"))
}

pub(crate) async fn get_bytes(ctx: &Ctx, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let out = ctx
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .or_fail(&format!("GetObject {key}"))?;
    collect(out.body, key).await
}

pub(crate) async fn collect(body: ByteStream, what: &str) -> Result<Vec<u8>, String> {
    body.collect()
        .await
        .map(|data| data.into_bytes().to_vec())
        .map_err(|e| {
            format!(
                "reading the body of {what}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })
}

/// Compares bodies without printing megabytes on a mismatch.
pub(crate) fn same_bytes(actual: &[u8], expected: &[u8], what: &str) -> Outcome {
    if actual.len() != expected.len() {
        return Err(format!(
            "{what}: expected {} bytes, got {}",
            expected.len(),
            actual.len()
        ));
    }
    if let Some(at) = actual.iter().zip(expected).position(|(a, e)| a != e) {
        return Err(format!("{what}: bytes differ from offset {at}"));
    }
    Ok(())
}

/// A started upload: bucket, key, upload id, and the parts sent so far.
pub(crate) struct Upload {
    pub bucket: String,
    pub key: String,
    pub id: String,
    pub algorithm: Option<Algorithm>,
    pub parts: Vec<CompletedPart>,
}

impl Upload {
    /// CreateMultipartUpload, with a checksum algorithm and type when given.
    pub(crate) async fn start(
        ctx: &Ctx,
        bucket: &str,
        key: &str,
        checksum: Option<(ChecksumAlgorithm, ChecksumType)>,
    ) -> Result<Upload, String> {
        let mut create = ctx.s3.create_multipart_upload().bucket(bucket).key(key);
        if let Some((algorithm, kind)) = &checksum {
            create = create
                .checksum_algorithm(algorithm.clone())
                .checksum_type(kind.clone());
        }
        let out = create
            .send()
            .await
            .or_fail(&format!("CreateMultipartUpload {key}"))?;
        let id = out
            .upload_id
            .ok_or("CreateMultipartUpload: no UploadId in the response")?;
        Ok(Upload {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            id,
            algorithm: checksum.as_ref().map(|(a, _)| algorithm(a)),
            parts: Vec::new(),
        })
    }

    /// UploadPart with the upload's checksum algorithm (the SDK computes the value); records
    /// the part with its ETag and checksum for completion.
    pub(crate) async fn part(&mut self, ctx: &Ctx, number: i32, data: &[u8]) -> Result<(), String> {
        let mut request = ctx
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.id)
            .part_number(number)
            .body(ByteStream::from(data.to_vec()));
        if let Some(algorithm) = self.algorithm {
            request = request.checksum_algorithm(sdk_algorithm(algorithm));
        }
        let out = request
            .send()
            .await
            .or_fail(&format!("UploadPart {number}"))?;
        let mut part = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag.clone());
        if let Some(algorithm) = self.algorithm {
            let returned = checksum_field!(out, algorithm)
                .ok_or_else(|| {
                    format!(
                        "UploadPart {number}: no {} checksum in the response",
                        algorithm.as_s3_name()
                    )
                })?
                .to_owned();
            let expected = checksum(algorithm, data);
            ensure_eq!(
                returned,
                expected,
                "UploadPart {number} {} checksum",
                algorithm.as_s3_name()
            );
            part = with_part_checksum(part, algorithm, returned);
        }
        self.parts.push(part.build());
        Ok(())
    }

    pub(crate) fn completed(&self) -> CompletedMultipartUpload {
        CompletedMultipartUpload::builder()
            .set_parts(Some(self.parts.clone()))
            .build()
    }

    /// A CompleteMultipartUpload request with the recorded parts, to adjust and send.
    pub(crate) fn complete(
        &self,
        ctx: &Ctx,
    ) -> aws_sdk_s3::operation::complete_multipart_upload::builders::CompleteMultipartUploadFluentBuilder
    {
        ctx.s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.id)
            .multipart_upload(self.completed())
    }

    /// Best-effort abort, for checks that end with an upload still open.
    pub(crate) async fn abort(&self, ctx: &Ctx) {
        let _ = ctx
            .s3
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.id)
            .send()
            .await;
    }
}

pub(crate) fn sdk_algorithm(algorithm: Algorithm) -> ChecksumAlgorithm {
    match algorithm {
        Algorithm::Crc32 => ChecksumAlgorithm::Crc32,
        Algorithm::Crc32c => ChecksumAlgorithm::Crc32C,
        Algorithm::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
        Algorithm::Sha1 => ChecksumAlgorithm::Sha1,
        Algorithm::Sha256 => ChecksumAlgorithm::Sha256,
    }
}

pub(crate) fn with_part_checksum(
    part: aws_sdk_s3::types::builders::CompletedPartBuilder,
    algorithm: Algorithm,
    value: String,
) -> aws_sdk_s3::types::builders::CompletedPartBuilder {
    match algorithm {
        Algorithm::Crc32 => part.checksum_crc32(value),
        Algorithm::Crc32c => part.checksum_crc32_c(value),
        Algorithm::Crc64Nvme => part.checksum_crc64_nvme(value),
        Algorithm::Sha1 => part.checksum_sha1(value),
        Algorithm::Sha256 => part.checksum_sha256(value),
    }
}

/// Uploads `parts` as one multipart object (with a checksum algorithm and type when given)
/// and completes it; returns the completion's ETag and checksum fields via the output.
pub(crate) async fn multipart_object(
    ctx: &Ctx,
    bucket: &str,
    key: &str,
    parts: &[&[u8]],
    checksum: Option<(ChecksumAlgorithm, ChecksumType)>,
) -> Result<aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput, String>
{
    let mut upload = Upload::start(ctx, bucket, key, checksum).await?;
    for (i, data) in parts.iter().enumerate() {
        upload
            .part(ctx, i32::try_from(i + 1).unwrap_or(i32::MAX), data)
            .await?;
    }
    upload
        .complete(ctx)
        .send()
        .await
        .or_fail(&format!("CompleteMultipartUpload {key}"))
}

/// HeadObject with `ChecksumMode=ENABLED`.
pub(crate) async fn head_with_checksum(
    ctx: &Ctx,
    bucket: &str,
    key: &str,
) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput, String> {
    ctx.s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .or_fail(&format!("HeadObject {key} (ChecksumMode ENABLED)"))
}
