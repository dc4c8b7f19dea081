# adk-grpc-sessions server image.
#   docker build -t adk-grpc-sessions .
#   docker run -p 50051:50051 -v sessions:/srv/data \
#     -v "$PWD/secrets:/etc/adk-grpc-sessions:ro" \
#     -e ADK_GRPC_SESSIONS_TLS_CERT=/etc/adk-grpc-sessions/server.pem \
#     -e ADK_GRPC_SESSIONS_TLS_KEY=/etc/adk-grpc-sessions/server.key \
#     -e ADK_GRPC_SESSIONS_TOKENS_FILE=/etc/adk-grpc-sessions/tokens.txt \
#     adk-grpc-sessions
# ./secrets holds the certificate chain, its key and the tokens file
# (`adk-grpc-sessions token new` prints its lines), readable by uid 10001. The
# server reads each again when it changes; mount the directory, not single
# files, so a file replaced on the host is seen in the container.
# It runs the README's command, `adk-grpc-sessions serve`, configured through
# ADK_GRPC_SESSIONS_* variables. It listens on all interfaces, so it refuses to
# start until given TLS and tokens, or ADK_GRPC_SESSIONS_ALLOW_UNAUTHENTICATED=true.
# The HEALTHCHECK's `adk-grpc-sessions health` reads the same variables: with
# TLS it trusts the server's own certificate; it needs no token.

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY client ./client
COPY server ./server
# A regular (not editable) install: the runtime stage needs no sources. With
# the PostgreSQL and MySQL/MariaDB drivers, so any backend URI works.
RUN /opt/venv/bin/pip install --no-cache-dir ".[server,otel,postgres,mysql]"

FROM python:3.11-slim
RUN groupadd --system --gid 10001 sessions \
 && useradd --system --uid 10001 --gid sessions --home-dir /srv --no-create-home sessions \
 && mkdir -p /srv/data \
 && chown -R sessions:sessions /srv
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ADK_GRPC_SESSIONS_LISTEN=0.0.0.0:50051
WORKDIR /srv
VOLUME ["/srv/data"]
USER 10001:10001
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["adk-grpc-sessions", "health"]
ENTRYPOINT ["adk-grpc-sessions"]
CMD ["serve"]
