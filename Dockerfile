# syntax=docker/dockerfile:1
# Two stages: the first builds the wheel (code plus its package data: schemas/, wallet_web/,
# web_common/, templates, static files) and installs it with the locked dependencies into a venv;
# the second copies only that venv and runs as an unprivileged user. No source tree, no `-e`.
# /app/var and /app/clients exist owned by that user, so the named volumes compose mounts there start
# out writable by it.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/puente
# Dependencies first (pinned with hashes, production server extras included): this layer is reused
# until requirements.lock changes.
COPY requirements.lock /src/requirements.lock
RUN /opt/puente/bin/pip install --require-hashes -r /src/requirements.lock
COPY . /src
RUN pip wheel --no-deps --wheel-dir /dist /src \
 && /opt/puente/bin/pip install --no-deps /dist/puente-*.whl \
 && /opt/puente/bin/pip check

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home puente \
 && install -d -o puente -g puente /app/var /app/clients
COPY --from=build /opt/puente /opt/puente
ENV PATH=/opt/puente/bin:$PATH PUENTE_ENV=production PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
USER puente
CMD ["puente", "--help"]
