"""The content-addressed artifact store under the data directory.

Objects live at `<root>/objects/<sha[:2]>/<sha>`. Every write goes to a temporary file
in the same file system and is renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from pathlib import Path
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from core.gunzip import GZIP_MAGIC

CHUNK = 1024 * 1024


class TooLarge(ValueError):
    """The upload (or what it decompresses to) exceeds the size limit."""

    def __init__(self, limit: int):
        super().__init__(f"upload exceeds the limit of {limit} bytes")
        self.limit = limit


class NestedGzip(gzip.BadGzipFile):
    """The upload, once decompressed, is gzip again (inflating that would be unbounded)."""

    def __init__(self) -> None:
        super().__init__("nested gzip: the decompressed upload is gzip again; compress the file once")


class ArtifactStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; returns its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.path(sha).exists():
            with self._temp() as (tmp, handle):
                handle.write(data)
                handle.close()
                self._commit(tmp, sha)
        return sha

    def put_stream(self, source: BinaryIO, limit: int) -> tuple[str, int]:
        """Copy `source` in chunks through an `Ingest`; returns (sha256, size) of the
        stored bytes, leaving nothing behind on any error."""
        with self.ingest(limit) as sink:
            while chunk := source.read(CHUNK):
                sink.write(chunk)
            return sink.finish()

    @contextmanager
    def ingest(self, limit: int) -> Iterator["Ingest"]:
        """An `Ingest` whose temporary file is removed however the block ends."""
        with self._temp() as (tmp, handle):
            yield Ingest(self, tmp, handle, limit)

    def _commit(self, tmp: Path, sha: str) -> None:
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    @contextmanager
    def _temp(self) -> Iterator[tuple[Path, BinaryIO]]:
        fd, name = tempfile.mkstemp(dir=self.root / "tmp", prefix="upload-")
        path, handle = Path(name), os.fdopen(fd, "wb")
        try:
            yield path, handle
        finally:
            handle.close()
            path.unlink(missing_ok=True)


class Ingest:
    """Bytes pushed in as they arrive (a request body, chunk by chunk): gunzipped on the fly
    when they start with the gzip magic (one layer: a decompressed stream that starts with
    the magic again is refused, `NestedGzip`) and written to a temporary file. Raises
    TooLarge as soon as more than `limit` bytes (after decompression) have arrived;
    `finish` names the bytes by their sha256 and moves them into place."""

    def __init__(self, store: ArtifactStore, tmp: Path, handle: BinaryIO, limit: int):
        self.store, self.tmp, self.handle, self.limit = store, tmp, handle, limit
        self.size, self.digest = 0, hashlib.sha256()
        self.head = b""  # the first bytes, until there are two to tell gzip from plain
        self.inflate = None  # a zlib decompressor once the magic is seen
        self.inflated_head = b""
        self.pending = False
        self.started = False

    def write(self, data: bytes) -> None:
        if not self.started:
            self.head += data
            if len(self.head) < 2:
                return
            data, self.head, self.started = self.head, b"", True
            if data[:2] == GZIP_MAGIC:
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.inflate is None:
            return self._keep(data)
        # At most CHUNK bytes of output per call: a bomb's megabyte of input would otherwise
        # come out as one object of up to `limit` bytes before the limit is checked.
        while data or self.pending:
            if self.inflate.eof:
                if data:
                    raise gzip.BadGzipFile("the gzip stream has several members or trailing bytes")
                break
            room = min(CHUNK, self.limit + 1 - self.size)
            try:
                chunk = self.inflate.decompress(data, room)
            except zlib.error as exc:
                raise gzip.BadGzipFile(f"not a valid gzip stream: {exc}") from exc
            data = self.inflate.unconsumed_tail
            self.pending = len(chunk) == room  # a full output may leave more inside zlib
            self._keep(chunk)

    def finish(self) -> tuple[str, int]:
        if not self.started:
            self.started = True
            self._keep(self.head)
        if self.inflate is not None and (not self.inflate.eof or self.inflate.unused_data):
            raise gzip.BadGzipFile("the gzip stream is truncated or has several members")
        self.handle.close()
        sha = self.digest.hexdigest()
        if not self.store.path(sha).exists():
            self.store._commit(self.tmp, sha)
        return sha, self.size

    def _keep(self, chunk: bytes) -> None:
        if self.inflate is not None and len(self.inflated_head) < 2:
            self.inflated_head += chunk[:2 - len(self.inflated_head)]
            if self.inflated_head == GZIP_MAGIC:
                raise NestedGzip()
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge(self.limit)
        self.digest.update(chunk)
        self.handle.write(chunk)
