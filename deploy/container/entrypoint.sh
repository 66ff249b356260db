#!/bin/sh
# The container's entrypoint: picks tpp's configuration the way the old
# proxy's image did, then becomes tpp (exec, so tpp is PID 1 and gets
# SIGTERM itself). See docs/deployment.md#the-container-image.
#
# - /app/config.yaml, when mounted, is the configuration file; without it
#   tpp runs on TPP_* variables alone. Arguments that name a file themselves
#   (--config, -c) are left alone.
# - The health listener defaults to 0.0.0.0:9090, so /healthz answers on
#   9090 as it did, but only when neither TPP_HEALTH_LISTEN nor the file sets
#   one: nothing a mounted file says is overridden.
# Every argument goes to tpp: `IMAGE --check-config`, `IMAGE probe` (the
# HEALTHCHECK), `IMAGE --version`.
set -eu

config_file=/app/config.yaml
names_a_file=no
for arg in "$@"; do
  case $arg in
    -c | -c?* | --config | --config=*) names_a_file=yes ;;
  esac
done

if [ "$names_a_file" = no ] && [ -f "$config_file" ]; then
  set -- --config "$config_file" "$@"
  if [ -z "${TPP_HEALTH_LISTEN+set}" ]; then
    # What the file says, as tpp reads it. A file tpp cannot load gets no
    # default: tpp itself then reports what is wrong with it.
    if configured=$(/usr/bin/tpp --config "$config_file" --check-config 2>/dev/null); then
      case $(printf '%s\n' "$configured" | sed -n 's/^health_listen: *//p') in
        '' | '""') export TPP_HEALTH_LISTEN=0.0.0.0:9090 ;;
      esac
    fi
  fi
elif [ "$names_a_file" = no ]; then
  export TPP_HEALTH_LISTEN="${TPP_HEALTH_LISTEN-0.0.0.0:9090}"
fi

exec /usr/bin/tpp "$@"
