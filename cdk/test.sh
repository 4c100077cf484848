#!/usr/bin/env bash
# The CDK app's tests, offline once the npm packages are installed: the locked packages
# (npm ci), a type check, and the jest suites: template and IAM assertions, the inlined ASL,
# cdk-nag AwsSolutions, the synth-time guards, and `cdk synth` of the app through the CDK CLI
# with placeholder Lambda zips (nothing is built or deployed; no AWS account is used).
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund
npm test
