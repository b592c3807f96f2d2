"""DataRater's meta-gradient: exact second order through K inner Adam updates, checked numerically."""

from __future__ import annotations

import weakref

import pytest
import torch

from curation.errors import ConfigError
from curation.proxy import model as proxy_model
from curation.proxy.config import ProxyConfig
from curation.proxy.model import ProxyLM
from raters.datarater.differentiable_adam import AdamSettings, adam_init, adam_step, detached
from raters.datarater.meta import REMAT, DataRaterConfig, meta_objective
from raters.datarater.model import RaterTransformer
from raters.datarater.weights import BatchSoftmaxWeights

PAD = 257


def _setup(k: int, n_layers: int = 1):
    inner = ProxyLM(ProxyConfig(seq_len=8, d_model=8, n_layers=n_layers, n_heads=2), seed=0).double()
    rater = RaterTransformer(ProxyConfig(seq_len=8, d_model=8, n_layers=1, n_heads=2), PAD, seed=1).double()
    torch.nn.init.normal_(rater.head.weight, generator=torch.Generator().manual_seed(1))  # not the neutral start
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (4, 9), generator=generator) for _ in range(k)]
    outer = torch.cat([batches[0][:2], torch.randint(0, 256, (2, 9), generator=generator)])
    params = detached(dict(inner.named_parameters()), requires_grad=True)
    return inner, rater, params, batches, outer


def _run(inner, rater, params, batches, outer, remat="none"):
    # Adam's first steps are close to lr * sign(g): with a tiny eps_root the objective has near-kinks where a
    # gradient element crosses zero, and central differences straddle them. A larger eps_root keeps it smooth.
    settings = AdamSettings(lr=0.05, eps_root=1e-4)
    return meta_objective(
        inner, rater, params, adam_init(params), batches, outer, BatchSoftmaxWeights(), settings, PAD, remat
    )


def _objective(inner, rater, params, batches, outer, remat="none"):
    return _run(inner, rater, params, batches, outer, remat)[0]


@pytest.mark.parametrize(("k", "remat"), [(1, "none"), (2, "none"), (2, "blocks"), (2, "steps")])
def test_meta_gradient_matches_finite_differences(k, remat):
    inner, rater, params, batches, outer = _setup(k)
    rater_params = dict(rater.named_parameters())
    loss = _objective(inner, rater, params, batches, outer, remat)
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
        value = _objective(inner, rater, params, batches, outer, remat).item()
        with torch.no_grad():
            for p, d in zip(rater_params.values(), direction, strict=True):
                p.sub_(sign * eps * d)
        return value

    numeric = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    assert abs(numeric) > 1e-7, "the check needs a meta-gradient that is not zero"
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-10)


def _meta_gradient(remat: str, k: int = 2):
    """Outer loss, meta-gradient, and the K-step-advanced parameters and Adam state (two inner blocks)."""
    inner, rater, params, batches, outer = _setup(k, n_layers=2)
    loss, updated, adam = _run(inner, rater, params, batches, outer, remat)
    grads = torch.autograd.grad(loss, list(rater.parameters()))
    return loss.detach(), torch.cat([g.flatten() for g in grads]), detached(updated), detached(adam)


@pytest.mark.parametrize("remat", [m for m in REMAT if m != "none"])
def test_remat_gives_the_same_meta_gradient(remat):
    """Rematerialisation trades memory for time; the numbers must not move (they are bitwise equal on CPU)."""
    loss, grad, params, adam = _meta_gradient("none")
    remat_loss, remat_grad, remat_params, remat_adam = _meta_gradient(remat)
    assert grad.norm() > 0.1, "the comparison needs a meta-gradient that is not zero"
    tight = {"rtol": 1e-12, "atol": 1e-15}
    torch.testing.assert_close(remat_loss, loss, **tight)
    torch.testing.assert_close(remat_grad, grad, **tight)
    torch.testing.assert_close(remat_params, params, **tight)
    torch.testing.assert_close(remat_adam, adam, **tight)


def test_naive_block_checkpoint_under_functional_call_is_caught(monkeypatch):
    """Checkpointing the block module itself: its recomputation reads the module's own weights, not the
    functional_call parameters, and the meta-gradient is silently wrong. The comparison above must see it."""
    from torch.utils.checkpoint import checkpoint

    def naive(block, x, rope, math_attention):
        return checkpoint(block, x, rope, math_attention, use_reentrant=False)

    _, grad, _, _ = _meta_gradient("none")
    monkeypatch.setattr(proxy_model, "checkpointed_block", naive)
    _, wrong, _, _ = _meta_gradient("blocks")
    assert (wrong - grad).abs().max() > 1e-3 * grad.abs().max()


def _retained_bytes(remat: str, k: int) -> int:
    """Bytes the autograd graph of the meta-objective holds once it is built (saved-tensor hooks)."""
    inner, rater, params, batches, outer = _setup(k)
    live: dict[int, int] = {}

    class Held:
        def __init__(self, tensor):
            self.tensor = tensor.detach()  # detached: keeping a saved output with its grad_fn would be a cycle

    def pack(tensor):
        held = Held(tensor)
        live[id(held)] = tensor.numel() * tensor.element_size()
        weakref.finalize(held, live.pop, id(held))
        return held

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda held: held.tensor):
        loss = _objective(inner, rater, params, batches, outer, remat)
    total = sum(live.values())
    del loss
    return total


def test_remat_steps_keeps_only_each_updates_inputs():
    """remat="steps": one more inner update costs exactly its inputs (parameters, Adam moments, step, rows)."""
    inner, _, params, batches, _ = _setup(1)
    inputs = 3 * sum(p.numel() * p.element_size() for p in params.values())
    inputs += 8 + batches[0].numel() * batches[0].element_size()  # the float64 step counter and the rows
    per_step = _retained_bytes("steps", 3) - _retained_bytes("steps", 2)
    assert per_step == inputs
    assert _retained_bytes("none", 3) - _retained_bytes("none", 2) > 5 * inputs  # the whole update's graph


def test_remat_is_a_checked_setting(tmp_path):
    from raters.datarater.training import _identity, load_config

    config = tmp_path / "datarater.yaml"
    config.write_text("unroll: 4\nremat: steps\n")
    assert load_config(config, {}).remat == "steps"
    assert DataRaterConfig().remat == "none"
    with pytest.raises(ConfigError, match="remat"):
        DataRaterConfig(remat="block")
    config.write_text("remat: everything\n")
    with pytest.raises(ConfigError, match="remat"):
        load_config(config, {})
    # Same meta-gradient, so a checkpoint made with one mode resumes with another; and the identity of a
    # checkpoint written before the setting existed (its config had no "remat") is unchanged.
    from types import SimpleNamespace

    data = SimpleNamespace(rows=torch.arange(18).view(2, 9))
    assert _identity(DataRaterConfig(remat="steps"), data, data) == _identity(DataRaterConfig(), data, data)
    assert _identity(DataRaterConfig(unroll=3), data, data) != _identity(DataRaterConfig(), data, data)


def test_meta_training_resumed_without_remat_matches_a_run_with_it(monkeypatch):
    """MetaTrainer passes remat to the meta-objective, and a run checkpointed under "steps" resumes under
    "none" (the checkpoint identity ignores remat) to the very rater the "steps" run reaches."""
    from curation.proxy.packing import PackedSequences
    from raters.datarater import meta
    from raters.datarater.meta import MetaTrainer

    generator = torch.Generator().manual_seed(0)

    def packed(n):
        rows = torch.randint(0, 256, (n, 17), generator=generator)
        return PackedSequences(rows=rows, row_bytes=torch.full((n,), 16.0, dtype=torch.float64), pad_id=PAD)

    train, heldout = packed(12), packed(6)
    sizes = {"seq_len": 16, "population": 1, "unroll": 2, "inner_batch": 4, "outer_batch": 4, "rater_d_model": 8}
    sizes |= {"rater_layers": 1, "outer_warmup": 1, "outer_clip": 1.0}
    calls = []
    original = meta.RematerialisedUpdate.apply
    monkeypatch.setattr(meta.RematerialisedUpdate, "apply", lambda *a: calls.append(1) or original(*a))

    straight = MetaTrainer(DataRaterConfig(**sizes, remat="steps"), train, heldout, 258)
    for _ in range(3):
        straight.outer_step()
    assert len(calls) == 3 * 2  # outer steps x K
    first = MetaTrainer(DataRaterConfig(**sizes, remat="steps"), train, heldout, 258)
    first.outer_step()
    resumed = MetaTrainer(DataRaterConfig(**sizes), train, heldout, 258)
    resumed.restore(*first.state())
    for _ in range(2):
        resumed.outer_step()
    assert len(calls) == 3 * 2 + 1 * 2  # the "none" trainer never rematerialises
    for name, value in straight.rater.state_dict().items():
        assert torch.equal(resumed.rater.state_dict()[name], value), name


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
