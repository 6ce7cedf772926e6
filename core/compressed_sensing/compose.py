"""A linear piece as a verification problem: the decoder composed with A on the piece.

On piece (S, s) the decoder sees y = M t with M = A[:, S] diag(s) and t in [low, high]^k,
so the network t -> decoder(M t) has k inputs, and the verifier's input splitting covers
the piece. The composition is an ONNX graph (a MatMul by M^T in front of the decoder), so
the counterexample replay (onnxruntime) and the independent checker read it as any model.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from core.compressed_sensing.problem import Piece, Problem
from core.spec.property import Box, Conjunction, Property, Region

INPUT = "cs_magnitudes"


class DecoderError(ValueError):
    """The decoder does not fit the problem; the message says how."""


def decoder_io(model: onnx.ModelProto) -> tuple[str, list[int], int]:
    """The decoder's one input (name, shape) and its output size; DecoderError unless the
    input is [m] or [1, m] and the output flat."""
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise DecoderError(f"the decoder must have one input and one output, not {len(inputs)} and "
                           f"{len(model.graph.output)}")
    shape = [d.dim_value or 1 for d in inputs[0].type.tensor_type.shape.dim]
    out = [d.dim_value or 1 for d in model.graph.output[0].type.tensor_type.shape.dim]
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[0] != 1):
        raise DecoderError(f"the decoder's input must be [m] or [1, m], not {shape}")
    return inputs[0].name, shape, int(np.prod(out))


def check_decoder(model: onnx.ModelProto, problem: Problem) -> None:
    """DecoderError unless the decoder reads m measurements and gives n scores."""
    _, shape, outputs = decoder_io(model)
    if shape[-1] != problem.m or outputs != problem.n:
        raise DecoderError(f"the decoder maps {shape[-1]} inputs to {outputs} scores; this problem needs "
                           f"{problem.m} measurements to {problem.n} scores")


def composed_onnx(decoder: bytes, problem: Problem, piece: Piece) -> bytes:
    """ONNX bytes of t [1, k] (or [k]) -> decoder(M t) for the piece."""
    model = onnx.load_from_string(decoder)
    check_decoder(model, problem)
    name, shape, _ = decoder_io(model)
    matrix = problem.piece_matrix(piece).T.astype(np.float32)  # exact: A is float32, signs flip bits
    graph = model.graph
    keep = [i for i in graph.input if i.name != name]
    del graph.input[:]
    graph.input.extend([helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT, shape[:-1] + [problem.k])]
                       + keep)
    graph.initializer.append(numpy_helper.from_array(matrix, "cs_piece_matrix"))
    graph.node.insert(0, helper.make_node("MatMul", [INPUT, "cs_piece_matrix"], [name], name="cs_measure"))
    return model.SerializeToString()


def piece_property(problem: Problem, piece: Piece) -> Property:
    """Unsafe set of the piece: t in [low, high]^k and some support score <= 0 or some
    off-support score >= 0 (one disjunct per output)."""
    box = Box(np.full(problem.k, problem.low), np.full(problem.k, problem.high))
    disjuncts = []
    for i in range(problem.n):
        row = np.zeros((1, problem.n))
        row[0, i] = 1.0 if i in piece.support else -1.0
        disjuncts.append(Conjunction(row, np.zeros(1)))
    return Property(problem.k, problem.n, (Region(box, tuple(disjuncts)),))
