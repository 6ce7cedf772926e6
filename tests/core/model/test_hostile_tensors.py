"""Every ONNX reader refuses weights kept in external files and NaN/inf weights, wherever the
model hides them, and inflates gzip once with a bound (issue 27, items 1, 3 and 9)."""

from __future__ import annotations

import gzip
import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from core.certificate.network import read_onnx
from core.counterexample import run_network
from core.model import OnnxError, load_network
from core.model.onnx_graph import parse_model, read_bytes
from core.model.summary import summarize_onnx
from tests.core.model import hostile

PLACES = {"initializer": hostile.as_initializer, "Constant node": hostile.as_constant,
          "If branch": hostile.in_if_branch}


@pytest.fixture
def secret(tmp_path, monkeypatch):
    """A real file with known contents, reachable by a relative path from the reader's
    working directory (as the owner token or certbound.db is on a worker)."""
    (tmp_path / "token").write_bytes(hostile.SECRET.tobytes())
    monkeypatch.chdir(tmp_path)
    return "token"


def test_the_external_tensor_really_points_at_the_file(secret):
    # onnx itself follows the reference: this is what a reader must never do.
    tensor = hostile.external("W", secret)
    np.testing.assert_array_equal(numpy_helper.to_array(tensor, base_dir=".").reshape(-1), hostile.SECRET)


@pytest.mark.parametrize("place", PLACES)
def test_external_data_is_refused_by_every_reader(secret, place):
    data = PLACES[place](hostile.external("W", secret))
    with pytest.raises(OnnxError, match="tensor 'W'.*external file \\('token'\\)"):
        load_network(data)
    with pytest.raises(OnnxError, match="tensor 'W'.*external file"):
        summarize_onnx(data)
    with pytest.raises(ValueError, match="tensor 'W'.*external file"):
        read_onnx(data)
    with pytest.raises(ValueError, match="tensor 'W'.*external file"):
        run_network(data, np.zeros(2))


def test_external_sparse_values_are_refused(secret):
    data = hostile.as_sparse_initializer(hostile.external("W", secret, dims=(4,)))
    with pytest.raises(OnnxError, match="tensor 'W' \\(sparse initializer\\).*external file"):
        load_network(data)


def test_the_refusal_says_where_in_a_subgraph():
    data = hostile.in_if_branch(hostile.external("W", "token"))
    with pytest.raises(OnnxError) as caught:
        parse_model(data)
    assert caught.value.problems == [
        "tensor 'W' (node 'choose' (If) attribute 'then_branch' > initializer) keeps its data in an external "
        "file ('token'); certbound reads weights only from the model's own bytes, so save the model with its "
        "data inside"]


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("place", PLACES)
def test_non_finite_weights_are_refused(place, bad):
    data = PLACES[place](hostile.weights([1.0, bad, 0.5, 2.0]))
    with pytest.raises(OnnxError, match="tensor 'W'.*NaN or infinite"):
        load_network(data)
    with pytest.raises(ValueError, match="tensor 'W'.*NaN or infinite"):
        read_onnx(data)


def test_non_finite_constant_floats_and_sparse_values_are_refused():
    with pytest.raises(OnnxError, match="node 'scale' \\(Constant\\) holds NaN or infinite"):
        load_network(hostile.as_constant_float(math.inf))
    values = numpy_helper.from_array(np.array([1, 2, math.nan, 4], np.float32), "W")
    with pytest.raises(OnnxError, match="tensor 'W' \\(sparse initializer\\) holds NaN"):
        parse_model(hostile.as_sparse_initializer(values))


def test_finite_weights_still_load():
    network = load_network(hostile.as_initializer(hostile.weights([1.0, -2.0, 0.5, 2.0])))
    assert network.output_shape == (2,)
    assert load_network(hostile.as_constant_float(2.0)).output_shape == (2,)


def test_nested_gzip_is_inflated_once_and_refused():
    inner = gzip.compress(bytes(50 * 1024 * 1024))  # a 50 MB expansion one layer down
    with pytest.raises(OnnxError, match="nested gzip"):
        read_bytes(gzip.compress(inner))
    with pytest.raises(ValueError, match="nested gzip"):
        read_onnx(gzip.compress(inner))


def test_gzip_past_the_bound_is_refused_without_inflating_it():
    with pytest.raises(OnnxError, match="inflates to more than 1000 bytes"):
        read_bytes(gzip.compress(bytes(10 ** 6)), limit=1000)


def test_tensors_in_loop_bodies_nested_branches_and_functions_are_checked():
    inner_if = hostile.in_if_branch(hostile.external("W", "token"))
    parsed = onnx.load_model_from_string(inner_if)
    choose = parsed.graph.node[0]
    body_out = [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 2])]
    # an If whose then-branch holds the If above: two levels down
    outer = helper.make_node("If", ["cond"], ["W"], name="outer",
                             then_branch=helper.make_graph([choose], "then", [], body_out, []),
                             else_branch=choose.attribute[1].g)
    parsed.graph.node[0].CopyFrom(outer)
    with pytest.raises(OnnxError, match="node 'outer' \\(If\\) attribute 'then_branch' > node 'choose' \\(If\\) "
                                        "attribute 'then_branch' > initializer"):
        parse_model(parsed.SerializeToString())

    loop_body = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], name="in_loop", value=hostile.weights([1, 2, math.inf, 4]))],
        "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("cond_in", TensorProto.BOOL, [])])
    looped = onnx.load_model_from_string(hostile.as_initializer(hostile.weights([1, 2, 3, 4])))
    looped.graph.node.insert(0, helper.make_node("Loop", ["", ""], [], name="loop", body=loop_body))
    with pytest.raises(OnnxError, match="node 'loop' \\(Loop\\) attribute 'body' > node 'in_loop' \\(Constant\\) "
                                        "attribute 'value'\\) holds NaN"):
        parse_model(looped.SerializeToString())

    function = helper.make_function("local", "f", ["a"], ["b"],
                                    [helper.make_node("Constant", [], ["b"], name="fc",
                                                      value=hostile.external("W", "token"))],
                                    [helper.make_opsetid("", 17)])
    with_function = onnx.load_model_from_string(hostile.as_initializer(hostile.weights([1, 2, 3, 4])))
    with_function.functions.append(function)
    with pytest.raises(OnnxError, match="tensor 'W' \\(function 'f' > node 'fc' \\(Constant\\) attribute 'value'\\)"):
        parse_model(with_function.SerializeToString())
