//! Checks that fail on one target, with the reason the targets differ and which one matches
//! AWS S3. The runner fails when a listed check passes (remove its entry then), and when a
//! check fails that is not listed here.
//!
//! Columns: target (`embedded` or `localstack`), check name, reason (ending with which side
//! matches AWS).

pub(crate) const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "localstack",
        "unsupported_put_bucket_website_is_501_not_implemented",
        "LocalStack implements website configuration, as AWS does; the embedded server answers \
         NotImplemented on purpose (website hosting is out of its scope, issue 2). \
         Matches AWS: LocalStack.",
    ),
    (
        "localstack",
        "copy_metadata_directive_copy_keeps_source_expires",
        "LocalStack's CopyObject sets the copy's Expires from the request even under \
         MetadataDirective COPY (provider.py copy_object: expires=request.get(\"Expires\")), so \
         the source's Expires is dropped; S3 copies all user-controllable system metadata, \
         Expires included. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "copy_source_if_match_true_overrides_if_unmodified_since_false",
        "LocalStack evaluates x-amz-copy-source-if-unmodified-since even when \
         x-amz-copy-source-if-match holds (utils.py get_failed_precondition_copy_source) and \
         answers 412; the CopyObject API reference says this combination returns 200 and \
         copies. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "copy_if_none_match_star_onto_an_existing_destination_is_412",
        "LocalStack answers 412 but has already written the source bytes over the destination \
         (it checks the destination precondition inside its storage copy), leaving the old \
         metadata/checksum on new bytes, so the GET fails checksum validation; S3 leaves the \
         destination untouched. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "lifecycle_rule_with_days_after_initiation_0_is_400_invalid_argument",
        "LocalStack stores an AbortIncompleteMultipartUpload rule with DaysAfterInitiation 0 \
         (it does not validate the value); AWS answers 400 InvalidArgument \"'DaysAfterInitiation' \
         for AbortIncompleteMultipartUpload action must be a positive integer\". \
         Matches AWS: embedded.",
    ),
    (
        "localstack",
        "user_metadata_over_2_kb_is_400_metadata_too_large",
        "LocalStack stores user metadata of any size (no MetadataTooLarge anywhere in its S3 \
         provider); AWS limits x-amz-meta-* keys and values to 2 KB and answers 400 \
         MetadataTooLarge. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "boto3_metadata_over_2_kb_is_400_metadata_too_large",
        "As user_metadata_over_2_kb_is_400_metadata_too_large, through boto3: LocalStack does not \
         enforce the 2 KB user metadata limit. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "reserved_bucket_names_are_400_invalid_bucket_name",
        "LocalStack validates bucket names with one regex (utils.py is_bucket_name_valid, \
         BUCKET_NAME_REGEX) that does not reserve the xn--/sthree- prefixes nor the \
         -s3alias/--ol-s3 suffixes; AWS refuses them with 400 InvalidBucketName. \
         Matches AWS: embedded.",
    ),
    (
        "localstack",
        "boto3_reserved_bucket_names_are_400_invalid_bucket_name",
        "As reserved_bucket_names_are_400_invalid_bucket_name, through boto3: LocalStack creates \
         buckets with AWS's reserved prefixes and suffixes. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "boto3_presigned_url_valid_for_8_days_is_400_authorization_query_parameters_error",
        "LocalStack only checks that a presigned URL has not expired yet (presigned_url.py: \
         X-Amz-Date + X-Amz-Expires against now) and, with its default \
         S3_SKIP_SIGNATURE_VALIDATION=1, not even that; AWS refuses X-Amz-Expires over 604800 \
         with 400 AuthorizationQueryParametersError. Matches AWS: embedded.",
    ),
    (
        "localstack",
        "boto3_a_wrong_secret_is_403_signature_does_not_match_with_its_message",
        "LocalStack accepts any credentials: its default S3_SKIP_SIGNATURE_VALIDATION=1 skips \
         signature checks (config.py), so a request signed with a wrong secret succeeds; AWS \
         answers 403 SignatureDoesNotMatch. Matches AWS: embedded.",
    ),
];
