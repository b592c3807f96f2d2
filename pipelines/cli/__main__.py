"""``python -m pipelines.cli``: the same as the ``curate`` command."""

from pipelines.cli.app import main

main()
