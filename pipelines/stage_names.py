"""The stages of ``curate run``, in the order they run (a light module: the CLI's ``--help`` lists them)."""

STAGES = (
    "ingest",
    "signals",
    "dedup",
    "datarater_train",
    "datarater_score",
    "datarater_keep",
    "metarater_fit",
    "metarater_keep",
    "select",
    "datarater_only",
    "mix",
    "validate",
    "export",
)
