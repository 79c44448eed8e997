"""Locating the pinned real tools and running them with argument lists and timeouts."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from conformance import REPO_ROOT
from conformance.errors import EnvError
from conformance.timeouts import TIMEOUTS

#: Every tool the harness may run, and which `tools/build.sh` module builds it.
TOOLS = {
    "helm": "helm4",
    "helmrender": "helmrender",
    "helm3": "helm3",
    "kubesec": "kubesec",
    "kubesecscan": "kubesecscan",
    "kubeconform": "kubeconform",
    "kube-score": "kube-score",
    "kind": "kind",
    "kwok": "kwok",
    "kwokctl": "kwok",
    "etcd": "etcd",
    "kube-apiserver": "kube",
    "kube-controller-manager": "kube",
    "kube-scheduler": "kube",
    "kubectl": "kube",
    "actionlint": "actionlint",
}


def tools_dir() -> Path:
    """Where the pinned builds live: $CONFORMANCE_TOOLS_DIR, else <repo>/.tools/bin."""
    env = os.environ.get("CONFORMANCE_TOOLS_DIR")
    return Path(env) if env else REPO_ROOT / ".tools" / "bin"


def env_name(name: str) -> str:
    """The environment variable that overrides a tool's path: CONFORMANCE_<NAME>."""
    return "CONFORMANCE_" + name.upper().replace("-", "_")


def tool_path(name: str) -> str:
    """The path of a tool: $CONFORMANCE_<NAME> if set, else the pinned build; EnvError if neither exists."""
    override = os.environ.get(env_name(name))
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise EnvError(f"{env_name(name)}={override}: not an executable file; fix the path or unset it")
        return override
    pinned = tools_dir() / name
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return str(pinned)
    module = TOOLS.get(name, name)
    raise EnvError(
        f"{name}: not found at {pinned}; run `make tools` (or tools/build.sh {module}) "
        f"or set {env_name(name)}=/path/to/{name}"
    )


def run(
    args: list[str],
    timeout: float,
    cwd: Path | None = None,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (first element a tool name or path) and capture text output; never raises on exit code."""
    exe = args[0] if os.sep in args[0] else tool_path(args[0])
    try:
        return subprocess.run(
            [exe, *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            input=input_text,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EnvError(f"{Path(exe).name} {' '.join(args[1:3])}: timed out after {timeout:g}s") from exc
    except OSError as exc:
        raise EnvError(f"{exe}: cannot run ({exc.strerror}); fix the tool path") from exc


#: `helm_version()` keeps its answer here, so the CLI's pytest child (which inherits it) does not ask again.
HELM_VERSION_ENV = "CONFORMANCE_HELM_VERSION_SEEN"


@functools.cache
def helm_version() -> str:
    """The version of the helm the harness renders with (`helm version`), or "" when it cannot say; asked once
    per run (the answer is kept in the environment the CLI's pytest process inherits)."""
    seen = os.environ.get(HELM_VERSION_ENV)
    if seen is not None:
        return seen
    try:
        proc = run(["helm", "version", "--template", "{{.Version}}"], timeout=TIMEOUTS.tool_version)
    except EnvError:
        return ""
    version = proc.stdout.strip() if proc.returncode == 0 else ""
    os.environ[HELM_VERSION_ENV] = version
    return version
