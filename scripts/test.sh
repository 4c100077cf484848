#!/usr/bin/env bash
# The one test command (README "Run all the tests"; .ci/run calls exactly this).
# Installs what the suites need on a fresh machine, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "LocalStack S3 on 127.0.0.1 (the independent S3 for the conformance suite)"
# shellcheck source=scripts/localstack.sh
source "$root/scripts/localstack.sh"
localstack_install
localstack_start # exports COPYFLOW_LOCALSTACK_ENDPOINT for conformance_localstack.rs
trap localstack_stop EXIT

step "AWS CLI and boto3 from PyPI (the end-to-end test's client; the conformance suite's second client)"
if [[ ! -x .tools/awscli-venv/bin/aws ]]; then
  python3 -m venv .tools/awscli-venv
  .tools/awscli-venv/bin/pip install --quiet 'awscli==1.46.*'
fi
# boto3 on the aws cli's botocore: an existing venv gets it added, pinned to that botocore.
if ! .tools/awscli-venv/bin/python -c 'import boto3' 2>/dev/null; then
  .tools/awscli-venv/bin/pip install --quiet 'awscli==1.46.*' boto3
fi
export COPYFLOW_AWS_CLI="$root/.tools/awscli-venv/bin/aws"
export COPYFLOW_BOTO3_PYTHON="$root/.tools/awscli-venv/bin/python"
"$COPYFLOW_AWS_CLI" --version
"$COPYFLOW_BOTO3_PYTHON" -c 'import boto3; print("boto3", boto3.__version__)'

step "cargo-lambda from PyPI (its Runtime API emulator: the differential test of the Lambda binaries)"
if [[ ! -x .tools/cargo-lambda-venv/bin/cargo-lambda ]]; then
  python3 -m venv .tools/cargo-lambda-venv
  .tools/cargo-lambda-venv/bin/pip install --quiet 'cargo-lambda==1.9.2'
fi
export COPYFLOW_CARGO_LAMBDA="$root/.tools/cargo-lambda-venv/bin/cargo-lambda"
"$COPYFLOW_CARGO_LAMBDA" lambda --version

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Unused dependencies (a crate's name and its library's differ for md-5: see the crates'
# [package.metadata.cargo-machete]).
if ! command -v cargo-machete >/dev/null; then
  cargo install --quiet --locked cargo-machete --version 0.9.2
fi
cargo machete

step "state machine definition (asl-validator from npm)"
npm ci --prefix statemachine --no-audit --no-fund
npm test --prefix statemachine

step "Rust workspace tests (S3 conformance x2, steps, ASL conformance, CLI demo and end-to-end)"
cargo test --workspace --locked --no-fail-fast

step "web console in a real browser (Debian chromium, playwright-core from npm)"
if ! command -v chromium >/dev/null; then
  sudo_if_needed=()
  [[ $(id -u) -eq 0 ]] || sudo_if_needed=(sudo)
  "${sudo_if_needed[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq chromium >/dev/null
fi
chromium --version
npm ci --prefix tests/console --no-audit --no-fund
# The Rust tests built target/debug/copyflow; the browser tests run it (screenshots in
# target/console-artifacts/).
cargo build --locked --bin copyflow
npm test --prefix tests/console

step "cfn-lint and checkov from PyPI (independent checks of the synthesized template)"
cfn_tools=('cfn-lint==1.58.0' 'checkov==3.3.30')
if [[ ! -x .tools/cfn-venv/bin/checkov ]] || [[ "$(cat .tools/cfn-venv/.copyflow-installed 2>/dev/null)" != "${cfn_tools[*]}" ]]; then
  rm -rf .tools/cfn-venv
  python3 -m venv .tools/cfn-venv
  .tools/cfn-venv/bin/pip install --quiet "${cfn_tools[@]}"
  printf '%s' "${cfn_tools[*]}" > .tools/cfn-venv/.copyflow-installed
fi
export COPYFLOW_CFN_LINT="$root/.tools/cfn-venv/bin/cfn-lint" COPYFLOW_CHECKOV="$root/.tools/cfn-venv/bin/checkov"
"$COPYFLOW_CFN_LINT" --version
"$COPYFLOW_CHECKOV" --version

step "CDK app (npm: aws-cdk-lib, cdk-nag, jest; cfn-lint and checkov on the template)"
./cdk/test.sh

echo
echo "all suites passed (${SECONDS}s)"
