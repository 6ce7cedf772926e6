"""A distributed verify job's certificate check, split by subtree across jobs (docs/distributed.md).

The parent stores the certificate, creates one `check-part` sub-job per part but the
first, checks part 0 itself (core.certificate.split), then checks any part still queued
by then itself too (a deployment with fewer free workers than parts), and waits for the
others. The certificate is valid when every part is; the first invalid part's reason is
the check's. The unchanged whole check remains `certbound check`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.services.job_state import TERMINAL
from worker import sub_jobs

if TYPE_CHECKING:
    from core.certificate import CheckResult
    from worker.runner import JobContext

WAIT_POLL_S = 0.2


class SplitCheck:
    """A `core.verifier.certify.Checker` that splits the check into `parts` jobs."""

    def __init__(self, context: "JobContext", parts: int) -> None:
        self.context, self.parts = context, parts

    def __call__(self, onnx_bytes: bytes, prop, data: bytes, time_limit_s: float | None) -> "CheckResult":
        from core.certificate import Certificate, CheckResult, check
        from core.certificate.split import plan_of, weights_of, worth_splitting

        started = time.monotonic()
        certificate = Certificate.load(data)
        if not worth_splitting(certificate, self.parts, weights=weights_of(onnx_bytes)):
            return check(onnx_bytes, prop, certificate, time_limit_s)
        plan = plan_of(certificate, self.parts)
        sha = self.context.store.put_bytes(data)
        parts = sub_jobs.dispatch(self.context, "check-part", {
            k: {"certificate": sha, "part": k, "parts": self.parts, "time_limit_s": time_limit_s}
            for k in range(1, self.parts)}, time_limit_s or self.context.job.timeout_s)
        results = {0: check(onnx_bytes, prop, certificate, time_limit_s, part=(0, plan))}
        while len(results) < self.parts:
            for k, job in sub_jobs.states(self.context, parts).items():
                if k in results:
                    continue
                if job.status == "queued":
                    if sub_jobs.take_over(self.context, job.id):
                        results[k] = check(onnx_bytes, prop, certificate, time_limit_s, part=(k, plan))
                elif job.status in TERMINAL:
                    r = job.result or {}
                    results[k] = CheckResult(bool(r.get("valid")), r.get("reason") or f"check part {k}: {job.status} "
                                             f"({job.error})", r.get("time_s", 0.0), r.get("leaves", 0),
                                             bool(r.get("stopped")))
            if time_limit_s is not None and time.monotonic() - started > time_limit_s + 5:
                return CheckResult(False, f"the split check did not finish within its time limit of {time_limit_s:g} s",
                                   time.monotonic() - started, stopped=True)
            time.sleep(WAIT_POLL_S)
        wall = time.monotonic() - started
        leaves = sum(r.leaves for r in results.values())
        for k in sorted(results):
            if not results[k].valid:
                return CheckResult(False, results[k].reason, wall, leaves, results[k].stopped)
        return CheckResult(True, "", wall, leaves)
