"""The filter language: parsing, evaluation, and errors that point at the position."""

from __future__ import annotations

import pytest

from playpipe.connectors.filter import FilterError, compile_filter, tokenize
from playpipe.connectors.paths import event_tree

EVENT = {
    "event_type": "error",
    "seq": 7,
    "player": {"name": "hls.js", "version": "1.5.13"},
    "error": {"code": "4", "severity": "fatal"},
    "custom": {"experiment": "b"},
    "fluxdata": {"bitrate_kbps": 2500.0},
}


def matches(expression: str, record: dict = EVENT) -> bool:
    return compile_filter(expression, event_tree())(record)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            'event_type in ["error", "view_end"] and player.name == "hls.js" and not exists(ad)',
            True,
        ),
        ('event_type in ["error", "view_end"] and exists(ad)', False),
        ('event_type not in ["error"]', False),
        ("seq >= 7 and seq < 8", True),
        ("seq > 7 or seq <= 6", False),
        ("fluxdata.bitrate_kbps > 2000.5", True),
        ('error.severity == "fatal" and not error.business', True),
        ("(seq == 1 or seq == 7) and event_type != 'playing'", True),
        ("not (seq == 7)", False),
        ('custom.experiment == "b"', True),
        ("content.title == null", True),
        ("exists(content.title)", False),
        ('seq > "a"', False),  # a number and a string never compare
        ("viewer_id < 3", False),  # null is never ordered
        ("true", True),
        ("player", True),  # a bare path is its truthiness
        ("ad", False),
    ],
)
def test_evaluation(expression: str, expected: bool) -> None:
    assert matches(expression) is expected


def test_precedence_and_binds_tighter_than_or() -> None:
    assert matches('seq == 1 and event_type == "x" or seq == 7')
    assert not matches('seq == 1 and (event_type == "x" or seq == 7)')


def test_string_escapes_and_numbers() -> None:
    tokens = tokenize(r'"a\"b" 1.5e2 -3')
    assert [t.value for t in tokens[:3]] == ['a"b', 150.0, -3]


@pytest.mark.parametrize(
    ("expression", "position", "reason"),
    [
        ("event_type ==", 13, "expected a field, a value"),
        ("plyer.name == 1", 0, "did you mean `player`"),
        ('player.nme == "x"', 0, "did you mean `player.name`"),
        ("seq > 3 and", 11, "expected a field"),
        ("(seq > 1", 8, "expected `)`"),
        ("seq @ 2", 4, "unexpected character '@'"),
        ("seq in [1, 2", 12, "expected `]`"),
        ("seq in [a]", 8, "expected a string, number"),
        ("seq == 1 seq", 9, "unexpected `seq`"),
        ("", 0, "empty"),
        ("exists(1)", 7, "expected a field path"),
        ("player.name.first == 1", 0, "`player.name` has no fields"),
        ("seq not 3", 4, "unexpected `not`"),
    ],
)
def test_errors_name_the_position(expression: str, position: int, reason: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expression, event_tree())
    assert info.value.position == position
    assert reason in str(info.value)
    assert info.value.pointer().splitlines()[1] == " " * position + "^"


def test_paths_are_free_form_without_a_tree() -> None:
    predicate = compile_filter("dimensions.country == 'FR'")
    assert predicate({"dimensions": {"country": "FR"}})
    assert not predicate({})


def test_never_evaluates_python() -> None:
    with pytest.raises(FilterError):
        compile_filter("__import__('os').system('true')")
