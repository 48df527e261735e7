# The topolog image: one image, one process per container, chosen by its argument
# (producer | processor | projector | gateway), as deploy/kubernetes/ runs it.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY topolog ./topolog
COPY producers ./producers
COPY processors ./processors
COPY store ./store
COPY gateway ./gateway
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home topolog
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /home/topolog
ENV TOPOLOG_STATE_DIR=/tmp/topolog
ENTRYPOINT ["topolog"]
CMD ["--help"]
