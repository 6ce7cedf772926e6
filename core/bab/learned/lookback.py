"""The lookback phenomenon, measured on strong-branching logs: how often a child's best
split is its parent's second (or among its top-k) choice.

Only pairs where the parent's ranked candidates are still candidates at the child
count: the parent's best is always split already at the child, so rank 2 is the first
rank that can repeat.
"""

from __future__ import annotations

import torch


def ranked(record: dict) -> list[int]:
    """The record's candidates, best first (those with a score)."""
    scores, flats = record["scores"], record["candidates"]
    order = torch.argsort(scores, descending=True)
    return [int(flats[i]) for i in order.tolist() if torch.isfinite(scores[i]) and int(flats[i]) >= 0]


def parents_second(records: list[dict]) -> list[int | None]:
    """Per record, its parent's second-best candidate (None: no parent or no second)."""
    out: list[int | None] = []
    for record in records:
        parent = record["parent"]
        order = ranked(records[parent]) if parent >= 0 else []
        out.append(order[1] if len(order) > 1 else None)
    return out


def lookback_frequency(records: list[dict], top_k: int = 5) -> dict:
    """Counts over child records with a parent: `pairs`; `second` (child's best = parent's
    second), `top_k` (child's best among the parent's ranks 2..k), and what chance would give
    for `second` (the mean of 1 / the child's candidate count)."""
    pairs = second = within = 0
    chance = 0.0
    for record in records:
        if record["parent"] < 0 or record["chosen"] < 0:
            continue
        parent_order = ranked(records[record["parent"]])
        child_order = ranked(record)
        if len(parent_order) < 2 or not child_order:
            continue
        pairs += 1
        best = child_order[0]
        second += int(best == parent_order[1])
        within += int(best in parent_order[1:top_k])
        chance += 1.0 / len(child_order)
    frac = (lambda n: n / pairs if pairs else 0.0)  # noqa: E731
    return {"pairs": pairs, "second": second, "second_rate": frac(second), f"top{top_k}": within,
            f"top{top_k}_rate": frac(within), "chance_rate": frac(chance)}
