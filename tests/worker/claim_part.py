"""`python -m tests.worker.claim_part FILE`: a process that runs one sub-job, for tests
that SIGKILL it. It waits for FILE to name a parent job, then claims and runs that job's
first queued sub-job (settings from the environment)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.settings import Settings
from tests.app.parallel import queued_parts
from worker.runner import run_attempt


def main(path: Path) -> None:
    settings = Settings()
    while not path.is_file() or not path.read_text():
        time.sleep(0.02)
    parent = path.read_text().strip()
    while True:
        for job_id in queued_parts(settings, parent):
            if run_attempt(settings, job_id, "doomed@test") is not None:
                return
        time.sleep(0.02)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
