// Least privilege: each role's exact actions and resources, and no wildcard anywhere except
// the object prefixes and the services that only accept Resource "*".

import { iamLiteral, objectsArn } from '../lib/policies';
import { build, logicalId, s3Arn, Synthesized } from './helpers';

const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SOURCE_KEY_ARN = 'arn:aws:kms:eu-west-1:000000000000:key/abcd1234-ab12-cd34-ef56-abcdef123456';

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** The statements of the policy attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(s: Synthesized, rolePrefix: string): Statement[] {
  const role = logicalId(s.template, 'AWS::IAM::Role', rolePrefix);
  const policies = Object.values(s.template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role),
  );
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

const logs = (s: Synthesized, id: string): Statement => ({
  Sid: 'WriteOwnLogs',
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: { 'Fn::GetAtt': [logicalId(s.template, 'AWS::Logs::LogGroup', `${id}Logs`), 'Arn'] },
});
const xray: Statement = { Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' };
const viaS3 = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] } } };

describe('with the default settings (whole source bucket, keys unchanged)', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = build();
  });

  test('validate-key may write its logs and traces, and nothing else: no S3, no KMS', () => {
    expect(statementsOf(s, 'ValidateKeyRole')).toEqual([logs(s, 'ValidateKey'), xray]);
  });

  test('copy-object reads the source (with tags and versions), writes the destination (multipart and tags) and may list its open uploads', () => {
    expect(statementsOf(s, 'CopyObjectRole')).toEqual([
      logs(s, 'CopyObject'),
      {
        Sid: 'ReadSourceObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectTagging', 's3:GetObjectVersion', 's3:GetObjectVersionTagging'],
        Resource: s3Arn('copyflow-source/*'),
      },
      {
        Sid: 'WriteDestinationObjects',
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject', 's3:PutObjectTagging'],
        Resource: s3Arn('copyflow-destination/*'),
      },
      { Sid: 'HeadMissingKeysAs404', Effect: 'Allow', Action: 's3:ListBucket', Resource: [s3Arn('copyflow-destination'), s3Arn('copyflow-source')] },
      { Sid: 'FindLeftoverUploads', Effect: 'Allow', Action: 's3:ListBucketMultipartUploads', Resource: s3Arn('copyflow-destination') },
      xray,
    ]);
  });

  test('verify-copy reads both sides, reads the destination tags, and may delete only a destination object', () => {
    expect(statementsOf(s, 'VerifyCopyRole')).toEqual([
      logs(s, 'VerifyCopy'),
      {
        Sid: 'ReadSourceObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectAttributes', 's3:GetObjectVersion', 's3:GetObjectVersionAttributes'],
        Resource: s3Arn('copyflow-source/*'),
      },
      {
        Sid: 'ReadDestinationObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectTagging', 's3:GetObjectVersion', 's3:GetObjectVersionTagging'],
        Resource: s3Arn('copyflow-destination/*'),
      },
      { Sid: 'DeleteBadCopy', Effect: 'Allow', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: s3Arn('copyflow-destination/*') },
      { Sid: 'HeadMissingKeysAs404', Effect: 'Allow', Action: 's3:ListBucket', Resource: s3Arn('copyflow-destination') },
      xray,
    ]);
  });

  test('the state machine may invoke exactly the three functions (unqualified ARNs), plus logging and X-Ray', () => {
    const arn = (id: string) => ({ 'Fn::GetAtt': [logicalId(s.template, 'AWS::Lambda::Function', id), 'Arn'] });
    expect(statementsOf(s, 'StateMachineRole')).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'logs:CreateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:DescribeLogGroups',
          'logs:DescribeResourcePolicies',
          'logs:GetLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:UpdateLogDelivery',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ],
        Resource: '*',
      },
      { Sid: 'InvokeCopyflowSteps', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [arn('CopyObject'), arn('ValidateKey'), arn('VerifyCopy')] },
    ]);
  });

  test('EventBridge may start executions of this state machine only', () => {
    const sm = logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'StateMachine');
    expect(statementsOf(s, 'StateMachineEventsRole')).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: sm } }]);
  });
});

describe('with prefixes and KMS keys', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = build({
      'source.prefix': 'incoming/',
      'destination.prefix': 'archive/',
      'deploy.createDestinationKmsKey': true,
      'deploy.createSourceBucket': false,
      'deploy.sourceKmsKeyArn': SOURCE_KEY_ARN,
    });
  });

  test('copy-object is scoped to the watched and destination prefixes and gets the KMS grants, via S3 only', () => {
    const key = { 'Fn::GetAtt': [logicalId(s.template, 'AWS::KMS::Key', 'DestinationKey'), 'Arn'] };
    expect(statementsOf(s, 'CopyObjectRole')).toEqual([
      logs(s, 'CopyObject'),
      {
        Sid: 'ReadSourceObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectTagging', 's3:GetObjectVersion', 's3:GetObjectVersionTagging'],
        Resource: s3Arn('copyflow-source/incoming/*'),
      },
      {
        Sid: 'WriteDestinationObjects',
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject', 's3:PutObjectTagging'],
        Resource: s3Arn('copyflow-destination/archive/*'),
      },
      { Sid: 'HeadMissingKeysAs404', Effect: 'Allow', Action: 's3:ListBucket', Resource: [s3Arn('copyflow-destination'), s3Arn('copyflow-source')] },
      { Sid: 'FindLeftoverUploads', Effect: 'Allow', Action: 's3:ListBucketMultipartUploads', Resource: s3Arn('copyflow-destination') },
      { Sid: 'DecryptSource', Effect: 'Allow', Action: 'kms:Decrypt', Resource: SOURCE_KEY_ARN, Condition: viaS3 },
      { Sid: 'EncryptDestination', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key, Condition: viaS3 },
      xray,
    ]);
  });

  test('verify-copy may decrypt both sides, via S3 only', () => {
    const key = { 'Fn::GetAtt': [logicalId(s.template, 'AWS::KMS::Key', 'DestinationKey'), 'Arn'] };
    const statements = statementsOf(s, 'VerifyCopyRole');
    expect(statements.map((st) => st.Resource)).toEqual([
      logs(s, 'VerifyCopy').Resource,
      s3Arn('copyflow-source/incoming/*'),
      s3Arn('copyflow-destination/archive/*'),
      s3Arn('copyflow-destination/archive/*'),
      s3Arn('copyflow-destination'),
      SOURCE_KEY_ARN,
      key,
      '*',
    ]);
    expect(statements.slice(5, 7)).toEqual([
      { Sid: 'DecryptSource', Effect: 'Allow', Action: 'kms:Decrypt', Resource: SOURCE_KEY_ARN, Condition: viaS3 },
      { Sid: 'DecryptDestination', Effect: 'Allow', Action: 'kms:Decrypt', Resource: key, Condition: viaS3 },
    ]);
  });

  test('validate-key still gets no S3 or KMS access', () => {
    expect(statementsOf(s, 'ValidateKeyRole')).toEqual([logs(s, 'ValidateKey'), xray]);
  });

  test('an imported destination key is granted by its ARN', () => {
    const imported = build({ 'deploy.destinationKmsKeyArn': KMS_KEY_ARN });
    expect(statementsOf(imported, 'CopyObjectRole')).toContainEqual({
      Sid: 'EncryptDestination',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: KMS_KEY_ARN,
      Condition: viaS3,
    });
  });
});

test('prefixes with IAM wildcard or variable characters are matched literally', () => {
  expect(iamLiteral('a*b?c$d/')).toBe('a${*}b${?}c${$}d/');
  const s = build({ 'source.prefix': 'in*?$/', 'destination.prefix': 'out/' });
  expect(statementsOf(s, 'CopyObjectRole')[1].Resource).toEqual(s3Arn('copyflow-source/in${*}${?}${$}/*'));
  expect(objectsArn('b', '')).toMatch(/:s3:::b\/\*$/);
  // Spaces and brackets cannot appear in a cdk-nag acknowledgement id; `?` stands for each.
  const spaced = build({ 'source.prefix': 'my uploads (2)/', 'destination.prefix': 'out/' });
  expect(statementsOf(spaced, 'CopyObjectRole')[1].Resource).toEqual(s3Arn('copyflow-source/my?uploads??2?/*'));
});

/** The backfill role's wildcard resources: report objects, copyflow executions, its own Map Runs' executions. */
function backfillWildcards(s: Synthesized): unknown[] {
  const machine = logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'StateMachine');
  return [
    { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(s.template, 'AWS::S3::Bucket', 'BackfillReportsBucket'), 'Arn'] }, '/backfill/*']] },
    { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', { 'Fn::GetAtt': [machine, 'Name'] }, ':*']] },
    { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:execution:${s.settings.deploy.stackName}-Backfill/*`]] },
  ];
}

describe('no wildcards but the required ones', () => {
  const variants: Record<string, Record<string, unknown>> = {
    default: {},
    'imported buckets': { 'deploy.createSourceBucket': false, 'deploy.createDestinationBucket': false },
    'KMS and prefixes': { 'source.prefix': 'in/', 'destination.prefix': 'out/', 'deploy.createDestinationKmsKey': true },
    express: { 'deploy.stateMachineType': 'EXPRESS' },
  };
  /** Actions that do not support resource-level permissions (the service authorization reference lists no resource type for them). */
  const starOnly = new Set([
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ]);

  test.each(Object.keys(variants))('%s: no action has a *, and Resource "*" only for actions that allow nothing else', (name) => {
    const s = build(variants[name]);
    const objectPrefixes = [s.settings.source, s.settings.destination].map((side) => JSON.stringify(s.stack.resolve(objectsArn(side.bucket, side.prefix))));
    // The backfill's: report files under the report prefix, and executions Step Functions names.
    objectPrefixes.push(...backfillWildcards(s).map((r) => JSON.stringify(r)));
    for (const policy of Object.values(s.template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        const actions = [statement.Action].flat();
        expect(actions.filter((a) => a.includes('*'))).toEqual([]);
        for (const resource of [statement.Resource].flat()) {
          const text = JSON.stringify(resource);
          if (resource === '*') {
            expect(actions.filter((a) => !starOnly.has(a))).toEqual([]);
          } else if (text.includes('*')) {
            // Only the object-prefix ARNs: keys are unknown until events arrive.
            expect(objectPrefixes).toContain(text);
          }
        }
      }
    }
  });
});
