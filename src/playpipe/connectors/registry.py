"""Which class implements each connector type: built-ins by import string, others by plugin.

Built-in modules are imported only when a connector of their type runs, so a missing heavy
client (psycopg, pyarrow) only matters to whoever uses it — and then the error prints the
exact ``pip install`` line. Third-party connectors register a class under the entry-point
group ``playpipe.connectors`` and are configured with ``type = "plugin"``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import msgspec

from playpipe.connectors.settings import ConnectorConfig, ConnectorSettings, PluginSettings
from playpipe.errors import ConfigError

if TYPE_CHECKING:
    from playpipe.config import Config
    from playpipe.connectors.base import Connector

BUILTIN: dict[str, str] = {
    "webhook": "playpipe.connectors.webhook:WebhookConnector",
    "postgres": "playpipe.connectors.postgres:PostgresConnector",
    "parquet": "playpipe.connectors.parquet:ParquetConnector",
    "kafka": "playpipe.connectors.kafka_sink:KafkaConnector",
    "file": "playpipe.connectors.file:FileConnector",
    "datadog": "playpipe.connectors.datadog:DatadogConnector",
    "elasticsearch": "playpipe.connectors.elasticsearch:ElasticsearchConnector",
    "amplitude": "playpipe.connectors.amplitude:AmplitudeConnector",
}
ENTRY_POINT_GROUP = "playpipe.connectors"
EXTRAS: dict[str, str] = {
    "psycopg": "postgres",
    "psycopg_binary": "postgres",
    "pyarrow": "parquet",
    "fsspec": "s3",
    "s3fs": "s3",
}
"""Top-level module of a heavy client -> the optional extra that installs it."""


def _load(target: str, kind: str) -> type[Connector[Any]]:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        extra = EXTRAS.get(missing)
        if extra is None:
            raise
        raise ConfigError(
            f"The {kind} connector needs the Python package `{missing}`, which is not "
            f"installed. Install it with: pip install 'playpipe[{extra}]'"
        ) from None
    cls: type[Connector[Any]] = getattr(module, attribute)
    return cls


def plugins() -> dict[str, str]:
    """Installed third-party connectors: entry-point name -> import string."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def connector_class(settings: ConnectorConfig) -> type[Connector[Any]]:
    """The class that implements ``settings``' type (importing it now)."""
    if isinstance(settings, PluginSettings):
        found = plugins()
        if settings.plugin not in found:
            known = ", ".join(sorted(found)) or "none installed"
            raise ConfigError(
                f"Connector `{settings.name}`: no plugin `{settings.plugin}` in the entry-point "
                f"group `{ENTRY_POINT_GROUP}` (installed: {known}). Install the package that "
                f"provides it, or fix `connectors.{settings.name}.plugin`."
            )
        return _load(found[settings.plugin], settings.plugin)
    kind = str(type(settings).__struct_config__.tag)
    return _load(BUILTIN[kind], kind)


def plugin_settings(settings: PluginSettings, cls: type[Connector[Any]]) -> ConnectorSettings:
    """The plugin's own strict settings: the common keys plus ``options``."""
    common = msgspec.structs.asdict(settings)
    options = common.pop("options")
    common.pop("plugin")
    target = cls.settings_class
    data = {**msgspec.to_builtins(common), **options}
    tag = target.__struct_config__.tag
    if tag is not None:
        data[target.__struct_config__.tag_field or "type"] = tag
    try:
        return msgspec.convert(data, target, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(
            f"Connector `{settings.name}` (plugin {settings.plugin}): invalid "
            f"`connectors.{settings.name}.options`: {exc}."
        ) from None


def create(settings: ConnectorConfig, config: Config) -> Connector[Any]:
    """An instance of the connector configured by ``settings`` (not yet set up)."""
    cls = connector_class(settings)
    own: ConnectorSettings = settings
    if isinstance(settings, PluginSettings):
        own = plugin_settings(settings, cls)
    return cls(own, config)
