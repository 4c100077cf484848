#!/usr/bin/env python3
"""Cold start of the three Lambda binaries: process spawn to the first
`GET /2018-06-01/runtime/invocation/next`, the moment a function is ready for its first
event.

Serves a minimal Lambda Runtime API on 127.0.0.1 (it only reads that first request; the
process is then killed), spawns each release binary RUNS times with the environment Lambda
gives it (COPYFLOW_SETTINGS is copyflow.json minus `local` and `deploy`, as the CDK app
passes it; RUST_LOG as the CDK app sets it; AWS_LAMBDA_LOG_FORMAT=JSON for the JSON logging
format), and prints the median and p90 per binary.

    cargo build --release -p validate-key -p copy-object -p verify-copy
    python3 scripts/cold_start.py [--bin-dir target/release] [--runs 20] [BINARY...]
"""

import argparse
import json
import os
import pathlib
import select
import socket
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARIES = ["validate-key", "copy-object", "verify-copy"]
NEXT = b"GET /2018-06-01/runtime/invocation/next"


def settings_json() -> str:
    document = json.loads((ROOT / "copyflow.json").read_text())
    pipeline = {k: v for k, v in document.items() if k not in ("deploy", "local")}
    # JSON.stringify: no spaces.
    return json.dumps(pipeline, separators=(",", ":"))


def lambda_env(name: str, port: int, settings: str) -> dict:
    return {
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2025/01/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "token",
        "COPYFLOW_SETTINGS": settings,
        "RUST_LOG": "info",
    }


def one_start(binary: pathlib.Path, server: socket.socket, env: dict) -> float:
    """Milliseconds from spawn to the first invocation/next request."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(binary)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        buf = b""
        conn = None
        deadline = start + 10
        while True:
            waiting = [server] if conn is None else [conn]
            ready, _, _ = select.select(waiting + [proc.stderr], [], [], 0.05)
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")
                raise RuntimeError(f"{binary.name} exited ({proc.returncode}) before polling:\n{err}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{binary.name} never asked for an invocation")
            if conn is None and server in ready:
                conn, _ = server.accept()
                continue
            if conn is not None and conn in ready:
                chunk = conn.recv(4096)
                if not chunk:
                    raise RuntimeError(f"{binary.name} closed the connection")
                buf += chunk
                if b"\r\n" in buf:
                    elapsed = (time.perf_counter() - start) * 1000
                    line = buf.split(b"\r\n", 1)[0]
                    if not line.startswith(NEXT):
                        raise RuntimeError(f"{binary.name} asked {line!r} first")
                    conn.close()
                    return elapsed
    finally:
        proc.kill()
        proc.wait()


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default=str(pathlib.Path(target) / "release"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("binaries", nargs="*", default=BINARIES)
    args = parser.parse_args()
    settings = settings_json()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    print(f"{'binary':<14} {'median ms':>10} {'p90 ms':>8} {'min ms':>8}  ({args.runs} runs, {args.bin_dir})")
    for name in args.binaries:
        binary = pathlib.Path(args.bin_dir) / name
        env = lambda_env(name, port, settings)
        one_start(binary, server, env)  # warm the page cache; not counted
        times = [one_start(binary, server, env) for _ in range(args.runs)]
        print(
            f"{name:<14} {statistics.median(times):>10.1f} {percentile(times, 90):>8.1f} {min(times):>8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
