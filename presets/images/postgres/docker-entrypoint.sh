#!/usr/bin/env bash
# The official postgres image's entrypoint contract, for Debian's packages:
#   - `docker run postgres -c x=y` means `postgres -c x=y`;
#   - started as root: make $PGDATA and the socket dir the postgres user's, then re-run as postgres;
#   - an empty $PGDATA: initdb (superuser $POSTGRES_USER with $POSTGRES_PASSWORD), password auth
#     for TCP clients, then a temporary server on the Unix socket only creates $POSTGRES_DB and runs
#     /docker-entrypoint-initdb.d/* (*.sh, *.sql, *.sql.gz, *.sql.xz), and stops;
#   - then the real server starts (listen_addresses='*', from postgresql.conf.sample).
# Every setting X may come from a file named by X_FILE (Docker secrets).
set -Eeo pipefail

# file_env VAR [DEFAULT]: VAR from $VAR, or from the file $VAR_FILE names, or DEFAULT
file_env() {
	local var="$1"
	local fileVar="${var}_FILE"
	local def="${2:-}"
	if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$fileVar"
		exit 1
	fi
	local val="$def"
	if [ "${!var:-}" ]; then
		val="${!var}"
	elif [ "${!fileVar:-}" ]; then
		val="$(< "${!fileVar}")"
	fi
	export "$var"="$val"
	unset "$fileVar"
}

setup_env() {
	file_env 'POSTGRES_PASSWORD'
	file_env 'POSTGRES_USER' 'postgres'
	file_env 'POSTGRES_DB' "$POSTGRES_USER"
	file_env 'POSTGRES_INITDB_ARGS'
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS='true'
	fi
}

create_db_directories() {
	local user
	user="$(id -u)"
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$user" = '0' ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$user" = '0' ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

verify_minimum_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ 'trust' != "$POSTGRES_HOST_AUTH_METHOD" ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOM
		exit 1
	fi
	if [ 'trust' = "$POSTGRES_HOST_AUTH_METHOD" ]; then
		cat >&2 <<-'EOM'
			********************************************************************************
			WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
			         anyone with access to the Postgres port to access your database without
			         a password, even if POSTGRES_PASSWORD is set.
			********************************************************************************
		EOM
	fi
}

init_database_dir() {
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		set -- --waldir "$POSTGRES_INITDB_WALDIR" "$@"
	fi
	# shellcheck disable=SC2086
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS "$@"
}

# TCP clients authenticate with the method password_encryption implies (scram-sha-256), unless
# POSTGRES_HOST_AUTH_METHOD says otherwise; the Unix socket inside the container stays trusted.
# Unlike upstream this covers initdb's 127.0.0.1 and ::1 lines too (unless POSTGRES_INITDB_ARGS
# chose a method): published ports arrive on loopback inside the container's network namespace, and
# must ask for the password as Docker's published ports do.
setup_hba_conf() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi
	local auth="$POSTGRES_HOST_AUTH_METHOD"
	if [ -z "$auth" ]; then
		auth="$(postgres -C password_encryption "$@")"
	fi
	case " $POSTGRES_INITDB_ARGS " in
		*' --auth'*|*' -A'*) ;;
		*) sed -ri "s/^(host\s.*\s)trust\s*$/\1$auth/" "$PGDATA/pg_hba.conf" ;;
	esac
	{
		printf '\n'
		printf 'host all all all %s\n' "$auth"
	} >> "$PGDATA/pg_hba.conf"
}

temp_server_start() {
	if [ "$1" = 'postgres' ]; then
		shift
	fi
	# only the Unix socket: nobody connects before initialisation is done
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# psql as the superuser over the socket, stopping at the first error
process_sql() {
	local query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "$POSTGRES_DB" ]; then
		query_runner+=(--dbname "$POSTGRES_DB")
	fi
	PGHOST= PGHOSTADDR= "${query_runner[@]}" "$@"
}

setup_db() {
	local dbAlreadyExists
	dbAlreadyExists="$(POSTGRES_DB= process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)"
	if [ -z "$dbAlreadyExists" ]; then
		POSTGRES_DB= process_sql --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
		printf '\n'
	fi
}

process_init_files() {
	printf '\n'
	local f
	for f; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					printf '%s: running %s\n' "$0" "$f"
					"$f"
				else
					printf '%s: sourcing %s\n' "$0" "$f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)    printf '%s: running %s\n' "$0" "$f"; process_sql -f "$f"; printf '\n' ;;
			*.sql.gz) printf '%s: running %s\n' "$0" "$f"; gunzip -c "$f" | process_sql; printf '\n' ;;
			*.sql.xz) printf '%s: running %s\n' "$0" "$f"; xzcat "$f" | process_sql; printf '\n' ;;
			*)        printf '%s: ignoring %s\n' "$0" "$f" ;;
		esac
		printf '\n'
	done
}

main() {
	# `docker run postgres -c fsync=off` is `postgres -c fsync=off`
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = 'postgres' ] && ! has_help_arg "$@"; then
		setup_env
		create_db_directories
		if [ "$(id -u)" = '0' ]; then
			exec gosu postgres "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			verify_minimum_env
			# a readable listing now, rather than "permission denied" halfway through initialisation
			ls /docker-entrypoint-initdb.d/ > /dev/null

			init_database_dir
			setup_hba_conf "$@"

			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start "$@"
			setup_db
			process_init_files /docker-entrypoint-initdb.d/*
			temp_server_stop
			unset PGPASSWORD

			printf '\nPostgreSQL init process complete; ready for start up.\n\n'
		else
			printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
		fi
	fi

	exec "$@"
}

has_help_arg() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--describe-config|-V|--version) return 0 ;;
		esac
	done
	return 1
}

main "$@"
