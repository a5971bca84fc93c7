#!/usr/bin/env python3
"""Write .ferry/local.env from bootstrap's exports, defaults and the caller's FERRY_*.

    localenv.py --bootstrap-env PATH --out PATH [--default K=V]... [--set K=V]...

Precedence, lowest first:
  1. the ``export K=V`` lines bootstrap.py wrote;
  2. --default values (FERRY_TABLE=ferry, FERRY_RESYNC_INTERVAL=30s);
  3. every FERRY_* variable in this process's environment (the caller of
     deploy/local/up: its values win);
  4. --set values, derived by up itself (FERRY_ADMIN_URL).

The file starts by unsetting AWS settings that must not mix with the local
test credentials (a profile, a real session token), then has one
``export K=V`` line per variable, shell-quoted only when needed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

UNSET = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]
FIXED = {"AWS_EC2_METADATA_DISABLED": "true"}


def parse_exports(text: str) -> dict[str, str]:
    """The variables of ``export K=V`` lines (other lines are ignored)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("export "):
            continue
        key, sep, raw = line[len("export "):].partition("=")
        if not sep:
            continue
        words = shlex.split(raw)
        values[key] = words[0] if words else ""
    return values


def pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"localenv: expected K=V, got {item!r}")
        out[key] = value
    return out


def compose(bootstrap: dict[str, str], defaults: dict[str, str], environ: dict[str, str],
            forced: dict[str, str]) -> dict[str, str]:
    values = dict(bootstrap)
    values.update(FIXED)
    values.update(defaults)
    values.update({k: v for k, v in sorted(environ.items()) if k.startswith("FERRY_")})
    values.update(forced)
    return values


def render(values: dict[str, str]) -> str:
    lines = ["# Written by deploy/local/up. Use: source .ferry/local.env",
             "unset " + " ".join(UNSET)]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap-env", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--default", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args(argv)
    with open(args.bootstrap_env) as f:
        bootstrap = parse_exports(f.read())
    values = compose(bootstrap, pairs(args.default), dict(os.environ), pairs(args.set))
    tmp = f"{args.out}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(render(values))
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
