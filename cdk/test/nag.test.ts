// cdk-nag AwsSolutions: zero unacknowledged findings in every configuration, every
// acknowledgement matches a real finding (none stale), and each says why.

import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { createApp } from '../lib/app';
import { build, CDK_JSON_CONTEXT, placeholderAssets, Synthesized, tempDir } from './helpers';

const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:000000000000:copyflow-alarms';

const variants: Record<string, Record<string, unknown>> = {
  default: {},
  'imported buckets, EventBridge turned on by CDK': { 'deploy.createSourceBucket': false, 'deploy.createDestinationBucket': false },
  'imported source, EventBridge already on': { 'deploy.createSourceBucket': false, 'deploy.enableEventBridgeOnImportedSource': false },
  'created KMS key, prefixes, key filter': { 'source.prefix': 'in/', 'destination.prefix': 'out/', 'deploy.createDestinationKmsKey': true },
  'imported KMS keys': { 'deploy.destinationKmsKeyArn': KMS_KEY_ARN, 'deploy.sourceKmsKeyArn': KMS_KEY_ARN.replace('1234abcd', 'abcd1234') },
  'express, x86_64, no execution data, alarm topic': {
    'deploy.stateMachineType': 'EXPRESS',
    'deploy.architecture': 'x86_64',
    'deploy.logExecutionData': false,
    'deploy.alarms.topicArn': TOPIC_ARN,
  },
  'one bucket, disjoint prefixes': { 'destination.bucket': 'copyflow-source', 'source.prefix': 'in/', 'destination.prefix': 'out/' },
  'access logs and versioning off': { 'deploy.serverAccessLogs': false, 'deploy.bucketVersioning': false },
  'prefix with IAM wildcard characters': { 'source.prefix': 'in*?$/', 'destination.prefix': 'out/' },
  'prefixes with spaces and brackets': { 'source.prefix': 'my uploads [a]/', 'destination.prefix': 'copies (b) {c}/' },
  'reserved concurrency, custom latency objective, alarm topic': {
    'deploy.lambda.copyObject.reservedConcurrency': 100,
    'deploy.latencySlo': { percentile: 'p99.9', periodMinutes: 5, thresholdSeconds: 60 },
    'deploy.alarms.topicArn': TOPIC_ARN,
  },
};

/** Findings with acknowledgements ignored: (construct path of the resource, finding id). */
function rawFindings(s: Synthesized): Set<string> {
  const pack = new AwsSolutionsChecks();
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const found = new Set<string>();
  for (const violation of pack.validateScope(s.app).violations) {
    for (const resource of violation.violatingResources) {
      found.add(`${resource.constructPath} ${violation.ruleName}`);
    }
  }
  return found;
}

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(s: Synthesized): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  const visit = (c: IConstruct) => {
    for (const entry of c.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
        }
      }
    }
    c.node.children.forEach(visit);
  };
  visit(s.app);
  return out;
}

describe.each(Object.keys(variants))('%s', (name) => {
  let s: Synthesized;
  beforeAll(() => {
    s = build(variants[name]);
  });

  test('has zero unacknowledged AwsSolutions findings (errors and warnings)', () => {
    const report = new AwsSolutionsChecks().validateScope(s.app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('acknowledges only findings that exist, each at or above the resource it covers, each with a specific reason', () => {
    const raw = rawFindings(s);
    const acks = acknowledgements(s);
    for (const ack of acks) {
      const covered = [...raw].filter((f) => {
        const [resource, id] = f.split(' ');
        return id === ack.id && (resource === ack.path || resource.startsWith(`${ack.path}/`));
      });
      expect({ ack: `${ack.path} ${ack.id}`, covers: covered.length > 0 }).toEqual({ ack: `${ack.path} ${ack.id}`, covers: true });
      expect(ack.reason.length).toBeGreaterThan(60);
    }
    // Every raw finding is covered by some acknowledgement (the first test shows the same from the pack's side).
    for (const finding of raw) {
      const [resource, id] = finding.split(' ');
      expect({ finding, acknowledged: acks.some((a) => a.id === id && (resource === a.path || resource.startsWith(`${a.path}/`))) }).toEqual({
        finding,
        acknowledged: true,
      });
    }
  });
});

test('the plugin is registered on the app: an unacknowledged finding fails synthesis', () => {
  const { app, stack } = createApp({ context: { ...CDK_JSON_CONTEXT, 'copyflow:deploy.lambdaAssetDir': placeholderAssets() }, outdir: tempDir('out') });
  new sqs.Queue(stack, 'CarelessQueue'); // no DLQ, no TLS enforcement
  expect(() => app.synth()).toThrow(/AwsSolutions-SQS3[\s\S]*CarelessQueue|CarelessQueue[\s\S]*AwsSolutions-SQS3/);
});

test('the acknowledged findings of the default deployment are exactly these', () => {
  const s = build();
  expect(acknowledgements(s).map((a) => `${a.path} ${a.id}`).sort()).toEqual(
    [
      'Copyflow/CopyObjectRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
      'Copyflow/CopyObjectRole/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::copyflow-destination/*]',
      'Copyflow/CopyObjectRole/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::copyflow-source/*]',
      'Copyflow/BackfillStateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
      'Copyflow/BackfillStateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Resource::<BackfillReportsBucket01FF3CAA.Arn>/backfill/*]',
      'Copyflow/BackfillStateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<StateMachine2E01A3A5.Name>:*]',
      'Copyflow/BackfillStateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:Copyflow-Backfill/*]',
      'Copyflow/EventDeadLetterQueue AwsSolutions-SQS3',
      'Copyflow/StateMachine/Role/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
      'Copyflow/ValidateKeyRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
      'Copyflow/VerifyCopyRole/DefaultPolicy AwsSolutions-IAM5[Resource::*]',
      'Copyflow/VerifyCopyRole/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::copyflow-destination/*]',
      'Copyflow/VerifyCopyRole/DefaultPolicy AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::copyflow-source/*]',
    ].sort(),
  );
});
