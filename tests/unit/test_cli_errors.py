"""Bad input to the real ``playpipe`` command ends in one paragraph, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYPIPE_")}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "playpipe", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_clear_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ")
    for needle in needles:
        assert needle in result.stderr


def test_unknown_config_key(tmp_path: Path) -> None:
    (tmp_path / "playpipe.toml").write_text('[kafka]\nbootstrap = "x"\n')
    result = run("topics", "apply", cwd=tmp_path)
    assert_clear_error(result, "kafka.bootstrap", "playpipe.toml", "bootstrap_servers")


def test_wrong_type(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('[topics]\npartitions = "many"\n')
    result = run("--config", str(config), "topics", "apply")
    assert_clear_error(result, "topics.partitions", "other.toml", "Expected `int`")


def test_wrong_type_from_environment() -> None:
    result = run("topics", "apply", env={"PLAYPIPE_KAFKA_TIMEOUT_S": "soon"})
    assert_clear_error(result, "kafka.timeout_s", "PLAYPIPE_KAFKA_TIMEOUT_S")


@pytest.mark.timeout(60)
def test_unreachable_bootstrap_server() -> None:
    result = run(
        "topics",
        "apply",
        "--bootstrap-servers",
        "127.0.0.1:1",
        env={"PLAYPIPE_KAFKA_TIMEOUT_S": "3"},
    )
    assert_clear_error(result, "Cannot reach Kafka at 127.0.0.1:1", "playpipe kafka start")


def test_help_teaches() -> None:
    result = run("kafka", "start", "--help")
    assert result.returncode == 0
    assert (
        "--nodes" in result.stdout
        and "--port-base" in result.stdout
        and "--data-dir" in result.stdout
    )


@pytest.mark.parametrize(
    ("command", "what"), [(("collect", "--open"), "collector"), (("api",), "query API")]
)
def test_a_taken_port_is_named(command: tuple[str, ...], what: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(*command, "--port", str(port), cwd=tmp_path)
    assert_clear_error(result, what, f"127.0.0.1:{port}", "--port")
