"""Anderson-relaxation leaves: the checker's Lagrangian bound is below the exact MILP for any
multipliers, equals CROWN's at CROWN's multipliers, gains under supergradient ascent, and
forged multipliers never prove a violated property."""

from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from core.bounds.reference import exact_milp
from core.certificate import CertificateBuilder, check, network, network_digest, property_digest
from core.certificate.anderson import AndersonForm, anderson_form, anderson_lower_bounds
from core.certificate.leaf import network_boxes
from core.certificate.network import Unsupported, chain_of, read_onnx
from core.certificate.soundness import backward, relu_lines
from core.certificate.tree import Domains
from core.model import load_network
from core.model.ir import Interval
from core.spec.property import Conjunction
from tests.core.certificate.nets import exact_min, onnx_bytes, one_row_property, random_layers

SIZES = [3, 6, 6, 1]


def _setup(data: bytes, lower, upper, splits: dict | None = None):
    """(chain, form, boxes of one leaf as leaf.py uses them) for the box and ReLU splits
    {(relu name, neuron): +1 active / -1 inactive}."""
    chain = chain_of(read_onnx(data)[1])
    form = anderson_form(chain)
    sizes = {s.name: chain.sizes[i] for s, i in ((chain.steps[i], i) for i in chain.relus.values())}
    active = {name: np.zeros((1, n), bool) for name, n in sizes.items()}
    inactive = {name: np.zeros((1, n), bool) for name, n in sizes.items()}
    for (name, j), phase in (splits or {}).items():
        (active if phase > 0 else inactive)[name][0, j] = True
    domains = Domains(np.asarray(lower, float)[None], np.asarray(upper, float)[None], active, inactive)
    net = network_boxes(chain, domains)
    return chain, form, net, list(net.boxes) + [net.output]


def _bound(form, conjunction, boxes, duals, rows=None) -> float:
    params = {"rows": np.ones((1, 1, len(conjunction.d))) if rows is None else rows}
    for name, by in duals.items():
        for part, value in by.items():
            params[f"anderson_{part}:{name}"] = value[None, None]
    return float(anderson_lower_bounds(form, conjunction, boxes, params)[0])


def _random_duals(rng, form: AndersonForm, scale: float) -> dict:
    duals = {}
    for layer in form.layers:
        n, K = layer.cols.shape
        cut = rng.exponential(scale, n)
        duals[layer.name] = {"alpha": rng.exponential(scale, n), "beta0": rng.exponential(scale, n),
                             "beta1": rng.exponential(scale, n), "cut": cut,
                             "mask": rng.uniform(0, 1, (n, K)) * cut[:, None]}
    return duals


def _dense(W) -> np.ndarray:
    return W.toarray() if hasattr(W, "toarray") else np.asarray(W)


def _crown_duals(form: AndersonForm, conjunction: Conjunction, boxes) -> dict:
    """The planet multipliers of a CROWN pass with adaptive slopes (the spec's mapping)."""
    lam = np.asarray(conjunction.C, float)[0]
    if form.last is not None:
        lam = lam @ _dense(form.last.W)
    duals = {}
    for layer in reversed(form.layers):
        l, u = (v[0] for v in boxes[layer.relu])
        slope, _, _ = relu_lines(l, u, None)
        active, unstable = l >= 0, (l < 0) & (u > 0)
        pos, neg = np.maximum(lam, 0), np.minimum(lam, 0)
        width = np.where(unstable, u - l, 1.0)
        alpha = np.where(unstable, slope * pos, np.where(active, pos, 0.0))
        beta1 = np.where(unstable, -neg * u / width, np.where(active, -neg, 0.0))
        beta0 = np.where(unstable, neg * l / width, 0.0)
        n, K = layer.cols.shape
        duals[layer.name] = {"alpha": alpha, "beta0": beta0, "beta1": beta1, "cut": np.zeros(n), "mask": np.zeros((n, K))}
        lam = (alpha - beta1) @ _dense(layer.W)
    return duals


def _ascent(form: AndersonForm, conjunction: Conjunction, boxes, duals: dict, steps: int, step: float) -> dict:
    """Projected supergradient ascent on the (plain float) Lagrangian: each multiplier moves by
    its constraint's value at the Lagrangian's minimiser; returns the best iterate."""
    best, best_value = duals, _bound(form, conjunction, boxes, duals)
    for it in range(steps):
        grads = _supergradient(form, conjunction, boxes, duals)
        size = step / np.sqrt(it + 1)
        duals = {name: {part: v + size * grads[name][part] for part, v in by.items()} for name, by in duals.items()}
        for by in duals.values():
            for part in ("alpha", "beta0", "beta1", "cut"):
                by[part] = np.maximum(by[part], 0)
            by["mask"] = np.clip(by["mask"], 0, by["cut"][:, None])
        value = _bound(form, conjunction, boxes, duals)
        if value > best_value:
            best, best_value = duals, value
    return best


def _supergradient(form: AndersonForm, conjunction: Conjunction, boxes, duals: dict) -> dict:
    """The constraint values at the minimiser of the Lagrangian over the boxes."""
    c = np.asarray(conjunction.C, float)[0]
    g = c @ _dense(form.last.W) if form.last is not None else c
    coeff, zcoef = {}, {}
    for index in range(len(form.layers) - 1, -1, -1):
        layer, m = form.layers[index], duals[form.layers[index].name]
        W, w = _dense(layer.W), layer.weights
        l, u = (v[0] for v in boxes[layer.relu])
        lo_in, hi_in = _input_box(form, boxes, index)
        low = np.where(w >= 0, lo_in[layer.cols], hi_in[layer.cols])
        high = np.where(w >= 0, hi_in[layer.cols], lo_in[layer.cols])
        B = m["cut"] * ((l < 0) & (u > 0))
        P = np.minimum(m["mask"], B[:, None]) * (w != 0)
        coeff[index] = -m["alpha"] + m["beta0"] + m["beta1"] + B + g
        zcoef[index] = -m["beta0"] * u - m["beta1"] * l - (w * (P * low + (B[:, None] - P) * high)).sum(1) - B * layer.b
        scattered = np.zeros(W.shape[1])
        np.add.at(scattered, layer.cols.reshape(-1), (w * P).reshape(-1))
        g = (m["alpha"] - m["beta1"]) @ W - scattered
    lo0, hi0 = (v[0] for v in boxes[form.first])
    x_prev = np.where(g >= 0, lo0, hi0)
    grads = {}
    for index, layer in enumerate(form.layers):
        m = duals[layer.name]
        l, u = (v[0] for v in boxes[layer.relu])
        x = np.where(coeff[index] >= 0, np.maximum(l, 0), np.maximum(u, 0))
        zl = (l >= 0).astype(float)
        zu = np.maximum(zl, (u > 0).astype(float))
        z = np.where(zcoef[index] >= 0, zl, zu)
        pre = _dense(layer.W) @ x_prev + layer.b
        w = layer.weights
        lo_in, hi_in = _input_box(form, boxes, index)
        low = np.where(w >= 0, lo_in[layer.cols], hi_in[layer.cols])
        high = np.where(w >= 0, hi_in[layer.cols], lo_in[layer.cols])
        xi = x_prev[layer.cols]
        grads[layer.name] = {"alpha": pre - x, "beta0": x - u * z, "beta1": x - pre + l * (1 - z),
                             "cut": x - z * ((w * high).sum(1) + layer.b),
                             "mask": w * (low - xi) - z[:, None] * w * (low - high)}
        x_prev = x
    return grads


def _input_box(form, boxes, index):
    if index == 0:
        return (v[0] for v in boxes[form.first])
    lo, hi = boxes[form.layers[index - 1].relu]
    return np.maximum(lo[0], 0), np.maximum(hi[0], 0)


def _instance(seed: int):
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, SIZES)
    lower, upper = -np.ones(SIZES[0]), np.ones(SIZES[0])
    c = rng.normal(size=SIZES[-1])
    return rng, layers, onnx_bytes(layers), lower, upper, Conjunction(c[None], np.zeros(1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31), scale=st.sampled_from([1e-3, 0.1, 1.0, 30.0]), split=st.booleans())
def test_any_nonnegative_multipliers_bound_below_the_milp(seed, scale, split):
    rng, layers, data, lower, upper, conjunction = _instance(seed)
    splits = {("relu0", int(j)): int(s) for j, s in zip(rng.choice(6, 2, replace=False), rng.choice([-1, 1], 2))} \
        if split else {}
    _, form, net, boxes = _setup(data, lower, upper, splits)
    exact = exact_min(layers, lower, upper, conjunction.C[0], {(0, j): s for (_, j), s in splits.items()})
    if net.empty[0] or not np.isfinite(exact):
        return
    bound = _bound(form, conjunction, boxes, _random_duals(rng, form, scale))
    assert bound <= exact + 1e-9


def _tuned(form, conjunction, boxes, start, steps=40) -> dict:
    """The best of a few ascents with different step sizes (each keeps its best iterate)."""
    runs = [_ascent(form, conjunction, boxes, start, steps, step) for step in (0.002, 0.01, 0.05)]
    return max(runs, key=lambda duals: _bound(form, conjunction, boxes, duals))


@pytest.mark.parametrize("seed", [0, 1, 2, 6, 8, 10, 11])
def test_crown_multipliers_give_crown_and_ascent_tightens(seed):
    _, layers, data, lower, upper, conjunction = _instance(seed)
    chain, form, net, boxes = _setup(data, lower, upper)
    spec = chain.steps + [type(form.last)(conjunction.C, -conjunction.d)]
    lines = {i: tuple(np.asarray(a) for a in net.relax[i]) for i in net.relax}
    crown = float(backward(spec, boxes, np.ones((1, 1, 1)), len(spec), lines, {}, chain.runs)[0, 0])
    start = _crown_duals(form, conjunction, boxes)
    at_crown = _bound(form, conjunction, boxes, start)
    assert at_crown >= crown - 1e-9
    assert at_crown <= crown + 1e-6  # the Lagrangian at CROWN's multipliers is CROWN's bound
    tuned = _bound(form, conjunction, boxes, _tuned(form, conjunction, boxes, start))
    exact = exact_min(layers, lower, upper, conjunction.C[0])
    assert at_crown <= tuned <= exact + 1e-9
    if seed >= 6:  # instances where CROWN is loose and the ascent measurably gains
        assert tuned > at_crown + 1e-3, (crown, tuned, exact)


def _builder(data, prop, names):
    return CertificateBuilder(network_digest(data), property_digest(prop), names)


def _stack(duals: dict) -> dict:
    return {name: {part: v[None] for part, v in by.items()} for name, by in duals.items()}


def test_forged_multipliers_never_prove_a_violated_property():
    rng, layers, data, lower, upper, conjunction = _instance(11)
    exact = exact_min(layers, lower, upper, conjunction.C[0])
    prop = one_row_property(lower, upper, conjunction.C[0], exact + 0.01)  # violated: min c·y < d
    _, form, _, _ = _setup(data, lower, upper)
    for forged in ({"alpha": 1e300, "cut": 1e300, "mask": 1e300}, {"alpha": -1e6, "beta0": -5.0, "cut": -1.0},
                   {"alpha": np.nan, "beta0": np.inf, "cut": np.nan, "mask": -np.inf}):
        builder = _builder(data, prop, ["relu0", "relu1"])
        duals = _random_duals(rng, form, 1.0)
        for by in duals.values():
            for part, value in forged.items():
                by[part] = np.full_like(by[part], value)
        builder.target(0, 0).close(0, anderson=_stack(duals))
        result = check(data, prop, builder.finish())
        assert not result.valid and "not > 0" in result.reason, result
    for _ in range(20):
        builder = _builder(data, prop, ["relu0", "relu1"])
        builder.target(0, 0).close(0, anderson=_stack(_random_duals(rng, form, float(rng.choice([0.01, 1, 100])))))
        assert not check(data, prop, builder.finish()).valid


@pytest.mark.parametrize("read_sparse", [False, True])
def test_an_anderson_leaf_is_accepted_and_its_shapes_checked(read_sparse, monkeypatch):
    """Also with every matrix read as a scipy sparse array, as large nearly empty ones are."""
    if read_sparse:
        monkeypatch.setattr(network, "SPARSE_MIN_ENTRIES", 0)
        monkeypatch.setattr(network, "SPARSE_MAX_DENSITY", 1.0)
    _, layers, data, lower, upper, conjunction = _instance(8)
    _, form, net, boxes = _setup(data, lower, upper)
    spec = Conjunction(conjunction.C, np.zeros(1))
    duals = _tuned(form, spec, boxes, _crown_duals(form, spec, boxes))
    value = _bound(form, spec, boxes, duals)
    prop = one_row_property(lower, upper, conjunction.C[0], value - 1e-6)
    builder = _builder(data, prop, ["relu0", "relu1"])
    builder.target(0, 0).close(0, anderson=_stack(duals))
    certificate = builder.finish()
    reread = type(certificate).load(certificate.to_bytes())
    assert check(data, prop, reread).valid
    stripped = copy.deepcopy(reread)
    stripped.targets[0].anderson = {}
    assert not check(data, prop, stripped).valid  # CROWN alone does not close it
    wrong = copy.deepcopy(reread)
    wrong.targets[0].anderson["relu1"]["mask"] = wrong.targets[0].anderson["relu1"]["mask"][..., :-1]
    result = check(data, prop, wrong)
    assert not result.valid and "Anderson mask for 'relu1' has shape" in result.reason
    unknown = copy.deepcopy(reread)
    unknown.targets[0].anderson["nope"] = unknown.targets[0].anderson["relu1"]
    result = check(data, prop, unknown)
    assert not result.valid and "'nope', not a ReLU layer" in result.reason


def _model(nodes, inits, shape, out_name, out_shape) -> bytes:
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def _f32(rng, *shape, scale=1.0):
    return (rng.normal(0, scale, shape)).astype(np.float32)


def _conv_net(rng) -> bytes:
    inits = [numpy_helper.from_array(_f32(rng, 2, 1, 2, 2), "K"), numpy_helper.from_array(_f32(rng, 2, scale=0.2), "kb"),
             numpy_helper.from_array(_f32(rng, 1, 18, scale=0.4), "W"), numpy_helper.from_array(_f32(rng, 1, scale=0.2), "b")]
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"], pads=[0, 0, 0, 0]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    return _model(nodes, inits, [1, 1, 4, 4], "y", [1, 1])


def _normalised_net(rng) -> bytes:
    inits = [numpy_helper.from_array(np.array([[0.1, -0.2, 0.3]], np.float32), "mean"),
             numpy_helper.from_array(np.array([[0.5, 2.0, 1.5]], np.float32), "std")]
    nodes = [helper.make_node("Sub", ["x", "mean"], ["s"]), helper.make_node("Div", ["s", "std"], ["n"])]
    current = "n"
    for i, (a, b) in enumerate(zip([3, 5, 5], [5, 5, 2])):
        inits += [numpy_helper.from_array(_f32(rng, b, a, scale=1 / np.sqrt(a)), f"W{i}"),
                  numpy_helper.from_array(_f32(rng, b, scale=0.3), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [f"g{i}"], transB=1))
        current = f"g{i}"
        if i < 2:
            nodes.append(helper.make_node("Relu", [current], [f"relu{i}"]))
            current = f"relu{i}"
    return _model(nodes, inits, [1, 3], current, [1, 2])


def _relu_ending_net(rng) -> bytes:
    inits, nodes, current = [], [], "x"
    for i, (a, b) in enumerate(zip([3, 5], [5, 3])):
        inits += [numpy_helper.from_array(_f32(rng, b, a, scale=1 / np.sqrt(a)), f"W{i}"),
                  numpy_helper.from_array(_f32(rng, b, scale=0.3), f"b{i}")]
        nodes += [helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [f"g{i}"], transB=1),
                  helper.make_node("Relu", [f"g{i}"], [f"relu{i}"])]
        current = f"relu{i}"
    return _model(nodes, inits, [1, 3], current, [1, 3])


def _matmul_add_net(rng) -> bytes:
    """MatMul then Add (a Bias step after each Linear), as many exports write a Linear layer."""
    inits, nodes, current = [], [], "x"
    for i, (a, b) in enumerate(zip([3, 5, 4], [5, 4, 2])):
        inits += [numpy_helper.from_array(_f32(rng, a, b, scale=1 / np.sqrt(a)), f"W{i}"),
                  numpy_helper.from_array(_f32(rng, b, scale=0.3), f"b{i}")]
        nodes += [helper.make_node("MatMul", [current, f"W{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        current = f"a{i}"
        if i < 2:
            nodes.append(helper.make_node("Relu", [current], [f"relu{i}"]))
            current = f"relu{i}"
    return _model(nodes, inits, [1, 3], current, [1, 2])


@pytest.mark.parametrize("build", [_conv_net, _normalised_net, _relu_ending_net, _matmul_add_net])
def test_other_chain_shapes_are_handled(build):
    rng = np.random.default_rng(5)
    data = build(rng)
    chain = chain_of(read_onnx(data)[1])
    n_in, n_out = chain.sizes[0], chain.sizes[-1]
    lower, upper = -np.ones(n_in), np.ones(n_in)
    chain, form, net, boxes = _setup(data, lower, upper)
    graph = load_network(data).graph.to("cpu", torch.float64)
    shape = (1, *graph.input_shape)
    box = Interval(torch.as_tensor(lower).reshape(shape), torch.as_tensor(upper).reshape(shape))
    pre = {s.name: Interval(torch.as_tensor(boxes[i][0]).reshape(1, *graph.node(s.name).shape),
                            torch.as_tensor(boxes[i][1]).reshape(1, *graph.node(s.name).shape))
           for s, i in ((chain.steps[i], i) for i in chain.relus.values())}
    for row in range(min(n_out, 2)):
        c = np.zeros(n_out)
        c[row] = 1.0 if row == 0 else -1.0
        conjunction = Conjunction(c[None], np.zeros(1))
        exact = float(exact_milp(graph, box, pre, c[None], np.zeros(1))[0])
        start = _crown_duals(form, conjunction, boxes)
        for duals in (start, _ascent(form, conjunction, boxes, start, 20, 0.05),
                      _random_duals(np.random.default_rng(row), form, 0.5)):
            assert _bound(form, conjunction, boxes, duals) <= exact + 1e-9


def test_chains_the_relaxation_does_not_fit_are_refused():
    rng = np.random.default_rng(0)
    layers = random_layers(rng, [2, 3, 3, 1])
    chain = chain_of(read_onnx(onnx_bytes(layers, "Sigmoid"))[1])
    with pytest.raises(Unsupported, match="Anderson"):
        anderson_form(chain)
    data = onnx_bytes(layers, "Sigmoid")
    prop = one_row_property(-np.ones(2), np.ones(2), np.ones(1), -100.0)
    builder = _builder(data, prop, [])
    builder.target(0, 0).close(0, anderson={"sigmoid0": {"alpha": np.ones((1, 3))}})
    result = check(data, prop, builder.finish())
    assert not result.valid and "Anderson" in result.reason


def _exact_lagrangian(form: AndersonForm, conjunction: Conjunction, boxes, duals: dict) -> Fraction:
    """The spec's Lagrangian minimum in rational arithmetic, from the same clamped multipliers."""
    F = np.vectorize(Fraction, otypes=[object])
    c = F(np.asarray(conjunction.C, float)[0])
    value = -F(np.asarray(conjunction.d, float)).sum()
    g = c
    if form.last is not None:
        value += (c * F(form.last.b)).sum()
        g = F(_dense(form.last.W)).T.dot(c)
    for index in range(len(form.layers) - 1, -1, -1):
        layer, m = form.layers[index], duals[form.layers[index].name]
        l, u = (v[0] for v in boxes[layer.relu])
        lo_in, hi_in = (np.asarray(v, float) for v in _input_box(form, boxes, index))
        W, w, b = F(_dense(layer.W)), F(layer.weights), F(layer.b)
        low = F(np.where(layer.weights >= 0, lo_in[layer.cols], hi_in[layer.cols]))
        high = F(np.where(layer.weights >= 0, hi_in[layer.cols], lo_in[layer.cols]))
        a, b0, b1 = F(m["alpha"]), F(m["beta0"]), F(m["beta1"])
        B = F(m["cut"] * ((l < 0) & (u > 0)))
        P = F(np.minimum(m["mask"], m["cut"][:, None] * ((l < 0) & (u > 0))[:, None]) * (layer.weights != 0))
        f = -a + b0 + b1 + B + g
        value += sum(min(fj * Fraction(float(lj)), fj * Fraction(float(hj)))
                     for fj, lj, hj in zip(f, np.maximum(l, 0), np.maximum(u, 0)))
        gz = -b0 * F(u) - b1 * F(l) - (w * (P * low + (B[:, None] - P) * high)).sum(axis=1) - B * b
        zl = (l >= 0).astype(int)
        zu = np.maximum(zl, (u > 0).astype(int))
        value += sum(min(gj * int(p), gj * int(q)) for gj, p, q in zip(gz, zl, zu))
        value += ((a - b1) * b).sum() + (b1 * F(l)).sum() + (w * P * low).sum()
        scattered = np.array([Fraction(0)] * W.shape[1], dtype=object)
        for j in range(layer.cols.shape[0]):
            for t in range(layer.cols.shape[1]):
                scattered[layer.cols[j, t]] += w[j, t] * P[j, t]
        g = W.T.dot(a - b1) - scattered
    lo0, hi0 = (v[0] for v in boxes[form.first])
    return value + sum(min(gi * Fraction(float(p)), gi * Fraction(float(q))) for gi, p, q in zip(g, lo0, hi0))


@pytest.mark.parametrize("seed", range(4))
def test_the_rounding_allowance_covers_exact_arithmetic_and_is_small(seed):
    rng = np.random.default_rng(100 + seed)
    layers = random_layers(rng, [2, 3, 3, 2])
    data = onnx_bytes(layers)
    conjunction = Conjunction(rng.normal(size=(1, 2)), rng.normal(size=1))
    _, form, _, boxes = _setup(data, -np.ones(2), np.ones(2))
    duals = _random_duals(rng, form, 1.0)
    exact = _exact_lagrangian(form, conjunction, boxes, duals)
    bound = _bound(form, conjunction, boxes, duals)
    assert Fraction(bound) <= exact
    assert float(exact) - bound < 1e-12


def test_split_leaves_closed_by_anderson_multipliers_check_end_to_end():
    _, layers, data, lower, upper, conjunction = _instance(8)
    spec = Conjunction(conjunction.C, np.zeros(1))
    _, form, _, root_boxes = _setup(data, lower, upper)
    l, u = root_boxes[form.layers[0].relu]
    j = int(np.argmax(np.minimum(-l[0], u[0])))  # the widest unstable neuron of the first layer
    duals, values = [], []
    for phase in (-1, 1):
        _, _, _, boxes = _setup(data, lower, upper, {("relu0", j): phase})
        duals.append(_tuned(form, spec, boxes, _crown_duals(form, spec, boxes)))
        values.append(_bound(form, spec, boxes, duals[-1]))
    prop = one_row_property(lower, upper, conjunction.C[0], min(values) - 1e-6)

    def certificate(closed: list[bool]):
        builder = _builder(data, prop, ["relu0", "relu1"])
        target = builder.target(0, 0)
        children = target.split(0, ("relu", "relu0", j))
        for child, mine, use in zip(children, duals, closed):
            target.close(child, anderson=_stack(mine) if use else None)
        return builder.finish()

    assert check(data, prop, certificate([True, True])).valid
    for closed in ([True, False], [False, True]):
        result = check(data, prop, certificate(closed))
        assert not result.valid and "not > 0" in result.reason  # CROWN alone leaves that child open
