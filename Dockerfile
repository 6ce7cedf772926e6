# One image for every certbound process: the API, the workers and the migrate step.
# The command decides the role (see docker-compose.yml).
FROM python:3.11-slim

# The CUDA build of torch from PyPI for GPU workers; pass
# --build-arg TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" for a CPU-only image.
ARG TORCH_SPEC="torch==2.13.0"

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CERTBOUND_DATA_DIR=/data
WORKDIR /srv/certbound

RUN pip install --no-cache-dir ${TORCH_SPEC}
COPY pyproject.toml README.md alembic.ini ./
COPY core ./core
COPY app ./app
COPY worker ./worker
COPY migrations ./migrations
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 1000 certbound \
 && mkdir -p /data && chown certbound /data
USER certbound

VOLUME /data
EXPOSE 8000
CMD ["certbound", "serve", "--no-worker", "--host", "0.0.0.0", "--port", "8000"]
