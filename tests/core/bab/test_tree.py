import json

import torch

from core.bab.tree import ProofTree


def test_children_get_fresh_ids_and_the_tree_serialises_to_json():
    tree = ProofTree("input")
    left, right = tree.add_children(torch.tensor([0]), [("input", 2, 0.5)])
    assert (left.tolist(), right.tolist()) == ([1], [2])
    l2, r2 = tree.add_children(torch.tensor([1, 2]), [("input", 0, 0.1), ("input", 1, -0.3)])
    assert l2.tolist() == [3, 4] and r2.tolist() == [5, 6]
    tree.close(torch.tensor([3, 4, 5, 6]), torch.tensor([0.1, 0.2, 0.3, 0.4]))
    data = json.loads(json.dumps(tree.to_dict()))
    assert data["nodes"] == 7
    assert data["parent"] == [-1, 0, 0, 1, 2, 1, 2]
    assert data["branch"] == [0, 0, 1, 0, 0, 1, 1]
    assert data["splits"]["2"] == ["input", 1, -0.3]
    assert [leaf["node"] for leaf in data["leaves"]] == [3, 4, 5, 6]
