// The state machine: the ASL file as written (lib/definition.ts), with CloudFormation putting
// the three function ARNs in for its placeholders; every execution logged and traced.

import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Definition } from './definition';
import { acknowledge, LOG_GROUP_KMS_REASON, skipCheckov } from './nag';
import { DeploySettings, STEPS, StepKey } from './settings';

/** Adds the state machine and its log group to `scope`. */
export function addStateMachine(
  scope: Construct,
  definition: Definition,
  functions: Readonly<Record<StepKey, lambda.IFunction>>,
  deploy: DeploySettings,
): sfn.StateMachine {
  const stateMachineLogs = new logs.LogGroup(scope, 'StateMachineLogs', {
    // The /aws/vendedlogs/ prefix keeps CloudWatch Logs resource policies small.
    logGroupName: `/aws/vendedlogs/states/${Stack.of(scope).stackName}`,
    retention: deploy.logRetentionDays,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  skipCheckov(stateMachineLogs, [['CKV_AWS_158', LOG_GROUP_KMS_REASON]]);
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromString(definition.text),
    definitionSubstitutions: Object.fromEntries(STEPS.map((s) => [s.placeholder, functions[s.key].functionArn])),
    stateMachineType: deploy.stateMachineType === 'STANDARD' ? sfn.StateMachineType.STANDARD : sfn.StateMachineType.EXPRESS,
    logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: deploy.logExecutionData },
    tracingEnabled: true,
  });
  // The ASL invokes each function by its unqualified ARN, so that is all it may invoke.
  stateMachine.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'InvokeCopyflowSteps',
      actions: ['lambda:InvokeFunction'],
      resources: STEPS.map((s) => functions[s.key].functionArn),
    }),
  );
  acknowledge(
    stateMachine.role.node.findChild('DefaultPolicy'),
    'AwsSolutions-IAM5[Resource::*]',
    'Step Functions logging (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) do not support resource-level permissions: AWS requires Resource "*".',
  );
  return stateMachine;
}
