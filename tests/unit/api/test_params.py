"""Query-parameter parsing: values, and 400s that name the parameter."""

from __future__ import annotations

import pytest

from playpipe.api.params import (
    BadParameter,
    check_known,
    parse_choice,
    parse_filter,
    parse_int,
    parse_list,
    parse_time,
)

NOW = 1_767_268_800_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, 5),
        ("", 5),
        ("now", NOW),
        ("1700000000000", 1_700_000_000_000),
        ("-5m", NOW - 300_000),
        ("-24h", NOW - 86_400_000),
        ("-30s", NOW - 30_000),
        ("-7d", NOW - 7 * 86_400_000),
        ("2026-01-01T12:00:00Z", NOW),
        ("2026-01-01T13:00:00+01:00", NOW),
    ],
)
def test_times(text: str | None, expected: int) -> None:
    assert parse_time(text, "from", NOW, 5) == expected


@pytest.mark.parametrize("text", ["yesterday", "-5x", "2026-01-01T12:00:00", "5m"])
def test_bad_times_name_the_parameter(text: str) -> None:
    with pytest.raises(BadParameter) as err:
        parse_time(text, "to", NOW, 0)
    assert err.value.parameter == "to"
    assert "`to`" in err.value.message


def test_filter_pairs_and_repeats() -> None:
    parsed = parse_filter("cdn:akamai, country:FR,cdn:fastly", {"cdn", "country"})
    assert parsed == {"cdn": ["akamai", "fastly"], "country": ["FR"]}
    assert parse_filter(None, {"cdn"}) == {}
    assert parse_filter("isp:a:b", {"isp"}) == {"isp": ["a:b"]}


@pytest.mark.parametrize("text", ["cdn", "cdn:", ":x", "planet:mars"])
def test_bad_filters(text: str) -> None:
    with pytest.raises(BadParameter) as err:
        parse_filter(text, {"cdn", "country"})
    assert err.value.parameter == "filter"
    assert err.value.allowed == ["cdn", "country"]


def test_lists_choices_ints() -> None:
    assert parse_list("a,b,a", "name", {"a", "b"}) == ["a", "b"]
    with pytest.raises(BadParameter) as err:
        parse_list("a,c", "name", {"a", "b"})
    assert (err.value.parameter, err.value.allowed) == ("name", ["a", "b"])
    assert parse_choice(None, "shape", {"x"}, "x") == "x"
    with pytest.raises(BadParameter) as err:
        parse_choice("y", "shape", {"x"}, "x")
    assert err.value.body()["allowed"] == ["x"]
    assert parse_int("7", "limit", 1, 10, 3) == 7
    for bad in ("0", "11", "many"):
        with pytest.raises(BadParameter, match="from 1 to 10"):
            parse_int(bad, "limit", 1, 10, 3)


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(BadParameter) as err:
        check_known({"windw": "10s"}, ("window", "from"))
    assert err.value.parameter == "windw"
    assert err.value.allowed == ["from", "window"]
