"""The one error every ONNX load failure becomes (torch-free: the API raises it too)."""

from __future__ import annotations


class OnnxError(ValueError):
    """An ONNX network the engine cannot use; `problems` lists every reason, one per line.

    Messages name the offending node and its op type, e.g.
    "node 'lstm_1' (LSTM): unsupported operator".
    """

    def __init__(self, problems: list[str] | str, source: str = "ONNX model"):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source} cannot be loaded ({len(self.problems)} problem(s)):\n{lines}")


def node_label(name: str, op_type: str) -> str:
    """How every message refers to an ONNX node."""
    return f"node '{name}' ({op_type})"
