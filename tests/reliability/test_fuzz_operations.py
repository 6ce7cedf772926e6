"""The fuzz's checks as one pytest test per operation, through schemathesis's pytest
integration (`@schema.parametrize()`, `case.call_and_validate`): a failure shows its first
example, shrunk, with a curl command.

The schema is loaded at import from an app on a throw-away SQLite data directory:
schemathesis 4.32's `schemathesis.pytest.from_fixture` fails under pytest 9.2 ("'Function'
object has no attribute '_nodeid'", with any fixture), so the app cannot come from a fixture.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.main import create_app
from benchmarks.reliability.fuzz import CHECKS
from tests.service.support import new_token, sqlite_settings

_DATA = Path(tempfile.mkdtemp(prefix="certbound-fuzz-"))
atexit.register(shutil.rmtree, _DATA, True)
_SETTINGS = sqlite_settings(_DATA / "data")
_TOKEN = new_token(_SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_SETTINGS, maintenance=False))


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_each_operation_answers_as_documented(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {_TOKEN}"}, checks=CHECKS)
