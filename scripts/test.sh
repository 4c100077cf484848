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

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "state machine definition (asl-validator from npm)"
npm ci --prefix statemachine --no-audit --no-fund
npm test --prefix statemachine

step "Rust workspace tests (embedded S3 server and LocalStack)"
cargo test --workspace --locked --no-fail-fast

echo
echo "all suites passed (${SECONDS}s)"
