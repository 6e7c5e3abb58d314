#!/bin/sh
# Hook: when the kernel offers IPv6, the shipped default server also listens on [::]:80. A user's
# own default.conf (changed, or mounted over the shipped one) is theirs and stays as it is.
set -e

conf=/etc/nginx/conf.d/default.conf
shipped=/usr/share/nginx/default.conf.dist
me=${0##*/}

say() {
	[ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || printf '%s: %s\n' "$me" "$*"
}

if [ ! -e /proc/net/if_inet6 ]; then
	say "no IPv6 in this kernel: $conf stays IPv4 only"
	exit 0
fi
if [ ! -f "$conf" ]; then
	say "no $conf: nothing to change"
	exit 0
fi
if ! cmp -s "$conf" "$shipped"; then
	say "$conf is not the shipped one: left as it is"
	exit 0
fi

# the shipped file has exactly one "listen 80;" line: an IPv6 twin goes right after it
with_v6=$(awk '{ print } /^[[:space:]]*listen[[:space:]]+80;/ { sub(/listen.*/, "listen [::]:80;"); print }' "$conf")
# written in place, not renamed over: the file may be a bind mount
if printf '%s\n' "$with_v6" 2>/dev/null >"$conf"; then
	say "$conf: added listen [::]:80"
else
	say "$conf cannot be written (read-only?): IPv4 only"
fi
