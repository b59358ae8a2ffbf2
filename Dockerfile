# syntax=docker/dockerfile:1
#
# The retention image: one static binary and CA certificates on an empty base (`scratch`).
# Two ways to fill it, same result (docs/action.md, "The image"):
#
#   source   (the default, last stage)  builds the binary from this repository inside the build:
#            needs Docker Hub (rust:alpine) and crates.io. Multi-arch through QEMU or native nodes.
#              docker buildx build --platform linux/amd64,linux/arm64 -t retention .
#
#   prebuilt copies a static binary built outside (the release workflow's native ARM and x86
#            runners; scripts/build-image.sh here) and the CA bundle from the build context:
#              dist/linux-amd64/retention  dist/linux-arm64/retention  dist/ca-certificates.crt
#            It has no RUN step, so it builds for any platform without emulation and without
#            pulling any base image.
#              docker buildx build --target prebuilt --platform linux/amd64,linux/arm64 -t retention .
#              buildah bud --target prebuilt --platform linux/amd64 -t retention .
#
# No USER: GitHub runs container actions as root so that they can write the mounted workspace.

ARG RUST_VERSION=1.85

# ---- prebuilt: a binary built elsewhere (no RUN, no base image to pull) ----------------------
FROM scratch AS prebuilt
ARG TARGETARCH
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/linux-${TARGETARCH}/retention /usr/local/bin/retention
# Temporary files and the default cache need somewhere to live on an empty base.
WORKDIR /tmp
WORKDIR /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/root \
    RUST_LOG=info
ENTRYPOINT ["/usr/local/bin/retention"]
CMD ["--help"]

# ---- builder: compile a static (musl) binary -------------------------------------------------
FROM rust:${RUST_VERSION}-alpine AS builder
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && ./target/release/retention --version \
    && cp target/release/retention /retention

# ---- source: the image from the builder (default target) -------------------------------------
FROM scratch AS source
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /retention /usr/local/bin/retention
WORKDIR /tmp
WORKDIR /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/root \
    RUST_LOG=info
ENTRYPOINT ["/usr/local/bin/retention"]
CMD ["--help"]
