//! Object keys: decoding the event key, the key rules, destination mapping, the loop guard, and
//! the one function that encodes `x-amz-copy-source`.
//!
//! Rules respected (`docs/aws-facts.md#key-encoding-in-events`, `#object-keys` and
//! `#copy-source-encoding`):
//!
//! - **Event keys may be encoded three ways.** S3 notifications form-encode keys ("'red
//!   flower.jpg' becomes 'red+flower.jpg'"); for EventBridge it is undocumented: a public AWS
//!   solution reports, from tests on AWS, that EventBridge sends the key unencoded, AWS
//!   Powertools decodes it with `unquote_plus`, and LocalStack percent-encodes it (RFC 3986).
//!   So [`decode_event_key`] has two readings of `detail.object.key`: the form-decoded one
//!   (`+` is a space, `%XX` a UTF-8 byte, which also reads percent-encoding) and the raw one.
//!   The copy step HEADs the decoded reading first and the raw one only when the two differ
//!   and the first is missing or another object. A key that is not valid encoding (`%zz`,
//!   escapes that are not UTF-8) has only its raw reading: no encoder writes it, so it is
//!   either an unencoded key or a malformed event ([`EventKey::decode_error`]).
//! - **Keys are at most 1024 UTF-8 bytes**; copyflow checks the destination key, after mapping
//!   (a longer destination prefix can push a valid source key over the limit).
//! - **No control characters** (`U+0000..U+001F`, `U+007F..U+009F`): S3 accepts some, but they
//!   break XML listings, logs and consoles; such keys are rejected, not copied.
//! - **Folder markers** (a key ending in `/` with no bytes, what the console's "Create folder"
//!   writes) are skipped: there is nothing to copy and the destination needs no folders.
//! - **The loop guard**: a copy must never land inside the watched source range, or the
//!   pipeline would trigger on its own output. Settings refuse such configurations when they
//!   are checked ([`crate::settings`]); [`KeyRules::evaluate`] still guards every key (a
//!   loop is costly, the test is one comparison) and answers `ConfigurationError`, never a
//!   copy.
//! - **`x-amz-copy-source` must be URL-encoded by the caller**: aws-sdk-s3 sends it as given
//!   (aws-sdk-rust#1357; non-ASCII does not even make a valid header), while the `Key` parameter
//!   is encoded by the SDK. [`copy_source`] is the only place that builds it.

pub use copyflow_s3_event::{DecodeError, KeyEncoding};
use regex_lite::Regex;
use serde::{Deserialize, Serialize};

use crate::StepError;
use crate::settings::SettingsDocument;

/// The longest part of an event key quoted in an error message (in characters).
const QUOTED_KEY_CHARS: usize = 200;

/// The key of an event, decoded and as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventKey {
    /// The form-decoded key: what the object is most likely called. Equals `raw` when the
    /// event key is not valid encoding (see `decode_error`).
    pub decoded: String,
    /// `detail.object.key` exactly as the event carried it: the fallback if no object has the
    /// decoded name.
    pub raw: String,
    /// Why `raw` is not valid form- or percent-encoding (a `%` not followed by two hex
    /// digits, or escapes that are not UTF-8), when it is not: then the raw key is the only
    /// reading (EventBridge sent it unencoded), and if no object has it the event is invalid.
    pub decode_error: Option<String>,
}

impl EventKey {
    /// Whether decoding changed the key (only then is the raw key a distinct fallback).
    pub fn is_encoded(&self) -> bool {
        self.decoded != self.raw
    }
}

/// Decodes `detail.object.key` as form encoding (which also reads percent-encoding), keeping
/// the raw value.
///
/// `InvalidEvent` for an empty key. A key that does not decode is kept as its raw reading
/// with [`EventKey::decode_error`] set: the copy step answers `InvalidEvent` if no object has
/// that literal name.
pub fn decode_event_key(raw: &str) -> Result<EventKey, StepError> {
    if raw.is_empty() {
        return Err(StepError::InvalidEvent(
            "detail.object.key is empty".to_owned(),
        ));
    }
    let (decoded, decode_error) = match KeyEncoding::Form.decode(raw) {
        Ok(decoded) => (decoded.into_owned(), None),
        Err(e) => (raw.to_owned(), Some(e.to_string())),
    };
    Ok(EventKey {
        decoded,
        raw: raw.to_owned(),
        decode_error,
    })
}

/// `text` for an error message: control characters and quotes escaped (Rust `{:?}` style,
/// quoted), cut to [`QUOTED_KEY_CHARS`] characters with a note of the full length.
pub fn quote_for_message(text: &str) -> String {
    let count = text.chars().count();
    if count <= QUOTED_KEY_CHARS {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(QUOTED_KEY_CHARS).collect();
    format!("{head:?}... ({count} characters)")
}

/// The `x-amz-copy-source` value for `CopyObject` / `UploadPartCopy`:
/// `bucket/key[?versionId=id]`, each byte outside the RFC 3986 unreserved set and `/`
/// percent-encoded (so every path segment is encoded and the slashes between them kept).
///
/// `bucket` is a bucket name (not an access point ARN). The version id is encoded the same way
/// (S3 version ids are URL-safe, so this is normally a no-op).
pub fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let encode = |text| KeyEncoding::Percent.encode(text);
    let mut value = format!("{}/{}", encode(bucket), encode(key));
    if let Some(version_id) = version_id {
        value.push_str("?versionId=");
        value.push_str(&encode(version_id));
    }
    value
}

/// The first control character of `key` (Unicode `Cc`: `U+0000..U+001F`, `U+007F..U+009F`)
/// and its byte offset.
pub fn first_control_char(key: &str) -> Option<(usize, char)> {
    key.char_indices().find(|(_, c)| c.is_control())
}

/// Whether an object is a folder marker: its key ends with `/` and it has no bytes (size 0,
/// or absent from the event).
pub fn is_folder_marker(key: &str, size: Option<u64>) -> bool {
    key.ends_with('/') && size.is_none_or(|s| s == 0)
}

/// A compiled `keys.pattern`.
///
/// The pattern must match the whole key after the source prefix (it is wrapped in
/// `^(?:...)$`). Named groups `date` and `hour`, when present, must also be real values:
/// `date` a calendar date `YYYY-MM-DD` (leap years included), `hour` `00`..`23`.
#[derive(Clone, Debug)]
pub struct KeyPattern {
    source: String,
    regex: Regex,
    checks_date: bool,
    checks_hour: bool,
}

impl KeyPattern {
    /// Compiles a pattern; the error says what is wrong with it.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let regex = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("{pattern:?} is not a valid regular expression: {e}"))?;
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        Ok(Self {
            source: pattern.to_owned(),
            checks_date: names.contains(&"date"),
            checks_hour: names.contains(&"hour"),
            regex,
        })
    }

    /// The pattern as written in the settings.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// `Ok` when `key` matches; else why not, for a `KeyRejected` message.
    pub fn check(&self, key: &str) -> Result<(), String> {
        let Some(captures) = self.regex.captures(key) else {
            return Err(format!(
                "it does not match keys.pattern {:?} (after the source prefix)",
                self.source
            ));
        };
        if self.checks_date
            && let Some(date) = captures.name("date")
            && !is_calendar_date(date.as_str())
        {
            return Err(format!(
                "{:?} is not a real date (YYYY-MM-DD)",
                date.as_str()
            ));
        }
        if self.checks_hour
            && let Some(hour) = captures.name("hour")
            && !matches!(hour.as_str().parse::<u8>(), Ok(0..=23) if hour.as_str().len() == 2)
        {
            return Err(format!("{:?} is not an hour 00-23", hour.as_str()));
        }
        Ok(())
    }
}

/// Whether `text` is `YYYY-MM-DD` naming a day of the proleptic Gregorian calendar (year
/// 0001..9999).
fn is_calendar_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !text
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
    {
        return false;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days_in_month).contains(&day)
}

/// Why an event was skipped rather than copied (not an error: the execution succeeds).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A folder marker (`a/b/`, no bytes): nothing to copy.
    FolderMarker,
    /// The key is outside `source.prefix`.
    OutsideSourcePrefix,
    /// The event is for another bucket than `source.bucket` (a rule that matches too much).
    WrongBucket,
}

impl SkipReason {
    /// The JSON value: `folder-marker`, `outside-source-prefix`, `wrong-bucket`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FolderMarker => "folder-marker",
            Self::OutsideSourcePrefix => "outside-source-prefix",
            Self::WrongBucket => "wrong-bucket",
        }
    }
}

/// What to do with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyDecision {
    /// Copy it to this key in the destination bucket.
    Copy {
        /// The destination key.
        destination_key: String,
    },
    /// Leave it alone.
    Skip {
        /// Why.
        reason: SkipReason,
        /// A sentence for the execution output.
        message: String,
    },
}

/// The routing and key rules of one pipeline, compiled once when the settings are checked (at
/// Lambda init or CLI start; [`crate::Settings::key_rules`]) and applied to every event.
#[derive(Clone, Debug)]
pub struct KeyRules {
    source_bucket: String,
    source_prefix: String,
    destination_bucket: String,
    destination_prefix: String,
    pattern: Option<KeyPattern>,
    max_key_bytes: usize,
}

impl KeyRules {
    /// The rules of a document that passed every check, with its compiled pattern (only the
    /// settings check builds them, so no value is checked again here).
    pub(crate) fn compiled(document: &SettingsDocument, pattern: Option<KeyPattern>) -> Self {
        Self {
            source_bucket: document.source.bucket.clone(),
            source_prefix: document.source.prefix.clone(),
            destination_bucket: document.destination.bucket.clone(),
            destination_prefix: document.destination_prefix().to_owned(),
            pattern,
            max_key_bytes: document.keys.max_key_bytes,
        }
    }

    /// `source.bucket`.
    pub fn source_bucket(&self) -> &str {
        &self.source_bucket
    }

    /// `destination.bucket`.
    pub fn destination_bucket(&self) -> &str {
        &self.destination_bucket
    }

    /// The destination key of `source_key` (source prefix replaced by the destination
    /// prefix), or `None` when the key is outside the source prefix. No rule is checked.
    pub fn map_key(&self, source_key: &str) -> Option<String> {
        source_key
            .strip_prefix(self.source_prefix.as_str())
            .map(|rest| format!("{}{rest}", self.destination_prefix))
    }

    /// Decides what to do with the object `key` (decoded) of `size` bytes in `bucket`.
    ///
    /// In order: another bucket or a key outside the source prefix is skipped, a folder marker
    /// is skipped, a key with a control character, not matching the pattern, mapping to an
    /// empty key or to more than `keys.maxKeyBytes` is rejected (`KeyRejected`), and a
    /// destination inside the watched range is a `ConfigurationError` (loop guard).
    pub fn evaluate(
        &self,
        bucket: &str,
        key: &str,
        size: Option<u64>,
    ) -> Result<KeyDecision, StepError> {
        if bucket != self.source_bucket {
            return Ok(KeyDecision::Skip {
                reason: SkipReason::WrongBucket,
                message: format!(
                    "the event is for bucket {bucket:?}, copyflow watches {:?}",
                    self.source_bucket
                ),
            });
        }
        let Some(relative) = key.strip_prefix(self.source_prefix.as_str()) else {
            return Ok(KeyDecision::Skip {
                reason: SkipReason::OutsideSourcePrefix,
                message: format!(
                    "{key:?} does not start with the source prefix {:?}",
                    self.source_prefix
                ),
            });
        };
        if is_folder_marker(key, size) {
            return Ok(KeyDecision::Skip {
                reason: SkipReason::FolderMarker,
                message: format!("{key:?} is a folder marker (ends with '/', no bytes)"),
            });
        }
        if let Some((index, c)) = first_control_char(key) {
            return Err(StepError::key_rejected(
                key,
                format!(
                    "it contains the control character {c:?} at byte {index}; rename the object"
                ),
            ));
        }
        if let Some(pattern) = &self.pattern {
            pattern
                .check(relative)
                .map_err(|reason| StepError::key_rejected(key, reason))?;
        }
        let destination_key = format!("{}{relative}", self.destination_prefix);
        if destination_key.is_empty() {
            return Err(StepError::key_rejected(
                key,
                "it equals the source prefix, so its destination key would be empty",
            ));
        }
        if destination_key.len() > self.max_key_bytes {
            return Err(StepError::key_rejected(
                &destination_key,
                format!(
                    "the destination key is {} bytes, over keys.maxKeyBytes = {} (S3's limit is \
                     1024): shorten destination.prefix or the key",
                    destination_key.len(),
                    self.max_key_bytes
                ),
            ));
        }
        if self.destination_bucket == self.source_bucket
            && destination_key.starts_with(self.source_prefix.as_str())
        {
            return Err(StepError::ConfigurationError(format!(
                "loop guard: s3://{}/{destination_key} is inside the watched range s3://{}/{}..., \
                 so the copy would trigger the pipeline again; fix destination.prefix",
                self.destination_bucket, self.source_bucket, self.source_prefix
            )));
        }
        Ok(KeyDecision::Copy { destination_key })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules(source_prefix: &str, destination_prefix: Option<&str>) -> KeyRules {
        rules_of("src", "dst", |d| {
            d.source.prefix = source_prefix.to_owned();
            d.destination.prefix = destination_prefix.map(str::to_owned);
        })
        .unwrap()
    }

    /// The rules of checked settings for these buckets after `edit`.
    fn rules_of(
        source: &str,
        destination: &str,
        edit: impl FnOnce(&mut SettingsDocument),
    ) -> Result<KeyRules, crate::SettingsError> {
        let mut document = SettingsDocument::new(source, destination);
        edit(&mut document);
        let settings = document.check(crate::SettingsOrigin::Built)?;
        Ok(settings.key_rules().clone())
    }

    fn copy_to(decision: KeyDecision) -> String {
        match decision {
            KeyDecision::Copy { destination_key } => destination_key,
            KeyDecision::Skip { message, .. } => panic!("skipped: {message}"),
        }
    }

    fn skip_reason(decision: KeyDecision) -> SkipReason {
        match decision {
            KeyDecision::Skip { reason, .. } => reason,
            KeyDecision::Copy { destination_key } => panic!("copied to {destination_key}"),
        }
    }

    #[test]
    fn decodes_the_documented_examples() {
        let cases = [
            ("red+flower.jpg", "red flower.jpg"),
            ("this+im+%2B+age+blah.txt", "this im + age blah.txt"),
            (
                "AjayMuralidhar/2020-04-06/12/my+task%2B1.txt",
                "AjayMuralidhar/2020-04-06/12/my task+1.txt",
            ),
            ("a+b%2Bc%2525d%3A%C3%A9/x%3D1", "a b+c%25d:é/x=1"),
            ("%E6%97%A5%E6%9C%AC/%C3%BC", "日本/ü"),
            ("a%20b%2Bc%25d", "a b+c%d"),
        ];
        for (raw, decoded) in cases {
            let key = decode_event_key(raw).unwrap();
            assert_eq!(key.decoded, decoded, "{raw}");
            assert_eq!(key.raw, raw);
            assert_eq!(key.decode_error, None);
        }
        assert!(!decode_event_key("plain/key.txt").unwrap().is_encoded());
    }

    #[test]
    fn a_key_that_is_not_valid_encoding_keeps_only_its_raw_reading() {
        for (raw, why) in [
            (
                "100%",
                "the `%` at byte 3 is not followed by two hex digits",
            ),
            (
                "50%zz",
                "the `%` at byte 2 is not followed by two hex digits",
            ),
            (
                "a+b%2",
                "the `%` at byte 3 is not followed by two hex digits",
            ),
            ("%FF", "do not decode to UTF-8"),
            ("a/%C3", "do not decode to UTF-8"),
        ] {
            let key = decode_event_key(raw).unwrap();
            assert_eq!(key.decoded, raw);
            assert!(!key.is_encoded(), "{raw}");
            let error = key.decode_error.unwrap();
            assert!(error.contains(why), "{raw}: {error}");
        }
    }

    #[test]
    fn an_empty_key_is_an_invalid_event() {
        assert_eq!(decode_event_key("").unwrap_err().name(), "InvalidEvent");
    }

    #[test]
    fn keys_quoted_in_messages_have_control_characters_escaped_and_are_cut_short() {
        assert_eq!(quote_for_message("a\u{7}\nb\"c"), r#""a\u{7}\nb\"c""#);
        let long = "é".repeat(300);
        let quoted = quote_for_message(&long);
        assert!(quoted.ends_with("... (300 characters)"), "{quoted}");
        assert_eq!(quoted.chars().filter(|c| *c == 'é').count(), 200);
    }

    #[test]
    fn copy_source_encodes_each_segment_and_keeps_slashes() {
        assert_eq!(
            copy_source("src", "etc/alternatives/c++", None),
            "src/etc/alternatives/c%2B%2B"
        );
        assert_eq!(
            copy_source(
                "src",
                "a b/é?x=1&y#z",
                Some("3HL4kqtJvjVBH40Nrjfkd.Ij2a1FRLcu")
            ),
            "src/a%20b/%C3%A9%3Fx%3D1%26y%23z?versionId=3HL4kqtJvjVBH40Nrjfkd.Ij2a1FRLcu"
        );
        assert_eq!(copy_source("src", "a~b-c_d.e", None), "src/a~b-c_d.e");
    }

    #[test]
    fn control_characters_are_found_including_del_and_c1() {
        assert_eq!(first_control_char("ok/key"), None);
        assert_eq!(first_control_char("a\tb"), Some((1, '\t')));
        assert_eq!(first_control_char("é\u{7f}"), Some((2, '\u{7f}')));
        assert_eq!(first_control_char("x\u{85}"), Some((1, '\u{85}')));
        assert_eq!(first_control_char("\u{a0}"), None);
    }

    #[test]
    fn folder_markers_end_with_a_slash_and_have_no_bytes() {
        assert!(is_folder_marker("a/b/", Some(0)));
        assert!(is_folder_marker("a/b/", None));
        assert!(!is_folder_marker("a/b/", Some(3)));
        assert!(!is_folder_marker("a/b", Some(0)));
    }

    #[test]
    fn the_default_pattern_accepts_the_hierarchy() {
        let rules = rules("", None);
        for key in [
            "AjayMuralidhar/2020-04-06/12/my-task.txt",
            "AjayMuralidhar/2020-02-29/00/my task+1.txt",
            "Zoë/2024-12-31/23/日本.txt",
        ] {
            assert_eq!(copy_to(rules.evaluate("src", key, Some(1)).unwrap()), key);
        }
    }

    #[test]
    fn the_default_pattern_rejects_other_shapes_and_impossible_dates() {
        let rules = rules("", None);
        for key in [
            "example-key",
            "AjayMuralidhar/2020-04-06/my-task.txt",
            "AjayMuralidhar/2020-04-06/12/sub/my-task.txt",
            "AjayMuralidhar/2020-4-06/12/my-task.txt",
            "AjayMuralidhar/2021-02-29/12/my-task.txt",
            "AjayMuralidhar/2020-13-01/12/my-task.txt",
            "AjayMuralidhar/0000-01-01/12/my-task.txt",
            "AjayMuralidhar/2020-04-06/24/my-task.txt",
            "AjayMuralidhar/٢٠٢٠-04-06/12/my-task.txt",
            "/2020-04-06/12/my-task.txt",
        ] {
            let error = rules.evaluate("src", key, Some(1)).unwrap_err();
            assert_eq!(error.name(), "KeyRejected", "{key}");
        }
    }

    #[test]
    fn rejects_keys_with_control_characters() {
        let error = rules("", None)
            .evaluate("src", "Ajay/2020-04-06/12/a\u{1}b.txt", Some(1))
            .unwrap_err();
        assert!(
            error.to_string().contains("control character '\\u{1}'"),
            "{error}"
        );
    }

    #[test]
    fn the_byte_limit_applies_after_mapping() {
        let rules = rules_of("src", "dst", |d| {
            d.keys.pattern = None;
            d.source.prefix = "in/".into();
            d.destination.prefix = Some("a-much-longer-prefix/".into());
        })
        .unwrap();
        let fits = format!("in/{}", "k".repeat(1024 - "a-much-longer-prefix/".len()));
        assert_eq!(
            copy_to(rules.evaluate("src", &fits, Some(1)).unwrap()).len(),
            1024
        );
        let too_long = format!("{fits}k");
        let error = rules.evaluate("src", &too_long, Some(1)).unwrap_err();
        assert_eq!(error.name(), "KeyRejected");
        assert!(error.to_string().contains("1025 bytes"), "{error}");
    }

    #[test]
    fn multibyte_keys_count_bytes_not_characters() {
        let rules = rules_of("src", "dst", |d| {
            d.keys.pattern = None;
        })
        .unwrap();
        let key = "é".repeat(512);
        assert!(rules.evaluate("src", &key, Some(1)).is_ok());
        let key = format!("{key}x");
        assert!(rules.evaluate("src", &key, Some(1)).is_err());
    }

    #[test]
    fn prefixes_are_rewritten_and_keys_outside_are_skipped() {
        let rules = rules_of("src", "dst", |d| {
            d.source.prefix = "incoming/".into();
            d.destination.prefix = Some("archive/".into());
        })
        .unwrap();
        assert_eq!(
            copy_to(
                rules
                    .evaluate("src", "incoming/Ajay/2020-04-06/12/a.txt", Some(1))
                    .unwrap()
            ),
            "archive/Ajay/2020-04-06/12/a.txt"
        );
        assert_eq!(
            skip_reason(
                rules
                    .evaluate("src", "other/Ajay/2020-04-06/12/a.txt", Some(1))
                    .unwrap()
            ),
            SkipReason::OutsideSourcePrefix
        );
        assert_eq!(rules.map_key("incoming/x").as_deref(), Some("archive/x"));
        assert_eq!(rules.map_key("x"), None);
    }

    #[test]
    fn a_null_destination_prefix_keeps_keys_unchanged() {
        let rules = rules("incoming/", None);
        assert_eq!(
            copy_to(
                rules
                    .evaluate("src", "incoming/Ajay/2020-04-06/12/a.txt", Some(1))
                    .unwrap()
            ),
            "incoming/Ajay/2020-04-06/12/a.txt"
        );
    }

    #[test]
    fn other_buckets_and_folder_markers_are_skipped() {
        let rules = rules("", None);
        assert_eq!(
            skip_reason(
                rules
                    .evaluate("other", "Ajay/2020-04-06/12/a.txt", Some(1))
                    .unwrap()
            ),
            SkipReason::WrongBucket
        );
        assert_eq!(
            skip_reason(rules.evaluate("src", "a/b/", Some(0)).unwrap()),
            SkipReason::FolderMarker
        );
    }

    #[test]
    fn a_key_equal_to_the_source_prefix_with_no_destination_prefix_is_rejected() {
        let rules = rules_of("src", "dst", |d| {
            d.keys.pattern = None;
            d.source.prefix = "in".into();
            d.destination.prefix = Some(String::new());
        })
        .unwrap();
        assert_eq!(
            rules.evaluate("src", "in", Some(1)).unwrap_err().name(),
            "KeyRejected"
        );
    }

    #[test]
    fn the_loop_guard_refuses_to_copy_into_the_watched_range() {
        // Settings refuse the loop outright...
        let refused = rules_of("same", "same", |d| {
            d.source.prefix = "in/".into();
            d.destination.prefix = Some("in/copies/".into());
        });
        assert!(refused.is_err());
        // ...and rules built around the check still never copy into the range.
        let rules = KeyRules {
            source_bucket: "same".into(),
            source_prefix: "in/".into(),
            destination_bucket: "same".into(),
            destination_prefix: "in/copies/".into(),
            pattern: None,
            max_key_bytes: 1024,
        };
        let error = rules.evaluate("same", "in/a.txt", Some(1)).unwrap_err();
        assert_eq!(error.name(), "ConfigurationError");
        assert!(error.to_string().contains("loop guard"), "{error}");
    }

    #[test]
    fn same_bucket_with_disjoint_prefixes_copies_and_ignores_its_own_output() {
        let rules = rules_of("same", "same", |d| {
            d.source.prefix = "in/".into();
            d.destination.prefix = Some("out/".into());
        })
        .unwrap();
        assert_eq!(
            copy_to(
                rules
                    .evaluate("same", "in/Ajay/2020-04-06/12/a.txt", Some(1))
                    .unwrap()
            ),
            "out/Ajay/2020-04-06/12/a.txt"
        );
        assert_eq!(
            skip_reason(
                rules
                    .evaluate("same", "out/Ajay/2020-04-06/12/a.txt", Some(1))
                    .unwrap()
            ),
            SkipReason::OutsideSourcePrefix
        );
    }

    #[test]
    fn a_custom_pattern_without_date_groups_is_not_date_checked() {
        let pattern = KeyPattern::new(r"[^/]+/\d{4}-\d{2}-\d{2}/.+").unwrap();
        assert!(pattern.check("a/2021-02-30/x").is_ok());
        assert!(pattern.check("prefix-a/2021-02-30/x").is_ok());
        assert!(KeyPattern::new("(unclosed").is_err());
    }

    #[test]
    fn the_pattern_is_anchored() {
        let pattern = KeyPattern::new("abc").unwrap();
        assert!(pattern.check("abc").is_ok());
        assert!(pattern.check("xabc").is_err());
        assert!(pattern.check("abcx").is_err());
        let alternation = KeyPattern::new("a|b").unwrap();
        assert!(alternation.check("ab").is_err());
    }

    #[test]
    fn calendar_dates_know_leap_years() {
        assert!(is_calendar_date("2024-02-29"));
        assert!(is_calendar_date("2000-02-29"));
        assert!(!is_calendar_date("1900-02-29"));
        assert!(!is_calendar_date("2023-02-29"));
        assert!(!is_calendar_date("2023-04-31"));
        assert!(!is_calendar_date("2023-00-10"));
        assert!(!is_calendar_date("2023-01-00"));
        assert!(!is_calendar_date("2023-1-010"));
    }

    /// Inverse of `copy_source`: splits at the first `?` (a literal `?` in a key is `%3F`) and
    /// the first `/` (bucket names have none), then percent-decodes.
    fn parse_copy_source(value: &str) -> (String, String, Option<String>) {
        let (path, query) = match value.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (value, None),
        };
        let (bucket, key) = path.split_once('/').unwrap();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .unwrap()
                .into_owned()
        };
        let version = query.map(|q| decode(q.strip_prefix("versionId=").unwrap()));
        (decode(bucket), decode(key), version)
    }

    fn any_key() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[ a-zA-Z0-9+%/:=?&#~*é日本\\-_.]{1,64}",]
    }

    proptest! {
        #[test]
        fn copy_source_decodes_back_to_bucket_key_and_version(
            bucket in "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
            key in any_key(),
            version in proptest::option::of("[A-Za-z0-9._]{1,32}"),
        ) {
            let value = copy_source(&bucket, &key, version.as_deref());
            prop_assert!(value.is_ascii());
            prop_assert!(value.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(parse_copy_source(&value), (bucket, key, version));
        }

        #[test]
        fn keys_without_plus_or_percent_are_their_own_decoding(key in "[^+%]{1,64}") {
            prop_assert_eq!(decode_event_key(&key).unwrap().decoded, key);
        }
    }
}
