"""Per-document quality signals: numeric RedPajama-v2 signals and datatrove heuristic verdicts."""
