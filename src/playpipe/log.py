"""One line of key=value facts per thing that happened.

log.info("spool.replayed", segments=3, events=1200)
-> 2026-01-01T12:00:00.000Z INFO collector spool.replayed segments=3 events=1200
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

_SECRET_HINTS = ("password", "secret", "token", "sasl.oauthbearer")


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def _facts(facts: dict[str, Any]) -> str:
    parts = []
    for key, value in facts.items():
        if any(hint in key.lower() for hint in _SECRET_HINTS):
            value = "***"
        parts.append(f"{key}={_quote(value)}")
    return " ".join(parts)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        head = f"{stamp}.{int(record.msecs):03d}Z {record.levelname} {record.name}"
        line = f"{head} {record.getMessage()}"
        facts = getattr(record, "facts", None)
        if facts:
            line += " " + _facts(facts)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line += " error=" + _quote(repr(exc))
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                code = tb.tb_frame.f_code
                line += f" where={_quote(f'{code.co_filename}:{tb.tb_lineno} in {code.co_name}')}"
        return line


class Logger:
    """A thin wrapper that turns keyword arguments into key=value facts."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, facts: dict[str, Any], exc: bool = False) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={"facts": facts}, exc_info=exc)

    def debug(self, event: str, **facts: Any) -> None:
        self._log(logging.DEBUG, event, facts)

    def info(self, event: str, **facts: Any) -> None:
        self._log(logging.INFO, event, facts)

    def warning(self, event: str, **facts: Any) -> None:
        self._log(logging.WARNING, event, facts)

    def error(self, event: str, exc: bool = False, **facts: Any) -> None:
        self._log(logging.ERROR, event, facts, exc)


def get_logger(component: str) -> Logger:
    """The logger of one component (``collector``, ``kafka``, ...)."""
    return Logger(component)


def configure(level: str | None = None) -> None:
    """Send logs to stderr, one line each; level from the argument or PLAYPIPE_LOG_LEVEL."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("PLAYPIPE_LOG_LEVEL") or "INFO").upper())
    # Libraries that log every request at INFO would drown the one line per thing we write.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
