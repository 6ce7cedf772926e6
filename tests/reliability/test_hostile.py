"""Hostile uploads slice: every hostile upload once against `certbound serve`: each refused
with a 4xx, serve's peak RSS bounded, nothing read or written outside the data directory."""

from __future__ import annotations

import pytest

from benchmarks.reliability.deployment import Deployment
from benchmarks.reliability.figures import violations
from benchmarks.reliability.hostile import run_hostile


@pytest.mark.slow
def test_hostile_uploads_embedded(tmp_path):
    with Deployment.start("embedded", tmp_path) as deployment:
        result = run_hostile(deployment)
    failing = [case for case in result["detail"] if not case["ok"] or case["leaks_canary"]
               or (case["rss_growth_mib"] or 0) > result["rss_bound_mib"]]
    assert violations("hostile", result) == [], {"failing cases": failing, "paths echoed": result["paths_echoed"],
                                                 "written outside": result["written_outside"],
                                                 "unexpected data files": result["unexpected_data_files"]}
    # A local deployment measures everything (an attached one could not: '-' in the table).
    assert None not in (result["rss_growth_max_mib"], result["written_outside"], result["unexpected_data_files"])
    assert result["canary_read"] is not None, "this file system does not move access times: reads are not detected"
