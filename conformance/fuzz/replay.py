"""Replay files: the minimal values of a finding, written as `<reports>/fuzz/<id>.yaml`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from conformance.values import Values

#: Plain scalars that Go's YAML reads as numbers, booleans or null though PyYAML writes them unquoted.
_AMBIGUOUS = re.compile(r"^([-+.0-9]|(y|n|yes|no|on|off|true|false|null|~)$)", re.IGNORECASE)


class _Dumper(yaml.SafeDumper):
    """A dumper that double-quotes strings Go's YAML 1.1 parser could read as another type."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = '"' if _AMBIGUOUS.match(text) or text == "" else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(values: Values) -> str:
    """Values as YAML that Helm reads back to the same data."""
    return yaml.dump(values, Dumper=_Dumper, sort_keys=True, allow_unicode=True, default_flow_style=False)


def replay_id(rule: str, values: Any) -> str:
    """A stable ID of a finding: the rule and a hash of its minimal values."""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{rule}-{digest}"


def write_replay(reports: Path, chart: Path, rule: str, values: Values, message: str) -> Path:
    """Write the replay file and return its path; its header says how to reproduce the finding."""
    path = reports / "fuzz" / f"{replay_id(rule, values)}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [f"# {rule}: {line}" for line in message.splitlines()[:5]]
    header.append(f"# reproduce: {replay_command(chart, path)}")
    path.write_text("\n".join(header) + "\n" + to_yaml(values))
    return path


def replay_command(chart: Path, path: Path) -> str:
    """The command that reproduces a finding from its replay file."""
    return f"conformance check {chart} --values {path}"
