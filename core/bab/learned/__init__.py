"""Learned branching: a graph neural network over the verified network that imitates
strong branching (docs/branching.md).

Modules, one job each: `graph` (the network as a graph), `features`, `gnn`, `brancher`
(the branching rule with its fail-safe), `model_file` (save / checked load), `strong`
(strong branching with its decision log), `data` (shards), `lookback`, `train`,
`select` (model selection on solving time), `properties` (MNIST properties), `config`
(torch-free settings of the two job kinds), `fit` (what the command and the job run).
This package imports no torch itself: `config` serves the torch-free API.
"""
