# syntax=docker/dockerfile:1
# What tests/e2e/test_deployed_shape.py does: build the wheel (service code and migrations),
# install it, run `safe-future migrate` / `safe-future serve` from a folder that is not the
# sources. Build stage: compile wheels with the build tools; the final image carries none.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SAFE_FUTURE_MODE=production SAFE_FUTURE_HOST=0.0.0.0 SAFE_FUTURE_PORT=8000
RUN groupadd --system app && useradd --system --gid app --home-dir /app app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["safe-future", "serve"]
