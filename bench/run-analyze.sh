#!/bin/bash
# bench/run-analyze.sh - bounce analysis: speed and accuracy of
# `spillway-milter --analyze` against two peers, Sisimai and
# Mail::DeliveryStatus::BounceParser, side by side in one run.
#
# The bounces: every file of $SPILLWAY_CORPUS/sisimai/emails/maildir/bsd
# (433 real bounces, LF line endings; default /work/shared/corpus), and the
# labels of $SPILLWAY_CORPUS/sisimai/labels.tsv.  Without the corpus the
# script says so and exits 0.
#
# Speed, each BENCH_REPEAT times, interleaved (medians printed):
#   spillway-milter --analyze over the files once (one process: start-up,
#     loading the pattern library and one pass), and over the file list
#     repeated BENCH_PASSES times in one invocation (start-up amortised);
#   Sisimai (Debian's libsisimai-perl) through bench/sisimai_rate.pl in one
#     Perl process, timed inside Perl: one cold pass in a fresh process, and
#     the median of passes 2..BENCH_SISIMAI_PASSES of another (warm);
#   BounceParser (Debian's libmail-deliverystatus-bounceparser-perl) through
#     bench/bounceparser_rate.pl the same way (same BENCH_SISIMAI_PASSES).
# The main ratio is warm against warm: spillway's repeated list against
# Sisimai's warm passes (target: spillway at least 50x Sisimai's rate).
#
# Accuracy, per class (reputation, throttle, other), for the three tools
# against labels.tsv.  Rows are matched by (file, rcpt_index): the n-th
# record with "failed": true in spillway's output, the n-th record of
# Sisimai's and of BounceParser's output.
# A label row without a record counts as predicted "other"; a record beyond
# the labelled ones counts as a false positive of its class.  Sisimai's
# reasons map to classes as the corpus README says (blocked, badreputation,
# requireptr: reputation; ratelimited, speeding, toomanyconn: throttle; the
# rest: other).  BounceParser's std_reason values (its man page: user_unknown,
# over_quota, user_disabled, domain_error, spam, message_too_large, unknown)
# all map to other: none names the sending IP or a rate, and "spam" is
# documented as "the recipient considered it spam", a content verdict, which
# ../shared/CLASSES.md classes other (an ambiguous text is other too).  Its
# spam regexes also catch "Client host X blocked using ZONE" (a DNSBL), so a
# second BounceParser row reads spam as reputation: the most it could score.
# A per-file table (the strongest class of a file, reputation before
# throttle before other) does not depend on the record order.
#
# Run from anywhere, after `make -j2` at the top (./spillway-milter;
# MILTER_BIN= points elsewhere).  Environment (defaults):
#   SPILLWAY_CORPUS=/work/shared/corpus  BENCH_ANALYZE_DIR=maildir/bsd
#   BENCH_REPEAT=3  BENCH_PASSES=20 (1..200)  BENCH_SISIMAI_PASSES=5 (2..50)
#   BENCH_TIMEOUT=600 (seconds, for each timed command)
#   BENCH_SHOW=25 (disagreements on reputation/throttle rows to list)
#   BENCH_KEEP=1 keeps the work directory (outputs of both tools)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
CORPUS=${SPILLWAY_CORPUS:-/work/shared/corpus}
SUBDIR=${BENCH_ANALYZE_DIR:-maildir/bsd}
REPEAT=${BENCH_REPEAT:-3}
PASSES=${BENCH_PASSES:-20}
SIS_PASSES=${BENCH_SISIMAI_PASSES:-5}
TIMEOUT=${BENCH_TIMEOUT:-600}
SHOW=${BENCH_SHOW:-25}
EMAILS=$CORPUS/sisimai/emails
LABELS=$CORPUS/sisimai/labels.tsv

((REPEAT >= 1 && REPEAT <= 20)) || { echo "bench: BENCH_REPEAT 1..20" >&2; exit 2; }
((PASSES >= 1 && PASSES <= 200)) || { echo "bench: BENCH_PASSES 1..200" >&2; exit 2; }
((SIS_PASSES >= 2 && SIS_PASSES <= 50)) || { echo "bench: BENCH_SISIMAI_PASSES 2..50" >&2; exit 2; }
((TIMEOUT >= 10 && TIMEOUT <= 3600)) || { echo "bench: BENCH_TIMEOUT 10..3600" >&2; exit 2; }
if [[ ! -d $EMAILS/$SUBDIR || ! -f $LABELS ]]; then
    echo "run-analyze.sh: skipped: no bounce corpus at $EMAILS/$SUBDIR and $LABELS (set SPILLWAY_CORPUS)"
    exit 0
fi

BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spillway-bench-analyze.XXXXXX")
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_cleanup_on_exit
MILTER_BIN=${MILTER_BIN:-$BENCH_TOP/spillway-milter}
[[ -x $MILTER_BIN ]] || bench_die "$MILTER_BIN not built: run make -j2 in $BENCH_TOP"
HAVE_SISIMAI=1
if ! perl -MSisimai -e 1 2>/dev/null; then
    HAVE_SISIMAI=0
    echo "Sisimai is not installed (apt-get install libsisimai-perl): not measured"
fi
HAVE_BP=1
if ! perl -MMail::DeliveryStatus::BounceParser -e 1 2>/dev/null; then
    HAVE_BP=0
    echo "BounceParser is not installed (apt-get install libmail-deliverystatus-bounceparser-perl): not measured"
fi

# a minimal config: the shipped pattern library of this tree (and the one
# relay that every spillway.conf must have)
CONF=$BENCH_DIR/analyze.conf
cat >"$CONF" <<EOF
classify: { patterns = "$BENCH_TOP/conf/patterns.conf"; };
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:25"; role = "primary"; } );
EOF
# a private copy: a rebuild of the tree during the run does not change it
cp "$MILTER_BIN" "$BENCH_DIR/spillway-milter"
MILTER_SRC=$MILTER_BIN
MILTER_BIN=$BENCH_DIR/spillway-milter

# relative paths, as in labels.tsv (maildir/bsd/NAME.eml)
cd "$EMAILS"
mapfile -t FILES < <(find "$SUBDIR" -maxdepth 1 -type f -name '*.eml' | LC_ALL=C sort)
NFILES=${#FILES[@]}
((NFILES > 0)) || bench_die "no .eml files in $EMAILS/$SUBDIR"
MANY=()
for ((i = 0; i < PASSES; i++)); do
    MANY+=("${FILES[@]}")
done

# timed OUT CMD...: run CMD (bounded) with stdout to OUT; prints wall seconds
timed() {
    local out=$1 t0 t1
    shift
    t0=$EPOCHREALTIME
    timeout "$TIMEOUT" "$@" >"$out" 2>>"$BENCH_DIR/stderr.log" ||
        bench_die "failed or timed out: $1 ... (see $BENCH_DIR/stderr.log; BENCH_KEEP=1 keeps it)"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
kv() { # FILE KEY: the value of KEY= in the last line that has it
    sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -n 1
}

bench_machine_note
echo "corpus: $EMAILS/$SUBDIR, $NFILES files; labels: $LABELS"
echo "spillway-milter: $MILTER_SRC (built $(stat -c %y "$MILTER_SRC" | cut -d. -f1), sha256 $(sha256sum "$MILTER_BIN" | cut -c1-12)), -c $CONF"
((HAVE_SISIMAI)) && echo "sisimai: $(perl -MSisimai -e 'print $Sisimai::VERSION') (libsisimai-perl), perl $(perl -e 'printf "%vd", $^V')"
((HAVE_BP)) && echo "bounceparser: $(perl -MMail::DeliveryStatus::BounceParser -e 'print $Mail::DeliveryStatus::BounceParser::VERSION') (libmail-deliverystatus-bounceparser-perl)"

# peer_run NAME SCRIPT PREFIX TSV : one cold process and one warm process
# of a peer's rate script; results as PREFIX_* lines, the log line in msg
peer_run() {
    local name=$1 script=$2 prefix=$3 tsv=$4 cold warm_s warm inner died
    cold=$(timed "$BENCH_DIR/$prefix-cold.txt" perl "$HERE/$script" -r 1 "${FILES[@]}")
    warm_s=$(timed "$BENCH_DIR/$prefix-warm.txt" perl "$HERE/$script" -r "$SIS_PASSES" \
        -o "$BENCH_DIR/$tsv" "${FILES[@]}")
    warm=$(kv "$BENCH_DIR/$prefix-warm.txt" median_rate)
    inner=$(kv "$BENCH_DIR/$prefix-cold.txt" first_pass_rate)
    died=$(kv "$BENCH_DIR/$prefix-warm.txt" died)
    {
        echo "${prefix}_cold $cold $NFILES"
        echo "${prefix}_warm_rate $warm"
        echo "${prefix}_cold_inner_rate $inner"
    } >>"$res"
    msg+="; $name cold process $cold s (first pass timed in Perl: $inner msg/s), warm median $warm msg/s (process $warm_s s${died:+, $died files died})"
}

res=$BENCH_DIR/results.txt
: >"$res"
for ((r = 1; r <= REPEAT; r++)); do
    s1=$(timed "$BENCH_DIR/spillway-1.json" "$MILTER_BIN" --analyze -c "$CONF" "${FILES[@]}")
    sn=$(timed "$BENCH_DIR/spillway-n.json" "$MILTER_BIN" --analyze -c "$CONF" "${MANY[@]}")
    l1=$(wc -l <"$BENCH_DIR/spillway-1.json")
    ln=$(wc -l <"$BENCH_DIR/spillway-n.json")
    ((ln == l1 * PASSES)) || bench_die "spillway: $ln records over $PASSES passes, want $PASSES x $l1"
    ((l1 > 0)) || bench_die "spillway-milter --analyze printed no record"
    cp "$BENCH_DIR/spillway-1.json" "$BENCH_DIR/spillway.json"
    printf 'spillway_once %s %s\nspillway_many %s %s\n' "$s1" "$NFILES" "$sn" "$((NFILES * PASSES))" >>"$res"
    msg="run $r/$REPEAT: spillway once $s1 s, $PASSES passes $sn s ($l1 records per pass)"
    ((HAVE_SISIMAI)) && peer_run sisimai sisimai_rate.pl sisimai sisimai.tsv
    ((HAVE_BP)) && peer_run bounceparser bounceparser_rate.pl bp bounceparser.tsv
    busy=$(bench_foreign_busy)
    bench_msg "$msg${busy:+ OTHER LOAD: $busy}"
done

med() { # KIND: the median of KIND's rate (messages / seconds, or a rate)
    awk -v k="$1" '$1 == k { print (NF == 3 ? $3 / $2 : $2) }' "$res" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.1f\n", v[int((NR + 1) / 2)]; else print "" }'
}
all() { # KIND: every run's rate
    awk -v k="$1" '$1 == k { printf "%.0f ", (NF == 3 ? $3 / $2 : $2) }' "$res"
}

echo
echo "speed (messages/s; medians of $REPEAT runs)"
printf '  %-62s %12s  %s\n' what "msg/s" "all runs"
printf '  %-62s %12s  %s\n' "spillway-milter --analyze, $NFILES files, one process (cold)" \
    "$(med spillway_once)" "$(all spillway_once)"
printf '  %-62s %12s  %s\n' "spillway-milter --analyze, the list x $PASSES in one process (warm)" \
    "$(med spillway_many)" "$(all spillway_many)"
if ((HAVE_SISIMAI)); then
    printf '  %-62s %12s  %s\n' "Sisimai, $NFILES files, one fresh perl process (cold)" \
        "$(med sisimai_cold)" "$(all sisimai_cold)"
    printf '  %-62s %12s  %s\n' "Sisimai, first pass timed inside Perl (modules load lazily)" \
        "$(med sisimai_cold_inner_rate)" "$(all sisimai_cold_inner_rate)"
    printf '  %-62s %12s  %s\n' "Sisimai, passes 2..$SIS_PASSES timed inside Perl, median (warm)" \
        "$(med sisimai_warm_rate)" "$(all sisimai_warm_rate)"
    awk -v s="$(med spillway_many)" -v k="$(med sisimai_warm_rate)" \
        -v sc="$(med spillway_once)" -v kc="$(med sisimai_cold)" 'BEGIN {
        printf "  ratio warm spillway/Sisimai = %.1fx  (target >= 50x: %s)\n", s / k, (s / k >= 50 ? "met" : "MISSED")
        printf "  ratio cold (one process each, start-up included) = %.1fx\n", sc / kc }'
fi
if ((HAVE_BP)); then
    printf '  %-62s %12s  %s\n' "BounceParser, $NFILES files, one fresh perl process (cold)" \
        "$(med bp_cold)" "$(all bp_cold)"
    printf '  %-62s %12s  %s\n' "BounceParser, first pass timed inside Perl" \
        "$(med bp_cold_inner_rate)" "$(all bp_cold_inner_rate)"
    printf '  %-62s %12s  %s\n' "BounceParser, passes 2..$SIS_PASSES timed inside Perl, median (warm)" \
        "$(med bp_warm_rate)" "$(all bp_warm_rate)"
    awk -v s="$(med spillway_many)" -v k="$(med bp_warm_rate)" \
        -v sc="$(med spillway_once)" -v kc="$(med bp_cold)" 'BEGIN {
        printf "  ratio warm spillway/BounceParser = %.1fx; cold = %.1fx\n", s / k, sc / kc }'
fi

echo
echo "accuracy against labels.tsv ($SUBDIR rows)"
sis_tsv=$BENCH_DIR/sisimai.tsv
((HAVE_SISIMAI)) || : >"$sis_tsv"
bp_tsv=$BENCH_DIR/bounceparser.tsv
((HAVE_BP)) || : >"$bp_tsv"
python3 - "$LABELS" "$SUBDIR" "$BENCH_DIR/spillway.json" "$sis_tsv" "$HAVE_SISIMAI" "$SHOW" \
    "$bp_tsv" "$HAVE_BP" <<'PY'
import collections, json, sys

labels_path, subdir, sw_path, sis_path, have_sis, show, bp_path, have_bp = sys.argv[1:9]
CLASSES = ["reputation", "throttle", "other"]
RANK = {"reputation": 0, "throttle": 1, "other": 2}
SIS = {"blocked": "reputation", "badreputation": "reputation", "requireptr": "reputation",
       "ratelimited": "throttle", "speeding": "throttle", "toomanyconn": "throttle"}
# BounceParser's std_reason: nothing names the IP or a rate; "spam" is a
# content verdict by its man page and by CLASSES.md (see the header)
BP = {}
BP_SPAM_REP = {"spam": "reputation"}

labels = {}
with open(labels_path, encoding="utf-8") as fh:
    for i, line in enumerate(fh):
        f = line.rstrip("\n").split("\t")
        if i == 0 or not f[0].startswith(subdir + "/"):
            continue
        labels[(f[0], int(f[1]))] = f[3]
files = {k[0] for k in labels}

def norm(path):
    """the path as labels.tsv writes it, whatever prefix the tool printed"""
    i = path.find(subdir + "/")
    return path[i:] if i >= 0 else path

sw, sw_rec, bad, nrec, nfailed = {}, {}, 0, 0, 0
seen = collections.Counter()
with open(sw_path, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        try:
            r = json.loads(line)
        except ValueError:
            bad += 1
            continue
        nrec += 1
        if not r.get("failed"):
            continue
        nfailed += 1
        f = norm(r.get("file", ""))
        seen[f] += 1
        c = r.get("class") or "other"
        sw[(f, seen[f])] = c if c in RANK else "other"
        sw_rec[(f, seen[f])] = r

sis, sis_rec = {}, {}
if have_sis == "1":
    with open(sis_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            key = (norm(f[0]), int(f[1]))
            sis[key] = SIS.get(f[2], "other")
            sis_rec[key] = f

bp, bp_rep, bp_rec = {}, {}, {}
if have_bp == "1":
    with open(bp_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            key = (norm(f[0]), int(f[1]))
            bp[key] = BP.get(f[2], "other")
            bp_rep[key] = BP_SPAM_REP.get(f[2], "other")
            bp_rec[key] = f

def score(pred):
    """per class: labels, TP, FP, FN; and the matching counts"""
    out = {}
    extras = {k: c for k, c in pred.items() if k not in labels}
    missing = sum(1 for k in labels if k not in pred)
    for c in CLASSES:
        tp = sum(1 for k, l in labels.items() if l == c and pred.get(k, "other") == c)
        fn = sum(1 for k, l in labels.items() if l == c and pred.get(k, "other") != c)
        fp = sum(1 for k, l in labels.items() if l != c and pred.get(k, "other") == c)
        fp += sum(1 for c2 in extras.values() if c2 == c)
        out[c] = (sum(1 for l in labels.values() if l == c), tp, fp, fn)
    return out, missing, extras

def file_score(pred):
    """per file, the strongest class of its rows (none: other)"""
    lab, prd = {}, {}
    for (f, _), c in labels.items():
        lab[f] = min(lab.get(f, "other"), c, key=RANK.get)
    for (f, _), c in pred.items():
        if f in files:
            prd[f] = min(prd.get(f, "other"), c, key=RANK.get)
    out = {}
    for c in CLASSES:
        tp = sum(1 for f in files if lab[f] == c and prd.get(f, "other") == c)
        fn = sum(1 for f in files if lab[f] == c and prd.get(f, "other") != c)
        fp = sum(1 for f in files if lab[f] != c and prd.get(f, "other") == c)
        out[c] = (sum(1 for f in files if lab[f] == c), tp, fp, fn)
    return out

def pct(a, b):
    return "%.3f" % (a / b) if b else "  -  "

tools = [("spillway", sw)] + ([("sisimai", sis)] if have_sis == "1" else [])
if have_bp == "1":
    tools += [("bounceparser", bp), ("bp:spam=rep", bp_rep)]
print("  per record (file, rcpt_index):")
print("    %-12s %-11s %6s %5s %5s %5s %9s %7s" % ("tool", "class", "labels", "TP", "FP", "FN",
                                                  "precision", "recall"))
notes = []
for name, pred in tools:
    out, missing, extras = score(pred)
    for c in CLASSES:
        n, tp, fp, fn = out[c]
        print("    %-12s %-11s %6d %5d %5d %5d %9s %7s" % (name, c, n, tp, fp, fn,
                                                         pct(tp, tp + fp), pct(tp, tp + fn)))
    nx = collections.Counter(extras.values())
    notes.append("    %s: %d label rows, %d without a record (counted as other), %d records "
                 "beyond the labelled ones (%s)" % (name, len(labels), missing, len(extras),
                 ", ".join("%d %s" % (nx[c], c) for c in CLASSES if nx[c]) or "none"))
print("\n".join(notes))
print("    spillway printed %d records, %d of them failed%s" % (
    nrec, nfailed, ", %d lines that are not JSON" % bad if bad else ""))
if have_bp == "1":
    print("    bounceparser std_reason: %s; bp:spam=rep reads spam as reputation" % ", ".join(
        "%d %s" % (n, r) for r, n in collections.Counter(f[2] for f in bp_rec.values()).most_common()))
print("  per file (the strongest class of each file):")
print("    %-12s %-11s %6s %5s %5s %5s %9s %7s" % ("tool", "class", "files", "TP", "FP", "FN",
                                                  "precision", "recall"))
for name, pred in tools:
    out = file_score(pred)
    for c in CLASSES:
        n, tp, fp, fn = out[c]
        print("    %-12s %-11s %6d %5d %5d %5d %9s %7s" % (name, c, n, tp, fp, fn,
                                                         pct(tp, tp + fp), pct(tp, tp + fn)))

# where spillway and the labels disagree on the classes that divert mail
rows = []
for k in sorted(set(labels) | set(sw)):
    l, p = labels.get(k, "(none)"), sw.get(k, "other")
    if l == p or ("other" in (l, p) and "(none)" in (l, p)):
        continue
    if l in ("reputation", "throttle") or p in ("reputation", "throttle"):
        r = sw_rec.get(k, {})
        rows.append("    %s #%d label=%s spillway=%s pattern=%s status=%s sisimai=%s bp=%s diag=%.90s" % (
            k[0].split("/")[-1], k[1], l, p, r.get("pattern"), r.get("status"),
            sis_rec[k][2] if k in sis_rec else "-", bp_rec[k][2] if k in bp_rec else "-",
            " ".join(str(r.get("diagnostic", "")).split())))
print("  spillway disagreements on reputation/throttle (label vs prediction): %d" % len(rows))
for line in rows[:int(show)]:
    print(line)
if len(rows) > int(show):
    print("    ... %d more (BENCH_SHOW)" % (len(rows) - int(show)))
PY
