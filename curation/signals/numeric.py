r"""The 11 RedPajama-v2 numeric quality signals that Meta-rater combines, one float each per document.

Definitions follow RedPajama-Data v2 (github.com/togethercomputer/RedPajama-Data, ``app/src/core``); this is
an independent implementation of those definitions, written for speed (no NLTK, one normalisation pass).
"Words" are RPv2's *normalised words* and "lines" RPv2's *lines*, defined below the table.

===========================================  =================================================  ===================
signal                                       definition                                         RPv2 file
===========================================  =================================================  ===================
doc_unigram_entropy                          sum over distinct words of -(c/N)·ln(c/N), c its   natural_language.py
                                             count, N the number of words (natural log)
doc_frac_no_alph_words                       fraction of raw tokens (``\w+|[^\w\s]+``) with no  natural_language.py
                                             ASCII letter; punctuation tokens count
lines_uppercase_letter_fraction              mean over lines of uppercase chars / chars of the  lines.py
                                             raw line, its ``\n`` counted as a char
doc_mean_word_length                         mean length of words in code points (after NFD)    natural_language.py
doc_frac_chars_top_2gram                     chars of the most frequent word 2-gram × its       repetitions.py
                                             count / chars of all words; 0 if none repeats
doc_word_count                               number of words                                    natural_language.py
doc_frac_chars_top_3gram                     the same for word 3-grams                          repetitions.py
doc_num_sentences                            matches of ``\b[^.!?]+[.!?]*`` in the raw text     natural_language.py
lines_numerical_chars_fraction               mean over lines of numeric chars / chars of the    lines.py
                                             normalised line (0 for an empty one)
doc_frac_unique_words                        distinct words / words                             natural_language.py
lines_ending_with_terminal_punctuation_mark  fraction of lines that, right-stripped, end in     lines.py
                                             ``.`` ``!`` ``?`` or ``”`` (U+201D)
===========================================  =================================================  ===================

The files are under ``app/src/core/quality_signals/``. Each signal is the class ``RPS_`` + its name with
each part capitalised (``RPS_Doc_Unigram_Entropy``, ``RPS_Lines_Uppercase_Letter_Fraction``, …), except
``RPS_Lines_Ending_With_Terminal_Punctution_Mark`` (RPv2's spelling); the two top-n-gram classes
(``RPS_Doc_Frac_Chars_Top_2gram``, ``…_3gram``) inherit their computation from
``Base_RPS_Frac_Chars_In_Top_NGram``.

Words (RPv2 ``core/document.py`` ``Document.normalized_words`` and ``utilities/text/normalization.py``
``normalize``): remove ASCII punctuation (``string.punctuation``; curly quotes, dashes and CJK punctuation
stay), lowercase, strip and collapse whitespace, Unicode NFD, then split on whitespace. Consequences kept on
purpose, because they are RPv2's: "don't" is the word "dont"; an accented letter counts two code points
("müller" has length 7); text without spaces (Chinese, Japanese) is one long word per run. The raw tokens of
``doc_frac_no_alph_words`` are NLTK's ``WordPunctTokenizer`` tokens (RPv2 ``Document.raw_words``), produced
here by the same regex; "no ASCII letter" means a Chinese or Cyrillic word counts as having no letter.

Lines (RPv2 ``core/document.py`` ``split_paragraphs(remove_empty=False)``): the text cut after every ``\n``
(the newline stays with its line), plus a final line without newline if the text does not end in one.
Blank lines are lines; a text ending in ``\n`` has no empty line after it; ``""`` has no lines. Only ``\n``
separates lines (``\r`` is an ordinary character). The numerical fraction uses the *normalised* line (RPv2
``Document.normalized_lines``: the normalisation above applied to the line).

Where this module differs from RPv2, and why:

* **One number per document for the ``lines_*`` signals.** RPv2 stores a value per line (a list of
  ``(start, end, value)`` spans). Meta-rater ranks documents, so each list is reduced to its unweighted mean
  over lines: for the 0/1 terminal-punctuation indicator that is the fraction of lines ending in terminal
  punctuation. Every line weighs the same whatever its length, and blank lines count (they score 0 on all
  three), the same convention as RPv2's own document-level line signal ``RPS_Doc_Frac_Lines_End_With_Ellipsis``
  (``natural_language.py``), which divides by ``len(document.raw_lines)``. The Meta-rater paper does not say
  how it reduced the span lists; the mean is this module's choice.
* **Undefined values are NaN, not None.** Where RPv2 returns None or an empty span list (a ratio or mean
  over zero words or zero lines) this returns ``float("nan")``, so every row is a float vector; the scaling
  step decides how to treat NaN. Concretely: no words → NaN for ``doc_unigram_entropy``,
  ``doc_mean_word_length``, ``doc_frac_unique_words``; no raw tokens → NaN for ``doc_frac_no_alph_words``;
  no lines (only ``""``) → NaN for the three ``lines_*``. Counts are then 0.0, and the top-n-gram fractions
  are 0.0 (RPv2 returns 0.0 there too). A whitespace-only text has lines, so its ``lines_*`` are 0.0.
* **No rounding.** RPv2 rounds each stored value to 8 decimals (``core/constants.py`` ``PRECISION``); values
  here are unrounded (differences below 1e-8).
* **Names.** RPv2's tags carry an ``rps_`` prefix and spell the last one ``…terminal_punctution_mark``.
* **Counts are floats** (``doc_word_count``, ``doc_num_sentences``: integral values such as ``3.0``).

Kept from RPv2 although surprising: the top-n-gram fractions count overlapping occurrences in full, so a
self-overlapping n-gram can score above 1 (at most n): "ha ha ha ha" has the 2-gram ("ha", "ha") three times,
3 × 4 chars / 8 chars = 1.5. Ties between equally frequent n-grams go to the one that occurs first (what
RPv2's ``Counter.most_common(1)`` returns). The sentence regex splits "3.14" into two sentences and counts
a text in a script without ``.!?`` as one sentence.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from operator import itemgetter

NUMERIC_SIGNALS: tuple[str, ...] = (
    "doc_unigram_entropy",
    "doc_frac_no_alph_words",
    "lines_uppercase_letter_fraction",
    "doc_mean_word_length",
    "doc_frac_chars_top_2gram",
    "doc_word_count",
    "doc_frac_chars_top_3gram",
    "doc_num_sentences",
    "lines_numerical_chars_fraction",
    "doc_frac_unique_words",
    "lines_ending_with_terminal_punctuation_mark",
)

# One line per signal for attribute manifests (the module docstring has the full definitions).
DESCRIPTIONS: dict[str, str] = {
    "doc_unigram_entropy": "RPv2: entropy (natural log) of the normalised-word distribution",
    "doc_frac_no_alph_words": "RPv2: fraction of raw tokens (\\w+|[^\\w\\s]+) without an ASCII letter",
    "lines_uppercase_letter_fraction": "RPv2: mean over lines of the fraction of uppercase characters",
    "doc_mean_word_length": "RPv2: mean normalised-word length in code points (after NFD)",
    "doc_frac_chars_top_2gram": "RPv2: share of word characters in the most frequent word 2-gram",
    "doc_word_count": "RPv2: number of normalised words",
    "doc_frac_chars_top_3gram": "RPv2: share of word characters in the most frequent word 3-gram",
    "doc_num_sentences": "RPv2: number of sentences (matches of \\b[^.!?]+[.!?]*)",
    "lines_numerical_chars_fraction": "RPv2: mean over lines of the fraction of numeric characters",
    "doc_frac_unique_words": "RPv2: distinct normalised words / normalised words",
    "lines_ending_with_terminal_punctuation_mark": "RPv2: fraction of lines ending in . ! ? or a closing quote",
}

_NAN = math.nan
# A regex substitution removes ASCII punctuation several times faster than str.translate on non-ASCII text.
_ASCII_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]+")
# NLTK WordPunctTokenizer's pattern \w+|[^\w\s]+ (RPv2's raw words), with the \w+ branch split in two so
# that one pass also tells which tokens hold an ASCII letter: a \w run with a letter matches the first
# branch whole (the lazy \w*? stops at the first letter, \w* takes the rest of the run) and its group is
# non-empty; a \w run without one falls to \w+, a punctuation run to [^\w\s]+, and their group is "".
_RAW_TOKEN = re.compile(r"(\w*?[a-zA-Z])\w*|\w+|[^\w\s]+")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")
_TERMINAL_MARKS = (".", "!", "?", "\u201d")
_ASCII_UPPERCASE = string.ascii_uppercase.encode("ascii")
_ASCII_DIGITS = string.digits.encode("ascii")


def _normalize_keep_lines(text: str) -> str:
    """RPv2 ``normalize`` without its whitespace step, so the newlines survive and the result splits into
    the normalised lines; ``str.split()`` later strips and collapses whitespace exactly as RPv2's
    ``strip()`` + ``re.sub(r"\\s+", " ")`` does. Punctuation removal, lowercasing and NFD never create or
    remove a newline, and NFD never reorders across whitespace, so applying NFD before the whitespace step
    (RPv2 applies it after) gives the same words and lines."""
    return unicodedata.normalize("NFD", _ASCII_PUNCTUATION.sub("", text).lower())


def _count_uppercase(line: str) -> int:
    """Characters with ``str.isupper()``, as RPv2 counts them; for ASCII that is A-Z, counted in C."""
    if line.isascii():
        return len(line) - len(line.encode("ascii").translate(None, _ASCII_UPPERCASE))
    return sum(map(str.isupper, line))


def _count_numeric(line: str) -> int:
    """Characters with ``str.isnumeric()``, as RPv2 counts them; for ASCII that is 0-9, counted in C."""
    if line.isascii():
        return len(line) - len(line.encode("ascii").translate(None, _ASCII_DIGITS))
    return sum(map(str.isnumeric, line))


def _frac_chars_top_ngram(words: list[str], n: int, total_chars: int) -> float:
    """RPv2 ``repetitions.py`` ``Base_RPS_Frac_Chars_In_Top_NGram``: (characters of the most frequent word
    n-gram, spaces excluded) × (its number of occurrences, overlapping ones included) / (characters of all
    words); 0.0 when no n-gram occurs twice. ``max`` returns the first maximal item and a Counter keeps
    first-occurrence order, so ties go to the n-gram seen first, as with RPv2's ``most_common(1)``."""
    if len(words) <= n:  # a repeated n-gram needs at least n + 1 words
        return 0.0
    ngrams = Counter(zip(*(words[i:] for i in range(n)), strict=False))
    ngram, count = max(ngrams.items(), key=itemgetter(1))
    if count <= 1:
        return 0.0
    return sum(map(len, ngram)) * count / total_chars


def compute_numeric_signals(text: str) -> dict[str, float]:
    """All 11 signals of one document, keyed and ordered as ``NUMERIC_SIGNALS``; every value is a float
    (NaN where the module docstring says the value is undefined)."""
    normalized = _normalize_keep_lines(text)

    # Lines: per-line values, reduced to their mean. text and normalized have the same newlines, so their
    # pieces pair up; the piece after a final newline (or the only piece of "") is not a line.
    raw_lines = text.split("\n")
    normalized_lines = normalized.split("\n")
    ends_with_newline = raw_lines[-1] == ""
    if ends_with_newline:
        raw_lines.pop()
        normalized_lines.pop()
    n_lines = len(raw_lines)
    terminal = upper = numeric = 0.0
    for i, (raw, norm) in enumerate(zip(raw_lines, normalized_lines, strict=True)):
        if raw.rstrip().endswith(_TERMINAL_MARKS):
            terminal += 1.0
        # RPv2's raw line keeps its "\n", which counts in the denominator; every line but an unterminated
        # last one has one, so the denominator is never 0.
        with_newline = ends_with_newline or i < n_lines - 1
        upper += _count_uppercase(raw) / (len(raw) + with_newline)
        n_numeric = _count_numeric(norm)  # whitespace is not numeric: same count as on the collapsed line
        if n_numeric:  # only then is the length needed (and non-zero)
            parts = norm.split()  # RPv2's normalised line is these parts joined by single spaces
            numeric += n_numeric / (sum(map(len, parts)) + len(parts) - 1)
    if n_lines:
        terminal, upper, numeric = terminal / n_lines, upper / n_lines, numeric / n_lines
    else:
        terminal = upper = numeric = _NAN

    # Words: the normalised text split on whitespace (the newline is whitespace too).
    words = normalized.split()
    n_words = len(words)
    if n_words:
        counts = Counter(words)
        total_chars = sum(map(len, words))
        # H = ln N - (1/N) sum_c c ln c; words sharing a count share a term, so the loop runs over the few
        # distinct counts instead of every distinct word. Clamped: rounding may give -1e-16 for one word.
        count_multiplicity = Counter(counts.values())
        weighted_log = sum(m * c * math.log(c) for c, m in count_multiplicity.items())
        entropy = max(math.log(n_words) - weighted_log / n_words, 0.0)
        mean_word_length = total_chars / n_words
        frac_unique = len(counts) / n_words
        if len(counts) == n_words:  # every word distinct: no n-gram can repeat
            top_2gram = top_3gram = 0.0
        else:
            top_2gram = _frac_chars_top_ngram(words, 2, total_chars)
            # a 3-gram seen twice contains a 2-gram seen twice
            top_3gram = _frac_chars_top_ngram(words, 3, total_chars) if top_2gram else 0.0
    else:
        entropy = mean_word_length = frac_unique = _NAN
        top_2gram = top_3gram = 0.0

    letter_groups = _RAW_TOKEN.findall(text)  # one entry per token, "" for a token without an ASCII letter
    n_tokens = len(letter_groups)
    if n_tokens:
        frac_no_alph = letter_groups.count("") / n_tokens
    else:
        frac_no_alph = _NAN

    return {
        "doc_unigram_entropy": entropy,
        "doc_frac_no_alph_words": frac_no_alph,
        "lines_uppercase_letter_fraction": upper,
        "doc_mean_word_length": mean_word_length,
        "doc_frac_chars_top_2gram": top_2gram,
        "doc_word_count": float(n_words),
        "doc_frac_chars_top_3gram": top_3gram,
        "doc_num_sentences": float(len(_SENTENCE.findall(text))),
        "lines_numerical_chars_fraction": numeric,
        "doc_frac_unique_words": frac_unique,
        "lines_ending_with_terminal_punctuation_mark": terminal,
    }


def numeric_signals_table(texts: list[str]):
    """A ``pyarrow.Table`` with one float64 column per signal (``NUMERIC_SIGNALS`` order), one row per text.
    Undefined values stay NaN (not null), as ``compute_numeric_signals`` returns them."""
    import pyarrow as pa

    rows = [compute_numeric_signals(text) for text in texts]
    return pa.table({name: pa.array([row[name] for row in rows], type=pa.float64()) for name in NUMERIC_SIGNALS})
