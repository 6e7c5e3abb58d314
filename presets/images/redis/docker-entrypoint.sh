#!/bin/sh
# The official redis image's entrypoint contract:
#   - `docker run redis --appendonly yes` and `docker run redis /my/redis.conf` run redis-server;
#   - started as root, redis-server runs as the redis user, owning the files in /data;
#   - protected mode is off unless a config file or the arguments turn it on (upstream builds
#     redis with that default; Debian's keeps "yes", so say "no" on the command line).
set -e

# first arg is `-f` or `--some-option`, or a config file
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ]; then
	shift
	# a config file must stay the first argument; options given after it override it
	conf=
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		conf="$1"
		shift
	fi
	protected=no
	if [ -n "$conf" ] && [ -r "$conf" ] && grep -Eqi '^[[:space:]]*protected-mode[[:space:]]' "$conf"; then
		protected=
	fi
	case " $* " in
		*' --protected-mode '*) protected= ;;
	esac
	set -- ${protected:+--protected-mode "$protected"} "$@"
	if [ -n "$conf" ]; then
		set -- "$conf" "$@"
	fi
	set -- redis-server "$@"

	if [ "$(id -u)" = '0' ]; then
		find . \! -user redis -exec chown redis '{}' +
		exec gosu redis "$0" "$@"
	fi
fi

# as upstream: the files redis writes (dump.rdb, appendonly) are private unless the umask is set
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi

exec "$@"
