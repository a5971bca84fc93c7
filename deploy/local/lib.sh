# shellcheck shell=bash
# Process records shared by deploy/local/up and deploy/local/down.
#
# Each process that up starts is recorded as .ferry/pids/NAME holding one
# line "PID START", where START is the process's start time as the kernel
# reports it (/proc/PID/stat field 22, or `ps -o lstart=` without /proc).
# A record whose PID is alive but has another start time belongs to an
# unrelated process that reused the number, and is never signalled.

# Stop order: the controller first, so it can hand its lease back while
# the emulator (its DynamoDB) still answers.
FERRY_PROCESSES=(controller emulator)
# Callers set this to prefix their messages ("up: ", "down: ").
LOG_PREFIX=${LOG_PREFIX:-}

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

# stop_pid PID [START] [LABEL]: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
    local pid=$1 start=${2:-} label=${3:-process} i
    proc_running "$pid" "$start" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        proc_running "$pid" "$start" || return 0
        sleep 0.1
    done
    echo "${LOG_PREFIX}stopping $label (pid $pid): no exit 10 s after SIGTERM, sending SIGKILL" >&2
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
    for name in "${FERRY_PROCESSES[@]}"; do
        rec=$(read_record "$dir" "$name") || continue
        read -r pid start <<<"$rec"
        if proc_running "$pid" "$start"; then
            echo "$name $pid"
        fi
    done
}

# stop_records DIR [PID...]: stop recorded processes in FERRY_PROCESSES
# order and remove their records. With PIDs, only records holding one of
# them are touched: an up cleaning up after itself never stops what a later
# up started. Prints one line per process stopped. Fails if one survives.
stop_records() {
    local dir=$1 name rec pid start rc=0
    shift
    for name in "${FERRY_PROCESSES[@]}"; do
        rec=$(read_record "$dir" "$name") || continue
        read -r pid start <<<"$rec"
        if [ $# -gt 0 ] && [[ " $* " != *" $pid "* ]]; then
            continue
        fi
        if proc_running "$pid" "$start"; then
            if stop_pid "$pid" "$start" "$name"; then
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
