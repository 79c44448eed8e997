"""`conformance release`: package charts and push them to an OCI registry, only when the gate passes, then tag
each release `<chart>-<version>` in git. Credentials come from CONFORMANCE_REGISTRY_USERNAME and
CONFORMANCE_REGISTRY_PASSWORD (read by `helm registry login --password-stdin`, never on a command line)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.chart import load_chart
from conformance.errors import EnvError, UsageError
from conformance.sources import LOOPBACK_HOSTS
from conformance.timeouts import TIMEOUTS
from conformance.tools import run

USER_ENV, PASSWORD_ENV = "CONFORMANCE_REGISTRY_USERNAME", "CONFORMANCE_REGISTRY_PASSWORD"


@dataclass(frozen=True)
class Released:
    """One chart pushed: its name, version, where, and the git tag made for it ("" without --tag)."""

    name: str
    version: str
    ref: str
    tag: str = ""


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[-1].removeprefix("Error: ")


def registry_host(target: str) -> str:
    """The host[:port] of an oci:// target; UsageError for anything else."""
    if not target.startswith("oci://") or "/" not in target.removeprefix("oci://").strip("/"):
        raise UsageError(f"--to {target}: not an OCI repository; write oci://HOST[:PORT]/REPOSITORY")
    return target.removeprefix("oci://").split("/", 1)[0]


def _plain_http(host: str) -> list[str]:
    return ["--plain-http"] if host.rsplit(":", 1)[0] in LOOPBACK_HOSTS else []


@contextmanager
def registry_session(host: str) -> Iterator[list[str]]:
    """helm flags for a private registry config, logged in when credentials are set; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="conformance-registry-") as tmp:
        flags = ["--registry-config", str(Path(tmp) / "config.json")]
        user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
        if user and password:
            proc = run(["helm", "registry", "login", host, "--username", user, "--password-stdin",
                        *_plain_http(host), *flags], timeout=TIMEOUTS.helm_template, input_text=password)
            if proc.returncode != 0:
                raise EnvError(f"{host}: registry login as {user} refused ({_last_line(proc.stderr)}); check "
                               f"{USER_ENV} and {PASSWORD_ENV}")
        yield flags


def package(chart: Path, dest: Path) -> Path:
    """`helm package` a chart folder into `dest`; the .tgz's path."""
    proc = run(["helm", "package", str(chart), "-d", str(dest)], timeout=TIMEOUTS.helm_template)
    if proc.returncode != 0:
        raise UsageError(f"{chart}: helm package failed: {_last_line(proc.stderr)}")
    return dest / next(p.name for p in dest.glob("*.tgz"))


def _git() -> str:
    git = shutil.which("git")
    if git is None:
        raise EnvError("git: not installed; install git or drop --tag")
    return git


def tagged(chart: Path, name: str) -> str:
    """The commit the git tag `name` points at in the chart's repository, "" when there is no such tag."""
    proc = run([_git(), "rev-parse", "-q", "--verify", f"refs/tags/{name}^{{commit}}"],
               timeout=TIMEOUTS.tool_version, cwd=chart)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def tag(chart: Path, name: str) -> str:
    """Create the annotated git tag `name` at HEAD of the chart's repository."""
    proc = run([_git(), "tag", "-a", name, "-m", f"Release {name}"], timeout=TIMEOUTS.tool_version, cwd=chart)
    if proc.returncode != 0:
        raise EnvError(f"git tag {name}: {_last_line(proc.stderr)}")
    return name


def release(charts: list[Path], target: str, make_tags: bool) -> tuple[list[Released], list[str]]:
    """Package and push every chart to `target`; with `make_tags`, tag each in git and leave out a chart whose
    tag `<chart>-<version>` exists (that version is released). The gate is the caller's. Returns what was
    pushed and what was left out, with why."""
    host = registry_host(target)
    loaded = [load_chart(c) for c in charts]
    out, skipped = [], []
    with registry_session(host) as flags, tempfile.TemporaryDirectory(prefix="conformance-package-") as tmp:
        for chart in loaded:
            name = f"{chart.name}-{chart.version}"
            commit = tagged(chart.path, name) if make_tags else ""
            if commit:
                skipped.append(f"{name} is already released (tag on {commit[:12]}); bump version in Chart.yaml "
                               "to release it again")
                continue
            dest = Path(tmp) / chart.name
            dest.mkdir()
            tgz = package(chart.path, dest)
            proc = run(["helm", "push", str(tgz), target.rstrip("/"), *_plain_http(host), *flags],
                       timeout=TIMEOUTS.helm_template)
            if proc.returncode != 0:
                raise EnvError(f"{target}: push of {chart.name} {chart.version} refused: {_last_line(proc.stderr)}; "
                               f"check the repository and {USER_ENV}/{PASSWORD_ENV}")
            ref = f"{target.rstrip('/')}/{chart.name}:{chart.version}"
            out.append(Released(chart.name, chart.version, ref, tag(chart.path, name) if make_tags else ""))
    return out, skipped
