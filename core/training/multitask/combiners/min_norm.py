"""The minimum-norm point of the convex hull of a few vectors (Sener & Koltun, 2018).

min_{w in simplex} ||Σ_t w_t g_t||² needs only the Gram matrix M = G Gᵀ [T, T]. Sener &
Koltun solve it by Frank-Wolfe; plain Frank-Wolfe converges slowly when the optimum lies
on a face of the simplex, so each step here is a pairwise one: it moves weight from the
worst task in the support (largest (M w)_t) to the best one (smallest), by the exact line
search of the quadratic, which converges linearly on a polytope.
"""

from __future__ import annotations

import numpy as np


def min_norm_weights(gram: np.ndarray, iterations: int = 2000, tol: float = 1e-12) -> np.ndarray:
    """Weights w [T] on the simplex minimising wᵀ M w for the Gram matrix M [T, T]."""
    gram = np.asarray(gram, dtype=np.float64)
    T = len(gram)
    w = np.full(T, 1.0 / T)
    for _ in range(iterations):
        Mw = gram @ w
        best = int(np.argmin(Mw))
        support = np.flatnonzero(w > 0)
        worst = int(support[np.argmax(Mw[support])])
        gap = Mw[worst] - Mw[best]
        if gap <= tol * max(1.0, abs(float(w @ Mw))):
            break
        curvature = gram[best, best] + gram[worst, worst] - 2 * gram[best, worst]
        step = w[worst] if curvature <= 0 else min(w[worst], gap / curvature)
        w[worst] -= step
        w[best] += step
    return w
