"""The standardizer: raw beacons → dictionary events, deduplicated and ordered per view.

For each message of ``<prefix>.beacons.raw`` it looks up the wire format named by the
``playpipe.format`` header (``native`` when absent), maps it to events, drops events whose
``event_id`` was already seen for that view (bounded memory per view and in total), orders
one round's events of a view by ``seq`` (in the places its events arrived at: views stay
interleaved as they arrived), and produces them to ``<prefix>.events`` keyed by ``view_id``.
A message that cannot be mapped goes to ``<prefix>.beacons.invalid`` with the reason, the
stage and where it came from.

Guarantee: at-least-once (see ``playpipe.streams.runner``). After a crash the replayed
messages may produce events again; the aggregator drops them by ``event_id``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from confluent_kafka import Consumer, Message

from playpipe import telemetry
from playpipe.config import Config
from playpipe.dictionary import Event, encode_event
from playpipe.kafka.topics import topic_name
from playpipe.sources import MappingError, SourceFormat, make_format
from playpipe.streams.runner import Output

STAGE = "standardizer"
FORMAT_HEADER = "playpipe.format"


class RecentIds:
    """Event ids seen per view: at most ``per_view`` per view and ``max_views`` views (LRU)."""

    def __init__(self, per_view: int = 1024, max_views: int = 200_000) -> None:
        self.per_view = per_view
        self.max_views = max_views
        self._views: OrderedDict[str, dict[str, None]] = OrderedDict()

    def seen(self, view_id: str, event_id: str) -> bool:
        """True if ``event_id`` was already seen for ``view_id``; remembers it otherwise."""
        ids = self._views.get(view_id)
        if ids is None:
            ids = self._views[view_id] = {}
            if len(self._views) > self.max_views:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(view_id)
        if event_id in ids:
            return True
        ids[event_id] = None
        if len(ids) > self.per_view:
            del ids[next(iter(ids))]
        return False

    def __len__(self) -> int:
        return len(self._views)


class Standardizer:
    """The stage: stateless but for the bounded dedupe memory."""

    name = STAGE

    def __init__(self, config: Config) -> None:
        self.events_topic = topic_name(config, "events")
        self.invalid_topic = topic_name(config, "beacons.invalid")
        self.raw_topic = topic_name(config, "beacons.raw")
        self.recent = RecentIds()
        self._formats: dict[str, SourceFormat] = {}
        self._offsets: dict[tuple[str, int], int] = {}
        self._duplicates = telemetry.discarded_events.labels("standardizer-duplicates")

    def process(self, messages: Sequence[Message]) -> list[Output]:
        accepted: list[Event] = []
        outputs: list[Output] = []
        for message in messages:
            self._offsets[(message.topic(), message.partition())] = message.offset() + 1
            try:
                events = self._map(message)
            except MappingError as exc:
                outputs.append(self._invalid(message, exc))
                continue
            for event in events:
                if self.recent.seen(event.view_id, event.event_id):
                    self._duplicates.inc()
                    continue
                accepted.append(event)
        outputs.extend(
            Output(self.events_topic, e.view_id.encode(), encode_event(e))
            for e in order_within_views(accepted)
        )
        return outputs

    def _map(self, message: Message) -> list[Event]:
        headers = dict(message.headers() or ())
        name = headers.get(FORMAT_HEADER, b"native").decode("utf-8", "replace")
        value = message.value()
        if value is None:
            raise MappingError("empty message")
        fmt = self._formats.get(name)
        if fmt is None:
            fmt = self._formats[name] = make_format(name)  # its per-view state is this stage's
        return fmt.map(value, headers)

    def _invalid(self, message: Message, exc: MappingError) -> Output:
        telemetry.invalid_events.labels(STAGE, "unmappable").inc()
        headers = [
            (k, v) for k, v in (message.headers() or ()) if not k.startswith("playpipe.reason")
        ]
        headers += [
            ("playpipe.reason", exc.reason.encode()),
            ("playpipe.field", exc.field.encode()),
            ("playpipe.stage", STAGE.encode()),
            ("playpipe.source_topic", message.topic().encode()),
            ("playpipe.source_partition", str(message.partition()).encode()),
            ("playpipe.source_offset", str(message.offset()).encode()),
        ]
        return Output(self.invalid_topic, message.key(), message.value(), headers)

    def tick(self, now_s: float) -> list[Output]:
        return []

    def safe_offsets(self) -> dict[tuple[str, int], int]:
        return dict(self._offsets)

    def assigned(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {}

    def revoked(self, partitions: list[tuple[str, int]]) -> None:
        for tp in partitions:
            self._offsets.pop(tp, None)

    def bind(self, consumer: Consumer) -> None:
        pass


def order_within_views(events: list[Event]) -> list[Event]:
    """``events`` in arrival order, each view's own events sorted by ``seq``.

    A view's events keep the places in the sequence its events arrived at; only their
    order among themselves changes. Views are never regrouped: grouping a round's events
    by view would, in a large round (a restarted standardizer catching up a backlog), put
    one view's events minutes of event time ahead of another's next ones, and the
    aggregator would take the jump in event time for silence of the views behind.
    """
    slots: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        slots.setdefault(event.view_id, []).append(i)
    ordered = list(events)
    for places in slots.values():
        if len(places) < 2:
            continue
        mine = sorted((events[i] for i in places), key=_seq)
        for i, event in zip(places, mine, strict=True):
            ordered[i] = event
    return ordered


def _seq(event: Event) -> int:
    return event.seq


def standardizer_group(config: Config) -> str:
    """The standardizer's consumer group (the aggregator reads its progress)."""
    return f"{config.topics.prefix}-standardizer"


def run_standardizer(config: Config, install_signals: bool = True) -> None:
    """Run the standardizer until SIGTERM/SIGINT."""
    from playpipe.streams.runner import StreamRunner

    stage = Standardizer(config)
    runner = StreamRunner(config, stage, standardizer_group(config), [stage.raw_topic])
    if install_signals:
        runner.install_signal_handlers()
    runner.run()
