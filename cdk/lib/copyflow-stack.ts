// The cloud pipeline (`docs/architecture.md#the-cloud-pipeline`): S3 source bucket (EventBridge
// on) -> EventBridge rule -> Step Functions (the ASL file as written) -> validate-key,
// copy-object, verify-copy.
//
// Everything comes from the settings (`copyflow.json` + CDK context), checked before this
// stack is built (lib/settings.ts). Each cdk-nag finding this stack cannot fix is acknowledged
// next to the construct that causes it, with the reason.
//
// The constructor only composes the parts, one file each: buckets, step-lambdas,
// state-machine, event-rule, backfill, alarms, slo. Each part is a function that adds its resources to this
// stack's own scope, not a Construct subclass: a construct in between would put its id into
// the logical id and aws:cdk:path of every resource beneath it, so CloudFormation would
// replace them all on the next deployment (and could not recreate the named buckets).

import { Aws, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { addAlarms, CopyflowAlarms } from './alarms';
import { addBackfill, CopyflowBackfill } from './backfill';
import { addBuckets } from './buckets';
import { addEventRule } from './event-rule';
import { Definition } from './definition';
import { LoadedSettings, StepKey } from './settings';
import { addLatencySlo, CopyflowSlo } from './slo';
import { addStateMachine } from './state-machine';
import { addStepLambdas } from './step-lambdas';

export interface CopyflowStackProps extends StackProps {
  readonly settings: LoadedSettings;
  readonly definition: Definition;
}

export class CopyflowStack extends Stack {
  readonly sourceBucket: s3.IBucket;
  readonly destinationBucket: s3.IBucket;
  readonly destinationKey?: kms.IKey;
  readonly functions: Readonly<Record<StepKey, lambda.Function>>;
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: CopyflowAlarms;
  readonly slo: CopyflowSlo;
  readonly backfill: CopyflowBackfill;

  constructor(scope: Construct, id: string, props: CopyflowStackProps) {
    super(scope, id, props);
    const { settings, definition } = props;

    // Source (EventBridge on) and destination buckets and the destination's key, created or imported.
    const buckets = addBuckets(this, settings);
    this.sourceBucket = buckets.sourceBucket;
    this.destinationBucket = buckets.destinationBucket;
    this.destinationKey = buckets.destinationKey;

    // validate-key, copy-object, verify-copy: a least-privilege role each.
    this.functions = addStepLambdas(this, settings, this.destinationKey);

    // The ASL file, invoking exactly those three functions.
    this.stateMachine = addStateMachine(this, definition, this.functions, settings.deploy);

    // Object Created -> an execution; what EventBridge cannot deliver waits in the DLQ.
    const trigger = addEventRule(this, settings, this.stateMachine);
    this.rule = trigger.rule;
    this.deadLetterQueue = trigger.deadLetterQueue;

    // Objects already in the source: a Distributed Map that runs the state machine per object.
    this.backfill = addBackfill(this, settings, this.stateMachine, buckets.accessLogs);

    this.alarms = addAlarms(this, this.stateMachine, this.deadLetterQueue, settings.deploy.alarms);

    // Event-to-verified latency (verify-copy's EMF metrics) against its objective, and the dashboard.
    this.slo = addLatencySlo(this, {
      verifyFunction: this.functions.verifyCopy,
      stateMachine: this.stateMachine,
      stateMachineLogs: this.node.findChild('StateMachineLogs') as logs.ILogGroup,
      deadLetterQueue: this.deadLetterQueue,
      slo: settings.deploy.latencySlo,
      alarms: settings.deploy.alarms,
      otherAlarms: Object.values(this.alarms),
    });

    // What an operator needs after `cdk deploy`.
    new CfnOutput(this, 'SourceBucketName', { value: this.sourceBucket.bucketName });
    new CfnOutput(this, 'DestinationBucketName', { value: this.destinationBucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'StateMachineConsoleUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${this.stateMachine.stateMachineArn}`,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'BackfillStateMachineArn', { value: this.backfill.stateMachine.stateMachineArn });
    new CfnOutput(this, 'BackfillReportsBucketName', { value: this.backfill.reportBucket.bucketName });
  }
}
