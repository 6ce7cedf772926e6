"""The dashboard's pages over a TestClient: job list, job page, model page, status strip."""

from __future__ import annotations

import json

import pytest

from app.db.models import utcnow
from tests.web.support import finish_with_progress, text_of


@pytest.fixture
def nano(alice, bundled_benchmarks):
    """Alice's uploaded tiny model and property."""
    model = alice.api.upload_ok("models", bundled_benchmarks / "mlp" / "onnx" / "tiny.onnx.gz")
    prop = alice.api.upload_ok("properties", bundled_benchmarks / "mlp" / "vnnlib" / "tiny_unsat.vnnlib.gz")
    return model, prop


def test_job_list_shows_the_owners_jobs_with_names_and_filters(alice, nano):
    model, prop = nano
    verify_id = alice.api.submit(model, prop)
    inspect_id = alice.api.submit(model, kind="inspect")
    page = alice.get("/jobs")
    assert page.status_code == 200
    assert verify_id[:8] in page.text and inspect_id[:8] in page.text
    assert "tiny.onnx.gz" in page.text and "tiny_unsat.vnnlib.gz" in page.text
    assert "2 jobs." in text_of(page)
    only_inspect = alice.get("/jobs?kind=inspect&status=")
    assert inspect_id[:8] in only_inspect.text and verify_id[:8] not in only_inspect.text
    assert "1 job matches the filter." in text_of(only_inspect)
    assert verify_id[:8] not in alice.get("/jobs?status=running").text


def test_job_list_pages_with_the_cursor(alice, nano):
    from app.web import pages

    model, prop = nano
    ids = [alice.api.submit(model, prop) for _ in range(3)]
    original, pages.PAGE_SIZE = pages.PAGE_SIZE, 2
    try:
        first = alice.get("/jobs")
        assert ids[2][:8] in first.text and ids[1][:8] in first.text and ids[0][:8] not in first.text
        older = first.text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
        second = alice.get(older)
        assert ids[0][:8] in second.text and ids[1][:8] not in second.text
        assert 'rel="next"' not in second.text and ">Newest<" in second.text
    finally:
        pages.PAGE_SIZE = original


def test_bad_filters_and_cursors_answer_with_a_page_naming_them(alice):
    response = alice.get("/jobs?status=exploded")
    assert response.status_code == 422 and "status" in text_of(response) and "<html" in response.text
    response = alice.get("/jobs?cursor=garbage")
    assert response.status_code == 422 and "cursor 'garbage'" in text_of(response)


@pytest.mark.parametrize("query, last_event_id", [("?after=2147483648", None), ("", "9223372036854775808"), ("", "x")])
def test_a_live_view_from_an_event_id_out_of_range_is_a_page_not_a_broken_stream(alice, nano, query, last_event_id):
    job_id = alice.api.submit(*nano)
    alice.api.post(f"/jobs/{job_id}/cancel")
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    response = alice.get(f"/jobs/{job_id}/events{query}", headers=headers)
    assert response.status_code == 422 and "<html" in response.text
    assert ("after" if query else "last-event-id") in text_of(response)


def test_job_page_shows_progress_chart_data_verdict_and_download(alice, nano, api_settings):
    model, prop = nano
    job_id = alice.api.submit(model, prop, timeout_s=40)
    reports = [{"phase": "bab", "domains_visited": 10 * i, "domains_open": 5 - i, "lower_bound": -1.0 + 0.5 * i,
                "elapsed_s": 1.5 * i} for i in range(1, 4)]
    finish_with_progress(api_settings, job_id, reports, status="running")
    page = alice.get(f"/jobs/{job_id}")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    words = text_of(page)
    assert "Phase bab" in words and "Domains visited 30" in words and "Domains open 2" in words
    assert "Best lower bound 0.5" in words and "4.5 s of 40.0 s" in words and 'id="cancel"' in page.text
    series = json.loads(page.text.split('<script id="job-series" type="application/json">')[1].split("</script>")[0])
    assert series["elapsed_s"] == [1.5, 3.0, 4.5] and series["lower_bound"] == [-0.5, 0.0, 0.5]
    assert series["domains_open"] == [4, 3, 2] and series["last_event"] > 0
    assert alice.get(f"/jobs/{job_id}/certificate").status_code == 409  # running: no file yet


def test_job_page_shows_the_error_of_a_failed_job(alice, nano, api_settings):
    model, prop = nano
    job_id = alice.api.submit(model, prop)
    finish_with_progress(api_settings, job_id, [{"phase": "loading", "elapsed_s": 0.1}], status="failed",
                         verdict="error", error="RuntimeError: the <engine> broke", finished_at=utcnow())
    page = alice.get(f"/jobs/{job_id}/panel")
    assert "RuntimeError: the &lt;engine&gt; broke" in page.text and 'id="cancel"' not in page.text
    assert "verdict-error" in page.text


def test_cancel_from_the_page_with_and_without_htmx(alice, nano):
    model, prop = nano
    first, second = alice.api.submit(model, prop), alice.api.submit(model, prop)
    plain = alice.post(f"/jobs/{first}/cancel")
    assert plain.status_code == 303 and plain.headers["location"] == f"/jobs/{first}"
    fragment = alice.post(f"/jobs/{second}/cancel", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith("<section id=\"job-panel\"")
    assert "badge-cancelled" in fragment.text and 'id="cancel"' not in fragment.text
    again = alice.post(f"/jobs/{second}/cancel", headers={"HX-Request": "true"})
    assert again.status_code == 200 and "badge-cancelled" in again.text
    assert {alice.api.get(f"/jobs/{i}").json()["status"] for i in (first, second)} == {"cancelled"}
    assert alice.post(f"/jobs/{first}/cancel", data={"csrf": "forged"}).status_code == 403


def test_model_page_lists_operators_shapes_parameters_and_jobs(alice, nano):
    model, prop = nano
    job_id = alice.api.submit(model, prop)
    page = alice.get(f"/models/{model['id']}")
    words = text_of(page)
    assert f"Parameters {model['n_params']:,}" in words
    for op, n in model["operators"].items():
        assert f"{op} {n}" in words
    for io in model["inputs"] + model["outputs"]:
        assert io["name"] in words
    assert job_id[:8] in page.text


def test_another_owners_objects_are_never_shown(alice, bob, nano):
    model, prop = nano
    job_id = alice.api.submit(model, prop)
    assert job_id[:8] not in bob.get("/jobs").text and "0 jobs." in text_of(bob.get("/jobs"))
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/panel", f"/jobs/{job_id}/certificate",
                 f"/jobs/{job_id}/events", f"/models/{model['id']}"):
        response = bob.get(path)
        assert response.status_code == 404 and "not found" in response.text, path
    assert bob.post(f"/jobs/{job_id}/cancel").status_code == 404
    assert alice.api.get(f"/jobs/{job_id}").json()["status"] == "queued"


def test_status_strip_counts_queued_and_running_jobs(alice, nano):
    model, prop = nano
    before = text_of(alice.get("/status"))
    alice.api.submit(model, prop)
    after = text_of(alice.get("/status"))
    queued = lambda words: int(words.split(" queued")[0].replace(",", ""))  # noqa: E731
    assert queued(after) == queued(before) + 1 and "live worker" in after


def test_static_files_are_the_shipped_ones_only(client):  # noqa: F811
    for name, media in (("vendor/htmx.min.js", "javascript"), ("vendor/uPlot.iife.min.js", "javascript"),
                        ("dashboard.css", "text/css"), ("job.js", "javascript")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and media in response.headers["content-type"], name
    assert client.get("/static/../session.py").status_code == 404
    assert client.get("/static/vendor/LICENSE.htmx").status_code == 404
