#!/bin/bash
# tests/layering.sh - the source tree's layers point one way (milter/README.md)
#
#   milter/util/      generic modules: include only util/ headers
#   milter/global/    spillway's shared modules: util/ and global/ headers
#   milter/PROGRAM/   one folder per program: util/, global/ and the
#                     headers of its own folder (by bare name), never
#                     another program's
#
# Two checks:
#   1. includes, read from the sources: every #include "..." names a
#      header the file's layer may use, and that header exists;
#   2. calls, read from the built objects (nm, when SW_BUILDDIR holds a
#      build): no util object uses a symbol that a global or program object
#      defines, no global object one that a program defines, and no two
#      files call each other, directly or around a circle.
# Exits 1 and names the file, the line and the rule on the first kind of
# breakage found; prints what it checked otherwise.
set -euo pipefail
srcdir=${srcdir:-.}
src=$srcdir/milter
fail=0

bad() {
    echo "FAIL: $*" >&2
    fail=1
}

# ---- 1. includes
programs=()
for d in "$src"/*/; do
    d=${d%/}
    name=${d##*/}
    case $name in util | global) ;; *) programs+=("$name") ;; esac
done
[[ -d $src/util && -d $src/global && ${#programs[@]} -ge 3 ]] ||
    { echo "FAIL: $src does not hold util/, global/ and the program folders" >&2; exit 1; }
loose=$(find "$src" -maxdepth 1 -type f -name '*.[ch]')
[[ -z $loose ]] || bad "sources outside a folder: $loose"

nfiles=0
nincludes=0
for f in "$src"/*/*.[ch]; do
    dir=${f%/*}
    layer=${dir##*/}
    nfiles=$((nfiles + 1))
    while IFS=: read -r line inc; do
        nincludes=$((nincludes + 1))
        [[ $inc == config.h ]] && continue
        case $inc in
        util/*) ok=1 ;;
        global/*) [[ $layer != util ]] && ok=1 || ok=0 ;;
        */*) ok=0 ;;
        *) [[ $layer != util && $layer != global ]] && ok=1 || ok=0 ;;
        esac
        if ((ok == 0)); then
            case $layer in
            util) bad "$f:$line: #include \"$inc\": a generic module (util/) includes only util/ headers" ;;
            global) bad "$f:$line: #include \"$inc\": a shared module (global/) includes only util/ and global/ headers" ;;
            *) bad "$f:$line: #include \"$inc\": a program includes util/, global/ and its own folder's headers only" ;;
            esac
            continue
        fi
        case $inc in
        */*) [[ -f $src/$inc ]] || bad "$f:$line: #include \"$inc\": no such header in $src" ;;
        *) [[ -f $dir/$inc ]] || bad "$f:$line: #include \"$inc\": not a header of $layer/" ;;
        esac
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
        sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
done
echo "includes: $nfiles files, $nincludes includes checked (util <- global <- ${programs[*]})"

# ---- 2. calls, from the objects
objdir=${SW_BUILDDIR:-}/milter
if [[ -z ${SW_BUILDDIR:-} || ! -d $objdir ]] || ! command -v nm >/dev/null ||
    ! command -v python3 >/dev/null; then
    echo "calls: skipped (no build in SW_BUILDDIR, or no nm/python3)"
    exit "$fail"
fi
python3 - "$objdir" <<'EOF' || fail=1
import collections, os, re, subprocess, sys

objdir = sys.argv[1]
layer_of, defs, uses = {}, {}, {}
for layer in sorted(os.listdir(objdir)):
    d = os.path.join(objdir, layer)
    if not os.path.isdir(d):
        continue
    for o in sorted(os.listdir(d)):
        if not o.endswith(".o"):
            continue
        # automake names objects PREFIX-FILE.o; the file is what counts
        name = layer + "/" + re.sub(r"^[A-Za-z0-9_]+-", "", o[:-2])
        layer_of[name] = layer
        uses[name] = set()
        out = subprocess.run(["nm", os.path.join(d, o)], capture_output=True, text=True,
                             check=True).stdout
        for l in out.splitlines():
            p = l.split()
            if len(p) == 3 and p[1] in "TDBRCGSV":
                defs[p[2]] = name
            elif len(p) == 2 and p[0] == "U":
                uses[name].add(p[1])
if len(uses) < 20:
    print("calls: FAIL: only %d objects under %s" % (len(uses), objdir), file=sys.stderr)
    sys.exit(1)

rank = {"util": 0, "global": 1}
graph = collections.defaultdict(set)
why = {}
bad = 0
for n, us in sorted(uses.items()):
    for s in sorted(us):
        t = defs.get(s)
        if t is None or t == n:
            continue
        graph[n].add(t)
        why.setdefault((n, t), s)
        ln, lt = layer_of[n], layer_of[t]
        if rank.get(ln, 2) < rank.get(lt, 2) or (ln not in rank and lt not in rank and ln != lt):
            print("calls: FAIL: %s uses %s of %s (a layer may call only the layers below it)"
                  % (n, s, t), file=sys.stderr)
            bad += 1

# circles: strongly connected components of more than one file (Tarjan)
index, low, stack, on, comps = {}, {}, [], set(), []
sys.setrecursionlimit(10000)
def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in graph[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        comps.append(comp)
for v in sorted(uses):
    if v not in index:
        visit(v)
for comp in comps:
    if len(comp) > 1:
        members = set(comp)
        edges = ["%s -> %s (%s)" % (a, b, why[(a, b)]) for a in sorted(comp)
                 for b in sorted(graph[a]) if b in members]
        print("calls: FAIL: files call each other in a circle: %s" % "; ".join(edges),
              file=sys.stderr)
        bad += 1
nedges = sum(len(v) for v in graph.values())
print("calls: %d objects, %d file-to-file calls, %d circles" % (len(uses), nedges,
      sum(1 for c in comps if len(c) > 1)))
sys.exit(1 if bad else 0)
EOF
exit "$fail"
