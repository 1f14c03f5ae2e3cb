# statelint: CLI and admission webhook (`statelint serve`) in one static-ish binary.
#
#   docker build -t statelint .
#   docker run --rm -v "$PWD:/work" -w /work statelint check .
#
# Build stage: the same stable toolchain CI uses, dependencies pinned by Cargo.lock.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# --features server: the image runs the admission webhook (the Helm chart's image).
# Profile-guided (scripts/pgo-build.sh): an instrumented build is trained on fixtures/ (the CLI
# over them, then the webhook over TLS on loopback with a review of each of their objects), and
# the release build is laid out by that profile: the same code, about half the CPU per
# StatefulSet review (README, "Performance"). It needs the toolchain's llvm-profdata (llvm-tools).
RUN rustup component add llvm-tools \
 && bash scripts/pgo-build.sh --locked \
 && cp target/pgo/release/statelint /statelint

# Runtime: glibc + libgcc only (bookworm's, the builder's), no shell, non-root.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /statelint /statelint
# 65532 is distroless' "nonroot" user; numeric so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/statelint"]
