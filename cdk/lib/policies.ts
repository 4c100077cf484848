// Least-privilege IAM statements for the three steps, built from the settings alone so tests
// can compare them with the exact S3 calls each step makes (functions/core/src/{copy,verify}).
//
// Scope: object actions are limited to the watched source prefix and the destination prefix;
// bucket-level s3:ListBucket is granted where a step HEADs a key that may not exist, because
// without it S3 answers 403 instead of 404 (HeadObject API reference), and the steps tell
// "absent" (a copy to make, a raw-key fallback, a vanished copy) from "denied" by that status.
// KMS statements appear only when a key is configured, and only via S3 in this Region.

import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

export interface PolicyInputs {
  readonly sourceBucket: string;
  readonly sourcePrefix: string;
  readonly destinationBucket: string;
  /** The effective destination prefix. */
  readonly destinationPrefix: string;
  /** The source objects' customer managed key, if any. */
  readonly sourceKmsKeyArn?: string;
  /** The destination's SSE-KMS key, if any. */
  readonly destinationKmsKeyArn?: string;
}

/**
 * Escapes the characters IAM treats specially in resource ARNs (`*`, `?` wildcards and `$`
 * policy variables), so a prefix matches literally.
 */
export function iamLiteral(text: string): string {
  return text.replace(/[*?$]/g, (c) => '${' + c + '}');
}

export function bucketArn(bucket: string): string {
  return `arn:${Aws.PARTITION}:s3:::${bucket}`;
}

/**
 * Every object whose key starts with `prefix`. Spaces and brackets in the prefix are matched
 * by IAM's one-character wildcard `?` instead: the cdk-nag finding for this resource must be
 * acknowledged by its exact text, and CDK rewrites spaces in acknowledgement ids (to `-`) and
 * requires their brackets to balance. That widens the grant by one character position only.
 */
export function objectsArn(bucket: string, prefix: string): string {
  const pattern = prefix.replace(/[*?$ [\](){}]/g, (c) => ('*?$'.includes(c) ? '${' + c + '}' : '?'));
  return `arn:${Aws.PARTITION}:s3:::${bucket}/${pattern}*`;
}

/** Actions that read an object's bytes, headers (HeadObject) and tags, current or pinned version. */
export const READ_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'];
export const READ_TAGS_ACTIONS = ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'];
/**
 * CopyObject, CreateMultipartUpload, UploadPartCopy and CompleteMultipartUpload are all
 * s3:PutObject; the tags travel with PutObjectTagging; ListParts resumes a checkpointed upload;
 * AbortMultipartUpload leaves no orphaned upload.
 */
export const WRITE_COPY_ACTIONS = [
  's3:PutObject',
  's3:PutObjectTagging',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
];

function kmsViaS3(actions: string[], keyArn: string, sid: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions,
    resources: [keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
  });
}

function listBuckets(buckets: string[], sid: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['s3:ListBucket'],
    resources: [...new Set(buckets)].map(bucketArn),
  });
}

/** validate-key is pure: it parses the event and applies the key rules. No S3, no KMS. */
export function validateKeyStatements(): iam.PolicyStatement[] {
  return [];
}

/**
 * copy-object: HEAD + tags of the pinned source version, the server-side copy (single or
 * multipart) into the destination prefix, and a HEAD of the destination key to skip a copy
 * that is already there (idempotency). A fresh multipart copy first lists the destination's
 * open uploads of its key (ListMultipartUploads, a bucket-level action) and aborts those an
 * earlier, killed invocation left behind.
 */
export function copyObjectStatements(p: PolicyInputs): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      sid: 'ReadSourceObjects',
      actions: [...READ_OBJECT_ACTIONS, ...READ_TAGS_ACTIONS],
      resources: [objectsArn(p.sourceBucket, p.sourcePrefix)],
    }),
    new iam.PolicyStatement({
      sid: 'WriteDestinationObjects',
      actions: ['s3:GetObject', ...WRITE_COPY_ACTIONS],
      resources: [objectsArn(p.destinationBucket, p.destinationPrefix)],
    }),
    listBuckets([p.sourceBucket, p.destinationBucket], 'HeadMissingKeysAs404'),
    new iam.PolicyStatement({
      sid: 'FindLeftoverUploads',
      actions: ['s3:ListBucketMultipartUploads'],
      resources: [bucketArn(p.destinationBucket)],
    }),
  ];
  if (p.sourceKmsKeyArn) {
    statements.push(kmsViaS3(['kms:Decrypt'], p.sourceKmsKeyArn, 'DecryptSource'));
  }
  if (p.destinationKmsKeyArn) {
    // Multipart uploads to SSE-KMS need Decrypt as well as GenerateDataKey.
    statements.push(kmsViaS3(['kms:GenerateDataKey', 'kms:Decrypt'], p.destinationKmsKeyArn, 'EncryptDestination'));
  }
  return statements;
}

/**
 * verify-copy: HEAD + tags of the written destination version, ranged reads of the source
 * (and destination) when a checksum must be computed, and deleting the copy it proved bad.
 */
export function verifyCopyStatements(p: PolicyInputs): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      sid: 'ReadSourceObjects',
      // GetObject(Version)Attributes: the part CRCs of a COMPOSITE source, combined into its
      // full-object CRC without reading a byte.
      actions: [...READ_OBJECT_ACTIONS, 's3:GetObjectAttributes', 's3:GetObjectVersionAttributes'],
      resources: [objectsArn(p.sourceBucket, p.sourcePrefix)],
    }),
    new iam.PolicyStatement({
      sid: 'ReadDestinationObjects',
      actions: [...READ_OBJECT_ACTIONS, ...READ_TAGS_ACTIONS],
      resources: [objectsArn(p.destinationBucket, p.destinationPrefix)],
    }),
    new iam.PolicyStatement({
      sid: 'DeleteBadCopy',
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [objectsArn(p.destinationBucket, p.destinationPrefix)],
    }),
    listBuckets([p.destinationBucket], 'HeadMissingKeysAs404'),
  ];
  if (p.sourceKmsKeyArn) {
    statements.push(kmsViaS3(['kms:Decrypt'], p.sourceKmsKeyArn, 'DecryptSource'));
  }
  if (p.destinationKmsKeyArn) {
    statements.push(kmsViaS3(['kms:Decrypt'], p.destinationKmsKeyArn, 'DecryptDestination'));
  }
  return statements;
}

/** The object-prefix resources each role gets: the only `*` in the S3 statements. */
export function objectWildcards(p: PolicyInputs): { source: string; destination: string } {
  return { source: objectsArn(p.sourceBucket, p.sourcePrefix), destination: objectsArn(p.destinationBucket, p.destinationPrefix) };
}
