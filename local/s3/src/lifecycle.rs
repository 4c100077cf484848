//! Bucket lifecycle rules, limited to AbortIncompleteMultipartUpload: validating what a client
//! sends (AWS's errors), computing when an upload is due, and the sweep that aborts due uploads.
//!
//! Abandoned multipart uploads keep their parts on disk for ever; the one lifecycle action
//! copyflow's buckets need is the one that reclaims them. AWS counts `DaysAfterInitiation`
//! from the upload's initiation and rounds the resulting time up to the next midnight UTC
//! ([`abort_deadline`]). Every other action answers `NotImplemented`, so a configuration is
//! never silently half-applied.

use s3s::dto;
use s3s::{S3Result, s3_error};
use time::{Duration, OffsetDateTime, Time};

use crate::store::Store;
use crate::store::model::{LifecycleRule, RuleScope, Upload};

/// AWS's limit on rules per configuration.
const MAX_RULES: usize = 1000;
/// AWS's limit on a rule ID.
const MAX_ID_LEN: usize = 255;

/// When an upload initiated at `initiated` is aborted by a rule of `days` days: the
/// initiation plus `days`, rounded up to the next midnight UTC (an instant already at
/// midnight stays).
#[must_use]
pub(crate) fn abort_deadline(initiated: OffsetDateTime, days: u32) -> OffsetDateTime {
    let due = initiated.to_offset(time::UtcOffset::UTC) + Duration::days(i64::from(days));
    let midnight = due.replace_time(Time::MIDNIGHT);
    if midnight == due {
        due
    } else {
        midnight + Duration::days(1)
    }
}

/// Whether an enabled rule aborts an upload of `key` initiated at `initiated`, at `now`.
#[must_use]
pub(crate) fn is_due(
    rules: &[LifecycleRule],
    key: &str,
    initiated: OffsetDateTime,
    now: OffsetDateTime,
) -> bool {
    rules.iter().any(|r| {
        r.enabled
            && key.starts_with(r.scope.prefix())
            && now >= abort_deadline(initiated, r.abort_after_days)
    })
}

fn initiated_at(upload: &Upload) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(upload.initiated_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Aborts every upload an enabled rule of its bucket makes due at `now`, freeing its parts.
/// Returns how many it aborted.
pub(crate) async fn sweep(store: &Store, now: OffsetDateTime) -> usize {
    let mut aborted = 0;
    for bucket in store.buckets() {
        let Some(rules) = bucket.lifecycle() else {
            continue;
        };
        for upload in store.uploads_in(&bucket.name) {
            if !is_due(&rules, &upload.key, initiated_at(&upload), now) {
                continue;
            }
            // A concurrent Complete or Abort may have won; that is fine.
            if store
                .abort_upload(&bucket.name, &upload.upload_id)
                .await
                .is_ok()
            {
                tracing::info!(
                    bucket = %bucket.name,
                    key = %upload.key,
                    upload_id = %upload.upload_id,
                    "lifecycle aborted an incomplete multipart upload"
                );
                aborted += 1;
            }
        }
    }
    aborted
}

fn not_implemented(what: &str) -> s3s::S3Error {
    s3_error!(
        NotImplemented,
        "{what} is not implemented: copyflow-s3 supports only the AbortIncompleteMultipartUpload lifecycle action"
    )
}

/// A configuration from PutBucketLifecycleConfiguration, checked as AWS checks it.
pub(crate) fn rules_from_dto(
    config: Option<dto::BucketLifecycleConfiguration>,
) -> S3Result<Vec<LifecycleRule>> {
    let config = config.ok_or_else(|| {
        s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        )
    })?;
    if config.rules.is_empty() || config.rules.len() > MAX_RULES {
        return Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        ));
    }
    let mut rules: Vec<LifecycleRule> = Vec::with_capacity(config.rules.len());
    for rule in config.rules {
        let rule = rule_from_dto(rule)?;
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(s3_error!(
                InvalidArgument,
                "Rule ID must be unique. Found same ID for more than one rule"
            ));
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn rule_from_dto(rule: dto::LifecycleRule) -> S3Result<LifecycleRule> {
    if rule.expiration.is_some() {
        return Err(not_implemented("The Expiration action"));
    }
    if rule.transitions.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(not_implemented("The Transition action"));
    }
    if rule.noncurrent_version_expiration.is_some() {
        return Err(not_implemented("The NoncurrentVersionExpiration action"));
    }
    if rule
        .noncurrent_version_transitions
        .as_ref()
        .is_some_and(|t| !t.is_empty())
    {
        return Err(not_implemented("The NoncurrentVersionTransition action"));
    }
    let enabled = match rule.status.as_str() {
        dto::ExpirationStatus::ENABLED => true,
        dto::ExpirationStatus::DISABLED => false,
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
    };
    let id = match rule.id {
        Some(id) if id.len() > MAX_ID_LEN => {
            return Err(s3_error!(
                InvalidArgument,
                "ID length should not exceed allowed limit of 255"
            ));
        }
        Some(id) if !id.is_empty() => id,
        // S3 names rules that come without an ID.
        _ => base64_simd::STANDARD.encode_to_string(uuid::Uuid::new_v4().to_string()),
    };
    let scope = match (rule.filter, rule.prefix) {
        (Some(_), Some(_)) => {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        (Some(filter), None) => scope_of_filter(filter)?,
        (None, Some(prefix)) => RuleScope::Prefix(prefix),
        (None, None) => RuleScope::Filter(None),
    };
    let days = rule
        .abort_incomplete_multipart_upload
        .ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "At least one action needs to be specified in a rule"
            )
        })?
        .days_after_initiation
        .and_then(|d| u32::try_from(d).ok())
        .filter(|d| *d >= 1)
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"
            )
        })?;
    Ok(LifecycleRule {
        id,
        enabled,
        scope,
        abort_after_days: days,
    })
}

fn scope_of_filter(filter: dto::LifecycleRuleFilter) -> S3Result<RuleScope> {
    if filter.tag.is_some() || filter.and.as_ref().is_some_and(|a| a.tags.is_some()) {
        return Err(s3_error!(
            InvalidRequest,
            "Tag-based filter cannot be used with AbortIncompleteMultipartUpload action"
        ));
    }
    if filter.and.is_some()
        || filter.object_size_greater_than.is_some()
        || filter.object_size_less_than.is_some()
    {
        return Err(not_implemented("A lifecycle filter other than Prefix"));
    }
    Ok(RuleScope::Filter(filter.prefix))
}

/// The configuration as GetBucketLifecycleConfiguration returns it.
#[must_use]
pub(crate) fn rules_to_dto(rules: &[LifecycleRule]) -> Vec<dto::LifecycleRule> {
    rules
        .iter()
        .map(|r| {
            let (filter, prefix) = match &r.scope {
                RuleScope::Filter(p) => (
                    Some(dto::LifecycleRuleFilter {
                        prefix: p.clone(),
                        ..Default::default()
                    }),
                    None,
                ),
                RuleScope::Prefix(p) => (None, Some(p.clone())),
            };
            dto::LifecycleRule {
                abort_incomplete_multipart_upload: Some(dto::AbortIncompleteMultipartUpload {
                    days_after_initiation: i32::try_from(r.abort_after_days).ok(),
                }),
                expiration: None,
                filter,
                id: Some(r.id.clone()),
                noncurrent_version_expiration: None,
                noncurrent_version_transitions: None,
                prefix,
                status: dto::ExpirationStatus::from_static(if r.enabled {
                    dto::ExpirationStatus::ENABLED
                } else {
                    dto::ExpirationStatus::DISABLED
                }),
                transitions: None,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn abort_rule(prefix: &str, days: i32) -> dto::LifecycleRule {
        dto::LifecycleRule {
            abort_incomplete_multipart_upload: Some(dto::AbortIncompleteMultipartUpload {
                days_after_initiation: Some(days),
            }),
            expiration: None,
            filter: Some(dto::LifecycleRuleFilter {
                prefix: Some(prefix.to_owned()),
                ..Default::default()
            }),
            id: Some(format!("abort-{prefix}")),
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            status: dto::ExpirationStatus::from_static(dto::ExpirationStatus::ENABLED),
            transitions: None,
        }
    }

    fn config(rules: Vec<dto::LifecycleRule>) -> Option<dto::BucketLifecycleConfiguration> {
        Some(dto::BucketLifecycleConfiguration { rules })
    }

    fn code(r: S3Result<Vec<LifecycleRule>>) -> String {
        r.unwrap_err().code().as_str().to_owned()
    }

    #[test]
    fn the_deadline_is_initiation_plus_days_rounded_up_to_the_next_midnight_utc() {
        // The AWS example: created 2014-01-15 10:30 UTC, 3 days -> 2014-01-19 00:00 UTC.
        assert_eq!(
            abort_deadline(datetime!(2014-01-15 10:30 UTC), 3),
            datetime!(2014-01-19 00:00 UTC)
        );
        assert_eq!(
            abort_deadline(datetime!(2014-01-15 23:59:59 UTC), 1),
            datetime!(2014-01-17 00:00 UTC)
        );
    }

    #[test]
    fn a_deadline_already_at_midnight_stays_there() {
        assert_eq!(
            abort_deadline(datetime!(2014-01-15 00:00 UTC), 1),
            datetime!(2014-01-16 00:00 UTC)
        );
    }

    #[test]
    fn the_deadline_is_computed_in_utc_whatever_the_offset() {
        assert_eq!(
            abort_deadline(datetime!(2014-01-15 22:30 -05:00), 1),
            datetime!(2014-01-18 00:00 UTC)
        );
    }

    #[test]
    fn an_upload_is_due_from_its_deadline_under_an_enabled_rule_whose_prefix_matches() {
        let rules = rules_from_dto(config(vec![abort_rule("tmp/", 1)])).unwrap();
        let initiated = datetime!(2024-03-01 12:00 UTC);
        assert!(!is_due(
            &rules,
            "tmp/a",
            initiated,
            datetime!(2024-03-02 23:59:59 UTC)
        ));
        assert!(is_due(
            &rules,
            "tmp/a",
            initiated,
            datetime!(2024-03-03 00:00 UTC)
        ));
        assert!(!is_due(
            &rules,
            "keep/a",
            initiated,
            datetime!(2030-01-01 00:00 UTC)
        ));
        let mut disabled = rules.clone();
        disabled[0].enabled = false;
        assert!(!is_due(
            &disabled,
            "tmp/a",
            initiated,
            datetime!(2030-01-01 00:00 UTC)
        ));
    }

    #[test]
    fn filter_prefix_legacy_prefix_and_empty_filter_round_trip() {
        let mut legacy = abort_rule("x", 2);
        legacy.filter = None;
        legacy.prefix = Some("old/".to_owned());
        legacy.id = Some("legacy".to_owned());
        let mut empty = abort_rule("y", 3);
        empty.filter = Some(dto::LifecycleRuleFilter::default());
        empty.id = Some("everything".to_owned());
        let sent = vec![abort_rule("new/", 1), legacy, empty];
        let rules = rules_from_dto(config(sent.clone())).unwrap();
        assert_eq!(rules[1].scope, RuleScope::Prefix("old/".to_owned()));
        assert_eq!(rules[2].scope.prefix(), "");
        assert_eq!(rules_to_dto(&rules), sent);
    }

    #[test]
    fn a_rule_without_an_id_gets_one() {
        let mut rule = abort_rule("p/", 1);
        rule.id = None;
        let rules = rules_from_dto(config(vec![rule])).unwrap();
        assert!(!rules[0].id.is_empty());
    }

    #[test]
    fn days_after_initiation_below_one_is_invalid_argument() {
        for days in [0, -1] {
            let err = rules_from_dto(config(vec![abort_rule("p/", days)])).unwrap_err();
            assert_eq!(err.code().as_str(), "InvalidArgument");
            assert_eq!(
                err.message(),
                Some(
                    "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"
                )
            );
        }
    }

    #[test]
    fn other_actions_are_not_implemented_and_say_what_is_supported() {
        let mut rule = abort_rule("p/", 1);
        rule.expiration = Some(dto::LifecycleExpiration {
            days: Some(30),
            ..Default::default()
        });
        let err = rules_from_dto(config(vec![rule])).unwrap_err();
        assert_eq!(err.code().as_str(), "NotImplemented");
        assert!(
            err.message()
                .unwrap()
                .contains("only the AbortIncompleteMultipartUpload")
        );
    }

    #[test]
    fn bad_configurations_get_aws_errors() {
        assert_eq!(code(rules_from_dto(None)), "MalformedXML");
        assert_eq!(code(rules_from_dto(config(vec![]))), "MalformedXML");
        let mut both = abort_rule("p/", 1);
        both.prefix = Some("p/".to_owned());
        assert_eq!(code(rules_from_dto(config(vec![both]))), "MalformedXML");
        let mut status = abort_rule("p/", 1);
        status.status = dto::ExpirationStatus::from("Maybe".to_owned());
        assert_eq!(code(rules_from_dto(config(vec![status]))), "MalformedXML");
        let mut no_action = abort_rule("p/", 1);
        no_action.abort_incomplete_multipart_upload = None;
        assert_eq!(
            code(rules_from_dto(config(vec![no_action]))),
            "InvalidRequest"
        );
        let dup = vec![abort_rule("p/", 1), abort_rule("p/", 2)];
        assert_eq!(code(rules_from_dto(config(dup))), "InvalidArgument");
        let mut long = abort_rule("p/", 1);
        long.id = Some("x".repeat(256));
        assert_eq!(code(rules_from_dto(config(vec![long]))), "InvalidArgument");
        let mut tagged = abort_rule("p/", 1);
        tagged.filter = Some(dto::LifecycleRuleFilter {
            tag: Some(dto::Tag {
                key: Some("k".to_owned()),
                value: Some("v".to_owned()),
            }),
            ..Default::default()
        });
        assert_eq!(code(rules_from_dto(config(vec![tagged]))), "InvalidRequest");
    }
}
