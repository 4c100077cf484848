// The Lambda code: what `cargo lambda build --release --output-format zip` wrote, one
// `target/lambda/<binary>/bootstrap.zip` per function (a directory holding `bootstrap` works
// too). Nothing is built at synth time, so tests and `cdk synth` stay offline and fast; a
// missing build, or a build for the wrong CPU, is refused with the command that fixes it.

import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { ConfigurationError, LambdaArchitecture } from './settings';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** ELF `e_machine` values (offset 18, little-endian). */
const ELF_MACHINES: Record<number, LambdaArchitecture> = { 0x3e: 'x86_64', 0xb7: 'arm64' };

export function buildCommand(architecture: LambdaArchitecture): string {
  return `cargo lambda build --release${architecture === 'arm64' ? ' --arm64' : ''} --output-format zip`;
}

/**
 * The asset path for one function: `<assetDir>/<binary>/bootstrap.zip`, else the directory
 * `<assetDir>/<binary>/` if it holds `bootstrap`. Checks that `bootstrap` is a Linux
 * executable for `architecture`.
 */
export function resolveLambdaAsset(assetDir: string, binary: string, architecture: LambdaArchitecture): string {
  const dir = path.join(assetDir, binary);
  const zip = path.join(dir, 'bootstrap.zip');
  const build = buildCommand(architecture);
  let asset: string;
  let head: Buffer;
  if (fs.existsSync(zip)) {
    asset = zip;
    head = readZipEntryHead(zip, 'bootstrap', 20);
    if (head.length === 0) {
      throw new ConfigurationError(`${zip} holds no file named bootstrap (the Lambda handler); rebuild it with:\n  ${build}`);
    }
  } else if (fs.existsSync(path.join(dir, 'bootstrap'))) {
    asset = dir;
    head = readHead(path.join(dir, 'bootstrap'), 20);
  } else {
    throw new ConfigurationError(
      `The ${binary} Lambda code is not built: expected ${zip}.\n` +
        `Build the three functions first, from the repository root:\n  ${build}\n` +
        `then run cdk again. (Built elsewhere? Point deploy.lambdaAssetDir, or -c copyflow:deploy.lambdaAssetDir=DIR, at the folder that holds ${binary}/bootstrap.zip.)`,
    );
  }
  if (head.length < 20 || !head.subarray(0, 4).equals(ELF_MAGIC)) {
    throw new ConfigurationError(`${asset}: bootstrap is not a Linux executable; rebuild it with:\n  ${build}`);
  }
  const machine = ELF_MACHINES[head.readUInt16LE(18)];
  if (machine !== architecture) {
    throw new ConfigurationError(
      `${asset}: bootstrap is built for ${machine ?? `ELF machine 0x${head.readUInt16LE(18).toString(16)}`}, but deploy.architecture is ${architecture}, so Lambda could not run it.\n` +
        `Rebuild with:\n  ${build}\nor set deploy.architecture to ${machine ?? 'the binary\'s architecture'}.`,
    );
  }
  return asset;
}

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = fs.readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The first `bytes` bytes of one entry of a zip file (stored or deflated; no zip64, which
 * Lambda's 50 MB zip limit makes unnecessary). Returns an empty buffer if the entry is absent.
 */
export function readZipEntryHead(zip: string, entry: string, bytes: number): Buffer {
  const data = fs.readFileSync(zip);
  const fail = (what: string): never => {
    throw new ConfigurationError(`${zip}: not a readable zip file (${what}); rebuild it`);
  };
  // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the end.
  let eocd = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 0xffff); i--) {
    if (data.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    fail('no end of central directory');
  }
  const count = data.readUInt16LE(eocd + 10);
  let offset = data.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (data.readUInt32LE(offset) !== 0x02014b50) {
      fail('bad central directory');
    }
    const method = data.readUInt16LE(offset + 10);
    const compressedSize = data.readUInt32LE(offset + 20);
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    const localOffset = data.readUInt32LE(offset + 42);
    const name = data.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (name === entry) {
      if (data.readUInt32LE(localOffset) !== 0x04034b50) {
        fail('bad local header');
      }
      const start = localOffset + 30 + data.readUInt16LE(localOffset + 26) + data.readUInt16LE(localOffset + 28);
      const compressed = data.subarray(start, start + compressedSize);
      if (method === 0) {
        return compressed.subarray(0, bytes);
      }
      if (method === 8) {
        // Inflate only the beginning: a sync flush yields what the prefix decodes to.
        const head = zlib.inflateRawSync(compressed.subarray(0, Math.min(compressed.length, 64 * 1024)), {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
        });
        return head.subarray(0, bytes);
      }
      fail(`compression method ${method}`);
    }
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return Buffer.alloc(0);
}
