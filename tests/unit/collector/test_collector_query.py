"""The collector's query-string reader agrees with the standard library's."""

from urllib.parse import parse_qs

from hypothesis import given
from hypothesis import strategies as st

from playpipe.collector.http import parse_query


def test_plain_pairs() -> None:
    assert parse_query(b"key=acme&sent_at=17") == {"key": ["acme"], "sent_at": ["17"]}


def test_blank_values_and_repeats() -> None:
    assert parse_query(b"key=&a=1&a=2&&b") == {"a": ["1", "2"]}


def test_percent_and_plus_are_decoded() -> None:
    assert parse_query(b"key=ac%20me+x") == {"key": ["ac me x"]}


@given(st.text(alphabet="ab=&%+;20xyz", max_size=40))
def test_same_as_parse_qs(text: str) -> None:
    assert parse_query(text.encode("latin-1")) == parse_qs(text)
