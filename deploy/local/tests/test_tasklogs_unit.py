"""ferry_emulation.tasklogs, the pure parts: awslogs destinations, what a
shell script prints, and the lines of a container over time."""

from __future__ import annotations

import pytest

from ferry_emulation import tasklogs
from ferry_emulation.tasklogs import Run, script_output


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
