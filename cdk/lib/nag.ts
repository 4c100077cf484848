// The cdk-nag findings this app cannot fix are acknowledged next to the construct that causes
// each one, with the reason, so a new finding elsewhere still fails the check. cdk-nag 3.x
// reads acknowledgements from aws-cdk-lib's Validations API (not the v2 NagSuppressions).

import { Aws, CfnResource, Validations } from 'aws-cdk-lib';
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

/** Log groups hold step logs (keys, error names, timings), never object data. */
export const LOG_GROUP_KMS_REASON =
  'CloudWatch Logs encrypts log groups at rest by default; these hold step logs (object keys, error names, timings), never object data, so a customer-managed key would add cost and a key policy for no protection the data needs.';

/**
 * Skips checkov checks on the resource behind `scope`, each with its reason: checkov reads
 * them from the template's `Metadata.checkov.skip`, so the reason ships with the resource and
 * a new finding anywhere else still fails `cdk/test/template-checks.test.ts`.
 */
export function skipCheckov(scope: IConstruct, checks: ReadonlyArray<readonly [id: string, reason: string]>): void {
  const resource = scope instanceof CfnResource ? scope : (scope.node.defaultChild as CfnResource);
  const existing = (resource.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)?.skip ?? [];
  resource.addMetadata('checkov', { skip: [...existing, ...checks.map(([id, comment]) => ({ id, comment }))] });
}
