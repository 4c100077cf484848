//! From [`SettingsDocument`] to [`Settings`]: every value checked against S3's and Lambda's
//! limits, the key pattern compiled and the copy planner's options built, once. All problems
//! are reported together, each with its field and what to use instead.
//!
//! The loop guard is enforced here first: a destination range that overlaps the watched
//! source range is refused before anything is deployed (`docs/aws-facts.md#object-keys`).

use super::document::MAX_S3_KEY_BYTES;
use super::{Problem, Settings, SettingsDocument, SettingsError, SettingsOrigin};
use crate::keys::{self, KeyPattern, KeyRules};
use crate::plan::{self, PlanOptions};

/// Storage classes accepted in `destination.storageClass` (aws-sdk-s3 1.157 `StorageClass`).
pub(crate) const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
    "FSX_ONTAP",
    "AWS_BACKUP_WARM",
    "AWS_BACKUP_LOW_COST_WARM",
];

/// The problems found so far, in the order of the document.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, field: &str, message: String) {
        self.0.push(Problem {
            field: field.to_owned(),
            message,
        });
    }
}

/// Checks `document`; `origin` names it in the error.
pub(super) fn check(
    document: SettingsDocument,
    origin: SettingsOrigin,
) -> Result<Settings, SettingsError> {
    let mut problems = Problems::default();
    check_routing(&document, &mut problems);
    let pattern = check_keys(&document, &mut problems);
    let plan_options = check_copy_and_verify(&document, &mut problems);
    check_local(&document, &mut problems);

    match (pattern, plan_options) {
        (Some(pattern), Some(plan_options)) if problems.0.is_empty() => Ok(Settings {
            key_rules: KeyRules::compiled(&document, pattern),
            plan_options,
            document,
            origin,
        }),
        _ => Err(SettingsError::Invalid {
            origin,
            problems: problems.0,
        }),
    }
}

/// `source` and `destination`: bucket names, prefixes, storage class, the loop guard.
fn check_routing(document: &SettingsDocument, problems: &mut Problems) {
    for (field, bucket) in [
        ("source.bucket", &document.source.bucket),
        ("destination.bucket", &document.destination.bucket),
    ] {
        if let Err(message) = check_bucket_name(bucket) {
            problems.push(field, message);
        }
    }
    let prefixes = [
        ("source.prefix", Some(&document.source.prefix)),
        ("destination.prefix", document.destination.prefix.as_ref()),
    ];
    for (field, prefix) in prefixes {
        let Some(prefix) = prefix else { continue };
        if let Some((index, c)) = keys::first_control_char(prefix) {
            problems.push(
                field,
                format!("has the control character {c:?} at byte {index}: remove it"),
            );
        }
        if prefix.len() >= MAX_S3_KEY_BYTES {
            problems.push(
                field,
                format!(
                    "is {} bytes long: S3 keys are at most {MAX_S3_KEY_BYTES}",
                    prefix.len()
                ),
            );
        }
    }
    if let Some(class) = &document.destination.storage_class
        && !STORAGE_CLASSES.contains(&class.as_str())
    {
        problems.push(
            "destination.storageClass",
            format!(
                "{class:?} is not an S3 storage class: use null (keep the source's) or one of {}",
                STORAGE_CLASSES.join(", ")
            ),
        );
    }
    if let Some(message) = loop_guard_violation(document) {
        problems.push("destination", message);
    }
}

/// `keys`: the pattern compiled (`Some(None)` for `null`, `None` when it does not compile)
/// and the key length limit.
fn check_keys(document: &SettingsDocument, problems: &mut Problems) -> Option<Option<KeyPattern>> {
    let pattern = document
        .keys
        .pattern
        .as_deref()
        .map(KeyPattern::new)
        .transpose()
        .map_err(|message| problems.push("keys.pattern", message))
        .ok();
    if !(1..=MAX_S3_KEY_BYTES).contains(&document.keys.max_key_bytes) {
        problems.push(
            "keys.maxKeyBytes",
            format!(
                "is {}: it must be between 1 and {MAX_S3_KEY_BYTES} (S3's key limit)",
                document.keys.max_key_bytes
            ),
        );
    }
    pattern
}

/// `copy` and `verify`: the planner's options (`None` when out of S3's limits), parallelism,
/// the deadline margin and the verify range size.
fn check_copy_and_verify(
    document: &SettingsDocument,
    problems: &mut Problems,
) -> Option<PlanOptions> {
    let (copy, verify) = (&document.copy, &document.verify);
    let plan_options = PlanOptions::new(copy.multipart_threshold_bytes, copy.part_size_bytes)
        .map_err(|found| {
            for (field, message) in found {
                problems.push(field, message);
            }
        })
        .ok();
    for (field, value) in [
        ("copy.maxConcurrency", copy.max_concurrency),
        ("verify.maxConcurrency", verify.max_concurrency),
    ] {
        if !(1..=64).contains(&value) {
            problems.push(
                field,
                format!(
                    "is {value}: use 1..=64 (more parallel requests rarely speed up one object \
                     and invite S3 503 SlowDown)"
                ),
            );
        }
    }
    if !(10..=600).contains(&copy.deadline_margin_seconds) {
        problems.push(
            "copy.deadlineMarginSeconds",
            format!(
                "is {}: use 10..=600 (enough to finish in-flight parts and return a checkpoint, \
                 well under Lambda's 900 s limit)",
                copy.deadline_margin_seconds
            ),
        );
    }
    if !(plan::MIB..=plan::MAX_PART_SIZE).contains(&verify.range_size_bytes) {
        problems.push(
            "verify.rangeSizeBytes",
            format!(
                "is {}: use between {} (1 MiB) and {} (5 GiB)",
                verify.range_size_bytes,
                plan::MIB,
                plan::MAX_PART_SIZE
            ),
        );
    }
    plan_options
}

/// `local`: the three servers need three ports.
fn check_local(document: &SettingsDocument, problems: &mut Problems) {
    let local = &document.local;
    if local.s3_address == local.sfn_address {
        problems.push(
            "local.sfnAddress",
            format!(
                "is the same as local.s3Address ({}): give the two servers different ports",
                local.s3_address
            ),
        );
    }
    for (other, name) in [
        (local.s3_address, "local.s3Address"),
        (local.sfn_address, "local.sfnAddress"),
    ] {
        if local.console_address == other {
            problems.push(
                "local.consoleAddress",
                format!("is the same as {name} ({other}): give the console its own port"),
            );
        }
    }
}

/// The loop guard at configuration time: `Some(reason)` when a copy could land inside the
/// watched source range, i.e. same bucket and one prefix starts with the other. (When neither
/// prefix starts with the other, no destination key `dst + rest` can start with the source
/// prefix.)
fn loop_guard_violation(document: &SettingsDocument) -> Option<String> {
    let source = &document.source.prefix;
    let destination = document.destination_prefix();
    (document.source.bucket == document.destination.bucket
        && (destination.starts_with(source.as_str()) || source.starts_with(destination)))
    .then(|| {
        format!(
            "copies to s3://{}/{destination}... could land in the watched range \
             s3://{}/{source}... and trigger the pipeline again (a loop): use another \
             destination bucket, or source and destination prefixes of which neither starts \
             with the other",
            document.destination.bucket, document.source.bucket
        )
    })
}

/// Checks a bucket name: 3..=255 characters of `a-z A-Z 0-9 . - _`, starting and ending with a
/// letter or digit. (New buckets are stricter, 3..=63 lower-case; older us-east-1 buckets may
/// have upper case and underscores, and copyflow must be able to read them.)
fn check_bucket_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let valid_ends = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if (3..=255).contains(&name.len()) && valid_chars && valid_ends {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an S3 bucket name: existing buckets are named with 3-255 letters, \
             digits, dots, hyphens and underscores, starting and ending with a letter or digit \
             (names of new buckets: 3-63 lower-case letters, digits, dots and hyphens)"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<Problem> {
        match Settings::from_json(json, SettingsOrigin::File("test.json".into())).unwrap_err() {
            SettingsError::Invalid { problems, .. } => problems,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    fn fields(json: &str) -> Vec<String> {
        problems(json).into_iter().map(|p| p.field).collect()
    }

    /// The problems of the default document after `edit`.
    fn problems_after(edit: impl FnOnce(&mut SettingsDocument)) -> Vec<Problem> {
        let mut document = SettingsDocument::new("src", "dst");
        edit(&mut document);
        match document.check(SettingsOrigin::Built).unwrap_err() {
            SettingsError::Invalid { problems, .. } => problems,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    fn one_problem(edit: impl FnOnce(&mut SettingsDocument)) -> Problem {
        let mut problems = problems_after(edit);
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.remove(0)
    }

    #[test]
    fn reports_every_problem_at_once() {
        let fields = fields(
            r#"{"source": {"bucket": "-bad-"}, "destination": {"bucket": "x", "storageClass": "COLD"},
                "keys": {"pattern": "(", "maxKeyBytes": 2000},
                "copy": {"partSizeBytes": 1, "maxConcurrency": 0, "deadlineMarginSeconds": 0},
                "verify": {"rangeSizeBytes": 0, "maxConcurrency": 1000},
                "local": {"s3Address": "127.0.0.1:1", "sfnAddress": "127.0.0.1:1"}}"#,
        );
        assert_eq!(
            fields,
            [
                "source.bucket",
                "destination.bucket",
                "destination.storageClass",
                "keys.pattern",
                "keys.maxKeyBytes",
                "copy.partSizeBytes",
                "copy.maxConcurrency",
                "verify.maxConcurrency",
                "copy.deadlineMarginSeconds",
                "verify.rangeSizeBytes",
                "local.sfnAddress"
            ]
        );
    }

    #[test]
    fn invalid_settings_name_their_origin_and_the_remedy() {
        let mut document = SettingsDocument::new("src", "dst");
        document.copy.max_concurrency = 0;
        let error = document
            .check(SettingsOrigin::File("/repo/copyflow.json".into()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/repo/copyflow.json: copy.maxConcurrency: is 0"),
            "{error}"
        );
        assert!(error.ends_with("--config PATH"), "{error}");
    }

    #[test]
    fn a_threshold_above_the_copy_object_limit_is_refused() {
        let problems = problems(
            r#"{"source": {"bucket": "src"}, "destination": {"bucket": "dst"},
                "copy": {"multipartThresholdBytes": 6000000000}}"#,
        );
        assert_eq!(problems[0].field, "copy.multipartThresholdBytes");
        assert!(
            problems[0].message.contains("CopyObject limit"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn part_sizes_outside_s3_limits_are_refused() {
        let problem = one_problem(|d| d.copy.part_size_bytes = plan::MAX_PART_SIZE + 1);
        assert_eq!(problem.field, "copy.partSizeBytes");
        assert!(problem.message.contains("5 GiB"), "{problem}");
    }

    #[test]
    fn prefixes_with_control_characters_are_refused() {
        assert_eq!(
            fields(
                r#"{"source": {"bucket": "src", "prefix": "a\u0007"}, "destination": {"bucket": "dst"}}"#
            ),
            ["source.prefix"]
        );
        let problem = one_problem(|d| d.destination.prefix = Some("out\n/".into()));
        assert_eq!(problem.field, "destination.prefix");
        assert!(problem.message.contains("at byte 3"), "{problem}");
    }

    #[test]
    fn prefixes_as_long_as_a_key_are_refused() {
        let problem = one_problem(|d| d.destination.prefix = Some("p".repeat(MAX_S3_KEY_BYTES)));
        assert_eq!(problem.field, "destination.prefix");
        assert!(problem.message.contains("at most 1024"), "{problem}");
    }

    #[test]
    fn storage_classes_must_be_s3_ones() {
        let problem = one_problem(|d| d.destination.storage_class = Some("COLD".into()));
        assert_eq!(problem.field, "destination.storageClass");
        assert!(problem.message.contains("STANDARD_IA"), "{problem}");
        for class in STORAGE_CLASSES {
            let mut document = SettingsDocument::new("src", "dst");
            document.destination.storage_class = Some((*class).to_owned());
            document.check(SettingsOrigin::Built).unwrap();
        }
    }

    #[test]
    fn a_pattern_that_does_not_compile_is_refused() {
        let problem = one_problem(|d| d.keys.pattern = Some("(".into()));
        assert_eq!(problem.field, "keys.pattern");
        assert!(
            problem.message.contains("not a valid regular expression"),
            "{problem}"
        );
    }

    #[test]
    fn max_key_bytes_must_be_within_s3s_limit() {
        for bytes in [0, MAX_S3_KEY_BYTES + 1] {
            let problem = one_problem(|d| d.keys.max_key_bytes = bytes);
            assert_eq!(problem.field, "keys.maxKeyBytes");
        }
    }

    #[test]
    fn concurrency_must_be_between_1_and_64() {
        for value in [0, 65] {
            assert_eq!(
                one_problem(|d| d.copy.max_concurrency = value).field,
                "copy.maxConcurrency"
            );
            assert_eq!(
                one_problem(|d| d.verify.max_concurrency = value).field,
                "verify.maxConcurrency"
            );
        }
    }

    #[test]
    fn the_deadline_margin_must_leave_room_within_lambdas_limit() {
        for seconds in [9, 601] {
            let problem = one_problem(|d| d.copy.deadline_margin_seconds = seconds);
            assert_eq!(problem.field, "copy.deadlineMarginSeconds");
            assert!(problem.message.contains("900 s"), "{problem}");
        }
    }

    #[test]
    fn the_verify_range_size_must_be_between_1_mib_and_5_gib() {
        for bytes in [plan::MIB - 1, plan::MAX_PART_SIZE + 1] {
            let problem = one_problem(|d| d.verify.range_size_bytes = bytes);
            assert_eq!(problem.field, "verify.rangeSizeBytes");
        }
    }

    #[test]
    fn the_two_local_servers_need_two_ports() {
        let problem = one_problem(|d| d.local.sfn_address = d.local.s3_address);
        assert_eq!(problem.field, "local.sfnAddress");
        assert!(problem.message.contains("different ports"), "{problem}");
    }

    #[test]
    fn loop_guard_refuses_overlapping_ranges_in_one_bucket() {
        let loops = [
            (r#""prefix": """#, r#""prefix": null"#),
            (r#""prefix": "in/""#, r#""prefix": null"#),
            (r#""prefix": "in/""#, r#""prefix": "in/copies/""#),
            (r#""prefix": "in/sub/""#, r#""prefix": "in/""#),
            (r#""prefix": "a""#, r#""prefix": "ab/""#),
            (r#""prefix": "in/""#, r#""prefix": """#),
        ];
        for (source, destination) in loops {
            let json = format!(
                r#"{{"source": {{"bucket": "same", {source}}}, "destination": {{"bucket": "same", {destination}}}}}"#
            );
            let problems = problems(&json);
            assert_eq!(problems.len(), 1, "{json}");
            assert!(problems[0].message.contains("loop"), "{}", problems[0]);
        }
        for (source, destination) in [
            (r#""prefix": "in/""#, r#""prefix": "out/""#),
            (r#""prefix": "in/a""#, r#""prefix": "in/b""#),
        ] {
            let json = format!(
                r#"{{"source": {{"bucket": "same", {source}}}, "destination": {{"bucket": "same", {destination}}}}}"#
            );
            Settings::from_json(&json, SettingsOrigin::File("test.json".into())).unwrap();
        }
    }

    #[test]
    fn legacy_bucket_names_are_accepted_and_junk_is_not() {
        for name in ["my-bucket", "My_Legacy.Bucket", "a.b.c"] {
            assert!(check_bucket_name(name).is_ok(), "{name}");
        }
        for name in ["", "ab", "-ab", "ab-", "a/b", "a b", "ü-bucket"] {
            assert!(check_bucket_name(name).is_err(), "{name}");
        }
    }

    /// A corpus under `tests/fixtures/` that the CDK app's tests read too.
    fn fixture(name: &str) -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn bucket_names_follow_the_corpus_the_cdk_app_is_checked_against_too() {
        let corpus = fixture("bucket-names.json");
        let message = corpus["message"].as_str().unwrap();
        let cases = corpus["cases"].as_array().unwrap();
        assert!(cases.len() >= 8, "the corpus lost its cases");
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let expected = if case["accepted"].as_bool().unwrap() {
                Ok(())
            } else {
                Err(message.replace("NAME", &format!("{name:?}")))
            };
            assert_eq!(check_bucket_name(name), expected, "{name:?}");
        }
    }

    /// The fields a document is refused for: every problem's, or the path of a shape error.
    fn refused_fields(text: &str) -> Vec<String> {
        match Settings::from_json(text, SettingsOrigin::Built) {
            Ok(_) => Vec::new(),
            Err(SettingsError::Invalid { problems, .. }) => {
                problems.into_iter().map(|p| p.field).collect()
            }
            Err(SettingsError::Parse { path, .. }) => vec![path],
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn documents_get_the_verdicts_of_the_corpus_the_cdk_app_is_checked_against_too() {
        let corpus = fixture("settings-verdicts.json");
        let cases = corpus["cases"].as_array().unwrap();
        assert!(cases.len() >= 8, "the corpus lost its cases");
        for case in cases {
            let mut document = serde_json::json!({
                "source": {"bucket": "src-bucket"},
                "destination": {"bucket": "dst-bucket"},
            });
            for (section, value) in case["document"].as_object().unwrap() {
                document[section] = value.clone();
            }
            let expected: Vec<String> = serde_json::from_value(case["refused"].clone()).unwrap();
            assert_eq!(
                refused_fields(&document.to_string()),
                expected,
                "{}",
                case["name"]
            );
        }
    }
}
