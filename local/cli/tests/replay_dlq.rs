//! `copyflow replay-dlq` against a real SQS API (LocalStack on loopback, started by
//! ./scripts/test.sh) and the local Step Functions API of `copyflow up`: each dead-lettered
//! event starts one execution named after its id and is deleted only after it started; a
//! replay of a replayed event does nothing; a message whose execution cannot start stays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{Value, json};

mod support;
use support::{sfn, up};

fn sqs(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&support::localstack_config(endpoint))
}

/// An `Object Created` event as EventBridge dead-letters it (the body is the event).
fn event(id: &str, key: &str) -> String {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures/events/aws-doc-example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    event["id"] = json!(id);
    event["detail"]["bucket"]["name"] = json!("copyflow-source");
    event["detail"]["object"]["key"] = json!(key);
    event.to_string()
}

/// `copyflow replay-dlq` with the queue on LocalStack and Step Functions at `sfn_endpoint`.
fn replay(
    config: &Path,
    sqs_endpoint: &str,
    sfn_endpoint: &str,
    queue: &str,
    extra: &[&str],
) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(config)
        .args([
            "replay-dlq",
            "--queue-url",
            queue,
            "--sqs-endpoint-url",
            sqs_endpoint,
        ])
        .args(["--endpoint-url", sfn_endpoint])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Messages in the queue, visible or not.
async fn depth(sqs: &aws_sdk_sqs::Client, queue: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| attrs.get(a).map_or(0, |v| v.parse::<u64>().unwrap()))
    .sum()
}

#[test]
fn replay_dlq_starts_one_execution_per_event_and_deletes_only_what_started() {
    let Some(localstack) = support::localstack_endpoint("replay-dlq against SQS") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (config, _, sfn_endpoint) = support::config(dir.path(), |_| {});
    let _up = up(&config);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sqs = sqs(&localstack);
    let queue = runtime.block_on(async {
        let queue = sqs
            .create_queue()
            .queue_name(format!("copyflow-dlq-{}", std::process::id()))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        for (id, key) in [
            (
                "11111111-aaaa-bbbb-cccc-000000000001",
                "AjayMuralidhar/2020-04-06/12/dlq-1.txt",
            ),
            (
                "11111111-aaaa-bbbb-cccc-000000000002",
                "AjayMuralidhar/2020-04-06/12/dlq-2.txt",
            ),
        ] {
            sqs.send_message()
                .queue_url(&queue)
                .message_body(event(id, key))
                .send()
                .await
                .unwrap();
        }
        queue
    });

    // No such state machine: nothing starts, so nothing is deleted.
    let (ok, out) = replay(
        &config,
        &localstack,
        &sfn_endpoint,
        &queue,
        &[
            "--state-machine-arn",
            "arn:aws:states:us-east-1:000000000000:stateMachine:nope",
        ],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "0 executions started, 0 already started earlier, 2 messages left in the queue"
        ),
        "{out}"
    );
    assert!(
        out.contains("2: StartExecution: StateMachineDoesNotExist"),
        "{out}"
    );
    assert_eq!(runtime.block_on(depth(&sqs, &queue)), 2);

    // The real one: both start, both are deleted (the kept ones were made visible again).
    let (ok, out) = replay(&config, &localstack, &sfn_endpoint, &queue, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("2 executions started, 0 already started earlier, 0 messages left"),
        "{out}"
    );
    assert_eq!(runtime.block_on(depth(&sqs, &queue)), 0);
    let names: Vec<String> = runtime.block_on(async {
        let client = sfn(&sfn_endpoint);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let all = support::executions(&client).await;
            if all.len() == 2
                && all.iter().all(|e| {
                    *e.status() == ExecutionStatus::Failed
                        || *e.status() == ExecutionStatus::Succeeded
                })
            {
                break all.iter().map(|e| e.name().to_owned()).collect();
            }
            assert!(Instant::now() < deadline, "executions: {all:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        [
            "dlq-11111111-aaaa-bbbb-cccc-000000000001",
            "dlq-11111111-aaaa-bbbb-cccc-000000000002"
        ]
    );

    // An empty queue: nothing to do.
    let (ok, out) = replay(&config, &localstack, &sfn_endpoint, &queue, &[]);
    assert!(
        ok && out.contains("0 executions started, 0 already started earlier, 0 messages"),
        "{out}"
    );

    // The same event dead-lettered again (or a crash between start and delete): its execution
    // exists, so the message is done and deleted, and no second execution starts; a body that
    // is not an event stays.
    runtime.block_on(async {
        for body in [
            event(
                "11111111-aaaa-bbbb-cccc-000000000001",
                "AjayMuralidhar/2020-04-06/12/dlq-1.txt",
            ),
            "not an event".to_owned(),
        ] {
            sqs.send_message()
                .queue_url(&queue)
                .message_body(body)
                .send()
                .await
                .unwrap();
        }
    });
    let (ok, out) = replay(&config, &localstack, &sfn_endpoint, &queue, &[]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "0 executions started, 1 already started earlier, 1 messages left in the queue"
        ),
        "{out}"
    );
    assert!(
        out.contains("1: the message body is not an EventBridge event with an id"),
        "{out}"
    );
    assert_eq!(runtime.block_on(depth(&sqs, &queue)), 1);
    assert_eq!(
        runtime
            .block_on(support::executions(&sfn(&sfn_endpoint)))
            .len(),
        2
    );
}

/// A stack shaped like the CDK app's outputs: the state machine's ARN and the DLQ's URL.
fn template() -> String {
    json!({
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "STANDARD",
                    "RoleArn": "arn:aws:iam::000000000000:role/copyflow",
                    "DefinitionString": r#"{"StartAt":"Copied","States":{"Copied":{"Type":"Succeed"}}}"#
                }
            }
        },
        "Outputs": {
            "StateMachineArn": {"Value": {"Ref": "Machine"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "Queue"}}
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dlq_with_aws_finds_the_queue_and_the_state_machine_through_the_stack() {
    let Some(localstack) = support::localstack_endpoint("replay-dlq against SQS") else {
        return;
    };
    let config = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(copyflow_core::s3::https_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::SharedCredentialsProvider::new(
            Credentials::new("test", "test", None, None, "localstack"),
        ))
        .endpoint_url(&localstack)
        .build();
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stack = format!("CopyflowReplay{}", std::process::id());
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(template())
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let outputs = loop {
        let out = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let s = &out.stacks()[0];
        match s.stack_status() {
            Some(aws_sdk_cloudformation::types::StackStatus::CreateComplete) => {
                break s
                    .outputs()
                    .iter()
                    .map(|o| {
                        (
                            o.output_key().unwrap().to_owned(),
                            o.output_value().unwrap().to_owned(),
                        )
                    })
                    .collect::<std::collections::BTreeMap<_, _>>();
            }
            Some(aws_sdk_cloudformation::types::StackStatus::CreateInProgress) => {}
            other => panic!("stack {stack}: {other:?} {:?}", s.stack_status_reason()),
        }
        assert!(
            Instant::now() < deadline,
            "stack {stack} not created in time"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let (queue, machine) = (&outputs["DeadLetterQueueUrl"], &outputs["StateMachineArn"]);
    let id = format!("22222222-aaaa-bbbb-cccc-{:012}", std::process::id());
    sqs(&localstack)
        .send_message()
        .queue_url(queue)
        .message_body(event(&id, "AjayMuralidhar/2020-04-06/12/aws.txt"))
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (config_path, _, _) = support::config(dir.path(), |s| {
        s["deploy"]["stackName"] = json!(stack);
    });
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(&config_path)
        .args(["replay-dlq", "--aws"])
        .env("AWS_ENDPOINT_URL", &localstack)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 executions started, 0 already started earlier, 0 messages left"),
        "{text}"
    );
    assert_eq!(depth(&sqs(&localstack), queue).await, 0);
    let sfn = aws_sdk_sfn::Client::new(&config);
    let listed = sfn
        .list_executions()
        .state_machine_arn(machine)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, [format!("dlq-{id}")], "{names:?}");
}
