"""The content-addressed artifact store: atomic, deduplicated, gzip-aware, size-capped."""

from __future__ import annotations

import gzip
import hashlib
import io
import os

import pytest

from app.storage import ArtifactStore, TooLarge


@pytest.fixture
def store(tmp_path):
    return ArtifactStore(tmp_path / "artifacts")


def test_objects_are_addressed_by_sha256(store):
    data = os.urandom(3 * 1024 * 1024 + 7)  # several chunks
    sha, size = store.put_stream(io.BytesIO(data), limit=len(data))
    assert (sha, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.read(sha) == data and store.path(sha).parent.name == sha[:2]
    assert store.put_bytes(data) == sha
    assert [p for p in store.root.rglob("*") if p.is_file()] == [store.path(sha)]


def test_gzip_is_stored_decompressed(store):
    data = b"(declare-const X_0 Real)\n" * 100_000
    sha, size = store.put_stream(io.BytesIO(gzip.compress(data)), limit=len(data))
    assert store.read(sha) == data and size == len(data)


@pytest.mark.parametrize("payload", [os.urandom(5000), gzip.compress(bytes(10**7))])
def test_too_large_leaves_nothing_behind(store, payload):
    with pytest.raises(TooLarge):
        store.put_stream(io.BytesIO(payload), limit=4000)
    assert not [p for p in store.root.rglob("*") if p.is_file()]


def test_truncated_gzip_is_refused(store):
    with pytest.raises(gzip.BadGzipFile, match="truncated"):
        store.put_stream(io.BytesIO(gzip.compress(os.urandom(10_000))[:-30]), limit=10**6)
    assert not [p for p in store.root.rglob("*") if p.is_file()]


def test_bytes_pushed_one_at_a_time_are_stored_as_a_stream_would_be(store):
    data = b"(declare-const X_0 Real)\n" * 1000
    for payload in (data, gzip.compress(data)):
        with store.ingest(limit=len(data)) as sink:
            for i in range(len(payload)):
                sink.write(payload[i:i + 1])  # the gzip magic arrives split over two writes
            assert sink.finish() == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.read(hashlib.sha256(data).hexdigest()) == data


def test_nested_gzip_is_refused_before_the_inner_layer_is_inflated(store):
    from app.storage import NestedGzip

    with pytest.raises(NestedGzip, match="nested gzip"):
        store.put_stream(io.BytesIO(gzip.compress(gzip.compress(bytes(10 ** 7)))), limit=10 ** 8)
    assert not [p for p in store.root.rglob("*") if p.is_file()]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


def test_a_gzip_bomb_is_inflated_a_chunk_at_a_time(store):
    bomb = gzip.compress(bytes(60 * 1024 * 1024), 9)  # about 60 KB that inflate to 60 MB
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # the peak RSS starts again from the current RSS
    rss = _status_kb("VmRSS")
    with pytest.raises(TooLarge):
        store.put_stream(io.BytesIO(bomb), limit=50 * 1024 * 1024)
    growth_mb = (_status_kb("VmHWM") - rss) / 1024
    assert growth_mb < 20, f"peak RSS grew by {growth_mb:.0f} MB"  # the old store inflated 50 MB in one call
