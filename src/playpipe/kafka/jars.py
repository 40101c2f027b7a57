"""The official Apache Kafka jars, resolved by Maven from Maven Central into a cache folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from playpipe.errors import LocalKafkaError

_MARKER = ".complete"


def pom_path() -> Path:
    """The ``pom.xml`` shipped with the package that pins the Kafka version."""
    return Path(str(resources.files("playpipe.kafka").joinpath("pom.xml")))


def kafka_version() -> str:
    """The pinned Apache Kafka version, read from the pom."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom_path().read_text())
    if match is None:  # pragma: no cover - the pom is part of the package
        raise LocalKafkaError("pom.xml does not pin <kafka.version>")
    return match.group(1)


def default_jar_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "playpipe" / f"kafka-{kafka_version()}"


def jar_dir(configured: str = "") -> Path:
    return Path(configured).expanduser() if configured else default_jar_dir()


def jars_present(directory: Path) -> bool:
    return (directory / _MARKER).is_file()


def fetch_jars(configured: str = "", quiet: bool = True) -> Path:
    """Resolve the Kafka jars with Maven unless they are cached already; return the folder."""
    target = jar_dir(configured)
    if jars_present(target):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError(
            "Maven (`mvn`) is needed once to fetch Apache Kafka's jars from Maven Central, and "
            "it is not on PATH. Install it (Debian: `apt-get install maven`) and run again."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    command = [
        mvn,
        "-B",
        "-f",
        str(pom_path()),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    if quiet:
        command.insert(1, "-q")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise LocalKafkaError(
            f"Maven could not resolve Apache Kafka {kafka_version()} (exit {result.returncode}). "
            f"Is Maven Central reachable? Last lines:\n{tail}"
        )
    (staging / _MARKER).write_text(kafka_version())
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target
