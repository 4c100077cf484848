// `cdk synth` of the real app (cdk.json -> bin/app.ts), through the CDK CLI, offline: exits 0
// with the placeholder build, and exits non-zero with the loop guard's message for a
// configuration that would copy into the watched range.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CDK_DIR, placeholderAssets, tempDir } from './helpers';

function cdkSynth(...context: string[]): { status: number | null; stdout: string; stderr: string; out: string } {
  const out = path.join(tempDir('synth'), 'cdk.out');
  const args = [require.resolve('aws-cdk/bin/cdk'), 'synth', '--quiet', '--no-notices', '--output', out];
  for (const c of context) {
    args.push('--context', c);
  }
  const result = spawnSync(process.execPath, args, {
    cwd: CDK_DIR,
    encoding: 'utf8',
    timeout: 180_000,
    // No network here: no version check, no telemetry.
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, out };
}

const assets = placeholderAssets('arm64');

test('cdk synth of the app exits 0 and writes the template and the three Lambda assets', () => {
  const result = cdkSynth(`copyflow:deploy.lambdaAssetDir=${assets}`);
  expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ status: 0, stderr: '' });
  const template = JSON.parse(fs.readFileSync(path.join(result.out, 'Copyflow.template.json'), 'utf8'));
  const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
  expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(3);
  expect(types).toContain('AWS::StepFunctions::StateMachine');
  expect(types).toContain('AWS::Events::Rule');
  expect(fs.readdirSync(result.out).filter((f) => /^asset\..*\.zip$/.test(f))).toHaveLength(3);
});

test('cdk synth refuses a copy loop with the reason, and writes no template', () => {
  const result = cdkSynth(`copyflow:deploy.lambdaAssetDir=${assets}`, 'copyflow:destination.bucket=copyflow-source');
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('copyflow.json: the settings cannot be deployed (nothing was synthesized)');
  expect(result.stderr).toContain('destination: copies to s3://copyflow-source/... could land in the watched range s3://copyflow-source/...');
  expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  expect(fs.existsSync(path.join(result.out, 'Copyflow.template.json'))).toBe(false);
});
