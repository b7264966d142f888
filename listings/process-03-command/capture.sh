#!/bin/sh
# Regenerates strace.txt, shown on the "Creating processes" page: which
# system calls Listing 1.3's Command calls make. PATH is cut short so that
# execvp's search of each PATH directory takes a few lines, not dozens.
# Needs strace: apt-get install strace
set -eu
cd "$(dirname "$0")"
cargo build -q -p process-03-command
bin=$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')/debug/process-03-command
{
    echo "\$ PATH=/usr/bin:/bin strace -f -q -e trace=clone,clone3,fork,vfork,execve target/debug/process-03-command >/dev/null"
    PATH=/usr/bin:/bin strace -f -q -e trace=clone,clone3,fork,vfork,execve "$bin" 2>&1 >/dev/null |
        # The program's own execve by strace, with this machine's path in it.
        sed "s|$bin|target/debug/process-03-command|g"
} > strace.txt
{ echo "\$ uname -r && ldd --version | head -1"; uname -r; ldd --version | head -1; } > captured-on.txt
echo "strace.txt written in $(pwd)"
