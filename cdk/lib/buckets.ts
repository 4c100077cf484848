// Storage: the destination's SSE-KMS key, the server access logs bucket, and the source and
// destination buckets, each created or imported as the settings say.
//
// Added to the stack's own scope under their original ids (see copyflow-stack.ts): a new
// logical id for a retained, named bucket would make CloudFormation create a second bucket
// of that name, which fails, and orphan the first.

import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, skipCheckov } from './nag';
import { DeploySettings, LoadedSettings } from './settings';

export interface CopyflowBuckets {
  readonly sourceBucket: s3.IBucket;
  /** The source bucket itself when source and destination are one bucket. */
  readonly destinationBucket: s3.IBucket;
  /** The destination's SSE-KMS key (existing or created), if any. */
  readonly destinationKey?: kms.IKey;
  /** The server access logs bucket, when one is created. */
  readonly accessLogs?: s3.Bucket;
}

/** What a bucket holds: it sends events if it is the source, and uses the key if it is the destination. */
type BucketRole = 'source' | 'destination' | 'both';

/** What the created buckets have in common. */
interface SharedBucketSettings {
  readonly deploy: DeploySettings;
  readonly destinationKey?: kms.IKey;
  readonly accessLogs?: s3.Bucket;
}

/** Adds the key and the buckets to `scope`; imported buckets are only referenced. */
export function addBuckets(scope: Construct, settings: LoadedSettings): CopyflowBuckets {
  const deploy = settings.deploy;
  const sameBucket = settings.source.bucket === settings.destination.bucket;
  const destinationKey = addDestinationKey(scope, settings);
  const shared: SharedBucketSettings = { deploy, destinationKey, accessLogs: addAccessLogsBucket(scope, deploy) };

  let sourceBucket: s3.IBucket;
  if (deploy.createSourceBucket) {
    sourceBucket = createBucket(scope, 'SourceBucket', settings.source.bucket, sameBucket ? 'both' : 'source', shared);
  } else {
    sourceBucket = importSource(scope, settings.source.bucket, deploy.enableEventBridgeOnImportedSource);
  }
  let destinationBucket: s3.IBucket;
  if (sameBucket) {
    destinationBucket = sourceBucket;
  } else if (deploy.createDestinationBucket) {
    destinationBucket = createBucket(scope, 'DestinationBucket', settings.destination.bucket, 'destination', shared);
  } else {
    destinationBucket = s3.Bucket.fromBucketName(scope, 'DestinationBucket', settings.destination.bucket);
  }
  return { sourceBucket, destinationBucket, destinationKey, accessLogs: shared.accessLogs };
}

/** An existing key by ARN, a new key with rotation, or none (SSE-S3). */
function addDestinationKey(scope: Construct, settings: LoadedSettings): kms.IKey | undefined {
  const deploy = settings.deploy;
  if (deploy.destinationKmsKeyArn) {
    return kms.Key.fromKeyArn(scope, 'DestinationKey', deploy.destinationKmsKeyArn);
  }
  if (deploy.createDestinationKmsKey) {
    return new kms.Key(scope, 'DestinationKey', {
      description: `copyflow: SSE-KMS for s3://${settings.destination.bucket}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
  return undefined;
}

/** The bucket the created buckets log their requests to: none if none is created or logging is off. */
function addAccessLogsBucket(scope: Construct, deploy: DeploySettings): s3.Bucket | undefined {
  if (!(deploy.createSourceBucket || deploy.createDestinationBucket) || !deploy.serverAccessLogs) {
    return undefined;
  }
  const bucket = new s3.Bucket(scope, 'AccessLogsBucket', {
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
  skipCheckov(bucket, [
    ['CKV_AWS_18', 'This is the access-log bucket itself: logging its own requests into itself would loop.'],
    ['CKV_AWS_21', 'Access logs expire by the lifecycle rule and are never overwritten; versioning would only keep deleted logs.'],
  ]);
  return bucket;
}

/** A private, TLS-only, owner-enforced, retained bucket: SSE-KMS if it is the destination and there is a key. */
function createBucket(scope: Construct, id: string, name: string, role: BucketRole, shared: SharedBucketSettings): s3.Bucket {
  const { deploy, destinationKey, accessLogs } = shared;
  const kmsDestination = role !== 'source' && destinationKey !== undefined;
  const lifecycleRules: s3.LifecycleRule[] = [
    // A failed or abandoned multipart copy must not leave billed parts behind.
    { id: 'AbortIncompleteMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(deploy.abortIncompleteMultipartUploadDays) },
  ];
  if (deploy.bucketVersioning) {
    lifecycleRules.push({ id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: Duration.days(deploy.noncurrentVersionExpirationDays) });
  }
  const bucket = new s3.Bucket(scope, id, {
    bucketName: name,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    encryption: kmsDestination ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
    encryptionKey: kmsDestination ? destinationKey : undefined,
    bucketKeyEnabled: kmsDestination ? true : undefined,
    versioned: deploy.bucketVersioning,
    lifecycleRules,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: accessLogs ? `${name}/` : undefined,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  if (!accessLogs) {
    const reason = 'Server access logging is turned off by deploy.serverAccessLogs = false in the settings (an explicit operator choice).';
    acknowledge(bucket, 'AwsSolutions-S1', reason);
    skipCheckov(bucket, [['CKV_AWS_18', reason]]);
  }
  if (role !== 'destination') {
    // Native CloudFormation (NotificationConfiguration.EventBridgeConfiguration) rather
    // than `eventBridgeEnabled`, which deploys a custom-resource Lambda to do the same.
    (bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
  }
  return bucket;
}

/** The existing source bucket, with EventBridge turned on by a custom resource if the settings ask. */
function importSource(scope: Construct, name: string, enableEventBridge: boolean): s3.IBucket {
  const bucket = s3.Bucket.fromBucketName(scope, 'SourceBucket', name);
  if (enableEventBridge) {
    // A CDK custom resource that adds EventBridge to the bucket's notification
    // configuration and keeps the notifications it already has.
    bucket.enableEventBridgeNotification();
    // Its handler is a stack-wide singleton that aws-cdk-lib defines, with a managed policy.
    const handler = Stack.of(scope).node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (handler) {
      acknowledge(
        handler,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "aws-cdk-lib's own custom-resource handler that turns on EventBridge for the imported source bucket (and keeps its other notifications); it runs only during deployment, its role is defined by aws-cdk-lib, and its one inline policy is scoped to the source bucket.",
      );
    }
  }
  return bucket;
}
