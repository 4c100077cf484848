// Test helpers: placeholder Lambda assets (real zip files holding an ELF header for the
// chosen CPU, so the architecture check runs), and synthesis with the same context as cdk.json.

import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { createApp, CopyflowApp } from '../lib/app';
import { LambdaArchitecture, STEPS } from '../lib/settings';

export const CDK_DIR = path.resolve(__dirname, '..');
export const REPO_DIR = path.resolve(CDK_DIR, '..');
export const SETTINGS_FILE = path.join(REPO_DIR, 'copyflow.json');
export const ASL_FILE = path.join(REPO_DIR, 'statemachine', 'copyflow.asl.json');

/** The feature flags from cdk.json, so tests synthesize what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(CDK_DIR, 'cdk.json'), 'utf8')).context;

/** A new directory under the run's temporary directory (removed after the run; see jest.config.js). */
export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(process.env.COPYFLOW_CDK_TEST_TMP ?? os.tmpdir(), `${name}-`));
}

/** The first 20 bytes of a 64-bit little-endian ELF executable for `architecture`. */
export function elfHeader(architecture: LambdaArchitecture | 'riscv'): Buffer {
  const header = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  header.writeUInt16LE(2, 16); // ET_EXEC
  header.writeUInt16LE({ x86_64: 0x3e, arm64: 0xb7, riscv: 0xf3 }[architecture], 18);
  return header;
}

/** A minimal zip file (one central directory, no zip64) with the given entries. */
export function zipFile(entries: Record<string, Buffer>, deflate = true): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const data = deflate ? zlib.deflateRawSync(content) : content;
    const nameBytes = Buffer.from(name);
    const crc = zlib.crc32(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(0o755 << 16, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const centralBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBytes, end]);
}

/**
 * A directory laid out like cargo-lambda's zip output: `<binary>/bootstrap.zip` for each
 * function, holding a `bootstrap` that starts with an ELF header for `architecture`.
 */
export function placeholderAssets(architecture: LambdaArchitecture = 'arm64'): string {
  const dir = tempDir(`assets-${architecture}`);
  for (const step of STEPS) {
    fs.mkdirSync(path.join(dir, step.binary));
    const bootstrap = Buffer.concat([elfHeader(architecture), Buffer.from(`placeholder for ${step.binary}\n`)]);
    fs.writeFileSync(path.join(dir, step.binary, 'bootstrap.zip'), zipFile({ bootstrap }));
  }
  return dir;
}

const assetsByArchitecture = new Map<LambdaArchitecture, string>();
function sharedAssets(architecture: LambdaArchitecture): string {
  if (!assetsByArchitecture.has(architecture)) {
    assetsByArchitecture.set(architecture, placeholderAssets(architecture));
  }
  return assetsByArchitecture.get(architecture)!;
}

export interface Synthesized extends CopyflowApp {
  readonly template: Template;
}

/**
 * Builds the app with settings overrides (dotted paths, as `-c copyflow:<path>=...` would),
 * placeholder assets for the configured architecture, and cdk.json's feature flags.
 */
export function build(overrides: Record<string, unknown> = {}, extraContext: Record<string, unknown> = {}): Synthesized {
  const architecture = (overrides['deploy.architecture'] as LambdaArchitecture | undefined) ?? 'arm64';
  const context: Record<string, unknown> = {
    ...CDK_JSON_CONTEXT,
    'copyflow:deploy.lambdaAssetDir': sharedAssets(architecture),
    ...extraContext,
  };
  for (const [key, value] of Object.entries(overrides)) {
    context[`copyflow:${key}`] = value;
  }
  const built = createApp({ context, outdir: tempDir('out') });
  return { ...built, template: Template.fromStack(built.stack) };
}

/** Resolves tokens (e.g. `Aws.PARTITION`) to their CloudFormation form. */
export function resolve(stack: Stack, value: unknown): unknown {
  return stack.resolve(value);
}

/** `arn:${Partition}:s3:::<rest>` in CloudFormation form, as the template writes it. */
export function s3Arn(rest: string): unknown {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${rest}`]] };
}

/** The logical id of the only resource of `type` whose logical id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) {
    throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  }
  return ids[0];
}
