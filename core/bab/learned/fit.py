"""What `certbound branching-data` / `train-brancher` and their job kinds run: shards from
a network, and a stored brancher from shards."""

from __future__ import annotations

from pathlib import Path

from core.bab.learned.config import BranchingDataConfig, TrainBrancherConfig


def branching_data(network, config: BranchingDataConfig, mnist: Path | None = None, progress=None) -> dict:
    """A shard (see `core.bab.learned.data`) with its settings under "config"."""
    from core.bab.learned.data import make_shard
    from core.bab.learned.properties import robustness_properties

    props = robustness_properties(network, "train", config.eps, config.properties, config.start, mnist)
    if not props:
        raise ValueError(f"no training image from index {config.start} is classified correctly by the network")
    shard = make_shard(network, props, config.per_layer, config.max_domains, config.search_timeout_s, progress)
    shard["config"] = config.model_dump()
    return shard


def train_from_shards(shards: list[dict], config: TrainBrancherConfig, mnist: Path | None = None,
                      progress=None) -> tuple[bytes, list[dict]]:
    """(the brancher file's bytes, per-epoch history) trained on `shards`; validation
    properties come from each shard's network."""
    from core.bab.learned.model_file import save_brancher
    from core.bab.learned.properties import robustness_properties
    from core.bab.learned.select import validation_seconds
    from core.bab.learned.train import Loss, train_brancher
    from core.model import load_network

    instances = []
    if config.validation_properties:
        for shard in shards:
            network = load_network(shard["onnx"])
            eps = config.validation_eps or float(shard.get("config", {}).get("eps", 0.06))
            for _, prop in robustness_properties(network, "train", eps, config.validation_properties,
                                                 config.validation_start, mnist):
                instances.append((network, prop))
    select = None
    if instances:
        select = lambda model: validation_seconds(model, instances, config.threshold,  # noqa: E731
                                                  config.validation_timeout_s)
    model, history = train_brancher(shards, config.epochs, Loss(config.smoothing, config.pat, config.temperature),
                                    config.lr, config.seed, select, progress, dim=config.dim,
                                    rounds=config.rounds)
    meta = {"config": config.model_dump(), "history": history,
            "networks": len(shards), "domains": sum(len(s["records"]) for sh in shards for s in sh["searches"])}
    return save_brancher(model, threshold=config.threshold, meta=meta), history
