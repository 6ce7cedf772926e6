"""Sound bounds on a network's outputs over batches of input domains: IBP, CROWN, α-CROWN.

`bound(graph, domains, C, d, method)` is the one entry point; see docs/bounds.md.
"""

from core.bounds.api import METHODS as METHODS, Method as Method, bound as bound
from core.bounds.domains import (AlphaState as AlphaState, BoundOptions as BoundOptions,
                                 BoundResult as BoundResult, Domains as Domains)
