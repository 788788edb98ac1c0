# The code location's image (docs/deployment.md). The same image serves the Dagster webserver, the daemon,
# `jde-mc audit upgrade` and every run's container in deploy/docker-compose.yaml, and the code location of
# the Helm chart (deploy/helm/values.yaml). Build from the project directory:
#   docker build -t jde-mc-pipeline:0.1.0 .
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

# A user of its own: no process of the deployment runs as root. The staging folder exists owned by it, so
# a Docker volume mounted there starts with that owner (Kubernetes: fsGroup, deploy/helm/values.yaml).
RUN groupadd --system --gid 10001 jde_mc \
    && useradd --system --uid 10001 --gid jde_mc --home-dir /opt/dagster --shell /usr/sbin/nologin jde_mc \
    && mkdir -p /opt/dagster/app /opt/dagster/dagster_home /var/lib/jde_mc/staging \
    && chown -R jde_mc:jde_mc /opt/dagster /var/lib/jde_mc

WORKDIR /opt/dagster/app

# The dependencies first (their layer is kept while only the code changes), at the exact versions of the
# lock, which deploy/lock.sh regenerates from a clean install of .[deploy]; then the project itself, as a
# wheel (not editable), adding nothing the lock did not pin. The README shows the same two lines.
COPY deploy/requirements.lock deploy/requirements.lock
RUN pip install --no-cache-dir -r deploy/requirements.lock
COPY pyproject.toml README.md ./
COPY jde_mc_pipeline ./jde_mc_pipeline
RUN pip install --no-cache-dir --no-deps .

COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml
COPY deploy/workspace.yaml deploy/workspace.yaml

USER jde_mc
EXPOSE 4000

# CMD, not ENTRYPOINT: compose gives the webserver, the daemon and the audit upgrade their own command,
# the Docker run launcher runs `dagster api execute_run …` in this image, and the Helm chart sets the
# container's args; each replaces CMD, while an ENTRYPOINT would prefix them all.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "jde_mc_pipeline.definitions"]
