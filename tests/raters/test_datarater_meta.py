"""DataRater's meta-gradient: exact second order through K inner Adam updates, checked numerically."""

from __future__ import annotations

import pytest
import torch

from curation.proxy.config import ProxyConfig
from curation.proxy.model import ProxyLM
from raters.datarater.differentiable_adam import AdamSettings, adam_init, adam_step, detached
from raters.datarater.meta import meta_objective
from raters.datarater.model import RaterTransformer
from raters.datarater.weights import BatchSoftmaxWeights

PAD = 257


def _setup(k: int):
    inner = ProxyLM(ProxyConfig(seq_len=8, d_model=8, n_layers=1, n_heads=2), seed=0).double()
    rater = RaterTransformer(ProxyConfig(seq_len=8, d_model=8, n_layers=1, n_heads=2), PAD, seed=1).double()
    torch.nn.init.normal_(rater.head.weight, generator=torch.Generator().manual_seed(1))  # not the neutral start
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (4, 9), generator=generator) for _ in range(k)]
    outer = torch.cat([batches[0][:2], torch.randint(0, 256, (2, 9), generator=generator)])
    params = detached(dict(inner.named_parameters()), requires_grad=True)
    return inner, rater, params, batches, outer


def _objective(inner, rater, params, batches, outer):
    # Adam's first steps are close to lr * sign(g): with a tiny eps_root the objective has near-kinks where a
    # gradient element crosses zero, and central differences straddle them. A larger eps_root keeps it smooth.
    settings = AdamSettings(lr=0.05, eps_root=1e-4)
    loss, _, _ = meta_objective(
        inner, rater, params, adam_init(params), batches, outer, BatchSoftmaxWeights(), settings, PAD
    )
    return loss


@pytest.mark.parametrize("k", [1, 2])
def test_meta_gradient_matches_finite_differences(k):
    inner, rater, params, batches, outer = _setup(k)
    rater_params = dict(rater.named_parameters())
    loss = _objective(inner, rater, params, batches, outer)
    grads = torch.autograd.grad(loss, list(rater_params.values()))
    direction = [
        torch.randn(p.shape, generator=torch.Generator().manual_seed(i), dtype=p.dtype)
        for i, p in enumerate(rater_params.values())
    ]
    analytic = sum((g * d).sum() for g, d in zip(grads, direction, strict=True)).item()

    eps = 1e-6

    def shifted(sign: float) -> float:
        with torch.no_grad():
            for p, d in zip(rater_params.values(), direction, strict=True):
                p.add_(sign * eps * d)
        value = _objective(inner, rater, params, batches, outer).item()
        with torch.no_grad():
            for p, d in zip(rater_params.values(), direction, strict=True):
                p.sub_(sign * eps * d)
        return value

    numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    assert abs(numeric) > 1e-7, "the check needs a meta-gradient that is not zero"
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-10)


def test_losing_create_graph_loses_the_meta_gradient():
    """The common silent bug: without create_graph the inner update no longer depends on the rater."""
    inner, rater, params, batches, outer = _setup(1)
    from curation.proxy.model import functional_sequence_losses

    rows = batches[0]
    weights = BatchSoftmaxWeights()(rater(rows[:, 1:]))
    inner_loss = (weights * functional_sequence_losses(inner, params, rows, PAD)).sum()
    grads = torch.autograd.grad(inner_loss, list(params.values()), create_graph=False)
    updated, _ = adam_step(params, dict(zip(params, grads, strict=True)), adam_init(params), AdamSettings(lr=0.05))
    loss = functional_sequence_losses(inner, updated, outer, PAD).mean()
    meta = torch.autograd.grad(loss, list(rater.parameters()), allow_unused=True)
    assert all(g is None for g in meta)


def test_weights_are_a_softmax_over_the_batch():
    scores = torch.tensor([0.0, 1.0, 2.0])
    weights = BatchSoftmaxWeights()(scores)
    assert weights.sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(weights, torch.softmax(scores, 0))
    tempered = BatchSoftmaxWeights(temperature=2.0)(scores)
    torch.testing.assert_close(tempered, torch.softmax(scores / 2, 0))


def test_differentiable_adam_matches_torch_adam():
    torch.manual_seed(0)
    p = torch.randn(3, 4, dtype=torch.float64)
    reference = p.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([reference], lr=0.01, betas=(0.9, 0.95), eps=1e-8)
    params, state = {"w": p.clone()}, adam_init({"w": p})
    settings = AdamSettings(lr=0.01, betas=(0.9, 0.95), eps=1e-8, eps_root=0.0)
    for step in range(3):
        grad = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(step))
        reference.grad = grad.clone()
        optimizer.step()
        params, state = adam_step(params, {"w": grad}, state, settings)
    torch.testing.assert_close(params["w"], reference.detach())


def test_rater_ignores_padding_and_sees_the_whole_sequence():
    rater = RaterTransformer(ProxyConfig(seq_len=8, d_model=8, n_layers=1, n_heads=2), PAD, seed=0).eval()
    assert torch.all(rater(torch.randint(0, 256, (3, 8))) == 0)  # untrained: every sequence scores alike
    torch.nn.init.normal_(rater.head.weight, generator=torch.Generator().manual_seed(0))
    tokens = torch.randint(0, 256, (1, 8))
    padded = tokens.clone()
    padded[0, 5:] = PAD
    with torch.no_grad():
        base = rater(padded)
        other = padded.clone()
        other[0, 6] = PAD  # still padding: same score
        assert torch.equal(rater(other), base)
        changed = padded.clone()
        changed[0, 4] = (changed[0, 4] + 1) % 256  # a real token: the score moves
        assert not torch.equal(rater(changed), base)
