"""Entry point for spark-submit: the same `curate` command, with master and resources from spark-submit.

    spark-submit --master spark://HOST:7077 jobs/curate_submit.py ingest INPUT... --out DIR

See jobs/README.md for shipping the Python environment to executors.
"""

from pipelines.cli import main

if __name__ == "__main__":
    main()
