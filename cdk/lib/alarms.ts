// The three alarms an operator needs: copies that failed, events that never started a copy,
// and copies that took too long.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AlarmSettings } from './settings';

export interface CopyflowAlarms {
  readonly failedExecutions: cloudwatch.Alarm;
  readonly deadLetters: cloudwatch.Alarm;
  readonly executionDuration: cloudwatch.Alarm;
}

export function addAlarms(
  scope: Construct,
  stateMachine: sfn.IStateMachine,
  deadLetterQueue: sqs.IQueue,
  settings: AlarmSettings,
): CopyflowAlarms {
  const period = Duration.seconds(settings.periodSeconds);

  // A failed, timed-out or aborted execution is a copy that did not happen (or was refused).
  const failedExecutions = new cloudwatch.Alarm(scope, 'FailedExecutionsAlarm', {
    alarmDescription:
      'copyflow: executions failed, timed out or were aborted (KeyRejected, CopyFailed, VerificationFailed...). Open the state machine in the Step Functions console and filter by status.',
    metric: new cloudwatch.MathExpression({
      expression: 'failed + timedOut + aborted',
      label: 'Failed, timed-out and aborted executions',
      period,
      usingMetrics: {
        failed: stateMachine.metricFailed({ period, statistic: cloudwatch.Stats.SUM }),
        timedOut: stateMachine.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM }),
        aborted: stateMachine.metricAborted({ period, statistic: cloudwatch.Stats.SUM }),
      },
    }),
    threshold: settings.failedExecutions,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // EventBridge gave up starting an execution: the object was not copied at all.
  const deadLetters = new cloudwatch.Alarm(scope, 'DeadLetterQueueAlarm', {
    alarmDescription:
      'copyflow: S3 events could not start an execution and wait in the dead-letter queue. Fix the cause, then redrive them (see cdk/README.md, "Operate").',
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: settings.dlqDepth,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  // ExecutionTime is reported in milliseconds when an execution ends.
  const executionDuration = new cloudwatch.Alarm(scope, 'ExecutionDurationAlarm', {
    alarmDescription: `copyflow: an execution took longer than ${settings.executionDurationSeconds} s.`,
    metric: stateMachine.metricTime({ period, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: settings.executionDurationSeconds * 1000,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  const alarms = { failedExecutions, deadLetters, executionDuration };
  if (settings.topicArn) {
    const topic = sns.Topic.fromTopicArn(scope, 'AlarmTopic', settings.topicArn);
    for (const alarm of Object.values(alarms)) {
      alarm.addAlarmAction(new actions.SnsAction(topic));
      alarm.addOkAction(new actions.SnsAction(topic));
    }
  }
  return alarms;
}
