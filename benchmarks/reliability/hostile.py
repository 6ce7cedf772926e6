"""Hostile uploads: each must be refused with a 4xx (path-named uploads of good content are
stored, under their content's hash only), the API's memory must stay bounded, and nothing
outside the data directory may be read or written.

How it is measured:
- memory: before each upload the serve process's peak RSS (VmHWM) is reset to its current
  RSS (/proc/PID/clear_refs), and read after it: the growth is what that upload cost;
- reads outside: ONNX files whose external-data tensors point at a canary file beside the
  data directory (by absolute path, relative to serve's working directory, and with ../ from
  the stored object). The canary's access time is set two days back, so that any read moves
  it (relatime); the filesystem's behaviour is checked first on a probe file. The canary's
  bytes (and the floats they encode) must appear in no response;
- writes outside: the files in the deployment's working directory outside the data
  directory (logs aside), and serve's TMPDIR left over, before and after;
- job bodies: NaN, Infinity, 1e400, true and a 1000-digit integer as timeout_s (JSON that
  Python's parser accepts but no job can have) must be a 422, not a 500;
- path names: after the uploads named `../../etc/x` and the like, every file under the
  data directory's artifacts must be `objects/<2 hex>/<sha256>`, and no filename the API
  answers with may hold a path.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import socket
import time
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import httpx
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from benchmarks.reliability.deployment import Deployment, memory_kib, reset_peak

CANARY_FLOATS = np.array([31337.5, -27182.25, 14142.125, 17320.5], dtype=np.float32)
CANARY = CANARY_FLOATS.tobytes()
DEFAULT_LIMIT = 200 * 1024 * 1024
# The most one upload may add to serve's peak RSS: below the default upload limit, so that no
# upload (a 200 KiB gzip bomb inflating to the limit, say) is ever held whole in memory, and
# twice what parsing the largest property the limits allow takes (about 60 MiB).
RSS_BOUND_MIB = 128.0
ARTIFACT = re.compile(r"^artifacts/objects/[0-9a-f]{2}/[0-9a-f]{64}$")
DATA_FILES = re.compile(r"^(certbound\.db|broker\.db)(-wal|-shm|-journal)?$|^token$|^embedded-worker\.lock$")
PATH_NAMES = ["../../etc/x.onnx", "/etc/passwd", "..\\..\\windows\\win.ini", "a/../../../../b.onnx", "....//....//c.onnx",
              "%2e%2e%2f%2e%2e%2fd.onnx", "~/.ssh/authorized_keys", ".."]


# -- the hostile files ------------------------------------------------------------------------
def small_onnx(weights: np.ndarray | None = None, doc: str = "", external: str | None = None) -> bytes:
    """y = x @ W + b for x of shape [1, 2]; W external (pointing at `external`) when given."""
    w = (np.array([[1.0, -1.0], [0.5, 2.0]], dtype=np.float32) if weights is None else weights.astype(np.float32))
    w_tensor = numpy_helper.from_array(w, "W")
    if external is not None:
        w_tensor.ClearField("raw_data")
        w_tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external), ("offset", "0"), ("length", str(len(CANARY)))):
            entry = w_tensor.external_data.add()
            entry.key, entry.value = key, value
    b_tensor = numpy_helper.from_array(np.zeros(2, dtype=np.float32), "b")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])],
                              "hostile", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [w_tensor, b_tensor])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], doc_string=doc)
    model.ir_version = 9
    return model.SerializeToString()


def gzip_zeros(n_bytes: int) -> bytes:
    """gzip of n zero bytes, made in chunks (a bomb: about 1000 times smaller than it inflates)."""
    compressor, out, chunk = zlib.compressobj(9, zlib.DEFLATED, 31), io.BytesIO(), bytes(1 << 20)
    left = n_bytes
    while left:
        piece = chunk[:min(left, len(chunk))]
        out.write(compressor.compress(piece))
        left -= len(piece)
    out.write(compressor.flush())
    return out.getvalue()


HEADER = ("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
          "(assert (>= X_0 0.0))\n(assert (<= X_0 1.0))\n(assert (>= X_1 0.0))\n(assert (<= X_1 1.0))\n")


def many_asserts(n: int) -> bytes:
    return (HEADER + "(assert (<= X_0 1.0))\n" * n + "(assert (>= Y_0 Y_1))\n").encode()


def many_disjuncts(n: int) -> bytes:
    return (HEADER + "(assert (<= X_0 1.0))\n(assert (or " + "(and (>= Y_0 Y_1))" * n + "))\n").encode()


def deep_nesting(depth: int) -> bytes:
    return (HEADER + "(assert " + "(or " * depth + "(>= Y_0 Y_1)" + ")" * depth + ")\n").encode()


def huge_number(digits: int) -> bytes:
    return (HEADER + f"(assert (<= X_0 {'9' * digits}.5))\n(assert (>= Y_0 Y_1))\n").encode()


# -- HTTP helpers --------------------------------------------------------------------------
def raw_request(base_url: str, path: str, head: dict[str, str], body: bytes = b"", timeout: float = 30.0) -> tuple[int, bytes]:
    """One request over a bare socket (for headers httpx will not send, such as a false
    Content-Length); returns the status and the response's bytes."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout) as sock:
        lines = [f"POST {parts.path}{path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
                 *(f"{k}: {v}" for k, v in head.items())]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


def streamed_upload(client: httpx.Client, kind: str, filename: str, size: int, chunked: bool = False) -> httpx.Response:
    """A multipart upload of `size` bytes, generated as it is sent: with its true length, or
    chunked (no Content-Length)."""
    boundary = "hostile-boundary-7f3a"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        chunk, left = b"\x08" * (1 << 20), size
        while left:
            yield chunk[:min(left, len(chunk))]
            left -= min(left, len(chunk))
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if not chunked:
        headers["Content-Length"] = str(len(head) + size + len(tail))
    return client.post(f"/{kind}", content=body(), headers=headers)


# -- the file-system watch -----------------------------------------------------------------
def files_outside(workdir: Path | None, data_dir: Path | None) -> set[str]:
    if workdir is None or data_dir is None:
        return set()
    found = set()
    for path in workdir.rglob("*"):
        if path.is_file() and data_dir not in path.parents and path.suffix != ".log":
            found.add(str(path.relative_to(workdir)))
    return found


def atime_detects_reads(folder: Path) -> bool:
    probe = folder / "atime-probe.bin"
    probe.write_bytes(b"probe")
    old = time.time() - 2 * 86400
    os.utime(probe, (old, time.time()))
    probe.read_bytes()
    moved = probe.stat().st_atime > old + 3600
    probe.unlink()
    return moved


def plant_canary(folder: Path) -> Path:
    canary = folder / "canary.bin"
    canary.write_bytes(CANARY)
    os.utime(canary, (time.time() - 2 * 86400, time.time()))
    return canary


def leaks_canary(text: bytes) -> bool:
    decoded = text.decode("latin-1")
    return CANARY in text or any(f"{value:g}" in decoded or str(int(value)) in decoded for value in CANARY_FLOATS)


# -- the run ---------------------------------------------------------------------------------
def property_limit(deployment: Deployment, name: str) -> int:
    """The deployment's limit `max_property_<name>`: its environment's, else the default."""
    from app.settings import Settings

    value = deployment.env.get(f"CERTBOUND_MAX_PROPERTY_{name.upper()}")
    return int(value) if value else int(Settings.model_fields[f"max_property_{name}"].default)


def run_hostile(deployment: Deployment, *, rss_bound_mib: float = RSS_BOUND_MIB, n_asserts: int | None = None,
                n_disjuncts: int | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Every hostile upload once. The property counts default to one past the deployment's
    limits (settings max_property_asserts and max_property_disjuncts)."""
    n_asserts = n_asserts or property_limit(deployment, "asserts") + 1
    n_disjuncts = n_disjuncts or property_limit(deployment, "disjuncts") + 1
    workdir, data_dir, pid = deployment.workdir, deployment.data_dir, deployment.serve_pid
    canary = plant_canary(workdir) if workdir is not None else None
    detects = atime_detects_reads(workdir) if workdir is not None else False
    canary_atime = canary.stat().st_atime if canary is not None else None
    before_outside = files_outside(workdir, data_dir)
    cases: list[dict[str, Any]] = []
    limit = DEFAULT_LIMIT

    from benchmarks.reliability.fuzz import load_schema

    openapi = load_schema(root_url=deployment.root_url)
    with deployment.client(timeout=300) as client:
        def run_case(name: str, expect: str, send: Callable[[], tuple[int, bytes]]) -> None:
            if only is not None and name not in only:
                return
            rss = memory_kib(pid) if pid else {}
            if pid:
                reset_peak(pid)
            start = time.monotonic()
            response = None
            try:
                answer = send()
            except httpx.HTTPError as exc:  # the server hung up: no status to judge
                answer = (0, repr(exc).encode())
            if isinstance(answer, httpx.Response):
                response, (status, body) = answer, (answer.status_code, answer.content)
            else:
                status, body = answer
            seconds = time.monotonic() - start
            peak = memory_kib(pid).get("VmHWM") if pid else None
            growth = max(0, peak - rss["VmRSS"]) / 1024 if peak is not None and "VmRSS" in rss else None
            ok = 400 <= status < 500 if expect == "4xx" else status == 201
            cases.append({"case": name, "status": status, "expect": expect, "ok": ok, "seconds": round(seconds, 2),
                          "rss_growth_mib": None if growth is None else round(growth, 1),
                          "leaks_canary": leaks_canary(body), "detail": body[-300:].decode("utf-8", "replace"),
                          "filename": _filename(body) if status == 201 else None,
                          "undocumented": None if response is None else _undocumented(openapi, response)})

        def upload(kind: str, name: str, data: bytes) -> Callable[[], httpx.Response]:
            return lambda: client.post(f"/{kind}", files={"file": (name, data)})

        def lying_length() -> tuple[int, bytes]:
            nonlocal limit
            status, data = raw_request(deployment.base_url, "/models",
                                       {**deployment.headers, "Content-Length": str(10 ** 15),
                                        "Content-Type": "multipart/form-data; boundary=x"})
            try:
                limit = int(json.loads(data.split(b"\r\n\r\n", 1)[1]).get("limit_bytes", limit))
            except (ValueError, IndexError, AttributeError):
                pass
            return status, data

        run_case("content-length 10^15", "4xx", lying_length)
        if canary is not None:
            for label, location in (("absolute", str(canary)), ("cwd-relative", canary.name),
                                    ("../ from the object", "../../../../" + canary.name),
                                    ("../ deep", "../" * 12 + str(canary).lstrip("/"))):
                run_case(f"external data ({label})", "4xx", upload("models", "ext.onnx", small_onnx(external=location)))
        else:
            run_case("external data (absolute)", "4xx", upload("models", "ext.onnx", small_onnx(external="/etc/hostname")))
        good = small_onnx(doc="nested")
        run_case("nested gzip (model)", "4xx", upload("models", "n.onnx.gz", gzip.compress(gzip.compress(good))))
        run_case("nested gzip (property)", "4xx",
                 upload("properties", "n.vnnlib.gz", gzip.compress(gzip.compress(many_asserts(1)))))
        run_case("gzip bomb over the limit", "4xx", upload("models", "bomb.onnx.gz", gzip_zeros(limit + (1 << 20))))
        run_case("nested gzip bomb", "4xx", upload("models", "nb.onnx.gz", gzip.compress(gzip_zeros(2 * limit), 9)))
        run_case("truncated gzip", "4xx", upload("models", "t.onnx.gz", gzip.compress(good)[:-20]))
        for label, value in (("NaN", np.nan), ("+Inf", np.inf), ("-Inf", -np.inf)):
            weights = np.array([[1.0, value], [0.5, 2.0]])
            run_case(f"{label} weight", "4xx", upload("models", "w.onnx", small_onnx(weights, doc=label)))
        run_case("upload over the limit, streamed", "4xx",
                 lambda: streamed_upload(client, "models", "big.onnx", limit + 1024))
        run_case("upload over the limit, chunked", "4xx",
                 lambda: streamed_upload(client, "models", "big.onnx", limit + (1 << 20), chunked=True))
        run_case(f"{n_asserts} asserts", "4xx", upload("properties", "a.vnnlib", many_asserts(n_asserts)))
        run_case(f"{n_disjuncts} disjuncts", "4xx", upload("properties", "d.vnnlib", many_disjuncts(n_disjuncts)))
        depth = 10_000
        run_case(f"nesting depth {depth}", "4xx", upload("properties", "deep.vnnlib", deep_nesting(depth)))
        run_case("a number of 100000 digits", "4xx", upload("properties", "num.vnnlib", huge_number(100_000)))
        for label, value in (("NaN", "NaN"), ("Infinity", "Infinity"), ("1e400", "1e400"), ("true", "true"),
                             ("a 1000-digit integer", "9" * 1000)):
            body = '{"model_id": "m", "property_id": "p", "timeout_s": %s}' % value
            run_case(f"job timeout_s {label}", "4xx", _post_json(client, "/jobs", body))
        for index, name in enumerate(PATH_NAMES):
            run_case(f"filename {name!r}", "201", upload("models", name, small_onnx(doc=f"path {index}")))
        stored = {c["filename"] for c in cases if c["filename"] is not None}
        if any(c["case"].startswith("filename") for c in cases):
            listed = client.get("/models")
            stored |= {m["filename"] for m in (listed.json()["items"] if listed.status_code == 200 else [])}
        echoed = sorted(name for name in stored if _has_path({"filename": name}))

    after_outside = files_outside(workdir, data_dir)
    unexpected = []
    if data_dir is not None:
        for path in data_dir.rglob("*"):
            relative = str(path.relative_to(data_dir))
            if path.is_file() and not (ARTIFACT.match(relative) or DATA_FILES.match(relative)):
                unexpected.append(relative)
    read_outside = None
    if canary is not None and detects:
        read_outside = int(canary.stat().st_atime != canary_atime)
    growths = [c["rss_growth_mib"] for c in cases if c["rss_growth_mib"] is not None]
    return {"cases": len(cases), "not_4xx": sum(1 for c in cases if c["expect"] == "4xx" and not c["ok"]),
            "server_errors": sum(1 for c in cases if c["status"] >= 500 or c["status"] == 0),
            "path_uploads_refused": sum(1 for c in cases if c["expect"] == "201" and not c["ok"]),
            "rss_growth_max_mib": max(growths) if growths else None, "rss_bound_mib": rss_bound_mib,
            "over_rss_bound": sum(1 for g in growths if g > rss_bound_mib),
            "canary_in_responses": sum(1 for c in cases if c["leaks_canary"]),
            "undocumented_responses": sum(1 for c in cases if c["undocumented"]),
            "canary_read": read_outside,
            "written_outside": sorted(after_outside - before_outside) if workdir is not None else None,
            "unexpected_data_files": sorted(unexpected) if data_dir is not None else None, "paths_echoed": echoed, "limit_bytes": limit,
            "detail": cases}


def _has_path(row: dict[str, Any]) -> bool:
    name = str(row.get("filename", ""))
    return "/" in name or "\\" in name or name in ("..", ".")


def _filename(body: bytes) -> str | None:
    try:
        return json.loads(body).get("filename")
    except (ValueError, AttributeError):
        return None


def _post_json(client: httpx.Client, path: str, text: str) -> Callable[[], httpx.Response]:
    return lambda: client.post(path, content=text.encode(), headers={"Content-Type": "application/json"})


def _undocumented(openapi: Any, response: httpx.Response) -> str | None:
    """Why the response is not one the OpenAPI documents for its operation (status, or body
    shape, checked by schemathesis), or None when it is."""
    from schemathesis.core.failures import FailureGroup

    path = urlsplit(str(response.request.url)).path
    try:
        operation = openapi[path][response.request.method]
    except (KeyError, LookupError) as exc:
        return f"no operation {response.request.method} {path} in the OpenAPI: {exc}"
    documented = operation.definition.raw.get("responses", {})
    status = str(response.status_code)
    if not ({status, f"{status[0]}XX", "default"} & set(documented)):
        return f"status {status} not documented (documented: {', '.join(sorted(documented))})"
    # The same answer on a request without its (streamed, unread) body, which is not judged.
    answer = httpx.Response(response.status_code, headers=response.headers, content=response.content,
                            request=httpx.Request(response.request.method, response.request.url))
    answer.elapsed = getattr(response, "_elapsed", None) or timedelta(0)
    try:
        operation.validate_response(answer)
    except (FailureGroup, AssertionError) as exc:
        return f"body outside the documented schema: {str(exc)[:300]}"
    return None
