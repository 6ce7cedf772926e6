"""Certified training: IBP, CROWN-IBP, IBP-R, CC-IBP and MTL-IBP on the engine's own bounds.

`train(config, progress, checkpoint_dir) -> TrainResult` is the whole public surface the
command line and the service need; the rest is re-exported for tests and notebooks.
"""

from core.training.config import TrainConfig as TrainConfig
from core.training.evaluate import EvalReport as EvalReport, evaluate as evaluate
from core.training.losses import robust_loss as robust_loss
from core.training.trainer import TrainProgress as TrainProgress, TrainResult as TrainResult, train as train
