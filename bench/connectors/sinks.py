"""What the benchmark reads back: a counting webhook receiver, PostgreSQL and Parquet counts."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import psycopg
import pyarrow.parquet as pq

SAMPLE_EVERY = 20


class CountingReceiver:
    """Counts NDJSON lines; samples ``bench_ts`` of every 20th line for latency."""

    def __init__(self) -> None:
        self.count = 0
        self.live_count = 0
        self.latencies: list[float] = []
        self.sample_latency = False
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/ingest"

    def start(self) -> CountingReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time() * 1000
                lines = body.count(b"\n")
                samples = []
                if owner.sample_latency:
                    for line in body.split(b"\n")[::SAMPLE_EVERY]:
                        if line:
                            stamp = orjson.loads(line).get("bench_ts")
                            if stamp:
                                samples.append(now - stamp)
                with owner.lock:
                    if owner.sample_latency:
                        owner.live_count += lines
                    else:
                        owner.count += lines
                    owner.latencies += samples
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def reset(self) -> None:
        with self.lock:
            self.count = 0

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def pg_count(dsn: str, table: str) -> int:
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row else 0


def pg_latencies(dsn: str, table: str) -> list[float]:
    query = (
        f"SELECT extract(epoch FROM _loaded_at) * 1000 - (extra->>'bench_ts')::float8 "
        f"FROM {table} WHERE extra ? 'bench_ts'"
    )
    with psycopg.connect(dsn) as conn:
        return [float(r[0]) for r in conn.execute(query).fetchall()]


_rows: dict[Path, int] = {}


def lake_rows(root: Path) -> int:
    total = 0
    for path in root.rglob("*.parquet"):
        if path not in _rows:
            try:
                _rows[path] = pq.read_metadata(path).num_rows
            except OSError:  # replaced meanwhile
                continue
        total += _rows[path]
    return total


def lake_latencies(root: Path) -> list[float]:
    out: list[float] = []
    for path in root.rglob("*.parquet"):
        written = path.stat().st_mtime * 1000
        extras = pq.read_table(path, columns=["extra"]).column(0).to_pylist()
        for extra in extras[::SAMPLE_EVERY]:
            stamp = orjson.loads(extra).get("bench_ts") if extra else None
            if stamp:
                out.append(written - stamp)
    return out
