"""One typed configuration tree, read from ``playpipe.toml`` and ``PLAYPIPE_…`` variables.

Where settings come from, last one wins:

1. the defaults below (they run everything on one machine with no editing);
2. the file given by ``--config``, else ``$PLAYPIPE_CONFIG``, else ``./playpipe.toml`` if present;
3. environment variables: ``PLAYPIPE_<SECTION>_<KEY>``, e.g. ``PLAYPIPE_KAFKA_BOOTSTRAP_SERVERS``.
   Keys of free-form client tables (``kafka.client``) take underscores for dots:
   ``PLAYPIPE_KAFKA_CLIENT_SASL_PASSWORD`` sets ``kafka.client."sasl.password"``.

Unknown keys are rejected with the key, where it was read and the keys that exist there.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import msgspec

from playpipe.api.settings import ApiSettings
from playpipe.collector.settings import CollectorSettings
from playpipe.connectors.settings import ConnectorConfig
from playpipe.errors import ConfigError
from playpipe.streams.aggsettings import AggregationSettings

ENV_PREFIX = "PLAYPIPE_"
# Variables that steer playpipe itself rather than set a key of the tree.
RESERVED_ENV = ("PLAYPIPE_CONFIG", "PLAYPIPE_LOG_LEVEL", "PLAYPIPE_TEST_")
DEFAULT_FILE = "playpipe.toml"

Positive = Annotated[int, msgspec.Meta(ge=1)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every section: strict, keyword-only."""


class KafkaSettings(_Section):
    """How every component reaches Kafka."""

    bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated host:port list; defaults to the local runtime's first node."""
    client: dict[str, str] = {}
    """Extra librdkafka settings for every client (``security.protocol``, ``sasl.*``, ``ssl.*``)."""
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    """How long admin requests and start-up checks wait for the cluster."""


class TopicOverride(_Section):
    """Per-topic settings that differ from the ``[topics]`` defaults."""

    partitions: Positive | None = None
    replication_factor: Positive | None = None
    retention_ms: Annotated[int, msgspec.Meta(ge=-1)] | None = None
    config: dict[str, str] = {}
    """Any other topic-level config, e.g. ``{"max.message.bytes" = "2097152"}``."""


class TopicsSettings(_Section):
    """Names and shape of playpipe's topics."""

    prefix: str = "playpipe"
    partitions: Positive = 6
    replication_factor: Positive | None = None
    """None: min(3, brokers in the cluster). A number larger than the cluster is refused."""
    overrides: dict[str, TopicOverride] = {}
    """Keyed by the short name, e.g. ``[topics.overrides."beacons.raw"]``."""


class LocalKafkaSettings(_Section):
    """The local Apache Kafka runtime started by ``playpipe kafka start`` and ``playpipe up``."""

    data_dir: str = ".playpipe/kafka"
    nodes: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    port_base: Port = 9092
    heap_mb: Annotated[int, msgspec.Meta(ge=128, le=4096)] = 512
    jar_dir: str = ""
    """Where Maven copies the Kafka jars; empty: ``$XDG_CACHE_HOME/playpipe/kafka-<version>``."""


StreamsSettings = AggregationSettings
"""``[streams]``: sessionization and windows (see ``playpipe.streams.aggsettings``)."""


class Config(_Section):
    """The whole tree, one section per component."""

    kafka: KafkaSettings = msgspec.field(default_factory=KafkaSettings)
    topics: TopicsSettings = msgspec.field(default_factory=TopicsSettings)
    local: LocalKafkaSettings = msgspec.field(default_factory=LocalKafkaSettings)
    streams: StreamsSettings = msgspec.field(default_factory=StreamsSettings)
    collector: CollectorSettings = msgspec.field(default_factory=CollectorSettings)
    api: ApiSettings = msgspec.field(default_factory=ApiSettings)
    connectors: list[ConnectorConfig] = msgspec.field(default_factory=list)


@dataclass
class _Origins:
    """Where each dotted key was read, so errors can point at it."""

    by_key: dict[str, str] = field(default_factory=dict)

    def of(self, dotted: str) -> str:
        best = ""
        for key in self.by_key:
            if (dotted == key or dotted.startswith(key + ".")) and len(key) > len(best):
                best = key
        return self.by_key.get(best, "the defaults")


def _struct_fields(tp: Any) -> dict[str, Any] | None:
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        hints = get_type_hints(tp)
        return {name: hints[name] for name in tp.__struct_fields__}
    return None


def _dict_value_type(tp: Any) -> Any | None:
    args = get_args(tp)
    if get_origin(tp) is dict and len(args) == 2:
        return args[1]
    return None


def _check_keys(data: Mapping[str, Any], tp: Any, path: str, origins: _Origins) -> None:
    """Reject unknown keys with where they came from and what exists there."""
    fields = _struct_fields(tp)
    if fields is None:
        inner = _dict_value_type(tp)
        if inner is not None and _struct_fields(inner) is not None:
            for key, value in data.items():
                if isinstance(value, Mapping):
                    _check_keys(value, inner, f"{path}.{key}", origins)
        return
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else key
        if key not in fields:
            known = ", ".join(sorted(fields))
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            where = f"[{path}]" if path else "the top level"
            raise ConfigError(
                f"Unknown configuration key `{dotted}` (read from {origins.of(dotted)}).{hint} "
                f"Keys allowed in {where}: {known}."
            )
        if isinstance(value, Mapping):
            _check_keys(value, fields[key], dotted, origins)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value


def _env_path(name: str) -> list[str]:
    """Split ``KAFKA_BOOTSTRAP_SERVERS`` into ``["kafka", "bootstrap_servers"]`` by the schema."""
    rest = name.lower()
    tp: Any = Config
    parts: list[str] = []
    while rest:
        fields = _struct_fields(tp)
        if fields is None:
            inner = _dict_value_type(tp)
            if inner is None:
                break
            if _struct_fields(inner) is None:
                # A free-form client table: underscores stand for librdkafka's dots.
                parts.append(rest.replace("_", "."))
                return parts
            key, _, rest = rest.partition("_")
            parts.append(key)
            tp = inner
            continue
        match = next(
            (
                f
                for f in sorted(fields, key=len, reverse=True)
                if rest == f or rest.startswith(f + "_")
            ),
            None,
        )
        if match is None:
            parts.append(rest)
            return parts
        parts.append(match)
        rest = rest[len(match) + 1 :]
        tp = fields[match]
    return parts


def _env_value(raw: str) -> Any:
    """Arrays and tables are written as TOML/JSON; everything else stays a string."""
    text = raw.strip()
    if text.startswith(("[", "{")):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    return raw


def _from_env(environ: Mapping[str, str], origins: _Origins) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name.startswith(RESERVED_ENV):
            continue
        parts = _env_path(name[len(ENV_PREFIX) :])
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _env_value(environ[name])
        origins.by_key[".".join(parts)] = f"the environment variable {name}"
    return tree


def config_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path | None:
    """The file to read: ``--config``, else ``$PLAYPIPE_CONFIG``, else ``./playpipe.toml``."""
    if explicit:
        return Path(explicit)
    if environ.get("PLAYPIPE_CONFIG"):
        return Path(environ["PLAYPIPE_CONFIG"])
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"The configuration file {path} does not exist. Check --config / PLAYPIPE_CONFIG, "
            "or run without it to use the defaults."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The configuration file {path} is not valid TOML: {exc}.") from None


def load(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, merge and validate the configuration; raise ``ConfigError`` naming the bad key."""
    env = os.environ if environ is None else environ
    origins = _Origins()
    data: dict[str, Any] = {}
    file = config_path(path, env)
    if file is not None:
        from_file = _read_file(file)
        origins.by_key.update({key: str(file) for key in from_file})
        _check_keys(from_file, Config, "", origins)
        _merge(data, from_file)
    from_env = _from_env(env, origins)
    _check_keys(from_env, Config, "", origins)
    _merge(data, from_env)
    try:
        return msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        dotted = message.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in message else ""
        problem = message.split(" - at ")[0]
        raise ConfigError(
            f"Invalid value for `{dotted or '?'}` (read from {origins.of(dotted)}): {problem}."
        ) from None


SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "dsn", "hmac")


def _mask(node: Any) -> Any:
    """A copy of ``node`` where every value under a key that names a secret is ``***``."""
    if isinstance(node, dict):
        return {
            key: "***"
            if any(word in str(key).lower() for word in SECRET_WORDS) and value not in ("", None)
            else _mask(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_mask(item) for item in node]
    return node


def dump(config: Config) -> dict[str, Any]:
    """The effective configuration as plain data, with secrets masked (anywhere in the tree)."""
    masked: dict[str, Any] = _mask(msgspec.to_builtins(config))
    return masked
