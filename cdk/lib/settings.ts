// The pipeline settings as the CDK app sees them: the root `copyflow.json`, overridden by CDK
// context, checked before anything is synthesized.
//
// The same document configures the Rust steps (`functions/core/src/settings/`, which parses
// every top-level key except `deploy` strictly), so the checks below mirror the Rust ones: an
// invalid document must fail here, at synth time, not as a `ConfigurationError` in every
// execution after a deployment. The `deploy` section belongs to this app alone and is
// validated only here.

import * as fs from 'fs';
import * as path from 'path';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export type StateMachineKind = 'STANDARD' | 'EXPRESS';
export type LambdaArchitecture = 'arm64' | 'x86_64';
/** Levels both Lambda's JSON log filter and Rust `tracing` know (tracing has no FATAL). */
export type LogLevelName = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The three steps, in the names the ASL placeholders and the cargo-lambda output use. */
export const STEPS = [
  { key: 'validateKey', binary: 'validate-key', state: 'ValidateKey', placeholder: 'ValidateKeyFunctionArn' },
  { key: 'copyObject', binary: 'copy-object', state: 'CopyObject', placeholder: 'CopyObjectFunctionArn' },
  { key: 'verifyCopy', binary: 'verify-copy', state: 'VerifyCopy', placeholder: 'VerifyCopyFunctionArn' },
] as const;
export type StepKey = (typeof STEPS)[number]['key'];

export interface StepLambdaSettings {
  /** MB, 128..10240. */
  readonly memoryMb: number;
  /** Seconds, 1..900. */
  readonly timeoutSeconds: number;
  /** Reserved concurrency (a cap, and capacity held back from the account pool), or null for none. */
  readonly reservedConcurrency: number | null;
}

/** The event-to-verified latency objective (verify-copy's EMF metric), alarmed like S3 RTC's 15 minutes. */
export interface LatencySloSettings {
  /** CloudWatch percentile statistic: p50, p90, p99, p99.9, ... */
  readonly percentile: string;
  /** The alarm period, in minutes. */
  readonly periodMinutes: number;
  /** The latency at that percentile that raises the alarm, in seconds. */
  readonly thresholdSeconds: number;
}

export interface AlarmSettings {
  /** Failed + timed-out + aborted executions in one period that raise the alarm. */
  readonly failedExecutions: number;
  /** Events in the dead-letter queue that raise the alarm. */
  readonly dlqDepth: number;
  /** The longest acceptable execution, in seconds. */
  readonly executionDurationSeconds: number;
  /** The evaluation period, in seconds (60 or a multiple of 60). */
  readonly periodSeconds: number;
  /** An existing SNS topic to notify (alarm and OK), or null for no action. */
  readonly topicArn: string | null;
}

export interface DeploySettings {
  readonly stackName: string;
  readonly createSourceBucket: boolean;
  readonly createDestinationBucket: boolean;
  /** Imported source only: turn on its EventBridge notifications (a CDK custom resource that keeps the bucket's other notification settings). */
  readonly enableEventBridgeOnImportedSource: boolean;
  /** The customer managed key the source objects are encrypted with, if any (imported sources). */
  readonly sourceKmsKeyArn: string | null;
  /** An existing key for SSE-KMS on the destination, or null. */
  readonly destinationKmsKeyArn: string | null;
  /** Create a key (with rotation) for SSE-KMS on the destination. */
  readonly createDestinationKmsKey: boolean;
  /** Created buckets log requests to a created access-log bucket. */
  readonly serverAccessLogs: boolean;
  /** Days the access logs are kept. */
  readonly accessLogExpirationDays: number;
  readonly bucketVersioning: boolean;
  readonly noncurrentVersionExpirationDays: number;
  readonly abortIncompleteMultipartUploadDays: number;
  readonly stateMachineType: StateMachineKind;
  readonly logExecutionData: boolean;
  readonly logRetentionDays: number;
  readonly architecture: LambdaArchitecture;
  readonly logLevel: LogLevelName;
  /** Where `cargo lambda build --output-format zip` wrote `<binary>/bootstrap.zip`; relative to the settings file. */
  readonly lambdaAssetDir: string;
  readonly lambda: Readonly<Record<StepKey, StepLambdaSettings>>;
  /** Key prefixes the EventBridge rule matches; [] for none. */
  readonly eventRuleKeyPrefixes: readonly string[];
  /** Whether `eventRuleKeyPrefixes` was derived from `source.prefix` (not written by the user). */
  readonly eventRuleKeyPrefixesDerived: boolean;
  readonly eventTarget: { readonly retryAttempts: number; readonly maxEventAgeSeconds: number };
  readonly dlqRetentionDays: number;
  readonly alarms: AlarmSettings;
  readonly latencySlo: LatencySloSettings;
}

export interface LoadedSettings {
  /** The file the settings came from (for messages). */
  readonly origin: string;
  /** The directory of that file; relative paths in `deploy` resolve against it. */
  readonly baseDir: string;
  /** The document the Lambda functions get in `COPYFLOW_SETTINGS`: everything but `deploy` and `local`. */
  readonly pipeline: Record<string, unknown>;
  readonly source: { readonly bucket: string; readonly prefix: string };
  /** `prefix` is the effective destination prefix: `destination.prefix`, or the source prefix when null. */
  readonly destination: { readonly bucket: string; readonly prefix: string; readonly storageClass: string | null };
  readonly copy: { readonly deadlineMarginSeconds: number };
  readonly deploy: DeploySettings;
}

export interface Problem {
  readonly field: string;
  readonly message: string;
}

/**
 * A problem the user fixes by changing a setting, a file or a build, not a bug: `bin/app.ts`
 * prints its message alone, without a stack trace.
 */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** Settings that cannot be deployed. The message lists every problem, each with what to change. */
export class SettingsError extends ConfigurationError {
  constructor(
    readonly origin: string,
    readonly problems: readonly Problem[],
  ) {
    super(
      `${origin}: the settings cannot be deployed (nothing was synthesized):\n` +
        problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n'),
    );
    this.name = 'SettingsError';
  }
}

// ---------------------------------------------------------------------------------------------
// Limits (mirrors functions/core/src/settings/check.rs and plan.rs)
// ---------------------------------------------------------------------------------------------

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const MIN_PART_SIZE = 5 * MIB;
const MAX_PART_SIZE = 5 * GIB;
const MAX_COPY_OBJECT_SIZE = 5 * GIB;
const MAX_S3_KEY_BYTES = 1024;
/** Lambda allows 4 KB of environment variables per function, names and values together. */
export const MAX_LAMBDA_ENVIRONMENT_BYTES = 4096;
/** Lambda's default concurrency quota per account and Region; raise the bound with the quota. */
const MAX_RESERVED_CONCURRENCY = 10_000;
/** Express executions stop after five minutes. */
export const EXPRESS_MAX_SECONDS = 300;

export const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
  'FSX_OPENZFS',
  'FSX_ONTAP',
  'AWS_BACKUP_WARM',
  'AWS_BACKUP_LOW_COST_WARM',
];

/** CloudWatch Logs retention values (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * Characters that survive both form-encoding and percent-encoding unchanged. The EventBridge
 * `detail.object.key` may be encoded (`docs/aws-facts.md#key-encoding-in-events`), so a prefix
 * filter with any other character might never match.
 */
const EVENT_SAFE_PREFIX = /^[A-Za-z0-9/._-]*$/;

const TOP_LEVEL_KEYS = ['source', 'destination', 'keys', 'copy', 'verify', 'local', 'deploy'];

// ---------------------------------------------------------------------------------------------
// Defaults for `deploy`
// ---------------------------------------------------------------------------------------------

/** Per-step defaults. Timeouts depend on the state machine type (Express: 5 minutes in all). */
export function defaultStepLambda(step: StepKey, type: StateMachineKind): StepLambdaSettings {
  switch (step) {
    case 'validateKey':
      return { memoryMb: 128, timeoutSeconds: 10, reservedConcurrency: null };
    case 'copyObject':
      return { memoryMb: 512, timeoutSeconds: type === 'STANDARD' ? 900 : 120, reservedConcurrency: null };
    case 'verifyCopy':
      return { memoryMb: 1024, timeoutSeconds: type === 'STANDARD' ? 900 : 120, reservedConcurrency: null };
  }
}

/** S3 Replication Time Control's promise: 99.99% within 15 minutes, measured at p99 here. */
export const DEFAULT_LATENCY_SLO: LatencySloSettings = { percentile: 'p99', periodMinutes: 15, thresholdSeconds: 900 };

export function defaultExecutionDurationSeconds(type: StateMachineKind): number {
  return type === 'STANDARD' ? 3600 : 240;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** The repository's settings file (`<repo>/copyflow.json`). */
export function defaultSettingsFile(): string {
  return path.resolve(__dirname, '..', '..', 'copyflow.json');
}

/**
 * Reads a settings file, applies overrides (dotted paths such as `deploy.stateMachineType`),
 * and validates the result. Throws `SettingsError` listing every problem.
 */
export function loadSettingsFile(file: string, overrides: Record<string, unknown> = {}): LoadedSettings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SettingsError(file, [
      {
        field: '(file)',
        message: `cannot be read (${(e as Error).message}): create it (the repository's copyflow.json is an example) or pass another with -c copyflow:settingsFile=PATH`,
      },
    ]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new SettingsError(file, [{ field: '(file)', message: `is not JSON: ${(e as Error).message}` }]);
  }
  return parseSettings(applyOverrides(document, overrides), file);
}

/**
 * Sets each dotted path of `overrides` in a copy of `document`. String values that parse as
 * JSON (numbers, booleans, null, arrays, objects, quoted strings) are used parsed, since `cdk
 * -c key=value` always passes strings; anything else is used as the string it is.
 */
export function applyOverrides(document: unknown, overrides: Record<string, unknown>): unknown {
  const copy = structuredClone(document) as Record<string, unknown>;
  for (const [dotted, raw] of Object.entries(overrides)) {
    const value = typeof raw === 'string' ? parseLoose(raw) : raw;
    const parts = dotted.split('.');
    let target = copy;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      if (!isObject(next)) {
        target[part] = {};
      }
      target = target[part] as Record<string, unknown>;
    }
    target[parts[parts.length - 1]] = value;
  }
  return copy;
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Validates a settings document (already parsed) and resolves the `deploy` defaults. */
export function parseSettings(document: unknown, origin: string): LoadedSettings {
  const c = new Checker();
  if (!isObject(document)) {
    throw new SettingsError(origin, [{ field: '(file)', message: 'must be a JSON object' }]);
  }
  c.onlyKeys('', document, TOP_LEVEL_KEYS);

  // -- source / destination ------------------------------------------------------------------
  const source = c.object('source', document.source, true);
  c.onlyKeys('source', source, ['bucket', 'prefix']);
  const sourceBucket = document.source === undefined ? undefined : c.bucketName('source.bucket', source.bucket);
  const sourcePrefix = c.prefix('source.prefix', source.prefix ?? '', false) ?? undefined;

  const destination = c.object('destination', document.destination, true);
  c.onlyKeys('destination', destination, ['bucket', 'prefix', 'storageClass']);
  const destinationBucket = document.destination === undefined ? undefined : c.bucketName('destination.bucket', destination.bucket);
  const destinationPrefixSetting = c.prefix('destination.prefix', destination.prefix ?? null, true);
  const storageClass = destination.storageClass ?? null;
  if (storageClass !== null && (typeof storageClass !== 'string' || !STORAGE_CLASSES.includes(storageClass))) {
    c.problem(
      'destination.storageClass',
      `${JSON.stringify(storageClass)} is not an S3 storage class: use null (keep the source's) or one of ${STORAGE_CLASSES.join(', ')}`,
    );
  }
  const destinationPrefix = destinationPrefixSetting ?? sourcePrefix;
  const loop = loopGuardViolation(sourceBucket, sourcePrefix, destinationBucket, destinationPrefix);
  if (loop) {
    c.problem('destination', loop);
  }

  // -- keys / copy / verify / local ----------------------------------------------------------
  const keys = c.object('keys', document.keys, false);
  c.onlyKeys('keys', keys, ['pattern', 'maxKeyBytes']);
  if (keys.pattern !== undefined && keys.pattern !== null && typeof keys.pattern !== 'string') {
    c.problem('keys.pattern', 'must be a regular expression string, or null for any key');
  } else if (typeof keys.pattern === 'string') {
    const refusal = keyPatternRefusal(keys.pattern);
    if (refusal) {
      c.problem('keys.pattern', refusal);
    }
  }
  c.integer('keys.maxKeyBytes', keys.maxKeyBytes, 1, MAX_S3_KEY_BYTES, "S3's key limit is 1024 bytes");

  const copy = c.object('copy', document.copy, false);
  c.onlyKeys('copy', copy, ['multipartThresholdBytes', 'partSizeBytes', 'maxConcurrency', 'deadlineMarginSeconds']);
  c.integer(
    'copy.multipartThresholdBytes',
    copy.multipartThresholdBytes,
    MIN_PART_SIZE,
    MAX_COPY_OBJECT_SIZE,
    '5 MiB (the smallest object S3 copies by ranges) to 5 GiB (the CopyObject limit)',
  );
  c.integer('copy.partSizeBytes', copy.partSizeBytes, MIN_PART_SIZE, MAX_PART_SIZE, 'S3 parts are 5 MiB to 5 GiB');
  c.integer('copy.maxConcurrency', copy.maxConcurrency, 1, 64, 'more parallel requests invite S3 503 SlowDown');
  const deadlineMarginSeconds =
    c.integer('copy.deadlineMarginSeconds', copy.deadlineMarginSeconds, 10, 600, 'well under the 900 s Lambda limit') ?? 60;

  const verify = c.object('verify', document.verify, false);
  c.onlyKeys('verify', verify, ['maxConcurrency', 'rangeSizeBytes']);
  c.integer('verify.maxConcurrency', verify.maxConcurrency, 1, 64, 'more parallel requests invite S3 503 SlowDown');
  c.integer('verify.rangeSizeBytes', verify.rangeSizeBytes, MIB, MAX_PART_SIZE, '1 MiB to 5 GiB');

  const local = c.object('local', document.local, false);
  c.onlyKeys('local', local, ['s3Address', 'sfnAddress', 'consoleAddress', 'dataDir', 'enforceIam']);
  c.boolean('local.enforceIam', local.enforceIam, true);

  // -- deploy --------------------------------------------------------------------------------
  const deploy = parseDeploy(c, c.object('deploy', document.deploy, false), {
    sourceBucket,
    sourcePrefix,
    destinationBucket,
    deadlineMarginSeconds,
  });

  // -- the document the functions get --------------------------------------------------------
  const pipeline: Record<string, unknown> = {};
  for (const key of TOP_LEVEL_KEYS) {
    if (key !== 'deploy' && key !== 'local' && document[key] !== undefined) {
      pipeline[key] = document[key];
    }
  }
  const environmentBytes =
    Buffer.byteLength(JSON.stringify(pipeline)) + 'COPYFLOW_SETTINGS'.length + 'RUST_LOG'.length + 8;
  if (environmentBytes > MAX_LAMBDA_ENVIRONMENT_BYTES) {
    c.problem(
      '(document)',
      `the settings passed to the functions take ${environmentBytes} bytes of environment; Lambda allows ${MAX_LAMBDA_ENVIRONMENT_BYTES}: shorten keys.pattern or the prefixes`,
    );
  }

  c.throwIfAny(origin);
  return {
    origin,
    baseDir: path.dirname(path.resolve(origin)),
    pipeline,
    source: { bucket: sourceBucket!, prefix: sourcePrefix! },
    destination: { bucket: destinationBucket!, prefix: destinationPrefix!, storageClass: storageClass as string | null },
    copy: { deadlineMarginSeconds },
    deploy: deploy!,
  };
}

/**
 * The loop guard, as in `loop_guard_violation` (functions/core/src/settings/check.rs): a copy could land in the watched
 * range (and start another execution, forever) when both are in one bucket and one prefix
 * starts with the other.
 */
export function loopGuardViolation(
  sourceBucket: string | undefined,
  sourcePrefix: string | undefined,
  destinationBucket: string | undefined,
  destinationPrefix: string | undefined,
): string | undefined {
  if (
    sourceBucket === undefined ||
    destinationBucket === undefined ||
    sourcePrefix === undefined ||
    destinationPrefix === undefined
  ) {
    return undefined;
  }
  if (
    sourceBucket === destinationBucket &&
    (destinationPrefix.startsWith(sourcePrefix) || sourcePrefix.startsWith(destinationPrefix))
  ) {
    return (
      `copies to s3://${destinationBucket}/${destinationPrefix}... could land in the watched range ` +
      `s3://${sourceBucket}/${sourcePrefix}... and trigger the pipeline again (a copy loop): use another ` +
      `destination bucket, or source and destination prefixes of which neither starts with the other`
    );
  }
  return undefined;
}

interface DeployContext {
  readonly sourceBucket: string | undefined;
  readonly sourcePrefix: string | undefined;
  readonly destinationBucket: string | undefined;
  readonly deadlineMarginSeconds: number;
}

function parseDeploy(c: Checker, d: Record<string, unknown>, ctx: DeployContext): DeploySettings | undefined {
  c.onlyKeys('deploy', d, [
    'stackName',
    'createSourceBucket',
    'createDestinationBucket',
    'enableEventBridgeOnImportedSource',
    'sourceKmsKeyArn',
    'destinationKmsKeyArn',
    'createDestinationKmsKey',
    'serverAccessLogs',
    'accessLogExpirationDays',
    'bucketVersioning',
    'noncurrentVersionExpirationDays',
    'abortIncompleteMultipartUploadDays',
    'stateMachineType',
    'logExecutionData',
    'logRetentionDays',
    'architecture',
    'logLevel',
    'lambdaAssetDir',
    'lambda',
    'eventRuleKeyPrefixes',
    'eventTarget',
    'dlqRetentionDays',
    'alarms',
    'latencySlo',
  ]);

  const stackName = c.string('deploy.stackName', d.stackName, 'Copyflow');
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    c.problem('deploy.stackName', `${JSON.stringify(stackName)} is not a CloudFormation stack name: use letters, digits and hyphens, starting with a letter`);
  }
  const createSourceBucket = c.boolean('deploy.createSourceBucket', d.createSourceBucket, true);
  const createDestinationBucket = c.boolean('deploy.createDestinationBucket', d.createDestinationBucket, true);
  if (ctx.sourceBucket !== undefined && ctx.sourceBucket === ctx.destinationBucket && createSourceBucket !== createDestinationBucket) {
    c.problem(
      'deploy.createDestinationBucket',
      'source and destination are one bucket, so createSourceBucket and createDestinationBucket must be equal',
    );
  }
  for (const [field, bucket, create] of [
    ['source.bucket', ctx.sourceBucket, createSourceBucket],
    ['destination.bucket', ctx.destinationBucket, createDestinationBucket],
  ] as const) {
    if (create && bucket !== undefined && !isNewBucketName(bucket)) {
      c.problem(
        field,
        `${JSON.stringify(bucket)} can be imported but not created: new bucket names are 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit (set deploy.${field.startsWith('source') ? 'createSourceBucket' : 'createDestinationBucket'} to false to use an existing bucket)`,
      );
    }
  }
  const enableEventBridgeOnImportedSource = c.boolean(
    'deploy.enableEventBridgeOnImportedSource',
    d.enableEventBridgeOnImportedSource,
    true,
  );
  const sourceKmsKeyArn = c.kmsKeyArn('deploy.sourceKmsKeyArn', d.sourceKmsKeyArn);
  const destinationKmsKeyArn = c.kmsKeyArn('deploy.destinationKmsKeyArn', d.destinationKmsKeyArn);
  const createDestinationKmsKey = c.boolean('deploy.createDestinationKmsKey', d.createDestinationKmsKey, false);
  if (createDestinationKmsKey && destinationKmsKeyArn !== null) {
    c.problem('deploy.createDestinationKmsKey', 'is true while deploy.destinationKmsKeyArn names a key: use one or the other');
  }
  if (createDestinationKmsKey && !createDestinationBucket) {
    c.problem(
      'deploy.createDestinationKmsKey',
      'only applies to a created destination bucket: for an existing SSE-KMS bucket set deploy.destinationKmsKeyArn to its key',
    );
  }
  const serverAccessLogs = c.boolean('deploy.serverAccessLogs', d.serverAccessLogs, true);
  const accessLogExpirationDays = c.integer('deploy.accessLogExpirationDays', d.accessLogExpirationDays, 1, 36500, 'days') ?? 90;
  const bucketVersioning = c.boolean('deploy.bucketVersioning', d.bucketVersioning, true);
  const noncurrentVersionExpirationDays =
    c.integer('deploy.noncurrentVersionExpirationDays', d.noncurrentVersionExpirationDays, 1, 36500, 'days') ?? 30;
  const abortIncompleteMultipartUploadDays =
    c.integer('deploy.abortIncompleteMultipartUploadDays', d.abortIncompleteMultipartUploadDays, 1, 365, 'days') ?? 7;

  const stateMachineType = c.oneOf('deploy.stateMachineType', d.stateMachineType, ['STANDARD', 'EXPRESS'] as const, 'STANDARD');
  const logExecutionData = c.boolean('deploy.logExecutionData', d.logExecutionData, true);
  const logRetentionDays = c.oneOfNumbers('deploy.logRetentionDays', d.logRetentionDays, LOG_RETENTION_DAYS, 30);
  const architecture = c.oneOf('deploy.architecture', d.architecture, ['arm64', 'x86_64'] as const, 'arm64');
  const logLevel = c.oneOf('deploy.logLevel', d.logLevel, ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const, 'INFO');
  const lambdaAssetDir = c.string('deploy.lambdaAssetDir', d.lambdaAssetDir, 'target/lambda');

  // -- per-step Lambda settings --------------------------------------------------------------
  const lambdaSection = c.object('deploy.lambda', d.lambda, false);
  c.onlyKeys('deploy.lambda', lambdaSection, STEPS.map((s) => s.key));
  const lambda = {} as Record<StepKey, StepLambdaSettings>;
  for (const step of STEPS) {
    const field = `deploy.lambda.${step.key}`;
    const section = c.object(field, lambdaSection[step.key], false);
    c.onlyKeys(field, section, ['memoryMb', 'timeoutSeconds', 'reservedConcurrency']);
    const defaults = defaultStepLambda(step.key, stateMachineType);
    lambda[step.key] = {
      memoryMb: c.integer(`${field}.memoryMb`, section.memoryMb, 128, 10240, "Lambda's memory range") ?? defaults.memoryMb,
      timeoutSeconds:
        c.integer(`${field}.timeoutSeconds`, section.timeoutSeconds, 1, 900, "Lambda's limit is 900 s") ?? defaults.timeoutSeconds,
      reservedConcurrency:
        c.integer(
          `${field}.reservedConcurrency`,
          section.reservedConcurrency,
          1,
          MAX_RESERVED_CONCURRENCY,
          'or null for none; the account keeps 100 of its concurrency unreserved, so no more than its quota minus 100',
        ) ?? defaults.reservedConcurrency,
    };
  }
  const copyTimeout = lambda.copyObject.timeoutSeconds;
  if (copyTimeout - ctx.deadlineMarginSeconds < 30) {
    c.problem(
      'deploy.lambda.copyObject.timeoutSeconds',
      `is ${copyTimeout} s but copy.deadlineMarginSeconds is ${ctx.deadlineMarginSeconds} s: the copy stops starting parts ${ctx.deadlineMarginSeconds} s before its deadline, so it would have under 30 s of work per invocation and could loop without progress; raise the timeout or lower the margin`,
    );
  }
  if (stateMachineType === 'EXPRESS') {
    const total = STEPS.reduce((sum, s) => sum + lambda[s.key].timeoutSeconds, 0);
    if (total > EXPRESS_MAX_SECONDS) {
      c.problem(
        'deploy.lambda',
        `the three step timeouts add up to ${total} s, but an EXPRESS execution stops after ${EXPRESS_MAX_SECONDS} s: lower deploy.lambda.*.timeoutSeconds (the EXPRESS defaults are 10 + 120 + 120) or use STANDARD for large objects`,
      );
    }
  }

  // -- EventBridge rule and target -----------------------------------------------------------
  let eventRuleKeyPrefixes: string[] = [];
  let eventRuleKeyPrefixesDerived = false;
  if (d.eventRuleKeyPrefixes === undefined || d.eventRuleKeyPrefixes === null) {
    eventRuleKeyPrefixesDerived = true;
    if (ctx.sourcePrefix && EVENT_SAFE_PREFIX.test(ctx.sourcePrefix)) {
      eventRuleKeyPrefixes = [ctx.sourcePrefix];
    }
  } else if (!Array.isArray(d.eventRuleKeyPrefixes) || d.eventRuleKeyPrefixes.some((p) => typeof p !== 'string')) {
    c.problem('deploy.eventRuleKeyPrefixes', 'must be a list of strings, [] for no key filter, or null to use source.prefix');
  } else {
    eventRuleKeyPrefixes = d.eventRuleKeyPrefixes as string[];
    eventRuleKeyPrefixes.forEach((prefix, i) => {
      const field = `deploy.eventRuleKeyPrefixes[${i}]`;
      if (prefix === '') {
        c.problem(field, 'is empty: an empty prefix matches every key, use [] for no key filter');
      } else if (!EVENT_SAFE_PREFIX.test(prefix)) {
        c.problem(
          field,
          `${JSON.stringify(prefix)} has characters that S3 may encode in event keys (only A-Z a-z 0-9 / . _ - are safe), so the rule might never match: shorten it to its safe part`,
        );
      } else if (ctx.sourcePrefix !== undefined && !prefix.startsWith(ctx.sourcePrefix) && !ctx.sourcePrefix.startsWith(prefix)) {
        c.problem(
          field,
          `${JSON.stringify(prefix)} does not overlap source.prefix ${JSON.stringify(ctx.sourcePrefix)}: every event it lets through would be skipped; use a prefix inside the watched range`,
        );
      }
    });
  }
  const eventTarget = c.object('deploy.eventTarget', d.eventTarget, false);
  c.onlyKeys('deploy.eventTarget', eventTarget, ['retryAttempts', 'maxEventAgeSeconds']);
  const retryAttempts = c.integer('deploy.eventTarget.retryAttempts', eventTarget.retryAttempts, 0, 185, "EventBridge's range") ?? 185;
  const maxEventAgeSeconds =
    c.integer('deploy.eventTarget.maxEventAgeSeconds', eventTarget.maxEventAgeSeconds, 60, 86400, "EventBridge's range (1 minute to 24 hours)") ??
    86400;
  const dlqRetentionDays = c.integer('deploy.dlqRetentionDays', d.dlqRetentionDays, 1, 14, "SQS's range") ?? 14;

  // -- alarms --------------------------------------------------------------------------------
  const alarms = c.object('deploy.alarms', d.alarms, false);
  c.onlyKeys('deploy.alarms', alarms, ['failedExecutions', 'dlqDepth', 'executionDurationSeconds', 'periodSeconds', 'topicArn']);
  const executionDurationSeconds =
    c.integer('deploy.alarms.executionDurationSeconds', alarms.executionDurationSeconds, 1, 365 * 24 * 3600, 'seconds') ??
    defaultExecutionDurationSeconds(stateMachineType);
  if (stateMachineType === 'EXPRESS' && executionDurationSeconds >= EXPRESS_MAX_SECONDS) {
    c.problem(
      'deploy.alarms.executionDurationSeconds',
      `is ${executionDurationSeconds} s, but an EXPRESS execution never runs ${EXPRESS_MAX_SECONDS} s (it times out and counts as failed): use less, e.g. 240`,
    );
  }
  const periodSeconds = c.integer('deploy.alarms.periodSeconds', alarms.periodSeconds, 60, 86400, 'seconds') ?? 300;
  if (periodSeconds % 60 !== 0) {
    c.problem('deploy.alarms.periodSeconds', `is ${periodSeconds}: use a multiple of 60`);
  }
  const topicArn = alarms.topicArn ?? null;
  if (topicArn !== null && (typeof topicArn !== 'string' || !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(topicArn))) {
    c.problem('deploy.alarms.topicArn', 'must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME) or null');
  }

  // -- latency SLO ---------------------------------------------------------------------------
  const slo = c.object('deploy.latencySlo', d.latencySlo, false);
  c.onlyKeys('deploy.latencySlo', slo, ['percentile', 'periodMinutes', 'thresholdSeconds']);
  let percentile = DEFAULT_LATENCY_SLO.percentile;
  if (slo.percentile !== undefined && slo.percentile !== null) {
    const p = typeof slo.percentile === 'string' ? /^p(\d{1,2}(\.\d{1,3})?)$/.exec(slo.percentile) : null;
    if (p === null || Number(p[1]) <= 0) {
      c.problem('deploy.latencySlo.percentile', `is ${JSON.stringify(slo.percentile)}: use a CloudWatch percentile statistic from p0.001 to p99.999, e.g. p99`);
    } else {
      percentile = slo.percentile as string;
    }
  }
  const latencySlo: LatencySloSettings = {
    percentile,
    periodMinutes:
      c.integer('deploy.latencySlo.periodMinutes', slo.periodMinutes, 1, 1440, 'minutes; a CloudWatch alarm evaluates at most one day') ??
      DEFAULT_LATENCY_SLO.periodMinutes,
    thresholdSeconds:
      c.integer('deploy.latencySlo.thresholdSeconds', slo.thresholdSeconds, 1, 7 * 24 * 3600, 'seconds') ?? DEFAULT_LATENCY_SLO.thresholdSeconds,
  };

  return {
    stackName,
    createSourceBucket,
    createDestinationBucket,
    enableEventBridgeOnImportedSource,
    sourceKmsKeyArn,
    destinationKmsKeyArn,
    createDestinationKmsKey,
    serverAccessLogs,
    accessLogExpirationDays,
    bucketVersioning,
    noncurrentVersionExpirationDays,
    abortIncompleteMultipartUploadDays,
    stateMachineType,
    logExecutionData,
    logRetentionDays,
    architecture,
    logLevel,
    lambdaAssetDir,
    lambda,
    eventRuleKeyPrefixes,
    eventRuleKeyPrefixesDerived,
    eventTarget: { retryAttempts, maxEventAgeSeconds },
    dlqRetentionDays,
    alarms: {
      failedExecutions: c.integer('deploy.alarms.failedExecutions', alarms.failedExecutions, 1, 1_000_000, 'executions') ?? 1,
      dlqDepth: c.integer('deploy.alarms.dlqDepth', alarms.dlqDepth, 1, 1_000_000, 'messages') ?? 1,
      executionDurationSeconds,
      periodSeconds,
      topicArn: topicArn as string | null,
    },
    latencySlo,
  };
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Why the functions would refuse `pattern`, as far as JavaScript can tell: they compile it
 * with Rust's regex-lite (`(?P<name>...)` groups, no look-around, no backreferences), so a
 * pattern that does not compile would fail every invocation after deploying. The shared corpus
 * `tests/fixtures/settings-verdicts.json` holds both checks to the same verdicts.
 */
function keyPatternRefusal(pattern: string): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) {
    return `${JSON.stringify(pattern)} uses look-around, which the functions' regex engine (Rust regex-lite) does not support`;
  }
  if (/\\[1-9]/.test(pattern)) {
    return `${JSON.stringify(pattern)} uses a backreference, which the functions' regex engine (Rust regex-lite) does not support`;
  }
  // JavaScript has no inline flags (`(?i)`, `(?x:...)`): drop them for the syntax check.
  const javascript = pattern
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?[imsxUR-]+\)/g, '')
    .replace(/\(\?[imsxUR-]+:/g, '(?:');
  try {
    // Without the u flag: it would refuse escapes regex-lite accepts (`\-`, `\/`).
    new RegExp(`^(?:${javascript})$`);
  } catch (e) {
    return `${JSON.stringify(pattern)} is not a regular expression: ${(e as Error).message}`;
  }
  return undefined;
}

/** Rules for creating a bucket (imports accept legacy names too). */
function isNewBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.startsWith('sthree-') &&
    !name.endsWith('-s3alias') &&
    !name.endsWith('--ol-s3')
  );
}

class Checker {
  private readonly problems: Problem[] = [];

  problem(field: string, message: string): void {
    this.problems.push({ field, message });
  }

  throwIfAny(origin: string): void {
    if (this.problems.length > 0) {
      throw new SettingsError(origin, this.problems);
    }
  }

  onlyKeys(field: string, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.problem(
          field ? `${field}.${key}` : key,
          `is not a setting${field === '' ? ' (the Rust steps refuse unknown top-level keys; deployment settings go under "deploy")' : ''}: use one of ${allowed.join(', ')}`,
        );
      }
    }
  }

  object(field: string, value: unknown, required: boolean): Record<string, unknown> {
    if (value === undefined || value === null) {
      if (required) {
        this.problem(field, 'is missing');
      }
      return {};
    }
    if (!isObject(value)) {
      this.problem(field, 'must be an object');
      return {};
    }
    return value;
  }

  bucketName(field: string, value: unknown): string | undefined {
    if (value === undefined) {
      this.problem(field, 'is missing: name the bucket');
      return undefined;
    }
    if (
      typeof value !== 'string' ||
      value.length < 3 ||
      value.length > 255 ||
      !/^[A-Za-z0-9._-]+$/.test(value) ||
      !/^[A-Za-z0-9]/.test(value) ||
      !/[A-Za-z0-9]$/.test(value)
    ) {
      this.problem(
        field,
        `${JSON.stringify(value)} is not an S3 bucket name: existing buckets are named with 3-255 letters, digits, dots, hyphens and underscores, starting and ending with a letter or digit (names of new buckets: 3-63 lower-case letters, digits, dots and hyphens)`,
      );
      return undefined;
    }
    return value;
  }

  prefix(field: string, value: unknown, nullable: boolean): string | null | undefined {
    if (value === null && nullable) {
      return null;
    }
    if (typeof value !== 'string') {
      this.problem(field, `must be a string${nullable ? ' or null' : ''}`);
      return undefined;
    }
    // eslint-disable-next-line no-control-regex
    const control = value.search(/[\u0000-\u001f\u007f-\u009f]/);
    if (control >= 0) {
      this.problem(field, `has a control character at index ${control}: remove it`);
      return undefined;
    }
    if (Buffer.byteLength(value) >= MAX_S3_KEY_BYTES) {
      this.problem(field, `is ${Buffer.byteLength(value)} bytes long: S3 keys are at most ${MAX_S3_KEY_BYTES}`);
      return undefined;
    }
    return value;
  }

  integer(field: string, value: unknown, min: number, max: number, why: string): number | undefined {
    if (value === undefined || value === null) {
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problem(field, `is ${JSON.stringify(value)}: use a whole number from ${min} to ${max} (${why})`);
      return undefined;
    }
    return value;
  }

  boolean(field: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null) {
      return fallback;
    }
    if (typeof value !== 'boolean') {
      this.problem(field, `is ${JSON.stringify(value)}: use true or false`);
      return fallback;
    }
    return value;
  }

  string(field: string, value: unknown, fallback: string): string {
    if (value === undefined || value === null) {
      return fallback;
    }
    if (typeof value !== 'string' || value === '') {
      this.problem(field, `is ${JSON.stringify(value)}: use a non-empty string`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) {
      return fallback;
    }
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.problem(field, `is ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value as T;
  }

  oneOfNumbers(field: string, value: unknown, allowed: readonly number[], fallback: number): number {
    if (value === undefined || value === null) {
      return fallback;
    }
    if (typeof value !== 'number' || !allowed.includes(value)) {
      this.problem(field, `is ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`);
      return fallback;
    }
    return value;
  }

  kmsKeyArn(field: string, value: unknown): string | null {
    if (value === undefined || value === null) {
      return null;
    }
    if (typeof value !== 'string' || !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(value)) {
      this.problem(field, `is ${JSON.stringify(value)}: use a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID; not an alias) or null`);
      return null;
    }
    return value;
  }
}
