# syntax=docker/dockerfile:1
# What tests/e2e/test_deployed_shape.py does: build the wheel (service code, migrations and
# GraphiQL's assets), install it, run `safe-future migrate` / `safe-future serve` from a folder
# that is not the sources.
#
# Assets stage: GraphiQL's browser bundles from the npm packages pinned in
# graphiql/package-lock.json, the same step as `make install`.
FROM python:3.11-slim AS assets
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY graphiql/package.json graphiql/package-lock.json graphiql/copy-assets.mjs ./graphiql/
RUN cd graphiql && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    && node copy-assets.mjs

# Build stage: compile wheels with the build tools; the final image carries none of them.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
COPY --from=assets /src/service/graphiql/static/vendor ./service/graphiql/static/vendor
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SAFE_FUTURE_MODE=production SAFE_FUTURE_HOST=0.0.0.0 SAFE_FUTURE_PORT=8000
RUN groupadd --system app && useradd --system --gid app --home-dir /app app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Key-encryption keys: mount a persistent volume here (never include it in database backups;
# see docs/privacy.md section 8).
ENV SAFE_FUTURE_KEK_DIR=/var/lib/safe-future/kek
RUN mkdir -p /var/lib/safe-future/kek && chown app:app /var/lib/safe-future/kek \
    && chmod 700 /var/lib/safe-future/kek
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["safe-future", "serve"]
