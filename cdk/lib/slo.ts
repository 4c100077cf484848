// The latency objective and the dashboard: verify-copy's EMF metrics (namespace Copyflow,
// functions/core/src/metrics.rs) give the time from each S3 event to its verified copy; an
// alarm holds its percentile to the objective (default p99 within 15 minutes, like S3
// Replication Time Control), and one dashboard shows copies per minute, bytes, failures by
// error name, latency p50/p99 and the dead-letter queue.
//
// The metrics come from the function's own log lines, so they need no IAM beyond the log
// group it already writes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format.html).

import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AlarmSettings, LatencySloSettings } from './settings';

/** The names verify-copy writes (functions/core/src/metrics.rs). */
export const METRICS = {
  namespace: 'Copyflow',
  latency: 'EventToVerifiedLatency',
  bytes: 'BytesCopied',
  executions: 'Executions',
  functionDimension: 'FunctionName',
  outcomeDimension: 'Outcome',
} as const;

export interface SloInputs {
  readonly verifyFunction: lambda.IFunction;
  readonly stateMachine: sfn.IStateMachine;
  readonly stateMachineLogs: logs.ILogGroup;
  readonly deadLetterQueue: sqs.IQueue;
  readonly slo: LatencySloSettings;
  readonly alarms: AlarmSettings;
  /** The stack's other alarms, shown with this one on the dashboard. */
  readonly otherAlarms: readonly cloudwatch.IAlarm[];
}

export interface CopyflowSlo {
  readonly latencyAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;
}

/** Adds the latency alarm and the dashboard to `scope`. */
export function addLatencySlo(scope: Construct, inputs: SloInputs): CopyflowSlo {
  const { verifyFunction, stateMachine, deadLetterQueue, slo } = inputs;
  const emf = (metricName: string, statistic: string, period: Duration, outcome?: string) =>
    new cloudwatch.Metric({
      namespace: METRICS.namespace,
      metricName,
      dimensionsMap: {
        [METRICS.functionDimension]: verifyFunction.functionName,
        ...(outcome ? { [METRICS.outcomeDimension]: outcome } : {}),
      },
      statistic,
      period,
    });

  // -- the objective -------------------------------------------------------------------------
  const sloPeriod = Duration.minutes(slo.periodMinutes);
  const latencyAlarm = new cloudwatch.Alarm(scope, 'LatencySloAlarm', {
    alarmDescription:
      `copyflow: ${slo.percentile} of the time from S3 event to verified copy was over ${slo.thresholdSeconds} s in ${slo.periodMinutes} min. ` +
      'Look at the dashboard: copies waiting on S3 throttling (S3Transient retries), Lambda throttles, or events retried by EventBridge.',
    metric: emf(METRICS.latency, slo.percentile, sloPeriod, 'Copied'),
    threshold: slo.thresholdSeconds,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    // No copies in a period is no evidence of slowness; events stuck upstream raise the DLQ alarm.
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (inputs.alarms.topicArn) {
    const topic = sns.Topic.fromTopicArn(scope, 'LatencySloAlarmTopic', inputs.alarms.topicArn);
    latencyAlarm.addAlarmAction(new actions.SnsAction(topic));
    latencyAlarm.addOkAction(new actions.SnsAction(topic));
  }

  // -- the dashboard -------------------------------------------------------------------------
  const minute = Duration.minutes(1);
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `${Stack.of(scope).stackName}-copyflow`,
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Copies per minute',
      left: [
        emf(METRICS.executions, 'Sum', minute, 'Copied').with({ label: 'verified copies' }),
        stateMachine.metricStarted({ period: minute, statistic: 'Sum', label: 'executions started' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Bytes copied per minute',
      left: [emf(METRICS.bytes, 'Sum', minute).with({ label: 'bytes copied' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Event to verified copy (seconds)',
      left: [
        emf(METRICS.latency, 'p50', Duration.minutes(5), 'Copied').with({ label: 'p50' }),
        emf(METRICS.latency, 'p99', Duration.minutes(5), 'Copied').with({ label: 'p99' }),
      ],
      leftAnnotations: [{ value: slo.thresholdSeconds, label: `objective (${slo.percentile})`, color: cloudwatch.Color.RED }],
      width: 8,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.LogQueryWidget({
      title: 'Failed executions by error name',
      logGroupNames: [inputs.stateMachineLogs.logGroupName],
      view: cloudwatch.LogQueryVisualizationType.TABLE,
      queryLines: ['filter type = "ExecutionFailed"', 'stats count(*) as executions by details.error as error', 'sort executions desc'],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Unsuccessful executions',
      left: [
        stateMachine.metricFailed({ period: minute, statistic: 'Sum', label: 'failed' }),
        stateMachine.metricTimedOut({ period: minute, statistic: 'Sum', label: 'timed out' }),
        stateMachine.metricAborted({ period: minute, statistic: 'Sum', label: 'aborted' }),
      ],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Dead-letter queue depth',
      left: [deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum', label: 'events waiting' })],
      width: 8,
    }),
  );
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [latencyAlarm, ...inputs.otherAlarms], width: 24 }));
  return { latencyAlarm, dashboard };
}
