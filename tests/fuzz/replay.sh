#!/bin/sh
# replay.sh - replay every fuzz target's seed corpus (run by "make check")
#
# For each target NAME in $FUZZ_TARGETS, runs
#   $FUZZ_BUILDDIR/replay_NAME $FUZZ_SRCDIR/corpus/NAME
# and fails if any replay fails (a crash or an abort() on a broken
# invariant).  Makefile.am sets the three variables; by hand, from the top
# source directory after "make check", the defaults do:
#   tests/fuzz/replay.sh
set -eu

FUZZ_TARGETS=${FUZZ_TARGETS:-sockmap ctl conf maillog classify}
FUZZ_BUILDDIR=${FUZZ_BUILDDIR:-tests/fuzz}
FUZZ_SRCDIR=${FUZZ_SRCDIR:-tests/fuzz}

failed=0
for name in $FUZZ_TARGETS; do
    prog=$FUZZ_BUILDDIR/replay_$name
    corpus=$FUZZ_SRCDIR/corpus/$name
    if [ ! -x "$prog" ]; then
        echo "FAIL $name: $prog not built (make check builds it)"
        failed=1
        continue
    fi
    if [ ! -d "$corpus" ]; then
        echo "FAIL $name: no corpus directory $corpus"
        failed=1
        continue
    fi
    # Capture the output so one line per target reaches the log; the
    # replay's own messages (and a sanitizer's report) follow on failure.
    if out=$("$prog" "$corpus" 2>&1); then
        echo "ok   $name: $(printf '%s\n' "$out" | tail -n 1)"
    else
        status=$?
        echo "FAIL $name: exit status $status"
        if [ -n "$out" ]; then
            printf '%s\n' "$out"
        fi
        failed=1
    fi
done
exit $failed
