"""MatMul with a constant matrix on either side -> Linear."""

import numpy as np
import pytest
from onnx import helper

from core.model import OnnxError, load_network
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
