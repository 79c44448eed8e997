"""Plugins contribute Helm values: each resolved plugin is found by its type in the `floe.<kind>` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Protocol

from pydantic import ValidationError

from floe.errors import FloeError
from floe.models import ResolvedPlugin, error_line

#: Plugin kinds that contribute floe-platform values, in merge order.
HELM_PLUGIN_KINDS = ("orchestrator", "catalog")


class HelmValuesPlugin(Protocol):
    """What a plugin offers `floe helm generate`: floe-platform values for its component."""

    def get_helm_values(self) -> dict[str, Any]:
        """Helm values for the floe-platform chart (merged over the chart's defaults)."""
        ...


class PluginFactory(Protocol):
    """A plugin class: built from the settings the compiler resolved for it."""

    def __call__(self, settings: dict[str, Any]) -> HelmValuesPlugin:
        """Validate `settings` (pydantic) and return the plugin."""
        ...


def available(kind: str) -> list[str]:
    """Plugin types installed for a kind (entry-point names in the `floe.<kind>` group)."""
    return sorted(ep.name for ep in entry_points(group=f"floe.{kind}"))


def load_plugin(kind: str, resolved: ResolvedPlugin, source: str) -> HelmValuesPlugin:
    """The plugin instance for `plugins.<kind>`; FloeError naming the field and the installed types."""
    found = [ep for ep in entry_points(group=f"floe.{kind}") if ep.name == resolved.type]
    if not found:
        raise FloeError(f"{source}: plugins.{kind}.type: no {kind} plugin {resolved.type!r} is installed; "
                        f"use one of {', '.join(available(kind)) or '(none)'}")
    factory: PluginFactory = found[0].load()
    try:
        return factory(dict(resolved.settings))
    except ValidationError as exc:
        line = error_line(source, exc).split(": ", 1)[1]
        raise FloeError(f"{source}: plugins.{kind}.settings.{line}") from exc
