// The three steps (validate-key, copy-object, verify-copy) as Lambda functions, each with a log
// group and a role of its own. A role carries no managed policy: only its log group, X-Ray and
// the S3/KMS statements of its step (lib/policies.ts), so no step may do what only another
// step needs.

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'path';
import { resolveLambdaAsset } from './lambda-assets';
import { acknowledge, LOG_GROUP_KMS_REASON, nagResource, skipCheckov } from './nag';
import { copyObjectStatements, objectWildcards, PolicyInputs, validateKeyStatements, verifyCopyStatements } from './policies';
import { LoadedSettings, STEPS, StepKey } from './settings';

type Step = (typeof STEPS)[number];

/** What every step's function shares: the settings, and where its grants end. */
interface StepContext {
  readonly settings: LoadedSettings;
  readonly statements: Readonly<Record<StepKey, iam.PolicyStatement[]>>;
  readonly wildcards: { readonly source: string; readonly destination: string };
  readonly assetDir: string;
  readonly architecture: lambda.Architecture;
  readonly settingsJson: string;
}

/** Adds the three functions to `scope`, with ids named after their Task states (ValidateKey, ...). */
export function addStepLambdas(scope: Construct, settings: LoadedSettings, destinationKey?: kms.IKey): Readonly<Record<StepKey, lambda.Function>> {
  const deploy = settings.deploy;
  const policyInputs: PolicyInputs = {
    sourceBucket: settings.source.bucket,
    sourcePrefix: settings.source.prefix,
    destinationBucket: settings.destination.bucket,
    destinationPrefix: settings.destination.prefix,
    sourceKmsKeyArn: deploy.sourceKmsKeyArn ?? undefined,
    destinationKmsKeyArn: destinationKey?.keyArn,
  };
  const context: StepContext = {
    settings,
    statements: {
      validateKey: validateKeyStatements(),
      copyObject: copyObjectStatements(policyInputs),
      verifyCopy: verifyCopyStatements(policyInputs),
    },
    wildcards: objectWildcards(policyInputs),
    assetDir: path.resolve(settings.baseDir, deploy.lambdaAssetDir),
    architecture: deploy.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
    settingsJson: JSON.stringify(settings.pipeline),
  };
  const functions = {} as Record<StepKey, lambda.Function>;
  for (const step of STEPS) {
    functions[step.key] = addStepLambda(scope, step, context);
  }
  return functions;
}

function addStepLambda(scope: Construct, step: Step, context: StepContext): lambda.Function {
  const deploy = context.settings.deploy;
  const id = step.state;
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: deploy.logRetentionDays,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  skipCheckov(logGroup, [['CKV_AWS_158', LOG_GROUP_KMS_REASON]]);
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `copyflow ${step.binary}: least privilege for this step only`,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  for (const statement of context.statements[step.key]) {
    role.addToPrincipalPolicy(statement);
  }
  const fn = new lambda.Function(scope, id, {
    description: `copyflow ${step.binary} (state ${step.state})`,
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture: context.architecture,
    handler: 'bootstrap',
    code: lambda.Code.fromAsset(resolveLambdaAsset(context.assetDir, step.binary, deploy.architecture)),
    memorySize: deploy.lambda[step.key].memoryMb,
    timeout: Duration.seconds(deploy.lambda[step.key].timeoutSeconds),
    // Optional (README "Scale model"): a cap that keeps a burst of events from sending more
    // COPY requests per second than S3 accepts per prefix, or from starving other functions.
    reservedConcurrentExecutions: deploy.lambda[step.key].reservedConcurrency ?? undefined,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: deploy.logLevel as lambda.ApplicationLogLevel,
    systemLogLevelV2: lambda.SystemLogLevel.INFO,
    tracing: lambda.Tracing.ACTIVE,
    environment: {
      COPYFLOW_SETTINGS: context.settingsJson,
      RUST_LOG: deploy.logLevel.toLowerCase(),
    },
  });
  skipCheckov(fn, [
    ['CKV_AWS_115', 'No reserved concurrency by default (deploy.lambda.<step>.reservedConcurrency sets one): it would carve capacity out of the account pool for every deployment; S3 request rates per prefix are the limit that matters.'],
    ['CKV_AWS_116', 'Step Functions invokes the function synchronously and retries and catches its errors in the ASL; a Lambda dead-letter queue applies only to asynchronous invocations.'],
    ['CKV_AWS_117', 'The function only calls AWS service endpoints (S3, KMS, X-Ray, CloudWatch Logs); a VPC would add NAT or VPC endpoints and cold-start cost and protect nothing here.'],
    ['CKV_AWS_173', 'The only variables are the copyflow settings document and the log level: no secrets; Lambda encrypts them at rest with an AWS managed key.'],
  ]);
  acknowledgeRoleFindings(role, step, context);
  return fn;
}

/** The wildcards in a step's role that cdk-nag reports and least privilege cannot remove. */
function acknowledgeRoleFindings(role: iam.Role, step: Step, context: StepContext): void {
  const { settings, wildcards } = context;
  const policy = role.node.findChild('DefaultPolicy');
  acknowledge(
    policy,
    'AwsSolutions-IAM5[Resource::*]',
    'X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions, AWS requires Resource "*".',
  );
  if (step.key !== 'validateKey') {
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::${nagResource(wildcards.source)}]`,
      `Object keys are only known when events arrive: access is limited to objects under the watched prefix s3://${settings.source.bucket}/${settings.source.prefix}.`,
    );
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::${nagResource(wildcards.destination)}]`,
      `Object keys are only known when events arrive: access is limited to objects under the destination prefix s3://${settings.destination.bucket}/${settings.destination.prefix}.`,
    );
  }
}
