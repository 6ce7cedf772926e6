"""ONNX networks -> the graph IR (`Graph`), and cheap torch-free summaries of ONNX files."""

from core.model.registry import OPERATORS as OPERATORS, supported_ops as supported_ops
