"""The persistent render backend: `helmrender` (tools/helmrender), Helm 4's own engine from the same pin as the
`helm` CLI, loads a chart once and renders each set of values it reads as a JSON line on stdin.

It renders what `helm template --kube-version X --namespace conformance conformance CHART --values -` renders
(`conformance.render.helm_cli.template_args`): same release name, namespace, revision 1, client-only install,
Kubernetes version, hooks and `helm test` documents, and the same output text, parsed by the same
`result_from_output`. The differential test (tests/test_inprocess_render.py) proves the two agree.
"""

from __future__ import annotations

import atexit
import json
import select
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.render.helm_cli import NAMESPACE, RELEASE, helm_error
from conformance.render.manifest import RenderResult, result_from_output
from conformance.timeouts import TIMEOUTS
from conformance.tools import tool_path

_DEBUG_HINT = "Use --debug flag to render out invalid YAML"


def comparable_error(text: str) -> str:
    """An error message normalised so the CLI's stderr and the engine's answer of the same error compare equal."""
    return " ".join(helm_error(text.replace(_DEBUG_HINT, "")).split())


def files_request(files: tuple[Path, ...], validate: bool) -> dict[str, Any]:
    """The request that renders values files as `helm template --values F1 --values F2` does."""
    return {"files": [str(f) for f in files], "validate": validate}


class Engine:
    """One `helmrender` process for a chart x Kubernetes version x release x namespace, started on first use
    and restarted after a timeout or a crash. Calls are serialised (one request, one answer: a JSON line, and
    for a manifest its `manifest_bytes` raw bytes after it)."""

    def __init__(self, chart_dir: Path, kube_version: str, release: str, namespace: str) -> None:
        self.args = [tool_path("helmrender"), str(chart_dir), "--kube-version", kube_version,
                     "--release", release, "--namespace", namespace]
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
            self.starts += 1
        return self.proc

    def stop(self) -> None:
        """End the process (closing stdin is enough: it exits at end of input)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def ask(self, values: dict[str, Any], validate: bool, timeout: float) -> dict[str, Any]:
        """Render user values; the answer is `manifest` or `error`. Past `timeout` the process is killed."""
        return self.request({"values": values, "validate": validate}, timeout)

    def ask_files(self, files: tuple[Path, ...], validate: bool, timeout: float) -> dict[str, Any]:
        """Render values files as `helm template --values F1 --values F2` does (Helm reads and merges them)."""
        return self.request(files_request(files, validate), timeout)

    def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and read its answer (`manifest` or `error`); past `timeout` the process is killed."""
        with self.lock:
            return self._send(payload) or self._receive(timeout)

    def pipeline(self, payloads: list[dict[str, Any]], timeout: float) -> Iterator[dict[str, Any]]:
        """The answers to several requests, in order, each next request sent before the current answer is read,
        so the engine renders it while the caller handles this answer. After a crash or a timeout the rest are
        asked one by one (a fresh process)."""
        done = 0
        with self.lock:
            failed = self._send(payloads[0]) if payloads else {}
            while not failed and done < len(payloads):
                if done + 1 < len(payloads) and (failed := self._send(payloads[done + 1])):
                    break
                answer = self._receive(timeout)
                done += 1
                yield answer
                if self.proc is None:  # it died or timed out: the request sent after this one is lost
                    break
        for payload in payloads[done:]:
            yield self.request(payload, timeout)

    def _send(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Write one request (the lock held); {} when sent, else the error answer (the process died)."""
        proc = self._start()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({**payload, "raw": True}, ensure_ascii=False).encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            return {"error": self._died()}
        return {}

    def _receive(self, timeout: float) -> dict[str, Any]:
        """Read the answer to the oldest unanswered request (the lock held)."""
        proc = self.proc
        if proc is None or proc.stdout is None:
            return {"error": "helmrender: no request is waiting for an answer"}
        stdout = proc.stdout
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            self.stop()
            return {"error": f"render timed out after {timeout:g}s (helmrender)"}
        head = stdout.readline()
        if not head:
            return {"error": self._died()}
        data: dict[str, Any] = json.loads(head)
        size = data.pop("manifest_bytes", None)
        if size is not None:
            # The manifest follows its header as raw bytes (no JSON escaping on either side).
            body = stdout.read(size)
            if len(body) != size:
                return {"error": self._died()}
            data["manifest"] = body.decode()
        return data

    def _died(self) -> str:
        proc, self.proc = self.proc, None
        detail = b""
        if proc is not None:
            proc.kill()
            _, detail = proc.communicate(timeout=TIMEOUTS.process_exit)
        return f"helmrender exited: {detail.decode(errors='replace').strip()[:300] or 'no message'}"


_ENGINES: dict[tuple[str, str, str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine(chart_dir: Path, kube_version: str, release: str = RELEASE, namespace: str = NAMESPACE) -> Engine:
    """The engine of a chart (one process per chart x version x release x namespace, kept for the run)."""
    key = (str(chart_dir.resolve()), kube_version, release, namespace)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = Engine(chart_dir.resolve(), kube_version, release, namespace)
        return _ENGINES[key]


@atexit.register
def stop_all() -> None:
    """End every engine process."""
    for e in list(_ENGINES.values()):
        e.stop()


def render_text(chart_dir: Path, values: dict[str, Any], kube_version: str, validate: bool = True,
                timeout: float = TIMEOUTS.fuzz_example) -> tuple[str, str]:
    """(manifest text as `helm template` prints it, error) of one render."""
    answer = engine(chart_dir, kube_version).ask(values, validate, timeout)
    return str(answer.get("manifest", "")), str(answer.get("error", ""))


def _result(answer: dict[str, Any], kinds: frozenset[str] | None = None) -> RenderResult:
    if answer.get("error"):
        return RenderResult(error=comparable_error(str(answer["error"])))
    return result_from_output(str(answer.get("manifest", "")), kinds)


def render_files(chart_dir: Path, files: tuple[Path, ...], kube_version: str,
                 timeout: float = TIMEOUTS.helm_template, kinds: frozenset[str] | None = None) -> RenderResult:
    """What `conformance.render.helm_cli.render_files` renders (`helm template --values F...`, Helm's schema check
    on), through the persistent engine: Helm reads and merges the files itself. Errors normalised by
    `comparable_error`; `kinds`: only objects of these kinds are wanted (the others are not parsed)."""
    return _result(engine(chart_dir, kube_version).ask_files(files, True, timeout), kinds)


def render_scenarios(chart_dir: Path, scenarios: list[tuple[Path, ...]], kube_version: str,
                     timeout: float = TIMEOUTS.helm_template, kinds: frozenset[str] | None = None
                     ) -> Iterator[RenderResult]:
    """`render_files` of each set of values files, in order, pipelined: the engine renders the next while the
    caller parses and checks this one."""
    payloads = [files_request(files, True) for files in scenarios]
    for answer in engine(chart_dir, kube_version).pipeline(payloads, timeout):
        yield _result(answer, kinds)


def render_values(chart_dir: Path, values: dict[str, Any], kube_version: str, release: str = RELEASE,
                  namespace: str = NAMESPACE, timeout: float = TIMEOUTS.fuzz_example,
                  validate: bool = True) -> RenderResult:
    """Render a chart with user values (coalesced over its defaults by Helm) through the persistent engine.

    `validate=False` skips Helm's values.schema.json check, for values `jsonschema` already accepted.
    """
    return _result(engine(chart_dir, kube_version, release, namespace).ask(values, validate, timeout))
