"""Tokenizers for proxy models: bytes by default, or a byte-level BPE trained with ``tokenizers``.

Both map text to ids and know how many UTF-8 bytes each id stands for, so losses convert to bits per
byte whatever the tokenizer: runs with different tokenizers compare on the same scale.

Byte level: ids 0-255 are the bytes, 256 is the document separator (``EOD``), 257 padding. Nothing to
download, nothing to train.

BPE: ``tokenizers``' byte-level BPE trained on a corpus and saved as ``tokenizer.json`` beside the
model; ids are special tokens first (``<|eod|>``, ``<|pad|>``), then the learned merges.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from curation.errors import ConfigError

BYTE_TOKENIZER = "bytes"
TOKENIZER_FILE = "tokenizer.json"


class ByteTokenizer:
    name = BYTE_TOKENIZER
    vocab_size = 258
    eod_id = 256
    pad_id = 257

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def token_bytes(self) -> list[int]:
        """UTF-8 bytes each id stands for; the separator counts as one byte (a newline's worth), padding none."""
        return [1] * 256 + [1, 0]

    def save(self, folder: Path) -> None:
        """Nothing to save: the byte tokenizer is fully described by its name."""

    def describe(self) -> dict:
        return {"kind": BYTE_TOKENIZER, "vocab_size": self.vocab_size}


class BPETokenizer:
    """A byte-level BPE from Hugging Face ``tokenizers``."""

    EOD = "<|eod|>"
    PAD = "<|pad|>"

    def __init__(self, tokenizer):
        if "ByteLevel" not in type(tokenizer.pre_tokenizer).__name__ and "ByteLevel" not in repr(
            tokenizer.pre_tokenizer
        ):
            # token_bytes counts one byte per character of a token, true only of byte-level BPE
            raise ConfigError("proxy BPE tokenizers must be byte-level (pre_tokenizer ByteLevel)")
        self._tokenizer = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()
        self.eod_id = tokenizer.token_to_id(self.EOD)
        self.pad_id = tokenizer.token_to_id(self.PAD)
        if self.eod_id is None or self.pad_id is None:
            raise ConfigError(f"a BPE tokenizer for proxies needs the special tokens {self.EOD} and {self.PAD}")
        self.name = f"bpe-{self.vocab_size}"

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8192, min_frequency: int = 2) -> BPETokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        if vocab_size < 260:
            raise ConfigError("a BPE vocabulary needs more than the 256 byte ids and 2 specials")
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[cls.EOD, cls.PAD],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(tokenizer)

    @classmethod
    def load(cls, path: Path) -> BPETokenizer:
        from tokenizers import Tokenizer

        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception on bad files
            raise ConfigError(f"{path}: not a usable tokenizers JSON file ({str(exc).splitlines()[0][:150]})") from exc

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [enc.ids for enc in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_bytes(self) -> list[int]:
        # In a byte-level BPE every character of a token's string stands for exactly one byte.
        sizes = [0] * self.vocab_size
        for token, index in self._tokenizer.get_vocab().items():
            if index == self.eod_id:
                sizes[index] = 1
            elif index != self.pad_id:
                sizes[index] = len(token)
        return sizes

    def save(self, folder: Path) -> None:
        from curation.corpus import commit, temporary_path

        folder.mkdir(parents=True, exist_ok=True)
        final = folder / TOKENIZER_FILE
        tmp = temporary_path(final)
        self._tokenizer.save(str(tmp))
        commit(tmp, final)

    def describe(self) -> dict:
        return {"kind": "bpe", "vocab_size": self.vocab_size}


Tokenizer = ByteTokenizer | BPETokenizer


def load_tokenizer(description: dict, folder: Path | None = None) -> Tokenizer:
    """The tokenizer a saved model or run describes (``{"kind": "bytes"}`` or a BPE saved in ``folder``)."""
    kind = description.get("kind")
    if kind == BYTE_TOKENIZER:
        return ByteTokenizer()
    if kind == "bpe":
        if folder is None or not (folder / TOKENIZER_FILE).is_file():
            raise ConfigError(f"{folder}: the model uses a BPE tokenizer but {TOKENIZER_FILE} is missing")
        return BPETokenizer.load(folder / TOKENIZER_FILE)
    raise ConfigError(f"unknown tokenizer kind {kind!r} in {json.dumps(description)}")


def tokenizer_from_option(option: str, training_texts: Iterable[str] | None = None) -> Tokenizer:
    """``bytes``, ``bpe:VOCAB`` (train one on ``training_texts``) or a path to a saved ``tokenizer.json``."""
    if option == BYTE_TOKENIZER:
        return ByteTokenizer()
    if option.startswith("bpe:"):
        try:
            vocab = int(option.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"--tokenizer {option!r}: expected bpe:VOCAB_SIZE, e.g. bpe:8192") from None
        if training_texts is None:
            raise ConfigError("a BPE tokenizer needs text to train on")
        return BPETokenizer.train(training_texts, vocab)
    path = Path(option)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise ConfigError(f"--tokenizer {option!r}: not 'bytes', 'bpe:VOCAB' or an existing tokenizer.json")
    return BPETokenizer.load(path)
