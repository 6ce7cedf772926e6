"""422 for requests that fail FastAPI's parsing, in the shape of every other error.

FastAPI's own answer echoes each bad input back, and a NaN or Infinity (which Python's
JSON parser accepts) cannot be rendered as JSON, so the 422 became a 500. This answer
echoes nothing: `detail` names each field and says what is wrong, `problems` lists them.
A body read as a tagged union (a job, by `kind`) names fields without the tag.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.schemas import JOB_TAGS

BODY_TAGS = JOB_TAGS  # the tags of the discriminated unions that bodies are read with


def problem(error: dict[str, Any]) -> str:
    """One error as `field: message`; body fields by their path, others by where they came from."""
    loc = list(error["loc"])
    if error["type"] == "json_invalid":
        return f"body: not JSON ({error.get('ctx', {}).get('error', 'decode error')} at character {loc[-1]})"
    where = loc[1:] if loc[:1] == ["body"] else loc
    if loc[:1] == ["body"] and where[:1] and where[0] in BODY_TAGS:  # which variant, not a field
        where = where[1:]
    return f"{'.'.join(map(str, where)) or 'body'}: {error['msg']}"


async def request_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [problem(error) for error in exc.errors()]
    return JSONResponse({"detail": "invalid request: " + "; ".join(problems), "problems": problems}, status_code=422)
