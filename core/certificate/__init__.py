"""Certificates: proofs of `unsat` written by the verifier, and the independent checker.

`check` and everything it uses (network.py, soundness.py, tree.py, format.py) are
float64 NumPy with no torch and no code of the bounding engine.
"""

from core.certificate.builder import (
    CertificateBuilder as CertificateBuilder,
    TargetBuilder as TargetBuilder,
    certificate_from_proofs as certificate_from_proofs,
)
from core.certificate.check import CheckResult as CheckResult, check as check
from core.certificate.format import (
    Certificate as Certificate,
    LemmaProof as LemmaProof,
    TargetProof as TargetProof,
    network_digest as network_digest,
    property_digest as property_digest,
)
