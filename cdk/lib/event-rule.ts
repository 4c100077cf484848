// The trigger: an EventBridge rule that starts an execution for each Object Created event of
// the source bucket. EventBridge retries a start that fails; an event it gives up on goes to
// a dead-letter queue, to be redriven once the cause is fixed (cdk/README.md, "Operate").

import { Annotations, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, skipCheckov } from './nag';
import { LoadedSettings } from './settings';

export interface CopyflowTrigger {
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
}

/** Adds the dead-letter queue and the rule that targets `stateMachine` to `scope`. */
export function addEventRule(scope: Construct, settings: LoadedSettings, stateMachine: sfn.IStateMachine): CopyflowTrigger {
  const deploy = settings.deploy;
  const deadLetterQueue = new sqs.Queue(scope, 'EventDeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(deploy.dlqRetentionDays),
  });
  skipCheckov(deadLetterQueue, [
    ['CKV_AWS_27', 'The queue is encrypted with SQS-managed keys (SqsManagedSseEnabled); the check only recognises a KMS key id.'],
  ]);
  acknowledge(
    deadLetterQueue,
    'AwsSolutions-SQS3',
    'This queue is the dead-letter queue of the EventBridge target; it holds events for inspection and redrive and has no dead-letter queue of its own.',
  );

  const objectFilter = deploy.eventRuleKeyPrefixes.length > 0 ? { object: { key: deploy.eventRuleKeyPrefixes.map((prefix) => ({ prefix })) } } : {};
  const rule = new events.Rule(scope, 'ObjectCreatedRule', {
    description: `copyflow: S3 Object Created in s3://${settings.source.bucket}/${settings.source.prefix} starts an execution`,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: { bucket: { name: [settings.source.bucket] }, ...objectFilter },
    },
    targets: [
      new targets.SfnStateMachine(stateMachine, {
        deadLetterQueue,
        retryAttempts: deploy.eventTarget.retryAttempts,
        maxEventAge: Duration.seconds(deploy.eventTarget.maxEventAgeSeconds),
      }),
    ],
  });
  if (deploy.eventRuleKeyPrefixesDerived && settings.source.prefix !== '' && deploy.eventRuleKeyPrefixes.length === 0) {
    Annotations.of(rule).addInfo(
      `The rule does not filter by key: source.prefix ${JSON.stringify(settings.source.prefix)} has characters S3 may encode in event keys, so validate-key skips keys outside it instead (set deploy.eventRuleKeyPrefixes to filter by a safe part of it).`,
    );
  }
  return { rule, deadLetterQueue };
}
