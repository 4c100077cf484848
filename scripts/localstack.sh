# shellcheck shell=bash
# LocalStack, run on the host without Docker: the independent S3 implementation the conformance
# suite (local/s3/tests/conformance_localstack.rs) runs against, and the CloudFormation, Step
# Functions and Logs APIs the CLI's `--aws` stack lookup is tested on
# (local/cli/tests/aws_stack_lookup.rs), and the SQS queue `copyflow replay-dlq` is tested on
# (local/cli/tests/replay_dlq.rs). LocalStack loads a service on its first request.
#
# Source this file, then:
#   localstack_install   # venv in .tools/localstack-venv (idempotent, marker file)
#   localstack_start     # free loopback port; exports COPYFLOW_LOCALSTACK_ENDPOINT
#   localstack_stop      # kills it by PID (process group and children), removes its state
#
# It always listens on 127.0.0.1 only: GATEWAY_SERVER=hypercorn honours GATEWAY_LISTEN's host,
# the default server would bind 0.0.0.0.

_localstack_root() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    printf '%s' "$here"
}

LOCALSTACK_VENV=${LOCALSTACK_VENV:-$(_localstack_root)/.tools/localstack-venv}
# Versions pinned together: cbor2 6 removed a module LocalStack imports, pyOpenSSL >= 24.3 lacks
# an API it calls, and service_identity is not pulled in by itself.
LOCALSTACK_PACKAGES=('localstack-core[runtime]' 'cbor2<6' 'pyopenssl<24.3' 'service_identity<24')
LOCALSTACK_MARKER_NAME=.copyflow-installed

_localstack_log() { printf 'localstack: %s\n' "$*" >&2; }

# A Python >= 3.12, newest first. 3.11 fails at start with a misleading "No component plugins
# found in namespace localstack.runtime.components", and so did pyenv's 3.12.1 here; 3.13.0 works.
_localstack_python() {
    local candidate
    # Newest first: 3.13 before 3.12 (a single `ls` would sort them the other way).
    for candidate in $(ls -d ~/.pyenv/versions/3.13*/bin/python 2>/dev/null) \
        $(ls -d ~/.pyenv/versions/3.12*/bin/python 2>/dev/null) \
        "$(command -v python3.13 2>/dev/null)" "$(command -v python3.12 2>/dev/null)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            printf '%s' "$candidate"
            return 0
        fi
    done
    return 1
}

localstack_install() {
    local python
    if ! python=$(_localstack_python); then
        _localstack_log "ERROR: LocalStack needs Python >= 3.12; none found (looked for ~/.pyenv/versions/3.13*, ~/.pyenv/versions/3.12*, python3.13, python3.12 on PATH)"
        return 1
    fi
    local marker="$LOCALSTACK_VENV/$LOCALSTACK_MARKER_NAME"
    local wanted="$python ${LOCALSTACK_PACKAGES[*]}"
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ] && [ -x "$LOCALSTACK_VENV/bin/python" ]; then
        _localstack_log "already installed in $LOCALSTACK_VENV"
        return 0
    fi
    _localstack_log "installing into $LOCALSTACK_VENV with $python (takes a minute or two)"
    rm -rf "$LOCALSTACK_VENV"
    mkdir -p "$(dirname "$LOCALSTACK_VENV")"
    "$python" -m venv "$LOCALSTACK_VENV" || return 1
    "$LOCALSTACK_VENV/bin/python" -m pip install --quiet "${LOCALSTACK_PACKAGES[@]}" || {
        _localstack_log "ERROR: pip install failed"
        return 1
    }
    printf '%s' "$wanted" >"$marker"
    _localstack_log "installed"
}

_localstack_free_port() {
    "$LOCALSTACK_VENV/bin/python" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

localstack_start() {
    if [ -n "${LOCALSTACK_PID:-}" ] && kill -0 "$LOCALSTACK_PID" 2>/dev/null; then
        _localstack_log "already running (pid $LOCALSTACK_PID) at ${COPYFLOW_LOCALSTACK_ENDPOINT:-?}"
        return 0
    fi
    if [ ! -x "$LOCALSTACK_VENV/bin/python" ]; then
        _localstack_log "ERROR: not installed; run localstack_install first"
        return 1
    fi
    local port state
    port=$(_localstack_free_port) || return 1
    state=$(mktemp -d "${TMPDIR:-/tmp}/copyflow-localstack.XXXXXX") || return 1
    mkdir -p "$state/tmp"
    LOCALSTACK_STATE=$state
    LOCALSTACK_LOG=$state/localstack.log
    # setsid: its own process group, so stop can take every child with it.
    OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$state" TMPDIR="$state/tmp" \
        GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$port" SERVICES=s3,cloudformation,stepfunctions,logs,sqs \
        setsid "$LOCALSTACK_VENV/bin/python" -m localstack.runtime.main >"$LOCALSTACK_LOG" 2>&1 </dev/null &
    LOCALSTACK_PID=$!
    local endpoint="http://127.0.0.1:$port"
    local started=$SECONDS deadline=$((SECONDS + ${LOCALSTACK_START_TIMEOUT:-90}))
    while :; do
        if ! kill -0 "$LOCALSTACK_PID" 2>/dev/null; then
            _localstack_log "ERROR: exited during start; last log lines:"
            tail -n 30 "$LOCALSTACK_LOG" >&2
            localstack_stop
            return 1
        fi
        if curl -fsS --max-time 2 "$endpoint/_localstack/health" 2>/dev/null |
            grep -Eq '"s3": *"(available|running)"'; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            _localstack_log "ERROR: S3 not available after ${LOCALSTACK_START_TIMEOUT:-90}s; last log lines:"
            tail -n 30 "$LOCALSTACK_LOG" >&2
            localstack_stop
            return 1
        fi
        sleep 0.5
    done
    export COPYFLOW_LOCALSTACK_ENDPOINT=$endpoint
    export LOCALSTACK_PID LOCALSTACK_STATE LOCALSTACK_LOG
    _localstack_log "S3 available at $endpoint (pid $LOCALSTACK_PID, $((SECONDS - started))s, log $LOCALSTACK_LOG)"
}

localstack_stop() {
    local pid=${LOCALSTACK_PID:-}
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # The process group setsid made (pgid == pid), then the leader itself if it survived.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        _localstack_log "stopped (pid $pid)"
    fi
    LOCALSTACK_PID=
    if [ -n "${LOCALSTACK_STATE:-}" ] && [ -d "$LOCALSTACK_STATE" ]; then
        rm -rf "$LOCALSTACK_STATE"
    fi
    LOCALSTACK_STATE=
    unset COPYFLOW_LOCALSTACK_ENDPOINT
}
