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

CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class TooLarge(ValueError):
    """The upload (or what it decompresses to) exceeds the size limit."""

    def __init__(self, limit: int):
        super().__init__(f"upload exceeds the limit of {limit} bytes")
        self.limit = limit


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
        """Copy `source` in chunks, gunzipping it when it starts with the gzip magic;
        returns (sha256, size) of the stored bytes. Raises TooLarge, leaving nothing
        behind, as soon as more than `limit` bytes (after decompression) arrive."""
        head = source.read(2)
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if head == GZIP_MAGIC else None
        digest, size = hashlib.sha256(), 0
        with self._temp() as (tmp, handle):
            pending = head
            while pending:
                if inflate is None:
                    chunk, pending = pending, b""
                else:
                    try:
                        chunk = inflate.decompress(pending, limit + 1 - size)
                    except zlib.error as exc:
                        raise gzip.BadGzipFile(f"not a valid gzip stream: {exc}") from exc
                    pending = inflate.unconsumed_tail
                size += len(chunk)
                if size > limit:
                    raise TooLarge(limit)
                digest.update(chunk)
                handle.write(chunk)
                if not pending:
                    pending = source.read(CHUNK)
            if inflate is not None and (not inflate.eof or inflate.unused_data):
                raise gzip.BadGzipFile("the gzip stream is truncated or has several members")
            handle.close()
            sha = digest.hexdigest()
            if not self.path(sha).exists():
                self._commit(tmp, sha)
        return sha, size

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
