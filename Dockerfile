# tpp's container image (docs/deployment.md#the-container-image).
#
#   docker build -t tpp .       # or podman build: compiles tpp from source
#   docker run -d -v $(pwd)/config.yaml:/app/config.yaml -p 8080:8080 -p 9090:9090 tpp
#
# Stages: `build` compiles tpp on Debian 12 with the project's own
# scripts/install-deps.sh; `runtime` is Debian 12 slim with only the shared
# libraries tpp needs, a non-root user, the entrypoint and the HEALTHCHECK;
# the last stage (the default target) is runtime + the binary from `build`.
# `tpp-prebuilt` and `emulator-prebuilt` take binaries that were already
# built on Debian 12 from the build context instead (prebuilt/...), which is
# how deploy/build-image.sh --prebuilt and CI use them; `emulator` is the
# project's DolphinDB emulator, the upstream of compose.yaml's demo profile.

# ---- build: tpp from source, on Debian 12 -------------------------------------
FROM docker.io/library/debian:bookworm AS build
WORKDIR /src
# The dependencies first, in their own layer: it stays cached while the
# sources change.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN ./scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# RelWithDebInfo, as ./scripts/build.sh and CI build it; the debug info is
# stripped on the way out.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTPP_BUILD_TESTS=OFF \
 && cmake --build /build --target tpp ddb-emulator \
 && install -D -s /build/src/app/tpp /out/tpp/usr/bin/tpp \
 && install -D -s /build/tools/emulator/ddb-emulator /out/emulator/usr/bin/ddb-emulator

# ---- runtime: Debian 12 slim, the shared libraries, a user, the entrypoint ----
FROM docker.io/library/debian:bookworm-slim AS runtime
# The libraries the binary links (ldd; deploy/build-image.sh checks that none
# is missing), CA certificates for upstream.tls, and curl only so that the
# old compose files' `curl -f http://localhost:9090/healthz` keeps working:
# the image's own HEALTHCHECK is `tpp probe`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libssl3 libyaml-cpp0.7 libspdlog1.10 libfmt9 libmimalloc2.0 \
      libprotobuf32 libgrpc++1.51 libsystemd0 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /app \
      --shell /usr/sbin/nologin tpp \
 && mkdir -p /app
COPY deploy/container/entrypoint.sh /usr/local/bin/tpp-entrypoint
# The operator's files (docs/operations.md), for a sidecar or an init step to
# copy out: Prometheus alert rules and the Grafana dashboard.
COPY deploy/prometheus/tpp-alerts.yaml /usr/share/tpp/prometheus/tpp-alerts.yaml
COPY deploy/grafana/tpp.json /usr/share/tpp/grafana/tpp.json
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /app
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/tpp-entrypoint"]
CMD []
# The same configuration as the running tpp (same entrypoint), then GET
# /readyz on its health listener: healthy while tpp holds a usable token.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/tpp-entrypoint", "probe"]
# tpp drains on SIGTERM for up to shutdown_grace_seconds (default 30): give
# `docker stop -t` / stop_grace_period / terminationGracePeriodSeconds more.
STOPSIGNAL SIGTERM
# Kept equal to project(VERSION) in CMakeLists.txt (tests/deploy checks it);
# deploy/build-image.sh passes the revision and source.
ARG TPP_VERSION=0.1.0
ARG TPP_REVISION=unknown
ARG TPP_SOURCE=unknown
LABEL org.opencontainers.image.title="tpp" \
      org.opencontainers.image.description="Token Pool Proxy: a reverse proxy in front of DolphinDB's REST API" \
      org.opencontainers.image.version="${TPP_VERSION}" \
      org.opencontainers.image.revision="${TPP_REVISION}" \
      org.opencontainers.image.source="${TPP_SOURCE}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# ---- emulator: the DolphinDB emulator, for compose.yaml's demo profile ---------
FROM runtime AS emulator-prebuilt
COPY prebuilt/emulator/ /
ENTRYPOINT ["/usr/bin/ddb-emulator", "--listen", "0.0.0.0:8848"]
HEALTHCHECK NONE
EXPOSE 8848

FROM runtime AS emulator
COPY --from=build /out/emulator/ /
ENTRYPOINT ["/usr/bin/ddb-emulator", "--listen", "0.0.0.0:8848"]
HEALTHCHECK NONE
EXPOSE 8848

# ---- tpp: runtime + the binary --------------------------------------------------
FROM runtime AS tpp-prebuilt
COPY prebuilt/tpp/ /

FROM runtime AS tpp
COPY --from=build /out/tpp/ /
