"""A view's dimensions: taken from the first event that carries each (never overwritten).

Values are interned, so that views share one copy of each repeated string. Dimensions are
looked up by group (content, player, device, geo, network, property, viewer, custom); a bit of
``View.missing`` stays set while some value of its group is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from playpipe.streams.aggsettings import DIMENSIONS
from playpipe.streams.records import DimValue
from playpipe.streams.slim import AnyEvent

if TYPE_CHECKING:
    from playpipe.streams.viewstate import View

__all__ = ["ALL_MISSING", "fill_dims", "intern", "would_fill"]

_CONTENT, _PLAYER, _DEVICE, _GEO, _NETWORK, _PROPERTY, _VIEWER, _CUSTOM = (1 << i for i in range(8))
ALL_MISSING: Final = 0xFF
"""``View.missing`` of a view that knows no dimension yet."""
_INTERNED: dict[str, str] = {}


def intern(value: str | None) -> str | None:
    """One shared copy of a repeated dimension value (the table is reset when it grows big)."""
    if value is None:
        return None
    if len(_INTERNED) > 200_000:
        _INTERNED.clear()
    return _INTERNED.setdefault(value, value)


def fill_dims(v: View, e: AnyEvent, custom_keys: tuple[str, ...]) -> None:
    """Fill the view's still unknown dimensions from ``e`` (never overwrites a value)."""
    d = v.dims
    m = v.missing
    if m & _CONTENT and e.content is not None:
        c = e.content
        d[0] = d[0] if d[0] is not None else intern(c.id)
        d[1] = d[1] if d[1] is not None else c.stream_type
        m = _settle(m, _CONTENT, d, 0, 2)
    if m & _PLAYER and e.player is not None:
        p = e.player
        d[2] = d[2] if d[2] is not None else intern(p.name)
        d[3] = d[3] if d[3] is not None else intern(p.version)
        m = _settle(m, _PLAYER, d, 2, 4)
    if m & _DEVICE and e.device is not None:
        dv = e.device
        d[4] = d[4] if d[4] is not None else dv.type
        d[5] = d[5] if d[5] is not None else intern(dv.os)
        d[6] = d[6] if d[6] is not None else intern(dv.browser)
        m = _settle(m, _DEVICE, d, 4, 7)
    if m & (_GEO | _NETWORK | _PROPERTY | _VIEWER | _CUSTOM):
        m = _fill_rest(v, e, custom_keys, m)
    v.missing = m


_GROUPS: Final = (
    (_CONTENT, "content", ((0, "id"), (1, "stream_type"))),
    (_PLAYER, "player", ((2, "name"), (3, "version"))),
    (_DEVICE, "device", ((4, "type"), (5, "os"), (6, "browser"))),
    (_GEO, "geo", ((7, "country"), (8, "region"))),
    (_NETWORK, "network", ((9, "asn"), (10, "isp"), (11, "cdn"))),
)


def would_fill(v: View, e: AnyEvent, custom_keys: tuple[str, ...]) -> bool:
    """Whether ``e`` carries a value of a dimension the view does not know yet."""
    d = v.dims
    m = v.missing
    for bit, name, fields in _GROUPS:
        node = getattr(e, name) if m & bit else None
        if node is not None and any(
            d[i] is None and getattr(node, f) is not None for i, f in fields
        ):
            return True
    if (m & _PROPERTY and e.property is not None) or (m & _VIEWER and e.viewer_id is not None):
        return True
    if m & _CUSTOM and e.custom is not None:
        first = len(DIMENSIONS)
        return any(d[i] is None and k in e.custom for i, k in enumerate(custom_keys, first))
    return False


def _fill_rest(v: View, e: AnyEvent, custom_keys: tuple[str, ...], m: int) -> int:
    d = v.dims
    if m & _GEO and e.geo is not None:
        d[7] = d[7] if d[7] is not None else e.geo.country
        d[8] = d[8] if d[8] is not None else intern(e.geo.region)
        m = _settle(m, _GEO, d, 7, 9)
    if m & _NETWORK and e.network is not None:
        n = e.network
        d[9] = d[9] if d[9] is not None else n.asn
        d[10] = d[10] if d[10] is not None else intern(n.isp)
        d[11] = d[11] if d[11] is not None else intern(n.cdn)
        m = _settle(m, _NETWORK, d, 9, 12)
    if m & _PROPERTY and e.property is not None:
        d[12] = intern(e.property)
        m &= ~_PROPERTY
    if m & _VIEWER and e.viewer_id is not None:
        v.viewer_id = e.viewer_id
        m &= ~_VIEWER
    if m & _CUSTOM:
        if not custom_keys:
            return m & ~_CUSTOM
        if e.custom is not None:
            for i, key in enumerate(custom_keys, len(DIMENSIONS)):
                if d[i] is None:
                    value = e.custom.get(key)
                    d[i] = intern(value) if isinstance(value, str) else value
            m = _settle(m, _CUSTOM, d, len(DIMENSIONS), len(d))
    return m


def _settle(m: int, bit: int, d: list[DimValue | None], lo: int, hi: int) -> int:
    for i in range(lo, hi):
        if d[i] is None:
            return m
    return m & ~bit
