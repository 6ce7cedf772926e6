"""The figures each part reports, with what the issue requires of them, said once: the
table printer and the tests both read them from here."""

from __future__ import annotations

from typing import Any, Callable

# (figure, value, requirement): the requirement is None (reported only), 0 (must be 0), or
# ("<=", bound).
Row = tuple[str, Any, Any]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def _dash(value: Any, how: Callable[[Any], Any] = lambda v: v) -> Any:
    """'-' for what this run could not measure (an attached deployment: no process, no files)."""
    return "-" if value is None else how(value)


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


def chaos_rows(r: dict[str, Any]) -> list[Row]:
    return [("worker SIGKILLs", f"{r['worker_kills']}", None),
            ("serve SIGKILLs", f"{r['serve_kills']}", None),
            ("kills that landed mid-job", f"{r['mid_job_kills']}/{r['worker_kills'] + r['serve_kills']}", None),
            ("jobs", r["jobs"], None),
            ("jobs lost", r["lost"], 0), ("jobs stuck", r["stuck"], 0), ("verdicts changed", r["verdict_changed"], 0),
            ("kills not recovered from", r["unrecovered"], 0),
            ("workers outliving a killed serve", r["orphans"], 0),
            ("re-queued jobs showing the killed attempt (started_at, progress)", r.get("stale_attempt_shown", 0), 0),
            ("kill to recovery, median / max (s)", f"{_s(r['recovery_median_s'])} / {_s(r['recovery_max_s'])}", None),
            ("serve kill to API answering again (s)", _s(r["api_back_max_s"]), None)]


def load_rows(r: dict[str, Any]) -> list[Row]:
    c, create, poll = r["concurrency"], r["create"], r["poll"]
    duplicates = r.get("unknown_jobs", 0) + r.get("keys_with_two_ids", 0)
    return [(f"c={c}: requests (creations + polls)", f"{r['requests']} + {r.get('polls', r['requests'])}", None),
            (f"c={c}: 5xx other than 503", create["5xx"] + poll["5xx"], 0),
            (f"c={c}: rejected with 503", create["503"] + poll["503"], None),
            (f"c={c}: 503 without Retry-After", create.get("503_without_retry_after", 0) + poll.get("503_without_retry_after", 0), 0),
            (f"c={c}: client timeouts", create.get("timeouts", 0) + poll.get("timeouts", 0), None),
            (f"c={c}: requests given up after 4 tries (503s, timeouts)", create.get("failed", 0) + poll.get("failed", 0), None),
            (f"c={c}: create p50 / p95 / p99 (ms)", f"{_ms(create['p50_s'])} / {_ms(create['p95_s'])} / {_ms(create['p99_s'])}", None),
            (f"c={c}: poll p50 / p95 / p99 (ms)", f"{_ms(poll['p50_s'])} / {_ms(poll['p95_s'])} / {_ms(poll['p99_s'])}", None),
            (f"c={c}: duplicate or unknown jobs", duplicates, 0)]


def fuzz_rows(r: dict[str, Any]) -> list[Row]:
    statuses = ", ".join(f"{code}: {n}" for code, n in r["statuses"].items())
    return [("operations x modes, examples each", f"{r['operations']} x {r['modes']} (+ pinned ids), {r['max_examples']}", None),
            ("requests", r["requests"], None), ("statuses", statuses, None),
            ("5xx", r["server_errors"], 0), ("schema violations", r["schema_violations"], 0),
            ("request timeouts", r["timeouts"], 0), ("dropped connections", r["transport_errors"], 0)]


def hostile_rows(r: dict[str, Any]) -> list[Row]:
    return [("hostile uploads", r["cases"], None),
            ("hostile uploads not refused with a 4xx", r["not_4xx"], 0),
            ("5xx or dropped connections", r["server_errors"], 0),
            ("answers outside the OpenAPI (status or body)", r.get("undocumented_responses", 0), 0),
            ("path-named good uploads refused", r["path_uploads_refused"], 0),
            ("serve peak RSS growth, worst upload (MiB)", _dash(r["rss_growth_max_mib"]), ("<=", r["rss_bound_mib"])),
            ("canary read (access time moved)", _dash(r["canary_read"]), 0),
            ("canary bytes in responses", r["canary_in_responses"], 0),
            ("files written outside the data dir", _dash(r["written_outside"], len), 0),
            ("files in the data dir not content-addressed", _dash(r["unexpected_data_files"], len), 0),
            ("filenames stored with a path", len(r["paths_echoed"]), 0)]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {"chaos": chaos_rows, "load": load_rows, "fuzz": fuzz_rows,
                                                         "hostile": hostile_rows}


def met(value: Any, requirement: Any) -> bool:
    if requirement is None or value in (None, "-"):
        return True
    if requirement == 0:
        return value == 0
    op, bound = requirement
    return value <= bound


def requirement_text(requirement: Any) -> str:
    if requirement is None:
        return ""
    return "0" if requirement == 0 else f"{requirement[0]} {requirement[1]:g}"


def violations(part: str, result: dict[str, Any]) -> list[str]:
    """Each figure that misses its requirement, said as `figure = value (must be ...)`."""
    return [f"{part}: {figure} = {value} (must be {requirement_text(requirement)})"
            for figure, value, requirement in ROWS[part](result) if not met(value, requirement)]
