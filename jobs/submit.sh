#!/usr/bin/env bash
# Run a `curate` command on a cluster through spark-submit.
#   MASTER=spark://host:7077 jobs/submit.sh ingest INPUT... --out DIR [options]
# Extra spark-submit flags go in SPARK_SUBMIT_FLAGS (e.g. "--archives env.tar.gz#env --executor-memory 4g").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${MASTER:?set MASTER to the master URL: spark://host:port, yarn, k8s://https://..., or local[N]}"
# shellcheck disable=SC2086
exec spark-submit --master "$MASTER" ${SPARK_SUBMIT_FLAGS:-} "$here/curate_submit.py" "$@"
