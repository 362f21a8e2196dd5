# A small client image with kcat, for docker/compose.kcat.yaml: Debian's
# kcat on the same base as the broker image (no registry image needed).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
LABEL org.sluice.stage=kcat
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
       --no-install-recommends kcat \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt \
       /var/log/dpkg.log \
    && useradd --system --uid 1000 --user-group --no-create-home kcat
USER kcat
CMD ["kcat", "-V"]
