#!/usr/bin/env python3
"""Ferry's local AWS: moto's server app, in-process, behind the emulation layer.

    emulator.py [--host 127.0.0.1] [--port 0] [--port-file PATH] [--request-log PATH]

Binds loopback only. With --port 0 the kernel picks a free port; once the
socket listens, the port is written to --port-file (atomically: temp file
then rename, so a reader never sees a partial number) and
"listening on http://HOST:PORT" is printed. Serves until SIGTERM or SIGINT,
then exits 0.

The emulation layer reads its settings from this process's environment
when it starts (the caller's environment, passed through unchanged):
FERRY_EMULATOR_ELB_RULE_QUOTA, FERRY_EMULATOR_TASK_START_SECONDS,
FERRY_EMULATOR_TASK_RUN_SECONDS, FERRY_EMULATOR_TASK_DRAIN_SECONDS and
FERRY_EMULATOR_HEALTH_TIME_SCALE and FERRY_EMULATOR_SCHEDULE_TIME_SCALE
(see deploy/local/README.md). A value it
cannot use stops the emulator at once with status 2 and a one-line cause.
FERRY_EMULATOR_THROTTLING (on by default) throttles ECS, ELBv2 and Route53
requests by AWS's documented token buckets; off, 0 or false turn it off.
FERRY_EMULATOR_FAULT_ERRORS, FERRY_EMULATOR_FAULT_RESETS,
FERRY_EMULATOR_FAULT_RESETS_AFTER, FERRY_EMULATOR_FAULT_LATENCY and
FERRY_EMULATOR_FAULT_SEED inject HTTP 500s, connection resets and latency
per service (off by default; ferry_emulation/faults.py). Connection resets
need the server's request handler to close sockets with an RST, which is
why it is wrapped in faults.resetting.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# moto reads these lazily from the environment. No default AMIs: loading
# them makes the first EC2 call slow and Ferry never launches instances.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
# moto builds boto3 sessions internally; a developer's AWS profile (perhaps
# one that does not exist here) would make every request fail with a 500.
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_var, None)


def loopback_host(host: str) -> str:
    """The host if it is a loopback address, else raise ValueError."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"--host must be a loopback IP address, got {host!r}") from None
    if not ip.is_loopback:
        raise ValueError(f"refusing to bind non-loopback address {host}")
    return host


def write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# The moto backends Ferry and bootstrap.py call. Building one's Flask app
# takes up to a few seconds on first use (ECS alone about two).
WARM_SERVICES = ["ecs", "ec2", "elbv2", "route53", "dynamodb", "iam", "logs", "scheduler",
                 "applicationautoscaling"]


def make_app(request_log_path: str | None):
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    import ferry_emulation

    moto_app = DomainDispatcherApplication(create_backend_app)
    log_stream = open(request_log_path, "a", buffering=1) if request_log_path else None
    return ferry_emulation.build(moto_app, log_stream), moto_app


def warm(dispatcher) -> None:
    """Build moto's per-service apps ahead of the first requests.

    Runs in a background thread once the socket listens, so startup is not
    delayed; it takes the dispatcher's own lock, so a request that arrives
    meanwhile simply waits for the app it needs, as it would have anyway.
    """
    for service in WARM_SERVICES:
        with dispatcher.lock:
            if service not in dispatcher.app_instances:
                dispatcher.app_instances[service] = dispatcher.create_app(service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--request-log")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr too")
    parser.add_argument("--no-warm", action="store_true",
                        help="do not build moto's service apps ahead of the first requests")
    args = parser.parse_args(argv)

    try:
        host = loopback_host(args.host)
    except ValueError as e:
        print(f"emulator: {e}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"emulator: invalid port {args.port}", file=sys.stderr)
        return 2

    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    try:
        app, dispatcher = make_app(args.request_log)
    except ValueError as e:  # a FERRY_EMULATOR_* setting the layer cannot use
        print(f"emulator: {e}", file=sys.stderr)
        return 2
    from ferry_emulation.faults import resetting

    try:
        server = make_server(host, args.port, app, threaded=True,
                             request_handler=resetting(MotoRequestHandler))
    except OSError as e:
        print(f"emulator: cannot listen on {host}:{args.port}: {e}", file=sys.stderr)
        return 1
    port = server.socket.getsockname()[1]
    # moto builds some URLs pointing back at itself from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="emulator", daemon=True)
    thread.start()
    if not args.no_warm:
        threading.Thread(target=warm, args=(dispatcher,), name="warm", daemon=True).start()

    if args.port_file:
        write_atomically(args.port_file, f"{port}\n")
    url_host = f"[{host}]" if ":" in host else host
    print(f"listening on http://{url_host}:{port}", flush=True)

    while not stop.wait(0.2):
        if not thread.is_alive():
            print("emulator: server thread died", file=sys.stderr)
            return 1
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: with moto's backends loaded it takes about a
    # second, and every line of output and of the request log is already
    # flushed.
    os._exit(code)
