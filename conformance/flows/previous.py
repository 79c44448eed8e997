"""The previous release of a chart, for the upgrade flow: given (`--upgrade-from`) or found in git history.

`--upgrade-from` takes a chart folder, a packaged `.tgz`, an `oci://REPO/CHART:VERSION` reference or
`git:REF` (the chart as of that commit). Without it: the newest git tag `<chart>-<version>` (the
chart-releaser convention) older than the current version, else the chart as of the newest commit whose
`Chart.yaml` has a lower version, else the chart itself. Every answer says how it was found.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.chart import Chart
from conformance.errors import EnvError, UsageError
from conformance.sources import LOOPBACK_HOSTS
from conformance.timeouts import TIMEOUTS
from conformance.tools import run, tool_path

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Previous:
    """The release to upgrade from: where helm finds it, its version, how it was found, and any break."""

    source: str
    version: str
    how: str
    is_self: bool = False
    #: why SemVer marks current vs previous as breaking ('' when it does not)
    breaking: str = ""


def semver(version: str) -> tuple[int, int, int, int, str] | None:
    """A sortable key for a SemVer string (a pre-release sorts before its release); None if not SemVer."""
    m = _SEMVER.match(version.strip())
    if not m:
        return None
    pre = m.group(4) or ""
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, pre


def breaking_change(previous: str, current: str) -> str:
    """Why `previous -> current` is a breaking release by SemVer (a major bump, or a minor bump below 1.0)."""
    old, new = semver(previous), semver(current)
    if old is None or new is None:
        return ""
    if new[0] > old[0]:
        return f"{previous} -> {current} is a major version bump (SemVer: breaking)"
    if new[0] == old[0] == 0 and new[1] > old[1]:
        return f"{previous} -> {current} is a minor version bump below 1.0 (SemVer: breaking)"
    return ""


def _chart_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: Chart.yaml is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data.get("version"):
        raise UsageError(f"{where}: Chart.yaml has no `version`; --upgrade-from must name a chart")
    return data


def _tgz_version(path: Path) -> str:
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name.count("/") == 1
                           and m.name.endswith("/Chart.yaml")), None)
            handle = tar.extractfile(member) if member else None
            if handle is None:
                raise UsageError(f"--upgrade-from {path}: the archive holds no <chart>/Chart.yaml; pass a chart "
                                 "packaged with `helm package`")
            return str(_chart_yaml(handle.read().decode(), f"--upgrade-from {path}")["version"])
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UsageError(f"--upgrade-from {path}: not a readable .tgz ({exc}); pass a chart packaged with "
                         "`helm package`") from None


def _git_exe() -> str:
    exe = shutil.which("git")
    if exe is None:
        raise EnvError("git: not on PATH; install git (the upgrade flow reads the chart's releases from git)")
    return exe


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([_git_exe(), "-C", str(repo), *args], TIMEOUTS.kubectl)


def _git_root(path: Path) -> Path | None:
    proc = _git(path, "rev-parse", "--show-toplevel")
    return Path(proc.stdout.strip()) if proc.returncode == 0 else None


def _from_git(chart: Chart, ref: str, workdir: Path, how: str) -> tuple[Path, str]:
    """The chart folder as of a git ref, extracted under `workdir`; its path and version."""
    root = _git_root(chart.path)
    if root is None:
        raise UsageError(f"--upgrade-from git:{ref}: {chart.path} is not in a git repository; pass a chart folder")
    if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise UsageError(f"--upgrade-from git:{ref}: no such commit, tag or branch in {root}; "
                         "check `git log` / `git tag`")
    rel = chart.path.resolve().relative_to(root.resolve()).as_posix()
    proc = subprocess.run([_git_exe(), "-C", str(root), "archive", "--format=tar", ref, rel], capture_output=True,
                          timeout=TIMEOUTS.kubectl, check=False)
    if proc.returncode != 0:
        raise UsageError(f"--upgrade-from git:{ref}: {rel} does not exist at {ref}; pick a commit that has the chart")
    dest = workdir / f"git-{re.sub(r'[^A-Za-z0-9._-]', '_', ref)}"
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    folder = dest / rel
    version = str(_chart_yaml((folder / "Chart.yaml").read_text(), how)["version"])
    return folder, version


def _oci(ref: str, workdir: Path) -> tuple[Path, str]:
    base, _, tag = ref.rpartition(":") if ref.count(":") > 1 else (ref, "", "")
    args = [tool_path("helm"), "pull", base, "--destination", str(workdir)]
    if tag:
        args += ["--version", tag]
    if base.removeprefix("oci://").split("/", 1)[0].rsplit(":", 1)[0] in LOOPBACK_HOSTS:
        args.append("--plain-http")  # a registry on loopback (CI, tests) serves plain HTTP, as sources.pull does
    proc = run(args, TIMEOUTS.helm_template)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise EnvError(f"--upgrade-from {ref}: helm pull failed: {last}; check the reference and registry login")
    pulled = sorted(workdir.glob("*.tgz"), key=lambda p: p.stat().st_mtime)
    if not pulled:
        raise EnvError(f"--upgrade-from {ref}: helm pull wrote no .tgz")
    return pulled[-1], _tgz_version(pulled[-1])


def given_previous(chart: Chart, spec: str, workdir: Path) -> Previous:
    """The previous release named by `--upgrade-from`."""
    workdir.mkdir(parents=True, exist_ok=True)
    if spec.startswith("git:"):
        ref = spec.removeprefix("git:")
        folder, version = _from_git(chart, ref, workdir, f"--upgrade-from {spec}")
        return _previous(chart, str(folder), version, f"--upgrade-from {spec} (the chart as of {ref})")
    if spec.startswith("oci://"):
        tgz, version = _oci(spec, workdir)
        return _previous(chart, str(tgz), version, f"--upgrade-from {spec} (pulled)")
    path = Path(spec)
    if path.is_file() and path.name.endswith((".tgz", ".tar.gz")):
        return _previous(chart, str(path), _tgz_version(path), f"--upgrade-from {spec} (packaged chart)")
    if path.is_dir():
        if not (path / "Chart.yaml").is_file():
            raise UsageError(f"--upgrade-from {spec}: no Chart.yaml in that folder; pass a chart folder, a .tgz, "
                             "oci://... or git:REF")
        version = str(_chart_yaml((path / "Chart.yaml").read_text(), f"--upgrade-from {spec}")["version"])
        return _previous(chart, str(path), version, f"--upgrade-from {spec} (chart folder)")
    raise UsageError(f"--upgrade-from {spec}: not a chart folder, .tgz, oci:// reference or git:REF; "
                     "pass one of those")


def _previous(chart: Chart, source: str, version: str, how: str) -> Previous:
    is_self = Path(source).resolve() == chart.path.resolve()
    return Previous(source, version, how, is_self, breaking_change(version, chart.version))


def _lower(version: str, current: str) -> bool:
    old, new = semver(version), semver(current)
    return old is not None and new is not None and old < new


def found_previous(chart: Chart, workdir: Path) -> Previous:
    """The previous release from git: newest `<chart>-<version>` tag below the current version, else the newest
    commit whose Chart.yaml has a lower version, else the chart itself."""
    root = _git_root(chart.path)
    if root is None:
        return Previous(str(chart.path), chart.version, "the chart itself: not in a git repository, so no earlier "
                        "release to find (pass --upgrade-from)", True)
    tags = _git(root, "tag", "--list", f"{chart.name}-*").stdout.split()
    versions = [(semver(t.removeprefix(f"{chart.name}-")), t) for t in tags]
    older = sorted((v, t) for v, t in versions if v is not None and _lower(t.removeprefix(f"{chart.name}-"),
                                                                             chart.version))
    workdir.mkdir(parents=True, exist_ok=True)
    if older:
        tag = older[-1][1]
        folder, version = _from_git(chart, tag, workdir, f"git tag {tag}")
        return _previous(chart, str(folder), version, f"git tag {tag} (newest release tag below {chart.version})")
    rel = chart.path.resolve().relative_to(root.resolve()).as_posix()
    commits = _git(root, "log", "--format=%H", "--", f"{rel}/Chart.yaml").stdout.split()
    for sha in commits:
        shown = _git(root, "show", f"{sha}:{rel}/Chart.yaml")
        if shown.returncode != 0:
            continue
        try:
            version = str((yaml.safe_load(shown.stdout) or {}).get("version", ""))
        except yaml.YAMLError:
            continue
        if _lower(version, chart.version):
            folder, version = _from_git(chart, sha, workdir, f"commit {sha[:12]}")
            return _previous(chart, str(folder), version,
                             f"commit {sha[:12]} (newest commit whose Chart.yaml has a version below "
                             f"{chart.version}; no `{chart.name}-<version>` tag)")
    return Previous(str(chart.path), chart.version, f"the chart itself: no `{chart.name}-<version>` tag and no "
                    f"commit with a lower version in {root}", True)


def resolve_previous(chart: Chart, upgrade_from: str | None, workdir: Path) -> Previous:
    """The release the upgrade flow starts from (see the module doc)."""
    return given_previous(chart, upgrade_from, workdir) if upgrade_from else found_previous(chart, workdir)
