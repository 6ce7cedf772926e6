"""What input splitting and ReLU splitting share: the pool, the tree, the batch size, the budget."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import torch

from core.bab.budget import Budget, Stop
from core.bab.outcome import Outcome
from core.bab.pool import DomainPool
from core.bab.tree import ProofTree

T = TypeVar("T")


class OutOfMemory(Exception):
    """Out of memory with one domain per batch: the search cannot go on."""


class Search:
    """Base of a branch-and-bound search. A step should take about `step_target_s`: the
    batch follows the measured time per domain (unless fixed).

    A subclass's `run` bounds the root and calls `resume`, the search loop. When the loop
    raises `Stop`, a step cut short puts its batch back, so the pool is still the whole
    frontier: a later `resume` goes on from it (the verifier's next stage) instead of
    starting the search over. A search stopped before its root was bounded cannot be
    resumed (`require_root`)."""

    step_target_s = 0.3
    max_batch = 8192

    def __init__(self, kind: str, budget: Budget, batch_size: int | None, initial_batch: int,
                 memory_cap_bytes: float | None) -> None:
        self.budget = budget
        self.batch_size = batch_size or initial_batch
        self.adaptive = batch_size is None
        self.memory_cap = memory_cap_bytes
        self.tree = ProofTree(kind)
        self.pool = DomainPool()
        self.visited = 0
        self.seconds_per_domain = 0.0
        self.rooted = False  # `run` has bounded the root: from then on the pool is the frontier
        self.dropped_lb: float | None = None  # smallest bound of the open domains left out of the pool
        # called at every batch boundary (the pool is then the whole frontier): a distributed
        # search publishes snapshots and hands out domains there (core.verifier.parallel)
        self.on_batch: Callable[["Search"], None] | None = None

    def require_root(self) -> None:
        """Refuse to resume a search stopped before its root was bounded: its empty pool
        would read as every domain closed."""
        if not self.rooted:
            raise RuntimeError("resume() before run() bounded the root: call run() again")

    def tick(self) -> None:
        """Publish the pool's state and honour the budget (raises `Stop`)."""
        self.budget.domains_open = len(self.pool)
        self.budget.raise_bound(self.frontier_lb())
        if self.on_batch is not None:
            self.on_batch(self)
        self.budget.check()

    def drop(self, lb: torch.Tensor) -> None:
        """Note the bounds [k] of open domains that leave the pool without being proven
        (too small to split, or fully split and undecided): the search's bound must count them."""
        if lb.numel():
            low = float(lb.min())
            self.dropped_lb = low if self.dropped_lb is None else min(self.dropped_lb, low)

    def frontier_lb(self) -> float | None:
        """The smallest bound over the open domains (the pool and those dropped): a lower
        bound of the target over its whole box, since proven domains are above it."""
        bounds = [b for b in (self.pool.min_lb(), self.dropped_lb) if b is not None]
        return min(bounds) if bounds else None

    def count(self, domains: int) -> None:
        self.visited += domains
        self.budget.domains_visited += domains

    def next_batch(self) -> int:
        """Domains to pop now: the batch size, cut so that the step ends before the budget does."""
        left = self.budget.remaining
        if self.budget.slice_end is not None:
            left = min(left, self.budget.slice_end - time.monotonic())
        if self.seconds_per_domain > 0:
            return max(1, min(self.batch_size, int(left / self.seconds_per_domain)))
        return self.batch_size

    def adapt(self, step_s: float, domains: int = 0) -> None:
        """Size the next batch from the last step: double it after a quick step, cut it to
        what fits `step_target_s` at the measured rate after a slow one.

        A quick step doubles the domains it actually had, not the batch size: a step on a
        nearly empty pool says little about one on thousands of domains, and an oversized
        step delays every deadline and cancellation. The rate is measured on big steps
        only to shrink, since per-call overhead inflates it on small ones.
        """
        if not domains:
            return
        self.seconds_per_domain = step_s / domains
        if not self.adaptive:
            return
        if step_s < self.step_target_s / 2:
            self.batch_size = min(self.max_batch, 2 * domains)
        elif step_s > self.step_target_s * 2:
            fits = int(self.step_target_s / self.seconds_per_domain)
            self.batch_size = max(1, min(self.batch_size // 2, fits))

    def back_off(self) -> bool:
        """After running out of memory: halve the batch; False when it is already one domain."""
        if self.batch_size == 1:
            return False
        self.batch_size //= 2
        return True

    def attempt(self, batch, bound: Callable[[], T]) -> T | None:
        """`bound()` on a popped batch. If it stops (`Stop`, raised again) or runs out of
        memory, the batch goes back into the pool, which stays the whole frontier; after
        running out of memory the batch size is halved and None returned (take another
        step), or `OutOfMemory` raised when it was one domain already."""
        try:
            return bound()
        except Stop:
            self.pool.push(batch)
            raise
        except torch.OutOfMemoryError:
            self.pool.push(batch)
            if not self.back_off():
                raise OutOfMemory("out of memory with one domain per batch") from None
            return None

    def over_memory(self) -> bool:
        return self.memory_cap is not None and self.pool.nbytes() > self.memory_cap

    def outcome(self, status: str, reason: str = "") -> Outcome:
        stats = {"batch_size": self.batch_size, "open": len(self.pool)}
        if reason:
            stats["reason"] = reason
        return Outcome(status, self.tree, self.visited, self.pool.min_lb(), stats)
