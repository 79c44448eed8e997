"""Rendered documents, each with the template it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

_SOURCE = re.compile(r"^# Source: (?P<src>.+)$", re.MULTILINE)
#: Where Helm splits documents (pkg/release/util SplitManifests: `(?:^|\s*\n)---\s*`): at `---` starting a
#: line, whatever follows it, so `---# comment` starts a document whose first line is the comment. The newline
#: before `---` stays with the previous document (a trailing `|` block keeps its final newline, as Helm prints it).
#: The separator is `---` plus the blanks (not newlines) after it; split_documents finds it with str.find.
SEPARATOR = re.compile(r"(?:^|(?<=\n))---[^\S\n]*")
_BLANKS = re.compile(r"[^\S\n]*")
#: libyaml's safe loader parses rendered manifests about 7x faster than the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Manifest:
    """One rendered Kubernetes object and the chart template that produced it."""

    obj: dict[str, Any]
    template: str = ""

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        """The object's metadata.name."""
        return str((self.obj.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str:
        """The object's metadata.namespace (empty when the release namespace applies)."""
        return str((self.obj.get("metadata") or {}).get("namespace", "") or "")

    @property
    def ref(self) -> str:
        """`Kind/name`, the object's handle in test IDs, findings and waivers."""
        return f"{self.kind}/{self.name}"


@dataclass
class RenderResult:
    """The outcome of one render: manifests, or the error Helm gave."""

    manifests: list[Manifest] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the chart rendered."""
        return not self.error


class DuplicateKeyError(ValueError):
    """A rendered document maps the same key twice: YAML parsers keep the last, so an object is lost."""


def duplicate_key(doc: str) -> str:
    """The first key a document's mappings repeat, as 'key (line N)', or '' (usually a missing newline
    before a `---` glued two objects together)."""
    return repeated_key(yaml.compose(doc, Loader=_LOADER))


def repeated_key(root: yaml.Node | None) -> str:
    """The first key the mappings of a composed YAML document repeat, as 'key (line N)', or ''."""
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        return f"{key.value!r} (line {key.start_mark.line + 1})"
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return ""


def parse_document(doc: str, template: str) -> list[Manifest]:
    """The objects of one YAML document of a render; DuplicateKeyError when it repeats a key."""
    loader = _LOADER(doc)  # composed once: checked for repeated keys, then constructed
    try:
        node = loader.get_single_node()
        dup = repeated_key(node)
        if dup:
            raise DuplicateKeyError(f"{template or 'a rendered document'}: key {dup} appears twice in one "
                                    "document; a template probably lacks a newline before `---`")
        obj = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    if isinstance(obj, dict) and obj:
        return [Manifest(obj, template)]
    if isinstance(obj, list):
        return [Manifest(o, template) for o in obj if isinstance(o, dict)]
    return []


def _after_blanks(text: str, pos: int) -> int:
    m = _BLANKS.match(text, pos)
    return m.end() if m else pos


def split_documents(text: str) -> list[str]:
    """A template's or a render's YAML documents, split where Helm splits them: `SEPARATOR.split(text)`, found
    with str.find on `\\n---` (about 25 times faster on a render than the regular expression, which tries every
    position)."""
    out: list[str] = []
    start = 0
    if text.startswith("---"):
        out.append("")
        start = _after_blanks(text, 3)
    at = text.find("\n---", start)
    while at != -1:
        out.append(text[start:at + 1])
        start = _after_blanks(text, at + 4)
        at = text.find("\n---", start)
    out.append(text[start:])
    return out


@lru_cache(maxsize=8192)
def _parse_source_document(doc: str) -> tuple[Manifest, ...]:
    """The objects of one `# Source:` document, memoised: most documents render the same for most values (fuzzing).

    The objects are shared between results, so they must not be mutated (rules are pure functions).
    """
    m = _SOURCE.search(doc)
    return tuple(parse_document(doc, m.group("src").strip() if m else ""))


def forget_parsed() -> None:
    """Empty the memo of parsed documents (benchmarks start each backend from the same state)."""
    _parse_source_document.cache_clear()


#: A document's top-level `kind: X` line (block style, as charts write it).
_KIND = re.compile(r"^kind:[ \t]*[\"']?([A-Za-z0-9]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)


def _wanted(doc: str, kinds: frozenset[str] | None) -> bool:
    """False only for a document whose single top-level `kind:` line names a kind not in `kinds`."""
    if kinds is None:
        return True
    found = _KIND.findall(doc)
    return len(found) != 1 or found[0] in kinds


def parse_manifests(text: str, kinds: frozenset[str] | None = None) -> list[Manifest]:
    """Split `helm template` output into objects, keeping each document's `# Source:` template (`kinds`: only
    the objects of these kinds are needed, so a document that plainly declares another kind is not parsed).

    Raises DuplicateKeyError when a document repeats a key (an object would silently disappear).
    """
    return [m for doc in split_documents(text) if _wanted(doc, kinds) for m in _parse_source_document(doc)
            if kinds is None or m.kind in kinds]


def result_from_output(text: str, kinds: frozenset[str] | None = None) -> RenderResult:
    """The RenderResult of `helm template` output: its objects (of `kinds` only, when given), or the
    glued-documents error."""
    try:
        return RenderResult(parse_manifests(text, kinds))
    except DuplicateKeyError as exc:
        return RenderResult(error=str(exc))
