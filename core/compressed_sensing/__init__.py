"""Verified neural compressed sensing: the task, whole-domain verification, training, baselines
(docs/compressed_sensing.md). Modules load torch only where they need it; `config` is torch-free."""
