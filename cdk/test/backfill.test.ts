// The backfill state machine: the ASL file as written with its placeholders filled, its report
// bucket, its log group, the BackfillStateMachineArn output, and its role's exact grants.

import { Match } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import * as path from 'path';
import { substitute } from '../lib/definition';
import { BACKFILL_PLACEHOLDERS, REPORT_PREFIX } from '../lib/backfill';
import { build, logicalId, REPO_DIR, s3Arn, Synthesized } from './helpers';

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const BACKFILL_FILE = path.join(REPO_DIR, 'statemachine', 'backfill.asl.json');

function backfillStatements(s: Synthesized): Statement[] {
  const role = logicalId(s.template, 'AWS::IAM::Role', 'BackfillStateMachineRole');
  const policies = Object.values(s.template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role),
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

const arn = (...parts: unknown[]) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...parts]] });
const regional = (service: string, rest: unknown[]) => arn(`:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ...rest);

describe('with the default settings', () => {
  let s: Synthesized;
  let copyflow: string;
  let reports: string;
  beforeAll(() => {
    s = build();
    copyflow = logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'StateMachine');
    reports = logicalId(s.template, 'AWS::S3::Bucket', 'BackfillReportsBucket');
  });

  test('is a Standard state machine with a fixed name, running the ASL file as written, logged and traced', () => {
    const machine = logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'BackfillStateMachine');
    const props = s.template.toJSON().Resources[machine].Properties;
    expect(props.StateMachineName).toBe('Copyflow-Backfill');
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    expect(props.LoggingConfiguration.Level).toBe('ALL');
    // As written, but for the source prefix, which the app fills in itself (it may be empty).
    expect(props.DefinitionString).toBe(fs.readFileSync(BACKFILL_FILE, 'utf8').replace('${SourcePrefix}', ''));
    expect(Object.keys(props.DefinitionSubstitutions).sort()).toEqual(BACKFILL_PLACEHOLDERS.filter((p) => p !== 'SourcePrefix').sort());
    expect(props.DefinitionSubstitutions).toMatchObject({
      SourceBucket: 'copyflow-source',
      CopyflowStateMachineArn: { Ref: copyflow },
      ReportBucket: { Ref: reports },
      ReportPrefix: REPORT_PREFIX,
    });
  });

  test('the definition is a Distributed Map over the source listing that starts the copyflow machine per object and writes a report', () => {
    const text = substitute(fs.readFileSync(BACKFILL_FILE, 'utf8'), { SourceBucket: 'copyflow-source', SourcePrefix: '', ReportBucket: 'r', ReportPrefix: 'backfill/', CopyflowStateMachineArn: 'arn:copyflow', AccountId: '1', Region: 'r' });
    const map = JSON.parse(text).States.CopyEachObject;
    expect(map.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: 'copyflow-source', Prefix: '' } });
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    const task = map.ItemProcessor.States[map.ItemProcessor.StartAt];
    expect(task.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(task.Parameters).toEqual({ StateMachineArn: 'arn:copyflow', 'Input.$': '$' });
    expect(map.ItemSelector['detail-type']).toBe('Object Created');
    expect(map.ItemSelector.detail.object).toEqual({ 'key.$': '$$.Map.Item.Value.Key', 'size.$': '$$.Map.Item.Value.Size', 'etag.$': '$$.Map.Item.Value.Etag' });
    expect(map.MaxConcurrency).toBeGreaterThan(0);
    expect(map.ToleratedFailurePercentage).toBeGreaterThan(0);
    expect(map.ResultWriter).toEqual({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'r', Prefix: 'backfill/' } });
  });

  test('reports go to a private, TLS-only, versioned bucket that expires them and logs its requests', () => {
    s.template.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireReports', ExpirationInDays: 90 })]) },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(s.template, 'AWS::S3::Bucket', 'AccessLogsBucket') }, LogFilePrefix: 'backfill-reports/' },
      },
      DeletionPolicy: 'Retain',
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: reports },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('its ARN is an output, for `copyflow backfill --aws`', () => {
    s.template.hasOutput('BackfillStateMachineArn', { Value: { Ref: logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'BackfillStateMachine') } });
    s.template.hasOutput('BackfillReportsBucketName', { Value: { Ref: reports } });
  });

  test('its role may list the source, write reports, run the copyflow machine with .sync, and run its own Map Runs: nothing else', () => {
    const statements = backfillStatements(s).filter((st) => st.Sid !== undefined);
    expect(statements).toEqual([
      { Sid: 'ListSourceObjects', Effect: 'Allow', Action: 's3:ListBucket', Resource: s3Arn('copyflow-source') },
      {
        Sid: 'WriteReports',
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [reports, 'Arn'] }, '/backfill/*']] },
      },
      { Sid: 'StartCopyflowExecutions', Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: copyflow } },
      {
        Sid: 'FollowCopyflowExecutions',
        Effect: 'Allow',
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: regional('states', [':execution:', { 'Fn::GetAtt': [copyflow, 'Name'] }, ':*']),
      },
      {
        Sid: 'SyncIntegrationRule',
        Effect: 'Allow',
        Action: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
        Resource: regional('events', [':rule/StepFunctionsGetEventsForStepFunctionsExecutionManagedRule']),
      },
      { Sid: 'RunOwnMapRun', Effect: 'Allow', Action: 'states:StartExecution', Resource: regional('states', [':stateMachine:Copyflow-Backfill']) },
      {
        Sid: 'FollowOwnMapRun',
        Effect: 'Allow',
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: regional('states', [':execution:Copyflow-Backfill/*']),
      },
    ]);
    // Everything else is Step Functions' own logging and X-Ray delivery, on Resource "*".
    for (const st of backfillStatements(s).filter((x) => x.Sid === undefined)) {
      expect(st.Resource).toBe('*');
      expect([st.Action].flat().every((a) => a.startsWith('logs:') || a.startsWith('xray:'))).toBe(true);
    }
  });
});

test('with a source prefix, the listing is limited to it', () => {
  const s = build({ 'source.prefix': 'in/', 'destination.prefix': 'out/' });
  const machine = logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'BackfillStateMachine');
  const definition = JSON.parse(s.template.toJSON().Resources[machine].Properties.DefinitionString);
  expect(definition.States.CopyEachObject.ItemReader.Parameters.Prefix).toBe('in/');
  const list = backfillStatements(s).find((st) => st.Sid === 'ListSourceObjects');
  expect(list).toEqual({ Sid: 'ListSourceObjects', Effect: 'Allow', Action: 's3:ListBucket', Resource: s3Arn('copyflow-source'), Condition: { StringLike: { 's3:prefix': 'in/*' } } });
});
