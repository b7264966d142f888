#!/bin/sh
# Regenerates the captures shown on the "Observing processes and threads"
# page: runs the listing, looks at it with ps, /proc and strace, and writes
# one text file per command (first line: the command, with the real pid).
# Needs procps (ps, top) and strace: apt-get install procps strace
set -eu
cd "$(dirname "$0")"
cargo build -q -p observe-01-named
bin=$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')/debug/observe-01-named

{ echo "\$ uname -r && ldd --version | head -1"; uname -r; ldd --version | head -1; } > captured-on.txt

"$bin" --seconds 4 > /dev/null &
pid=$!
sleep 1   # let it start its children and threads

capture() { # file, command...
    file=$1; shift
    { echo "\$ $*"; sh -c "$*"; } > "$file" 2>&1
}
capture ps-T.txt "ps -T -p $pid"
capture ps-eLf.txt "ps -eLf | awk 'NR == 1 || /observe-01-name[d]/'"
capture ps-forest.txt "ps --forest -o pid,ppid,nlwp,stat,cmd -p $pid --ppid $pid"
capture proc-task.txt "ls /proc/$pid/task; for t in /proc/$pid/task/*; do echo \"\$t: \$(cat \$t/comm)\"; done"
capture proc-status.txt "grep -E '^(Name|Pid|Tgid|Threads|voluntary_ctxt_switches|nonvoluntary_ctxt_switches)' /proc/$pid/status"
capture proc-task-ctxt.txt "grep -H ctxt /proc/$pid/task/*/status"
# htop is full-screen; top's batch mode prints the same thread view once.
kids=$(ps --ppid "$pid" -o pid= | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
capture top-H.txt "top -H -b -n 1 -w 100 -p $pid${kids:+,$kids} | sed -n '/PID/,\$p'"
wait "$pid"

# strace writes to stderr; the listing's own stdout is thrown away.
capture strace.txt "strace -f -q -e trace=clone,clone3,fork,vfork,execve $bin --seconds 1 2>&1 >/dev/null"
echo "captures written in $(pwd)"
