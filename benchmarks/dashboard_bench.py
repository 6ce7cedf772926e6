"""Dashboard page times with many jobs in the database (target: job list under 200 ms
with 10,000 jobs).

    python benchmarks/dashboard_bench.py [--jobs 10000] [--events 3600] [--repeat 20]

Fills a temporary SQLite database (the embedded default) with one owner's jobs on a real
uploaded model and property from the shared benchmarks, the newest job with `--events`
progress reports (an hour at one a second), then times each page through the whole ASGI
stack (routing, cookie sign-in, queries, templates) with a TestClient: median and best of
`--repeat` requests, after one warm-up request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402
from tests.conftest import BENCHMARKS  # noqa: E402
from tests.service.support import new_token, sqlite_settings  # noqa: E402
from tests.web.support import WebUser, fill_jobs  # noqa: E402


def timed(user: WebUser, path: str, repeat: int) -> tuple[float, float]:
    """(median, best) milliseconds of GET `path`, each answered 200."""
    times = []
    for attempt in range(repeat + 1):
        start = time.perf_counter()
        response = user.get(path)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        if attempt:
            times.append(elapsed * 1000)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=3600)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = sqlite_settings(Path(tmp))
        with TestClient(create_app(settings, maintenance=False)) as client:
            user = WebUser(client, new_token(settings, "bench"))
            model = user.api.upload_ok("models", BENCHMARKS / "acasxu" / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx.gz")
            prop = user.api.upload_ok("properties", BENCHMARKS / "acasxu" / "vnnlib" / "prop_1.vnnlib.gz")
            start = time.perf_counter()
            ids = fill_jobs(settings, user.secret, model["id"], prop["id"], args.jobs, progress_events=args.events)
            print(f"filled {args.jobs:,} jobs and {args.events:,} progress events in {time.perf_counter() - start:.2f} s")
            second_page = user.get("/jobs").text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
            pages = {"job list": "/jobs", "job list, status=failed": "/jobs?status=failed",
                     "job list, kind=inspect": "/jobs?kind=inspect", "job list, page 2": second_page,
                     f"job page ({args.events:,} events)": f"/jobs/{ids[0]}", "job panel fragment": f"/jobs/{ids[0]}/panel",
                     "model page": f"/models/{model['id']}", "status strip": "/status"}
            print(f"{'page':<36} {'median ms':>10} {'best ms':>8}")
            for name, path in pages.items():
                median, best = timed(user, path, args.repeat)
                print(f"{name:<36} {median:>10.1f} {best:>8.1f}")


if __name__ == "__main__":
    main()
