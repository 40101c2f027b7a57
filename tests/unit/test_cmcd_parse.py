"""The CMCD report parser: every Structured Field type, every spec key's type, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playpipe.sources.cmcd_parse import (
    KEYS,
    CmcdError,
    InnerList,
    Item,
    Token,
    from_json,
    parse_report,
    typed_report,
)

# What dash.js 5.2.1 and hls.js 1.7.4 sent to the collector in the browser test (recorded).
DASHJS = (
    'bl=(2000;v),br=(300;v),cid="cmcd-test",e=ps,msd=1406,mtp=(25400),pb=(300;v),pr=1,'
    'sf=d,sid="19579f75-05c6-4cae-8456-a0ee26b1f591",sn=5,st=v,sta=p,tb=(600;v),'
    "ts=1795668871567,v=2"
)
HLSJS = (
    'bl=(4100),br=(660),cid="cmcd-test",e=rr,mtp=(31200),ot=v,rc=200,sf=h,'
    'sid="e4a4e88f-be65-4d2a-9fd3-ccc45c1a7516",sn=9,st=v,sta=p,ts=1795668725100,ttfb=3,'
    'ttlb=9,url="http://127.0.0.1:40000/media/ok/hls/v1/seg2.ts",v=2'
)


def test_every_bare_item_type() -> None:
    members = parse_report('i=42,n=-7,d=1.25,s="a \\"q\\" \\\\ b",t=ps,b=?0,y=?1,bare,x=:aGk=:')
    values = {k: m.value for k, m in members.items() if isinstance(m, Item)}
    assert values == {
        "i": 42,
        "n": -7,
        "d": 1.25,
        "s": 'a "q" \\ b',
        "t": "ps",
        "b": False,
        "y": True,
        "bare": True,
        "x": b"hi",
    }
    assert isinstance(values["t"], Token) and not isinstance(values["s"], Token)


def test_inner_lists_with_parameters() -> None:
    members = parse_report('br=(3000;v 128;a),nor=("../s2.m4s";r="100-200"),e=(),z=(1 2);p=?1')
    br = members["br"]
    assert isinstance(br, InnerList)
    assert [(i.value, i.params) for i in br.items] == [(3000, {"v": True}), (128, {"a": True})]
    nor = members["nor"]
    assert isinstance(nor, InnerList) and nor.items[0].params == {"r": "100-200"}
    assert isinstance(members["e"], InnerList) and members["e"].items == []
    assert isinstance(members["z"], InnerList) and members["z"].params == {"p": True}


def test_item_parameters_and_repeated_keys() -> None:
    members = parse_report("a=1;x=2;y,a=3 , b=4")
    assert members["a"] == Item(3) and members["b"] == Item(4)
    assert parse_report("c=5;q=tok")["c"] == Item(5, {"q": Token("tok")})


def test_real_player_reports_are_typed() -> None:
    dash = typed_report(parse_report(DASHJS))
    assert dash.values["sta"] == "p" and dash.values["sn"] == 5 and dash.values["pr"] == 1
    assert dash.values["br"] == [(300, {"v": True})]
    assert dash.values["msd"] == 1406 and not dash.unknown
    hls = typed_report(parse_report(HLSJS))
    assert hls.values["e"] == "rr" and hls.values["ttlb"] == 9 and hls.values["ot"] == "v"


def test_v1_scalars_accepted_for_list_keys_and_unknown_keys_kept() -> None:
    report = typed_report(parse_report('br=3200,nor="next.m4s",com.example-abc="x",zz=(1 2)'))
    assert report.values["br"] == [(3200, {})] and report.values["nor"] == [("next.m4s", {})]
    assert report.unknown == {"com.example-abc": "x", "zz": [1, 2]}


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("", "$", "empty report"),
        ("sid=", "sid", "expected a value"),
        ('sid="abc', "sid", "not closed"),
        ('sid="a\\nb"', "sid", "may be escaped"),
        ("Sid=1", "$", "expected a key"),
        ("a=1 b=2", "a", "expected ','"),
        ("a=1,", "$", "trailing"),
        ("br=(1 2", "br", "not closed"),
        ("br=(1,2)", "br", "separated by spaces"),
        ("a=1234567890123456", "a", "15 digits"),
        ("a=1.2345", "a", "3 fraction"),
        ("a=1.", "a", "fraction"),
        ("b=?2", "b", "?0 or ?1"),
        ("x=:not base64!:", "x", "not closed"),
        ('s="caf\u00e9"', "s", "printable ASCII"),
    ],
)
def test_syntax_errors_name_the_key_and_the_problem(text: str, key: str, words: str) -> None:
    with pytest.raises(CmcdError) as caught:
        parse_report(text)
    assert caught.value.key == key
    assert words in caught.value.reason


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("sn=ps", "sn must be a number, got token ps"),
        ('sn="3"', "sn must be a number"),
        ("sn=-1", "must not be negative"),
        ("bs=1", "bs must be a boolean"),
        ('e="ps"', "e must be a token"),
        ("sid=abc", 'sid must be a "string"'),
        ("ts=(1 2)", "ts must be a single value"),
        ("ec=(E1 E2)", "ec items must be"),
        ("br=(a)", "br must be a number"),
        (f'sid="{"x" * 65}"', "longer than 64"),
    ],
)
def test_spec_keys_have_their_types(text: str, words: str) -> None:
    with pytest.raises(CmcdError) as caught:
        typed_report(parse_report(text))
    assert words in caught.value.reason


def test_every_spec_key_accepts_a_value_of_its_type() -> None:
    sample = {
        "int": "7",
        "num": "1.5",
        "bool": "?1",
        "str": '"x"',
        "token": "v",
        "int_list": "(1;v 2;a)",
        "str_list": '("a" "b")',
    }
    text = ",".join(f"{key}={sample[kind]}" for key, kind in KEYS.items())
    report = typed_report(parse_report(text))
    assert set(report.values) == set(KEYS) and not report.unknown


def test_json_reports() -> None:
    report = typed_report(
        from_json(
            {
                "e": "ps",
                "sta": "p",
                "sid": "s",
                "sn": 1,
                "ts": 5,
                "br": [{"value": 300, "params": {"v": True}}, 64],
                "com.example-k": "v",
                "bl": None,
            }
        )
    )
    assert report.values["e"] == "ps" and report.values["br"] == [(300, {"v": True}), (64, {})]
    assert report.unknown == {"com.example-k": "v"} and "bl" not in report.values
    for bad in ([1], {"a": {"x": 1}}, {"Bad": 1}, {"a": [[1]]}):
        with pytest.raises(CmcdError):
            typed_report(from_json(bad))


def test_hostile_sizes_are_refused() -> None:
    with pytest.raises(CmcdError, match="longer than"):
        parse_report("a=" + "1" * 20_000)
    with pytest.raises(CmcdError, match="more than 256 keys"):
        parse_report(",".join(f"k{i}=1" for i in range(300)))
    with pytest.raises(CmcdError, match="longer than 64 items"):
        parse_report("br=(" + " ".join(["1"] * 100) + ")")


@given(st.text(max_size=200))
def test_any_text_is_parsed_or_refused_with_a_reason(text: str) -> None:
    try:
        typed_report(parse_report(text))
    except CmcdError as exc:
        assert exc.reason
