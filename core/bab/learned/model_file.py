"""A trained brancher on disk: the GNN's weights with a format tag and its settings.

Loading checks everything before a search uses the model: gzip, the tag, the version,
the settings, every parameter's name and shape, and finite values. A file that fails
any check raises `BrancherFileError` naming what is wrong; it never reaches a search.
"""

from __future__ import annotations

import gzip
import io
import math
from pathlib import Path

import torch

from core.bab.learned.gnn import BranchGNN

FORMAT, VERSION = "certbound-brancher", 1
# Where the GNN's own choice is poor (its children raise the parent's bound by less than this
# share of the bound's distance to a proof), the hand-made heuristic's choice is tried too.
DEFAULT_THRESHOLD = 0.1


class BrancherFileError(ValueError):
    """The file is not a brancher this version of certbound made."""


def save_brancher(model: BranchGNN, path: Path | None = None, *, threshold: float = DEFAULT_THRESHOLD,
                  meta: dict | None = None) -> bytes:
    """The brancher's bytes (gzip of a torch file), also written to `path` when given."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "dim": model.dim, "rounds": model.rounds,
                "threshold": float(threshold), "meta": meta or {},
                "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, buffer)
    data = gzip.compress(buffer.getvalue(), mtime=0)
    if path is not None:
        Path(path).write_bytes(data)
    return data


def load_brancher(source: Path | bytes) -> tuple[BranchGNN, float, dict]:
    """(model in eval mode, fallback threshold, metadata) from a file or its bytes."""
    name = str(source) if isinstance(source, (str, Path)) else "brancher"
    try:
        data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    except OSError as exc:
        raise BrancherFileError(f"{name}: cannot read it ({exc.strerror})") from None
    try:
        raw = gzip.decompress(data)
        blob = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any decoding failure means the same thing: not ours
        raise BrancherFileError(f"{name}: not a certbound brancher (cannot decode it: {type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise BrancherFileError(f"{name}: not a certbound brancher (no {FORMAT!r} tag)")
    if blob.get("version") != VERSION:
        raise BrancherFileError(f"{name}: brancher format version {blob.get('version')!r}, this certbound reads {VERSION}")
    try:
        dim, rounds, threshold = int(blob["dim"]), int(blob["rounds"]), float(blob["threshold"])
        if not (1 <= dim <= 1024 and 1 <= rounds <= 16 and math.isfinite(threshold)):
            raise ValueError("settings out of range")
        model = BranchGNN(dim, rounds)
        model.load_state_dict(blob["state"], strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrancherFileError(f"{name}: brancher parameters do not fit the GNN ({first})") from None
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise BrancherFileError(f"{name}: brancher has non-finite weights")
    model.eval()
    return model, threshold, dict(blob.get("meta") or {})
