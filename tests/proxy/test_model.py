"""The proxy transformer: shapes, causal masking, functional mode and exact second-order gradients."""

from __future__ import annotations

import math

import pytest
import torch

from curation.proxy.config import PRESETS, ProxyConfig
from curation.proxy.model import ProxyLM, functional_sequence_losses

PAD = 257


def tiny(positions: str = "rope", **overrides) -> ProxyConfig:
    return ProxyConfig(seq_len=16, d_model=16, n_layers=2, n_heads=2, positions=positions, **overrides)


@pytest.mark.parametrize("name", ["tiny", "small", "medium"])
def test_presets_have_the_parameter_counts_they_claim(name):
    cfg = PRESETS[name]
    model = ProxyLM(cfg)
    assert sum(p.numel() for p in model.parameters()) == cfg.num_parameters


def test_large_preset_is_about_100m_parameters():
    assert 90e6 < PRESETS["large"].num_parameters < 110e6
    assert 0.1e6 < PRESETS["tiny"].num_parameters < 0.2e6


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_shapes_and_tied_embeddings(positions):
    model = ProxyLM(tiny(positions))
    rows = torch.randint(0, 256, (3, 17))
    assert model(rows[:, :-1]).shape == (3, 16, 258)
    assert model.token_losses(rows, PAD).shape == (3, 16)
    assert model.sequence_losses(rows, PAD).shape == (3,)
    assert not any("lm_head" in name for name, _ in model.named_parameters())  # output reuses embed.weight


def test_a_sequence_longer_than_the_model_is_refused():
    with pytest.raises(ValueError, match="longer than"):
        ProxyLM(tiny())(torch.zeros(1, 17, dtype=torch.long))


@pytest.mark.parametrize("positions", ["rope", "learned"])
@pytest.mark.parametrize("math_attention", [False, True])
def test_no_future_leakage(positions, math_attention):
    """Changing the token at position j never changes any output before j."""
    model = ProxyLM(tiny(positions), seed=3).eval()
    tokens = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = model(tokens, math_attention)
        for j in (1, 5, 15):
            changed = tokens.clone()
            changed[:, j] = (changed[:, j] + 1) % 256
            logits = model(changed, math_attention)
            assert torch.equal(logits[:, :j], base[:, :j]), f"output before position {j} changed"
            assert not torch.allclose(logits[:, j], base[:, j]), "the changed position itself must matter"


def test_fused_and_math_attention_agree_with_a_key_mask():
    from curation.proxy.model import attention

    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 6, 4, generator=generator) for _ in range(3))
    keep = torch.ones(2, 6, dtype=torch.bool)
    keep[0, 4:] = False
    for causal in (True, False):
        torch.testing.assert_close(attention(q, k, v, False, causal, keep), attention(q, k, v, True, causal, keep))


def test_bad_shapes_are_config_errors():
    from curation.errors import ConfigError

    with pytest.raises(ConfigError, match="n_heads must be at least 1"):
        ProxyConfig(n_heads=0)
    with pytest.raises(ConfigError, match="divisible"):
        ProxyConfig(d_model=10, n_heads=3)


def test_padding_targets_cost_nothing():
    model = ProxyLM(tiny())
    rows = torch.randint(0, 256, (1, 17))
    rows[0, 10:] = PAD
    losses = model.token_losses(rows, PAD)
    assert torch.all(losses[0, 9:] == 0) and torch.all(losses[0, :9] > 0)
    assert model.sequence_losses(rows, PAD)[0].item() == pytest.approx(losses[0, :9].mean().item(), rel=1e-6)


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = ProxyLM(tiny(), seed=1), ProxyLM(tiny(), seed=1), ProxyLM(tiny(), seed=2)
    assert torch.rand(1) == before
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.embed.weight, c.embed.weight)


def test_functional_mode_matches_the_module():
    model = ProxyLM(tiny(), seed=0)
    rows = torch.randint(0, 256, (3, 17))
    params = dict(model.named_parameters())
    torch.testing.assert_close(
        functional_sequence_losses(model, params, rows, PAD), model.sequence_losses(rows, PAD), rtol=1e-5, atol=1e-6
    )


def _meta_objective(model, params, eta, train_rows, val_rows, lr, create_graph):
    """Held-out loss after one inner SGD step on the softmax(eta)-weighted training loss."""
    weights = torch.softmax(eta, dim=0)
    inner = (weights * functional_sequence_losses(model, params, train_rows, PAD)).sum()
    grads = torch.autograd.grad(inner, list(params.values()), create_graph=create_graph)
    updated = {name: p - lr * g for (name, p), g in zip(params.items(), grads, strict=True)}
    return functional_sequence_losses(model, updated, val_rows, PAD).mean()


def test_second_order_gradient_through_an_inner_update_matches_finite_differences():
    cfg = ProxyConfig(seq_len=8, d_model=8, n_layers=1, n_heads=2)
    model = ProxyLM(cfg, seed=0).double()
    params = {name: p.detach().clone().requires_grad_(True) for name, p in model.named_parameters()}
    generator = torch.Generator().manual_seed(0)
    train_rows = torch.randint(0, 256, (4, 9), generator=generator)
    val_rows = torch.cat([train_rows[:1], torch.randint(0, 256, (2, 9), generator=generator)])  # weights matter
    eta = torch.randn(4, dtype=torch.float64, generator=generator).requires_grad_(True)
    lr = 2.0

    meta_grad = torch.autograd.grad(_meta_objective(model, params, eta, train_rows, val_rows, lr, True), eta)[0]
    eps = 1e-5
    finite = []
    for i in range(len(eta)):
        step = torch.zeros_like(eta)
        step[i] = eps
        plus = _meta_objective(model, params, (eta + step).detach(), train_rows, val_rows, lr, False).item()
        minus = _meta_objective(model, params, (eta - step).detach(), train_rows, val_rows, lr, False).item()
        finite.append((plus - minus) / (2 * eps))
    finite = torch.tensor(finite, dtype=torch.float64)
    assert finite.abs().max() > 1e-6, "the check needs a meta-gradient that is not zero"
    torch.testing.assert_close(meta_grad, finite, rtol=1e-4, atol=1e-9)

    # Without create_graph the inner update is a constant w.r.t. eta: the meta-gradient is lost.
    first_order = _meta_objective(model, params, eta, train_rows, val_rows, lr, False)
    assert not first_order.requires_grad or torch.autograd.grad(first_order, eta, allow_unused=True)[0] is None


def test_initial_loss_is_near_uniform():
    model = ProxyLM(tiny(), seed=0)
    rows = torch.randint(0, 256, (4, 17))
    assert model.token_losses(rows, PAD).mean().item() == pytest.approx(math.log(258), rel=0.05)
