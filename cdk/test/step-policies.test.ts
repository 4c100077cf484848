// The S3 statements of each step's role, as the local runtime enforces them: synthesized with
// recognizable bucket names and prefixes, which are then replaced by the placeholders
// ${SourceBucket}, ${SourcePrefix}, ${DestinationBucket} and ${DestinationPrefix}, the
// partition resolved to `aws`. The result must equal tests/fixtures/step-policies.json, which
// copyflow-cli compiles in and fills with the local settings (local/cli/src/step_keys.rs), so
// every local run is authorized against exactly the deployed permissions.
// Regenerate after a deliberate change of lib/policies.ts with UPDATE_FIXTURES=1.

import * as fs from 'fs';
import * as path from 'path';
import { build, logicalId, REPO_DIR } from './helpers';

const FIXTURE = path.join(REPO_DIR, 'tests', 'fixtures', 'step-policies.json');

/** Settings whose values are found in the template and replaced by placeholders. */
const PLACEHOLDERS: Record<string, string> = {
  'placeholder-source-bucket': '${SourceBucket}',
  'placeholder-source-prefix/': '${SourcePrefix}',
  'placeholder-destination-bucket': '${DestinationBucket}',
  'placeholder-destination-prefix/': '${DestinationPrefix}',
};

const STEPS = ['ValidateKey', 'CopyObject', 'VerifyCopy'];

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** A resource in CloudFormation form as the plain string it becomes, placeholders put back. */
function resolveResource(value: unknown): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (value && typeof value === 'object' && 'Fn::Join' in value) {
    const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    text = parts
      .map((part) => {
        if (typeof part === 'string') return part;
        if (JSON.stringify(part) === JSON.stringify({ Ref: 'AWS::Partition' })) return 'aws';
        throw new Error(`an S3 resource refers to ${JSON.stringify(part)}: the local runtime cannot resolve it`);
      })
      .join(separator);
  } else {
    throw new Error(`an S3 resource is ${JSON.stringify(value)}: the local runtime cannot resolve it`);
  }
  for (const [value, placeholder] of Object.entries(PLACEHOLDERS)) {
    text = text.split(value).join(placeholder);
  }
  return text;
}

function s3Statements(template: ReturnType<typeof build>['template'], step: string): Statement[] {
  const role = logicalId(template, 'AWS::IAM::Role', `${step}Role`);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role),
  );
  expect(policies).toHaveLength(1);
  const statements = policies[0].Properties.PolicyDocument.Statement as Statement[];
  return statements
    .filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')))
    .map((s) => {
      const actions = [s.Action].flat();
      if (!actions.every((a) => a.startsWith('s3:'))) {
        throw new Error(`statement ${s.Sid} mixes S3 and other actions: ${actions.join(', ')}`);
      }
      const resources = [s.Resource].flat().map(resolveResource);
      return {
        ...(s.Sid ? { Sid: s.Sid } : {}),
        Effect: s.Effect,
        Action: s.Action,
        Resource: Array.isArray(s.Resource) ? resources : resources[0],
        ...(s.Condition ? { Condition: s.Condition } : {}),
      };
    });
}

/** What the fixture must hold for the CDK app as it is. */
function synthesized(): unknown {
  const { template } = build({
    'source.bucket': 'placeholder-source-bucket',
    'source.prefix': 'placeholder-source-prefix/',
    'destination.bucket': 'placeholder-destination-bucket',
    'destination.prefix': 'placeholder-destination-prefix/',
  });
  const policies: Record<string, unknown> = {};
  for (const step of STEPS) {
    policies[step] = { Version: '2012-10-17', Statement: s3Statements(template, step) };
  }
  return {
    about:
      "The S3 statements of each step's IAM role as the CDK app synthesizes them (cdk/test/step-policies.test.ts), " +
      'keyed by Task state. Placeholders: ${SourceBucket}, ${SourcePrefix}, ${DestinationBucket}, ${DestinationPrefix} ' +
      "(prefixes escaped as lib/policies.ts objectsArn escapes them). The local runtime binds each step's access key to its " +
      'policy (local/cli/src/step_keys.rs). Regenerate with UPDATE_FIXTURES=1 npx jest step-policies.',
    policies,
  };
}

test('the committed step policies are the ones the CDK app synthesizes', () => {
  const expected = synthesized();
  if (process.env.UPDATE_FIXTURES === '1') {
    fs.writeFileSync(FIXTURE, JSON.stringify(expected, null, 2) + '\n');
  }
  const committed = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  expect(committed).toEqual(expected);
});

test('every S3 resource of the step policies names a placeholder bucket', () => {
  const { policies } = synthesized() as { policies: Record<string, { Statement: Statement[] }> };
  for (const step of STEPS) {
    for (const statement of policies[step].Statement) {
      for (const resource of [statement.Resource].flat() as string[]) {
        expect(resource).toMatch(/^arn:aws:s3:::\$\{(Source|Destination)Bucket\}(\/\$\{(Source|Destination)Prefix\}\*)?$/);
      }
    }
  }
});
