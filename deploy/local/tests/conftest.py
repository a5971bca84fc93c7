"""Fixtures: a private emulator per test module, on a free loopback port.

Each emulator is a subprocess started with --port 0 and a port file, and is
stopped by its process id (SIGTERM, then SIGKILL if it lingers).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent
LOCAL = HERE.parent
EMULATOR = LOCAL / "emulator.py"
BOOTSTRAP = LOCAL / "bootstrap.py"
REGION = "us-east-1"

sys.path.insert(0, str(LOCAL))

# Never let a developer's AWS profile or proxy settings leak into the tests.
for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "HTTP_PROXY",
            "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(var, None)
# Fault injection only where a test asks for it.
for var in [v for v in os.environ if v.startswith("FERRY_EMULATOR_FAULT_")]:
    os.environ.pop(var)
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@dataclass
class Emulator:
    proc: subprocess.Popen
    port: int
    request_log: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, **config):
        return boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION,
        ).client(service, endpoint_url=self.url,
                 config=Config(retries={"max_attempts": 1}, **config))

    def requests(self) -> list[dict]:
        with open(self.request_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM by pid; SIGKILL after ``timeout``. Returns the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        return self.proc.returncode


def start_emulator(directory: Path, startup_timeout: float = 30.0,
                   env: dict[str, str] | None = None) -> Emulator:
    """Start emulator.py; ``env`` adds variables to its environment."""
    port_file = directory / "port"
    request_log = directory / "requests.jsonl"
    stderr_path = directory / "emulator.stderr"
    stdout_path = directory / "emulator.stdout"
    with open(stderr_path, "w") as err, open(stdout_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EMULATOR), "--host", "127.0.0.1", "--port", "0",
             "--port-file", str(port_file), "--request-log", str(request_log)],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
    deadline = time.monotonic() + startup_timeout
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited {proc.returncode}: {stderr_path.read_text()}")
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"emulator did not start in {startup_timeout}s: {stderr_path.read_text()}")
        time.sleep(0.05)
    return Emulator(proc, int(port_file.read_text().strip()), request_log, stderr_path)


@pytest.fixture(scope="module")
def emulator_with(tmp_path_factory):
    """Starts the module's emulators: ``emulator_with(name, env)`` starts one in
    a fresh directory named after ``name``, with ``env`` added to its
    environment, and returns it; every one is stopped when the module ends."""
    started: list[Emulator] = []

    def start(name: str, env: dict[str, str] | None = None) -> Emulator:
        emu = start_emulator(tmp_path_factory.mktemp(name), env=env)
        started.append(emu)
        return emu

    try:
        yield start
    finally:
        for emu in reversed(started):
            emu.stop()


@pytest.fixture(scope="module")
def emulator(emulator_with):
    return emulator_with("emulator")


# For tests that burst far beyond AWS's request buckets on purpose, with
# clients that retry once at most: each module that uses it says why. Throttling
# itself is tested in test_throttling.py.
UNTHROTTLED = {"FERRY_EMULATOR_THROTTLING": "off"}


@pytest.fixture(scope="module")
def unthrottled_emulator(emulator_with):
    """A module emulator like ``emulator``, with throttling off."""
    return emulator_with("emulator", UNTHROTTLED)


def awsvpc_network(emu: Emulator, name: str, octet: int, **config: str) -> dict:
    """An ECS ``networkConfiguration`` for awsvpc tasks in a new VPC 10.OCTET.0.0/16:
    one subnet 10.OCTET.1.0/24 and a security group ``name``; ``config`` adds to
    ``awsvpcConfiguration`` (e.g. ``assignPublicIp="DISABLED"``)."""
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")["Vpc"]["VpcId"]
    # moto's RunTask needs DNS hostnames for awsvpc tasks (bootstrap.py turns them on).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{octet}.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], **config}}


@pytest.fixture
def fresh_emulator(tmp_path):
    """An emulator of the test's own, for tests that stop it themselves."""
    emu = start_emulator(tmp_path)
    try:
        yield emu
    finally:
        emu.stop()
