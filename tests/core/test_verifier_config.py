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
