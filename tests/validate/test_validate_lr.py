"""Validation's learning rate: the preset's default unless given."""

from __future__ import annotations

import pytest

from curation.errors import ConfigError
from curation.proxy.config import validation_lr
from curation.validate.job import ValidateConfig


def _cfg(**kwargs) -> ValidateConfig:
    return ValidateConfig(train=["a=x"], heldout=["h=y"], out="o", tokens=1000, **kwargs)


def test_the_learning_rate_follows_the_preset_unless_given():
    assert _cfg(size="tiny").peak_lr() == validation_lr("tiny") == 3e-3
    assert _cfg(size="small").peak_lr() == validation_lr("small") == 1e-3  # 3e-3 spiked: proxy_noise.md
    assert _cfg(size="large").peak_lr() == 1e-3
    assert _cfg(size="small", lr=2e-3).peak_lr() == 2e-3
    with pytest.raises(ConfigError, match="--lr must be positive"):
        _cfg(lr=0.0).check()
