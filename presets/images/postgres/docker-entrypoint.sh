#!/usr/bin/env bash
# Entrypoint of mayfly's postgres look-alike. README.md beside this file is the contract it keeps
# (settings, first-start initialisation, users, signals, the log lines others wait for).
set -Eeo pipefail
shopt -s nullglob

INIT_DIR=/docker-entrypoint-initdb.d
SOCKET_DIR=/var/run/postgresql

note() { printf 'postgres-entrypoint: %s\n' "$*"; }
fail() {
	printf 'postgres-entrypoint: error: %s\n' "$*" >&2
	exit 1
}

# setting NAME [FALLBACK]: exports NAME from the environment, or from the file NAME_FILE points at
setting() {
	local name=$1 fallback=${2-} file_var="$1_FILE"
	local value=${!name-} file=${!file_var-}
	if [[ -n $value && -n $file ]]; then
		fail "$name and $file_var are both set: give one of them"
	fi
	if [[ -n $file ]]; then
		[[ -r $file ]] || fail "$file_var names $file, which cannot be read"
		value=$(<"$file")
	fi
	export "$name=${value:-$fallback}"
	unset "$file_var"
}

load_settings() {
	setting POSTGRES_PASSWORD
	setting POSTGRES_USER postgres
	setting POSTGRES_DB "$POSTGRES_USER"
	setting POSTGRES_INITDB_ARGS
	export POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD-}
}

# true when the arguments only ask the server for information (version, help, settings)
informational() {
	local arg
	for arg in "$@"; do
		case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
	done
	return 1
}

has_cluster() { [[ -s $PGDATA/PG_VERSION ]]; }

# As root: the directories the server writes to become postgres's, then this script runs again as
# postgres (setpriv execs: no process is left in between). The settings read from *_FILE travel in
# the environment, so a secret only root can read still reaches the second run.
become_postgres() {
	local dir
	for dir in "$PGDATA" "$SOCKET_DIR" ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"}; do
		mkdir -p "$dir"
		find "$dir" \! -user postgres -exec chown postgres: {} +
	done
	chmod 0700 "$PGDATA"
	chmod 03775 "$SOCKET_DIR"
	HOME=$(getent passwd postgres | cut -d: -f6) exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
}

# As the user the container runs as: what it can set up itself
prepare_own_dirs() {
	mkdir -p "$PGDATA"
	chmod 0700 "$PGDATA" 2>/dev/null || true
	mkdir -p "$SOCKET_DIR" 2>/dev/null || true
}

require_password() {
	if [[ $POSTGRES_HOST_AUTH_METHOD == trust ]]; then
		note "POSTGRES_HOST_AUTH_METHOD=trust: every client that reaches the port logs in without a password"
		return
	fi
	[[ -n $POSTGRES_PASSWORD ]] && return
	printf '%s\n' \
		"postgres-entrypoint: error: $PGDATA holds no database yet, and a new one needs a superuser password." \
		"  Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to one, e.g. -e POSTGRES_PASSWORD=secret," \
		"  or set POSTGRES_HOST_AUTH_METHOD=trust to let every client in without a password (unsafe)." >&2
	exit 1
}

create_cluster() {
	local args=(--username="$POSTGRES_USER")
	# the password goes in on fd 3, never on a command line
	[[ -n $POSTGRES_PASSWORD ]] && args+=(--pwfile=/dev/fd/3)
	[[ -n ${POSTGRES_INITDB_WALDIR-} ]] && args+=(--waldir="$POSTGRES_INITDB_WALDIR")
	note "creating a cluster in $PGDATA for superuser $POSTGRES_USER"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words
	initdb "${args[@]}" $POSTGRES_INITDB_ARGS 3<<<"$POSTGRES_PASSWORD"
}

# The method TCP clients authenticate with: POSTGRES_HOST_AUTH_METHOD, or the one the server hashes
# passwords for (the user's `-c password_encryption=…` counts)
tcp_auth_method() {
	if [[ -n $POSTGRES_HOST_AUTH_METHOD ]]; then
		printf '%s\n' "$POSTGRES_HOST_AUTH_METHOD"
	else
		postgres -C password_encryption "$@"
	fi
}

write_hba() {
	local auth hba="$PGDATA/pg_hba.conf"
	auth=$(tcp_auth_method "$@")
	case " $POSTGRES_INITDB_ARGS " in
	*' -A'* | *' --auth'*)
		# the user chose methods for initdb's rules: keep them, and cover every other address
		printf '\n# added by the entrypoint: all other addresses\nhost all all all %s\n' "$auth" >>"$hba"
		;;
	*)
		cat >"$hba" <<-EOF
			# written by the entrypoint: inside the container the socket needs no password; over
			# TCP, loopback included (published ports arrive there), every client authenticates
			local all all trust
			local replication all trust
			host all all all $auth
			host replication all all $auth
		EOF
		;;
	esac
}

# The server during initialisation: on the Unix socket only, so that no TCP client gets in early
start_private_server() {
	local opts
	printf -v opts '%q ' "$@" -c listen_addresses= -p "${PGPORT:-5432}"
	pg_ctl --pgdata="$PGDATA" --options="$opts" --wait start
}

stop_private_server() {
	pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop
}

# psql as the superuser over the socket, in POSTGRES_DB, stopping at the first error; also the name
# sourced init scripts written for the official image call
docker_process_sql() {
	PGHOST= PGHOSTADDR= psql --no-psqlrc --no-password -v ON_ERROR_STOP=1 \
		--username="$POSTGRES_USER" --dbname="$POSTGRES_DB" "$@"
}

create_app_database() {
	local exists
	exists=$(docker_process_sql --dbname=postgres --tuples-only --no-align --set=name="$POSTGRES_DB" \
		<<<"SELECT 1 FROM pg_database WHERE datname = :'name';")
	if [[ -z $exists ]]; then
		note "creating database $POSTGRES_DB"
		docker_process_sql --dbname=postgres --quiet --set=name="$POSTGRES_DB" <<<'CREATE DATABASE :"name";'
	fi
}

run_init_file() {
	local file=$1
	case $file in
	*.sh)
		if [[ -x $file ]]; then
			note "init: executing $file"
			"$file"
		else
			note "init: sourcing $file"
			# shellcheck disable=SC1090
			. "$file"
		fi
		;;
	*.sql) note "init: psql < $file" && docker_process_sql --file="$file" ;;
	*.sql.gz) note "init: psql < gunzip $file" && gzip -dc -- "$file" | docker_process_sql ;;
	*.sql.xz) note "init: psql < unxz $file" && xz -dc -- "$file" | docker_process_sql ;;
	*) note "init: skipping $file (not *.sh, *.sql, *.sql.gz or *.sql.xz)" ;;
	esac
}

initialise() {
	require_password
	# an unreadable init dir fails here, before initdb, not halfway through
	[[ ! -e $INIT_DIR || -r $INIT_DIR ]] || fail "$INIT_DIR cannot be read by $(id -un)"
	create_cluster
	write_hba "$@"
	export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
	start_private_server "$@"
	create_app_database
	local file
	for file in "$INIT_DIR"/*; do
		run_init_file "$file"
	done
	stop_private_server
	unset PGPASSWORD
	printf '\nPostgreSQL init process complete; ready for start up.\n\n'
}

main() {
	[[ ${1-} == -* ]] && set -- postgres "$@"
	if [[ ${1-} != postgres ]] || informational "$@"; then
		exec "$@"
	fi
	load_settings
	((EUID == 0)) && become_postgres "$@"
	prepare_own_dirs
	shift # initdb, pg_ctl and `postgres -C` get the server's own arguments
	if has_cluster; then
		note "$PGDATA already holds a cluster: starting it without initialisation"
	else
		initialise "$@"
	fi
	exec postgres "$@"
}

main "$@"
