"""Fuzz: schemathesis over the API's OpenAPI, with the bearer token: no 5xx, no response
outside the schema (undocumented status, content type, headers or body shape).

Every operation is run in schemathesis's positive mode (inputs the schema allows) and
negative mode (inputs it forbids), and once more in positive mode with its path
parameters pinned to objects that exist (a model, a property, a job), so that the
200/409 paths are reached and not only the 404s. Each response is checked with
not_a_server_error and the conformance checks; failures are counted, not raised, so
that one run gives every figure. Requests time out after `request_timeout_s` (live
server only): GET /jobs/{id}/events with `Accept: text/event-stream` streams until the
job finishes, so a generated Accept header naming the stream on a pinned running job
could hang the run; a timeout is counted, never a pass.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
SCHEMA_CHECKS = {"status_code_conformance", "content_type_conformance", "response_headers_conformance",
                 "response_schema_conformance"}


def load_schema(*, app: Any = None, root_url: str | None = None):
    """The OpenAPI schema of an in-process ASGI app, or of a live server at `root_url`."""
    if app is not None:
        return schemathesis.openapi.from_asgi("/openapi.json", app)
    return schemathesis.openapi.from_url(f"{root_url}/openapi.json", timeout=30)


def _pinned(path: str, known: dict[str, str]) -> dict[str, str] | None:
    for segment, key, name in (("/models/", "model", "object_id"), ("/properties/", "property", "object_id"),
                               ("/jobs/", "job", "job_id")):
        if segment in path and key in known:
            return {name: known[key]}
    return None


def run_fuzz(token: str, *, app: Any = None, root_url: str | None = None, max_examples: int = 20,
             modes: tuple[str, ...] = ("positive", "negative"), known_ids: dict[str, str] | None = None,
             request_timeout_s: float = 10.0, random_seed: int | None = 0) -> dict[str, Any]:
    """Run the fuzz against `app` (in process) or `root_url` (live); returns the figures.
    `known_ids` (model, property, job) pins path parameters for one more positive pass."""
    schema = load_schema(app=app, root_url=root_url)
    auth = {"Authorization": f"Bearer {token}"}
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    counts = {"requests": 0, "server_errors": 0, "schema_violations": 0, "timeouts": 0, "transport_errors": 0,
              "operations": 0, "unloadable_operations": 0, "passes_without_input": 0}
    start = time.monotonic()

    def exercise(case) -> None:
        label = f"{case.operation.label}"
        kwargs: dict[str, Any] = {"headers": auth}
        if app is None:
            kwargs.update(base_url=root_url, timeout=request_timeout_s)
        try:
            response = case.call(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a hang or a dropped connection is a finding
            key = "timeouts" if "timeout" in type(exc).__name__.lower() else "transport_errors"
            counts[key] += 1
            examples.setdefault(f"{key}: {label}", repr(exc)[:300])
            return
        counts["requests"] += 1
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as group:
            _count(group.exceptions, label, response.status_code, case)
        except Failure as failure:
            _count([failure], label, response.status_code, case)

    def _count(found, label: str, status: int, case) -> None:
        names = {name for failure in found for name in (failure.checks or ("custom",))}
        if "not_a_server_error" in names or status >= 500:
            counts["server_errors"] += 1
        if names & SCHEMA_CHECKS:
            counts["schema_violations"] += 1
        for failure in found:
            key = f"{label} -> {status}: {failure.title}"
            failures[key] += 1
            if key not in examples:
                try:
                    request = case.as_curl_command(headers=auth)
                except Exception:  # noqa: BLE001 - the example is a courtesy
                    request = f"{case.method} {case.formatted_path}"
                examples[key] = f"{(failure.message or '')[:300]}\n  request: {request[:500]}"

    def run(strategy) -> None:
        @settings(max_examples=max_examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def test(case) -> None:
            exercise(case)

        try:
            (seed(random_seed)(test) if random_seed is not None else test)()
        except Unsatisfiable:  # e.g. negative mode of an operation that takes no input at all
            counts["passes_without_input"] += 1

    for result in schema.get_all_operations():
        if not hasattr(result, "ok"):  # an operation schemathesis cannot read: a schema problem
            counts["unloadable_operations"] += 1
            examples.setdefault("unloadable operation", str(result.err())[:400])
            continue
        operation = result.ok()
        counts["operations"] += 1
        for mode in modes:
            run(operation.as_strategy(generation_mode=GenerationMode(mode)))
        pinned = _pinned(operation.path, known_ids or {})
        if pinned:
            run(operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=pinned))

    return {**counts, "max_examples": max_examples, "modes": ",".join(modes), "seconds": round(time.monotonic() - start, 1),
            "statuses": dict(sorted(statuses.items())), "failures": dict(failures.most_common()),
            "examples": examples}
