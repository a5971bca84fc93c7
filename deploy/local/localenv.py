#!/usr/bin/env python3
"""Write .ferry/local.env from bootstrap's exports, defaults and the caller's FERRY_*.

    localenv.py --bootstrap-env PATH --out PATH [--default K=V]... [--set K=V]...
                [--path-dir DIR]
    localenv.py --out PATH --append K=V

Precedence, lowest first:
  1. the ``export K=V`` lines bootstrap.py wrote;
  2. --default values (FERRY_TABLE=ferry, FERRY_RESYNC_INTERVAL=30s);
  3. every FERRY_* variable in this process's environment (the caller of
     deploy/local/up: its values win), except, for a variable bootstrap.py
     writes, a value equal to the one in the file being replaced: that
     comes from a shell that sourced the previous local.env, and names a
     resource of an emulator that is gone;
  4. --set values, derived by up itself (FERRY_ADMIN_URL, FERRY_ADMIN_URLS).

The file starts by unsetting AWS settings that must not mix with the local
test credentials (a profile, a real session token), then has one
``export K=V`` line per variable, shell-quoted only when needed. With
--path-dir, a last line prepends DIR (absolute; the directory of the
release binaries) to PATH, unless PATH already has it, so that ``ferry``
and ``ferry-controller`` are found after ``source .ferry/local.env``.

--append K=V adds V to the comma-separated list K of an existing file (or
adds K=V), leaving every other line as it is: deploy/local/replica adds
each replica's admin URL to FERRY_ADMIN_URLS.
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
            forced: dict[str, str], previous: dict[str, str] | None = None) -> dict[str, str]:
    previous = previous or {}

    def stale(key: str, value: str) -> bool:
        return key in bootstrap and previous.get(key) == value

    values = dict(bootstrap)
    values.update(FIXED)
    values.update(defaults)
    values.update({k: v for k, v in sorted(environ.items())
                   if k.startswith("FERRY_") and not stale(k, v)})
    values.update(forced)
    return values


def path_line(directory: str) -> str:
    """Shell that prepends ``directory`` to PATH unless PATH has it already."""
    q = shlex.quote(directory)
    return f'case ":$PATH:" in *:{q}:*) ;; *) export PATH={q}:"$PATH" ;; esac'


def render(values: dict[str, str], path_dir: str | None = None) -> str:
    lines = ["# Written by deploy/local/up. Use: source .ferry/local.env",
             "unset " + " ".join(UNSET)]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in values.items()]
    if path_dir:
        lines.append(path_line(path_dir))
    return "\n".join(lines) + "\n"


def append(text: str, key: str, value: str) -> str:
    """``text`` with ``value`` added to the comma-separated list ``key``."""
    lines = text.splitlines()
    prefix = f"export {key}="
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            words = shlex.split(line[len(prefix):])
            current = [item for item in (words[0] if words else "").split(",") if item]
            if value not in current:
                current.append(value)
            lines[i] = prefix + shlex.quote(",".join(current))
            break
    else:
        at = next((i for i, line in enumerate(lines) if line.startswith("case ")), len(lines))
        lines.insert(at, prefix + shlex.quote(value))
    return "\n".join(lines) + "\n"


def write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap-env")
    parser.add_argument("--out", required=True)
    parser.add_argument("--default", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--path-dir")
    parser.add_argument("--append")
    args = parser.parse_args(argv)
    if args.append:
        ((key, value),) = pairs([args.append]).items()
        with open(args.out) as f:
            text = f.read()
        write_atomically(args.out, append(text, key, value))
        return 0
    if not args.bootstrap_env:
        parser.error("--bootstrap-env is required (unless --append)")
    with open(args.bootstrap_env) as f:
        bootstrap = parse_exports(f.read())
    try:
        with open(args.out) as f:
            previous = parse_exports(f.read())
    except FileNotFoundError:
        previous = {}
    path_dir = os.path.abspath(args.path_dir) if args.path_dir else None
    values = compose(bootstrap, pairs(args.default), dict(os.environ), pairs(args.set), previous)
    write_atomically(args.out, render(values, path_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
