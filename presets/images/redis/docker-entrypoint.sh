#!/bin/sh
# Entrypoint of mayfly's redis look-alike. README.md beside this file is the contract it keeps.
set -eu

# true when the server's arguments set protected-mode themselves: on the command line, or in the
# config file that comes first
chooses_protected_mode() {
	for word in "$@"; do
		[ "$word" = --protected-mode ] && return 0
	done
	case "${1-}" in
	-* | '') return 1 ;;
	esac
	[ -r "$1" ] && grep -Eqi '^[[:space:]]*protected-mode[[:space:]]' "$1"
}

case "${1-}" in
-* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1-}" = redis-server ]; then
	shift
	if ! chooses_protected_mode "$@"; then
		# after the config file, if one comes first: redis-server wants it there
		if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
			conf=$1
			shift
			set -- "$conf" --protected-mode no "$@"
		else
			set -- --protected-mode no "$@"
		fi
	fi
	set -- redis-server "$@"
	if [ "$(id -u)" = 0 ]; then
		find . ! -user redis -exec chown redis: {} +
		exec setpriv --reuid=redis --regid=redis --init-groups -- "$0" "$@"
	fi
	# what redis writes is its user's alone, unless the user chose a umask other than Docker's
	if [ "$(umask)" = 0022 ]; then
		umask 0077
	fi
fi

exec "$@"
