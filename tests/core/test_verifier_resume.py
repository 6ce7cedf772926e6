"""Stages of branch and bound: a search that a stage's end stops is resumed by the next
stage (not started over), and the proof it then finishes is one the checker accepts."""

from core.bab.budget import Budget
from core.config import VerifyConfig
from core.model import load_network
from core.result import Verdict
from core.spec import load_property
from core.verifier.certify import certify
from core.verifier.pipeline import Run

TIMEOUT_S = 120.0


def test_a_search_paused_by_its_stage_is_resumed_and_its_proof_checks(benchmarks_dir):
    folder = benchmarks_dir / "acasxu"
    network = load_network(folder / "onnx/ACASXU_run2a_1_1_batch_2000.onnx.gz")
    prop = load_property(folder / "vnnlib/prop_2.vnnlib.gz")
    budget = Budget(TIMEOUT_S)
    run = Run(network, prop, VerifyConfig(timeout_s=TIMEOUT_S, threads=1), budget)
    pending = [target for target, _ in run.incomplete()]
    assert len(pending) == 1, "the instance must need branch and bound"
    key = (pending[0].region, pending[0].disjunct)
    undecided: list[str] = []

    # a stage of 0.3 s (the whole search takes seconds): the search is stopped early, and kept;
    # where no step fitted in it (a slow machine), a stage, twice as long, resumes it
    stage_s = 0.3
    while True:
        retry, sat = run.search_stage(pending, stage_s / budget.remaining, undecided)
        assert retry == pending and not sat and not run.proofs
        search = run.paused[key][0] if key in run.paused else None  # None: stopped before its root
        if search is not None and search.visited > 0:
            break
        stage_s *= 2
    nodes = len(search.tree.parent)
    assert len(search.pool) > 0

    # the last stage goes on with the same search: its tree grows from where it was
    retry, sat = run.search_stage(retry, None, undecided)
    assert retry == [] and not sat and not undecided and not run.paused
    assert len(search.tree.parent) > nodes and run.proofs[-1]["closed_by"] == "bab"
    result = run.result(Verdict.UNSAT)
    assert certify(network, prop, result).check.valid
