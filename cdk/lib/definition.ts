// The state machine definition: `statemachine/copyflow.asl.json`, deployed as written.
//
// The file's `${...FunctionArn}` placeholders are CloudFormation `DefinitionSubstitutions`
// keys, so the template carries the file byte for byte and CloudFormation puts the function
// ARNs in. The local runner substitutes the same placeholders, so both runtimes
// (`docs/architecture.md#one-pipeline-two-runtimes`) run one definition.

import * as fs from 'fs';
import * as path from 'path';
import { ConfigurationError, STEPS, StepKey } from './settings';

export interface TaskInfo {
  /** The Task state that invokes the step. */
  readonly state: string;
  /** The Task's `TimeoutSeconds`, if it has one. */
  readonly timeoutSeconds: number | undefined;
}

export interface Definition {
  readonly file: string;
  /** The file's text, unchanged. */
  readonly text: string;
  /** For each step, the Task state that calls it. */
  readonly tasks: Readonly<Record<StepKey, TaskInfo>>;
}

/** Placeholders look like `${Name}` (CloudFormation DefinitionSubstitutions syntax). */
export const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

export function defaultDefinitionFile(): string {
  return path.resolve(__dirname, '..', '..', 'statemachine', 'copyflow.asl.json');
}

/**
 * Reads and checks the ASL file: JSON, exactly the three function placeholders, each used
 * by a Task state as its `FunctionName`.
 */
export function readDefinition(file: string): Definition {
  const fail = (message: string): never => {
    throw new ConfigurationError(`${file}: ${message}`);
  };
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot be read (${(e as Error).message})`);
  }
  let asl: { States?: Record<string, Record<string, unknown>> } = {};
  try {
    asl = JSON.parse(text);
  } catch (e) {
    fail(`is not JSON: ${(e as Error).message}`);
  }

  const used = new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]));
  const known: readonly string[] = STEPS.map((s) => s.placeholder);
  const unknown = [...used].filter((p) => !known.includes(p));
  if (unknown.length > 0) {
    fail(`uses placeholders the CDK app does not fill: ${unknown.map((p) => '${' + p + '}').join(', ')} (known: ${known.join(', ')})`);
  }

  const tasks = {} as Record<StepKey, TaskInfo>;
  for (const step of STEPS) {
    const states = Object.entries(asl.States ?? {}).filter(([, state]) => {
      const parameters = state.Parameters as Record<string, unknown> | undefined;
      return state.Type === 'Task' && parameters?.FunctionName === '${' + step.placeholder + '}';
    });
    if (states.length === 0) {
      fail(`no Task state calls \${${step.placeholder}} (as Parameters.FunctionName): the ${step.binary} function would be deployed but never run`);
    }
    const timeouts = states.map(([, s]) => (typeof s.TimeoutSeconds === 'number' ? s.TimeoutSeconds : undefined));
    tasks[step.key] = {
      state: states.map(([name]) => name).join(', '),
      timeoutSeconds: timeouts.includes(undefined) ? undefined : Math.min(...(timeouts as number[])),
    };
  }
  return { file, text, tasks };
}

/**
 * CloudFormation's substitution: every `${Key}` in `text` with a key in `values` is replaced.
 * Used by tests to compute the definition Step Functions receives.
 */
export function substitute(text: string, values: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => (key in values ? values[key] : whole));
}
