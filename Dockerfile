# borderstats API: Python 3.11 slim (Debian bookworm, pinned), a non-root user, `borderstats serve`.
# Build: docker build -t borderstats .   Run: docker run -p 8000:8000 -e DATABASE_URL=... borderstats
# The tag is pinned so images built on different days start from the same Python; dependencies
# come from .ci/requirements.lock (exact versions and hashes; .ci/run checks it against pyproject.toml).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first, from the lock file alone: this layer is rebuilt only when they change.
WORKDIR /src
COPY pyproject.toml ./
COPY .ci/requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

# The code: a wheel install carries migrations/ and seed/ inside the package (app/_bundled).
COPY README.md ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf /src \
    && groupadd --gid 10001 borderstats \
    && useradd --no-log-init --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin borderstats \
    && install -d -o borderstats -g borderstats /srv/borderstats/data

# Numeric, so a runtime that requires a non-root user (runAsNonRoot) can verify it.
USER 10001:10001
WORKDIR /srv/borderstats

# Every setting is an environment variable (see README.md); these suit a container.
# Without DATABASE_URL the embedded SQLite file lives in /srv/borderstats/data (mount a volume there).
ENV BORDERSTATS_HOST=0.0.0.0 \
    BORDERSTATS_PORT=8000 \
    BORDERSTATS_WORKERS=1 \
    BORDERSTATS_SQLITE_PATH=/srv/borderstats/data/borderstats.db \
    BORDERSTATS_LOG_FORMAT=json

EXPOSE 8000

# Liveness only (no curl in slim images): /healthz never touches the database; /readyz does.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BORDERSTATS_PORT', '8000') + '/healthz', timeout=2)"]

CMD ["borderstats", "serve"]
