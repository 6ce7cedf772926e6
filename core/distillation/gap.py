"""How far apart can the teacher's and the student's confidence in class c be on an ε-box?

The certified answer is an upper bound on max |softmax_T(x)_c − softmax_S(x)_c| over the
box, the smaller of two sound bounds computed in the graph's precision (float64 by
default): CROWN through the Softmax operator on the joint network's probabilities (the
difference bounded as one linear function of the shared input), and CROWN bounds on the
logit differences z_j − z_c of each network pushed through p_c = 1 / (1 + Σ_j e^{z_j − z_c})
(exact given those bounds; better on wide boxes). The empirical answer is the largest
gap PGD (`core.attack.pgd`) reaches; it can never exceed the certified one.
"""

from __future__ import annotations

import numpy as np
import torch

from core.bounds import BoundOptions, Domains, bound
from core.model.ir import Graph, Node
from core.model.ops.reshape import Reshape
from core.model.ops.softmax import Softmax
from core.spec.property import Box


def probability_graph(joint: Graph) -> Graph:
    """The joint graph [teacher K, student K logits] followed by a softmax of each half:
    outputs [teacher K, student K probabilities]."""
    k2 = joint.output_size
    pair, probs, out = "pair_logits", "pair_probabilities", "probabilities"
    nodes = [*joint.nodes,
             Node(pair, Reshape((2, k2 // 2), (k2,)), (joint.output_name,), (2, k2 // 2)),
             Node(probs, Softmax(2), (pair,), (2, k2 // 2)),
             Node(out, Reshape((k2,), (2, k2 // 2)), (probs,), (k2,))]
    return Graph(joint.input_name, joint.input_shape, nodes, out, (k2,), joint.onnx_input_shape)


def _domains(box: Box, like: torch.Tensor) -> Domains:
    as_row = lambda v: torch.as_tensor(v, dtype=like.dtype, device=like.device).reshape(1, -1)  # noqa: E731
    return Domains(as_row(box.lower), as_row(box.upper))


def constants_like(graph: Graph) -> torch.Tensor:
    """A constant of `graph` (its dtype and device are the graph's; float64 when it has none)."""
    return next((n.op.weight for n in graph.nodes if hasattr(n.op, "weight")), torch.zeros((), dtype=torch.float64))


def certified_gap(joint: Graph, box: Box, c: int) -> float:
    """A sound upper bound on |p_T(x)_c − p_S(x)_c| over `box`."""
    K = joint.output_size // 2
    like = constants_like(joint)
    domains = _domains(box, like)
    eye = torch.eye(2 * K, dtype=like.dtype)
    difference = (eye[c] - eye[K + c]).reshape(1, 1, -1)
    zero = torch.zeros(1, 1, dtype=like.dtype)
    options = BoundOptions(upper=True)
    through_softmax = bound(probability_graph(joint), domains, difference, zero, "crown", options)
    via_softmax = max(float(through_softmax.upper[0, 0]), -float(through_softmax.lower[0, 0]))
    others = [j for j in range(K) if j != c]
    rows = torch.stack([eye[off + j] - eye[off + c] for off in (0, K) for j in others]).unsqueeze(0)
    logits = bound(joint, domains, rows, torch.zeros(1, rows.shape[1], dtype=like.dtype), "crown", options)
    lo, hi = logits.lower[0].reshape(2, -1), logits.upper[0].reshape(2, -1)
    # p_c = sigmoid(-logsumexp_j (z_j - z_c)): falls as any difference rises
    p_low, p_high = torch.sigmoid(-torch.logsumexp(hi, 1)), torch.sigmoid(-torch.logsumexp(lo, 1))
    via_logits = float(torch.maximum(p_high[0] - p_low[1], p_high[1] - p_low[0]))
    return max(0.0, min(via_softmax, via_logits))


def empirical_gap(joint: Graph, box: Box, c: int, restarts: int = 5, steps: int = 50, seed: int = 0) -> float:
    """The largest |p_T(x)_c − p_S(x)_c| PGD finds in `box` (both signs attacked)."""
    from core.attack.pgd import pgd

    graph = probability_graph(joint)
    K = joint.output_size // 2
    like = constants_like(joint)
    domains = _domains(box, like)
    eye = torch.eye(2 * K, dtype=like.dtype)
    row = eye[c] - eye[K + c]
    C = torch.stack([row, -row]).unsqueeze(1)  # descend +row and -row: the gap either way
    d = torch.full((2, 1), -2.0, dtype=like.dtype)  # never reached (|row·p| <= 1): every step runs
    found = pgd(graph, domains.lower.expand(2, -1), domains.upper.expand(2, -1), C, d, restarts, steps,
                torch.Generator().manual_seed(seed))
    x = torch.cat([found.x, domains.lower, domains.upper, (domains.lower + domains.upper) / 2])
    p = graph.forward(x).detach()
    return float((p[:, c] - p[:, K + c]).abs().max())


def teacher_class(joint: Graph, point: np.ndarray) -> int:
    """The teacher's top class at `point`."""
    like = constants_like(joint)
    y = joint.forward(torch.as_tensor(point, dtype=like.dtype).reshape(1, -1))
    return int(y[0, :joint.output_size // 2].argmax())
