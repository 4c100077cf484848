// The cdk-nag findings this app cannot fix are acknowledged next to the construct that causes
// each one, with the reason, so a new finding elsewhere still fails the check. cdk-nag 3.x
// reads acknowledgements from aws-cdk-lib's Validations API (not the v2 NagSuppressions).

import { Aws, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Acknowledges one cdk-nag finding on `scope` (and its children). */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * How cdk-nag writes a resource in a finding id: `Aws.PARTITION` as `<AWS::Partition>`, and
 * `${x}` (here only IAM's escapes `${*}`, `${?}`, `${$}`) as `<x>`.
 */
export function nagResource(arn: string): string {
  return arn.replace(Aws.PARTITION, '<AWS::Partition>').replace(/\$\{([^}]*)\}/g, '<$1>');
}
