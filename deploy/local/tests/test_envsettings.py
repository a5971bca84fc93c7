"""ferry_emulation.envsettings: every emulator setting is parsed by these."""

from __future__ import annotations

import pytest

from ferry_emulation import envsettings

NAME = "FERRY_EMULATOR_TEST_SETTING"


@pytest.mark.parametrize("env,expected", [
    ({}, 7.0), ({NAME: ""}, 7.0), ({NAME: "  "}, 7.0),
    ({NAME: "0"}, 0.0), ({NAME: " 2.5 "}, 2.5), ({NAME: "1e-3"}, 0.001),
])
def test_seconds(env, expected):
    assert envsettings.seconds(env, NAME, 7.0) == expected


@pytest.mark.parametrize("raw", ["-1", "soon", "nan", "inf", "-inf", "30s"])
def test_seconds_refuses_what_it_cannot_use(raw):
    with pytest.raises(ValueError) as raised:
        envsettings.seconds({NAME: raw}, NAME, 7.0)
    assert str(raised.value) == f"{NAME} must be a number of seconds >= 0, got {raw!r}"


def test_seconds_without_zero():
    assert envsettings.seconds({NAME: "0.1"}, NAME, 1.0, allow_zero=False) == 0.1
    assert envsettings.seconds({}, NAME, 1.0, allow_zero=False) == 1.0
    with pytest.raises(ValueError) as raised:
        envsettings.seconds({NAME: "0"}, NAME, 1.0, allow_zero=False)
    assert str(raised.value) == f"{NAME} must be a number of seconds > 0, got '0'"


def test_number():
    assert envsettings.number({NAME: "0"}, NAME, 0.5, allow_zero=True) == 0.0
    assert envsettings.number({}, NAME, 0.5, allow_zero=False) == 0.5
    with pytest.raises(ValueError, match=f"^{NAME} must be a number > 0, got '0'$"):
        envsettings.number({NAME: "0"}, NAME, 0.5, allow_zero=False)
    with pytest.raises(ValueError, match=f"^{NAME} must be a number >= 0, got 'x'$"):
        envsettings.number({NAME: "x"}, NAME, 0.5, allow_zero=True)
    with pytest.raises(ValueError, match=f"^{NAME} must be a positive number, got 'inf'$"):
        envsettings.number({NAME: "inf"}, NAME, 0.5, allow_zero=False,
                           requirement="a positive number")


def test_whole_number():
    assert envsettings.whole_number({}, NAME, 100) == 100
    assert envsettings.whole_number({NAME: " 7 "}, NAME, 100) == 7
    assert envsettings.whole_number({NAME: "0"}, NAME, 100) == 0
    assert envsettings.whole_number({NAME: "10"}, NAME, 5, low=1, high=10) == 10
    for raw in ("-1", "1.5", "lots"):
        with pytest.raises(ValueError) as raised:
            envsettings.whole_number({NAME: raw}, NAME, 100)
        assert str(raised.value) == f"{NAME} must be a whole number >= 0, got {raw!r}"
    for raw in ("0", "11", "x"):
        with pytest.raises(ValueError) as raised:
            envsettings.whole_number({NAME: raw}, NAME, 5, low=1, high=10)
        assert str(raised.value) == f"{NAME} must be a whole number from 1 to 10, got {raw!r}"
