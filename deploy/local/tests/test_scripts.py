"""deploy/local/up, down and localenv.py, run in a sandbox copy of the repository.

up runs for real (install, emulator, bootstrap, local.env, process records),
with fakes from tests/fakes standing in for cargo and the Rust binaries, so
its logic is tested without building Ferry. The sandbox's .ferry/venv links
to the venv running these tests, which must be installed by
deploy/local/install (its stamp is what makes install a no-op).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import LOCAL

FAKES = LOCAL / "tests" / "fakes"
STAMP = Path(sys.prefix) / ".ferry-requirements.sha256"

sys.path.insert(0, str(LOCAL))
import localenv  # noqa: E402


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture
def sandbox(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(LOCAL, root / "deploy" / "local",
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    (root / "manifests").mkdir()
    (root / "manifests" / "web.yaml").write_text(
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  image: nginx\n")
    (root / "manifests" / "api.yml").write_text(
        "apiVersion: ferry/v1\nkind: App\nmetadata: {name: api}\nspec: {image: nginx}\n")
    (root / "manifests" / "Procfile").write_text("web: nginx\n")
    yield root
    # Whatever a test left running, stop it by its recorded pid.
    subprocess.run([str(root / "deploy/local/down")], capture_output=True, timeout=60)


def script_env(root: Path, **extra) -> dict[str, str]:
    # The sandbox's own target/ (the fakes): not a caller's CARGO_TARGET_DIR.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FERRY_") and k != "CARGO_TARGET_DIR"}
    env.update(PATH=f"{FAKES}:{env['PATH']}", FAKE_LOG=str(root / "fake.log"))
    env.update(extra)
    return env


def fake_calls(root: Path) -> list[dict]:
    path = root / "fake.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def records(root: Path) -> dict[str, int]:
    d = root / ".ferry" / "pids"
    return {p.name: int(p.read_text().split()[0]) for p in d.iterdir()} if d.exists() else {}


def leftovers(root: Path) -> list[str]:
    """Live processes started for this sandbox (their environment names its fake.log)."""
    marker = f"FAKE_LOG={root / 'fake.log'}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if alive(int(entry)):
            found.append(f"{entry}: {cmdline}")
    return found


def wait_for(predicate, timeout=60.0, what=""):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# -- localenv.py ---------------------------------------------------------------

def test_localenv_precedence():
    values = localenv.compose(
        bootstrap={"AWS_REGION": "us-east-1", "FERRY_CLUSTER": "ferry-local"},
        defaults={"FERRY_TABLE": "ferry", "FERRY_RESYNC_INTERVAL": "30s"},
        environ={"FERRY_TABLE": "mine", "FERRY_CLUSTER": "other", "FERRY_CONCURRENCY": "4",
                 "HOME": "/root", "FERRY_ADMIN_URL": "ignored"},
        forced={"FERRY_ADMIN_URL": "http://127.0.0.1:9"},
    )
    assert values["FERRY_TABLE"] == "mine"
    assert values["FERRY_CLUSTER"] == "other"
    assert values["FERRY_CONCURRENCY"] == "4"
    assert values["FERRY_RESYNC_INTERVAL"] == "30s"
    assert values["FERRY_ADMIN_URL"] == "http://127.0.0.1:9"
    assert "HOME" not in values


def test_localenv_drops_values_sourced_from_the_previous_file():
    # A shell that sourced the previous local.env still has its VPC id; a
    # value set on purpose (another one) still wins, and so do variables
    # bootstrap does not write.
    bootstrap = {"FERRY_VPC_ID": "vpc-new", "FERRY_SUBNETS": "subnet-new"}
    previous = {"FERRY_VPC_ID": "vpc-old", "FERRY_SUBNETS": "subnet-old", "FERRY_CONCURRENCY": "4"}
    values = localenv.compose(
        bootstrap, defaults={}, forced={},
        environ={"FERRY_VPC_ID": "vpc-old", "FERRY_SUBNETS": "subnet-mine", "FERRY_CONCURRENCY": "4"},
        previous=previous)
    assert values["FERRY_VPC_ID"] == "vpc-new"
    assert values["FERRY_SUBNETS"] == "subnet-mine"
    assert values["FERRY_CONCURRENCY"] == "4"


def test_localenv_puts_the_binaries_on_path_once(tmp_path):
    text = localenv.render({"FERRY_TABLE": "ferry"}, path_dir="/opt/my target/release")
    env_file = tmp_path / "local.env"
    env_file.write_text(text)
    out = subprocess.run(["bash", "-c", f'. "{env_file}"; . "{env_file}"; echo "$PATH"'],
                         env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "/opt/my target/release:/usr/bin:/bin"
    assert localenv.parse_exports(text) == {"FERRY_TABLE": "ferry"}


def test_localenv_appends_to_a_list(tmp_path):
    env_file = tmp_path / "local.env"
    env_file.write_text(localenv.render({"FERRY_ADMIN_URLS": "http://a", "FERRY_X": "it's"}, "/bin"))
    for url in ("http://b", "http://c", "http://b"):
        subprocess.run([sys.executable, str(LOCAL / "localenv.py"), "--out", str(env_file),
                        "--append", f"FERRY_ADMIN_URLS={url}"], check=True)
    text = env_file.read_text()
    assert localenv.parse_exports(text) == {"FERRY_ADMIN_URLS": "http://a,http://b,http://c",
                                            "FERRY_X": "it's"}
    assert text.splitlines()[-1].startswith("case ")


def test_localenv_round_trips_awkward_values():
    values = {"FERRY_A": "plain", "FERRY_B": "with space", "FERRY_C": "it's", "FERRY_D": ""}
    assert localenv.parse_exports(localenv.render(values)) == values


# -- down ------------------------------------------------------------------------

def test_down_with_nothing_running(sandbox):
    result = subprocess.run([str(sandbox / "deploy/local/down")], capture_output=True, text=True)
    assert result.returncode == 0
    assert "nothing is running" in result.stdout


def test_down_stops_exactly_the_recorded_pids(sandbox):
    pids_dir = sandbox / ".ferry" / "pids"
    recorded = subprocess.Popen(["sleep", "300"])
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        lib = sandbox / "deploy/local/lib.sh"
        subprocess.run(["bash", "-c", f'. "{lib}"; record_pid "{pids_dir}" controller {recorded.pid}'],
                       check=True)
        # A stale record: the bystander's pid with another start time (pid reuse).
        (pids_dir / "emulator").write_text(f"{bystander.pid} 1\n")
        result = subprocess.run([str(sandbox / "deploy/local/down")], capture_output=True, text=True,
                                timeout=30)
        assert result.returncode == 0, result.stderr
        assert f"stopped controller (pid {recorded.pid})" in result.stdout
        assert recorded.wait(timeout=5) == -signal.SIGTERM
        assert bystander.poll() is None, "down signalled a process it did not start"
        assert records(sandbox) == {}
    finally:
        for p in (recorded, bystander):
            if p.poll() is None:
                p.kill()
                p.wait()


# -- up ----------------------------------------------------------------------------

needs_installed_venv = pytest.mark.skipif(
    not STAMP.exists(), reason="run deploy/local/install first (the sandbox reuses its venv)")


def link_venv(root: Path) -> None:
    (root / ".ferry").mkdir(exist_ok=True)
    (root / ".ferry" / "venv").symlink_to(sys.prefix)


@needs_installed_venv
def test_up_detach_then_up_again_then_down(sandbox):
    link_venv(sandbox)
    up = [str(sandbox / "deploy/local/up"), "--detach"]
    env = script_env(sandbox, FERRY_TABLE="custom", FERRY_CONCURRENCY="7", AWS_PROFILE="no-such-profile",
                     FERRY_EMULATOR_TASK_START_SECONDS="0.25", FERRY_EMULATOR_TASK_RUN_SECONDS="2",
                     FERRY_EMULATOR_FAULT_LATENCY="ecs=1ms", FERRY_EMULATOR_FAULT_SEED="5")
    first = subprocess.run(up, cwd=sandbox, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    assert "source .ferry/local.env" in first.stdout
    running = records(sandbox)
    assert set(running) == {"emulator", "controller"} and all(alive(p) for p in running.values())

    # The emulator gets the caller's FERRY_EMULATOR_* settings (it reads them at start).
    with open(f"/proc/{running['emulator']}/environ", "rb") as f:
        emulator_env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    assert emulator_env[b"FERRY_EMULATOR_TASK_START_SECONDS"] == b"0.25"
    assert emulator_env[b"FERRY_EMULATOR_TASK_RUN_SECONDS"] == b"2"
    assert emulator_env[b"FERRY_EMULATOR_FAULT_LATENCY"] == b"ecs=1ms"
    assert "fault injection: latency ecs=1ms; seed 5" in (sandbox / ".ferry/emulator.log").read_text()

    local = localenv.parse_exports((sandbox / ".ferry/local.env").read_text())
    assert local["FERRY_ADMIN_URLS"] == local["FERRY_ADMIN_URL"]
    assert local["FERRY_TABLE"] == "custom"
    assert local["FERRY_CONCURRENCY"] == "7"
    assert local["FERRY_RESYNC_INTERVAL"] == "30s"
    assert local["FERRY_CLUSTER"] == "ferry-local"
    assert local["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert local["FERRY_ADMIN_URL"].startswith("http://127.0.0.1:")

    calls = fake_calls(sandbox)
    assert [c["argv"][0] for c in calls if c["cmd"] == "ferry"] == ["init", "apply", "get", "status", "status"]
    apply = next(c for c in calls if c["argv"][:1] == ["apply"])
    assert apply["argv"] == ["apply", "-f", "manifests/", "--wait", "--timeout", "300s", "-m", "deploy/local/up"]
    assert apply["cwd"] == str(sandbox)
    assert sorted(c["argv"][1] for c in calls if c["argv"][:1] == ["status"]) == ["api", "web"]
    (controller,) = [c for c in calls if c["cmd"] == "ferry-controller"]
    assert controller["pid"] == running["controller"]
    admin = local["FERRY_ADMIN_URL"].removeprefix("http://")
    assert controller["argv"] == ["--admin-addr", admin]
    for key, value in local.items():
        assert controller["env"].get(key) == value, key
    assert "AWS_PROFILE" not in controller["env"]

    # The emulator's request log is where tests count AWS calls.
    ops = {json.loads(line)["operation"] for line in (sandbox / ".ferry/requests.jsonl").read_text().splitlines()}
    assert {"CreateCluster", "CreateLoadBalancer", "CreateHostedZone"} <= ops

    # A second up stops the first environment, by its pids, before starting.
    second = subprocess.run(up + ["--no-apply"], cwd=sandbox, env=script_env(sandbox),
                            capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr
    assert "stopping the environment of an earlier up" in second.stderr
    assert not any(alive(p) for p in running.values())
    running2 = records(sandbox)
    assert all(alive(p) for p in running2.values())

    down = subprocess.run([str(sandbox / "deploy/local/down")], capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert not any(alive(p) for p in running2.values())
    assert records(sandbox) == {}


@needs_installed_venv
def test_up_fails_with_one_line_cause_and_stops_what_it_started(sandbox):
    link_venv(sandbox)
    result = subprocess.run([str(sandbox / "deploy/local/up"), "--detach"], cwd=sandbox,
                            env=script_env(sandbox, FAKE_CONTROLLER_EXIT="1"),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("up: ferry-controller exited")
    assert records(sandbox) == {}
    (line,) = [ln for ln in result.stderr.splitlines() if "emulator listening on" in ln]
    emulator_pid = int(line.rsplit("(pid ", 1)[1].rstrip(")"))
    assert not alive(emulator_pid)


@needs_installed_venv
def test_up_fails_when_the_emulator_refuses_a_setting(sandbox):
    link_venv(sandbox)
    result = subprocess.run([str(sandbox / "deploy/local/up"), "--detach"], cwd=sandbox,
                            env=script_env(sandbox, FERRY_EMULATOR_TASK_START_SECONDS="never"),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("up: the emulator exited at startup: emulator: FERRY_EMULATOR_TASK_START_SECONDS "
                    "must be a number of seconds > 0, got 'never'"), result.stderr
    assert records(sandbox) == {}


@needs_installed_venv
def test_up_in_the_foreground_stops_everything_on_ctrl_c(sandbox):
    link_venv(sandbox)
    log = sandbox / "up.out"
    env = script_env(sandbox)
    with open(log, "w") as out:
        # A terminal's Ctrl-C sends SIGINT to the whole foreground process group.
        up = subprocess.Popen([str(sandbox / "deploy/local/up"), "--no-apply"], cwd=sandbox,
                              env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(lambda: "Ctrl-C stops everything" in log.read_text() or up.poll() is not None,
                 120, "up to start")
        assert up.poll() is None, log.read_text()
        # A replica joins (as the README suggests); Ctrl-C must stop it too.
        replica = subprocess.run([str(sandbox / "deploy/local/replica")], cwd=sandbox, env=env,
                                 capture_output=True, text=True, timeout=90)
        assert replica.returncode == 0, replica.stderr
        running = records(sandbox)
        assert set(running) == {"emulator", "controller", "controller-2"}
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=60) == 0, log.read_text()
        # Each controller got SIGTERM only, from up, and handed its lease back
        # while the emulator still answered; the emulator went last.
        for name in ("controller", "controller-2"):
            controller_log = (sandbox / f".ferry/{name}.log").read_text()
            assert "shutdown requested (SIGTERM)" in controller_log, controller_log
            assert "SIGINT" not in controller_log, controller_log  # the terminal's Ctrl-C
            assert "lease handed back" in controller_log and "error" not in controller_log, controller_log
        output = log.read_text()
        assert output.index("stopped controller-2") < output.index("stopped controller (") \
            < output.index("stopped emulator"), output
        assert not any(alive(p) for p in running.values())
        assert records(sandbox) == {}
        assert leftovers(sandbox) == []
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


@needs_installed_venv
def test_replicas_join_local_env_and_down_stops_them(sandbox):
    link_venv(sandbox)
    env = script_env(sandbox)
    first = subprocess.run([str(sandbox / "deploy/local/up"), "--detach", "--no-apply"], cwd=sandbox,
                           env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    assert "More replicas: deploy/local/replica" in first.stdout
    env_file = sandbox / ".ferry/local.env"

    # After `source .ferry/local.env`, ferry and ferry-controller are on PATH.
    found = subprocess.run(["bash", "-c", f'. "{env_file}"; command -v ferry; command -v ferry-controller'],
                           env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert found.stdout.split() == [str(sandbox / "target/release/ferry"),
                                    str(sandbox / "target/release/ferry-controller")], found.stderr

    for n in (2, 3):
        replica = subprocess.run([str(sandbox / "deploy/local/replica"), "--", "--id", f"r{n}"],
                                 cwd=sandbox, env=env, capture_output=True, text=True, timeout=90)
        assert replica.returncode == 0, replica.stderr
        assert f"Replica controller-{n} is running" in replica.stdout
    running = records(sandbox)
    assert set(running) == {"emulator", "controller", "controller-2", "controller-3"}
    local = localenv.parse_exports(env_file.read_text())
    urls = local["FERRY_ADMIN_URLS"].split(",")
    assert len(set(urls)) == 3 and urls[0] == local["FERRY_ADMIN_URL"]
    controllers = [c for c in fake_calls(sandbox) if c["cmd"] == "ferry-controller"]
    assert [c["argv"] for c in controllers[1:]] == [
        ["--admin-addr", urls[1].removeprefix("http://"), "--id", "r2"],
        ["--admin-addr", urls[2].removeprefix("http://"), "--id", "r3"]]
    assert [c["pid"] for c in controllers] == [running[k] for k in ("controller", "controller-2", "controller-3")]

    down = subprocess.run([str(sandbox / "deploy/local/down")], capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    lines = down.stdout.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "down: stopped controller-3", "down: stopped controller-2", "down: stopped controller",
        "down: stopped emulator"]
    for name in ("controller", "controller-2", "controller-3"):
        assert "lease handed back" in (sandbox / f".ferry/{name}.log").read_text()
    assert records(sandbox) == {} and leftovers(sandbox) == []

    # Without a running environment, replica refuses.
    refused = subprocess.run([str(sandbox / "deploy/local/replica")], cwd=sandbox, env=env,
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "replica: the local environment is not running: start it with deploy/local/up --detach")
