// The Lambda code comes from cargo-lambda's output; synth refuses a missing build or a build
// for the wrong CPU, with the command that fixes it.

import * as fs from 'fs';
import * as path from 'path';
import { createApp } from '../lib/app';
import { buildCommand, readZipEntryHead, resolveLambdaAsset } from '../lib/lambda-assets';
import { CDK_JSON_CONTEXT, elfHeader, placeholderAssets, tempDir, zipFile } from './helpers';

test('finds <dir>/<binary>/bootstrap.zip', () => {
  const dir = placeholderAssets('arm64');
  expect(resolveLambdaAsset(dir, 'copy-object', 'arm64')).toBe(path.join(dir, 'copy-object', 'bootstrap.zip'));
});

test('also takes a directory holding bootstrap (cargo lambda build without --output-format zip)', () => {
  const dir = tempDir('dir-asset');
  fs.mkdirSync(path.join(dir, 'verify-copy'));
  fs.writeFileSync(path.join(dir, 'verify-copy', 'bootstrap'), elfHeader('x86_64'));
  expect(resolveLambdaAsset(dir, 'verify-copy', 'x86_64')).toBe(path.join(dir, 'verify-copy'));
});

test('reads stored and deflated zip entries', () => {
  const dir = tempDir('zip');
  const content = Buffer.concat([elfHeader('arm64'), Buffer.alloc(100_000, 7)]);
  for (const deflate of [true, false]) {
    const file = path.join(dir, `${deflate}.zip`);
    fs.writeFileSync(file, zipFile({ 'README.txt': Buffer.from('hello'), bootstrap: content }, deflate));
    expect(readZipEntryHead(file, 'bootstrap', 20)).toEqual(content.subarray(0, 20));
    expect(readZipEntryHead(file, 'absent', 20)).toHaveLength(0);
  }
});

test('a missing build names the expected file and the build command', () => {
  const dir = tempDir('empty');
  expect(() => resolveLambdaAsset(dir, 'validate-key', 'arm64')).toThrow(
    `The validate-key Lambda code is not built: expected ${path.join(dir, 'validate-key', 'bootstrap.zip')}.\n` +
      'Build the three functions first, from the repository root:\n  cargo lambda build --release --arm64 --output-format zip\nthen run cdk again.',
  );
  expect(() =>
    createApp({ context: { ...CDK_JSON_CONTEXT, 'copyflow:deploy.lambdaAssetDir': dir, 'copyflow:deploy.architecture': 'x86_64' } }),
  ).toThrow(/not built[\s\S]*cargo lambda build --release --output-format zip/);
});

test('a binary for the other CPU is refused (Lambda could not run it)', () => {
  const dir = placeholderAssets('x86_64');
  expect(() => resolveLambdaAsset(dir, 'copy-object', 'arm64')).toThrow(
    /bootstrap is built for x86_64, but deploy.architecture is arm64[\s\S]*cargo lambda build --release --arm64 --output-format zip\nor set deploy.architecture to x86_64/,
  );
});

test('a zip without bootstrap, or a bootstrap that is not a Linux executable, is refused', () => {
  const dir = tempDir('bad');
  fs.mkdirSync(path.join(dir, 'copy-object'));
  fs.writeFileSync(path.join(dir, 'copy-object', 'bootstrap.zip'), zipFile({ main: elfHeader('arm64') }));
  expect(() => resolveLambdaAsset(dir, 'copy-object', 'arm64')).toThrow(/holds no file named bootstrap/);
  fs.writeFileSync(path.join(dir, 'copy-object', 'bootstrap.zip'), zipFile({ bootstrap: Buffer.from('#!/bin/sh\necho hi\n') }));
  expect(() => resolveLambdaAsset(dir, 'copy-object', 'arm64')).toThrow(/bootstrap is not a Linux executable/);
  fs.writeFileSync(path.join(dir, 'copy-object', 'bootstrap.zip'), 'not a zip');
  expect(() => resolveLambdaAsset(dir, 'copy-object', 'arm64')).toThrow(/not a readable zip file/);
  fs.writeFileSync(path.join(dir, 'copy-object', 'bootstrap.zip'), zipFile({ bootstrap: elfHeader('riscv') }));
  expect(() => resolveLambdaAsset(dir, 'copy-object', 'arm64')).toThrow(/built for ELF machine 0xf3/);
});

test('the build command matches the architecture', () => {
  expect(buildCommand('arm64')).toBe('cargo lambda build --release --arm64 --output-format zip');
  expect(buildCommand('x86_64')).toBe('cargo lambda build --release --output-format zip');
});
