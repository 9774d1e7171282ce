#!/usr/bin/env bash
# Prepares Podman as the Docker-API engine for the Docker sandbox tests (ENVIRONMENT.md):
# installs podman, runc and a static busybox, writes the container settings this kind of
# machine needs, imports a small sandbox image built from a local busybox rootfs (no
# registry is reachable) and one with the host's Node, npm and git, and starts the Docker-compatible API on a unix socket.
# Idempotent; run as root. Prints the DOCKER_HOST to use.
set -euo pipefail

SOCKET=/run/podman/podman.sock
IMAGE=localhost/mosaic-sandbox-test:latest
NODE_IMAGE=localhost/mosaic-sandbox-node-test:latest

if ! command -v podman >/dev/null 2>&1 || [ ! -x /bin/busybox ] || ! command -v curl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc busybox-static curl >/dev/null
fi

mkdir -p /etc/containers
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' > /etc/containers/containers.conf
printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' > /etc/containers/storage.conf

if ! podman image exists "$IMAGE"; then
  rootfs=$(mktemp -d)
  chmod 755 "$rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/workspace"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  tar -C "$rootfs" -cf "$rootfs.tar" .
  podman import --quiet --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$rootfs" "$rootfs.tar"
fi

# A second image with this machine's Node, npm and git, for the tests of a real project
# (dependencies through the egress proxy, the project's tests, commits): the binaries and
# the libraries they load, copied from the host, since no registry is reachable.
if ! podman image exists "$NODE_IMAGE"; then
  rootfs=$(mktemp -d)
  chmod 755 "$rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/usr/bin" "$rootfs/usr/lib/node_modules" "$rootfs/tmp" "$rootfs/workspace"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  ln -sf /bin/busybox "$rootfs/usr/bin/env"
  for binary in "$(command -v node)" "$(command -v git)"; do
    for file in "$binary" $(ldd "$binary" | grep -o '/[^ ]*'); do
      mkdir -p "$rootfs$(dirname "$file")"
      cp -L "$file" "$rootfs$file"
    done
    ln -sf "$binary" "$rootfs/bin/$(basename "$binary")"
  done
  cp -a /usr/lib/node_modules/npm "$rootfs/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
  mkdir -p "$rootfs/usr/lib" "$rootfs/usr/share"
  cp -a /usr/lib/git-core "$rootfs/usr/lib/git-core"
  [ -d /usr/share/git-core ] && cp -a /usr/share/git-core "$rootfs/usr/share/git-core"
  tar -C "$rootfs" -cf "$rootfs.tar" .
  podman import --quiet --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$rootfs.tar" "$NODE_IMAGE" >/dev/null
  rm -rf "$rootfs" "$rootfs.tar"
fi

if ! curl -fsS --max-time 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; then
  mkdir -p /run/podman
  # A service that no longer answers is replaced, not joined.
  pkill -f "podman system service .*$SOCKET" 2>/dev/null || true
  rm -f "$SOCKET"
  # From /, not from the caller's directory: the service outlives it, and conmon fails
  # every container ("Failed to get working directory") once that directory is removed.
  # The redirections are on the whole background job, and the subshell execs the service:
  # nothing left running may hold this script's stdout, or `$(setup-podman.sh)` never ends.
  (cd / && exec setsid podman system service --time=0 "unix://$SOCKET") \
    </dev/null >/tmp/podman-service.log 2>&1 &
  for _ in $(seq 1 50); do
    curl -fsS --max-time 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
curl -fsS --max-time 5 --unix-socket "$SOCKET" http://d/_ping >/dev/null
echo "DOCKER_HOST=unix://$SOCKET"
