// Settings: defaults, context overrides, and every synth-time refusal (the loop guard first).

import * as fs from 'fs';
import * as path from 'path';
import { applyOverrides, loadSettingsFile, parseSettings, SettingsError } from '../lib/settings';
import { SETTINGS_FILE, tempDir } from './helpers';

const minimal = { source: { bucket: 'src-bucket' }, destination: { bucket: 'dst-bucket' } };

function problems(document: unknown): { field: string; message: string }[] {
  try {
    parseSettings(document, 'test.json');
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    return [...(e as SettingsError).problems];
  }
  throw new Error('expected the settings to be refused');
}

function fields(document: unknown): string[] {
  return problems(document).map((p) => p.field);
}

function withDeploy(deploy: Record<string, unknown>, base: Record<string, unknown> = minimal): unknown {
  return { ...base, deploy };
}

describe('the repository settings file', () => {
  test('is valid and deploys the documented defaults', () => {
    const settings = loadSettingsFile(SETTINGS_FILE);
    expect(settings.source).toEqual({ bucket: 'copyflow-source', prefix: '' });
    expect(settings.destination).toEqual({ bucket: 'copyflow-destination', prefix: '', storageClass: null });
    expect(settings.deploy).toMatchObject({
      stackName: 'Copyflow',
      createSourceBucket: true,
      createDestinationBucket: true,
      stateMachineType: 'STANDARD',
      architecture: 'arm64',
      logExecutionData: true,
      lambdaAssetDir: 'target/lambda',
      eventRuleKeyPrefixes: [],
      lambda: {
        validateKey: { memoryMb: 128, timeoutSeconds: 10 },
        copyObject: { memoryMb: 512, timeoutSeconds: 900 },
        verifyCopy: { memoryMb: 1024, timeoutSeconds: 900 },
      },
      alarms: { failedExecutions: 1, dlqDepth: 1, executionDurationSeconds: 3600, periodSeconds: 300, topicArn: null },
    });
  });

  test('passes the functions everything but deploy and local', () => {
    const settings = loadSettingsFile(SETTINGS_FILE);
    const file = JSON.parse(fs.readFileSync(SETTINGS_FILE, 'utf8'));
    delete file.deploy;
    delete file.local;
    expect(settings.pipeline).toEqual(file);
    expect(Object.keys(settings.pipeline)).not.toContain('deploy');
  });
});

describe('context overrides', () => {
  test('parse JSON values and keep other strings as they are', () => {
    const doc = applyOverrides(minimal, {
      'deploy.stateMachineType': 'EXPRESS',
      'deploy.logExecutionData': 'false',
      'deploy.lambda.copyObject.memoryMb': '2048',
      'deploy.eventRuleKeyPrefixes': '["in/a/","in/b/"]',
      'source.prefix': 'in/',
      'destination.prefix': 'null',
    });
    expect(doc).toEqual({
      source: { bucket: 'src-bucket', prefix: 'in/' },
      destination: { bucket: 'dst-bucket', prefix: null },
      deploy: {
        stateMachineType: 'EXPRESS',
        logExecutionData: false,
        lambda: { copyObject: { memoryMb: 2048 } },
        eventRuleKeyPrefixes: ['in/a/', 'in/b/'],
      },
    });
    expect(minimal).toEqual({ source: { bucket: 'src-bucket' }, destination: { bucket: 'dst-bucket' } });
  });

  test('apply on top of a settings file', () => {
    const settings = loadSettingsFile(SETTINGS_FILE, { 'deploy.architecture': 'x86_64', 'source.bucket': 'other-source' });
    expect(settings.deploy.architecture).toBe('x86_64');
    expect(settings.source.bucket).toBe('other-source');
    expect((settings.pipeline.source as { bucket: string }).bucket).toBe('other-source');
  });
});

describe('the loop guard', () => {
  const loops: [string, string | null, string][] = [
    ['', null, 'same bucket, no prefixes'],
    ['in/', null, 'same prefix (destination.prefix null keeps keys)'],
    ['in/', 'in/copies/', 'destination inside the watched range'],
    ['in/sub/', 'in/', 'watched range inside the destination'],
    ['a', 'ab/', 'a plain-string prefix, not a folder'],
    ['in/', '', 'destination is the whole bucket'],
  ];
  test.each(loops)('refuses source prefix %j with destination prefix %j (%s)', (sourcePrefix, destinationPrefix) => {
    const found = problems({
      source: { bucket: 'same-bucket', prefix: sourcePrefix },
      destination: { bucket: 'same-bucket', prefix: destinationPrefix },
    });
    expect(found).toHaveLength(1);
    expect(found[0].field).toBe('destination');
    expect(found[0].message).toMatch(/copy loop/);
    expect(found[0].message).toContain('s3://same-bucket/');
  });

  test('allows one bucket with disjoint prefixes, and two buckets with any prefixes', () => {
    for (const [source, destination] of [
      ['in/', 'out/'],
      ['in/a', 'in/b'],
    ]) {
      expect(() =>
        parseSettings({ source: { bucket: 'same-bucket', prefix: source }, destination: { bucket: 'same-bucket', prefix: destination } }, 'x'),
      ).not.toThrow();
    }
    expect(() => parseSettings({ source: { bucket: 'a-bucket', prefix: '' }, destination: { bucket: 'b-bucket', prefix: null } }, 'x')).not.toThrow();
  });

  test('the error says which file, that nothing was synthesized, and what to change', () => {
    expect(() => parseSettings({ source: { bucket: 'same-bucket' }, destination: { bucket: 'same-bucket' } }, 'copyflow.json')).toThrow(
      /^copyflow\.json: the settings cannot be deployed \(nothing was synthesized\):\n {2}- destination: copies to s3:\/\/same-bucket\/\.\.\. could land in the watched range s3:\/\/same-bucket\/\.\.\. and trigger the pipeline again \(a copy loop\): use another destination bucket/,
    );
  });
});

describe('invalid settings', () => {
  test('reports every problem at once, with the field', () => {
    expect(
      fields({
        source: { bucket: '-bad-', prefix: 'a\u0007' },
        destination: { bucket: 'x', storageClass: 'COLD' },
        keys: { pattern: 5, maxKeyBytes: 2000 },
        copy: { partSizeBytes: 1, maxConcurrency: 0, deadlineMarginSeconds: 0, multipartThresholdBytes: 6_000_000_000 },
        verify: { rangeSizeBytes: 0, maxConcurrency: 1000 },
      }),
    ).toEqual([
      'source.bucket',
      'source.prefix',
      'destination.bucket',
      'destination.storageClass',
      'keys.pattern',
      'keys.maxKeyBytes',
      'copy.multipartThresholdBytes',
      'copy.partSizeBytes',
      'copy.maxConcurrency',
      'copy.deadlineMarginSeconds',
      'verify.maxConcurrency',
      'verify.rangeSizeBytes',
    ]);
  });

  test('refuses unknown keys the Rust steps would refuse, and points deploy settings to "deploy"', () => {
    const found = problems({ ...minimal, stateMachineType: 'EXPRESS', copy: { partSizeByte: 1 } });
    expect(found.map((p) => p.field)).toEqual(['stateMachineType', 'copy.partSizeByte']);
    expect(found[0].message).toContain('deployment settings go under "deploy"');
  });

  test('accepts and refuses bucket names as the shared corpus says, with its message', () => {
    // The Rust settings check runs the same corpus (functions/core/src/settings/check.rs).
    const corpus: { message: string; cases: { name: string; accepted: boolean }[] } = JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'fixtures', 'bucket-names.json'), 'utf8'),
    );
    expect(corpus.cases.length).toBeGreaterThanOrEqual(8);
    for (const { name, accepted } of corpus.cases) {
      // An existing source bucket: the creation rule is a separate check.
      const document = withDeploy({ createSourceBucket: false }, { source: { bucket: name }, destination: { bucket: 'dst-bucket' } });
      const expected = accepted ? [] : [{ field: 'source.bucket', message: corpus.message.replace('NAME', JSON.stringify(name)) }];
      let found: { field: string; message: string }[] = [];
      try {
        parseSettings(document, 'test.json');
      } catch (e) {
        found = [...(e as SettingsError).problems].map((p) => ({ field: p.field, message: p.message }));
      }
      expect({ name, problems: found }).toEqual({ name, problems: expected });
    }
  });

  test('refuses the documents of the shared corpus for the same fields as the functions do', () => {
    // The Rust settings check runs the same corpus (functions/core/src/settings/check.rs).
    const corpus: { cases: { name: string; document: Record<string, unknown>; refused: string[] }[] } = JSON.parse(
      fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'fixtures', 'settings-verdicts.json'), 'utf8'),
    );
    expect(corpus.cases.length).toBeGreaterThanOrEqual(8);
    for (const { name, document, refused } of corpus.cases) {
      let found: string[] = [];
      try {
        parseSettings({ ...minimal, ...document }, 'test.json');
      } catch (e) {
        expect(e).toBeInstanceOf(SettingsError);
        found = [...(e as SettingsError).problems].map((p) => p.field);
      }
      expect({ name, refused: found }).toEqual({ name, refused });
    }
  });

  test('refuses missing bucket names', () => {
    expect(fields({ source: {}, destination: { bucket: 'dst-bucket' } })).toEqual(['source.bucket']);
    expect(fields({ source: { bucket: 'src-bucket' } })).toEqual(['destination']);
  });

  test('refuses bucket names it would have to create but S3 would refuse, and imports them', () => {
    expect(fields({ source: { bucket: 'Legacy_Bucket' }, destination: { bucket: 'dst-bucket' } })).toEqual(['source.bucket']);
    expect(() =>
      parseSettings(withDeploy({ createSourceBucket: false }, { source: { bucket: 'Legacy_Bucket' }, destination: { bucket: 'dst-bucket' } }), 'x'),
    ).not.toThrow();
  });

  test('refuses deploy values outside their ranges', () => {
    expect(
      fields(
        withDeploy({
          stackName: '1bad',
          stateMachineType: 'FAST',
          architecture: 'arm',
          logRetentionDays: 31,
          logLevel: 'LOUD',
          lambda: { copyObject: { memoryMb: 64, timeoutSeconds: 901 }, other: {} },
          eventTarget: { retryAttempts: 186, maxEventAgeSeconds: 59 },
          dlqRetentionDays: 15,
          destinationKmsKeyArn: 'alias/mine',
          alarms: { periodSeconds: 90, topicArn: 'topic', failedExecutions: 0 },
          bogus: true,
        }),
      ),
    ).toEqual([
      'deploy.bogus',
      'deploy.stackName',
      'deploy.destinationKmsKeyArn',
      'deploy.stateMachineType',
      'deploy.logRetentionDays',
      'deploy.architecture',
      'deploy.logLevel',
      'deploy.lambda.other',
      'deploy.lambda.copyObject.memoryMb',
      'deploy.lambda.copyObject.timeoutSeconds',
      'deploy.eventTarget.retryAttempts',
      'deploy.eventTarget.maxEventAgeSeconds',
      'deploy.dlqRetentionDays',
      'deploy.alarms.periodSeconds',
      'deploy.alarms.topicArn',
      'deploy.alarms.failedExecutions',
    ]);
  });

  test('refuses a copy timeout that leaves under 30 s after the deadline margin (it would loop without progress)', () => {
    const found = problems({ ...minimal, copy: { deadlineMarginSeconds: 60 }, deploy: { lambda: { copyObject: { timeoutSeconds: 80 } } } });
    expect(found.map((p) => p.field)).toEqual(['deploy.lambda.copyObject.timeoutSeconds']);
    expect(found[0].message).toMatch(/loop without progress/);
  });

  test('refuses a KMS key both created and imported, or created for an imported bucket', () => {
    expect(
      fields(withDeploy({ createDestinationKmsKey: true, destinationKmsKeyArn: 'arn:aws:kms:eu-west-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab' })),
    ).toEqual(['deploy.createDestinationKmsKey']);
    expect(fields(withDeploy({ createDestinationKmsKey: true, createDestinationBucket: false }))).toEqual(['deploy.createDestinationKmsKey']);
  });

  test('refuses one bucket that is both created and imported', () => {
    expect(
      fields(
        withDeploy({ createSourceBucket: true, createDestinationBucket: false }, {
          source: { bucket: 'one-bucket', prefix: 'in/' },
          destination: { bucket: 'one-bucket', prefix: 'out/' },
        }),
      ),
    ).toEqual(['deploy.createDestinationBucket']);
  });

  test('refuses settings too large for the Lambda environment', () => {
    const found = problems({ ...minimal, keys: { pattern: 'x'.repeat(4000) } });
    expect(found.map((p) => p.field)).toEqual(['(document)']);
    expect(found[0].message).toMatch(/Lambda allows 4096/);
  });

  test('a missing or broken file says what to do', () => {
    const dir = tempDir('settings');
    expect(() => loadSettingsFile(path.join(dir, 'absent.json'))).toThrow(/cannot be read .*-c copyflow:settingsFile=PATH/);
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"source": ');
    expect(() => loadSettingsFile(path.join(dir, 'broken.json'))).toThrow(/is not JSON/);
  });
});

describe('Express', () => {
  test('gets short step timeouts and a duration alarm under five minutes by default', () => {
    const settings = parseSettings(withDeploy({ stateMachineType: 'EXPRESS' }), 'x');
    expect(settings.deploy.lambda.copyObject.timeoutSeconds).toBe(120);
    expect(settings.deploy.lambda.verifyCopy.timeoutSeconds).toBe(120);
    expect(settings.deploy.alarms.executionDurationSeconds).toBe(240);
  });

  test('refuses step timeouts that cannot fit in one five-minute execution', () => {
    const found = problems(withDeploy({ stateMachineType: 'EXPRESS', lambda: { copyObject: { timeoutSeconds: 900 } } }));
    expect(found.map((p) => p.field)).toEqual(['deploy.lambda']);
    expect(found[0].message).toMatch(/add up to 1030 s, but an EXPRESS execution stops after 300 s/);
  });

  test('refuses a duration alarm an Express execution can never reach', () => {
    expect(fields(withDeploy({ stateMachineType: 'EXPRESS', alarms: { executionDurationSeconds: 300 } }))).toEqual([
      'deploy.alarms.executionDurationSeconds',
    ]);
  });
});

describe('event rule key prefixes', () => {
  test('default to the source prefix', () => {
    const settings = parseSettings({ source: { bucket: 'src-bucket', prefix: 'uploads/' }, destination: { bucket: 'dst-bucket' } }, 'x');
    expect(settings.deploy.eventRuleKeyPrefixes).toEqual(['uploads/']);
    expect(settings.deploy.eventRuleKeyPrefixesDerived).toBe(true);
  });

  test('are not derived from a source prefix S3 might encode in events (validate-key filters instead)', () => {
    const settings = parseSettings({ source: { bucket: 'src-bucket', prefix: 'my uploads/' }, destination: { bucket: 'dst-bucket' } }, 'x');
    expect(settings.deploy.eventRuleKeyPrefixes).toEqual([]);
  });

  test('refuses explicit prefixes that are empty, encodable, or outside the watched range', () => {
    const found = problems(
      withDeploy({ eventRuleKeyPrefixes: ['', 'in/a b', 'other/', 'in/ok/'] }, { source: { bucket: 'src-bucket', prefix: 'in/' }, destination: { bucket: 'dst-bucket' } }),
    );
    expect(found.map((p) => p.field)).toEqual(['deploy.eventRuleKeyPrefixes[0]', 'deploy.eventRuleKeyPrefixes[1]', 'deploy.eventRuleKeyPrefixes[2]']);
    expect(found[1].message).toMatch(/may encode/);
    expect(found[2].message).toMatch(/does not overlap/);
  });
});
