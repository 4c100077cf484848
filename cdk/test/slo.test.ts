// The latency objective, the dashboard and reserved concurrency: the alarm reads the metric
// verify-copy's EMF lines create (functions/core/src/metrics.rs), the dashboard shows the
// figures `copyflow stats` reports, and none of it needs IAM beyond the function's log group.

import { Match } from 'aws-cdk-lib/assertions';
import { parseSettings } from '../lib/settings';
import { METRICS } from '../lib/slo';
import { build, logicalId, Synthesized } from './helpers';

const TOPIC_ARN = 'arn:aws:sns:eu-west-1:000000000000:copyflow-alarms';

let standard: Synthesized;
beforeAll(() => {
  standard = build();
});

function verifyFunction(s: Synthesized): { Ref: string } {
  return { Ref: logicalId(s.template, 'AWS::Lambda::Function', 'VerifyCopy') };
}

describe('latency objective', () => {
  test('alarms when p99 of event-to-verified latency of copies exceeds 15 minutes over 15 minutes (the default, like S3 RTC)', () => {
    standard.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Copyflow',
      MetricName: 'EventToVerifiedLatency',
      Dimensions: Match.arrayEquals([
        { Name: 'FunctionName', Value: verifyFunction(standard) },
        { Name: 'Outcome', Value: 'Copied' },
      ]),
      ExtendedStatistic: 'p99',
      Period: 900,
      EvaluationPeriods: 1,
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
    });
  });

  test('percentile, period and threshold come from deploy.latencySlo, and the alarm topic is notified', () => {
    const custom = build({
      'deploy.latencySlo': { percentile: 'p99.9', periodMinutes: 5, thresholdSeconds: 60 },
      'deploy.alarms.topicArn': TOPIC_ARN,
    });
    custom.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'EventToVerifiedLatency',
      ExtendedStatistic: 'p99.9',
      Period: 300,
      Threshold: 60,
      AlarmActions: [TOPIC_ARN],
      OKActions: [TOPIC_ARN],
    });
  });

  test('the metric names match what verify-copy writes', () => {
    expect(METRICS).toEqual({
      namespace: 'Copyflow',
      latency: 'EventToVerifiedLatency',
      bytes: 'BytesCopied',
      executions: 'Executions',
      functionDimension: 'FunctionName',
      outcomeDimension: 'Outcome',
    });
  });

  test('bad objectives are refused with the field named', () => {
    const base = { source: { bucket: 'copyflow-source' }, destination: { bucket: 'copyflow-destination' } };
    const fields = (latencySlo: unknown) => {
      try {
        parseSettings({ ...base, deploy: { latencySlo } }, 'test');
        return [];
      } catch (e) {
        return (e as { problems: { field: string }[] }).problems.map((p) => p.field);
      }
    };
    expect(fields({ percentile: 'p99', periodMinutes: 15, thresholdSeconds: 900 })).toEqual([]);
    expect(fields({ percentile: 'p99.99' })).toEqual([]);
    expect(fields({ percentile: '99' })).toEqual(['deploy.latencySlo.percentile']);
    expect(fields({ percentile: 'p0' })).toEqual(['deploy.latencySlo.percentile']);
    expect(fields({ percentile: 'p100' })).toEqual(['deploy.latencySlo.percentile']);
    expect(fields({ periodMinutes: 0, thresholdSeconds: 1.5, other: 1 })).toEqual([
      'deploy.latencySlo.other',
      'deploy.latencySlo.periodMinutes',
      'deploy.latencySlo.thresholdSeconds',
    ]);
    const defaults = parseSettings(base, 'test').deploy;
    expect(defaults.latencySlo).toEqual({ percentile: 'p99', periodMinutes: 15, thresholdSeconds: 900 });
  });
});

describe('dashboard', () => {
  function body(s: Synthesized): string {
    const dashboards = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    return JSON.stringify(s.stack.resolve(dashboards[0].Properties.DashboardBody));
  }

  test('shows copies per minute, bytes, latency p50/p99, failures by error name and DLQ depth', () => {
    const text = body(standard);
    for (const title of [
      'Copies per minute',
      'Bytes copied per minute',
      'Event to verified copy (seconds)',
      'Failed executions by error name',
      'Unsuccessful executions',
      'Dead-letter queue depth',
    ]) {
      expect(text).toContain(title);
    }
    for (const metric of ['EventToVerifiedLatency', 'BytesCopied', 'Executions', 'ExecutionsFailed', 'ApproximateNumberOfMessagesVisible']) {
      expect(text).toContain(metric);
    }
    expect(text).toContain('\\"stat\\":\\"p50\\"');
    expect(text).toContain('\\"stat\\":\\"p99\\"');
    // Failures by error name from the state machine's own log (Logs Insights).
    expect(text).toContain('ExecutionFailed');
    expect(text).toContain('by details.error');
    expect(text).toContain(`SOURCE '",{"Ref":"${logicalId(standard.template, 'AWS::Logs::LogGroup', 'StateMachineLogs')}"}`);
  });
});

describe('reserved concurrency', () => {
  test('is unset by default', () => {
    for (const fn of Object.values(standard.template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  test('is set per function from deploy.lambda.<step>.reservedConcurrency', () => {
    const capped = build({ 'deploy.lambda.copyObject.reservedConcurrency': 200, 'deploy.lambda.verifyCopy.reservedConcurrency': 50 });
    const byId = (prefix: string) =>
      capped.template.findResources('AWS::Lambda::Function')[logicalId(capped.template, 'AWS::Lambda::Function', prefix)].Properties;
    expect(byId('CopyObject').ReservedConcurrentExecutions).toBe(200);
    expect(byId('VerifyCopy').ReservedConcurrentExecutions).toBe(50);
    expect(byId('ValidateKey').ReservedConcurrentExecutions).toBeUndefined();
  });

  test('is refused outside 1..10000', () => {
    const base = { source: { bucket: 'copyflow-source' }, destination: { bucket: 'copyflow-destination' } };
    expect(() => parseSettings({ ...base, deploy: { lambda: { copyObject: { reservedConcurrency: 0 } } } }, 'test')).toThrow(
      /deploy\.lambda\.copyObject\.reservedConcurrency/,
    );
  });
});

describe('IAM', () => {
  test('the metrics need nothing beyond each function writing its own log group (no cloudwatch:PutMetricData)', () => {
    for (const policy of Object.values(standard.template.findResources('AWS::IAM::Policy'))) {
      const actions = JSON.stringify(policy.Properties.PolicyDocument.Statement);
      expect(actions).not.toContain('cloudwatch:');
    }
    const role = logicalId(standard.template, 'AWS::IAM::Role', 'VerifyCopyRole');
    standard.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: role }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'WriteOwnLogs', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
        ]),
      },
    });
  });
});
