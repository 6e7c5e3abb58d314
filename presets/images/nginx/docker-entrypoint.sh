#!/bin/sh
# Entrypoint of mayfly's nginx look-alike. README.md beside this file is the contract it keeps.
set -e

HOOK_DIR=/docker-entrypoint.d

say() {
	[ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || printf '%s: %s\n' "$0" "$*"
}

# Runs or sources each hook in version order. The list is read from a file, not a pipe: a pipe
# would put the loop in a subshell, and what a sourced *.envsh exports must reach nginx.
run_hooks() {
	hooks=$(mktemp)
	find -L "$HOOK_DIR" -type f 2>/dev/null | sort -V >"$hooks"
	[ -s "$hooks" ] || say "no hooks in $HOOK_DIR"
	while IFS= read -r hook; do
		case "$hook" in
		*.envsh | *.sh) ;;
		*)
			say "skipping $hook: hooks are *.sh (run) or *.envsh (sourced)"
			continue
			;;
		esac
		if [ ! -x "$hook" ]; then
			say "skipping $hook: not executable"
			continue
		fi
		case "$hook" in
		*.envsh)
			say "sourcing $hook"
			# shellcheck disable=SC1090
			. "$hook"
			;;
		*)
			say "running $hook"
			status=0
			"$hook" </dev/null || status=$?
			if [ "$status" -ne 0 ]; then
				rm -f "$hooks"
				printf '%s: %s failed (exit %s); not starting nginx\n' "$0" "$hook" "$status" >&2
				exit "$status"
			fi
			;;
		esac
	done <"$hooks"
	rm -f "$hooks"
	say "Configuration complete; ready for start up"
}

case "${1-}" in
nginx | nginx-debug) run_hooks ;;
esac

exec "$@"
