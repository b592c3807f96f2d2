"""Proxy populations: each member of a batched population trains exactly as it would alone."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from curation.errors import ConfigError
from curation.proxy.config import ProxyConfig, TrainConfig, preset
from curation.proxy.model import ProxyLM
from curation.proxy.packing import pack_documents
from curation.proxy.population import PopulationLM, member_bytes, members_per_batch
from curation.proxy.tokenizer import ByteTokenizer
from curation.proxy.train import train_proxy
from curation.proxy.train_population import PopulationMember, train_population

MODEL = ProxyConfig(seq_len=32, d_model=16, n_layers=2, n_heads=2)
TRAIN = TrainConfig(tokens=32 * 8 * 12, batch_size=8, lr=1e-2, evaluations=3)
TEXTS = [f"Document {i}: the quick brown fox jumps over {i % 5} lazy dogs. " * (1 + i % 3) for i in range(60)]
# Three members that differ in data and seed, as Meta-rater's runs or validation's sets x seeds do.
DATA = [TEXTS, TEXTS[::2] + ["Zebra quagga " * 30], [t.upper() for t in TEXTS]]
SEEDS = [0, 7, 3]


def _packed(texts, cfg=MODEL):
    tok = ByteTokenizer()
    return pack_documents(tok.encode_batch(texts), cfg.seq_len, tok.eod_id, tok.pad_id, tok.token_bytes())


HELDOUT = {"held": _packed(TEXTS[:5])}


def _members(tmp=None):
    return [
        PopulationMember(_packed(texts), seed, None if tmp is None else tmp / f"m{i}")
        for i, (texts, seed) in enumerate(zip(DATA, SEEDS, strict=True))
    ]


def _alone(index: int):
    cfg = replace(TRAIN, seed=SEEDS[index])
    return train_proxy(MODEL, cfg, _packed(DATA[index]), HELDOUT, ByteTokenizer())


def _assert_same_run(batched, alone, tol=2e-4):
    assert [p["step"] for p in batched.curve] == [p["step"] for p in alone.curve]
    for b, a in zip(batched.curve, alone.curve, strict=True):
        assert b["bpb"]["held"] == pytest.approx(a["bpb"]["held"], rel=tol)
        if a["train_loss"] is None:
            assert b["train_loss"] is None
        else:
            assert b["train_loss"] == pytest.approx(a["train_loss"], rel=tol)
    for (name, x), y in zip(batched.model.state_dict().items(), alone.model.state_dict().values(), strict=True):
        assert torch.allclose(x, y, atol=tol, rtol=tol), name


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_population_forward_equals_each_member_alone(positions):
    cfg = replace(MODEL, positions=positions)
    population = PopulationLM.from_seeds(cfg, SEEDS)
    rows = torch.stack([_packed(texts, cfg).rows[:4] for texts in DATA])
    with torch.no_grad():
        batched = population(rows[..., :-1])
        for slot, seed in enumerate(SEEDS):
            alone = ProxyLM(cfg, seed=seed)(rows[slot, :, :-1])
            assert torch.allclose(batched[slot], alone, atol=1e-5)
            assert all(torch.equal(population.member_state(slot)[k], v) for k, v in alone_state(cfg, seed).items())


def alone_state(cfg, seed):
    return ProxyLM(cfg, seed=seed).state_dict()


def test_each_member_trains_as_it_would_alone():
    batched = train_population(MODEL, TRAIN, _members(), HELDOUT, ByteTokenizer(), per_batch=3)
    assert len(batched) == 3
    for index, result in enumerate(batched):
        _assert_same_run(result, _alone(index))
    # the members really differ: a population is not one model copied three times
    assert batched[0].final_bpb != batched[1].final_bpb != batched[2].final_bpb


def test_batches_of_one_are_train_proxy_itself():
    one_at_a_time = train_population(MODEL, TRAIN, _members(), HELDOUT, ByteTokenizer(), per_batch=1)
    for index, result in enumerate(one_at_a_time):
        alone = _alone(index)
        assert result.curve == alone.curve
        assert all(
            torch.equal(x, y)
            for x, y in zip(result.model.state_dict().values(), alone.model.state_dict().values(), strict=True)
        )


class Crash(Exception):
    pass


def test_a_crash_with_members_at_different_steps_resumes_each_member_to_its_own_run(tmp_path):
    seen = []

    def crash_at_second_member_second_evaluation(member, point):
        seen.append((member, point["step"]))
        if member == 1 and point["step"] == 8:
            raise Crash

    with pytest.raises(Crash):
        train_population(
            MODEL,
            TRAIN,
            _members(tmp_path),
            HELDOUT,
            ByteTokenizer(),
            per_batch=3,
            on_eval=crash_at_second_member_second_evaluation,
        )
    # member 0 committed its step-8 checkpoint before member 1 crashed; members 1 and 2 are at step 4
    steps = {i: (tmp_path / f"m{i}" / "latest.json").read_text() for i in range(3)}
    assert "step-00000008" in steps[0] and "step-00000004" in steps[1] and "step-00000004" in steps[2]

    resumed = train_population(MODEL, TRAIN, _members(tmp_path), HELDOUT, ByteTokenizer(), per_batch=3)
    assert [r.resumed_from for r in resumed] == [8, 4, 4]
    for index, result in enumerate(resumed):
        _assert_same_run(result, _alone(index))
        assert (tmp_path / f"m{index}" / "final" / "config.json").is_file()
        assert not list((tmp_path / f"m{index}").glob("step-*"))
    # a finished population is reused, not retrained
    again = train_population(MODEL, TRAIN, _members(tmp_path), HELDOUT, ByteTokenizer(), per_batch=3)
    assert [r.resumed_from for r in again] == [r.steps for r in again]
    assert [r.curve for r in again] == [r.curve for r in resumed]


def test_a_crash_during_the_first_evaluation_still_gives_every_member_its_step_zero_point(tmp_path):
    def crash(member, point):
        if member == 1 and point["step"] == 0:
            raise Crash

    with pytest.raises(Crash):
        train_population(MODEL, TRAIN, _members(tmp_path), HELDOUT, ByteTokenizer(), per_batch=3, on_eval=crash)
    assert (tmp_path / "m0" / "latest.json").is_file() and not (tmp_path / "m1" / "latest.json").exists()
    resumed = train_population(MODEL, TRAIN, _members(tmp_path), HELDOUT, ByteTokenizer(), per_batch=3)
    for index, result in enumerate(resumed):
        _assert_same_run(result, _alone(index))


def test_checkpoints_are_interchangeable_with_train_proxy(tmp_path):
    """A member's folder is a train_proxy folder: a single proxy reuses a population's finished member."""
    train_population(MODEL, TRAIN, _members(tmp_path), HELDOUT, ByteTokenizer(), per_batch=3)
    cfg = replace(TRAIN, seed=SEEDS[2])
    reused = train_proxy(MODEL, cfg, _packed(DATA[2]), HELDOUT, ByteTokenizer(), checkpoint_dir=tmp_path / "m2")
    assert reused.resumed_from == reused.steps


def test_members_per_batch_follows_the_machine():
    cpu = torch.device("cpu")
    # CPU: one member per batch (batching measured no faster there); a GPU plans by free memory
    assert members_per_batch(preset("tiny"), 16, cpu, 100) == 1
    assert members_per_batch(preset("tiny"), 16, cpu, 0) == 1
    assert member_bytes(preset("small"), 16) > member_bytes(preset("tiny"), 16) > 4 * 4 * preset("tiny").num_parameters
    with pytest.raises(ConfigError, match="at least 1"):
        train_population(MODEL, TRAIN, _members(), HELDOUT, ByteTokenizer(), per_batch=0)


def test_a_gpu_plans_members_by_its_free_memory(monkeypatch):
    free = 10 * member_bytes(preset("tiny"), 16)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 2 * free))
    gpu = torch.device("cuda")
    assert members_per_batch(preset("tiny"), 16, gpu, 100) == 5  # half the free memory
    assert members_per_batch(preset("tiny"), 16, gpu, 3) == 3
    assert members_per_batch(preset("large"), 16, gpu, 100) == 1
