import hashlib

import pytest

from curation.errors import ConfigError
from curation.text.langid import BUNDLED_MODEL_SHA256, LanguageIdentifier, bundled_model_path


def test_the_package_ships_the_unmodified_model():
    path = bundled_model_path()
    assert path is not None, "curation/text/models/lid.176.ftz is missing from the installed package"
    with open(path, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == BUNDLED_MODEL_SHA256


def test_bundled_model_identifies_languages_offline():
    lid = LanguageIdentifier()
    assert lid.predict("The committee will publish its annual report on the economy next week.")[0] == "en"
    assert lid.predict("Die Bundesregierung hat heute neue Maßnahmen zum Klimaschutz beschlossen.")[0] == "de"
    lang, score = lid.predict("Le gouvernement a présenté hier son projet de loi sur le logement.")
    assert lang == "fr" and 0.5 < score <= 1.0
    assert lid.predict("   ") == (None, None)


def test_missing_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        LanguageIdentifier(str(tmp_path / "nope.ftz"))


def test_broken_model_fails_on_check(tmp_path):
    broken = tmp_path / "lid.ftz"
    broken.write_bytes(b"not a fastText model")
    with pytest.raises(ConfigError, match="cannot be loaded"):
        LanguageIdentifier(str(broken)).check()
