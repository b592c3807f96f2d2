"""The orchestration layer on top of ``curation`` and ``raters``: the ``curate`` command line
(``pipelines.cli``), the pipeline runner (``pipelines.runner``) and its config schema (``pipelines.config``),
and the YAML pipelines shipped with the project (``laptop.yaml``, ``cluster.yaml``)."""
