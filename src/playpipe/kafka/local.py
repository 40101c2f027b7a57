"""A local Apache Kafka cluster run as plain Java processes: KRaft, combined nodes.

Layout of the data folder::

    <data_dir>/cluster.json            cluster id, nodes, ports, pids
    <data_dir>/node-<id>/server.properties, log4j2.properties
    <data_dir>/node-<id>/data/         the log dirs (formatted on first start)
    <data_dir>/node-<id>/logs/         server.log and the JVM's stdout

Node ``i`` (from 1) listens for clients on ``port_base + i - 1`` and for the controller
quorum on ``port_base + nodes + i - 1``, all on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from playpipe.config import LocalKafkaSettings
from playpipe.errors import LocalKafkaError
from playpipe.kafka.jars import fetch_jars, kafka_version

HOST = "127.0.0.1"
STATE_FILE = "cluster.json"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0

_LOG4J = """\
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = {logs}/server.log
appender.file.filePattern = {logs}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
"""


@dataclass
class Node:
    """One combined broker+controller process."""

    id: int
    broker_port: int
    controller_port: int
    pid: int | None = None


@dataclass
class NodeStatus:
    """What ``playpipe kafka status`` shows for one node."""

    id: int
    address: str
    up: bool
    controller: bool
    pid: int | None


def _cluster_id() -> str:
    # Like Kafka's own ids, never one that starts with "-": the storage tool would read it
    # as an option ("argument --cluster-id: expected one argument").
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _pid_alive(pid: int | None, marker: str) -> bool:
    """True if ``pid`` is a live process whose command line mentions ``marker``."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (not Linux): trust the pid
    if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
        return False
    return marker in cmdline


def _how_ended(code: int | None) -> str:
    """`` (exit code N)``, `` (killed by signal N)``, or nothing when unknown."""
    if code is None:
        return ""
    return f" (killed by signal {-code})" if code < 0 else f" (exit code {code})"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


class LocalCluster:
    """Start, stop and inspect a local Kafka cluster living in one data folder."""

    def __init__(self, settings: LocalKafkaSettings, data_dir: Path | None = None) -> None:
        self.settings = settings
        self.root = (data_dir or Path(settings.data_dir)).expanduser().resolve()
        self.nodes = self._load_nodes()
        # Nodes this object launched: their liveness comes from the child process itself,
        # not from /proc (a look at /proc right after the launch once took a starting node
        # for dead).
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # -- layout ---------------------------------------------------------------------------
    def _load_nodes(self) -> list[Node]:
        state = self.root / STATE_FILE
        if state.is_file():
            data = json.loads(state.read_text())
            return [Node(**n) for n in data["nodes"]]
        return []

    def _save(self, cluster_id: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = {
            "kafka_version": kafka_version(),
            "cluster_id": cluster_id,
            "nodes": [asdict(n) for n in self.nodes],
        }
        tmp = self.root / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.root / STATE_FILE)

    def _cluster_id_saved(self) -> str | None:
        state = self.root / STATE_FILE
        return json.loads(state.read_text())["cluster_id"] if state.is_file() else None

    def node_dir(self, node: Node) -> Path:
        return self.root / f"node-{node.id}"

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{HOST}:{n.broker_port}" for n in self.nodes)

    def _plan_nodes(self, count: int, port_base: int) -> list[Node]:
        return [Node(i, port_base + i - 1, port_base + count + i - 1) for i in range(1, count + 1)]

    def _server_properties(self, node: Node) -> str:
        count = len(self.nodes)
        voters = ",".join(f"{n.id}@{HOST}:{n.controller_port}" for n in self.nodes)
        rf = min(3, count)
        lines = {
            "process.roles": "broker,controller",
            "node.id": node.id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{HOST}:{node.broker_port},CONTROLLER://{HOST}:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{node.broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.node_dir(node) / "data"),
            "num.partitions": 6,
            "default.replication.factor": rf,
            "min.insync.replicas": 2 if rf >= 3 else 1,
            "unclean.leader.election.enable": "false",
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": 2 if rf >= 3 else 1,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": 2 if rf >= 3 else 1,
            "group.initial.rebalance.delay.ms": 0,
            "auto.create.topics.enable": "false",
            "log.segment.bytes": 64 * 1024 * 1024,
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    # -- processes ------------------------------------------------------------------------
    def _java(self) -> str:
        home = os.environ.get("JAVA_HOME")
        java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
        if not java or not Path(java).exists():
            raise LocalKafkaError(
                "Java 17 or newer is needed to run Apache Kafka and `java` is not on PATH. "
                "Install it (Debian: `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
            )
        return java

    def _classpath(self) -> str:
        return str(fetch_jars(self.settings.jar_dir) / "*")

    def _format(self, node: Node, cluster_id: str, java: str, classpath: str) -> None:
        props = self.node_dir(node) / "server.properties"
        result = subprocess.run(
            [
                java,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
                cluster_id,
                "-c",
                str(props),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise LocalKafkaError(
                f"Formatting the storage of node {node.id} failed:\n"
                f"{(result.stdout + result.stderr).strip()}"
            )

    def _launch(self, node: Node, java: str, classpath: str) -> None:
        ndir = self.node_dir(node)
        logs = ndir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        heap = f"{self.settings.heap_mb}m"
        command = [
            java,
            f"-Xmx{heap}",
            f"-Xms{min(self.settings.heap_mb, 256)}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={ndir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={logs}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(ndir / "server.properties"),
        ]
        with (logs / "stdout.log").open("ab") as out:
            proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=ndir,
            )
        node.pid = proc.pid
        self._children[node.id] = proc

    def node_running(self, node: Node) -> bool:
        child = self._children.get(node.id)
        if child is not None and child.pid == node.pid:
            return child.poll() is None
        return _pid_alive(node.pid, str(self.node_dir(node)))

    def running(self) -> bool:
        return any(self.node_running(n) for n in self.nodes)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, nodes: int | None = None, port_base: int | None = None) -> str:
        """Start every node (formatting storage the first time); return bootstrap servers."""
        count = nodes or self.settings.nodes
        if self.nodes and self.running():
            if len(self.nodes) != count:
                raise LocalKafkaError(
                    f"A {len(self.nodes)}-node cluster is already running from {self.root}. "
                    f"Stop it first (`playpipe kafka stop --data-dir {self.root}`)."
                )
            return self.bootstrap_servers
        if self.nodes and len(self.nodes) != count:
            raise LocalKafkaError(
                f"{self.root} holds a {len(self.nodes)}-node cluster's data; it cannot become a "
                f"{count}-node cluster. Use another --data-dir or delete that folder."
            )
        base = port_base or self.settings.port_base
        if not self.nodes:
            self.nodes = self._plan_nodes(count, base)
        busy = [p for n in self.nodes for p in (n.broker_port, n.controller_port) if _port_open(p)]
        if busy:
            raise LocalKafkaError(
                f"Port(s) {', '.join(map(str, busy))} on {HOST} are already in use by another "
                "process. Choose other ports with --port-base, or stop what uses them."
            )
        java, classpath = self._java(), self._classpath()
        cluster_id = self._cluster_id_saved() or _cluster_id()
        unformatted = []
        for node in self.nodes:
            ndir = self.node_dir(node)
            ndir.mkdir(parents=True, exist_ok=True)
            (ndir / "server.properties").write_text(self._server_properties(node))
            (ndir / "log4j2.properties").write_text(_LOG4J.format(logs=ndir / "logs"))
            if not (ndir / "data" / "meta.properties").is_file():
                unformatted.append(node)
        # Each format is a JVM start: run them side by side.
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda n: self._format(n, cluster_id, java, classpath), unformatted))
        for node in self.nodes:
            self._launch(node, java, classpath)
        self._save(cluster_id)
        self.wait_ready()
        return self.bootstrap_servers

    def start_node(self, node_id: int) -> None:
        """Start one stopped node again (used to heal the cluster after a failure)."""
        node = self._node(node_id)
        if self.node_running(node):
            return
        self._launch(node, self._java(), self._classpath())
        self._save(self._cluster_id_saved() or _cluster_id())

    def kill_node(self, node_id: int, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to one node (fault injection)."""
        node = self._node(node_id)
        if node.pid and self.node_running(node):
            os.kill(node.pid, sig)
            self._wait_exit(node, STOP_TIMEOUT_S)

    def _node(self, node_id: int) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise LocalKafkaError(f"No node {node_id} in the cluster at {self.root}")

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Block until every node answers metadata requests as part of the cluster."""
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        while True:
            for node in self.nodes:
                if not self.node_running(node):
                    log = self.node_dir(node) / "logs"
                    child = self._children.get(node.id)
                    how = _how_ended(child.returncode if child is not None else None)
                    raise LocalKafkaError(
                        f"Kafka node {node.id} exited during start-up{how}. "
                        "Last lines of its log:\n"
                        f"{_tail(log / 'server.log')}\n{_tail(log / 'stdout.log', 10)}"
                    )
            try:
                metadata = admin.list_topics(timeout=2)
                if len(metadata.brokers) == len(self.nodes):
                    return
            except Exception:  # not answering yet
                pass
            if time.monotonic() > deadline:
                log = self.node_dir(self.nodes[0]) / "logs" / "server.log"
                raise LocalKafkaError(
                    f"Kafka did not answer within {timeout:.0f} s. Last lines of node "
                    f"{self.nodes[0].id}'s log:\n{_tail(log)}"
                )
            time.sleep(0.2)

    def _wait_exit(self, node: Node, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.node_running(node):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> list[int]:
        """SIGTERM every node (controlled shutdown), wait, SIGKILL stragglers; return their ids."""
        running = [n for n in self.nodes if self.node_running(n)]
        for node in running:
            assert node.pid is not None
            os.kill(node.pid, signal.SIGTERM)
        for node in running:
            if not self._wait_exit(node, timeout) and node.pid:
                os.kill(node.pid, signal.SIGKILL)
                self._wait_exit(node, 10)
        for node in self.nodes:
            node.pid = None
        if self.nodes:
            self._save(self._cluster_id_saved() or _cluster_id())
        return [n.id for n in running]

    # -- inspection -----------------------------------------------------------------------
    def active_controller(self) -> int | None:
        """The quorum leader, read from the nodes' ``quorum-state`` files (highest epoch wins)."""
        best: tuple[int, int] | None = None
        for node in self.nodes:
            path = self.node_dir(node) / "data" / "__cluster_metadata-0" / "quorum-state"
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            leader, epoch = state.get("leaderId", -1), state.get("leaderEpoch", -1)
            if leader >= 0 and (best is None or epoch > best[1]):
                best = (leader, epoch)
        return best[0] if best else None

    def status(self) -> list[NodeStatus]:
        controller = self.active_controller()
        out = []
        for node in self.nodes:
            up = self.node_running(node) and _port_open(node.broker_port)
            out.append(
                NodeStatus(
                    node.id,
                    f"{HOST}:{node.broker_port}",
                    up,
                    up and node.id == controller,
                    node.pid,
                )
            )
        return out
