// The cloud pipeline (`docs/architecture.md#the-cloud-pipeline`): S3 source bucket (EventBridge
// on) -> EventBridge rule -> Step Functions (the ASL file as written) -> validate-key,
// copy-object, verify-copy.
//
// Everything comes from the settings (`copyflow.json` + CDK context), checked before this
// stack is built (lib/settings.ts). Each cdk-nag finding this stack cannot fix is acknowledged
// next to the construct that causes it, with the reason.

import { Annotations, Aws, CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import * as path from 'path';
import { addAlarms, CopyflowAlarms } from './alarms';
import { Definition } from './definition';
import { resolveLambdaAsset } from './lambda-assets';
import { copyObjectStatements, objectWildcards, PolicyInputs, validateKeyStatements, verifyCopyStatements } from './policies';
import { LoadedSettings, STEPS, StepKey } from './settings';

export interface CopyflowStackProps extends StackProps {
  readonly settings: LoadedSettings;
  readonly definition: Definition;
}

/** Acknowledges one cdk-nag finding on `scope` (and its children). */
function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export class CopyflowStack extends Stack {
  readonly sourceBucket: s3.IBucket;
  readonly destinationBucket: s3.IBucket;
  readonly destinationKey?: kms.IKey;
  readonly functions: Readonly<Record<StepKey, lambda.Function>>;
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarms: CopyflowAlarms;

  constructor(scope: Construct, id: string, props: CopyflowStackProps) {
    super(scope, id, props);
    const { settings, definition } = props;
    const deploy = settings.deploy;
    const sameBucket = settings.source.bucket === settings.destination.bucket;

    // ---------------------------------------------------------------------------------------
    // Encryption keys
    // ---------------------------------------------------------------------------------------
    if (deploy.destinationKmsKeyArn) {
      this.destinationKey = kms.Key.fromKeyArn(this, 'DestinationKey', deploy.destinationKmsKeyArn);
    } else if (deploy.createDestinationKmsKey) {
      this.destinationKey = new kms.Key(this, 'DestinationKey', {
        description: `copyflow: SSE-KMS for s3://${settings.destination.bucket}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    // ---------------------------------------------------------------------------------------
    // Buckets
    // ---------------------------------------------------------------------------------------
    const createsAny = deploy.createSourceBucket || deploy.createDestinationBucket;
    let accessLogs: s3.Bucket | undefined;
    if (createsAny && deploy.serverAccessLogs) {
      accessLogs = new s3.Bucket(this, 'AccessLogsBucket', {
        encryption: s3.BucketEncryption.S3_MANAGED, // the only encryption S3 log delivery supports
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [
          { id: 'ExpireAccessLogs', expiration: Duration.days(deploy.accessLogExpirationDays) },
          { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(deploy.abortIncompleteMultipartUploadDays) },
        ],
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    const makeBucket = (id: string, name: string, role: 'source' | 'destination' | 'both'): s3.Bucket => {
      const kmsDestination = role !== 'source' && this.destinationKey !== undefined;
      const lifecycleRules: s3.LifecycleRule[] = [
        // A failed or abandoned multipart copy must not leave billed parts behind.
        { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(deploy.abortIncompleteMultipartUploadDays) },
      ];
      if (deploy.bucketVersioning) {
        lifecycleRules.push({ id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: Duration.days(deploy.noncurrentVersionExpirationDays) });
      }
      const bucket = new s3.Bucket(this, id, {
        bucketName: name,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        encryption: kmsDestination ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
        encryptionKey: kmsDestination ? this.destinationKey : undefined,
        bucketKeyEnabled: kmsDestination ? true : undefined,
        versioned: deploy.bucketVersioning,
        lifecycleRules,
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: accessLogs ? `${name}/` : undefined,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      if (!accessLogs) {
        acknowledge(bucket, 'AwsSolutions-S1', 'Server access logging is turned off by deploy.serverAccessLogs = false in the settings (an explicit operator choice).');
      }
      if (role !== 'destination') {
        // Native CloudFormation (NotificationConfiguration.EventBridgeConfiguration) rather
        // than `eventBridgeEnabled`, which deploys a custom-resource Lambda to do the same.
        (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
          eventBridgeConfiguration: { eventBridgeEnabled: true },
        };
      }
      return bucket;
    };

    if (deploy.createSourceBucket) {
      this.sourceBucket = makeBucket('SourceBucket', settings.source.bucket, sameBucket ? 'both' : 'source');
    } else {
      this.sourceBucket = s3.Bucket.fromBucketName(this, 'SourceBucket', settings.source.bucket);
      if (deploy.enableEventBridgeOnImportedSource) {
        // A CDK custom resource that adds EventBridge to the bucket's notification
        // configuration and keeps the notifications it already has.
        this.sourceBucket.enableEventBridgeNotification();
      }
    }
    if (sameBucket) {
      this.destinationBucket = this.sourceBucket;
    } else if (deploy.createDestinationBucket) {
      this.destinationBucket = makeBucket('DestinationBucket', settings.destination.bucket, 'destination');
    } else {
      this.destinationBucket = s3.Bucket.fromBucketName(this, 'DestinationBucket', settings.destination.bucket);
    }

    // ---------------------------------------------------------------------------------------
    // Lambda functions
    // ---------------------------------------------------------------------------------------
    const policyInputs: PolicyInputs = {
      sourceBucket: settings.source.bucket,
      sourcePrefix: settings.source.prefix,
      destinationBucket: settings.destination.bucket,
      destinationPrefix: settings.destination.prefix,
      sourceKmsKeyArn: deploy.sourceKmsKeyArn ?? undefined,
      destinationKmsKeyArn: this.destinationKey?.keyArn,
    };
    const statements: Record<StepKey, iam.PolicyStatement[]> = {
      validateKey: validateKeyStatements(),
      copyObject: copyObjectStatements(policyInputs),
      verifyCopy: verifyCopyStatements(policyInputs),
    };
    const wildcards = objectWildcards(policyInputs);
    const assetDir = path.resolve(settings.baseDir, deploy.lambdaAssetDir);
    const architecture = deploy.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const settingsJson = JSON.stringify(settings.pipeline);

    const functions = {} as Record<StepKey, lambda.Function>;
    for (const step of STEPS) {
      const id = step.state; // ValidateKey, CopyObject, VerifyCopy
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        retention: deploy.logRetentionDays,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // A role of its own per function, with no managed policy: only its log group, X-Ray,
      // and the S3/KMS statements of its step.
      const role = new iam.Role(this, `${id}Role`, {
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
      for (const statement of statements[step.key]) {
        role.addToPrincipalPolicy(statement);
      }
      const fn = new lambda.Function(this, id, {
        description: `copyflow ${step.binary} (state ${step.state})`,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture,
        handler: 'bootstrap',
        code: lambda.Code.fromAsset(resolveLambdaAsset(assetDir, step.binary, deploy.architecture)),
        memorySize: deploy.lambda[step.key].memoryMb,
        timeout: Duration.seconds(deploy.lambda[step.key].timeoutSeconds),
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: deploy.logLevel as lambda.ApplicationLogLevel,
        systemLogLevelV2: lambda.SystemLogLevel.INFO,
        tracing: lambda.Tracing.ACTIVE,
        environment: {
          COPYFLOW_SETTINGS: settingsJson,
          RUST_LOG: deploy.logLevel.toLowerCase(),
        },
      });
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
      functions[step.key] = fn;
    }
    this.functions = functions;

    // ---------------------------------------------------------------------------------------
    // State machine
    // ---------------------------------------------------------------------------------------
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch Logs resource policies small.
      logGroupName: `/aws/vendedlogs/states/${this.stackName}`,
      retention: deploy.logRetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromString(definition.text),
      definitionSubstitutions: Object.fromEntries(STEPS.map((s) => [s.placeholder, functions[s.key].functionArn])),
      stateMachineType: deploy.stateMachineType === 'STANDARD' ? sfn.StateMachineType.STANDARD : sfn.StateMachineType.EXPRESS,
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: deploy.logExecutionData },
      tracingEnabled: true,
    });
    // The ASL invokes each function by its unqualified ARN, so that is all it may invoke.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeCopyflowSteps',
        actions: ['lambda:InvokeFunction'],
        resources: STEPS.map((s) => functions[s.key].functionArn),
      }),
    );
    const stateMachinePolicy = this.stateMachine.role.node.findChild('DefaultPolicy');
    acknowledge(
      stateMachinePolicy,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions logging (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) do not support resource-level permissions: AWS requires Resource "*".',
    );

    // ---------------------------------------------------------------------------------------
    // EventBridge rule, target retries and dead-letter queue
    // ---------------------------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'EventDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(deploy.dlqRetentionDays),
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the EventBridge target; it holds events for inspection and redrive and has no dead-letter queue of its own.',
    );
    const objectFilter = deploy.eventRuleKeyPrefixes.length > 0 ? { object: { key: deploy.eventRuleKeyPrefixes.map((prefix) => ({ prefix })) } } : {};
    this.rule = new events.Rule(this, 'ObjectCreatedRule', {
      description: `copyflow: S3 Object Created in s3://${settings.source.bucket}/${settings.source.prefix} starts an execution`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [settings.source.bucket] }, ...objectFilter },
      },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: deploy.eventTarget.retryAttempts,
          maxEventAge: Duration.seconds(deploy.eventTarget.maxEventAgeSeconds),
        }),
      ],
    });

    if (deploy.eventRuleKeyPrefixesDerived && settings.source.prefix !== '' && deploy.eventRuleKeyPrefixes.length === 0) {
      Annotations.of(this.rule).addInfo(
        `The rule does not filter by key: source.prefix ${JSON.stringify(settings.source.prefix)} has characters S3 may encode in event keys, so validate-key skips keys outside it instead (set deploy.eventRuleKeyPrefixes to filter by a safe part of it).`,
      );
    }

    // ---------------------------------------------------------------------------------------
    // Alarms
    // ---------------------------------------------------------------------------------------
    this.alarms = addAlarms(this, this.stateMachine, this.deadLetterQueue, deploy.alarms);

    // ---------------------------------------------------------------------------------------
    // The imported-source notification handler (a CDK singleton), when there is one
    // ---------------------------------------------------------------------------------------
    const handler = this.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (handler) {
      acknowledge(
        handler,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "aws-cdk-lib's own custom-resource handler that turns on EventBridge for the imported source bucket (and keeps its other notifications); it runs only during deployment, its role is defined by aws-cdk-lib, and its one inline policy is scoped to the source bucket.",
      );
    }

    // ---------------------------------------------------------------------------------------
    // Outputs
    // ---------------------------------------------------------------------------------------
    new CfnOutput(this, 'SourceBucketName', { value: this.sourceBucket.bucketName });
    new CfnOutput(this, 'DestinationBucketName', { value: this.destinationBucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'StateMachineConsoleUrl', {
      value: `https://${Aws.REGION}.console.aws.amazon.com/states/home?region=${Aws.REGION}#/statemachines/view/${this.stateMachine.stateMachineArn}`,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
  }
}

/**
 * How cdk-nag writes a resource in a finding id: `Aws.PARTITION` as `<AWS::Partition>`, and
 * `${x}` (here only IAM's escapes `${*}`, `${?}`, `${$}`) as `<x>`.
 */
function nagResource(arn: string): string {
  return arn.replace(Aws.PARTITION, '<AWS::Partition>').replace(/\$\{([^}]*)\}/g, '<$1>');
}
