"""Per-epoch checkpoints, so that a run whose worker dies resumes where it stopped.

One file, `last.pt`, replaced atomically after every epoch; it records the
configuration it belongs to, and a run refuses to resume from another run's file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

FILE = "last.pt"


@dataclass
class Resumed:
    epoch: int                # epochs already done
    history: list[dict]       # their metrics


def save(directory: Path, config_json: str, epoch: int, history: list[dict], model: nn.Module,
         optimiser: torch.optim.Optimizer, generator: torch.Generator) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    state = {"config": config_json, "epoch": epoch, "history": history, "model": model.state_dict(),
             "optimiser": optimiser.state_dict(), "generator": generator.get_state(),
             "torch_rng": torch.get_rng_state()}
    partial = directory / (FILE + ".partial")
    torch.save(state, partial)
    os.replace(partial, directory / FILE)


def restore(directory: Path, config_json: str, model: nn.Module, optimiser: torch.optim.Optimizer,
            generator: torch.Generator) -> Resumed | None:
    """Load the last checkpoint into the given objects (None when there is none)."""
    path = directory / FILE
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["config"] != config_json:
        raise ValueError(f"{path} belongs to a run with another configuration; use a fresh checkpoint folder")
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return Resumed(state["epoch"], state["history"])
