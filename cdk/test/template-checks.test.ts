// Independent checks of the synthesized CloudFormation: cfn-lint (AWS's template linter) and
// checkov (policy-as-code), both from PyPI, installed by ./scripts/test.sh, which passes their
// paths in COPYFLOW_CFN_LINT and COPYFLOW_CHECKOV. No errors from either; every check checkov
// skips carries its reason in the resource's Metadata, written next to the construct
// (`skipCheckov` in lib/nag.ts), and the one cfn-lint rule ignored is listed below.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { build, tempDir } from './helpers';

/** cfn-lint rules ignored, each with its reason. */
const CFN_LINT_IGNORED: Record<string, string> = {
  W3005:
    'aws-cdk-lib adds DependsOn on a function\'s role next to the GetAtt that already orders them; the template is generated, and the redundancy is harmless.',
};

function tool(variable: string): string | undefined {
  const value = process.env[variable];
  if (value) {
    return value;
  }
  if (process.env.COPYFLOW_SKIP_TEMPLATE_CHECKS === '1') {
    return undefined;
  }
  throw new Error(
    `${variable} is not set: run ./scripts/test.sh, which installs cfn-lint and checkov into .tools/cfn-venv, or set COPYFLOW_SKIP_TEMPLATE_CHECKS=1 to skip (nothing is then checked)`,
  );
}

const CONFIGURATIONS: Record<string, Record<string, unknown>> = {
  'the default settings': {},
  'EXPRESS with a created destination KMS key and no access logs': {
    'deploy.stateMachineType': 'EXPRESS',
    'deploy.createDestinationKmsKey': true,
    'deploy.serverAccessLogs': false,
  },
  'reserved concurrency and a custom latency objective with an alarm topic': {
    'deploy.lambda.copyObject.reservedConcurrency': 100,
    'deploy.latencySlo': { percentile: 'p99.9', periodMinutes: 5, thresholdSeconds: 60 },
    'deploy.alarms.topicArn': 'arn:aws:sns:eu-west-1:000000000000:copyflow-alarms',
  },
};

function templateFile(overrides: Record<string, unknown>): string {
  const file = path.join(tempDir('template'), 'Copyflow.template.json');
  fs.writeFileSync(file, JSON.stringify(build(overrides).template.toJSON(), null, 1));
  return file;
}

describe.each(Object.entries(CONFIGURATIONS))('the template for %s', (_name, overrides) => {
  const file = templateFile(overrides);

  test('cfn-lint finds nothing', () => {
    const cfnLint = tool('COPYFLOW_CFN_LINT');
    if (!cfnLint) return;
    const result = spawnSync(cfnLint, ['--ignore-checks', ...Object.keys(CFN_LINT_IGNORED), '--', file], { encoding: 'utf8', timeout: 120_000 });
    expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });

  test('checkov fails no check, and each skipped one has a reason', () => {
    const checkov = tool('COPYFLOW_CHECKOV');
    if (!checkov) return;
    const result = spawnSync(checkov, ['-f', file, '--framework', 'cloudformation', '-o', 'json', '--skip-download'], {
      encoding: 'utf8',
      timeout: 300_000,
      maxBuffer: 256 * 1024 * 1024, // the JSON report lists every passed check too
      cwd: path.dirname(file),
    });
    const report = JSON.parse(result.stdout);
    const results = (Array.isArray(report) ? report[0] : report).results ?? { failed_checks: [], skipped_checks: [] };
    const failed = (results.failed_checks ?? []).map((c: { check_id: string; resource: string }) => `${c.check_id} ${c.resource}`);
    expect(failed).toEqual([]);
    expect(result.status).toBe(0);
    const skipped: { check_id: string; check_result: { suppress_comment?: string } }[] = results.skipped_checks ?? [];
    expect(skipped.length).toBeGreaterThan(0);
    for (const s of skipped) {
      const reason = s.check_result.suppress_comment ?? '';
      expect({ id: s.check_id, reason: reason.length > 20 }).toEqual({ id: s.check_id, reason: true });
    }
  });
});
