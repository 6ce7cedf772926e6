"""Settings of the two learned-branching jobs (`certbound branching-data`,
`certbound train-brancher` and the job kinds of the same names); torch-free."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.numbers import Count, Real, Seed


class BranchingDataConfig(BaseModel):
    """Strong-branching data from MNIST training-image robustness properties of one network."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eps: Real = Field(0.06, gt=0, le=1, description="L-infinity radius of the properties, in [0, 1] pixel units.")
    properties: Count = Field(8, ge=1, le=1000, description="Properties (correctly classified training images).")
    start: Count = Field(0, ge=0, description="First training image index considered.")
    per_layer: Count = Field(16, ge=1, le=4096, description="Candidates per layer whose children are bounded "
                             "(the best by BaBSR's score; every unstable neuron of narrower layers).")
    max_domains: Count = Field(300, ge=1, description="Domains each search (one per disjunct) may visit.")
    search_timeout_s: Real = Field(20.0, gt=0, description="Seconds each search may take.")


class TrainBrancherConfig(BaseModel):
    """Imitation training with the lookback terms, and model selection on solving time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: Count = Field(6, ge=1, le=1000, description="Passes over the data; the model after each is a candidate.")
    lr: Real = Field(1e-3, gt=0, description="Adam learning rate.")
    dim: Count = Field(32, ge=4, le=1024, description="Width of the GNN's embeddings (the seed's 64 fit the "
                       "teacher no better); the inference cost grows with its square (docs/results/branching.md).")
    rounds: Count = Field(1, ge=1, le=16, description="Message-passing rounds, each a forward and a backward sweep "
                          "over the network (the seed's 2 fit the teacher no better); the inference cost grows "
                          "with them.")
    smoothing: Real = Field(0.2, ge=0, le=1, description="Target smoothing ε: share of the target given to the "
                            "softmax of the strong-branching scores (0: one-hot imitation).")
    temperature: Real = Field(0.1, gt=0, description="Temperature of that softmax over scores normalised to [0, 1].")
    pat: Real = Field(0.3, ge=0, description="Weight λ of the parent-as-target term (0: off).")
    threshold: Real = Field(0.1, ge=0, description="Fail-safe: below this relative bound improvement, BaBSR's choice "
                            "is bounded too (stored in the model; 0: the GNN alone).")
    validation_properties: Count = Field(2, ge=0, le=100, description="Per network, training-image properties "
                                         "(after those of the data) the candidates are timed on; 0: keep the last.")
    validation_start: Count = Field(5000, ge=0, description="First training image index of the validation properties.")
    validation_eps: Real | None = Field(None, gt=0, le=1, description="Their radius; None: the data's.")
    validation_timeout_s: Real = Field(10.0, gt=0, description="Seconds per validation search.")
    seed: Seed = Field(0, description="Seed of the initialisation and the data order.")


class TrainBrancherJobConfig(TrainBrancherConfig):
    """The train-brancher job's config: the training settings and the data to train on."""

    data: list[str] = Field(min_length=1, max_length=50, description="Ids of your succeeded branching-data jobs "
                            "whose shards are the training data.")
