#!/usr/bin/env bash
# Entrypoint of mayfly's MariaDB look-alike (published as `mariadb` and as `mysql`). README.md
# beside this file is the contract it keeps (settings, first-start initialisation, users, signals,
# the log lines others wait for).
set -Eeo pipefail
shopt -s nullglob

INIT_DIR=/docker-entrypoint-initdb.d

note() { printf 'mariadb-entrypoint: %s\n' "$*"; }
fail() {
	printf 'mariadb-entrypoint: error: %s\n' "$*" >&2
	exit 1
}

# setting VAR NAME...: VAR gets the value of the first NAME that is set, or of the file its
# NAME_FILE names; every NAME is then exported with that value (scripts written for either image
# find theirs) and every NAME_FILE unset. A NAME set together with its NAME_FILE is refused.
setting() {
	local target=$1 value= found= name file
	shift
	for name in "$@"; do
		file=${name}_FILE
		if [[ -n ${!name-} && -n ${!file-} ]]; then
			fail "$name and $file are both set: give one of them"
		fi
		if [[ -z $found && -n ${!name-} ]]; then
			value=${!name} found=1
		elif [[ -z $found && -n ${!file-} ]]; then
			[[ -r ${!file} ]] || fail "$file names ${!file}, which cannot be read"
			value=$(<"${!file}") found=1
		fi
		unset "$file"
	done
	for name in "$@"; do
		export "$name=$value"
	done
	printf -v "$target" '%s' "$value"
}

load_settings() {
	setting root_password MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
	setting allow_empty MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD
	setting random_root MARIADB_RANDOM_ROOT_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD
	setting root_host MARIADB_ROOT_HOST MYSQL_ROOT_HOST
	setting database MARIADB_DATABASE MYSQL_DATABASE
	setting app_user MARIADB_USER MYSQL_USER
	setting app_password MARIADB_PASSWORD MYSQL_PASSWORD
	root_host=${root_host:-%}
}

# true when the arguments only ask the server for information
informational() {
	local arg
	for arg in "$@"; do
		case $arg in -V | --version | -'?' | --help) return 0 ;; esac
	done
	return 1
}

# server_option NAME FALLBACK ARG...: --NAME's value as the server will see it: its config files
# (the groups mariadbd reads), overridden by its arguments
server_option() {
	local name=$1 value=$2 arg
	shift 2
	while IFS= read -r arg; do
		[[ $arg == --$name=* ]] && value=${arg#*=}
	done < <(my_print_defaults --mysqld)
	for arg in "$@"; do
		[[ $arg == --$name=* ]] && value=${arg#*=}
	done
	printf '%s\n' "$value"
}

# As root: the datadir and the socket's directory become mysql's, then this script runs again as
# mysql (setpriv execs). Settings read from *_FILE travel in the environment.
become_mysql() {
	mkdir -p "$datadir" "$socket_dir"
	find "$datadir" "$socket_dir" \! -user mysql -exec chown mysql: {} +
	exec setpriv --reuid=mysql --regid=mysql --init-groups -- "${BASH_SOURCE[0]}" "$@"
}

check_settings() {
	if [[ -z $root_password && -z $allow_empty && -z $random_root ]]; then
		printf '%s\n' \
			"mariadb-entrypoint: error: $datadir holds no databases yet, and creating them needs a decision about root's password." \
			"  Set one of MARIADB_ROOT_PASSWORD / MYSQL_ROOT_PASSWORD (or their *_FILE), MARIADB_RANDOM_ROOT_PASSWORD /" \
			"  MYSQL_RANDOM_ROOT_PASSWORD (a generated one, printed once) or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD /" \
			"  MYSQL_ALLOW_EMPTY_PASSWORD (root without a password: unsafe)." >&2
		exit 1
	fi
	[[ $app_user == root ]] && fail "MYSQL_USER / MARIADB_USER cannot be root: root is set up by the *_ROOT_* settings"
	if [[ -n $app_user && -z $app_password ]]; then
		fail "MYSQL_USER / MARIADB_USER ($app_user) is set but MYSQL_PASSWORD / MARIADB_PASSWORD is not: the user needs a password"
	fi
	if [[ -z $root_password && -n $random_root ]]; then
		root_password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
		printf 'GENERATED ROOT PASSWORD: %s\n' "$root_password"
	fi
	if [[ -z $root_password ]]; then
		note "root has no password (MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MYSQL_ALLOW_EMPTY_PASSWORD): whoever reaches the port is root"
	fi
	return 0
}

create_system_tables() {
	local out
	note "creating the system tables in $datadir"
	# its advice about passwords is taken care of below: shown only if it fails
	if ! out=$(mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "mariadb-install-db failed"
	fi
}

# a string literal and a name in SQL
sql_string() {
	local s=${1//\\/\\\\}
	printf "'%s'" "${s//\'/\\\'}"
}
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

# the client as root over the socket (in the database, once it exists); also the name sourced
# init scripts written for the official images call
docker_process_sql() {
	local args=(--protocol=socket --socket="$socket" --user=root)
	[[ -n $client_database ]] && args+=(--database="$client_database")
	# the password travels in the environment of this one process, not on its command line
	MYSQL_PWD=$client_password mariadb "${args[@]}" "$@"
}

# The server during initialisation: the socket only (--skip-networking), so a client that connects
# over TCP reaches the final server. It prints its own "ready for connections" (with port 0).
start_private_server() {
	"$@" --skip-networking --socket="$socket" &
	private_pid=$!
	local tries
	for ((tries = 0; tries < 300; tries++)); do
		if docker_process_sql --execute='SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$private_pid" 2>/dev/null || fail "the server stopped during initialisation (its messages are above)"
		sleep 0.1
	done
	fail "the server did not answer on $socket within 30 s"
}

stop_private_server() {
	kill -TERM "$private_pid"
	wait "$private_pid" || fail "the temporary server did not stop cleanly"
}

# root, the database and the user, as the settings say; nobody else may log in
apply_settings() {
	local pw
	pw=$(sql_string "$root_password")
	{
		# accounts mariadb-install-db makes that the settings do not ask for: anonymous ones,
		# root at other hosts
		echo "SET @drop = (SELECT CONCAT('DROP USER ', GROUP_CONCAT(QUOTE(User), '@', QUOTE(Host)))
			FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost'));"
		echo "EXECUTE IMMEDIATE COALESCE(@drop, 'DO 0');"
		echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $pw;"
		if [[ $root_host != localhost ]]; then
			echo "CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $pw;"
			echo "GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
		fi
		if [[ -n $database ]]; then
			echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$database");"
		fi
		if [[ -n $app_user ]]; then
			echo "CREATE USER $(sql_string "$app_user")@'%' IDENTIFIED BY $(sql_string "$app_password");"
			[[ -n $database ]] && echo "GRANT ALL ON $(sql_name "$database").* TO $(sql_string "$app_user")@'%';"
		fi
		echo "FLUSH PRIVILEGES;"
	} | docker_process_sql
	client_password=$root_password
	client_database=$database
	[[ -n $database ]] && note "created database $database"
	[[ -n $app_user ]] && note "created user $app_user${database:+ with every privilege on $database}"
	return 0
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
	*.sql) note "init: client < $file" && docker_process_sql <"$file" ;;
	*.sql.gz) note "init: client < gunzip $file" && gzip -dc -- "$file" | docker_process_sql ;;
	*.sql.xz) note "init: client < unxz $file" && xz -dc -- "$file" | docker_process_sql ;;
	*) note "init: skipping $file (not *.sh, *.sql, *.sql.gz or *.sql.xz)" ;;
	esac
}

initialise() {
	check_settings
	[[ ! -e $INIT_DIR || -r $INIT_DIR ]] || fail "$INIT_DIR cannot be read by $(id -un)"
	create_system_tables "${@:2}"
	client_password='' client_database=''
	start_private_server "$@"
	apply_settings
	local file
	for file in "$INIT_DIR"/*; do
		run_init_file "$file"
	done
	stop_private_server
	printf '\nMariaDB init process done. Ready for start up.\n\n'
}

main() {
	[[ ${1-} == -* ]] && set -- mariadbd "$@"
	case ${1-} in
	mariadbd | mysqld) ;;
	*) exec "$@" ;;
	esac
	informational "$@" && exec "$@"
	load_settings
	datadir=$(server_option datadir /var/lib/mysql "${@:2}")
	socket=$(server_option socket /run/mysqld/mysqld.sock "${@:2}")
	socket_dir=$(dirname "$socket")
	((EUID == 0)) && become_mysql "$@"
	if [[ -d $datadir/mysql ]]; then
		note "$datadir already holds databases: starting them without initialisation"
	else
		initialise "$@"
	fi
	exec "$@"
}

main "$@"
