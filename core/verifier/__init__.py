"""verify(network, property) -> VerifyResult: attacks, incomplete bounds, branch and bound."""

from core.config import VerifyConfig as VerifyConfig
from core.verifier.pipeline import verify as verify
