"""422 for requests that fail FastAPI's parsing, in the shape of every other error.

FastAPI's own answer echoes each bad input back, and a NaN or Infinity (which Python's
JSON parser accepts) cannot be rendered as JSON, so the 422 became a 500. This answer
echoes nothing: `detail` names each field and says what is wrong, `problems` lists them.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def problem(error: dict[str, Any]) -> str:
    """One error as `field: message`; body fields by their path, others by where they came from."""
    loc = list(error["loc"])
    if error["type"] == "json_invalid":
        return f"body: not JSON ({error.get('ctx', {}).get('error', 'decode error')} at character {loc[-1]})"
    where = loc[1:] if loc[:1] == ["body"] else loc
    return f"{'.'.join(map(str, where)) or 'body'}: {error['msg']}"


async def request_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [problem(error) for error in exc.errors()]
    return JSONResponse({"detail": "invalid request: " + "; ".join(problems), "problems": problems}, status_code=422)
