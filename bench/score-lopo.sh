#!/bin/bash
# bench/score-lopo.sh - leave-one-provider-out accuracy of the pattern
# library over ../shared/corpus (issue 16).
#
# The library was written from the corpus, so scoring it there says little.
# This run asks instead: how would it do on a provider it had never seen?
# For each provider family, every pattern whose `provider` names that
# family (whatever its tier) is disabled, and only that family's texts are
# scored; the rest of the library (the general tier, other providers'
# patterns) stays.  Texts of receivers the library has no patterns for are
# scored with the whole library and reported apart.
#
# Sets: replies/provider-replies.tsv and replies-2/replies.tsv (a family
# from the `provider` column), and the Sisimai bounces (a family from the
# file name: rhost-google-*, lhost-office365-*, ...; labels.tsv rows are
# matched to the n-th failed recipient of `spillway-milter --analyze`, as
# bench/run-analyze.sh does).  A second table scores every set with the
# general tier alone (all provider-tier patterns disabled).
#
# Disabling uses the override mechanism an operator has: a patterns file of
# { name = "..."; enabled = false; } given after the library
# (`--patterns LIBRARY --patterns OVERRIDES`).
#
# Run after `make` at the top (./spillwayctl and ./spillway-milter, or
# SWCTL_BIN= and MILTER_BIN=).  SPILLWAY_CORPUS (default
# /work/shared/corpus); PATTERNS (default conf/patterns.conf); SHOW=1 lists
# the disagreements of the left-out rows.  Without the corpus: says so and
# exits 0.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/.." && pwd -P)
CORPUS=${SPILLWAY_CORPUS:-/work/shared/corpus}
PATTERNS=${PATTERNS:-$TOP/conf/patterns.conf}
find_bin() {
    local c
    for c in "$TOP/$1" "$TOP/_build/dev/$1" "$TOP/_build/check/$1"; do
        [[ -x $c ]] && { echo "$c"; return; }
    done
}
SWCTL=${SWCTL_BIN:-$(find_bin spillwayctl)}
MILTER=${MILTER_BIN:-$(find_bin spillway-milter)}
[[ -x $SWCTL && -x $MILTER ]] || { echo "score-lopo: build first (or SWCTL_BIN=, MILTER_BIN=)" >&2; exit 1; }
if [[ ! -f $CORPUS/replies/provider-replies.tsv ]]; then
    echo "score-lopo: no corpus at $CORPUS (set SPILLWAY_CORPUS): skipped"
    exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

/usr/bin/python3 - "$SWCTL" "$MILTER" "$PATTERNS" "$CORPUS" "$WORK" "${SHOW:-0}" <<'PY'
import collections, json, os, re, subprocess, sys

swctl, milter, library, corpus, work, show = sys.argv[1:6] + [sys.argv[6] == "1"]
CLASSES = ("reputation", "throttle", "other")

# Corpus provider (column text or file name) -> library providers.
FAMILIES = [
    (r"microsoft|office365|outlook|hotmail|exchange online", ("Microsoft 365", "Outlook.com")),
    (r"gmail|google|gsuite", ("Gmail", "Google Workspace")),
    (r"yahoo|\baol\b", ("Yahoo", "AOL")),
    (r"apple|icloud", ("Apple iCloud",)),
    (r"at&t|\batt\b", ("AT&T",)),
    (r"comcast", ("Comcast",)),
    (r"\bcox\b", ("Cox",)),
    (r"spectrum|charter", ("Spectrum",)),
    (r"godaddy", ("GoDaddy",)),
    (r"gmx|web\.de|einsundeins|united internet", ("GMX / WEB.DE",)),
    (r"orange|la poste|laposte|franceptt", ("Orange",)),
    (r"tencent|\bqq\b", ("Tencent QQ",)),
    (r"mimecast", ("Mimecast",)),
    (r"ironport|cisco", ("Cisco IronPort",)),
    (r"spamhaus", ("Spamhaus",)),
    (r"barracuda", ("Barracuda",)),
    (r"spamcop", ("SpamCop",)),
    (r"sorbs", ("SORBS",)),
    (r"proofpoint", ("Proofpoint",)),
    (r"trend ?micro", ("Trend Micro",)),
    (r"cloudmark", ("Cloudmark",)),
]

def family(text):
    t = text.lower().replace("-", " ")
    for rx, provs in FAMILIES:
        if re.search(rx, t):
            return provs
    return None

lib = [json.loads(l) for l in subprocess.run(
    [swctl, "--json", "patterns", "--patterns", library], capture_output=True, text=True,
    check=True).stdout.splitlines()]

def overrides(key, names):
    path = os.path.join(work, "off-%s.conf" % re.sub(r"\W+", "_", key))
    with open(path, "w") as fh:
        fh.write("patterns = (\n%s\n);\n" % ",\n".join(
            '  { name = "%s"; enabled = false; }' % n for n in names))
    return path

ov_cache = {}
def ov_for(provs):
    """the overrides file that disables a family (None: nothing to disable)"""
    if provs is None:
        return None
    if provs not in ov_cache:
        names = [p["name"] for p in lib if p["provider"] in provs]
        ov_cache[provs] = overrides("-".join(provs), names) if names else None
    return ov_cache[provs]

general_only = overrides("general-only", [p["name"] for p in lib if p["tier"] == "provider"])

def classify(text, ov):
    cmd = [swctl, "--json", "classify", "--patterns", library]
    if ov:
        cmd += ["--patterns", ov]
    out = subprocess.run(cmd + [text], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        sys.exit("score-lopo: spillwayctl failed on %r: %s" % (text, out.stderr.strip()))
    return json.loads(out.stdout)

def analyze(paths, ov):
    """{(relpath, n): class} for the n-th failed recipient of each file"""
    cmd = [milter, "--analyze", "--patterns", library] + (["--patterns", ov] if ov else [])
    out = subprocess.run(cmd + paths, capture_output=True, text=True, timeout=600)
    pred, seen = {}, collections.Counter()
    for line in out.stdout.splitlines():
        r = json.loads(line)
        if not r.get("failed"):
            continue
        f = r["file"][len(os.path.join(corpus, "sisimai/emails")) + 1:]
        seen[f] += 1
        pred[(f, seen[f])] = (r.get("class") or "other", r.get("pattern"), r.get("diagnostic") or "")
    return pred

def line(name, rows):
    conf = collections.Counter((t, p) for t, p, _, _ in rows)
    cells = []
    for c in ("reputation", "throttle"):
        tp = conf[(c, c)]
        pred = sum(conf[(t, c)] for t in CLASSES)
        real = sum(conf[(c, p)] for p in CLASSES)
        cells.append("%s P %s R %s" % (c[:3], "%.3f (%d/%d)" % (tp / pred, tp, pred) if pred else "  -  ",
                                       "%.3f (%d/%d)" % (tp / real, tp, real) if real else "  -  "))
    oth = sum(conf[("other", p)] for p in CLASSES)
    fa = conf[("other", "reputation")] + conf[("other", "throttle")]
    print("  %-44s %4d  %s  %s  other->div %d/%d" % (name, len(rows), cells[0], cells[1], fa, oth))
    if show:
        for t, p, pat, text in rows:
            if t != p:
                print("      - label %s, spillway %s (%s): %s" % (t, p, pat or "-", text[:140]))

# Replies: (label, predicted, pattern, text) per row, in three groups.
reply_sets = [("provider-replies", os.path.join(corpus, "replies/provider-replies.tsv")),
              ("replies-2", os.path.join(corpus, "replies-2/replies.tsv"))]
groups = collections.defaultdict(list)
for setname, path in reply_sets:
    with open(path, encoding="utf-8") as fh:
        head = fh.readline().rstrip("\n").split("\t")
        ti, ci, pi = head.index("smtp_reply"), head.index("class"), head.index("provider")
        for l in fh:
            c = l.rstrip("\n").split("\t")
            if len(c) <= max(ti, ci, pi) or not c[ti]:
                continue
            provs = family(c[pi])
            ov = ov_for(provs)
            full = classify(c[ti], None)
            lopo = classify(c[ti], ov) if ov else full
            gen = classify(c[ti], general_only)
            kind = "left out" if ov else "no own patterns"
            groups[(setname, kind, "lopo")].append((c[ci], lopo["class"], lopo["pattern"], c[ti]))
            groups[(setname, kind, "full")].append((c[ci], full["class"], full["pattern"], c[ti]))
            groups[(setname, "all", "general")].append((c[ci], gen["class"], gen["pattern"], c[ti]))

# Bounces: per family of the file name.
labels = {}
with open(os.path.join(corpus, "sisimai/labels.tsv"), encoding="utf-8") as fh:
    fh.readline()
    for l in fh:
        f = l.rstrip("\n").split("\t")
        if f[0].startswith("maildir/bsd/"):
            labels[(f[0], int(f[1]))] = f[3]
byfam = collections.defaultdict(set)
for f, _ in labels:
    name = re.sub(r"^(?:rhost|lhost)-|-\d+\.eml$", "", os.path.basename(f))
    byfam[family(name)].add(f)
for provs, files in sorted(byfam.items(), key=lambda kv: str(kv[0])):
    paths = [os.path.join(corpus, "sisimai/emails", f) for f in sorted(files)]
    ov = ov_for(provs)
    full = analyze(paths, None)
    lopo = analyze(paths, ov) if ov else full
    gen = analyze(paths, general_only)
    kind = "left out" if ov else "no own patterns"
    for k, lab in labels.items():
        if k[0] not in files:
            continue
        for mode, pred in (("lopo", lopo), ("full", full)):
            p = pred.get(k, ("other", None, ""))
            groups[("sisimai bounces", kind, mode)].append((lab, p[0], p[1], k[0] + ": " + p[2]))
        p = gen.get(k, ("other", None, ""))
        groups[("sisimai bounces", "all", "general")].append((lab, p[0], p[1], k[0] + ": " + p[2]))

print("leave-one-provider-out (library %s)" % library)
print("rows of providers the library has patterns for: with the whole library, then with that")
print("provider's patterns disabled (the leave-one-provider-out figure)")
for setname in ("provider-replies", "replies-2", "sisimai bounces"):
    if groups[(setname, "left out", "full")]:
        line("%s, whole library" % setname, groups[(setname, "left out", "full")])
        line("%s, own provider left out" % setname, groups[(setname, "left out", "lopo")])
print("rows of receivers without patterns of their own (whole library)")
for setname in ("provider-replies", "replies-2", "sisimai bounces"):
    if groups[(setname, "no own patterns", "full")]:
        line(setname, groups[(setname, "no own patterns", "full")])
print("the general tier alone (every provider-tier pattern disabled), all rows")
for setname in ("provider-replies", "replies-2", "sisimai bounces"):
    line(setname, groups[(setname, "all", "general")])
PY
