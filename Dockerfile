# The topolog image: one image, one process per container, chosen by its argument
# (producer | processor | projector | gateway), as deploy/kubernetes/ runs it.
FROM python:3.11-slim AS build
# gcc: the hot pure modules are compiled by mypyc (topolog.compiled, docs/operations.md).
RUN apt-get update && apt-get install -y --no-install-recommends gcc \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY topolog ./topolog
COPY producers ./producers
COPY processors ./processors
COPY store ./store
COPY gateway ./gateway
RUN pip wheel --no-cache-dir --wheel-dir /wheels .
# Compiled from these sources (mypy's config in pyproject.toml), named by their digest:
# the wheel installs the same bytes, so the final image loads this build.
RUN pip install --no-cache-dir -e . "mypy>=1.10" \
    && TOPOLOG_CACHE_DIR=/opt/topolog-cache topolog dev compile

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home topolog
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --from=build /opt/topolog-cache/mypyc /opt/topolog-cache/mypyc
USER 10001
WORKDIR /home/topolog
ENV TOPOLOG_STATE_DIR=/tmp/topolog TOPOLOG_CACHE_DIR=/opt/topolog-cache
ENTRYPOINT ["topolog"]
CMD ["--help"]
