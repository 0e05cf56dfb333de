# The image docker-compose.yaml runs for every Airflow component: Airflow's official image of the
# version and Python that requirements.txt and pyproject.toml pin, plus flightdq's runtime
# dependencies and the flightdq package itself. Built once (`docker compose build`), not installed
# at every container start.
#
# Constraints: ours (constraints.txt), not Airflow's constraints-3.3.2/constraints-3.11.txt. Ours is
# the full freeze `make install` and the test suite run on (Python 3.11, apache-airflow 3.3.2 and the
# amazon provider 9.39.0 included), so the image gets the versions that were tested. Airflow's file
# pins many of the same packages (boto3, pandas, pyarrow, ...) at their versions of Airflow's release
# day: wherever one differs from requirements.txt pip refuses the conflict; and it knows nothing of
# great-expectations, duckdb or sqlglot. `pip check` then fails
# the build if what we pinned breaks a package the base image already had.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements-runtime.txt constraints.txt /opt/flightdq/
RUN pip install --no-cache-dir -r /opt/flightdq/requirements-runtime.txt -c /opt/flightdq/constraints.txt \
 && pip check

# The package (flightdq, flightdq_dev and the suite as flightdq.expectations), without dependencies:
# they are all above. It also gives the `flightdq` and `flightdq-dev` commands.
COPY --chown=airflow:0 pyproject.toml setup.py README.md /opt/flightdq/src/
COPY --chown=airflow:0 include /opt/flightdq/src/include
COPY --chown=airflow:0 expectations /opt/flightdq/src/expectations
RUN pip install --no-cache-dir --no-deps /opt/flightdq/src

# The DAGs and the plugin, so the image runs without the source tree; docker-compose.yaml mounts the
# working copy over them (and over include/, first on PYTHONPATH) so edits show without a rebuild.
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

ENV FLIGHTDQ_LAKE=/opt/airflow/lake \
    GX_ANALYTICS_ENABLED=False
