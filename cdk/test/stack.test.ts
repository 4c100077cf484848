// Template assertions: every resource the issue lists, with its properties, for the default
// settings and the variants a user can select.

import { Match } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import { build, logicalId, s3Arn, SETTINGS_FILE, Synthesized } from './helpers';

const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:000000000000:copyflow-alarms';

let standard: Synthesized;
beforeAll(() => {
  standard = build();
});

function resourcesOf(s: Synthesized, type: string): Record<string, { Properties: Record<string, unknown> }> {
  return s.template.findResources(type) as Record<string, { Properties: Record<string, unknown> }>;
}

describe('buckets', () => {
  const secure = (name: string) => ({
    BucketName: name,
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    VersioningConfiguration: { Status: 'Enabled' },
    LifecycleConfiguration: {
      Rules: [
        { Id: 'AbortIncompleteMultipartUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
        { Id: 'ExpireNoncurrentVersions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
      ],
    },
    LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(standard.template, 'AWS::S3::Bucket', 'AccessLogsBucket') }, LogFilePrefix: `${name}/` },
  });

  test('the source bucket is private, encrypted, versioned, cleans up uploads, and sends events to EventBridge', () => {
    standard.template.hasResource('AWS::S3::Bucket', {
      Properties: { ...secure('copyflow-source'), NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } } },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('the destination bucket is the same, without EventBridge (its copies must not start executions)', () => {
    standard.template.hasResource('AWS::S3::Bucket', {
      Properties: { ...secure('copyflow-destination'), NotificationConfiguration: Match.absent() },
      DeletionPolicy: 'Retain',
    });
  });

  test('both refuse plain HTTP and TLS before 1.2', () => {
    for (const prefix of ['SourceBucket', 'DestinationBucket']) {
      const bucket = logicalId(standard.template, 'AWS::S3::Bucket', prefix);
      const arns = [{ 'Fn::GetAtt': [bucket, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] }];
      standard.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            { Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Effect: 'Deny', Principal: { AWS: '*' }, Resource: arns },
            { Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } }, Effect: 'Deny', Principal: { AWS: '*' }, Resource: arns },
          ]),
        },
      });
    }
  });

  test('server access logs go to a private log bucket that expires them', () => {
    standard.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.absent(),
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: {
        Rules: [
          { Id: 'ExpireAccessLogs', Status: 'Enabled', ExpirationInDays: 90 },
          { Id: 'AbortIncompleteMultipartUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
        ],
      },
    });
    standard.template.resourceCountIs('AWS::S3::Bucket', 4); // + the backfill reports
  });

  test('no custom-resource Lambda is needed for created buckets', () => {
    standard.template.resourceCountIs('Custom::S3BucketNotifications', 0);
    standard.template.resourceCountIs('AWS::Lambda::Function', 3);
  });

  test('existing buckets are imported, and EventBridge is turned on for the source without touching its other notifications', () => {
    const imported = build({ 'deploy.createSourceBucket': false, 'deploy.createDestinationBucket': false });
    imported.template.resourceCountIs('AWS::S3::Bucket', 1); // the backfill reports only
    imported.template.resourceCountIs('AWS::S3::BucketPolicy', 1); // the backfill reports bucket's TLS-only policy
    imported.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'copyflow-source',
      NotificationConfiguration: { EventBridgeConfiguration: {} },
      Managed: false,
    });
    const off = build({ 'deploy.createSourceBucket': false, 'deploy.enableEventBridgeOnImportedSource': false });
    off.template.resourceCountIs('Custom::S3BucketNotifications', 0);
    off.template.resourceCountIs('AWS::S3::Bucket', 3); // destination + access logs + backfill reports
  });

  test('a created key encrypts the destination with SSE-KMS and a bucket key', () => {
    const kms = build({ 'deploy.createDestinationKmsKey': true });
    const key = logicalId(kms.template, 'AWS::KMS::Key', 'DestinationKey');
    kms.template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
    kms.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'copyflow-destination',
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } } },
        ],
      },
    });
    kms.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'copyflow-source',
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
  });

  test('an existing key encrypts a created destination without creating a key', () => {
    const kms = build({ 'deploy.destinationKmsKeyArn': KMS_KEY_ARN });
    kms.template.resourceCountIs('AWS::KMS::Key', 0);
    kms.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'copyflow-destination',
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KMS_KEY_ARN } }],
      },
    });
  });

  test('one bucket with disjoint prefixes is created once, with EventBridge on', () => {
    const one = build({ 'destination.bucket': 'copyflow-source', 'source.prefix': 'in/', 'destination.prefix': 'out/' });
    one.template.resourceCountIs('AWS::S3::Bucket', 3); // the bucket + access logs + backfill reports
    one.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'copyflow-source',
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
  });
});

describe('EventBridge rule, retries and dead-letter queue', () => {
  test('matches Object Created in the source bucket only, and targets the state machine with retries and a DLQ', () => {
    const stateMachine = logicalId(standard.template, 'AWS::StepFunctions::StateMachine', 'StateMachine');
    const queue = logicalId(standard.template, 'AWS::SQS::Queue', 'EventDeadLetterQueue');
    const role = logicalId(standard.template, 'AWS::IAM::Role', 'StateMachineEventsRole');
    standard.template.resourceCountIs('AWS::Events::Rule', 1);
    standard.template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: ['copyflow-source'] } } },
      Targets: [
        {
          Id: 'Target0',
          Arn: { Ref: stateMachine },
          RoleArn: { 'Fn::GetAtt': [role, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
          Input: Match.absent(), // the whole event is the execution input
        },
      ],
    });
  });

  test('filters on key prefixes: the source prefix by default, or the ones configured', () => {
    const derived = build({ 'source.prefix': 'uploads/', 'destination.prefix': 'copies/' });
    derived.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { bucket: { name: ['copyflow-source'] }, object: { key: [{ prefix: 'uploads/' }] } } },
    });
    const listed = build({ 'source.prefix': 'uploads/', 'deploy.eventRuleKeyPrefixes': ['uploads/a/', 'uploads/b/'] });
    listed.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { object: { key: [{ prefix: 'uploads/a/' }, { prefix: 'uploads/b/' }] } } },
    });
  });

  test('the retry policy is configurable', () => {
    const custom = build({ 'deploy.eventTarget': { retryAttempts: 10, maxEventAgeSeconds: 3600 } });
    custom.template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 } })],
    });
  });

  test('the dead-letter queue is encrypted, TLS-only, keeps events 14 days, and accepts only this rule', () => {
    const queue = logicalId(standard.template, 'AWS::SQS::Queue', 'EventDeadLetterQueue');
    const rule = logicalId(standard.template, 'AWS::Events::Rule', 'ObjectCreatedRule');
    standard.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    standard.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: [
          { Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Effect: 'Deny', Principal: { AWS: '*' }, Resource: { 'Fn::GetAtt': [queue, 'Arn'] } },
          {
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
            Sid: Match.anyValue(),
          },
        ],
      },
    });
  });
});

describe('state machine', () => {
  test('is Standard, logs ALL with execution data to a vended-logs group, and traces with X-Ray', () => {
    const logs = logicalId(standard.template, 'AWS::Logs::LogGroup', 'StateMachineLogs');
    standard.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logs, 'Arn'] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    standard.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/Copyflow', RetentionInDays: 30 });
  });

  test('Express is selectable, from the same definition, and execution data can be left out of the logs', () => {
    const express = build({ 'deploy.stateMachineType': 'EXPRESS', 'deploy.logExecutionData': false });
    express.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      DefinitionString: fs.readFileSync(standard.definition.file, 'utf8'),
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('Lambda functions', () => {
  const expected = [
    ['ValidateKey', 'validate-key', 128, 10],
    ['CopyObject', 'copy-object', 512, 900],
    ['VerifyCopy', 'verify-copy', 1024, 900],
  ] as const;

  test.each(expected)('%s (%s) runs bootstrap on provided.al2023 arm64 with its memory and timeout, JSON logs, X-Ray and the settings', (id, binary, memory, timeout) => {
    const fn = logicalId(standard.template, 'AWS::Lambda::Function', id);
    const logs = logicalId(standard.template, 'AWS::Logs::LogGroup', `${id}Logs`);
    const role = logicalId(standard.template, 'AWS::IAM::Role', `${id}Role`);
    const properties = resourcesOf(standard, 'AWS::Lambda::Function')[fn].Properties;
    expect(properties).toMatchObject({
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      MemorySize: memory,
      Timeout: timeout,
      Role: { 'Fn::GetAtt': [role, 'Arn'] },
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO', LogGroup: { Ref: logs } },
      TracingConfig: { Mode: 'Active' },
      Description: `copyflow ${binary} (state ${id})`,
    });
    expect((properties.Code as { S3Key: string }).S3Key).toMatch(/\.zip$/);
    const variables = (properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(Object.keys(variables).sort()).toEqual(['COPYFLOW_SETTINGS', 'RUST_LOG']);
    expect(variables.RUST_LOG).toBe('info');
    const file = JSON.parse(fs.readFileSync(SETTINGS_FILE, 'utf8'));
    delete file.deploy;
    delete file.local;
    expect(JSON.parse(variables.COPYFLOW_SETTINGS)).toEqual(file);
    standard.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.absent(), RetentionInDays: 30 });
  });

  test('x86_64, memory, timeouts and log level are selectable', () => {
    const custom = build({
      'deploy.architecture': 'x86_64',
      'deploy.logLevel': 'DEBUG',
      'deploy.lambda': { copyObject: { memoryMb: 2048, timeoutSeconds: 600 }, verifyCopy: { timeoutSeconds: 300 } },
    });
    const fns = resourcesOf(custom, 'AWS::Lambda::Function');
    for (const [id, memory, timeout] of [
      ['ValidateKey', 128, 10],
      ['CopyObject', 2048, 600],
      ['VerifyCopy', 1024, 300],
    ] as const) {
      expect(fns[logicalId(custom.template, 'AWS::Lambda::Function', id)].Properties).toMatchObject({
        Architectures: ['x86_64'],
        MemorySize: memory,
        Timeout: timeout,
        LoggingConfig: { ApplicationLogLevel: 'DEBUG' },
        Environment: { Variables: { RUST_LOG: 'debug' } },
      });
    }
  });

  test('each function has its own role with no managed policy', () => {
    for (const id of ['ValidateKey', 'CopyObject', 'VerifyCopy']) {
      const role = resourcesOf(standard, 'AWS::IAM::Role')[logicalId(standard.template, 'AWS::IAM::Role', `${id}Role`)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument).toEqual({
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        Version: '2012-10-17',
      });
    }
  });
});

describe('alarms', () => {
  test('failed + timed-out + aborted executions', () => {
    const sm = { Ref: logicalId(standard.template, 'AWS::StepFunctions::StateMachine', 'StateMachine') };
    const metric = (id: string, name: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: { Metric: { Namespace: 'AWS/States', MetricName: name, Dimensions: [{ Name: 'StateMachineArn', Value: sm }] }, Period: 300, Stat: 'Sum' },
    });
    standard.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: [
        { Id: 'expr_1', Expression: 'failed + timedOut + aborted', Label: Match.anyValue(), ReturnData: true },
        metric('failed', 'ExecutionsFailed'),
        metric('timedOut', 'ExecutionsTimedOut'),
        metric('aborted', 'ExecutionsAborted'),
      ],
    });
  });

  test('dead-letter queue depth', () => {
    const queue = logicalId(standard.template, 'AWS::SQS::Queue', 'EventDeadLetterQueue');
    standard.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  test('execution duration over the threshold (milliseconds)', () => {
    const sm = { Ref: logicalId(standard.template, 'AWS::StepFunctions::StateMachine', 'StateMachine') };
    standard.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionTime',
      Dimensions: [{ Name: 'StateMachineArn', Value: sm }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 3_600_000,
    });
    // These three, and the latency objective (test/slo.test.ts).
    standard.template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });

  test('thresholds are configurable and an existing topic is notified on alarm and OK', () => {
    const custom = build({ 'deploy.alarms': { failedExecutions: 5, dlqDepth: 10, executionDurationSeconds: 600, periodSeconds: 60, topicArn: TOPIC_ARN } });
    for (const threshold of [5, 10, 600_000]) {
      custom.template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: threshold, AlarmActions: [TOPIC_ARN], OKActions: [TOPIC_ARN] });
    }
    custom.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionTime', Period: 60 });
    standard.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
  });
});

describe('outputs', () => {
  test('name the buckets, the state machine (with its console page), the dead-letter queue and the backfill', () => {
    const sm = logicalId(standard.template, 'AWS::StepFunctions::StateMachine', 'StateMachine');
    expect(Object.keys(standard.template.findOutputs('*')).sort()).toEqual([
      'BackfillReportsBucketName',
      'BackfillStateMachineArn',
      'DeadLetterQueueUrl',
      'DestinationBucketName',
      'SourceBucketName',
      'StateMachineArn',
      'StateMachineConsoleUrl',
    ]);
    standard.template.hasOutput('StateMachineArn', { Value: { Ref: sm } });
  });

  test('the template names no account and no machine path', () => {
    const text = JSON.stringify(standard.template.toJSON());
    expect(text).not.toMatch(/\b\d{12}\b/);
    expect(text).not.toContain(process.cwd());
    expect(text).not.toContain('/tmp/');
  });
});

test('s3Arn helper matches the template form', () => {
  expect(s3Arn('b/*')).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b/*']] });
});

test('a source prefix S3 may encode gets no rule key filter, and synth says why', () => {
  const s = build({ 'source.prefix': 'my uploads/', 'destination.prefix': 'copies/' });
  s.template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: ['copyflow-source'] } } },
  });
  const { Annotations: A } = require('aws-cdk-lib/assertions') as typeof import('aws-cdk-lib/assertions');
  A.fromStack(s.stack).hasInfo('/Copyflow/ObjectCreatedRule', Match.stringLikeRegexp('does not filter by key'));
});
