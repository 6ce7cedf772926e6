"""The error answers of each API operation in the OpenAPI schema, all with one body (ErrorBody).

Clients and the schemathesis fuzz read the schema to learn what an operation may answer.
The errors that come from machinery every route shares are added here to the schema
FastAPI builds, read off each operation, so they stay true as routes change: the bearer
token (401, where the operation names the bearer scheme), the database that every API
route reads (503 with `Retry-After`, app.capacity), the body-size middleware on POST
(411, 413), FastAPI's reading of parameters and bodies (422 where there are any, whose
list-shaped body app.validation replaced; 400 for a JSON body that is not even text).
What a route's own service answers (404, 409, a 422 of its own) its decorator declares
with `errors(...)`; an operation's own declarations win.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from app.errors import ErrorBody

ERRORS: dict[int, dict[str, Any]] = {
    400: {"description": "The body could not be read at all (for JSON: not UTF-8)."},
    401: {"description": "No `Authorization: Bearer` token, or one this server does not know.",
          "headers": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}},
    404: {"description": "No such object among the token's own (another owner's answers the same)."},
    409: {"description": "The object's state does not allow it (such as cancelling a finished job)."},
    411: {"description": "A body sent without Content-Length (chunked)."},
    413: {"description": "The body is larger than the upload limit (`limit_bytes`)."},
    422: {"description": "Invalid input: `detail` names each field and what is wrong with it; `problems` "
                         "lists them one by one."},
    503: {"description": "The server is busy or its database unreachable; retry after `Retry-After` seconds "
                         "(also `retry_after_s`).",
          "headers": {"Retry-After": {"description": "seconds to wait before retrying", "required": True,
                                      "schema": {"type": "integer"}}}},
}
BODY_METHODS = ("post", "put", "patch")  # the ones app.upload_limit checks
REF = "#/components/schemas/"


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: each code with its description and ErrorBody."""
    return {code: {"model": ErrorBody, **ERRORS[code]} for code in codes}


def derived_codes(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses the shared machinery can give `operation`."""
    codes = [503]
    if any("HTTPBearer" in requirement for requirement in operation.get("security", [])):
        codes.append(401)
    if method in BODY_METHODS:
        codes += [411, 413]
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        codes.append(400)
    if operation.get("parameters") or body:
        codes.append(422)
    return codes


def _response(code: int) -> dict[str, Any]:
    return {**ERRORS[code], "content": {"application/json": {"schema": {"$ref": f"{REF}ErrorBody"}}}}


def _fastapis_own(response: dict[str, Any]) -> bool:
    return f'"{REF}HTTPValidationError"' in json.dumps(response)


def add_errors(schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Add the derived responses to every operation under `prefix`, except where the
    route declared that status itself."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template=REF + "{model}"))
    for path, operations in schema["paths"].items():
        for method, operation in operations.items() if path.startswith(prefix) else ():
            responses = operation["responses"]
            for code in derived_codes(method, operation):
                if str(code) not in responses or _fastapis_own(responses[str(code)]):
                    responses[str(code)] = _response(code)
    _drop_unreferenced(schema)
    return schema


def _drop_unreferenced(schema: dict[str, Any]) -> None:
    """Remove component schemas nothing refers to: FastAPI's 422 body (replaced by
    ErrorBody) and models hidden from the schema (SkipJsonSchema) that it lists anyway."""
    schemas = schema["components"]["schemas"]
    while True:
        texts = {name: json.dumps(body) for name, body in schemas.items()}
        texts["paths"] = json.dumps(schema["paths"])
        unused = [name for name in schemas
                  if not any(f'"{REF}{name}"' in text for other, text in texts.items() if other != name)]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def document_errors(app: FastAPI, prefix: str) -> None:
    """Make `app`'s OpenAPI schema list the derived errors of every operation under `prefix`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_errors(build(), prefix)
        return app.openapi_schema

    app.openapi = openapi
