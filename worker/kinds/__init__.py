"""Job kinds: each module turns a job's inputs into an Outcome by calling the engine in core/.

One kind, one module; the engine is imported inside each kind's function, so torch loads
only in worker processes. `KINDS` maps the job's `kind` to the function that runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from worker.kinds import (branching_data, check_part, compressed_sensing, faithfulness, inspect, lemma_part,
                          multitask_train, pinn, train, train_brancher, verify, verify_part)
from worker.outcome import Outcome

if TYPE_CHECKING:
    from worker.runner import JobContext

KINDS: dict[str, Callable[["JobContext"], Outcome]] = {
    "verify": verify.run,
    "verify-part": verify_part.run,  # a sub-job of a verify job with `parallel`; never submitted directly
    "lemma-part": lemma_part.run,  # ... one share of its root's lemma searches
    "check-part": check_part.run,  # ... and one part of its certificate's check
    "inspect": inspect.run,
    "train": train.run,
    "pinn": pinn.run,
    "faithfulness": faithfulness.run,
    "multitask-train": multitask_train.run,
    "compressed-sensing": compressed_sensing.run,
    "branching-data": branching_data.run,
    "train-brancher": train_brancher.run,
}
