# Ferry's container image: one binary, the Swift runtime linked in statically, on a small Debian.
#
#   docker build -t ferry .
#   docker run --rm ferry --help
#
# The image holds no plan and no credentials: a worker gets its plan from a mount (Kubernetes: a ConfigMap, see
# deploy/kubernetes/) or from an image built on this one (AWS Batch, see deploy/aws-batch/), and its credentials
# from the pod's or job's IAM role (web identity or the container credentials endpoint, both in Ferry's chain).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a change to Ferry's sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product ferry --static-swift-stdlib \
 && install -D -m 0755 "$(swift build -c release --show-bin-path)/ferry" /out/ferry \
 && /out/ferry --help > /dev/null

FROM ${RUNTIME_IMAGE}
# What the binary still links dynamically (libc, libstdc++, libgcc, zlib) is in the base image or here; CA
# certificates for TLS to AWS.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work --create-home ferry
COPY --from=build /out/ferry /usr/local/bin/ferry
USER 10001
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["--help"]
