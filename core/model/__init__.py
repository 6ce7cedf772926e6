"""ONNX networks -> the graph IR (`Graph`), and cheap torch-free summaries of ONNX files.

`import core.model` does not import torch (the API process imports it): `load_network`
and `Network` are loaded on first use.
"""

from core.model.errors import OnnxError as OnnxError
from core.model.registry import OPERATORS as OPERATORS, supported_ops as supported_ops

_LAZY = {"load_network": "core.model.loader", "Network": "core.model.loader"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core.model' has no attribute '{name}'")
