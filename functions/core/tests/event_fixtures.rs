//! The validate-key step over the committed fixtures of real event shapes
//! (`tests/fixtures/events/` at the repository root).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use copyflow_core::event::{self, ObjectCreatedEvent};
use copyflow_core::keys::{KeyRules, SkipReason};
use copyflow_core::plan::{self, CopyPlan, PlanOptions};
use copyflow_core::{
    CopyJob, Settings, SettingsDocument, SettingsOrigin, ValidateOutput, validate,
};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events")
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The repository's own settings (`copyflow.json`): source `copyflow-source`, default rules.
fn rules() -> KeyRules {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../copyflow.json");
    Settings::from_file(&path).unwrap().key_rules().clone()
}

/// Rules for the bucket of the AWS documentation examples, any key.
fn doc_bucket_rules() -> KeyRules {
    let mut document = SettingsDocument::new("amzn-s3-demo-bucket1", "copyflow-destination");
    document.keys.pattern = None;
    let settings = document.check(SettingsOrigin::Built).unwrap();
    settings.key_rules().clone()
}

fn job(output: ValidateOutput) -> CopyJob {
    match output {
        ValidateOutput::Copy { job } => job,
        ValidateOutput::Skip { reason, message } => panic!("skipped ({reason:?}): {message}"),
    }
}

#[test]
fn every_well_formed_fixture_parses_and_round_trips() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with("malformed") {
            continue;
        }
        let parsed: ObjectCreatedEvent = event::parse(&fixture(&name)).unwrap();
        let again = event::parse(&serde_json::to_value(&parsed).unwrap()).unwrap();
        assert_eq!(again, parsed, "{name}");
        seen += 1;
    }
    assert_eq!(seen, 7);
}

#[test]
fn the_aws_documentation_example_becomes_a_pinned_copy_job() {
    let value = fixture("aws-doc-example.json");
    let parsed = event::parse(&value).unwrap();
    assert_eq!(parsed.detail.reason.as_deref(), Some("PutObject"));
    assert_eq!(parsed.detail.source_ip_address.as_deref(), Some("1.2.3.4"));
    assert_eq!(parsed.account.as_deref(), Some("000000000000"));

    let job = job(validate(&value, &doc_bucket_rules()).unwrap());
    assert_eq!(job.source.bucket, "amzn-s3-demo-bucket1");
    assert_eq!(job.source.key, "example-key");
    assert_eq!(job.source.size, Some(5));
    assert_eq!(
        job.source.etag.as_deref(),
        Some("b1946ac92492d2347c6235b4d2611184")
    );
    assert_eq!(job.source.sequencer.as_deref(), Some("617f08299329d189"));
    assert_eq!(
        job.copy_source(),
        "amzn-s3-demo-bucket1/example-key?versionId=IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    );
    assert_eq!(job.event_id, "17793124-05d4-b198-2fde-7ededc63b103");
    assert_eq!(job.event_time, "2021-11-12T00:00:00Z");
}

#[test]
fn an_event_from_another_bucket_is_skipped() {
    let output = validate(&fixture("aws-doc-example.json"), &rules()).unwrap();
    assert!(matches!(
        output,
        ValidateOutput::Skip {
            reason: SkipReason::WrongBucket,
            ..
        }
    ));
}

#[test]
fn a_multipart_upload_keeps_its_part_count_etag_and_plans_by_size() {
    let value = fixture("multipart.json");
    let parsed = event::parse(&value).unwrap();
    assert_eq!(
        parsed.detail.reason.as_deref(),
        Some("CompleteMultipartUpload")
    );
    let job = job(validate(&value, &rules()).unwrap());
    assert_eq!(
        job.source.etag.as_deref(),
        Some("4af981f98d22a0b9979da24b259e5e42-12")
    );
    assert_eq!(job.source.version_id, None);
    assert_eq!(
        job.copy_source(),
        "copyflow-source/AjayMuralidhar/2020-04-06/12/recording.mp4"
    );
    let size = job.source.size.unwrap();
    assert_eq!(
        plan::plan_copy(size, &PlanOptions::default()).unwrap(),
        CopyPlan::Single { size }
    );
    let low = PlanOptions::new(8 * plan::MIB, 16 * plan::MIB).unwrap();
    assert_eq!(plan::plan_copy(size, &low).unwrap().requests(), 12);
}

#[test]
fn a_versioned_event_pins_the_version() {
    let value = fixture("versioned.json");
    let parsed = event::parse(&value).unwrap();
    assert_eq!(parsed.detail.event_version.as_deref(), Some("1.0"));
    let job = job(validate(&value, &rules()).unwrap());
    assert_eq!(
        job.source.version_id.as_deref(),
        Some("3HL4kqtJvjVBH40Nrjfkd.Ij2a1FRLcu")
    );
    assert_eq!(
        job.destination.key,
        "AjayMuralidhar/2020-04-06/12/my-task.txt"
    );
    assert_eq!(
        job.copy_source(),
        "copyflow-source/AjayMuralidhar/2020-04-06/12/my-task.txt?versionId=3HL4kqtJvjVBH40Nrjfkd.Ij2a1FRLcu"
    );
}

#[test]
fn an_encoded_key_is_decoded_with_the_raw_key_as_fallback() {
    let job = job(validate(&fixture("encoded-key.json"), &rules()).unwrap());
    assert_eq!(job.source.key, "AjayMuralidhar/2020-04-06/12/my task+1.txt");
    assert_eq!(
        job.source.raw_key,
        "AjayMuralidhar/2020-04-06/12/my+task%2B1.txt"
    );
    assert_eq!(
        job.destination.key,
        "AjayMuralidhar/2020-04-06/12/my task+1.txt"
    );
    assert_eq!(
        job.raw_fallback(),
        Some((
            "AjayMuralidhar/2020-04-06/12/my+task%2B1.txt",
            "AjayMuralidhar/2020-04-06/12/my+task%2B1.txt"
        ))
    );
    assert_eq!(
        job.copy_source(),
        "copyflow-source/AjayMuralidhar/2020-04-06/12/my%20task%2B1.txt"
    );
}

#[test]
fn a_replayed_event_is_copied_like_any_other() {
    let value = fixture("replayed.json");
    assert_eq!(
        event::replay_name(&value),
        Some("copyflow-redrive-2025-06-03")
    );
    let parsed = event::parse(&value).unwrap();
    assert_eq!(parsed.detail.source_ip_address, None);
    let job = job(validate(&value, &rules()).unwrap());
    assert_eq!(job.source.key, "PriyaNair/2025-06-02/08/notes.md");
    assert_eq!(event::replay_name(&fixture("versioned.json")), None);
}

#[test]
fn a_folder_marker_is_skipped() {
    let output = validate(&fixture("folder-marker.json"), &rules()).unwrap();
    assert_eq!(
        serde_json::to_value(&output).unwrap()["reason"],
        "folder-marker"
    );
}

#[test]
fn an_object_deleted_event_is_an_invalid_event() {
    let error = validate(&fixture("object-deleted.json"), &doc_bucket_rules()).unwrap_err();
    assert_eq!(error.name(), "InvalidEvent");
    assert!(error.to_string().contains("Object Deleted"), "{error}");
}

#[test]
fn an_event_without_a_key_is_an_invalid_event_naming_the_field() {
    let error = validate(&fixture("malformed-no-key.json"), &rules()).unwrap_err();
    assert_eq!(error.name(), "InvalidEvent");
    assert!(
        error
            .to_string()
            .contains("detail.object: missing field `key`"),
        "{error}"
    );
}

#[test]
fn a_key_outside_the_hierarchy_is_rejected() {
    let mut value = fixture("versioned.json");
    value["detail"]["object"]["key"] = "loose-file.txt".into();
    let error = validate(&value, &rules()).unwrap_err();
    assert_eq!(error.name(), "KeyRejected");
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "KeyRejected");
    assert!(diagnostic.error_message.contains("loose-file.txt"));
}
