"""A Meta-rater proxy run's learning rate: the preset's unless given, as in `curate validate`."""

from __future__ import annotations

from dataclasses import asdict

from curation.proxy.config import validation_lr
from raters.metarater.proxy_runs import ProxyRunSettings


def test_the_learning_rate_follows_the_preset_unless_given():
    assert ProxyRunSettings().lr == validation_lr("tiny") == 3e-3  # the rate tiny runs always trained at
    assert ProxyRunSettings(size="small").lr == validation_lr("small") == 1e-3  # small spiked at 3e-3
    assert ProxyRunSettings(size="small", lr=3e-3).lr == 3e-3
    assert asdict(ProxyRunSettings())["lr"] == 3e-3  # a run's identity names the rate, never None
