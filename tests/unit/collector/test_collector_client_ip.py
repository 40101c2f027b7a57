"""Client address: truncation for privacy and X-Forwarded-For from trusted proxies only."""

from __future__ import annotations

import pytest

from playpipe.collector.enrich import client_ip, parse_networks, truncate_ip
from playpipe.errors import ConfigError


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("8.8.8.8", "8.8.8.0"),
        (" 10.1.2.255 ", "10.1.2.0"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::"),
        ("2001:0db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),  # IPv4-mapped, as dual-stack sockets report it
        ("fe80::1:2:3:4%eth0", "fe80::"),
        ("", ""),
        ("garbage", ""),
        ("300.1.1.1", ""),
        ("203.0.113.77:8080", ""),
    ],
)
def test_truncate_ip_defaults(ip: str, expected: str) -> None:
    assert truncate_ip(ip) == expected


def test_truncate_ip_prefixes_are_configurable() -> None:
    assert truncate_ip("203.0.113.77", v4_prefix=16) == "203.0.0.0"
    assert truncate_ip("203.0.113.77", v4_prefix=32) == "203.0.113.77"
    assert truncate_ip("203.0.113.77", v4_prefix=0) == "0.0.0.0"
    assert truncate_ip("2001:db8:abcd:12::1", v6_prefix=64) == "2001:db8:abcd:12::"
    assert truncate_ip("2001:db8:abcd:12::1", v6_prefix=128) == "2001:db8:abcd:12::1"
    assert truncate_ip("203.0.113.77", v4_prefix=20) == "203.0.112.0"


def test_truncate_ip_refuses_impossible_prefixes() -> None:
    with pytest.raises(ValueError):
        truncate_ip("203.0.113.77", v4_prefix=33)
    with pytest.raises(ValueError):
        truncate_ip("::1", v6_prefix=129)


TRUSTED = parse_networks(["10.0.0.0/8", "fd00::/8", "192.0.2.10"])


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        # no proxy: the peer is the client, whatever the header says
        ("198.51.100.7", None, "198.51.100.7"),
        ("198.51.100.7", "1.2.3.4", "198.51.100.7"),
        # a trusted proxy: the rightmost untrusted entry is the client
        ("10.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # 6.6.6.6 is client-forged
        ("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.2.3.4", "198.51.100.7"),  # two proxies
        ("192.0.2.10", "198.51.100.7,10.9.9.9", "198.51.100.7"),
        ("fd00::1", "2001:db8::5, fd00::2", "2001:db8::5"),
        ("::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7"),
        # every hop trusted: the leftmost is the best we know
        ("10.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2"),
        # empty header from a proxy: the proxy itself
        ("10.0.0.1", "", "10.0.0.1"),
        # garbage stops the walk at the last believed hop
        ("10.0.0.1", "198.51.100.7, unknown", "10.0.0.1"),
        ("10.0.0.1", "198.51.100.7, nonsense, 10.0.0.2", "10.0.0.2"),
        # ports and brackets some proxies add
        ("10.0.0.1", "198.51.100.7:51234", "198.51.100.7"),
        ("10.0.0.1", '"[2001:db8::5]:443"', "2001:db8::5"),
        # the peer itself cannot be parsed
        ("", "198.51.100.7", ""),
        ("unix:/run/socket", None, ""),
    ],
)
def test_client_ip(peer: str, xff: str | None, expected: str) -> None:
    assert client_ip(peer, xff, TRUSTED) == expected


def test_without_trusted_proxies_xff_is_never_used() -> None:
    assert client_ip("10.0.0.1", "198.51.100.7", ()) == "10.0.0.1"


def test_parse_networks_names_the_setting_and_the_value() -> None:
    with pytest.raises(ConfigError) as err:
        parse_networks(["10.0.0.0/8", "10.0.0.0/33"], "collector.enrich.trusted_proxies")
    assert "collector.enrich.trusted_proxies" in str(err.value)
    assert "10.0.0.0/33" in str(err.value)


def test_parse_networks_accepts_hosts_and_loose_cidr() -> None:
    networks = parse_networks(["127.0.0.1", "10.1.2.3/8", "::1"])
    assert [str(n) for n in networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
