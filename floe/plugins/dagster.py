"""The Dagster orchestrator plugin: floe-platform's `dagster` values."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from floe.models import Strict


class CodeLocation(Strict):
    """A Dagster code server (gRPC) listed in workspace.yaml."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,63}$")]
    host: Annotated[str, Field(max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)]


class DagsterSettings(Strict):
    """Settings of the Dagster plugin in compiled artifacts (`plugins.orchestrator.settings`)."""

    webserver_replicas: Annotated[int, Field(ge=1, le=20)] = 1
    daemon_replicas: Annotated[int, Field(ge=1, le=1)] = 1
    image_tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] | None = None
    code_locations: list[CodeLocation] = Field(default_factory=list, max_length=20)


class DagsterOrchestratorPlugin:
    """Orchestration by Dagster: webserver and daemon sizing, image and code locations."""

    def __init__(self, settings: dict[str, Any]) -> None:
        """Validate the plugin's settings (strict: unknown keys are refused)."""
        self.settings = DagsterSettings.model_validate(settings, strict=False)

    def get_helm_values(self) -> dict[str, Any]:
        """Values for the floe-platform chart's `dagster` section."""
        s = self.settings
        values: dict[str, Any] = {
            "enabled": True,
            "dagsterWebserver": {"replicaCount": s.webserver_replicas},
            "dagsterDaemon": {"replicaCount": s.daemon_replicas},
            # Lists replace in Helm's merge: the artifact's code locations are the whole list.
            "workspace": {"servers": [loc.model_dump() for loc in s.code_locations]},
        }
        if s.image_tag:
            values["image"] = {"tag": s.image_tag}
        return {"dagster": values}
