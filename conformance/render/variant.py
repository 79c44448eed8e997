"""A varied copy of a chart: what its next release renders, for the immutable-fields rule.

The copy has the next patch version, another appVersion, `.Release.Revision` one higher and `now` two days
later; random functions vary by themselves. Rendering it next to the chart shows every value that changes
from one release to the next, without a cluster.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import yaml

from conformance.chart import Chart, load_chart

_ACTION = re.compile(r"{{.*?}}", re.DOTALL)
_REVISION = re.compile(r"(\$?\.Release\.Revision)\b")
_NOW = re.compile(r"(?<![.$\w\"])now\b")
_SEMVER = re.compile(r"^(v?)(\d+)\.(\d+)\.(\d+)(.*)$")
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")


def next_version(version: str) -> str:
    """The next patch version of a SemVer string (a pre-release part is dropped)."""
    m = _SEMVER.match(version)
    if not m:
        return f"{version}-varied"
    return f"{m.group(1)}{m.group(2)}.{m.group(3)}.{int(m.group(4)) + 1}"


def vary_template(text: str) -> str:
    """`.Release.Revision` one higher and `now` 49 hours later, inside template actions only."""
    def action(m: re.Match[str]) -> str:
        inner = _REVISION.sub(r"(add1 \1)", m.group(0))
        return _NOW.sub('(now | dateModify "+49h")', inner)

    return _ACTION.sub(action, text)


def _vary_tree(root: Path) -> None:
    meta = yaml.safe_load((root / "Chart.yaml").read_text()) or {}
    meta["version"] = next_version(str(meta.get("version", "0.0.0")))
    meta["appVersion"] = f"{meta.get('appVersion', '')}-varied"
    (root / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    for folder in [root / "templates", *(p / "templates" for p in (root / "charts").glob("*") if p.is_dir())]:
        for f in folder.rglob("*"):
            if f.is_file() and f.suffix in TEMPLATE_SUFFIXES:
                f.write_text(vary_template(f.read_text(errors="replace")))


def variant_of(chart: Chart) -> Chart:
    """The varied copy of a chart, made once per chart content under the cache dir (atomically)."""
    base = Path(os.environ.get("CONFORMANCE_CACHE_DIR") or tempfile.gettempdir()) / "variants"
    target = base / chart.digest / chart.path.name
    if not (target / "Chart.yaml").is_file():
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        shutil.copytree(chart.path, tmp / chart.path.name, symlinks=True)
        _vary_tree(tmp / chart.path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # another worker made it first: theirs is identical
            (tmp / chart.path.name).rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
    return load_chart(target)
