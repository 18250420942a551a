#!/bin/bash
# bench/score-replies.sh [TSV...] - accuracy of the pattern library on
# labelled SMTP replies, per class.
#
# Each TSV has a header line naming (among others) the columns smtp_reply
# and class (reputation, throttle or other), as the corpus's replies files do.
# Every reply is classified by `spillwayctl classify --json` with the
# shipped library (conf/patterns.conf, or PATTERNS=FILE) and no daemon.
# Prints, per file and for all files together: precision and recall of
# reputation and throttle, the share of `other` replies classed reputation
# or throttle (the false alarms that would divert mail), the confusion
# matrix, and with SHOW=1 every disagreement.  A file whose `note` column
# marks rows AMBIGUOUS (another class is defensible) is also scored without
# them.
#
# Default: $SPILLWAY_CORPUS/replies-2/replies.tsv (default corpus
# /work/shared/corpus).  Run after `make` at the top (./spillwayctl;
# SWCTL_BIN= points elsewhere).  Exits 0 after printing; 1 on a usage error
# or a reply spillwayctl cannot classify.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/.." && pwd -P)
CORPUS=${SPILLWAY_CORPUS:-/work/shared/corpus}
PATTERNS=${PATTERNS:-$TOP/conf/patterns.conf}
SWCTL=${SWCTL_BIN:-}
if [[ -z $SWCTL ]]; then
    for c in "$TOP/spillwayctl" "$TOP/_build/dev/spillwayctl" "$TOP/_build/check/spillwayctl"; do
        [[ -x $c ]] && { SWCTL=$c; break; }
    done
fi
[[ -x $SWCTL ]] || { echo "score-replies: no spillwayctl (build first, or SWCTL_BIN=)" >&2; exit 1; }
(($#)) || set -- "$CORPUS/replies-2/replies.tsv"
for f in "$@"; do
    [[ -f $f ]] || { echo "score-replies: $f: no such file (corpus absent?)" >&2; exit 1; }
done

/usr/bin/python3 - "$SWCTL" "$PATTERNS" "${SHOW:-0}" "$@" <<'PY'
import json, subprocess, sys

swctl, patterns, show, files = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
CLASSES = ("reputation", "throttle", "other")

def classify(text):
    out = subprocess.run([swctl, "classify", "--patterns", patterns, "--json", text],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        sys.exit("score-replies: spillwayctl failed on %r: %s" % (text, out.stderr.strip()))
    return json.loads(out.stdout)

def report(name, rows):
    conf = {(t, p): 0 for t in CLASSES for p in CLASSES}
    for truth, got, _, _ in rows:
        conf[(truth, got)] += 1
    print("== %s: %d replies" % (name, len(rows)))
    for c in ("reputation", "throttle"):
        tp = conf[(c, c)]
        pred = sum(conf[(t, c)] for t in CLASSES)
        real = sum(conf[(c, p)] for p in CLASSES)
        prec = tp / pred if pred else float("nan")
        rec = tp / real if real else float("nan")
        print("   %-10s precision %5.3f (%d/%d)  recall %5.3f (%d/%d)" % (c, prec, tp, pred, rec, tp, real))
    other = sum(conf[("other", p)] for p in CLASSES)
    fa = conf[("other", "reputation")] + conf[("other", "throttle")]
    print("   other classed reputation or throttle: %d of %d (%.1f%%)" % (fa, other, 100.0 * fa / other if other else 0))
    print("   confusion (rows: label, columns: spillway):  rep  thr  oth")
    for t in CLASSES:
        print("     %-10s %35s %4d %4d %4d" % (t, "", conf[(t, "reputation")], conf[(t, "throttle")], conf[(t, "other")]))
    if show:
        for truth, got, pattern, text in rows:
            if truth != got:
                print("   - label %s, spillway %s (%s): %s" % (truth, got, pattern or "-", text[:160]))

everything = []
ambiguous = set()  # indexes into everything of rows whose note says AMBIGUOUS
for path in files:
    rows = []
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if "smtp_reply" not in header or "class" not in header:
            sys.exit("score-replies: %s: the header names no smtp_reply or class column" % path)
        ti, ci = header.index("smtp_reply"), header.index("class")
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) <= max(ti, ci) or not cols[ti]:
                continue
            if cols[ci] not in CLASSES:
                sys.exit("score-replies: %s: unknown class %r" % (path, cols[ci]))
            v = classify(cols[ti])
            rows.append((cols[ci], v.get("class", "other"), v.get("pattern", ""), cols[ti]))
            if "note" in header and "AMBIGUOUS" in cols[header.index("note")]:
                ambiguous.add(len(everything) + len(rows) - 1)
    report(path, rows)
    base = len(everything)
    clear = [r for k, r in enumerate(rows) if base + k not in ambiguous]
    if len(clear) < len(rows):
        report("%s without its %d AMBIGUOUS rows" % (path, len(rows) - len(clear)), clear)
    everything += rows
if len(files) > 1:
    report("all files", everything)
PY
