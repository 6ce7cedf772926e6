"""One bounded gzip layer: the only way core/ turns gzipped bytes into plain ones.

`gzip.decompress` has no size bound, and a nested archive (gzip of gzip of zeros) grows
by about a thousand times per layer, so every reader here inflates at most one layer,
stops as soon as the output passes a bound, and never inflates the result again.
"""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"
# Protobuf cannot parse a message of 2 GiB or more, so no ONNX model is larger.
MAX_ONNX_BYTES = 2 ** 31 - 1
MAX_PROPERTY_BYTES = 1 << 30


class GunzipError(ValueError):
    """The gzip data is corrupt, truncated, nested, or inflates past the bound."""


def is_gzip(data: bytes) -> bool:
    return bytes(data[:2]) == GZIP_MAGIC


def gunzip_once(data: bytes, limit: int) -> bytes:
    """Inflate one gzip member of at most `limit` bytes; the result is never gzip itself."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(data, limit + 1)
    except zlib.error as exc:
        raise GunzipError(f"corrupt or truncated gzip data: {exc}") from None
    if len(out) > limit:
        raise GunzipError(f"the gzip data inflates to more than {limit} bytes")
    if not inflate.eof:
        raise GunzipError("corrupt or truncated gzip data: the stream ends early")
    if inflate.unused_data:
        raise GunzipError("several gzip members or trailing bytes after the gzip data")
    if is_gzip(out):
        raise GunzipError("nested gzip: the decompressed data is gzip again (compress once)")
    return out
