#!/bin/sh
# As upstream: when the kernel has IPv6, the packaged default server also listens on [::]:80 —
# only if default.conf is still the packaged one and can be changed (a mounted one is left alone).
set -e

ME=$(basename "$0")
DEFAULT_CONF_FILE="etc/nginx/conf.d/default.conf"
PACKAGED_CONF_FILE="usr/share/nginx/default.conf.dist"

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

if [ ! -f "/proc/net/if_inet6" ]; then
    entrypoint_log "$ME: info: ipv6 not available"
    exit 0
fi
if [ ! -f "/$DEFAULT_CONF_FILE" ]; then
    entrypoint_log "$ME: info: /$DEFAULT_CONF_FILE is not a file or does not exist"
    exit 0
fi
if ! cmp -s "/$DEFAULT_CONF_FILE" "/$PACKAGED_CONF_FILE"; then
    entrypoint_log "$ME: info: /$DEFAULT_CONF_FILE differs from the packaged version"
    exit 0
fi
tmp=$(mktemp)
sed 's,listen       80;,listen       80;\n    listen  [::]:80;,' "/$DEFAULT_CONF_FILE" > "$tmp"
# write in place: the file may be a mount point that a rename would fail on
if cat "$tmp" > "/$DEFAULT_CONF_FILE" 2>/dev/null; then
    entrypoint_log "$ME: info: Enabled listen on IPv6 in /$DEFAULT_CONF_FILE"
else
    entrypoint_log "$ME: info: can not modify /$DEFAULT_CONF_FILE (read-only file system?)"
fi
rm -f "$tmp"
exit 0
