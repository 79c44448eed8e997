"""Loading values files and merging them the way Helm does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import UsageError

Values = dict[str, Any]


def load_yaml_mapping(path: Path, what: str = "values file") -> Values:
    """Read a YAML file that must hold a mapping (empty file = {}); UsageError with file and line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what} ({exc.strerror}); check the path") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UsageError(f"{path}: {problem}{where}; fix the YAML syntax") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: top level is a {type(data).__name__}, not a mapping; a {what} maps keys")
    return data


def merge_values(base: Values, override: Values, share: bool = False) -> Values:
    """Helm's coalesce: maps merge deeply, other values replace, and null deletes the key.

    `share`: no copies; the result holds the subtrees of `base` the override leaves alone and the override's own
    values (for callers that never mutate it, such as the fuzzer, which validates each merge).
    """
    out = dict(base) if share else copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value, share)
        else:
            out[key] = value if share else copy.deepcopy(value)
    return out


def diff_values(base: Values, values: Values) -> Values:
    """Only what `values` changes relative to `base` (the minimal override that reproduces it)."""
    out: Values = {}
    for key, value in values.items():
        if key not in base:
            out[key] = value
        elif isinstance(value, dict) and isinstance(base[key], dict):
            sub = diff_values(base[key], value)
            if sub:
                out[key] = sub
        elif value != base[key]:
            out[key] = value
    for key in base:
        if key not in values:
            out[key] = None
    return out
