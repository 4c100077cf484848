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
