"""ferry_emulation.tasklogs, the pure parts: awslogs destinations, what a
shell script prints, and the lines of a container over time."""

from __future__ import annotations

import pytest

from ferry_emulation import tasklogs
from ferry_emulation.shell_output import script_output
from ferry_emulation.tasklogs import Run


def sh(script: str) -> list[str]:
    return script_output(["sh", "-c", script])


def test_echo_and_printf_print_their_text():
    assert sh("echo hello; printf \"a %s\\n\" b; exit 3") == ["hello", "a b"]


def test_quotes_and_backslashes_are_read_as_sh_reads_them():
    assert sh("echo 'single  spaced' \"double \\\"quoted\\\"\" back\\ slash") == [
        'single  spaced double "quoted" back slash']
    assert sh("echo \"x;y\" 'a#b' c#d") == ["x;y a#b c#d"]
    assert sh("echo \"\" end") == [" end"]


def test_comments_newlines_and_operators_separate_commands():
    assert sh("echo one # a comment; echo not run\necho two && echo three || echo four &") == [
        "one", "two", "three", "four"]


def test_printf_reuses_its_format_and_knows_escapes():
    assert sh("printf '%s=%d\\n' a 1 b 2") == ["a=1", "b=2"]
    assert sh("printf 'no newline'; printf ' %s\\n' joined") == ["no newline joined"]
    assert sh("printf '100%%\\tdone\\n'") == ["100%\tdone"]
    assert sh("printf '%x %s\\n' only") == ["%x only"]


def test_echo_dash_n_drops_the_newline():
    assert sh("echo -n a; echo b") == ["ab"]


def test_exit_ends_the_script():
    assert sh("echo before; exit 0; echo after") == ["before"]


def test_what_is_not_interpreted_prints_nothing():
    assert sh("echo piped | cat; echo redirected > /tmp/f; ls /; echo kept") == ["kept"]
    assert sh("echo $HOME") == ["$HOME"]  # no expansion
    assert sh("echo 'unterminated") == []  # sh refuses the script


def test_only_sh_dash_c_scripts_are_interpreted():
    assert script_output(["/bin/sh", "-c", "echo x"]) == ["x"]
    assert script_output(["bash", "-c", "echo x"]) == ["x"]
    assert script_output(["echo", "x"]) == []
    assert script_output(["python", "-c", "print(1)"]) == []
    assert script_output("sh -c 'echo x'") == []
    assert script_output(None) == []


def awslogs(**options):
    return {"logDriver": "awslogs", "options": options}


def test_destinations_are_awslogs_containers_with_group_and_prefix():
    definition = {"containerDefinitions": [
        {"name": "web", "logConfiguration": awslogs(**{
            "awslogs-group": "/ferry/local", "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "shop"})},
        {"name": "noprefix", "logConfiguration": awslogs(**{"awslogs-group": "/g"})},
        {"name": "other", "logConfiguration": {"logDriver": "json-file"}},
        {"name": "none"},
    ]}
    (web,) = tasklogs.destinations(definition)
    assert (web.container, web.group, web.region) == ("web", "/ferry/local", "us-east-1")
    # prefix-name/container-name/ecs-task-id
    assert web.stream("0123abcd") == "shop/web/0123abcd"
    assert tasklogs.destinations(None) == []


def test_a_one_off_container_prints_its_start_its_script_and_its_exit_in_order():
    run = Run(image="acme/job:1", command=["sh", "-c", "echo hi; exit 3"], started_at=100.0,
              stopped_at=101.0, exit_code=3)
    assert tasklogs.lines(run) == [
        (100000, "starting acme/job:1 sh -c 'echo hi; exit 3'"),
        (100001, "hi"),
        (101000, "exited with code 3")]
    assert tasklogs.due(run, 100.0005) == [(100000, "starting acme/job:1 sh -c 'echo hi; exit 3'")]
    assert [m for _, m in tasklogs.due(run, 100.5)] == [
        "starting acme/job:1 sh -c 'echo hi; exit 3'", "hi"]


def test_a_stopped_task_says_why_and_a_task_that_never_ran_prints_nothing():
    run = Run(image="acme/web:1", command=None, started_at=10.0, stopped_at=12.0,
              stop_code="UserInitiated", stopped_reason="ferry stop")
    assert tasklogs.lines(run) == [(10000, "starting acme/web:1"),
                                   (12000, "stopped: UserInitiated: ferry stop")]
    assert tasklogs.lines(Run(image="acme/web:fail", command=None, started_at=None,
                              stopped_at=5.0, stop_code="TaskFailedToStart")) == []


def test_lines_of_one_stream_are_strictly_ordered_even_when_stopped_at_once():
    run = Run(image="i", command=["sh", "-c", "echo a; echo b"], started_at=1.0, stopped_at=1.0,
              exit_code=0)
    stamps = [t for t, _ in tasklogs.lines(run)]
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize("raw,value", [("", 10000), ("3", 3), (" 10000 ", 10000)])
def test_page_size_setting(raw, value):
    assert tasklogs.page_size({tasklogs.PAGE_ENV: raw}) == value


@pytest.mark.parametrize("raw", ["0", "10001", "x", "1.5", "-1"])
def test_page_size_setting_refuses_what_it_cannot_use(raw):
    with pytest.raises(ValueError, match=tasklogs.PAGE_ENV):
        tasklogs.page_size({tasklogs.PAGE_ENV: raw})


# -- the ingestion delay ----------------------------------------------------------------

from ferry_emulation.tasklogs import Ingestion, ingestion, readable  # noqa: E402

LAG = Ingestion(1.5, 0.5)


def test_each_line_lags_between_delay_minus_and_plus_jitter_and_always_the_same():
    lags = [LAG.lag(f"task/job#{i}") for i in range(500)]
    assert all(1.0 <= lag < 2.0 for lag in lags)
    assert min(lags) < 1.1 and max(lags) > 1.9  # the whole range is used
    assert lags == [LAG.lag(f"task/job#{i}") for i in range(500)]
    assert LAG.longest == 2.0


def test_a_line_is_readable_only_after_its_lag_and_then_stays_readable():
    run = Run("acme/job:1", ["sh", "-c", "echo a; echo b; echo c"], started_at=100.0)
    printed = tasklogs.lines(run)
    assert readable(run, 100.5, LAG, "t/job") == []  # printed, not yet readable
    seen: set[int] = set()
    for step in range(0, 40):
        now = 100.0 + step * 0.1
        got = readable(run, now, LAG, "t/job")
        indexes = {line.index for line in got}
        assert seen <= indexes  # never taken back
        seen = indexes
        for line in got:
            assert line.timestamp == printed[line.index][0]
            assert line.readable <= round(now * 1000)
            assert 1000 <= line.readable - line.timestamp < 2000
    assert seen == set(range(len(printed)))


def test_a_later_line_can_become_readable_before_an_earlier_one():
    # Within one stream and across streams: find such pairs among many lines.
    run = Run("acme/job:1", ["sh", "-c", "; ".join(f"echo {i}" for i in range(50))],
              started_at=100.0)
    lines = readable(run, 200.0, LAG, "t/job")
    assert any(b.readable < a.readable for a, b in zip(lines, lines[1:]))
    other = readable(run, 200.0, LAG, "u/job")
    assert [line.readable for line in lines] != [line.readable for line in other]


def test_no_delay_means_readable_when_printed():
    run = Run("acme/job:1", ["sh", "-c", "echo a"], started_at=100.0)
    assert [(line.timestamp, line.readable) for line in readable(run, 100.0, Ingestion(), "t")] == [
        (100000, 100000)]
    assert [(t, m) for t, m in tasklogs.due(run, 100.001)] == [
        (line.timestamp, line.message) for line in readable(run, 100.001, Ingestion(), "t")]


@pytest.mark.parametrize("env,expected", [
    ({}, Ingestion(1.5, 0.5)),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "3"}, Ingestion(3.0, 0.5)),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "0.2"}, Ingestion(0.2, 0.2)),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "2", "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS": "0"},
     Ingestion(2.0, 0.0)),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "0", "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS": "5"},
     Ingestion()),
])
def test_the_delay_settings(env, expected):
    assert ingestion(env) == expected


@pytest.mark.parametrize("env,variable", [
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "-1"}, "FERRY_EMULATOR_LOG_DELAY_SECONDS"),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "soon"}, "FERRY_EMULATOR_LOG_DELAY_SECONDS"),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "inf"}, "FERRY_EMULATOR_LOG_DELAY_SECONDS"),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "nan"}, "FERRY_EMULATOR_LOG_DELAY_SECONDS"),
    ({"FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS": "x"}, "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS"),
    ({"FERRY_EMULATOR_LOG_DELAY_SECONDS": "1", "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS": "1.5"},
     "FERRY_EMULATOR_LOG_DELAY_JITTER_SECONDS"),
])
def test_unusable_delay_settings_are_refused(env, variable):
    with pytest.raises(ValueError, match=variable):
        ingestion(env)
