"""Where charts come from: chart folders, folders of charts, packaged charts (.tgz), `oci://` references, and
which of them changed since a git ref (as chart-testing's `list-changed`: against the merge-base)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError
from conformance.timeouts import TIMEOUTS
from conformance.tools import run

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class ChartSource:
    """A chart to check: the folder it is checked in, and what the user named (folder, .tgz or oci://)."""

    path: Path
    given: str


def unpack(archive: Path, workdir: Path) -> Path:
    """A packaged chart unpacked (tar's `data` filter: no absolute paths, links or devices) into `workdir`."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:12]
    dest = workdir / f"{archive.name.removesuffix('.tgz').removesuffix('.tar.gz')}-{digest}"
    if not dest.is_dir():
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UsageError(f"{archive}: not a readable chart package ({exc}); pass a file made by `helm package`"
                             ) from exc
        tmp.replace(dest)
    return _chart_in(dest, str(archive))


def _chart_in(folder: Path, given: str) -> Path:
    found = sorted(p.parent for p in folder.glob("*/Chart.yaml"))
    if len(found) != 1:
        raise UsageError(f"{given}: expected one chart folder at the top of the package, found {len(found)}; "
                         "pass a file made by `helm package`")
    return found[0]


def pull(ref: str, version: str | None, workdir: Path) -> Path:
    """`helm pull` an oci:// chart (plain HTTP only for a loopback registry) and unpack it."""
    host = ref.removeprefix("oci://").split("/", 1)[0]
    digest = hashlib.sha256(f"{ref} {version}".encode()).hexdigest()[:12]
    dest = workdir / f"oci-{digest}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    args = ["helm", "pull", ref, "--untar", "--untardir", str(dest)]
    if version:
        args += ["--version", version]
    if host.rsplit(":", 1)[0] in LOOPBACK_HOSTS:
        args.append("--plain-http")
    proc = run(args, timeout=TIMEOUTS.helm_template)
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no output"])[-1].removeprefix("Error: ")
        raise UsageError(f"{ref}{f' --version {version}' if version else ''}: helm pull failed: {why}; "
                         "check the reference, the version and the registry")
    return _chart_in(dest, ref)


def expand(args: list[str], version: str | None, workdir: Path) -> list[ChartSource]:
    """Every chart the arguments name: a chart folder, each chart in a folder of charts, a .tgz, an oci:// ref."""
    out = []
    for arg in args:
        path = Path(arg)
        if arg.startswith("oci://"):
            out.append(ChartSource(pull(arg, version, workdir), arg))
        elif path.is_file() and arg.endswith((".tgz", ".tar.gz")):
            out.append(ChartSource(unpack(path, workdir), arg))
        elif path.is_dir() and not (path / "Chart.yaml").is_file():
            charts = sorted(p.parent for p in path.glob("*/Chart.yaml"))
            if not charts:
                raise UsageError(f"{path}: no Chart.yaml here nor in its sub-folders; pass a chart or a folder of "
                                 "charts")
            out += [ChartSource(c, str(c)) for c in charts]
        else:
            out.append(ChartSource(path, arg))
    names = [s.path.resolve() for s in out]
    return [s for i, s in enumerate(out) if s.path.resolve() not in names[:i]]


def _git(args: list[str], cwd: Path) -> tuple[int, str, str]:
    git = shutil.which("git")
    if git is None:
        raise UsageError("--changed-since: git is not installed; install git or drop --changed-since")
    proc = run([git, *args], timeout=TIMEOUTS.tool_version, cwd=cwd)
    return proc.returncode, proc.stdout.strip(), proc.stderr.strip()


def merge_base(chart: Path, ref: str) -> tuple[Path, str]:
    """The git top level holding a chart and the merge-base of HEAD with `ref`; UsageError naming the fix."""
    code, top, err = _git(["rev-parse", "--show-toplevel"], chart)
    if code != 0:
        raise UsageError(f"--changed-since {ref}: {chart} is not in a git repository ({err})")
    code, base, err = _git(["merge-base", "HEAD", ref], chart)
    if code != 0:
        raise UsageError(f"--changed-since {ref}: no merge-base of HEAD and {ref} ({err or 'unknown ref'}); "
                         "fetch the ref (git fetch origin main) or name another")
    return Path(top), base


def changed(chart: Path, ref: str) -> bool:
    """True when any file of the chart differs from the merge-base with `ref` (committed or not)."""
    top, base = merge_base(chart, ref)
    code, names, err = _git(["diff", "--name-only", base, "--", str(chart.resolve().relative_to(top))], top)
    if code != 0:
        raise UsageError(f"--changed-since {ref}: git diff failed: {err}")
    code, untracked, _ = _git(["ls-files", "--others", "--exclude-standard", "--", "."], chart)
    return bool(names or untracked)


def base_chart(chart: Path, ref: str) -> dict[str, Any]:
    """What the version-bump rule needs: the ref, whether the chart changed, and its version at the merge-base
    ("" when the chart did not exist there)."""
    top, base = merge_base(chart, ref)
    rel = chart.resolve().relative_to(top) / "Chart.yaml"
    code, text, _ = _git(["show", f"{base}:{rel.as_posix()}"], top)
    meta = yaml.safe_load(text) if code == 0 else None
    version = str(meta.get("version", "")) if isinstance(meta, dict) else ""
    return {"ref": ref, "commit": base[:12], "changed": changed(chart, ref), "version": version}
