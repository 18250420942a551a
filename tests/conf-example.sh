#!/bin/sh
# tests/conf-example.sh - the shipped example configuration validates.
set -eu
srcdir=${srcdir:-.}
./spillway-routed -n -c "$srcdir/conf/spillway.conf"
