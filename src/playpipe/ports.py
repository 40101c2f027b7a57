"""Refuse to start a server on a port another process holds, in one clear sentence."""

from __future__ import annotations

import errno
import socket

from playpipe.errors import ConfigError


def ensure_free(host: str, port: int, what: str, option: str) -> None:
    """Raise ``ConfigError`` naming ``what`` and the setting to change when host:port is taken.

    A probe bind (with ``SO_REUSEADDR``, as servers bind) that is closed at once: a port left
    in TIME_WAIT by a previous run counts as free, one with a listener does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"The {what} cannot listen on {host}:{port}: another process already "
                    f"does. Stop it, or choose another port with {option}."
                ) from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ConfigError(
                    f"The {what} cannot listen on {host}:{port}: this machine has no such "
                    f"address. Choose another host with {option}."
                ) from None
            raise
