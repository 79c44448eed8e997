"""Rendering charts into manifests: the real `helm template` (reference) and an in-process backend."""

from conformance.render.manifest import Manifest, RenderResult, parse_manifests

__all__ = ["Manifest", "RenderResult", "parse_manifests"]
