"""The torch device a run asks for, or one clear error when this machine does not have it.

Without this check a `cuda` run on a CPU-only torch fails deep inside the first tensor
move with a long traceback; callers (CLI commands, the worker) turn `DeviceUnavailable`
into one line instead.
"""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(RuntimeError):
    """The requested device does not exist here; the message says why, on one line."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"device {device!r} is not available: {reason}")


def cuda_missing() -> str:
    """Why CUDA cannot be used here ("" when it can)."""
    import torch

    if torch.cuda.is_available():
        return ""
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is built without CUDA"
    return f"no CUDA device is visible (torch {torch.__version__}, CUDA {torch.version.cuda})"


def require_device(device: str) -> str:
    """`device` ("auto", "cpu" or "cuda") resolved to "cpu" or "cuda"; raises
    `DeviceUnavailable` for an unknown name or for "cuda" without a usable GPU."""
    if device not in DEVICES:
        raise DeviceUnavailable(device, f"expected one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    problem = cuda_missing()
    if device == "cuda" and problem:
        raise DeviceUnavailable(device, f"{problem}; use cpu or auto")
    return "cpu" if problem else "cuda"
