#!/usr/bin/env bash
# The image as users run it: builds it from the unchanged Dockerfile with rootful podman, then
# checks the camera and the dashboard the way compose.yaml and deploy/k8s/ run them, and builds
# and runs a project made by `zmq-container init` from its own Dockerfile. Prints
# `pass:` or `FAIL:` per check and exits 1 if any failed; exits 0 with one `skipped:` line where
# podman cannot run (not root, or no ../shared/tools/node-base-image.sh beside the repository).
#
#   sudo bash scripts/ci-image.sh            # what .ci/run does as root (~2-3 min, build included)
#
# This machine reaches no Docker Hub: node-base-image.sh (in the shared/ folder beside the clone,
# as CI lays it out) makes a local stand-in for node:24-bookworm-slim and writes podman's settings.
# Everything this script makes (containers, networks, images, compose project) carries the run's
# name and is removed on exit, whatever happened; the base image stays, as the tool's cache.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE_MAJOR=24
TOOL=${ZC_NODE_BASE_IMAGE_TOOL:-$(dirname "$ROOT")/shared/tools/node-base-image.sh}
RUN=zc-ci-$$
IMAGE=localhost/$RUN:test
DERIVED=localhost/$RUN-derived:test
INIT_IMAGE=localhost/$RUN-init:test
NET=$RUN-net
COMPOSE_IMAGE=localhost/zmq-container:0.1.0 # compose.yaml's `image:`
# compose.yaml's hardening and settings, for the containers started with `podman run`.
HARDENING=(--read-only --cap-drop ALL --security-opt no-new-privileges)
COMPOSE_ENV=(-e HTTP_PORT=9464 -e ZC_SHUTDOWN_TIMEOUT_MS=2000)
STOP_LIMIT_MS=2000

skip() {
  echo "image check skipped: $*"
  exit 0
}
[ "$(id -u)" = 0 ] || skip "not root (rootful podman is what node-base-image.sh sets up)"
[ -f "$TOOL" ] || skip "$TOOL is absent (CI lays shared/ beside the clone)"

failures=0
pass() { echo "pass: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# podman logs systemd errors on every run and stop here (no systemd: health checks run on demand).
quiet() { "$@" 2>/dev/null; }

# --- set-up ------------------------------------------------------------------------------------
started_ms=$(now_ms)
if ! bash "$TOOL" "$NODE_MAJOR" >/tmp/$RUN-base.log 2>&1; then
  tail -30 /tmp/$RUN-base.log
  rm -f /tmp/$RUN-base.log
  echo "FAIL: $TOOL $NODE_MAJOR could not make the base image"
  exit 1
fi
echo "base image ready in $(($(now_ms) - started_ms)) ms ($(tail -1 /tmp/$RUN-base.log))"
rm -f /tmp/$RUN-base.log
eval "$(bash "$TOOL" "$NODE_MAJOR" --env)"
# Debian's podman picks crun, which refuses this kernel's hybrid cgroup layout ("cgroups in hybrid
# mode not supported"); runc runs with the tool's rlimits. A copy of its settings names runc.
if command -v runc >/dev/null; then
  conf=$(mktemp /tmp/$RUN-containers.XXXXXX.conf)
  sed '/^\[engine\]/a runtime = "runc"' "$CONTAINERS_CONF" >"$conf"
  export CONTAINERS_CONF=$conf
fi

compose_tag_before=$(podman image inspect --format '{{.Id}}' "$COMPOSE_IMAGE" 2>/dev/null || true)
cleanup() {
  echo "== image check: clean-up"
  if command -v podman-compose >/dev/null; then
    podman-compose -p "$RUN" -f "$ROOT/compose.yaml" down -t 1 >/dev/null 2>&1
  fi
  for c in $(podman ps -a --format '{{.Names}}' | grep "^$RUN" || true); do
    quiet podman rm -f -t 0 "$c" >/dev/null
  done
  quiet podman network rm -f "$NET" >/dev/null
  quiet podman network rm -f "${RUN}_vision" >/dev/null
  if [ -n "$compose_tag_before" ]; then
    podman tag "$compose_tag_before" "$COMPOSE_IMAGE" 2>/dev/null
  else
    podman rmi "$COMPOSE_IMAGE" >/dev/null 2>&1
  fi
  podman rmi -f "$INIT_IMAGE" "$DERIVED" "$IMAGE" >/dev/null 2>&1
  rm -f "${conf:-}"
  [ -n "${derived_ctx:-}" ] && rm -rf "$derived_ctx"
  [ -n "${init_ctx:-}" ] && rm -rf "$init_ctx"
}
trap cleanup EXIT

# --- build -------------------------------------------------------------------------------------
echo "== image check: build from the Dockerfile"
build_started_ms=$(now_ms)
# --layers=false: no intermediate images (the build stage's) are left behind to clean up; npm's
# cache mount still makes a rebuild fast.
if ! podman build -q --layers=false --format docker "${PODMAN_BUILD_FLAGS[@]}" -t "$IMAGE" . >/tmp/$RUN-build.log 2>&1; then
  tail -30 /tmp/$RUN-build.log
  rm -f /tmp/$RUN-build.log
  echo "FAIL: podman build of the Dockerfile"
  exit 1
fi
rm -f /tmp/$RUN-build.log
pass "podman build --format docker (the unchanged Dockerfile) in $(($(now_ms) - build_started_ms)) ms"
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $((size / 1000000)) MB ($size bytes; the base image alone: $(($(podman image inspect --format '{{.Size}}' "node:$NODE_MAJOR-bookworm-slim") / 1000000)) MB)"

# --- helpers -----------------------------------------------------------------------------------
# All of a container's log, read before grep: `grep -q` closing the pipe early would make
# `podman logs` fail with SIGPIPE, and pipefail would turn a match into a failure.
logs_of() {
  local text
  text=$(podman logs "$1" 2>&1)
  printf '%s\n' "$text"
}
# Waits, up to $3 s, for a log line of container $1 that matches the extended regex $2.
wait_log() {
  local deadline=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    logs_of "$1" | grep -Eq "$2" && return 0
    [ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || break
    sleep 0.2
  done
  logs_of "$1" | grep -Eq "$2"
}
show_logs() { logs_of "$1" | tail -15 | sed "s/^/  [$1] /"; }
# Runs the container's health check until it passes, up to $2 tries (podman has no timer here).
wait_healthy() {
  local i
  for ((i = 0; i < $2; i++)); do
    quiet podman healthcheck run "$1" >/dev/null && return 0
    sleep 0.5
  done
  return 1
}
# Stops container $1 as an orchestrator does and checks: SIGTERM logged, exit 0, within the limit.
# $3 says who delivers the signal (default: the image's tini).
check_stop() {
  local t0 elapsed code
  t0=$(now_ms)
  quiet podman stop -t 10 "$1" >/dev/null
  elapsed=$(($(now_ms) - t0))
  code=$(podman inspect --format '{{.State.ExitCode}}' "$1")
  # The log file can trail the exit by a moment (seen once: the `stopped` line was missing from
  # the first read and present in the next), so give it up to 2 s to show the last line.
  local i
  for ((i = 0; i < 20; i++)); do
    logs_of "$1" | grep '^{' | tail -1 | grep -q '"msg":"stopped"' && break
    sleep 0.1
  done
  if [ "$code" = 0 ] && [ "$elapsed" -lt "$STOP_LIMIT_MS" ] &&
    logs_of "$1" | grep -q '"signal":"SIGTERM".*"msg":"shutdown requested"' &&
    logs_of "$1" | grep '^{' | tail -1 | grep -q '"exitCode":0.*"msg":"stopped"'; then
    pass "$2: podman stop -t 10 delivers SIGTERM ${3:-through tini}, exit 0 in $elapsed ms"
  else
    fail "$2: podman stop -t 10: exit $code after $elapsed ms (want 0 within $STOP_LIMIT_MS ms)"
    show_logs "$1"
  fi
}

# --- camera and dashboard, as compose runs them ------------------------------------------------
echo "== image check: camera and dashboard on a user network, hardened as in compose.yaml"
quiet podman network create "$NET" >/dev/null
for service in camera dashboard; do
  # The camera's command SUB asks for a short scheduler slice: checked below.
  extra=()
  [ "$service" = camera ] && extra=(-e ZMQ_SUB_SLICE_US=100)
  quiet podman run -d --name "$RUN-$service" --network "$NET" --network-alias "$service" \
    "${HARDENING[@]}" --env-file "examples/$service/.env" "${COMPOSE_ENV[@]}" "${extra[@]}" \
    "$IMAGE" >/dev/null || fail "$service: podman run"
done

if wait_log "$RUN-dashboard" '"msg":"frame rate"' 30 &&
  wait_log "$RUN-camera" '"msg":"command received"' 30; then
  pass "frames reach the dashboard from tcp://camera:5555 and commands reach the camera from tcp://dashboard:6000"
else
  fail "frames and commands between camera and dashboard by service name"
  show_logs "$RUN-camera"
  show_logs "$RUN-dashboard"
fi

for service in camera dashboard; do
  if wait_healthy "$RUN-$service" 20 &&
    [ "$(podman inspect --format '{{.State.Health.Status}}' "$RUN-$service")" = healthy ]; then
    pass "$service: podman healthcheck run (the image's HEALTHCHECK, /livez) passes: healthy"
  else
    fail "$service: podman healthcheck run"
  fi
done

# The camera's command SUB asks for a 100 µs scheduler slice (ZMQ_SUB_SLICE_US above): through
# perl (perl-base is in every Debian image), allowed with every capability dropped.
if wait_log "$RUN-camera" '"msg":"thread slice set"' 10; then
  pass "camera: the control receive thread got its 100 µs scheduler slice (perl in the image, no capability)"
elif logs_of "$RUN-camera" | grep '"msg":"thread slice not set"' | grep -q 'Linux 6.12'; then
  pass "camera: this kernel keeps its own scheduler slice (before Linux 6.12); perl and sched_setattr ran"
else
  fail "camera: the control receive thread's scheduler slice"
  logs_of "$RUN-camera" | grep '"thread slice' | sed 's/^/  /'
fi

# PID 1 is tini; its child is node, whose host process must run as uid 1000 (no user namespace).
top=$(quiet podman top "$RUN-camera" pid hpid args)
node_hpid=$(echo "$top" | awk '$3 == "node" && $4 == "dist/main.js" { print $2 }')
pid1=$(echo "$top" | awk '$1 == 1 { print $3 }')
node_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$node_hpid/status" 2>/dev/null)
if [ "$pid1" = /usr/bin/tini ] && [ "$node_uid" = 1000 ]; then
  pass "camera: PID 1 is tini; node dist/main.js runs as uid 1000"
else
  fail "camera: PID 1 is '$pid1', node runs as uid '${node_uid:-?}' (want tini, 1000)"
  echo "$top" | sed 's/^/  /'
fi

if out=$(quiet podman exec "$RUN-camera" node dist/main.js check) &&
  echo "$out" | grep -q '^SUB sub (ZMQ_SUB_\*): ' &&
  echo "$out" | grep -q 'connect  tcp://dashboard:6000'; then
  pass "camera: node dist/main.js check inside the container loads its env (exit 0)"
else
  fail "camera: node dist/main.js check inside the container"
  echo "$out" | sed 's/^/  /'
fi

# The compile cache filled at build time is read by a read-only container (Node 22.1+ only).
if [ "$(quiet podman exec "$RUN-camera" node -p 'typeof require("node:module").getCompileCacheDir')" != function ]; then
  echo "note: this image's Node has no compile cache (Node 20); its check is skipped"
elif accepted=$(podman exec -e NODE_DEBUG_NATIVE=COMPILE_CACHE "$RUN-camera" node dist/main.js check 2>&1 |
  grep -c 'was accepted') && [ "$accepted" -gt 0 ]; then
  pass "camera: the compile cache baked into the image is read ($accepted modules' code accepted, read-only root)"
else
  fail "camera: the compile cache baked into the image is not read (NODE_COMPILE_CACHE=/app/.compile-cache)"
fi
# prom-client loads right after ready (the metrics registry): the build's warm-up scrapes /metrics
# so that its code is in the cache as well.
if [ "$(quiet podman exec "$RUN-camera" node -p 'typeof require("node:module").getCompileCacheDir')" = function ]; then
  if accepted=$(podman exec -e NODE_DEBUG_NATIVE=COMPILE_CACHE "$RUN-camera" node -e 'require("prom-client")' 2>&1 |
    grep -c 'was accepted') && [ "$accepted" -gt 0 ]; then
    pass "camera: prom-client's code is in the image's compile cache ($accepted modules accepted)"
  else
    fail "camera: prom-client's code is not in the image's compile cache (warm-compile-cache.js scrapes /metrics)"
  fi
fi

# The main thread's and the receive thread's bundles run from the V8 code caches the build
# stage's training run made (same Node as the runtime stage; src/shared/bundle-loader.ts). The
# main thread says so in its `starting` line.
main_cache=$(logs_of "$RUN-camera" | { grep -m1 '"msg":"starting"' || true; } | sed -n 's/.*"codeCache":"\([a-z-]*\)".*/\1/p')
if [ "$main_cache" = used ]; then
  pass "camera: the main thread's bundle runs from its code cache (starting: codeCache used)"
else
  fail "camera: the main thread's bundle did not use its code cache (got: ${main_cache:-nothing})"
fi
# A receive thread started early loads its bundle the same way.
bundle_cache=$(quiet podman exec "$RUN-camera" node -e '
  const { Worker } = require("node:worker_threads")
  const w = new Worker("require(\"node:worker_threads\").parentPort.postMessage(require(\"/app/dist/workers/receive.js\").codeCache)", { eval: true, workerData: { early: true } })
  w.on("message", (m) => { if (typeof m === "string") { console.log(m); w.terminate() } })')
if [ "$bundle_cache" = used ]; then
  pass "camera: the receive thread's bundle runs from its code cache (read-only root)"
else
  fail "camera: the receive thread's bundle did not use its code cache (got: ${bundle_cache:-nothing})"
fi

# --- a derived image with a service of the user's own (the README's Docker recipe) -------------
echo "== image check: a derived image that adds a service importing zmq-container by name"
derived_ctx=$(mktemp -d /tmp/$RUN-derived.XXXXXX)
cp test/fixtures/by-name/greeter.js "$derived_ctx/my-service.js"
cat >"$derived_ctx/Dockerfile" <<DOCKERFILE
FROM $IMAGE
COPY my-service.js /app/services/
ENV ZC_SERVICE=/app/services/my-service.js
DOCKERFILE
if quiet podman build -q --layers=false --format docker -t "$DERIVED" "$derived_ctx" >/dev/null &&
  quiet podman run -d --name "$RUN-derived" --network "$NET" "${HARDENING[@]}" \
    -e ZMQ_SUB_ENDPOINT=tcp://camera:5555 -e ZMQ_SUB_TOPICS=camera.frame "$DERIVED" >/dev/null &&
  wait_log "$RUN-derived" '"msg":"handled by a service that imports zmq-container"' 30; then
  pass "derived image: /app/services/my-service.js requires 'zmq-container/service' and its handler runs"
  check_stop "$RUN-derived" derived
else
  fail "derived image with a service importing zmq-container by name"
  show_logs "$RUN-derived"
fi

# --- a project made by `zmq-container init`, from its own Dockerfile ----------------------------
# The generated Dockerfile builds FROM node:24-bookworm-slim (the base image made above) and
# installs zmq-container from package.json: here the packed tarball, copied into the build
# context as a file: dependency, since this machine has no published package to fetch.
echo "== image check: a project made by zmq-container init, built from its generated Dockerfile"
init_ctx=$(mktemp -d /tmp/$RUN-init.XXXXXX)
app=$init_ctx/my-service
if npm pack --silent --pack-destination "$init_ctx" >/tmp/$RUN-init.log 2>&1 &&
  node dist/main.js init "$app" --sub camera.frame >>/tmp/$RUN-init.log 2>&1 &&
  mv "$init_ctx"/zmq-container-*.tgz "$app/" &&
  (cd "$app" && npm install --prefer-offline --no-audit --no-fund ./zmq-container-*.tgz) >>/tmp/$RUN-init.log 2>&1 &&
  podman build -q --layers=false --format docker "${PODMAN_BUILD_FLAGS[@]}" -t "$INIT_IMAGE" "$app" >>/tmp/$RUN-init.log 2>&1; then
  pass "zmq-container init: the generated Dockerfile builds (FROM node:$NODE_MAJOR-bookworm-slim, the packed tarball as its dependency)"
  if quiet podman run -d --name "$RUN-init" --network "$NET" "${HARDENING[@]}" --env-file "$app/.env" \
    -e ZMQ_SUB_ENDPOINT=tcp://camera:5555 "$INIT_IMAGE" >/dev/null &&
    wait_log "$RUN-init" '"topic":"camera.frame".*"msg":"handled"' 30; then
    pass "zmq-container init: the generated service's handler runs on the camera's frames"
    check_stop "$RUN-init" init "to node (no tini in the generated image)"
  else
    fail "zmq-container init: the generated service's handler on the camera's frames"
    show_logs "$RUN-init"
  fi
else
  tail -30 /tmp/$RUN-init.log
  fail "zmq-container init: the generated project's Dockerfile does not build"
fi
rm -f /tmp/$RUN-init.log

check_stop "$RUN-dashboard" dashboard
check_stop "$RUN-camera" camera

# --- compose.yaml as written -------------------------------------------------------------------
echo "== image check: podman-compose up -d of compose.yaml"
if ! command -v podman-compose >/dev/null; then
  fail "podman-compose is not installed (Debian package podman-compose; .ci/run installs it)"
else
  # compose.yaml builds its image when absent; podman-compose cannot pass the build the CA
  # bundle this machine's npm needs, so it gets the image just built, under compose's name.
  podman tag "$IMAGE" "$COMPOSE_IMAGE"
  if podman-compose -p "$RUN" -f compose.yaml up -d >/tmp/$RUN-compose.log 2>&1; then
    healthy=0
    for service in camera dashboard; do
      name=$(podman ps -a --filter "label=io.podman.compose.project=$RUN" \
        --filter "label=com.docker.compose.service=$service" --format '{{.Names}}' | head -1)
      if [ -n "$name" ] && wait_healthy "$name" 40 &&
        [ "$(podman inspect --format '{{.State.Health.Status}}' "$name")" = healthy ]; then
        healthy=$((healthy + 1))
      else
        fail "compose: $service ($name) is not healthy (compose's check: /readyz)"
        [ -n "$name" ] && show_logs "$name"
      fi
    done
    [ "$healthy" = 2 ] && pass "compose: camera and dashboard reach healthy (/readyz)"
  else
    fail "podman-compose up -d"
    tail -20 /tmp/$RUN-compose.log | sed 's/^/  /'
  fi
  rm -f /tmp/$RUN-compose.log
fi

echo "image check: $failures failed; $(($(now_ms) - started_ms)) ms in all"
[ "$failures" = 0 ]
