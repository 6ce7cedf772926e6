"""MatMul with a constant matrix on either side -> Linear."""

import numpy as np
import pytest
import torch
from onnx import helper

from core.model import OnnxError, load_network
from core.model.ir import Interval
from core.model.ops.linear import Linear
from tests.core.model.onnx_models import model, single
from tests.core.model.ops.harness import check_operator

rng = np.random.default_rng(1)


@pytest.mark.parametrize("x_shape", [[1, 5], [1, 3, 5], [5], ["batch", 5]])
def test_matmul_by_constant_matrix(x_shape):
    net = check_operator(single("MatMul", x_shape, {"w": rng.normal(size=(5, 4))}))
    assert net.output_shape[-1] == 4


def test_constant_matrix_times_vector():
    net = check_operator(single("MatMul", [3], {"w": rng.normal(size=(2, 3))}, inputs=["w", "x"]))
    assert net.output_shape == (2,)


def test_product_of_two_variables_is_rejected_naming_the_node():
    data = model([helper.make_node("MatMul", ["x", "x"], ["y"], name="square")], [3, 3])
    with pytest.raises(OnnxError, match=r"node 'square' \(MatMul\): a product of two tensors"):
        load_network(data)


def test_large_sparse_matrix_is_multiplied_in_sparse_form_with_the_dense_results():
    """tllverifybench's layers are large and nearly all zeros: Linear keeps them in CSR and
    must give what the dense product gives, gradients included (attacks and the input-split
    heuristic differentiate through it)."""
    own = np.random.default_rng(7)
    w = np.zeros((256, 512))
    w[own.integers(0, 256, 1024), np.repeat(np.arange(512), 2)] = own.normal(size=1024)
    net = check_operator(single("MatMul", [1, 256], {"w": w}))
    op = net.graph.nodes[0].op
    assert isinstance(op, Linear) and op.sparse is not None
    assert op.describe() == f"Linear 256 -> 512 (sparse, {np.count_nonzero(w)} nonzeros)"
    dense = Linear(op.weight)
    dense.sparse = None  # the cached property, set: this one takes the dense path
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 256, dtype=torch.float64, generator=g, requires_grad=True)
    y_sparse, y_dense = op.forward(x), dense.forward(x)
    torch.testing.assert_close(y_sparse, y_dense)
    (g_sparse,), (g_dense,) = (torch.autograd.grad(y.square().sum(), x) for y in (y_sparse, y_dense))
    torch.testing.assert_close(g_sparse, g_dense)
    A = torch.randn(3, 7, 512, dtype=torch.float64, generator=g)
    torch.testing.assert_close(op.linear_backward(A)[0][0], dense.linear_backward(A)[0][0])
    box = Interval(x.detach() - 0.1, x.detach() + 0.1)
    ours, theirs = op.interval(box), dense.interval(box)
    torch.testing.assert_close((ours.lower, ours.upper), (theirs.lower, theirs.upper))


def test_small_or_dense_matrices_stay_dense():
    assert load_network(single("MatMul", [1, 5], {"w": rng.normal(size=(5, 4))})).graph.nodes[0].op.sparse is None
    big_dense = rng.normal(size=(256, 512))
    assert Linear(torch.tensor(big_dense)).sparse is None
