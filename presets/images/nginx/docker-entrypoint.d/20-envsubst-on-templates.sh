#!/bin/sh
# Hook: renders nginx config templates with the container's environment. README.md (one level up)
# states what is rendered where; in short, templates/x.conf.template -> conf.d/x.conf.
set -e

templates=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
templates=${templates%/}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
me=${0##*/}

say() {
	[ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || printf '%s: %s\n' "$me" "$*"
}

[ -d "$templates" ] || exit 0
if [ ! -w "$out" ]; then
	say "cannot write to $out: the templates in $templates are not rendered"
	exit 0
fi

# The variables envsubst may replace, as "${A} ${B} ...": the environment's names (those matching
# NGINX_ENVSUBST_FILTER, when set). Any other $word, nginx's own variables among them, stays.
# awk reads the filter from ENVIRON, so a regex's backslashes arrive as written.
names=$(awk 'BEGIN {
	filter = ENVIRON["NGINX_ENVSUBST_FILTER"]
	for (name in ENVIRON) if (filter == "" || name ~ filter) printf "${%s} ", name
}' </dev/null)

find -L "$templates" -type f -name "*$suffix" | sort | while IFS= read -r template; do
	rel=${template#"$templates"/}
	target=$out/${rel%"$suffix"}
	mkdir -p "$(dirname "$target")"
	envsubst "$names" <"$template" >"$target"
	say "rendered $template to $target"
done
