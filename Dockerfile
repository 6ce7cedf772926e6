# One image for every certbound process: the API, the workers and the migrate step; the
# command decides the role (docker-compose.yml). TORCH_INDEX picks the torch build: the
# CPU wheels by default (API, migrate step, CPU workers), PyPI's CUDA build for GPU workers
# (--build-arg TORCH_INDEX=https://pypi.org/simple).
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CERTBOUND_DATA_DIR=/data
WORKDIR /srv/certbound

# Layers from the slowest-changing: torch, the other dependencies (read from
# pyproject.toml), then certbound itself, so a code change rebuilds only the last one.
RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY . .
# The check runs outside the source tree, on the installed package: the MNIST subset and
# the bundled benchmarks are package data and must have been installed with it.
RUN pip install --no-deps . \
 && cd / && python -c "from core.data import BUNDLED_BENCHMARKS, BUNDLED_MNIST; \
assert BUNDLED_MNIST.is_file() and any(BUNDLED_BENCHMARKS.rglob('*.onnx.gz')), 'package data missing'" \
 && useradd --create-home --uid 1000 certbound \
 && mkdir -p /data && chown certbound /data
USER certbound

VOLUME /data
EXPOSE 8000
CMD ["certbound", "serve", "--no-worker", "--host", "0.0.0.0", "--port", "8000"]
