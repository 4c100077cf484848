//! `--aws` against real CloudFormation and Step Functions APIs (LocalStack on loopback, started
//! by ./scripts/test.sh): the views find the state machine through the deployed stack's
//! `StateMachineArn` output, whose name CloudFormation generates without "copyflow", with the
//! stack name from `deploy.stackName` or `--stack-name`; an Express state machine is answered
//! with where its executions are; a missing stack is one line that says what to do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::StackStatus;

mod support;

const KEY: &str = "AjayMuralidhar/2020-04-06/12/looked-up.txt";

/// A stack shaped like the CDK app's: a generated state-machine name and the ARN as an output.
fn template(kind: &str) -> String {
    let definition = r#"{"StartAt":"Copied","States":{"Copied":{"Type":"Succeed"}}}"#;
    serde_json::json!({
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": format!("/copyflow/{kind}/{}", std::process::id())}},
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": kind,
                    "RoleArn": "arn:aws:iam::000000000000:role/copyflow",
                    "DefinitionString": definition,
                    "LoggingConfiguration": {
                        "Level": "ALL",
                        "IncludeExecutionData": false,
                        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["Logs", "Arn"]}}}]
                    }
                }
            }
        },
        "Outputs": {"StateMachineArn": {"Value": {"Ref": "Machine"}}}
    })
    .to_string()
}

/// Creates the stack and returns its StateMachineArn output once it is complete.
async fn deploy(cfn: &aws_sdk_cloudformation::Client, name: &str, kind: &str) -> String {
    cfn.create_stack()
        .stack_name(name)
        .template_body(template(kind))
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = cfn.describe_stacks().stack_name(name).send().await.unwrap();
        let stack = &out.stacks()[0];
        match stack.stack_status() {
            Some(StackStatus::CreateComplete) => {
                return stack.outputs()[0].output_value().unwrap().to_owned();
            }
            Some(StackStatus::CreateInProgress) => {}
            other => panic!("stack {name}: {other:?} {:?}", stack.stack_status_reason()),
        }
        assert!(
            Instant::now() < deadline,
            "stack {name} not created in time"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `copyflow <args> --aws` with the AWS environment pointing at LocalStack.
fn copyflow_aws(config: &Path, endpoint: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_copyflow"))
        .arg("--config")
        .arg(config)
        .args(args)
        .arg("--aws")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_views_find_the_state_machine_through_the_stack_and_explain_express() {
    let Some(endpoint) = support::localstack_endpoint("the --aws stack lookup") else {
        return;
    };
    let config = support::localstack_config(&endpoint);
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let sfn = aws_sdk_sfn::Client::new(&config);
    // Unique names: the LocalStack instance is shared by the whole test run.
    let suffix = std::process::id();
    let (standard_stack, express_stack) = (
        format!("CopyflowLookup{suffix}"),
        format!("ExpressLookup{suffix}"),
    );
    let standard = deploy(&cfn, &standard_stack, "STANDARD").await;
    let express = deploy(&cfn, &express_stack, "EXPRESS").await;
    assert!(
        !standard.to_ascii_lowercase().contains("copyflow-"),
        "CloudFormation named it {standard}"
    );

    let name = format!("looked-up-{suffix}");
    let input = serde_json::json!({"detail": {"bucket": {"name": "copyflow-source"}, "object": {"key": KEY, "size": 3}}});
    sfn.start_execution()
        .state_machine_arn(&standard)
        .name(&name)
        .input(input.to_string())
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (config_path, _, _) = support::config(dir.path(), |s| {
        s["deploy"]["stackName"] = serde_json::json!(standard_stack);
    });

    // The stack name comes from deploy.stackName: no --stack-name, no --state-machine-arn.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, out) = copyflow_aws(&config_path, &endpoint, &["executions"]);
        assert!(ok, "{out}");
        if out.contains(KEY) && out.contains("SUCCEEDED") {
            break;
        }
        assert!(Instant::now() < deadline, "execution not listed: {out}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (ok, out) = copyflow_aws(&config_path, &endpoint, &["history", &name]);
    assert!(ok && out.contains("Copied"), "{out}");

    // --stack-name wins over the settings; Express says where its executions are.
    for args in [
        &["executions", "--stack-name", &express_stack][..],
        &["redrive", "--failed", "--stack-name", &express_stack][..],
    ] {
        let (ok, out) = copyflow_aws(&config_path, &endpoint, args);
        assert!(!ok, "{args:?}: {out}");
        assert!(
            out.contains(&format!(
                "{} is an EXPRESS state machine",
                express.rsplit(':').next().unwrap()
            )) && out.contains("CloudWatch Logs (arn:aws:logs:")
                && out.contains("/copyflow/EXPRESS"),
            "{args:?}: {out}"
        );
        assert_eq!(out.trim_end().lines().count(), 1, "{args:?}: {out}");
    }

    let (ok, out) = copyflow_aws(
        &config_path,
        &endpoint,
        &["executions", "--stack-name", "NoSuchCopyflowStack"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("DescribeStacks NoSuchCopyflowStack: ValidationError")
            && out.contains("--state-machine-arn")
            && out.trim_end().lines().count() == 1,
        "{out}"
    );
}
