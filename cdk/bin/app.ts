#!/usr/bin/env node
// `cdk synth` / `cdk deploy` entry point (cdk.json: "app"). See cdk/README.md.

import { createApp } from '../lib/app';
import { ConfigurationError } from '../lib/settings';

try {
  createApp().app.synth();
} catch (error) {
  if (error instanceof ConfigurationError) {
    // A setting, file or build to fix: the message says what; a stack trace would only hide it.
    console.error(`\ncopyflow: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
