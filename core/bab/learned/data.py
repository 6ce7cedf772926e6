"""Strong-branching data: ReLU-split searches driven by `StrongBranching`, their logs
written as gzip-compressed torch shards (one per network and batch of properties).

A shard holds the network (ONNX bytes and its probed graph: the weights as edges), and
per search its input box, specification and decision log (`strong.DecisionLog`).
"""

from __future__ import annotations

import gzip
import io
import time
from pathlib import Path

import torch

from core.bab.budget import Budget, Stop
from core.bab.learned.features import Featurizer, input_features, output_features
from core.bab.learned.graph import network_graph
from core.bab.learned.lookback import lookback_frequency
from core.bab.learned.strong import DecisionLog, StrongBranching
from core.bab.relu_split import ReluSplitSearch
from core.config import VerifyConfig
from core.verifier.targets import targets_of

SHARD_FORMAT = "certbound-branching-data"
TEACHER_SCORE = "gains"  # how strong branching ranks candidates (`branching.split_score`), kept in each shard
OLD_TEACHER_SCORE = "worse-child"  # shards made before 5 Dec 2026 carry no score: they ranked so


def search_config(**changes) -> VerifyConfig:
    """The search settings data and evaluation share: float64 on the CPU, no LP pursuit."""
    return VerifyConfig(device="cpu", dtype="float64", branching="relu", pursuit_share=0.0, memory_cap_mb=1024,
                        **changes)


def run_searches(network, prop, make_choose, max_domains: int | None, timeout_s: float, **changes):
    """One ReLU-split search per target of `prop` with the branching rule `make_choose(graph,
    net, target)`, within `max_domains` visited and `timeout_s` each (`changes`: other search
    settings). Yields (target, search, status, seconds); status is the outcome's, or the
    reason the search stopped."""
    graph = network.graph.to("cpu", torch.float64)
    net = network_graph(graph)
    config = search_config(timeout_s=timeout_s, **changes)
    for target in targets_of(prop, torch.device("cpu"), torch.float64):
        budget = Budget(timeout_s, max_domains=max_domains)
        search = ReluSplitSearch(graph, target.C[None], target.d[None], config, lambda x: torch.ones(len(x)),
                                 lambda x: False, budget, 1e-9)
        search.choose = make_choose(graph, net, target)
        started = time.monotonic()
        try:
            status = search.run(target.lower, target.upper).status
        except Stop as stop:
            status = stop.reason
        yield target, search, status, time.monotonic() - started


def strong_search(network, prop, per_layer: int, max_domains: int, timeout_s: float) -> list[dict]:
    """Strong-branching searches of every target of `prop`: per target {"inputs", "outputs",
    "records", "status", "visited"}."""
    out = []
    make = lambda graph, net, target: StrongBranching(Featurizer(graph, net, target.C), DecisionLog(),  # noqa: E731
                                                      per_layer, TEACHER_SCORE)
    # one split a step: the teacher then ranks every domain from its own α,β bound, not a child
    # split again in its parent's step from the parent's α/β (`ReluSplitSearch.step`)
    for target, search, status, _ in run_searches(network, prop, make, max_domains, timeout_s, double_split_max=0):
        out.append({"inputs": input_features(target.lower, target.upper), "outputs": output_features(target.C),
                    "records": search.choose.log.records, "status": status, "visited": search.visited})
    return out


def make_shard(network, properties: list[tuple[str, object]], per_layer: int = 16, max_domains: int = 400,
               timeout_s: float = 30.0, progress=None) -> dict:
    """A shard's contents for `network` and (name, Property) pairs; `progress(name, search)`
    after each search may return True to stop after that property (the shard keeps what was done)."""
    searches = []
    for name, prop in properties:
        stop = False
        for search in strong_search(network, prop, per_layer, max_domains, timeout_s):
            search["name"] = name
            searches.append(search)
            if progress is not None:
                stop = bool(progress(name, search)) or stop
        if stop:
            break
    net = network_graph(network.graph)
    return {"format": SHARD_FORMAT, "onnx": network.onnx_bytes, "graph": net.state(), "searches": searches,
            "split_score": TEACHER_SCORE}


def shard_bytes(shard: dict) -> bytes:
    """The shard as a gzip-compressed torch file."""
    buffer = io.BytesIO()
    torch.save(shard, buffer)
    return gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)


def write_shard(shard: dict, path: Path) -> int:
    data = shard_bytes(shard)
    Path(path).write_bytes(data)
    return len(data)


def read_shard(source: Path | bytes) -> dict:
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    shard = torch.load(io.BytesIO(gzip.decompress(data)), map_location="cpu", weights_only=True)
    if not isinstance(shard, dict) or shard.get("format") != SHARD_FORMAT:
        raise ValueError(f"{source if isinstance(source, (str, Path)) else 'shard'}: not a branching-data shard")
    return shard


def shard_summary(shard: dict) -> dict:
    """Searches, domains logged, the teacher's ranking and the lookback frequency over them."""
    lookback = {"pairs": 0, "second": 0, "top5": 0, "chance": 0.0}
    domains = 0
    for search in shard["searches"]:
        domains += len(search["records"])
        f = lookback_frequency(search["records"])
        lookback["pairs"] += f["pairs"]
        lookback["second"] += f["second"]
        lookback["top5"] += f["top5"]
        lookback["chance"] += f["chance_rate"] * f["pairs"]
    pairs = max(lookback["pairs"], 1)
    return {"searches": len(shard["searches"]), "domains": domains,
            "split_score": shard.get("split_score", OLD_TEACHER_SCORE), "lookback_pairs": lookback["pairs"],
            "lookback_second_rate": lookback["second"] / pairs, "lookback_top5_rate": lookback["top5"] / pairs,
            "lookback_chance_rate": lookback["chance"] / pairs}
