"""Stream one file field of a multipart/form-data request body into a sink as it arrives.

Starlette's form parsing writes the whole body to a temporary file before the route runs,
so an oversized upload used to be transferred and written in full before its 413, and
before the caller was even authenticated. Here the body is read chunk by chunk and only
the `file` field's bytes go anywhere: into the sink (`storage.Ingest`), which refuses
as soon as the limit is passed. Other fields are read past and dropped.
"""

from __future__ import annotations

from typing import Protocol

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.errors import Invalid


class Sink(Protocol):
    def named(self, filename: str) -> None: ...

    def write(self, data: bytes) -> None: ...


class _FileField:
    """Parser callbacks that pass the data of the part named `name` to `sink`."""

    def __init__(self, name: str, sink: Sink):
        self.name, self.sink = name.encode(), sink
        self.header, self.value = b"", b""
        self.disposition = b""
        self.inside = False  # in the data of the file part
        self.filename: str | None = None
        self.complete = False  # the file part has ended

    def callbacks(self) -> dict:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self.disposition = b""

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def header_end(self) -> None:
        if self.header.strip().lower() == b"content-disposition":
            self.disposition = self.value
        self.header, self.value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if options.get(b"name") != self.name:
            return
        if self.filename is not None:
            raise Invalid(f"the form has more than one field named {self.name.decode()!r}; send one file")
        self.filename = options.get(b"filename", b"").decode("utf-8", "replace")
        self.sink.named(self.filename)
        self.inside = True

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.inside:
            self.sink.write(data[start:end])

    def part_end(self) -> None:
        if self.inside:
            self.inside, self.complete = False, True


async def receive_file(request: Request, name: str, sink: Sink) -> str:
    """Feed the field `name` of the request's multipart body to `sink` (in a worker thread,
    chunk by chunk); returns the filename the client gave ("" when none). Invalid when
    the body is not multipart/form-data or has no such field; whatever the sink raises
    (TooLarge) stops the transfer at once."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise Invalid(f"send the file as multipart/form-data with a field named {name!r} "
                      f"(the request's Content-Type is {kind.decode('latin-1') or 'missing'!r})")
    field = _FileField(name, sink)
    parser = MultipartParser(boundary, field.callbacks())
    try:
        async for chunk in request.stream():
            if chunk:
                await run_in_threadpool(parser.write, chunk)
    except MultipartParseError as exc:
        raise Invalid(f"malformed multipart body: {exc}") from None
    if field.filename is None:
        raise Invalid(f"the form has no field named {name!r}; send the file as the field {name!r}")
    if not field.complete:
        raise Invalid(f"the multipart body ends inside the field {name!r} (truncated upload)")
    return field.filename
