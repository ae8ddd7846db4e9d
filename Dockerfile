# Stepscope in one image: CPU PyTorch, the server and the front end, run as a non-root user.
#
#   docker build -t stepscope .
#   docker run --rm -p 127.0.0.1:8000:8000 -v stepscope-data:/data stepscope
#
# Where the PyTorch CPU index is out of reach (an offline mirror, a local wheel folder named in
# pip's configuration), build with `--build-arg TORCH_INDEX_URL=` to take torch from pip's defaults.
# Deployment notes: docs/docker.md.

# --- front-end packages, pinned by package-lock.json; node stays in this stage ---------------------
FROM python:3.11-slim AS frontend
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/vendor.mjs scripts/
# postinstall (scripts/vendor.mjs) copies the browser builds into static/vendor/
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- Python packages in a virtual environment, copied whole into the final stage ------------------
FROM python:3.11-slim AS python-deps
# TORCH_VERSION is the pin in pyproject.toml: a build where they differ fails (at the latest, at the
# CPU check below).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
# binutils for strip, below; this stage is not part of the image
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/* \
    && python -m venv /opt/venv
# CPU-only torch in its own layer, first: the biggest download, cached across source changes. A
# plain `pip install torch` on Linux would pull the CUDA build and several GB of libraries.
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION"; \
    else \
        pip install "torch==$TORCH_VERSION"; \
    fi
# The rest of the runtime dependencies, read from pyproject.toml, so that this layer changes only
# when they do. The project itself is not installed: it runs from /app (see below).
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print(*tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && python -c "import torch; assert torch.version.cuda is None, 'not a CPU build of torch'"
# About 290 MB less: drop what only building or testing torch needs (its C++ unit-test binaries and
# headers: compiling extensions or torch.compile's C++ code would need a compiler, which the image
# does not have), and the static symbol tables of its libraries (the dynamic symbols that loading
# and backtraces use stay). Then a backward pass and an optimizer step, to be sure torch still works.
RUN site=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])") \
    && rm -rf "$site/torch/test" "$site/torch/include" \
    && find "$site/torch/bin" -mindepth 1 ! -name torch_shm_manager -exec rm -rf {} + \
    && find "$site/torch" -name "*.so*" -type f -exec strip --strip-unneeded {} + \
    && pip uninstall --yes pip setuptools \
    && python -c "import torch; m = torch.nn.Linear(3, 1); o = torch.optim.SGD(m.parameters(), lr=0.1); m(torch.randn(8, 3)).square().mean().backward(); o.step()"

# --- the image that runs ------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STEPSCOPE_HOST=0.0.0.0 \
    STEPSCOPE_PORT=8000 \
    STEPSCOPE_DATA_DIR=/data
RUN groupadd --gid 10001 stepscope \
    && useradd --uid 10001 --gid stepscope --create-home --shell /usr/sbin/nologin stepscope \
    && mkdir /data \
    && chown stepscope:stepscope /data
COPY --from=python-deps /opt/venv /opt/venv
# Static files and templates are found beside the app package (app/settings.py), so the source
# lives in one folder, owned by root and read-only to the server.
WORKDIR /app
COPY pyproject.toml ./
COPY app/ app/
COPY stepscope/ stepscope/
COPY templates/ templates/
COPY static/ static/
COPY --from=frontend /src/static/vendor/ static/vendor/
RUN python -m compileall -q app
USER stepscope
VOLUME ["/data"]
EXPOSE 8000
# /healthz is the one route that needs no token (it answers {"status": "ok"} and nothing more), so
# the check, like any orchestrator's probe, holds no secret. No curl needed.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('STEPSCOPE_PORT', '8000'), timeout=2)"]
# Exec form: python is PID 1 and receives docker stop's SIGTERM; uvicorn shuts down gracefully,
# and the lifespan stops the runs and closes the history.
CMD ["python", "-m", "app"]
