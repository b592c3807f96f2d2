"""The 11 RedPajama-v2 numeric signals: hand-worked documents, edge cases, properties, and agreement with a
slow, literal transcription of the RPv2 definitions (per-line regex, normalise-then-split, NLTK tokens)."""

import gzip
import json
import math
import re
import string
import unicodedata
from collections import Counter

import pytest

from curation.signals.numeric import NUMERIC_SIGNALS, compute_numeric_signals, numeric_signals_table
from tests.conftest import shared

NAN = math.nan
WORD_SIGNALS = (  # computed from RPv2's normalised words only
    "doc_unigram_entropy",
    "doc_mean_word_length",
    "doc_frac_chars_top_2gram",
    "doc_word_count",
    "doc_frac_chars_top_3gram",
    "doc_frac_unique_words",
)
FRACTIONS = (
    "doc_frac_no_alph_words",
    "lines_uppercase_letter_fraction",
    "lines_numerical_chars_fraction",
    "doc_frac_unique_words",
    "lines_ending_with_terminal_punctuation_mark",
)


def assert_signals(text: str, expected: dict[str, float]) -> None:
    got = compute_numeric_signals(text)
    assert list(got) == list(NUMERIC_SIGNALS)
    assert all(type(v) is float for v in got.values())
    for name, want in expected.items():
        if math.isnan(want):
            assert math.isnan(got[name]), (name, got[name])
        else:
            assert got[name] == pytest.approx(want, rel=1e-12, abs=1e-15), name


def test_names_are_the_eleven_meta_rater_signals_in_a_stable_order():
    assert NUMERIC_SIGNALS == (
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


def test_two_line_document_by_hand():
    # Normalised words: the cat sat / the dog ran 123 -> 7 words, "the" twice, 6 distinct, all 3 chars.
    # Raw tokens: The cat sat . THE DOG RAN 123 -> 8, of which "." and "123" have no letter.
    # Lines: "The cat sat.\n" (13 chars incl. newline, 1 upper) and "THE DOG RAN 123" (15 chars, 9 upper).
    # Normalised lines: "the cat sat" (0 of 11 numeric) and "the dog ran 123" (3 of 15 numeric).
    # Sentences: "The cat sat." and "THE DOG RAN 123". No bigram repeats.
    assert_signals(
        "The cat sat.\nTHE DOG RAN 123",
        {
            "doc_unigram_entropy": -(2 / 7) * math.log(2 / 7) - 5 * (1 / 7) * math.log(1 / 7),  # 1.7478680974667575
            "doc_frac_no_alph_words": 2 / 8,
            "lines_uppercase_letter_fraction": (1 / 13 + 9 / 15) / 2,
            "doc_mean_word_length": 21 / 7,
            "doc_frac_chars_top_2gram": 0.0,
            "doc_word_count": 7.0,
            "doc_frac_chars_top_3gram": 0.0,
            "doc_num_sentences": 2.0,
            "lines_numerical_chars_fraction": (0 / 11 + 3 / 15) / 2,
            "doc_frac_unique_words": 6 / 7,
            "lines_ending_with_terminal_punctuation_mark": 1 / 2,
        },
    )
    assert compute_numeric_signals("The cat sat.\nTHE DOG RAN 123")["doc_unigram_entropy"] == pytest.approx(
        1.7478680974667575
    )


def test_repeated_ngrams_by_hand():
    # Words: the cat sat on the mat the cat sat (9 words, 26 chars; the x3, cat x2, sat x2, on, mat).
    # Top 2-grams: (the, cat) and (cat, sat) twice each, both 6 chars -> 6 * 2 / 26.
    # Top 3-gram: (the, cat, sat) twice, 9 chars -> 9 * 2 / 26.
    # Raw tokens: 9 words + "," + "." = 11, two without a letter. One sentence, one line, no capitals.
    assert_signals(
        "the cat sat on the mat, the cat sat.",
        {
            "doc_unigram_entropy": math.log(9) - (3 * math.log(3) + 2 * 2 * math.log(2)) / 9,
            "doc_frac_no_alph_words": 2 / 11,
            "lines_uppercase_letter_fraction": 0.0,
            "doc_mean_word_length": 26 / 9,
            "doc_frac_chars_top_2gram": 12 / 26,
            "doc_word_count": 9.0,
            "doc_frac_chars_top_3gram": 18 / 26,
            "doc_num_sentences": 1.0,
            "lines_numerical_chars_fraction": 0.0,
            "doc_frac_unique_words": 5 / 9,
            "lines_ending_with_terminal_punctuation_mark": 1.0,
        },
    )


def test_overlapping_ngram_occurrences_all_count_so_the_fraction_can_exceed_one():
    # ("ha", "ha") occurs at positions 0, 1, 2: 3 x 4 chars / 8 chars; ("ha", "ha", "ha") twice: 2 x 6 / 8.
    assert_signals(
        "ha ha ha ha",
        {
            "doc_frac_chars_top_2gram": 1.5,
            "doc_frac_chars_top_3gram": 1.5,
            "doc_unigram_entropy": 0.0,
            "doc_frac_unique_words": 0.25,
        },
    )


def test_ties_between_top_ngrams_go_to_the_first_occurring():
    # (a, b) and (ccc, ddd) both occur twice; 16 chars in all. RPv2's most_common(1) keeps the first seen.
    assert compute_numeric_signals("a b a b ccc ddd ccc ddd")["doc_frac_chars_top_2gram"] == 2 * 2 / 16
    assert compute_numeric_signals("ccc ddd ccc ddd a b a b")["doc_frac_chars_top_2gram"] == 6 * 2 / 16


def test_empty_text():
    # No words, no tokens, no lines: ratios are NaN, counts and top-n-gram fractions 0.
    assert_signals(
        "",
        {
            "doc_unigram_entropy": NAN,
            "doc_frac_no_alph_words": NAN,
            "lines_uppercase_letter_fraction": NAN,
            "doc_mean_word_length": NAN,
            "doc_frac_chars_top_2gram": 0.0,
            "doc_word_count": 0.0,
            "doc_frac_chars_top_3gram": 0.0,
            "doc_num_sentences": 0.0,
            "lines_numerical_chars_fraction": NAN,
            "doc_frac_unique_words": NAN,
            "lines_ending_with_terminal_punctuation_mark": NAN,
        },
    )


def test_whitespace_only_text_has_lines_but_no_words():
    # Lines "  \n" and "\t \n": no terminal mark, no capitals, empty after normalisation -> 0.0, not NaN.
    assert_signals(
        "  \n\t \n",
        {
            "doc_unigram_entropy": NAN,
            "doc_frac_no_alph_words": NAN,
            "lines_uppercase_letter_fraction": 0.0,
            "doc_mean_word_length": NAN,
            "doc_word_count": 0.0,
            "doc_num_sentences": 0.0,
            "lines_numerical_chars_fraction": 0.0,
            "doc_frac_unique_words": NAN,
            "lines_ending_with_terminal_punctuation_mark": 0.0,
        },
    )


def test_punctuation_only_text_has_tokens_but_no_words():
    # Raw tokens "!!!" and "???" (no letter); normalisation removes them all; the line ends with "?".
    assert_signals(
        "!!! ???",
        {
            "doc_frac_no_alph_words": 1.0,
            "doc_word_count": 0.0,
            "doc_mean_word_length": NAN,
            "doc_num_sentences": 0.0,  # the sentence regex starts at a word boundary
            "lines_ending_with_terminal_punctuation_mark": 1.0,
            "lines_numerical_chars_fraction": 0.0,
        },
    )


def test_one_word():
    # "Hello": 1 word of 5 chars, 1 capital in a 5-char line without newline.
    assert_signals(
        "Hello",
        {
            "doc_unigram_entropy": 0.0,
            "doc_frac_no_alph_words": 0.0,
            "lines_uppercase_letter_fraction": 1 / 5,
            "doc_mean_word_length": 5.0,
            "doc_frac_chars_top_2gram": 0.0,
            "doc_word_count": 1.0,
            "doc_frac_chars_top_3gram": 0.0,
            "doc_num_sentences": 1.0,
            "lines_numerical_chars_fraction": 0.0,
            "doc_frac_unique_words": 1.0,
            "lines_ending_with_terminal_punctuation_mark": 0.0,
        },
    )


def test_lines_blank_lines_count_and_a_final_newline_adds_none():
    # Lines "One.\n" (5 chars, 1 upper), "\n" (1 char), "Two." (4 chars, 1 upper): 2 of 3 end with ".".
    assert_signals(
        "One.\n\nTwo.",
        {
            "lines_ending_with_terminal_punctuation_mark": 2 / 3,
            "lines_uppercase_letter_fraction": (1 / 5 + 0 / 1 + 1 / 4) / 3,
            "doc_num_sentences": 2.0,
        },
    )
    # Two lines, not three: "A\n" and "b\n" -> (1/2 + 0/2) / 2.
    assert_signals(
        "A\nb\n",
        {"lines_uppercase_letter_fraction": 0.25, "lines_ending_with_terminal_punctuation_mark": 0.0},
    )


def test_terminal_punctuation_marks():
    # Trailing whitespace is stripped; the closing curly quote counts, the ASCII quote and ")" do not.
    text = 'Done!  \t\nShe said “yes.”\nHe said "no."\n(aside)\nReally?'
    assert compute_numeric_signals(text)["lines_ending_with_terminal_punctuation_mark"] == 3 / 5
    assert compute_numeric_signals("no terminal mark here\nnor here")[
        "lines_ending_with_terminal_punctuation_mark"
    ] == pytest.approx(0.0)


def test_numeric_fraction_uses_the_normalised_line_and_uppercase_the_raw_line():
    # Raw "Tel: +1 (555) 010-9999" is 22 chars with 1 capital. Normalised: "tel 1 555 0109999", 17 chars,
    # 11 digits. Raw tokens: Tel : + 1 ( 555 ) 010 - 9999 -> 9 of 10 without a letter.
    assert_signals(
        "Tel: +1 (555) 010-9999",
        {
            "lines_uppercase_letter_fraction": 1 / 22,
            "lines_numerical_chars_fraction": 11 / 17,
            "doc_frac_no_alph_words": 9 / 10,
            "doc_mean_word_length": (3 + 1 + 3 + 7) / 4,
        },
    )


def test_all_digits():
    # Words 123 456 789; lines "123 456" (6 of 7 numeric) and "789" (3 of 3); every token lacks a letter.
    assert_signals(
        "123 456\n789",
        {
            "doc_unigram_entropy": math.log(3),
            "doc_frac_no_alph_words": 1.0,
            "lines_uppercase_letter_fraction": 0.0,
            "doc_mean_word_length": 3.0,
            "doc_num_sentences": 1.0,
            "lines_numerical_chars_fraction": (6 / 7 + 3 / 3) / 2,
            "doc_frac_unique_words": 1.0,
        },
    )


def test_sentence_regex_quirks():
    # \b[^.!?]+[.!?]* finds "Pi is 3." "14." "Really?!" "Yes": a decimal point splits a sentence.
    # Raw tokens Pi is 3 . 14 . Really ?! Yes: 5 of 9 without a letter. Normalised "pi is 314 really yes".
    assert_signals(
        "Pi is 3.14. Really?! Yes",
        {
            "doc_num_sentences": 4.0,
            "doc_frac_no_alph_words": 5 / 9,
            "doc_word_count": 5.0,
            "lines_numerical_chars_fraction": 3 / 20,
            "lines_uppercase_letter_fraction": 3 / 24,
        },
    )


def test_apostrophe_is_removed_inside_words_but_is_a_raw_token():
    # Normalised "dont stop" (mean 4); raw tokens Don ' t stop -> "'" has no letter.
    assert_signals("Don't stop", {"doc_word_count": 2.0, "doc_mean_word_length": 4.0, "doc_frac_no_alph_words": 0.25})


def test_german_umlauts_count_two_code_points_after_nfd():
    # "über" -> u + U+0308 + ber (5), "müller" -> 7: mean 6. Raw line "Über Müller." is 12 chars, 2 capitals.
    # Raw tokens Über Müller . -> the words have ASCII letters, "." does not.
    assert_signals(
        "Über Müller.",
        {
            "doc_mean_word_length": 6.0,
            "lines_uppercase_letter_fraction": 2 / 12,
            "doc_frac_no_alph_words": 1 / 3,
            "doc_word_count": 2.0,
            "lines_ending_with_terminal_punctuation_mark": 1.0,
        },
    )


def test_nfc_and_nfd_spellings_are_the_same_word():
    nfc, nfd = "Über", unicodedata.normalize("NFD", "über")
    assert nfc != nfd.capitalize()
    assert compute_numeric_signals(f"{nfc} {nfd}")["doc_frac_unique_words"] == 0.5


def test_nfc_vs_nfd_input_changes_raw_signals_only():
    text = "Grüße aus Köln. Äpfel kosten 3€!\nÜBER 20 SORTEN"
    nfc, nfd = compute_numeric_signals(text), compute_numeric_signals(unicodedata.normalize("NFD", text))
    for name in (*WORD_SIGNALS, "lines_numerical_chars_fraction", "lines_ending_with_terminal_punctuation_mark"):
        assert nfc[name] == pytest.approx(nfd[name], rel=1e-12), name
    # The raw line gets longer (combining marks), the capitals stay: the fraction drops.
    assert nfd["lines_uppercase_letter_fraction"] < nfc["lines_uppercase_letter_fraction"]


def test_chinese_has_no_spaces_so_each_run_is_one_word():
    # One normalised word of 12 chars ("。" is not ASCII punctuation); raw tokens 你好世界 。 今天天气很好 。,
    # none with an ASCII letter; "。" is neither a sentence end nor a terminal mark for RPv2.
    assert_signals(
        "你好世界。今天天气很好。",
        {
            "doc_word_count": 1.0,
            "doc_mean_word_length": 12.0,
            "doc_unigram_entropy": 0.0,
            "doc_frac_no_alph_words": 1.0,
            "doc_num_sentences": 1.0,
            "lines_ending_with_terminal_punctuation_mark": 0.0,
            "lines_uppercase_letter_fraction": 0.0,
        },
    )
    # str.isnumeric counts CJK numerals: 二 〇 二 四 are numeric, 年 is not.
    assert compute_numeric_signals("二〇二四年")["lines_numerical_chars_fraction"] == pytest.approx(4 / 5)


def test_cyrillic_words_count_as_having_no_alphabetical_character():
    # RPv2's [a-zA-Z]: both tokens lack an ASCII letter. "П" is upper: 1 of 10 chars.
    assert_signals("Привет мир", {"doc_frac_no_alph_words": 1.0, "lines_uppercase_letter_fraction": 1 / 10})


# ---------------------------------------------------------------------------------------------- properties

VARIED = [
    "The cat sat.\nTHE DOG RAN 123",
    "ha ha ha ha ha ha ha",
    "a b a b a b\n\n\nc",
    "Über Müller, Straße 5.\nÄÖÜ!",
    "你好世界。今天天气很好。\n二〇二四年",
    "Mixed CASE with numbers 42 and 3.14 and ½ and Ⅻ.\r\nSecond line…\n   \n“Quoted.”",
    "x_y __init__ 1_000 İstanbul ﬁne e\u0301 nbsp\u00a0here line\u2028sep tab\tend",
    "- item one\n- item two\n- item one\n- item two\n- item one",
]


def _c4_texts(n: int) -> list[str]:
    with gzip.open(shared("web/c4-en-sample-1000.jsonl.gz"), "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(n), f, strict=False)]


@pytest.mark.parametrize("text", VARIED)
def test_ranges(text):
    s = compute_numeric_signals(text)
    for name in FRACTIONS:
        assert 0.0 <= s[name] <= 1.0, name
    assert 0.0 <= s["doc_frac_chars_top_2gram"] <= 2.0
    assert 0.0 <= s["doc_frac_chars_top_3gram"] <= 3.0
    assert 0.0 <= s["doc_unigram_entropy"] <= math.log(s["doc_word_count"]) + 1e-12
    assert s["doc_mean_word_length"] >= 1.0
    assert s["doc_frac_unique_words"] * s["doc_word_count"] == pytest.approx(
        round(s["doc_frac_unique_words"] * s["doc_word_count"])
    )
    for name in ("doc_word_count", "doc_num_sentences"):
        assert s[name] == int(s[name]) >= 0


def test_ranges_on_real_documents():
    for text in _c4_texts(100):
        s = compute_numeric_signals(text)
        assert all(0.0 <= s[name] <= 1.0 for name in FRACTIONS), s
        assert 0.0 <= s["doc_unigram_entropy"] <= math.log(s["doc_word_count"]) + 1e-12


def test_entropy_is_log_n_exactly_when_all_words_differ():
    s = compute_numeric_signals("one two three four five six seven")
    assert s["doc_unigram_entropy"] == pytest.approx(math.log(7))
    assert compute_numeric_signals("one two three four five six one")["doc_unigram_entropy"] < math.log(7)


@pytest.mark.parametrize("text", [t for t in VARIED if t.isascii()])
def test_word_signals_ignore_case_and_ascii_punctuation(text):
    plain = compute_numeric_signals(text)
    swapped = compute_numeric_signals(text.swapcase())
    sprinkled = compute_numeric_signals(text.replace(" ", ', "') + "!?")
    for name in WORD_SIGNALS:
        assert swapped[name] == pytest.approx(plain[name], rel=1e-12), name
        assert sprinkled[name] == pytest.approx(plain[name], rel=1e-12), name


def test_repeating_a_document_keeps_its_distribution_signals():
    # Repeating text that ends in a newline k times repeats every word, token, line and sentence k times:
    # ratios and line means stay, counts multiply by k, the unique-word fraction divides by k.
    text = "The cat sat.\nTHE DOG RAN 123 and the cat ran!\n"
    one, three = compute_numeric_signals(text), compute_numeric_signals(text * 3)
    for name in (
        "doc_unigram_entropy",
        "doc_frac_no_alph_words",
        "lines_uppercase_letter_fraction",
        "doc_mean_word_length",
        "lines_numerical_chars_fraction",
        "lines_ending_with_terminal_punctuation_mark",
    ):
        assert three[name] == pytest.approx(one[name], rel=1e-12), name
    assert three["doc_word_count"] == 3 * one["doc_word_count"]
    assert three["doc_num_sentences"] == 3 * one["doc_num_sentences"]
    assert three["doc_frac_unique_words"] == pytest.approx(one["doc_frac_unique_words"] / 3)
    assert three["doc_frac_chars_top_3gram"] > one["doc_frac_chars_top_3gram"]


def test_table_has_one_float64_column_per_signal_and_keeps_nan():
    import pyarrow as pa

    texts = ["The cat sat.\nTHE DOG RAN 123", "", "ha ha ha ha"]
    table = numeric_signals_table(texts)
    assert table.column_names == list(NUMERIC_SIGNALS)
    assert table.num_rows == 3
    assert all(field.type == pa.float64() for field in table.schema)
    assert table.column("doc_word_count").to_pylist() == [7.0, 0.0, 4.0]
    assert table.column("doc_unigram_entropy").null_count == 0
    assert math.isnan(table.column("doc_unigram_entropy")[1].as_py())
    rows = table.to_pylist()
    for text, row in zip(texts, rows, strict=True):
        expected = compute_numeric_signals(text)
        assert all(row[k] == expected[k] or (math.isnan(row[k]) and math.isnan(expected[k])) for k in expected)
    assert numeric_signals_table([]).num_rows == 0


# ------------------------------------------------------------------- agreement with RPv2's definitions
# A literal, slow transcription of the RPv2 definitions (app/src/core/document.py, utilities/text/
# normalization.py, quality_signals/*.py): per-line regex split, normalise each line separately, normalise
# then split for words, tokens by NLTK's pattern, per-character counting. It checks that the single-pass
# shortcuts of the module (whole-text normalisation, ASCII fast paths, one regex for tokens) change nothing.

_PUNCT_TABLE = str.maketrans("", "", string.punctuation)


def _rpv2_normalize(text: str) -> str:
    text = text.translate(_PUNCT_TABLE).lower().strip()
    return unicodedata.normalize("NFD", re.sub(r"\s+", " ", text))


def _reference(text: str) -> dict[str, float]:
    raw_lines = [m.group(0) for m in re.finditer(r"([^\n]*\n|[^\n]+$)", text)]
    norm_lines = [_rpv2_normalize(line) for line in raw_lines]
    words = _rpv2_normalize(text).split()
    tokens = re.findall(r"\w+|[^\w\s]+", text)
    n = len(words)
    counts = Counter(words)
    chars = sum(len(w) for w in words)

    def top(k):
        grams = Counter(tuple(words[i : i + k]) for i in range(n - k + 1)).most_common(1)
        if not grams or grams[0][1] <= 1:
            return 0.0
        return sum(len(w) for w in grams[0][0]) * grams[0][1] / chars

    def mean(values):
        return sum(values) / len(values) if values else NAN

    return {
        "doc_unigram_entropy": sum(-c / n * math.log(c / n) for c in counts.values()) if n else NAN,
        "doc_frac_no_alph_words": (
            1 - sum(re.search("[a-zA-Z]", t) is not None for t in tokens) / len(tokens) if tokens else NAN
        ),
        "lines_uppercase_letter_fraction": mean([sum(ch.isupper() for ch in ln) / len(ln) for ln in raw_lines]),
        "doc_mean_word_length": chars / n if n else NAN,
        "doc_frac_chars_top_2gram": top(2),
        "doc_word_count": float(n),
        "doc_frac_chars_top_3gram": top(3),
        "doc_num_sentences": float(len(re.findall(r"\b[^.!?]+[.!?]*", text))),
        "lines_numerical_chars_fraction": mean(
            [sum(ch.isnumeric() for ch in ln) / len(ln) if ln else 0.0 for ln in norm_lines]
        ),
        "doc_frac_unique_words": len(counts) / n if n else NAN,
        "lines_ending_with_terminal_punctuation_mark": mean(
            [float(ln.rstrip().endswith((".", "!", "?", "\u201d"))) for ln in raw_lines]
        ),
    }


TRICKY = [
    *VARIED,
    "",
    "\n",
    "\n\n\n",
    "a\n",
    "  leading and trailing  \n\n",
    "WORD",
    "ß straße STRASSE",
    "İİİ iii",  # lowercasing İ adds a code point
    "٣٤ ٥ arabic-indic digits",
    "ǅemal Ⅻ ½ ² ④",  # titlecase, Roman numeral, fraction, superscript, circled digit
    "crlf line\r\nnext\r\n",
    "ideographic\u3000space and\u2028line separator\u2029paragraph",
    "…ellipsis... and --dashes-- and ((brackets))",
    "a a a a a a a a a a b b b b",
    "__ _ ___init___",
    "tab\t\tseparated\tvalues\n1\t2\t3\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_matches_literal_rpv2_definitions(text):
    got, want = compute_numeric_signals(text), _reference(text)
    for name in NUMERIC_SIGNALS:
        if math.isnan(want[name]):
            assert math.isnan(got[name]), name
        else:
            assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-12), name


def test_matches_literal_rpv2_definitions_on_real_documents():
    for text in _c4_texts(150):
        got, want = compute_numeric_signals(text), _reference(text)
        for name in NUMERIC_SIGNALS:
            assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-12), name


def test_raw_tokens_are_nltk_word_punct_tokens():
    # RPv2 ran NLTK's WordPunctTokenizer pattern on the stdlib `re` engine (NLTK < 3.10). NLTK 3.10 compiles it
    # with the `regex` engine, whose \w also matches combining marks ("e\u0301" is one token there, two with
    # `re`), so the reference is NLTK's pattern on `re`, as RPv2 computed it.
    nltk_tokenize = pytest.importorskip("nltk.tokenize")
    pattern = re.compile(nltk_tokenize.WordPunctTokenizer()._pattern, re.UNICODE | re.MULTILINE | re.DOTALL)
    for text in TRICKY:
        tokens = pattern.findall(text)
        if not tokens:
            assert math.isnan(compute_numeric_signals(text)["doc_frac_no_alph_words"])
            continue
        without_letter = sum(re.search("[a-zA-Z]", t) is None for t in tokens) / len(tokens)
        assert compute_numeric_signals(text)["doc_frac_no_alph_words"] == pytest.approx(without_letter), text
