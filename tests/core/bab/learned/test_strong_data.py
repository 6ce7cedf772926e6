"""Strong-branching logs: parent links that match the splits, the lookback count, and
training that learns to imitate them."""

import torch

from core.bab.learned.config import TrainBrancherConfig
from core.bab.learned.data import make_shard, read_shard, shard_summary, write_shard
from core.bab.learned.fit import train_from_shards
from core.bab.learned.lookback import lookback_frequency
from core.bab.learned.model_file import load_brancher
from core.bab.learned.train import Loss, train_brancher
from tests.core.bab.learned.test_rules_agree import random_instance


def record(candidates, scores, parent, chosen=None):
    scores = torch.tensor(scores, dtype=torch.float32)
    candidates = torch.tensor(candidates)
    best = int(candidates[scores.argmax()]) if chosen is None else chosen
    return {"candidates": candidates, "scores": scores, "parent": parent, "chosen": best}


def test_lookback_counts_children_whose_best_is_the_parent_s_second():
    records = [record([5, 6, 7], [3.0, 2.0, 1.0], -1),      # root: best 5, second 6
               record([6, 7], [4.0, 1.0], 0),               # best 6: the parent's second
               record([6, 7], [1.0, 4.0], 0),               # best 7: the parent's third
               record([8, 9], [1.0, 0.0], 1)]               # parent 1's ranks: 6, 7; best 8 is neither
    f = lookback_frequency(records, top_k=3)
    assert (f["pairs"], f["second"], f["top3"]) == (3, 1, 2)
    assert abs(f["chance_rate"] - 0.5) < 1e-9


def test_shard_links_each_child_to_the_parent_it_was_split_from(tmp_path):
    network, prop = random_instance(4, 0.2)[:2]
    write_shard(make_shard(network, [("p", prop)], per_layer=6, max_domains=24), tmp_path / "s.pt.gz")
    shard = read_shard(tmp_path / "s.pt.gz")
    records = [r for s in shard["searches"] for r in s["records"]]
    assert len(records) > 3
    for search in shard["searches"]:
        # one decision per domain bounded (and the root's): none made on a parent's bound alone
        assert len(search["records"]) == search["visited"] + 1
        for r in search["records"]:
            if r["parent"] < 0:
                continue
            parent = search["records"][r["parent"]]
            # the child's features record the parent's chosen neuron as split (feature 8: split state)
            assert r["hidden"][parent["chosen"], 8] != 0 and parent["hidden"][parent["chosen"], 8] == 0
            finite = torch.isfinite(r["scores"])
            assert r["chosen"] == int(r["candidates"][finite][r["scores"][finite].argmax()])
    assert shard_summary(shard)["domains"] == len(records)
    assert shard_summary(shard)["split_score"] == "gains"
    older = {k: v for k, v in shard.items() if k != "split_score"}  # made before shards named their teacher
    assert shard_summary(older)["split_score"] == "worse-child"
    model, history = train_brancher([shard], epochs=3, loss=Loss(smoothing=0.2, pat=0.3))
    assert history[-1]["loss"] < history[0]["loss"]
    # the embedding width and the rounds set in the config reach the brancher file
    data, _ = train_from_shards([shard], TrainBrancherConfig(epochs=1, dim=16, rounds=3, validation_properties=0))
    (tmp_path / "narrow.brancher").write_bytes(data)
    narrow = load_brancher(tmp_path / "narrow.brancher")[0]
    assert (narrow.dim, narrow.rounds) == (16, 3)
