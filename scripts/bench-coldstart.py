#!/usr/bin/env python3
"""Cold start of the Lambda binary, side by side: each (binary, function) pair is started
as Lambda starts a new instance, against a stand-in for the Lambda Runtime API on
127.0.0.1, and timed from exec to its first `GET …/invocation/next` (init) and to its
answer to one invocation (first request). arm64 binaries run under qemu-aarch64 on other
machines: the absolute times are qemu's, the ratios between binaries are what counts.

    scripts/bench-coldstart.py [--repeat N] BINARY:FUNCTION [BINARY:FUNCTION ...]

FUNCTION is what MEDIDOCS_FUNCTION says (plan, api, ocr-worker, start, watchdog, …);
a binary built for one function only ignores it. The invocation is a payload no step
accepts, so the answer comes without reaching any AWS service.
"""

import argparse
import http.server
import json
import os
import platform
import shutil
import socketserver
import statistics
import subprocess
import sys
import threading
import time

EVENT = [1, 2]


class Api(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            server = self.server
            if server.first_next is None:
                server.first_next = time.monotonic()
            if server.served:
                # One invocation per instance: hold the next poll until the test ends.
                server.done.wait(10)
                self.send_response(500)
                self.end_headers()
                return
            server.served = True
            body = json.dumps(EVENT).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:000000000000:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if "/invocation/" in self.path and self.server.answered is None:
            self.server.answered = time.monotonic()
            self.server.done.set()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def run_once(binary, function):
    server = Server(("127.0.0.1", 0), Api)
    server.first_next = None
    server.answered = None
    server.served = False
    server.done = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": f"medidocs-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "UPLOAD_BUCKET": "bench-uploads",
        "ARTEFACT_BUCKET": "bench-artefacts",
        "TABLE_NAME": "bench",
        "KMS_KEY_ID": "arn:aws:kms:eu-west-1:000000000000:key/bench",
        "STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:000000000000:stateMachine:bench",
        "OCR_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/000000000000/bench",
        "MEDIDOCS_FUNCTION": function,
    }
    cmd = [binary]
    if "aarch64" in subprocess.run(["file", "-b", binary], capture_output=True, text=True).stdout and platform.machine() != "aarch64":
        qemu = shutil.which("qemu-aarch64")
        if not qemu:
            sys.exit("qemu-aarch64 is needed to run arm64 binaries here (Debian: qemu-user, libc6-arm64-cross)")
        cmd = [qemu, "-L", "/usr/aarch64-linux-gnu", binary]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server.done.wait(30)
    proc.kill()
    _, err = proc.communicate()
    server.shutdown()
    if server.first_next is None or server.answered is None:
        sys.exit(f"{binary} as {function} never answered: {err.decode(errors='replace')[-500:]}")
    return (server.first_next - start) * 1000, (server.answered - start) * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("pairs", nargs="+", metavar="BINARY:FUNCTION")
    args = p.parse_args()
    rows = []
    for pair in args.pairs:
        binary, _, function = pair.rpartition(":")
        runs = [run_once(binary, function) for _ in range(args.repeat)]
        init = statistics.median(r[0] for r in runs)
        first = statistics.median(r[1] for r in runs)
        size = os.path.getsize(binary) / 1e6
        rows.append((pair, size, init, first))
    base = rows[0]
    print(f"{'binary:function':60} {'MB':>6} {'init ms':>8} {'first ms':>9} {'init ×':>7}")
    for pair, size, init, first in rows:
        print(f"{pair[-60:]:60} {size:6.1f} {init:8.1f} {first:9.1f} {init / base[2]:7.2f}")


if __name__ == "__main__":
    main()
