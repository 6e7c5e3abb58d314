#!/bin/sh
# The official nginx image's entrypoint contract: when the command is nginx, run the configuration
# scripts in /docker-entrypoint.d/ in version order (*.sh executed, *.envsh sourced), then exec the
# command. NGINX_ENTRYPOINT_QUIET_LOGS=1 silences this script's own lines.
set -e

entrypoint_log() {
    if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
        echo "$@"
    fi
}

# nginx's log files are links to /dev/stdout and /dev/stderr, which can be opened when they are
# pipes (as Docker gives them) but not when they are sockets (as mayfly's runtime gives them for
# now: open() fails with ENXIO). Then relay each through a FIFO that can be opened, copied to the
# original by a `cat` in the background. Where stdout and stderr are pipes this does nothing.
relay_stdio_if_sockets() {
    relay_dir=
    if ! ( : >> "/proc/$$/fd/1" ) 2>/dev/null; then
        relay_dir=$(mktemp -d)
        mkfifo "$relay_dir/stdout"
        cat "$relay_dir/stdout" &
        exec > "$relay_dir/stdout"
    fi
    if ! ( : >> "/proc/$$/fd/2" ) 2>/dev/null; then
        relay_dir=${relay_dir:-$(mktemp -d)}
        mkfifo "$relay_dir/stderr"
        cat "$relay_dir/stderr" >&2 &
        exec 2> "$relay_dir/stderr"
    fi
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if [ -n "$(find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f -print -quit 2>/dev/null)" ]; then
        entrypoint_log "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        entrypoint_log "$0: Looking for shell scripts in /docker-entrypoint.d/"
        scripts=$(mktemp)
        find /docker-entrypoint.d/ -follow -type f -print | sort -V > "$scripts"
        # read from a file, not a pipe: a sourced *.envsh must change this shell's environment
        while read -r f; do
            case "$f" in
                *.envsh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Sourcing $f"
                        . "$f"
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi
                    ;;
                *.sh)
                    if [ -x "$f" ]; then
                        entrypoint_log "$0: Launching $f"
                        "$f" < /dev/null
                    else
                        entrypoint_log "$0: Ignoring $f, not executable"
                    fi
                    ;;
                *) entrypoint_log "$0: Ignoring $f" ;;
            esac
        done < "$scripts"
        rm -f "$scripts"
        entrypoint_log "$0: Configuration complete; ready for start up"
    else
        entrypoint_log "$0: No files found in /docker-entrypoint.d/, skipping configuration"
    fi
    relay_stdio_if_sockets
fi

exec "$@"
