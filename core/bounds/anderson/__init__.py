"""Dual bounds on the Anderson relaxation (the convex hull of each Linear/Conv + ReLU):
Big-M, Active Set and Saddle Point (De Palma et al., "Scaling the Convex Barrier with
Sparse Dual Algorithms"). docs/bounds.md, "Anderson relaxation duals", has the maths."""

from core.bounds.anderson.layers import AndersonNet, Unsupported, anderson_net
from core.bounds.anderson.solve import SolverOptions, solve

__all__ = ["AndersonNet", "SolverOptions", "Unsupported", "anderson_net", "solve"]
