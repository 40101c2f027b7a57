"""A throwaway PostgreSQL server: ``initdb`` into a temporary folder, ``pg_ctl start`` on a
free loopback port. As root, the server runs as the ``postgres`` user (``runuser``)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def binary(name: str) -> str | None:
    """``initdb``/``pg_ctl`` from PATH or Debian's ``/usr/lib/postgresql/<v>/bin``."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One server for a test session; ``dsn`` connects as a trusted superuser."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="playpipe-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "playpipe"
        self.as_root = os.geteuid() == 0

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        if self.as_root:
            shutil.chown(self.root, "postgres")
        self._run(initdb, "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        log = self.root / "server.log"
        self._run(pg_ctl, "-D", str(self.data), "-l", str(log), "-o", options, "-w", "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        pg_ctl = binary("pg_ctl")
        if pg_ctl and self.data.exists():
            self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
