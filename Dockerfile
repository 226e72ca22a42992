# One image for the Ray head, the Ray workers, the workbench service and the Streamlit app: every Ray
# node must run the same Ray and Python versions as the driver (the service), so they share this image.
# Build: docker build -t workbench:latest .   (docs/deploy.md)
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0 \
    WORKBENCH_DB=/records/workbench.duckdb

# non-root: the processes run as "workbench" (uid 10001); the records volume is owned by it
RUN groupadd --system --gid 10001 workbench \
    && useradd --system --uid 10001 --gid workbench --home-dir /home/workbench --create-home workbench \
    && mkdir -p /records /app \
    && chown workbench:workbench /records /app

WORKDIR /app
# dependencies first (cached layer), pinned by the constraints file: the same versions on every build
COPY --chown=workbench:workbench pyproject.toml constraints.txt ./
COPY --chown=workbench:workbench engine ./engine
COPY --chown=workbench:workbench ray_tasks ./ray_tasks
COPY --chown=workbench:workbench app ./app
COPY --chown=workbench:workbench data ./data
RUN pip install --constraint constraints.txt . \
    && rm -rf /root/.cache

USER workbench
VOLUME ["/records"]
EXPOSE 8000 8501 6379 8265 10001

# the default command is the service; docker-compose.yml and deploy/kuberay override it per role
CMD ["workbench", "serve", "--host", "0.0.0.0", "--port", "8000", "--auth", "required"]
