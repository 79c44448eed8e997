"""kwok clusters: real etcd, kube-apiserver, controller-manager, scheduler as local processes; fake nodes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
from pathlib import Path

import yaml

from conformance import REPO_ROOT
from conformance.cluster.base import Cluster, KubectlError, random_name, run_tool
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts, WaitTimeout, wait_for
from conformance.errors import EnvError
from conformance.tools import tool_path

#: Cluster definitions shipped with the harness (kind configs, admission config, kwok stages).
KIND_DIR = REPO_ROOT / "kind"
LOOPBACK = "127.0.0.1"

#: kwokctl flag -> pinned tool that the binary runtime runs (never downloaded: local paths only).
BINARY_FLAGS = {
    "--kube-apiserver-binary": "kube-apiserver",
    "--kube-controller-manager-binary": "kube-controller-manager",
    "--kube-scheduler-binary": "kube-scheduler",
    "--etcd-binary": "etcd",
    "--kwok-controller-binary": "kwok",
}
#: kwokctl flag for each host port the binary runtime opens (all chosen by us, see `free_port`).
PORT_FLAGS = (
    "--kube-apiserver-port",
    "--etcd-port",
    "--kube-controller-manager-port",
    "--kube-scheduler-port",
    "--controller-port",
)


def free_port() -> int:
    """A TCP port free on the loopback right now (kwokctl's own choice races between parallel clusters)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True when a process with this pid runs (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}


class KwokCluster(Cluster):
    """A kwokctl `binary`-runtime cluster on the loopback with PodSecurity admission and our stages."""

    def __init__(
        self,
        name: str | None = None,
        *,
        nodes: int = 1,
        parent_dir: Path | None = None,
        kind_dir: Path = KIND_DIR,
        timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS,
    ) -> None:
        """Describe the cluster; nothing runs until `create()`."""
        super().__init__()
        self.name = name or random_name("conformance")
        self.nodes = nodes
        self.timeouts = timeouts
        self.kind_dir = kind_dir
        self.root = (parent_dir or Path(tempfile.gettempdir())) / f"kwok-{self.name}"
        self.workdir = self.root / "kwok"
        self.cluster_dir = self.workdir / "clusters" / self.name
        self.kubeconfig = self.root / "kubeconfig"
        self.config_path = self.root / "kwokctl.yaml"
        self.ports: dict[str, int] = {}

    # -- command construction (pure, unit-testable) ------------------------------------------------

    def stage_files(self) -> list[Path]:
        """The kwok Stage files loaded into the cluster (node and pod lifecycles, Helm test hooks)."""
        return sorted((self.kind_dir / "kwok").glob("*.yaml"))

    def admission_config(self) -> Path:
        """The AdmissionConfiguration handed to kube-apiserver (PodSecurity defaults)."""
        return (self.kind_dir / "pss-admission.yaml").resolve()

    def kwokctl_config(self, etcd_peer_port: int) -> dict[str, object]:
        """The KwokctlConfiguration document: loopback binding, local binaries only."""
        return {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokctlConfiguration",
            "options": {
                "runtime": "binary",
                "bindAddress": LOOPBACK,
                "etcdPeerPort": etcd_peer_port,
                "kubectlBinary": tool_path("kubectl"),
            },
        }

    def env(self) -> dict[str, str]:
        """kwokctl's environment: its work directory inside this cluster's own root."""
        return {**os.environ, "KWOK_WORKDIR": str(self.workdir)}

    def kwokctl(self, *args: str) -> list[str]:
        """A kwokctl command line for this cluster."""
        return [tool_path("kwokctl"), "--name", self.name, *args]

    def create_command(self, ports: dict[str, int]) -> list[str]:
        """The `kwokctl create cluster` command line for the given host ports."""
        cmd = self.kwokctl("-c", str(self.config_path))
        for stage in self.stage_files():
            cmd += ["-c", str(stage.resolve())]
        cmd += ["create", "cluster", "--runtime", "binary", "--kubeconfig", str(self.kubeconfig)]
        for flag, tool in BINARY_FLAGS.items():
            cmd += [flag, tool_path(tool)]
        for flag in PORT_FLAGS:
            cmd += [flag, str(ports[flag])]
        cmd += [
            "--extra-args",
            f"kube-apiserver=admission-control-config-file={self.admission_config()}",
            "--wait",
            f"{self.timeouts.ready:g}s",
        ]
        return cmd

    # -- lifecycle ------------------------------------------------------------------------------------

    def _create(self) -> None:
        """Start the control plane, add simulated nodes and wait until they are Ready."""
        for tool in ("kwokctl", "kubectl", *BINARY_FLAGS.values()):
            tool_path(tool)  # a missing tool fails here, before anything is started
        missing = [p for p in (self.admission_config(), *self.stage_files()) if not p.is_file()]
        if missing or not self.stage_files():
            raise EnvError(
                f"kwok cluster: missing cluster definitions {missing or self.kind_dir / 'kwok'}; "
                "restore the kind/ folder from the repository"
            )
        self._register()
        self.root.mkdir(parents=True)
        self.ports = {flag: free_port() for flag in PORT_FLAGS}
        self.config_path.write_text(yaml.safe_dump(self.kwokctl_config(free_port()), sort_keys=False))
        proc = run_tool(self.create_command(self.ports), self.timeouts.create, env=self.env())
        if proc.returncode != 0:
            raise EnvError(
                f"kwok cluster {self.name}: kwokctl create cluster failed (exit {proc.returncode}): "
                f"{_last_line(proc.stderr)}{self._save_logs()}"
            )
        if self.nodes > 0:
            proc = run_tool(
                self.kwokctl("scale", "node", "--replicas", str(self.nodes)),
                self.timeouts.kubectl,
                env=self.env(),
            )
            if proc.returncode != 0:
                raise EnvError(f"kwok cluster {self.name}: kwokctl scale node: {_last_line(proc.stderr)}")
        try:
            wait_for(
                self._ready,
                self.timeouts.ready,
                self.timeouts.poll_interval,
                f"kwok cluster {self.name} to serve with {self.nodes} Ready node(s)",
                retry=(KubectlError,),
            )
        except WaitTimeout as exc:
            raise EnvError(f"{exc}{self._save_logs()}") from exc

    def _save_logs(self) -> str:
        """Copy the component logs out of the cluster directory (delete removes it); a note saying where."""
        logs = self.cluster_dir / "logs"
        if not any(logs.glob("*.log")):
            return ""
        dest = self.root.parent / f"{self.root.name}-logs"
        try:
            shutil.copytree(logs, dest, dirs_exist_ok=True)
        except OSError:
            return ""
        return f"; component logs kept in {dest}"

    def _ready(self) -> bool:
        """The API server is ready and at least `nodes` nodes report Ready."""
        if not self.reachable():
            return False
        # Pods are only admitted once the controller manager has made the namespace's default ServiceAccount.
        if self.run_kubectl("get", "serviceaccount", "default", "--namespace", "default").returncode != 0:
            return False
        if self.nodes == 0:
            return True
        items = json.loads(self.kubectl("get", "nodes", "-o", "json"))["items"]
        ready = [
            n
            for n in items
            for c in n["status"].get("conditions", [])
            if c["type"] == "Ready" and c["status"] == "True"
        ]
        return len(ready) >= self.nodes

    def pids(self) -> dict[str, int]:
        """The control-plane processes kwokctl started for this cluster: component -> pid."""
        pids: dict[str, int] = {}
        for pid_file in sorted((self.cluster_dir / "pids").glob("*.pid")):
            with contextlib.suppress(ValueError, OSError):
                pids[pid_file.stem] = int(pid_file.read_text().strip())
        return pids

    def _owned(self, pid: int) -> bool:
        """True when `pid` still runs a binary from this cluster's directory (guards against pid reuse)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return str(self.cluster_dir) in cmdline

    def delete(self) -> None:
        """Stop every process of the cluster and remove its directories; safe to call twice."""
        pids = self.pids()
        problems: list[str] = []
        if self.cluster_dir.exists():
            try:
                proc = run_tool(
                    self.kwokctl("delete", "cluster", "--kubeconfig", str(self.kubeconfig)),
                    self.timeouts.delete,
                    env=self.env(),
                )
                if proc.returncode != 0:
                    problems.append(f"kwokctl delete cluster: {_last_line(proc.stderr)}")
            except EnvError as exc:
                problems.append(str(exc))
        alive = self._stop(pids)
        if alive:
            problems.append(f"processes still running: {alive}")
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
            if self.root.exists():
                problems.append(f"could not remove {self.root}")
        self.created = False
        self._unregister()
        if problems:
            raise EnvError(f"kwok cluster {self.name}: incomplete delete: {'; '.join(problems)}")

    def _stop(self, pids: dict[str, int]) -> dict[str, int]:
        """Wait for the cluster's processes to exit, SIGKILL our stragglers; the ones still alive."""

        def gone() -> bool:
            # An exiting process may already have an empty cmdline, so ownership only gates the SIGKILL below.
            return not any(pid_alive(pid) for pid in pids.values())

        try:
            wait_for(
                gone,
                self.timeouts.process_exit,
                self.timeouts.poll_interval,
                f"kwok cluster {self.name} processes to exit",
            )
        except WaitTimeout:
            for pid in pids.values():
                if pid_alive(pid) and self._owned(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(WaitTimeout):
                wait_for(
                    gone,
                    self.timeouts.process_exit,
                    self.timeouts.poll_interval,
                    f"kwok cluster {self.name} processes to die",
                )
        return {c: pid for c, pid in pids.items() if pid_alive(pid) and self._owned(pid)}


def _last_line(text: str) -> str:
    """The last non-empty line of a tool's output (kwokctl logs JSON: its msg/err fields)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "(no output)"
    last = lines[-1]
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        record = json.loads(last)
        last = " ".join(str(record[k]) for k in ("msg", "err") if k in record) or last
    return " ".join(last.split())
