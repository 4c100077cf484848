// The backfill (`statemachine/backfill.asl.json`): a Standard state machine whose Distributed
// Map lists the source bucket under the source prefix and starts the copyflow state machine
// once per object (startExecution.sync:2), writing a report of the objects whose execution
// failed to its own bucket. `copyflow backfill --aws` starts it through the
// BackfillStateMachineArn output.
//
// Its role may: list the source prefix (the ItemReader), write report files under the report
// prefix (the ResultWriter, multipart for large reports), start the copyflow state machine and
// describe/stop its executions with the managed EventBridge rule .sync uses, and run its own
// Map Run's child executions (which Step Functions starts as executions of
// `<name>/<label>`). The state machine has a fixed name so the role can name its own
// executions without a circular reference.

import { ArnFormat, Aws, CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import * as fs from 'fs';
import * as path from 'path';
import { PLACEHOLDER } from './definition';
import { acknowledge, LOG_GROUP_KMS_REASON, skipCheckov } from './nag';
import { bucketArn, iamLiteral } from './policies';
import { ConfigurationError, LoadedSettings } from './settings';

/** Where in the report bucket the Map Run results go: `<prefix><map run id>/manifest.json`, `FAILED_0.json`, ... */
export const REPORT_PREFIX = 'backfill/';
/** How long reports are kept. */
export const REPORT_EXPIRATION_DAYS = 90;
/** The placeholders the backfill ASL uses, all filled below. */
export const BACKFILL_PLACEHOLDERS = ['SourceBucket', 'SourcePrefix', 'AccountId', 'Region', 'CopyflowStateMachineArn', 'ReportBucket', 'ReportPrefix'];

export function defaultBackfillFile(): string {
  return path.resolve(__dirname, '..', '..', 'statemachine', 'backfill.asl.json');
}

/** The backfill ASL as written, refused if it uses a placeholder this app does not fill. */
export function readBackfillDefinition(file: string = defaultBackfillFile()): string {
  const text = fs.readFileSync(file, 'utf8');
  JSON.parse(text);
  const unknown = [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]))].filter((p) => !BACKFILL_PLACEHOLDERS.includes(p));
  if (unknown.length > 0) {
    throw new ConfigurationError(`${file}: uses placeholders the CDK app does not fill: ${unknown.join(', ')}`);
  }
  return text;
}

export interface CopyflowBackfill {
  readonly stateMachine: sfn.StateMachine;
  readonly reportBucket: s3.Bucket;
}

/** Adds the report bucket, the backfill state machine, its log group and its role's grants to `scope`. */
export function addBackfill(
  scope: Construct,
  settings: LoadedSettings,
  copyflow: sfn.StateMachine,
  accessLogs: s3.IBucket | undefined,
): CopyflowBackfill {
  const stack = Stack.of(scope);
  const deploy = settings.deploy;

  // ---- report bucket -------------------------------------------------------------------
  const reportBucket = new s3.Bucket(scope, 'BackfillReportsBucket', {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: s3.BucketEncryption.S3_MANAGED,
    versioned: true,
    lifecycleRules: [
      { id: 'ExpireReports', expiration: Duration.days(REPORT_EXPIRATION_DAYS), noncurrentVersionExpiration: Duration.days(1) },
      { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(deploy.abortIncompleteMultipartUploadDays) },
    ],
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: accessLogs ? 'backfill-reports/' : undefined,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  if (!accessLogs) {
    const reason = 'Server access logging is off: deploy.serverAccessLogs = false, or no bucket is created that would hold the logs. The report bucket only receives the backfill state machine\'s reports.';
    acknowledge(reportBucket, 'AwsSolutions-S1', reason);
    skipCheckov(reportBucket, [['CKV_AWS_18', reason]]);
  }

  // ---- state machine ---------------------------------------------------------------------
  const name = `${stack.stackName}-Backfill`;
  const backfillLogs = new logs.LogGroup(scope, 'BackfillLogs', {
    logGroupName: `/aws/vendedlogs/states/${stack.stackName}-backfill`,
    retention: deploy.logRetentionDays,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  skipCheckov(backfillLogs, [['CKV_AWS_158', LOG_GROUP_KMS_REASON]]);
  const stateMachine = new sfn.StateMachine(scope, 'BackfillStateMachine', {
    stateMachineName: name,
    // The prefix goes in here, JSON-escaped: CloudFormation (and cfn-lint) treat an empty
    // DefinitionSubstitutions value as a missing one, and the whole bucket has prefix "".
    definitionBody: sfn.DefinitionBody.fromString(
      readBackfillDefinition().split('${SourcePrefix}').join(JSON.stringify(settings.source.prefix).slice(1, -1)),
    ),
    definitionSubstitutions: {
      SourceBucket: settings.source.bucket,
      AccountId: Aws.ACCOUNT_ID,
      Region: Aws.REGION,
      CopyflowStateMachineArn: copyflow.stateMachineArn,
      ReportBucket: reportBucket.bucketName,
      ReportPrefix: REPORT_PREFIX,
    },
    stateMachineType: sfn.StateMachineType.STANDARD,
    logs: { destination: backfillLogs, level: sfn.LogLevel.ALL, includeExecutionData: deploy.logExecutionData },
    tracingEnabled: true,
  });

  // ---- grants ------------------------------------------------------------------------------
  const executionsOf = (machineName: string) =>
    stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${machineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  const list: iam.PolicyStatementProps = {
    sid: 'ListSourceObjects',
    actions: ['s3:ListBucket'],
    resources: [bucketArn(settings.source.bucket)],
  };
  const statements = [
    new iam.PolicyStatement(
      settings.source.prefix === '' ? list : { ...list, conditions: { StringLike: { 's3:prefix': `${iamLiteral(settings.source.prefix)}*` } } },
    ),
    new iam.PolicyStatement({
      sid: 'WriteReports',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [reportBucket.arnForObjects(`${REPORT_PREFIX}*`)],
    }),
    new iam.PolicyStatement({
      sid: 'StartCopyflowExecutions',
      actions: ['states:StartExecution'],
      resources: [copyflow.stateMachineArn],
    }),
    new iam.PolicyStatement({
      sid: 'FollowCopyflowExecutions',
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [executionsOf(copyflow.stateMachineName)],
    }),
    new iam.PolicyStatement({
      sid: 'SyncIntegrationRule',
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionManagedRule' })],
    }),
    new iam.PolicyStatement({
      sid: 'RunOwnMapRun',
      actions: ['states:StartExecution'],
      resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }),
    new iam.PolicyStatement({
      sid: 'FollowOwnMapRun',
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }),
  ];
  for (const statement of statements) {
    stateMachine.addToRolePolicy(statement);
  }
  // Each wildcard is the narrowest its action allows; cdk-nag names each finding by its resource.
  const logicalId = (c: Construct) => stack.resolve(stack.getLogicalId(c.node.defaultChild as CfnElement)) as string;
  const policy = stateMachine.role.node.findChild('DefaultPolicy');
  const executions = 'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:';
  const findings: [string, string][] = [
    ['*', 'Step Functions logging (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) do not support resource-level permissions: AWS requires Resource "*".'],
    [`<${logicalId(reportBucket)}.Arn>/${REPORT_PREFIX}*`, 'The ResultWriter writes new report files under the report prefix for every Map Run (<prefix><map run id>/...): only that prefix of the report bucket.'],
    [`${executions}<${logicalId(copyflow)}.Name>:*`, 'startExecution.sync:2 describes (and on timeout stops) the copyflow executions it starts, one per object, whose names Step Functions generates: only executions of the copyflow state machine.'],
    [`${executions}${name}/*`, "A Distributed Map's child executions are executions of <this state machine>/<label>, named by Step Functions: only this state machine's Map Runs."],
  ];
  for (const [resource, reason] of findings) {
    acknowledge(policy, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
  }
  return { stateMachine, reportBucket };
}
