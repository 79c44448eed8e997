"""Kind clusters: real `kind create cluster` with a node image from kind/versions.yaml.

The node image is the one `make kind-images` builds offline (`local_node_image`, preferred when the engine
has it) or the published kindest/node image of the row. Workload images the bundled charts need on Kind
(`workload_images`) are loaded with `kind load docker-image`; `kind export logs` keeps the nodes' logs when
creation or a test fails.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from conformance import REPO_ROOT
from conformance.cluster.base import Cluster, random_name, run_tool
from conformance.cluster.timeouts import CLUSTER_TIMEOUTS, ClusterTimeouts, WaitTimeout, wait_for
from conformance.errors import EnvError
from conformance.tools import tool_path

KIND_DIR = REPO_ROOT / "kind"


def load_versions(path: Path = KIND_DIR / "versions.yaml") -> dict[str, Any]:
    """The Kubernetes version matrix (kind/versions.yaml)."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
        raise EnvError(f"{path}: expected a mapping with a `versions` list; restore it from the repository")
    return data


def version_row(version: str | None = None, path: Path = KIND_DIR / "versions.yaml") -> dict[str, Any]:
    """The versions.yaml row of a Kubernetes version (default: the pinned one)."""
    data = load_versions(path)
    want = (version or str(data["pinned"])).removeprefix("v")
    for row in data["versions"]:
        if str(row["kubernetes"]) == want:
            return dict(row)
    raise EnvError(f"{path}: no kind node image for Kubernetes {want}; add a row to `versions`")


def published_node_image(row: dict[str, Any]) -> str:
    """The row's published kindest/node image, pinned by digest when the row has one."""
    image = str(row["kind_node_image"])
    return f"{image}@{row['digest']}" if row.get("digest") else image


def node_image(version: str | None = None, path: Path = KIND_DIR / "versions.yaml") -> str:
    """The node image for a Kubernetes version: the local `make kind-images` build when the engine has it,
    else the published kindest/node image (pulled by kind where a registry is reachable)."""
    row = version_row(version, path)
    local = str(row.get("local_node_image") or "")
    if local and image_present(local):
        return local
    return published_node_image(row)


def workload_images(path: Path = KIND_DIR / "versions.yaml") -> list[str]:
    """Images `make kind-images` builds for the bundled charts' Kind values (kind/values/)."""
    return [str(image) for image in load_versions(path).get("workload_images") or []]


def values_overlay(chart_name: str, directory: Path = KIND_DIR / "values") -> Path | None:
    """kind/values/<chart>.yaml: the Kind-only values of a bundled chart (its images built offline), if any."""
    path = directory / f"{chart_name}.yaml"
    return path if path.is_file() else None


def docker_works(timeout: float = CLUSTER_TIMEOUTS.probe) -> bool:
    """True when a docker CLI is on PATH and its daemon answers."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return run_tool([docker, "info", "--format", "{{json .ServerVersion}}"], timeout).returncode == 0
    except EnvError:
        return False


def image_present(image: str, timeout: float = CLUSTER_TIMEOUTS.probe) -> bool:
    """True when docker has the image locally (no pull)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return run_tool([docker, "image", "inspect", image], timeout).returncode == 0
    except EnvError:
        return False


def effective_config(config: dict[str, Any], base: Path) -> dict[str, Any]:
    """The kind config with every relative `extraMounts.hostPath` made absolute against `base`."""
    out: dict[str, Any] = json.loads(json.dumps(config))
    for node in out.get("nodes") or []:
        for mount in node.get("extraMounts") or []:
            host = Path(str(mount.get("hostPath", "")))
            if mount.get("hostPath") and not host.is_absolute():
                mount["hostPath"] = str((base / host).resolve())
    return out


class KindCluster(Cluster):
    """`kind create cluster --config kind/kind-config.yaml --image <node image>`, removed by `kind delete`."""

    def __init__(
        self,
        name: str | None = None,
        *,
        image: str | None = None,
        config: Path = KIND_DIR / "kind-config.yaml",
        parent_dir: Path | None = None,
        logs_dir: Path | None = None,
        timeouts: ClusterTimeouts = CLUSTER_TIMEOUTS,
    ) -> None:
        """Describe the cluster; nothing runs until `create()`. `logs_dir` receives `kind export logs`."""
        super().__init__()
        self.logs_dir = logs_dir
        self.name = name or random_name("conformance")
        self.image = image or node_image()
        self.config = config
        self.timeouts = timeouts
        self.root = (parent_dir or Path(tempfile.gettempdir())) / f"kind-{self.name}"
        self.kubeconfig = self.root / "kubeconfig"
        self.config_path = self.root / "kind-config.yaml"
        self.context = f"kind-{self.name}"

    def create_command(self) -> list[str]:
        """The `kind create cluster` command line."""
        return [
            tool_path("kind"),
            "create",
            "cluster",
            "--name",
            self.name,
            "--config",
            str(self.config_path),
            "--image",
            self.image,
            "--kubeconfig",
            str(self.kubeconfig),
            "--wait",
            f"{self.timeouts.ready:g}s",
            # keep a failed node so `kind export logs` can read it; delete() removes it either way
            "--retain",
        ]

    def delete_command(self) -> list[str]:
        """The `kind delete cluster` command line."""
        return [
            tool_path("kind"),
            "delete",
            "cluster",
            "--name",
            self.name,
            "--kubeconfig",
            str(self.kubeconfig),
        ]

    def write_config(self) -> Path:
        """Write the effective kind config (mount paths resolved against the repository root)."""
        config = yaml.safe_load(self.config.read_text())
        self.config_path.write_text(yaml.safe_dump(effective_config(config, REPO_ROOT), sort_keys=False))
        return self.config_path

    def _create(self) -> None:
        """Create the Kind cluster and wait until its node is Ready."""
        tool_path("kind")
        tool_path("kubectl")
        if not docker_works(self.timeouts.probe):
            raise EnvError(
                "kind: docker is not available (`docker info` failed); start it or use --provider kwok"
            )
        self._register()
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_config()
        proc = run_tool(self.create_command(), self.timeouts.create, cwd=REPO_ROOT)
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.strip().splitlines() if line.strip()] or ["(no output)"]
            where = self.export_logs()
            kept = f" (node logs: {where})" if where else ""
            raise EnvError(f"kind cluster {self.name}: kind create cluster failed: {lines[-1]}{kept}")
        try:
            wait_for(
                self.reachable,
                self.timeouts.ready,
                self.timeouts.poll_interval,
                f"kind cluster {self.name} to serve",
            )
        except WaitTimeout as exc:
            raise EnvError(str(exc)) from exc

    def load_images(self, images: list[str]) -> None:
        """`kind load docker-image` of local images into the cluster's node; EnvError names a missing image."""
        missing = [image for image in images if not image_present(image)]
        if missing:
            raise EnvError(
                f"kind cluster {self.name}: image(s) {', '.join(missing)} not in the local Docker engine; "
                "build them with `make kind-images`"
            )
        if not images:
            return
        proc = run_tool(
            [tool_path("kind"), "load", "docker-image", "--name", self.name, *images], self.timeouts.create
        )
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.strip().splitlines() if line.strip()] or ["(no output)"]
            raise EnvError(f"kind cluster {self.name}: kind load docker-image failed: {lines[-1]}")

    def export_logs(self, dest: Path | None = None) -> Path | None:
        """`kind export logs` into `dest` (default: `logs_dir`); None when there is nowhere to write or it failed."""
        target = dest or self.logs_dir
        if target is None:
            return None
        target = target / self.name
        try:
            proc = run_tool(
                [tool_path("kind"), "export", "logs", str(target), "--name", self.name], self.timeouts.delete
            )
        except EnvError:
            return None
        return target if proc.returncode == 0 else None

    def delete(self) -> None:
        """Delete the Kind cluster and its kubeconfig directory; safe to call twice."""
        problem = ""
        if self.root.exists():
            try:
                proc = run_tool(self.delete_command(), self.timeouts.delete)
                if proc.returncode != 0:
                    problem = (proc.stderr.strip().splitlines() or ["kind delete cluster failed"])[-1]
            except EnvError as exc:
                problem = str(exc)
            shutil.rmtree(self.root, ignore_errors=True)
        self.created = False
        self._unregister()
        if problem:
            raise EnvError(f"kind cluster {self.name}: incomplete delete: {problem}")
