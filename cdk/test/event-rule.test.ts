// The EventBridge pattern the CDK app deploys, checked case by case against the corpus the
// local router's derivation (local/cli/src/rule.rs) is checked against too: one rule, two
// derivations that cannot drift apart.

import * as fs from 'fs';
import * as path from 'path';
import { build } from './helpers';

interface RuleCase {
  readonly name: string;
  readonly overrides: Record<string, unknown>;
  readonly pattern: unknown;
}

const corpus: { cases: RuleCase[] } = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'fixtures', 'event-rule.json'), 'utf8'),
);

describe('the event rule matches the shared corpus', () => {
  test('the corpus has its cases', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(5);
  });

  test.each(corpus.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { template } = build(c.overrides);
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern).toEqual(c.pattern);
  });
});
