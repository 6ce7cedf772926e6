"""PINN training: a tanh MLP fitted to a PDE's residual, initial and boundary conditions at
sampled points (Adam, then L-BFGS with a strong-Wolfe line search), exported as ONNX.

The losses use the same formulas as the certificates (`core.pinn.pde`), evaluated on torch
tensors, so the network is trained on exactly the residual it is later certified on. The
inputs are scaled to [-1, 1] inside the first layer (folded into its weights on export).
"""

from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from core.numbers import Count, Real, Seed
from core.pinn.algebra import PointAlgebra
from core.pinn.pde import PDES, get_pde


class PinnTrainConfig(BaseModel):
    """The seed's Burgers recipe by default: 8 hidden layers of 20, 10k collocation points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pde: str = Field("burgers", description=f"Which PDE ({', '.join(sorted(PDES))}).")
    hidden_layers: Count = Field(8, ge=1, le=32, description="Hidden tanh layers.")
    width: Count = Field(20, ge=1, le=512, description="Neurons per hidden layer.")
    collocation: Count = Field(10_000, ge=1, description="Residual points (Latin hypercube) in the domain.")
    condition_points: Count = Field(100, ge=1, description="Points on each initial/boundary condition.")
    adam_steps: Count = Field(2000, ge=0, description="Adam steps before L-BFGS.")
    lr: Real = Field(1e-3, gt=0, description="Adam learning rate.")
    lbfgs_steps: Count = Field(2000, ge=0, description="L-BFGS iterations (at most).")
    seed: Seed = Field(0, description="Seed of the initial weights and the points.")
    time_limit_s: Real | None = Field(None, gt=0, description="Stop (and export what there is) after this long.")


@dataclass
class PinnTrainResult:
    onnx: bytes
    history: list[dict]
    losses: dict[str, float]
    elapsed_s: float


class _TorchAlgebra(PointAlgebra):
    """PointAlgebra on torch tensors (known functions of x are constants: x is data)."""

    @staticmethod
    def apply(fn, a):
        import torch

        return torch.as_tensor(fn.f(a.detach().numpy()), dtype=a.dtype)


def _latin_hypercube(rng: np.random.Generator, n: int, domain: np.ndarray) -> np.ndarray:
    cells = np.stack([rng.permutation(n) for _ in domain], 1)
    u = (cells + rng.uniform(size=cells.shape)) / n
    return domain[:, 0] + u * (domain[:, 1] - domain[:, 0])


def _condition_points(rng, condition, n: int, collocation: int) -> np.ndarray:
    return _latin_hypercube(rng, collocation if condition.name == "residual" else n, condition.domain)


def build_net(n_out: int, hidden_layers: int, width: int, domain: np.ndarray):
    """A float64 nn.Sequential: input scaling to [-1, 1], then the tanh MLP (Xavier-normal weights)."""
    import torch
    from torch import nn

    scale = 2.0 / (domain[:, 1] - domain[:, 0])
    shift = -1.0 - domain[:, 0] * scale
    normalise = nn.Linear(2, 2).double()
    with torch.no_grad():
        normalise.weight.copy_(torch.diag(torch.tensor(scale)))
        normalise.bias.copy_(torch.tensor(shift))
    normalise.requires_grad_(False)
    layers: list[nn.Module] = [normalise]
    sizes = [2] + [width] * hidden_layers + [n_out]
    for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = nn.Linear(i, o).double()
        nn.init.xavier_normal_(layer.weight)
        nn.init.zeros_(layer.bias)
        layers.append(layer)
        if k + 2 < len(sizes):
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def condition_losses(net, pde, points: dict) -> dict:
    """Mean squared residual of every condition at its training points (torch, differentiable)."""
    from core.pinn.derivatives import torch_derivatives
    from core.pinn.residual import _mirrored

    losses = {}
    for c in pde.conditions:
        xs = points[c.name]
        places = [xs] if not c.mirrors else [xs, _mirrored_tensor(xs, _mirrored)]
        views = []
        for x in places:
            u, grads, hess = torch_derivatives(net, x, c.pairs, create_graph=True)
            views.append(_TorchAlgebra(x, u, grads, hess))
        parts = c.formula(views)
        losses[c.name] = sum((p ** 2).mean() for p in parts)
    return losses


def _mirrored_tensor(x, mirrored):
    import torch

    lo, _ = mirrored(x.detach().numpy(), x.detach().numpy())
    return torch.tensor(lo, requires_grad=True)


def train_pinn(config: PinnTrainConfig, progress: Callable[[dict], bool] | None = None) -> PinnTrainResult:
    """Train, then export; `progress(event)` returning True stops training early (the
    network so far is still exported)."""
    import torch

    pde = get_pde(config.pde)
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    net = build_net(pde.n_outputs, config.hidden_layers, config.width, pde.domain)
    points = {c.name: torch.tensor(_condition_points(rng, c, config.condition_points, config.collocation),
                                   requires_grad=True) for c in pde.conditions}
    history: list[dict] = []
    stop = [False]

    def total():
        losses = condition_losses(net, pde, points)
        return sum(losses.values()), losses

    def report(phase: str, step: int, losses: dict) -> None:
        event = {"phase": phase, "step": step, "loss": float(sum(v.detach() for v in losses.values())),
                 **{k: float(v.detach()) for k, v in losses.items()}, "elapsed_s": time.monotonic() - started}
        history.append(event)
        out_of_time = config.time_limit_s is not None and event["elapsed_s"] > config.time_limit_s
        stop[0] = stop[0] or out_of_time or bool(progress and progress(event))

    params = [p for p in net.parameters() if p.requires_grad]
    adam = torch.optim.Adam(params, lr=config.lr)
    for step in range(config.adam_steps):
        adam.zero_grad()
        loss, losses = total()
        loss.backward()
        adam.step()
        if step % 100 == 0 or step + 1 == config.adam_steps:
            report("adam", step, losses)
        if stop[0]:
            break
    if config.lbfgs_steps and not stop[0]:
        lbfgs = torch.optim.LBFGS(params, lr=1.0, max_iter=config.lbfgs_steps, history_size=50,
                                  tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")
        calls = [0]

        def closure():
            if stop[0]:  # L-BFGS cannot be interrupted; a zero gradient makes it stop
                loss = sum(p.sum() * 0 for p in params)
                loss.backward()
                return loss
            lbfgs.zero_grad()
            loss, losses = total()
            loss.backward()
            if calls[0] % 50 == 0:
                report("lbfgs", calls[0], losses)
            calls[0] += 1
            return loss

        lbfgs.step(closure)
    _, losses = total()
    report("done", len(history), losses)
    return PinnTrainResult(export(net, pde.domain), history, {k: float(v) for k, v in losses.items()},
                           time.monotonic() - started)


def export(net, domain: np.ndarray) -> bytes:
    """ONNX bytes of `net` with its input scaling folded into the first layer, checked: the
    engine's reading of the file computes what `net` computes."""
    import torch
    from torch import nn

    from core.pinn.network import load_mlp

    normalise, first, rest = net[0], net[1], list(net)[2:]
    folded = nn.Linear(first.in_features, first.out_features)
    with torch.no_grad():
        folded.weight.copy_(first.weight @ normalise.weight)
        folded.bias.copy_(first.weight @ normalise.bias + first.bias)
    model = nn.Sequential(folded, *copy.deepcopy(rest)).float().eval()
    buffer = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 2), buffer, dynamo=False, input_names=["input"],
                      output_names=["output"], opset_version=17)
    data = buffer.getvalue()
    x = _latin_hypercube(np.random.default_rng(1), 64, domain)
    with torch.no_grad():
        expected = net(torch.tensor(x)).numpy()
    got = load_mlp(data).forward(x)
    if not np.allclose(got, expected, atol=1e-4 * (1 + np.abs(expected).max())):
        raise RuntimeError("the exported PINN does not compute what was trained")
    return data
