"""Apply a request's enrichment to validated events (typed structs, no re-validation).

The same rules as :meth:`playpipe.collector.enrich.Enricher.apply`, on structs: the fast path
decodes a whole batch into typed events in one pass, so enrichment happens after validation.
"""

from __future__ import annotations

from collections.abc import Iterable

from playpipe.collector.enrich import BatchContext, batch_skew, skew_corrected, tolerated
from playpipe.dictionary import DeviceNode, Event, NetworkNode


def stamp_events(
    events: Iterable[Event],
    ctx: BatchContext,
    received_at: int,
    sent_at: int | None,
    max_skew_ms: int,
    skew_tolerance_ms: int,
    property_key: str | None,
) -> None:
    """Fill server time, corrected event time, device, geo, network and property in place."""
    skew = tolerated(batch_skew(sent_at, received_at, max_skew_ms), skew_tolerance_ms)
    for event in events:
        event.received_at = received_at
        event.event_ts, event.skew_flagged = skew_corrected(event.client_ts, skew, received_at)
        if property_key and event.property is None:
            event.property = property_key
        if ctx.device is not None:
            if event.device is None:
                # Shared, not copied: the events are encoded right after and never changed.
                event.device = ctx.device
            else:
                _fill_device(event.device, ctx)
        if ctx.geo is not None:
            event.geo = ctx.geo
        network = event.network
        if network is None:
            if ctx.network_fields:
                event.network = NetworkNode(**ctx.network_fields)
        else:
            network.ip = ctx.ip or None
            if ctx.asn is not None:
                network.asn = ctx.asn
            if ctx.isp is not None:
                network.isp = ctx.isp


def _fill_device(device: DeviceNode, ctx: BatchContext) -> None:
    # Fill a group (os + os_version, browser + version, ...) only if the client sent none of it.
    for keys, values in ctx.device_groups:
        for key in keys:
            if getattr(device, key) is not None:
                break
        else:
            for key, value in values.items():
                setattr(device, key, value)
