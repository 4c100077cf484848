// The state machine Step Functions receives is statemachine/copyflow.asl.json with the three
// function ARNs put in, and nothing else changed.

import * as fs from 'fs';
import * as path from 'path';
import { createApp } from '../lib/app';
import { readDefinition, substitute } from '../lib/definition';
import { STEPS } from '../lib/settings';
import { ASL_FILE, build, CDK_JSON_CONTEXT, logicalId, placeholderAssets, Synthesized, tempDir } from './helpers';

let s: Synthesized;
let properties: { DefinitionString: string; DefinitionSubstitutions: Record<string, unknown> };
beforeAll(() => {
  s = build();
  const id = logicalId(s.template, 'AWS::StepFunctions::StateMachine', 'StateMachine');
  properties = s.template.toJSON().Resources[id].Properties;
});

test('the template carries the ASL file byte for byte', () => {
  expect(properties.DefinitionString).toBe(fs.readFileSync(ASL_FILE, 'utf8'));
});

test('each placeholder is substituted with its own function ARN', () => {
  expect(properties.DefinitionSubstitutions).toEqual({
    ValidateKeyFunctionArn: { 'Fn::GetAtt': [logicalId(s.template, 'AWS::Lambda::Function', 'ValidateKey'), 'Arn'] },
    CopyObjectFunctionArn: { 'Fn::GetAtt': [logicalId(s.template, 'AWS::Lambda::Function', 'CopyObject'), 'Arn'] },
    VerifyCopyFunctionArn: { 'Fn::GetAtt': [logicalId(s.template, 'AWS::Lambda::Function', 'VerifyCopy'), 'Arn'] },
  });
});

test('the deployed definition equals the file with the ARNs put into the Task states, and nothing else changed', () => {
  // What CloudFormation hands Step Functions: DefinitionString with DefinitionSubstitutions
  // applied, each GetAtt resolved to the function's ARN.
  const arnOf = (logical: string) => `arn:aws:lambda:eu-west-1:000000000000:function:${logical}`;
  const values = Object.fromEntries(
    Object.entries(properties.DefinitionSubstitutions).map(([key, value]) => [key, arnOf((value as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0])]),
  );
  const deployed = JSON.parse(substitute(properties.DefinitionString, values));
  expect(JSON.stringify(deployed)).not.toContain('${');

  // The same, computed independently: walk the file's JSON and set each Task's FunctionName.
  const expected = JSON.parse(fs.readFileSync(ASL_FILE, 'utf8'));
  let tasks = 0;
  for (const state of Object.values(expected.States) as { Type: string; Parameters?: { FunctionName?: string } }[]) {
    const step = STEPS.find((st) => state.Parameters?.FunctionName === '${' + st.placeholder + '}');
    if (state.Type === 'Task' && step) {
      state.Parameters!.FunctionName = arnOf(logicalId(s.template, 'AWS::Lambda::Function', step.state));
      tasks++;
    }
  }
  expect(tasks).toBe(3);
  expect(deployed).toEqual(expected);
});

test('the Task states invoke Lambda through the optimized integration, so the unqualified ARNs are what the role must allow', () => {
  const asl = JSON.parse(fs.readFileSync(ASL_FILE, 'utf8'));
  for (const step of STEPS) {
    expect(asl.States[step.state]).toMatchObject({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: '${' + step.placeholder + '}' } });
  }
});

test("each function's timeout fits its Task's TimeoutSeconds", () => {
  const definition = readDefinition(ASL_FILE);
  for (const step of STEPS) {
    const task = definition.tasks[step.key];
    expect(task.state).toBe(step.state);
    if (task.timeoutSeconds !== undefined) {
      expect(s.settings.deploy.lambda[step.key].timeoutSeconds).toBeLessThanOrEqual(task.timeoutSeconds);
    }
  }
});

describe('synth refuses', () => {
  const assets = placeholderAssets();
  const context = (extra: Record<string, unknown>) => ({ ...CDK_JSON_CONTEXT, 'copyflow:deploy.lambdaAssetDir': assets, ...extra });

  test('a function timeout longer than its Task timeout (Step Functions would give up while it still copies)', () => {
    const definition = readDefinition(ASL_FILE);
    const limit = definition.tasks.validateKey.timeoutSeconds!;
    expect(() => createApp({ context: context({ 'copyflow:deploy.lambda.validateKey.timeoutSeconds': limit + 1 }) })).toThrow(
      new RegExp(`deploy\\.lambda\\.validateKey\\.timeoutSeconds: is ${limit + 1} s, longer than the ValidateKey Task's TimeoutSeconds \\(${limit} s\\)`),
    );
  });

  test('a definition with a placeholder it cannot fill', () => {
    const file = path.join(tempDir('asl'), 'bad.asl.json');
    fs.writeFileSync(file, fs.readFileSync(ASL_FILE, 'utf8').replace('${VerifyCopyFunctionArn}', '${VerifyFunctionArn}'));
    expect(() => createApp({ context: context({ 'copyflow:definitionFile': file }) })).toThrow(/uses placeholders the CDK app does not fill: \$\{VerifyFunctionArn\}/);
  });

  test('a definition that never calls one of the functions', () => {
    const asl = JSON.parse(fs.readFileSync(ASL_FILE, 'utf8'));
    asl.States.VerifyCopy.Parameters.FunctionName = 'arn:aws:lambda:eu-west-1:000000000000:function:other';
    const file = path.join(tempDir('asl'), 'no-verify.asl.json');
    fs.writeFileSync(file, JSON.stringify(asl));
    expect(() => createApp({ context: context({ 'copyflow:definitionFile': file }) })).toThrow(/no Task state calls \$\{VerifyCopyFunctionArn\}/);
  });

  test('a definition that is not JSON', () => {
    const file = path.join(tempDir('asl'), 'broken.asl.json');
    fs.writeFileSync(file, '{');
    expect(() => readDefinition(file)).toThrow(/is not JSON/);
  });
});
