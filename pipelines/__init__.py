"""The orchestration layer on top of ``curation`` and ``raters``: the ``curate`` command line
(``pipelines.cli``); the pipeline runner (``pipelines.runner``, the run loop), the stages a config makes
(``pipelines.stage_plan``) and their contract (``pipelines.stage``); the config schema
(``pipelines.config``); and the YAML pipelines shipped with the project (``laptop.yaml``, ``cluster.yaml``)."""
