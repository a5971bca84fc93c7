# shellcheck shell=bash
# Process records shared by deploy/local/up, replica and down.
#
# Each process that up or replica starts is recorded as .ferry/pids/NAME
# holding one line "PID START", where START is the process's start time as
# the kernel reports it (/proc/PID/stat field 22, or `ps -o lstart=`
# without /proc). A record whose PID is alive but has another start time
# belongs to an unrelated process that reused the number, and is never
# signalled. NAME is emulator, controller (up's), or controller-N (N >= 2,
# the replicas deploy/local/replica starts).

# Callers set this to prefix their messages ("up: ", "down: ").
LOG_PREFIX=${LOG_PREFIX:-}

# record_names DIR: every record name in stop order: the replicas (newest
# first), up's controller, then the emulator, so that every controller can
# hand its lease back while the emulator (its DynamoDB) still answers.
record_names() {
    local dir=$1 file name
    for file in "$dir"/controller-*; do
        name=${file##*/}
        [[ "$name" =~ ^controller-[0-9]+$ ]] && [ -f "$file" ] && echo "${name#controller-}"
    done | sort -n -r | sed 's/^/controller-/'
    echo controller
    echo emulator
}

# start_detached CMD...: runs CMD in the background in a session of its own
# (the caller redirects its output; $! is its pid). A terminal's Ctrl-C and
# hangup go to the terminal's foreground process group, so they never reach
# it: up stops its processes itself, in order (a controller that got the
# same Ctrl-C as the emulator would hand its lease back to a DynamoDB that
# is already gone). Needs $FERRY_PY, a Python 3. Commands that need a
# subshell first use: ( ...; exec "$FERRY_PY" -c "$FERRY_SETSID" CMD... ) &
start_detached() {
    "$FERRY_PY" -c "$FERRY_SETSID" "$@" &
}
# The Python program start_detached runs: a new session, then exec (same pid).
# shellcheck disable=SC2034  # also used by up, with exec
FERRY_SETSID='import os, sys
try:
    os.setsid()
except OSError:
    pass  # already a process group leader: not in the foreground group either
os.execvp(sys.argv[1], sys.argv[1:])'


# controller_stop_seconds LOCAL_ENV: how long to wait for a controller to
# exit after SIGTERM: its shutdown timeout (FERRY_SHUTDOWN_TIMEOUT in
# LOCAL_ENV, else the controller's default 20s) plus 10 s to hand its lease
# back. Whole seconds, minutes or milliseconds ("20s", "1m", "500ms").
controller_stop_seconds() {
    local env_file=$1 value="" number unit
    if [ -f "$env_file" ]; then
        value=$(sed -n "s/^export FERRY_SHUTDOWN_TIMEOUT='\{0,1\}\([^']*\)'\{0,1\}\$/\1/p" "$env_file" | tail -n 1)
    fi
    value=${value// /}
    if [[ "$value" =~ ^([0-9]+)(ms|s|sec|m|min)?$ ]]; then
        number=${BASH_REMATCH[1]}
        unit=${BASH_REMATCH[2]:-s}
        case "$unit" in
            ms) echo $(((number + 999) / 1000 + 10)) ;;
            m|min) echo $((number * 60 + 10)) ;;
            *) echo $((number + 10)) ;;
        esac
    else
        echo 30
    fi
}

# proc_start PID: an opaque start-time token for PID; empty if unknown.
proc_start() {
    local pid=$1 stat
    if [ -r "/proc/$pid/stat" ]; then
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
        stat=${stat##*) }          # drop "PID (comm) "; comm may hold spaces
        # shellcheck disable=SC2086
        set -- $stat               # $1 is field 3 (state), so field 22 is ${20}
        echo "${20:-}"
    elif command -v ps >/dev/null 2>&1; then
        ps -o lstart= -p "$pid" 2>/dev/null | tr -s ' ' '_' | sed 's/^_//; s/_$//'
    fi
}

# proc_running PID [START]: PID exists, is no zombie, and (when START is
# given and can be checked) started at START.
proc_running() {
    local pid=$1 want=${2:-} state now
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/stat" ]; then
        state=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
        state=${state##*) }
        [ "${state%% *}" != Z ] || return 1
    fi
    if [ -n "$want" ]; then
        now=$(proc_start "$pid")
        [ -z "$now" ] || [ "$now" = "$want" ] || return 1
    fi
    return 0
}

# record_pid DIR NAME PID: write the record for a process just started.
record_pid() {
    local dir=$1 name=$2 pid=$3
    mkdir -p "$dir"
    echo "$pid $(proc_start "$pid")" >"$dir/$name.tmp"
    mv -f "$dir/$name.tmp" "$dir/$name"
}

# read_record DIR NAME: prints "PID START" of a record, or fails.
read_record() {
    local file="$1/$2" pid start
    [ -f "$file" ] || return 1
    read -r pid start <"$file" || [ -n "${pid:-}" ] || return 1
    echo "$pid ${start:-}"
}

# stop_pid PID [START] [LABEL] [SECONDS]: SIGTERM, wait up to SECONDS
# (default 10), then SIGKILL.
stop_pid() {
    local pid=$1 start=${2:-} label=${3:-process} seconds=${4:-10} i
    proc_running "$pid" "$start" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < seconds * 10; i++)); do
        proc_running "$pid" "$start" || return 0
        sleep 0.1
    done
    echo "${LOG_PREFIX}stopping $label (pid $pid): no exit $seconds s after SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        proc_running "$pid" "$start" || return 0
        sleep 0.1
    done
    echo "${LOG_PREFIX}stopping $label (pid $pid): still running after SIGKILL" >&2
    return 1
}

# running_records DIR: prints "NAME PID" for every record whose process runs.
running_records() {
    local dir=$1 name rec pid start
    for name in $(record_names "$dir"); do
        rec=$(read_record "$dir" "$name") || continue
        read -r pid start <<<"$rec"
        if proc_running "$pid" "$start"; then
            echo "$name $pid"
        fi
    done
}

# stop_records DIR [PID...]: stop recorded processes in record_names order
# and remove their records. With PIDs, only records holding one of them are
# touched: an up cleaning up after itself never stops what a later up
# started. Controllers get controller_stop_seconds (from DIR/../local.env),
# the emulator 10 s. Prints one line per process stopped. Fails if one
# survives.
stop_records() {
    local dir=$1 name rec pid start rc=0 seconds
    shift
    for name in $(record_names "$dir"); do
        rec=$(read_record "$dir" "$name") || continue
        read -r pid start <<<"$rec"
        if [ $# -gt 0 ] && [[ " $* " != *" $pid "* ]]; then
            continue
        fi
        if proc_running "$pid" "$start"; then
            seconds=10
            [ "$name" = emulator ] || seconds=$(controller_stop_seconds "$dir/../local.env")
            if stop_pid "$pid" "$start" "$name" "$seconds"; then
                echo "${LOG_PREFIX}stopped $name (pid $pid)"
            else
                rc=1
                continue
            fi
        fi
        rm -f "$dir/$name"
    done
    return $rc
}
