// Builds the CDK app: settings (copyflow.json + context) -> checks -> stack -> cdk-nag.
// A function, so tests drive exactly what `cdk synth` runs (bin/app.ts calls it).

import { App, AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as path from 'path';
import { CopyflowStack } from './copyflow-stack';
import { Definition, defaultDefinitionFile, readDefinition } from './definition';
import { defaultSettingsFile, DeploySettings, loadSettingsFile, LoadedSettings, Problem, SettingsError, STEPS } from './settings';

/** Context keys: `copyflow:settingsFile`, `copyflow:definitionFile`, and `copyflow:<dotted.path>` overrides. */
export const CONTEXT_PREFIX = 'copyflow:';
const FILE_KEYS = ['settingsFile', 'definitionFile'];

export interface CopyflowApp {
  readonly app: App;
  readonly stack: CopyflowStack;
  readonly settings: LoadedSettings;
  readonly definition: Definition;
}

export function createApp(props: AppProps = {}): CopyflowApp {
  const app = new App(props);
  const context = app.node.getAllContext() as Record<string, unknown>;
  const settingsFile = path.resolve(String(context[`${CONTEXT_PREFIX}settingsFile`] ?? defaultSettingsFile()));
  const definitionFile = path.resolve(String(context[`${CONTEXT_PREFIX}definitionFile`] ?? defaultDefinitionFile()));
  const overrides = Object.fromEntries(
    Object.entries(context)
      .filter(([key]) => key.startsWith(CONTEXT_PREFIX) && !FILE_KEYS.includes(key.slice(CONTEXT_PREFIX.length)))
      .map(([key, value]) => [key.slice(CONTEXT_PREFIX.length), value]),
  );

  const settings = loadSettingsFile(settingsFile, overrides);
  const definition = readDefinition(definitionFile);
  const problems = timeoutProblems(settings.deploy, definition);
  if (problems.length > 0) {
    throw new SettingsError(settingsFile, problems);
  }

  const stack = new CopyflowStack(app, settings.deploy.stackName, {
    settings,
    definition,
    description: 'copyflow: event-driven verified S3-to-S3 copies (S3 -> EventBridge -> Step Functions -> Rust Lambdas)',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, settings, definition };
}

/**
 * A Lambda that may run longer than its Task's TimeoutSeconds keeps copying after Step
 * Functions has given up on it (States.Timeout): refuse that.
 */
export function timeoutProblems(deploy: DeploySettings, definition: Definition): Problem[] {
  const problems: Problem[] = [];
  for (const step of STEPS) {
    const task = definition.tasks[step.key];
    const timeout = deploy.lambda[step.key].timeoutSeconds;
    if (task.timeoutSeconds !== undefined && timeout > task.timeoutSeconds) {
      problems.push({
        field: `deploy.lambda.${step.key}.timeoutSeconds`,
        message: `is ${timeout} s, longer than the ${task.state} Task's TimeoutSeconds (${task.timeoutSeconds} s) in ${path.basename(definition.file)}: Step Functions would stop waiting while the function still runs; use at most ${task.timeoutSeconds}`,
      });
    }
  }
  return problems;
}
