"""Multi-task certified training: one shared trunk, a head per task (or one shared head),
the task losses combined by unitary scalarization (their plain sum) or, as measured
baselines, by the multi-task optimisers in `combiners/`.

`trainer.train_multitask(config, progress) -> MultiTaskResult` is what the command line
and the `multitask-train` job call; `config.MultiTaskConfig` imports without torch (the
API validates a job's config with it), so this package imports nothing itself.
"""
