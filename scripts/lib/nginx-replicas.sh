# Sourced by the scripts that put `smallmind serve` replicas behind nginx on loopback
# (scale-out-check.sh, batch-bench.sh): installs Debian's nginx when missing, sets NGINX, and makes
# a work folder ($work) whose processes ($pids, and nginx by its pid file) are stopped on exit.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx (Debian's package)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
        || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null)
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
