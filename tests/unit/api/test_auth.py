"""Bearer tokens: loopback detection, constant-time checks, property limits."""

from __future__ import annotations

import hashlib

import pytest

from playpipe.api.auth import ALL, Tokens
from playpipe.api.settings import ApiSettings, is_loopback
from playpipe.errors import ConfigError


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("api.example.com", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert ApiSettings(host=host).auth_required is not loopback


def test_loopback_without_tokens_reads_everything() -> None:
    tokens = Tokens({}, required=False)
    assert tokens.check(None) is ALL
    assert tokens.check("Bearer nope") is None  # a token sent is a token checked


def test_required_tokens() -> None:
    tokens = Tokens({"s3cret": ["*"], "partner": ["site-a", "site-b"]}, required=True)
    assert tokens.check(None) is None
    assert tokens.check("Bearer wrong") is None
    assert tokens.check("Basic s3cret") is None
    assert tokens.check("Bearer s3cret") is ALL
    partner = tokens.check("bearer partner")
    assert partner is not None and partner.properties == {"site-a", "site-b"}
    assert partner.allows("site-a") and not partner.allows("site-c")
    assert not partner.allows(None)


def test_digest_keys() -> None:
    digest = hashlib.sha256(b"hidden").hexdigest()
    tokens = Tokens({f"sha256:{digest}": ["site-a"]}, required=True)
    access = tokens.check("Bearer hidden")
    assert access is not None and access.properties == {"site-a"}
    with pytest.raises(ConfigError, match="64 hex"):
        Tokens({"sha256:abc": ["*"]}, required=True)


def test_refuses_to_serve_without_tokens_off_loopback() -> None:
    with pytest.raises(ConfigError, match=r"api\.tokens"):
        Tokens({}, required=True)
    with pytest.raises(ConfigError, match="lists no property"):
        Tokens({"t": []}, required=True)
