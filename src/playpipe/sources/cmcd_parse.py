"""Parse one CMCD report (CTA-5004-B) into typed values.

A report is a Structured Field dictionary (RFC 8941 / RFC 9651): ``key=value`` members
separated by commas, where a value is an Integer (``42``), a Decimal (``1.25``), a String
(``"abc"``, only ``\\"`` and ``\\\\`` escaped), a Token (``ps``), a Boolean (``?1``, ``?0``; a
bare key is ``true``), a Byte Sequence (``:aGk=:``) or an Inner List (``(3000;v 128;a)``)
of such items, each item with optional Parameters (``;name=value``, bare name = ``true``).

:func:`parse_report` reads the syntax; :func:`typed_report` then checks every key the spec
defines against its type (``KEYS``) and keeps unknown keys as they came. JSON-encoded reports
(an object with the same keys) go through :func:`from_json`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "KEYS",
    "CmcdError",
    "InnerList",
    "Item",
    "Token",
    "from_json",
    "parse_report",
    "typed_report",
]

MAX_REPORT_CHARS: Final = 16_384
MAX_MEMBERS: Final = 256
MAX_LIST_ITEMS: Final = 64


class CmcdError(ValueError):
    """A report cannot be read; ``key`` names the member at fault ("$" for the whole)."""

    def __init__(self, reason: str, key: str = "$") -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key


class Token(str):
    """A Structured Field Token (``ps``, ``v``), told apart from a String."""

    __slots__ = ()


BareItem: TypeAlias = int | float | str | bool | bytes


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: dict[str, BareItem] = field(default_factory=dict)


@dataclass(frozen=True)
class InnerList:
    items: list[Item]
    params: dict[str, BareItem] = field(default_factory=dict)


Member: TypeAlias = Item | InnerList

# --- syntax ---------------------------------------------------------------------------------

_KEY_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz*")
_KEY_CHARS = _KEY_FIRST | frozenset("0123456789_-.")
_TOKEN_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*")
_TCHAR = _TOKEN_FIRST | frozenset("0123456789!#$%&'+-.^_`|~:/")
_DIGITS = frozenset("0123456789")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class _Reader:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.key = "$"

    def fail(self, what: str) -> CmcdError:
        got = repr(self.s[self.i]) if self.i < len(self.s) else "the end of the report"
        return CmcdError(f"{what} at character {self.i + 1}, found {got}", self.key)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.i += 1

    def skip_ows(self) -> None:
        while self.peek() and self.peek() in " \t":
            self.i += 1

    def key_(self) -> str:
        start = self.i
        if self.peek() not in _KEY_FIRST or not self.peek():
            raise self.fail("expected a key (lower-case letter or *)")
        self.i += 1
        while self.peek() and self.peek() in _KEY_CHARS:
            self.i += 1
        return self.s[start : self.i]

    def bare_item(self) -> BareItem:
        c = self.peek()
        if c == "-" or (c and c in _DIGITS):
            return self.number()
        if c == '"':
            return self.string()
        if c == "?":
            return self.boolean()
        if c == ":":
            return self.byte_sequence()
        if c and c in _TOKEN_FIRST:
            return self.token()
        raise self.fail('expected a value (number, "string", token, ?1/?0 or :bytes:)')

    def number(self) -> int | float:
        start = self.i
        if self.peek() == "-":
            self.i += 1
        digits_start = self.i
        while self.peek() and self.peek() in _DIGITS:
            self.i += 1
        whole = self.i - digits_start
        if whole == 0:
            raise self.fail("expected a digit")
        if self.peek() != ".":
            if whole > 15:
                raise CmcdError("integer longer than 15 digits", self.key)
            return int(self.s[start : self.i])
        if whole > 12:
            raise CmcdError("decimal with more than 12 integer digits", self.key)
        self.i += 1
        frac_start = self.i
        while self.peek() and self.peek() in _DIGITS:
            self.i += 1
        frac = self.i - frac_start
        if frac == 0:
            raise self.fail("decimal without fraction digits")
        if frac > 3:
            raise CmcdError("decimal with more than 3 fraction digits", self.key)
        return float(self.s[start : self.i])

    def string(self) -> str:
        self.i += 1
        out: list[str] = []
        while True:
            c = self.peek()
            if not c:
                raise CmcdError('string not closed (missing ")', self.key)
            self.i += 1
            if c == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\") or not nxt:
                    raise self.fail('only \\" and \\\\ may be escaped in a string')
                out.append(nxt)
                self.i += 1
            elif c == '"':
                return "".join(out)
            elif not " " <= c <= "~":
                self.i -= 1
                raise self.fail("strings hold printable ASCII only")
            else:
                out.append(c)

    def token(self) -> Token:
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _TCHAR:
            self.i += 1
        return Token(self.s[start : self.i])

    def boolean(self) -> bool:
        self.i += 1
        c = self.peek()
        if c not in ("0", "1") or not c:
            raise self.fail("a boolean is ?0 or ?1")
        self.i += 1
        return c == "1"

    def byte_sequence(self) -> bytes:
        self.i += 1
        start = self.i
        while self.peek() and self.peek() in _B64:
            self.i += 1
        if self.peek() != ":":
            raise self.fail("byte sequence not closed with ':'")
        data = self.s[start : self.i]
        self.i += 1
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
        except ValueError:
            raise CmcdError("byte sequence is not base64", self.key) from None

    def params(self) -> dict[str, BareItem]:
        out: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.i += 1
            self.skip_spaces()
            name = self.key_()
            value: BareItem = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            out[name] = value
        return out

    def item(self) -> Item:
        value = self.bare_item()
        return Item(value, self.params())

    def inner_list(self) -> InnerList:
        self.i += 1
        items: list[Item] = []
        while True:
            self.skip_spaces()
            if self.peek() == ")":
                self.i += 1
                return InnerList(items, self.params())
            if not self.peek():
                raise CmcdError("inner list not closed (missing ')')", self.key)
            items.append(self.item())
            if len(items) > MAX_LIST_ITEMS:
                raise CmcdError(f"inner list longer than {MAX_LIST_ITEMS} items", self.key)
            if not self.peek():
                raise CmcdError("inner list not closed (missing ')')", self.key)
            if self.peek() not in (" ", ")"):
                raise self.fail("inner list items are separated by spaces")


def parse_report(text: str) -> dict[str, Member]:
    """The members of one report, in order; the last of a repeated key wins (RFC 8941)."""
    if len(text) > MAX_REPORT_CHARS:
        raise CmcdError(f"report longer than {MAX_REPORT_CHARS} characters")
    reader = _Reader(text.strip(" \t\r"))
    out: dict[str, Member] = {}
    if not reader.s:
        raise CmcdError("empty report")
    while True:
        reader.key = "$"
        key = reader.key_()
        reader.key = key
        member: Member
        if reader.peek() == "=":
            reader.i += 1
            member = reader.inner_list() if reader.peek() == "(" else reader.item()
        else:
            member = Item(True, reader.params())
        out.pop(key, None)
        out[key] = member
        if len(out) > MAX_MEMBERS:
            raise CmcdError(f"more than {MAX_MEMBERS} keys")
        reader.skip_ows()
        if not reader.peek():
            return out
        if reader.peek() != ",":
            raise reader.fail("expected ',' between keys")
        reader.i += 1
        reader.skip_ows()
        if not reader.peek():
            raise CmcdError("trailing ',' at the end of the report")


# --- types of the spec's keys ----------------------------------------------------------------

Kind = Literal["int", "num", "bool", "str", "token", "int_list", "str_list"]

KEYS: Final[dict[str, Kind]] = {
    # request / common keys
    "ab": "int_list",
    "bg": "bool",
    "bl": "int_list",
    "br": "int_list",
    "bs": "bool",
    "bsa": "int_list",
    "bsd": "int_list",
    "bsda": "int_list",
    "cdn": "str",
    "cid": "str",
    "cs": "str",
    "d": "int",
    "dfa": "int",
    "dl": "int",
    "ec": "str_list",
    "lab": "int_list",
    "lb": "int_list",
    "ltc": "int",
    "msd": "int",
    "mtp": "int_list",
    "nor": "str_list",
    "nrr": "str",
    "nr": "bool",
    "ot": "token",
    "pb": "int_list",
    "pr": "num",
    "pt": "int",
    "rtp": "int",
    "sf": "token",
    "sid": "str",
    "sn": "int",
    "st": "token",
    "sta": "token",
    "su": "bool",
    "tab": "int_list",
    "tb": "int_list",
    "tbl": "int_list",
    "tpb": "int_list",
    "v": "int",
    # event mode
    "e": "token",
    "ts": "int",
    "cen": "str",
    "h": "str",
    # response received
    "url": "str",
    "rc": "int",
    "ttfb": "int",
    "ttfbb": "int",
    "ttlb": "int",
    "cmsdd": "str",
    "cmsds": "str",
    "smrt": "str",
}
"""Every key of CTA-5004-B (and v1's ``nrr``) with its type. Number lists also accept a
single number (CMCD v1 sends ``br=3200``), string lists a single string."""

MAX_CHARS: Final[dict[str, int]] = {"sid": 64, "cid": 128, "cdn": 128, "h": 128, "cen": 64}

ListEntry: TypeAlias = tuple[Any, dict[str, BareItem]]


@dataclass
class Report:
    """A typed report: spec keys checked and converted; unknown keys kept as parsed."""

    values: dict[str, Any]
    """Scalars as Python values; lists as ``[(value, params), …]``."""
    unknown: dict[str, Any]
    """Keys the spec does not define (custom ``com.example-key`` ones, vendor extras)."""

    def first(self, key: str) -> Any:
        """The value of a scalar key, or the first value of a list key (None if absent)."""
        value = self.values.get(key)
        if isinstance(value, list):
            return value[0][0] if value else None
        return value


def _number(key: str, value: object, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CmcdError(f"{key} must be a number, got {_show(value)}", key)
    if integer:
        if value < 0 and key not in ("ltc",):
            raise CmcdError(f"{key} must not be negative, got {value}", key)
        return round(value)
    return value


def _show(value: object) -> str:
    if isinstance(value, Token):
        return f"token {value}"
    if isinstance(value, bool):
        return "?1" if value else "?0"
    return repr(value)


def _scalar(key: str, kind: Kind, member: Member) -> Any:
    if isinstance(member, InnerList):
        raise CmcdError(f"{key} must be a single value, not a list", key)
    value = member.value
    if kind in ("int", "num"):
        return _number(key, value, kind == "int")
    if kind == "bool":
        if not isinstance(value, bool):
            raise CmcdError(f"{key} must be a boolean (bare key or ?0/?1), got {_show(value)}", key)
        return value
    if kind == "token":
        if not isinstance(value, Token):
            raise CmcdError(f"{key} must be a token, got {_show(value)}", key)
        return str(value)
    if not isinstance(value, str) or isinstance(value, Token):
        raise CmcdError(f'{key} must be a "string", got {_show(value)}', key)
    limit = MAX_CHARS.get(key)
    if limit is not None and len(value) > limit:
        raise CmcdError(f"{key} is longer than {limit} characters", key)
    return value


def _list(key: str, kind: Kind, member: Member) -> list[ListEntry]:
    items = member.items if isinstance(member, InnerList) else [member]
    out: list[ListEntry] = []
    for item in items:
        if kind == "int_list":
            out.append((_number(key, item.value, True), item.params))
        else:
            if not isinstance(item.value, str) or isinstance(item.value, Token):
                raise CmcdError(f'{key} items must be "strings", got {_show(item.value)}', key)
            out.append((item.value, item.params))
    return out


def _plain(member: Member) -> Any:
    if isinstance(member, InnerList):
        return [_bare(i.value) for i in member.items]
    return _bare(member.value)


def _bare(value: BareItem) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value) if isinstance(value, Token) else value


def typed_report(members: dict[str, Member]) -> Report:
    """Check and convert the spec's keys; keep the others."""
    values: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, member in members.items():
        kind = KEYS.get(key)
        if kind is None:
            unknown[key] = _plain(member)
        elif kind in ("int_list", "str_list"):
            values[key] = _list(key, kind, member)
        else:
            values[key] = _scalar(key, kind, member)
    return Report(values, unknown)


# --- JSON-encoded reports --------------------------------------------------------------------

_TOKEN_KEYS = frozenset(k for k, kind in KEYS.items() if kind == "token")


def _json_item(key: str, value: object) -> Item:
    if isinstance(value, dict):
        params = value.get("params", {})
        if "value" not in value or not isinstance(params, dict):
            raise CmcdError(f'{key}: a list item object needs "value" (and "params")', key)
        item = _json_item(key, value["value"])
        return Item(item.value, {str(k): _json_bare(key, v) for k, v in params.items()})
    return Item(_json_bare(key, value))


def _json_bare(key: str, value: object) -> BareItem:
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return Token(value) if key in _TOKEN_KEYS else value
    raise CmcdError(f"{key}: unsupported JSON value {value!r}", key)


def from_json(obj: object) -> dict[str, Member]:
    """Members of a JSON-encoded report: an object of keys; lists are inner lists."""
    if not isinstance(obj, dict):
        raise CmcdError("a JSON report must be an object of CMCD keys")
    if len(obj) > MAX_MEMBERS:
        raise CmcdError(f"more than {MAX_MEMBERS} keys")
    out: dict[str, Member] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not key or key[0] not in _KEY_FIRST:
            raise CmcdError(f"{key!r} is not a CMCD key")
        if value is None:
            continue
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise CmcdError(f"inner list longer than {MAX_LIST_ITEMS} items", key)
            out[key] = InnerList([_json_item(key, v) for v in value])
        else:
            out[key] = _json_item(key, value)
    return out
