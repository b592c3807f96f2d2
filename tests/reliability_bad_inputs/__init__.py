"""Reliability under bad input (issue #8): a generated corpus of every kind of malformed input, run through
the whole pipeline with every record accounted for, and the readers fuzzed with hypothesis."""
