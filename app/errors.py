"""Service-level errors; app.main maps each to its HTTP status in one place."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """What every error answer of the API holds (ServiceError.body, request validation,
    HTTP errors), documented once in the OpenAPI schema."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "detail": "invalid request: timeout_s: Input should be a finite number",
        "problems": ["timeout_s: Input should be a finite number"]}})

    detail: str = Field(description="what is wrong, for people")
    problems: list[str] | None = Field(None, description="each problem, naming its field or part, when "
                                       "there can be several; some errors add fields such as `line`, `column` "
                                       "or `limit_bytes`")


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, **self.detail}


class NotFound(ServiceError):
    """Absent, or owned by someone else: both answer the same, never revealing which."""

    status_code = 404

    def __init__(self, what: str, object_id: str):
        super().__init__(f"{what} {object_id!r} not found")


class Invalid(ServiceError):
    status_code = 422


class TooLargeUpload(ServiceError):
    status_code = 413


class Conflict(ServiceError):
    status_code = 409
