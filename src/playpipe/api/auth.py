"""Bearer tokens: who may read which properties.

``api.tokens`` maps a token to the property keys it may read (``"*"``: all). Tokens are
compared as SHA-256 digests with :func:`hmac.compare_digest`, against every configured token
without stopping at the first match, so the time taken tells nothing about them; they are
never logged. A key written ``sha256:<hex>`` is the digest itself, so a configuration file
need not hold the token in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from playpipe.errors import ConfigError

__all__ = ["ALL", "Access", "Tokens"]


@dataclass(frozen=True, slots=True)
class Access:
    """What one request may read: every property (``properties is None``) or these."""

    properties: frozenset[str] | None = None

    @property
    def restricted(self) -> bool:
        """True when the request may read only some properties."""
        return self.properties is not None

    def allows(self, prop: str | None) -> bool:
        """Whether a record of property ``prop`` may be shown."""
        return self.properties is None or (prop is not None and prop in self.properties)


ALL = Access()


def _digest(key: str) -> bytes:
    if key.startswith("sha256:"):
        try:
            digest = bytes.fromhex(key[len("sha256:") :])
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ConfigError(
                "An `api.tokens` key starting with sha256: must be followed by 64 hex digits "
                "(the SHA-256 of the token, e.g. from `printf %s TOKEN | sha256sum`)."
            )
        return digest
    return hashlib.sha256(key.encode()).digest()


class Tokens:
    """Checks the ``Authorization: Bearer …`` header of a request."""

    def __init__(self, tokens: dict[str, list[str]], required: bool) -> None:
        self.required = required
        self._grants: list[tuple[bytes, Access]] = []
        for key, props in tokens.items():
            if not props:
                raise ConfigError(
                    "An `api.tokens` entry lists no property key: give the keys it may read, "
                    'or ["*"] for all.'
                )
            access = ALL if "*" in props else Access(frozenset(props))
            self._grants.append((_digest(key), access))
        if required and not self._grants:
            raise ConfigError(
                "The API listens on a non-loopback address (or `api.require_token` is set) "
                "but `api.tokens` is empty: add a token, e.g. "
                'PLAYPIPE_API_TOKENS=\'{"<long random token>" = ["*"]}\', '
                "or listen on 127.0.0.1."
            )

    def check(self, authorization: str | None) -> Access | None:
        """The access of a request, or None when it must be answered 401."""
        if not authorization:
            return None if self.required else ALL
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = hashlib.sha256(token.strip().encode()).digest()
        found: Access | None = None
        for digest, access in self._grants:
            if hmac.compare_digest(presented, digest) and found is None:
                found = access
        return found
