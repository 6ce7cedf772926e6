import pytest
from pydantic import ValidationError

from core.config import VerifyConfig


def test_unknown_fields_are_rejected_by_name():
    with pytest.raises(ValidationError, match="timeout"):
        VerifyConfig(timeout=3)


def test_auto_picks_input_splitting_for_few_inputs_and_relu_splitting_for_images():
    few = VerifyConfig().resolve(input_size=5, has_only_relu=True, on_cuda=False, n_weights=10_000)
    assert (few.branching, few.device, few.dtype) == ("input", "cpu", "float64")
    image = VerifyConfig().resolve(input_size=784, has_only_relu=True, on_cuda=True, n_weights=300_000)
    assert (image.branching, image.device, image.dtype) == ("relu", "cuda", "float32")
    sigmoid = VerifyConfig().resolve(input_size=784, has_only_relu=False, on_cuda=False, n_weights=300_000)
    assert sigmoid.branching == "none"


def test_input_splitting_stays_in_float64_on_cuda_so_its_certificates_check():
    acas = VerifyConfig().resolve(input_size=5, has_only_relu=True, on_cuda=True, n_weights=13_000)
    assert (acas.branching, acas.device, acas.dtype) == ("input", "cuda", "float64")
    huge = VerifyConfig().resolve(input_size=5, has_only_relu=True, on_cuda=True, n_weights=5_000_000)
    assert huge.dtype == "float32"


def test_explicit_choices_survive_resolution():
    cfg = VerifyConfig(device="cpu", dtype="float32", branching="relu").resolve(5, True, True, 10)
    assert (cfg.device, cfg.dtype, cfg.branching) == ("cpu", "float32", "relu")


def test_the_pool_memory_cap_defaults_to_a_quarter_of_free_memory():
    cap = VerifyConfig().resolve(5, True, False, 100).memory_cap_mb
    assert 0 < cap < 2**30
    assert VerifyConfig(memory_cap_mb=64).resolve(5, True, False, 100).memory_cap_mb == 64


def test_attack_restarts_follow_the_cost_of_a_forward_pass_not_the_weight_count():
    from core.verifier.pipeline import _forward_macs, _weights
    from tests.core.bounds import nets

    graph = nets.load(nets.conv_net(0, channels=4, n_out=3))  # 3x3 conv, 4 channels, on 6x6; 144 -> 8 -> 3
    assert _forward_macs(graph) == 4 * 9 * 36 + 144 * 8 + 8 * 3 > _weights(graph)
    dense = VerifyConfig().resolve(784, True, False, n_weights=400_000, forward_macs=400_000)
    conv = VerifyConfig().resolve(3072, True, False, n_weights=55_000, forward_macs=511_000)  # oval21's deep net
    assert (dense.attack_restarts, conv.attack_restarts) == (50, 39)
    assert VerifyConfig().resolve(5, True, False, n_weights=13_000).attack_restarts == 1000  # ACAS Xu: capped


@pytest.mark.parametrize("field, value, words", [
    ("proof_margin", float("inf"), "finite"),
    ("lemma_seconds", float("nan"), "finite"),
    ("timeout_s", True, "valid number"),
    ("attack_steps", True, "valid integer"),
    ("attack_steps", 2.0, "valid integer"),
    ("batch_size", "64", "valid integer"),
    ("seed", 10**30, "less than or equal to 4294967295"),
    ("seed", -1, "greater than or equal to 0"),
    ("lemma_domains", 2**31, "less than or equal to 2147483647"),
])
def test_numbers_from_json_configs_are_finite_typed_and_in_range(field, value, words):
    with pytest.raises(ValidationError, match=words) as caught:
        VerifyConfig(**{field: value})
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


def test_the_callers_numbers_still_pass():
    config = VerifyConfig(timeout_s=30, seed=2**32 - 1, memory_cap_mb=64, threads=1, proof_margin=1e-6)
    assert (config.timeout_s, config.seed, config.memory_cap_mb) == (30.0, 2**32 - 1, 64.0)
