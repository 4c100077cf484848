//! The local router applies the rule the CDK app deploys: with an event-safe `source.prefix`,
//! a key outside it starts no execution locally, as on AWS, where EventBridge never delivers
//! its event (it used to start a `Skipped` execution here only). The buckets are versioned as
//! the CDK app deploys them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::json;

mod support;
use support::{s3, sfn, up};

const OUTSIDE: &str = "elsewhere/AjayMuralidhar/2020-04-06/12/not-watched.txt";
const INSIDE: &str = "uploads/AjayMuralidhar/2020-04-06/12/watched.txt";

#[test]
fn a_key_outside_the_source_prefix_starts_no_execution_and_copies_are_version_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let (config, s3_endpoint, sfn_endpoint) = support::config(dir.path(), |s| {
        s["source"]["prefix"] = json!("uploads/");
    });
    let _up = up(&config);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s3 = s3(&s3_endpoint);
        // The outside key first: the router takes events in order, so once the inside key's
        // execution exists, the outside key's event has been routed too.
        for key in [OUTSIDE, INSIDE] {
            s3.put_object()
                .bucket("copyflow-source")
                .key(key)
                .body(ByteStream::from_static(b"bytes"))
                .send()
                .await
                .unwrap();
        }
        let sfn = sfn(&sfn_endpoint);
        let deadline = Instant::now() + Duration::from_secs(60);
        let executions = loop {
            let all = support::executions(&sfn).await;
            if all
                .iter()
                .any(|e| *e.status() == ExecutionStatus::Succeeded)
            {
                break all;
            }
            assert!(Instant::now() < deadline, "no execution succeeded: {all:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(executions.len(), 1, "{executions:?}");
        let copied = s3
            .list_objects_v2()
            .bucket("copyflow-destination")
            .send()
            .await
            .unwrap();
        let keys: Vec<&str> = copied.contents().iter().filter_map(|o| o.key()).collect();
        assert_eq!(keys, [INSIDE]);

        // The buckets are versioned as deployed, so the event names a version and the copy
        // is pinned to it.
        let described = sfn
            .describe_execution()
            .execution_arn(executions[0].execution_arn())
            .send()
            .await
            .unwrap();
        let input: serde_json::Value =
            serde_json::from_str(described.input().unwrap_or("{}")).unwrap();
        let source_version = s3
            .head_object()
            .bucket("copyflow-source")
            .key(INSIDE)
            .send()
            .await
            .unwrap()
            .version_id()
            .map(str::to_owned);
        assert!(source_version.as_deref().is_some_and(|v| v != "null"));
        assert_eq!(
            input["detail"]["object"]["version-id"].as_str(),
            source_version.as_deref()
        );
        let destination = s3
            .head_object()
            .bucket("copyflow-destination")
            .key(INSIDE)
            .send()
            .await
            .unwrap();
        assert!(destination.version_id().is_some_and(|v| v != "null"));
    });
}
