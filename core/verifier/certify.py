"""What backs a verdict for a user who does not trust the verifier: for `unsat` a
certificate that the independent checker re-derives, for `sat` the onnxruntime replay."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

from core.certificate import Certificate, CheckResult, certificate_from_proofs, check, property_digest
from core.model.loader import Network
from core.model.ops.relu import Relu
from core.result import Counterexample, Verdict, VerifyResult
from core.spec.property import Property

PRODUCER = {"name": "core.verifier"}
# (ONNX bytes, property, certificate bytes, time limit) -> the check: `check`, or one split across jobs
Checker = Callable[[bytes, Property, bytes, "float | None"], CheckResult]


@dataclass(frozen=True)
class Certified:
    """An `unsat` result's certificate, its zip bytes, and the checker's answer on it."""

    certificate: Certificate
    data: bytes
    check: CheckResult

    def summary(self) -> dict:
        """The check as the job records it: valid, reason, time_s, stopped (at its time limit)."""
        return {"valid": self.check.valid, "reason": self.check.reason, "time_s": self.check.time_s,
                "stopped": self.check.stopped}


def alpha_evidence(alphas: dict, index: int, rows: int) -> dict:
    """Certificate evidence of a bound closed by α-CROWN: domain `index`'s parameters [rows,
    size] per activation layer (ReLU slopes, Sigmoid/Tanh tangent points), from batch-first
    parameters [B, S, *shape] (S >= rows: padding)."""
    return {"alpha": {name: v[index, :rows].reshape(rows, -1).detach().cpu().numpy() for name, v in alphas.items()}}


def relu_layers(network: Network) -> list[str]:
    """The network's ReLU layers by ONNX output tensor name, as certificates index them."""
    return [node.name for node in network.graph.nodes if isinstance(node.op, Relu)]


def certificate_of(network: Network, prop: Property, result: VerifyResult) -> Certificate:
    """The certificate of an `unsat` result's proof records; ValueError for any other result."""
    if result.verdict is not Verdict.UNSAT or not result.certificate:
        raise ValueError(f"only an unsat result with proof records has a certificate (got {result.verdict.value})")
    return certificate_from_proofs(network.sha256, property_digest(prop), relu_layers(network),
                                   result.certificate["targets"], PRODUCER, result.certificate.get("root_slopes"),
                                   result.certificate.get("lemmas"), result.certificate.get("lemma_slopes"))


def certify(network: Network, prop: Property, result: VerifyResult, time_limit_s: float | None = None,
            checker: Checker = check) -> Certified:
    """Build the certificate of an `unsat` result and run the independent checker on it
    (stopping after `time_limit_s`, when given); `checker` runs it (a split check, say)."""
    certificate = certificate_of(network, prop, result)
    data = certificate.to_bytes()
    return Certified(certificate, data, checker(network.onnx_bytes, prop, data, time_limit_s))


def certified_result(network: Network, prop: Property, result: VerifyResult,
                     check_time_limit_s: float | None = None,
                     checker: Checker = check) -> tuple[VerifyResult, Certified | None]:
    """An `unsat` result with its checked certificate; other results pass through (None).

    An `unsat` is reported only with evidence: when no certificate can be built, or the
    independent checker rejects it, the result becomes `unknown` with a message saying
    that the certificate check failed and why (the verifier may well be right, but
    nothing a user can check backs it); likewise when the check does not finish within
    `check_time_limit_s`, saying so (its certificate is still returned, to check offline).
    """
    if result.verdict is not Verdict.UNSAT:
        return result, None
    try:
        certified = certify(network, prop, result, check_time_limit_s, checker)
    except ValueError as exc:  # proof records the builder cannot turn into a tree
        return _unproven(result, f"failed (no certificate: {exc})"), None
    if certified.check.stopped:
        return _unproven(result, f"did not finish within its time limit of {check_time_limit_s:g} s; "
                                 "`certbound check` can check the certificate without a limit"), certified
    if not certified.check.valid:
        return _unproven(result, f"failed ({certified.check.reason})"), certified
    return result, certified


def _unproven(result: VerifyResult, what: str) -> VerifyResult:
    return dataclasses.replace(result, verdict=Verdict.UNKNOWN, certificate=None,
                               message=f"unsat not reported: the certificate check {what}")


def replay(onnx_bytes: bytes, prop: Property, counterexample: Counterexample) -> dict:
    """A `sat` result's check: the counterexample replayed in onnxruntime, recorded like a
    certificate check (valid, reason, time_s)."""
    from core.counterexample import confirm

    started = time.monotonic()
    confirmation = confirm(onnx_bytes, prop, counterexample.x)
    return {"valid": confirmation.ok, "reason": confirmation.reason, "time_s": time.monotonic() - started}
