#!/bin/sh
# replay.sh - replay every fuzz target's seed corpus (run by "make check")
#
# For each target NAME in $FUZZ_TARGETS, runs
#   $FUZZ_BUILDDIR/replay_NAME $FUZZ_SRCDIR/corpus/NAME
# and fails if any replay fails (a crash or an abort() on a broken
# invariant).  Makefile.am sets the three variables; by hand, from the top
# source directory after "make check", the defaults do:
#   tests/fuzz/replay.sh
#
# The bounce target also replays every message of the shared bounce
# corpus, $SPILLWAY_CORPUS/sisimai/emails (default: ../shared/corpus next
# to the source tree), when it is there.  Its files are read where they
# are: the project does not copy the corpus into the repository.
set -eu

FUZZ_TARGETS=${FUZZ_TARGETS:-sockmap ctl conf maillog classify bounce}
FUZZ_BUILDDIR=${FUZZ_BUILDDIR:-tests/fuzz}
FUZZ_SRCDIR=${FUZZ_SRCDIR:-tests/fuzz}
SPILLWAY_CORPUS=${SPILLWAY_CORPUS:-$FUZZ_SRCDIR/../../../shared/corpus}

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
    # Real bounces: every file of the shared corpus, in as many runs of
    # the replay driver as find makes (their counts are added up).
    emails=$SPILLWAY_CORPUS/sisimai/emails
    if [ "$name" = bounce ]; then
        if [ ! -d "$emails" ]; then
            echo "skip $name: no shared corpus at $emails (set SPILLWAY_CORPUS)"
        elif out=$(find "$emails" -type f -exec "$prog" {} + 2>&1); then
            echo "ok   $name (shared corpus): $(printf '%s\n' "$out" |
                awk '/^replay: [0-9]+ inputs$/ { n += $2 } END { print "replay: " n " inputs" }')"
        else
            status=$?
            echo "FAIL $name (shared corpus): exit status $status"
            printf '%s\n' "$out"
            failed=1
        fi
    fi
done
exit $failed
