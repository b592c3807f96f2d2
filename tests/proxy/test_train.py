"""Training: determinism for a seed, safetensors round trip, crash and resume, schedule."""

from __future__ import annotations

import pytest
import torch

from curation.errors import ConfigError
from curation.proxy.checkpoint import load_model, save_model
from curation.proxy.config import ProxyConfig, TrainConfig, parse_token_count
from curation.proxy.packing import pack_documents
from curation.proxy.tokenizer import ByteTokenizer
from curation.proxy.train import batch_rows, learning_rate, train_proxy

MODEL = ProxyConfig(seq_len=32, d_model=16, n_layers=2, n_heads=2)
TEXTS = [f"Document {i}: the quick brown fox jumps over {i % 5} lazy dogs. " * (1 + i % 3) for i in range(60)]


def _packed(texts):
    tok = ByteTokenizer()
    return pack_documents(tok.encode_batch(texts), MODEL.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())


def _train(tmp=None, seed=0, on_step=None, tokens=32 * 8 * 12):
    cfg = TrainConfig(tokens=tokens, batch_size=8, lr=1e-2, evaluations=3, seed=seed)
    return train_proxy(
        MODEL, cfg, _packed(TEXTS), {"held": _packed(TEXTS[:5])}, ByteTokenizer(), checkpoint_dir=tmp, on_step=on_step
    )


def _same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_training_lowers_held_out_loss_and_is_deterministic_for_a_seed():
    first, second, other = _train(), _train(), _train(seed=1)
    assert first.steps == 12 and [p["step"] for p in first.curve] == [0, 4, 8, 12]
    assert first.curve[-1]["bpb"]["held"] < first.curve[0]["bpb"]["held"] - 1.0
    assert first.curve == second.curve and _same_weights(first.model, second.model)
    assert other.curve != first.curve


def test_save_load_round_trip(tmp_path):
    result = _train()
    save_model(tmp_path / "m", result.model, ByteTokenizer())
    assert (tmp_path / "m" / "model.safetensors").is_file() and not list(tmp_path.rglob("*.pt"))
    loaded, tokenizer = load_model(tmp_path / "m")
    assert tokenizer.name == "bytes" and _same_weights(loaded, result.model)
    rows = _packed(TEXTS[:3]).rows
    with torch.no_grad():
        assert torch.equal(loaded(rows[:, :-1]), result.model.eval()(rows[:, :-1]))
    with pytest.raises(ConfigError, match="not a saved proxy"):
        load_model(tmp_path / "elsewhere")


class Crash(Exception):
    pass


def test_a_crashed_run_resumes_to_the_same_weights_and_curve(tmp_path):
    uninterrupted = _train()

    def crash_after_step_6(step, steps, loss):
        if step == 6:
            raise Crash

    with pytest.raises(Crash):
        _train(tmp_path, on_step=crash_after_step_6)
    assert not (tmp_path / "final").exists()  # only the checkpoint at step 4 was committed
    assert (tmp_path / "latest.json").is_file() and [p.name for p in tmp_path.glob("step-*")] == ["step-00000004"]
    resumed = _train(tmp_path)
    assert resumed.resumed_from == 4
    assert resumed.curve == uninterrupted.curve
    assert _same_weights(resumed.model, uninterrupted.model)

    assert not (tmp_path / "latest.json").exists() and not list(tmp_path.glob("step-*"))  # superseded by final/
    again = _train(tmp_path)  # finished: reused, not retrained
    assert again.resumed_from == again.steps and again.curve == uninterrupted.curve
    with pytest.raises(ConfigError, match="different run"):
        _train(tmp_path, seed=5)


def test_learning_rate_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(lr=1.0, warmup_fraction=0.1, min_lr_ratio=0.1)
    rates = [learning_rate(step, 100, cfg) for step in range(101)]
    assert rates[0] == pytest.approx(0.1) and max(rates) == pytest.approx(1.0)
    assert rates[9] == pytest.approx(1.0) and rates[100] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:], strict=False))


def test_batches_cover_every_row_once_per_epoch_and_depend_only_on_seed_and_step():
    epoch = [i for step in range(5) for i in batch_rows(step, 20, 4, seed=3)]
    assert sorted(epoch) == list(range(20))
    assert batch_rows(7, 20, 4, seed=3).tolist() == batch_rows(7, 20, 4, seed=3).tolist()
    assert batch_rows(0, 20, 4, seed=3).tolist() != batch_rows(0, 20, 4, seed=4).tolist()


def test_token_counts_parse():
    assert parse_token_count("500k") == 500_000 and parse_token_count("2M") == 2_000_000
    assert parse_token_count("1_000") == 1000
    with pytest.raises(ConfigError):
        parse_token_count("lots")
