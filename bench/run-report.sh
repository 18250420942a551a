#!/bin/bash
# bench/run-report.sh - scripts/spillway-report against what an administrator
# would otherwise run on the same mail log.
#
# Input: a synthetic but realistic mail log, generated here (an awk program,
# below) from the line shapes of tests/report/*.maillog and *.routed.log, all
# in classic syslog form as one rsyslog file would hold them:
#   Postfix   smtpd connect/client=/disconnect, cleanup message-id=, qmgr
#             from=/removed, smtp to=... status=sent|deferred|bounced (a
#             deferral is retried and sent later; a bounce makes a
#             non-delivery notice, delivered by local), bounce, anvil;
#   spillway-routed  started, config: (3 relays), dns:, then incidents on
#             busy destinations: deferrals with 5.7.606 from the primary,
#             divert (with its evidence), mail for that domain through the
#             alternate, probe, return (1 in 8 relapses while probing);
#             health:/relay: changes of an alternate now and then;
#   spillway-milter  bounce: lines for some bounced recipients.
# BENCH_REPORT_SIZES lines (default "1000000 5000000"; at most 20 M each),
# about 100 lines per second of log time, 1 October, 2,000 destination
# domains (half the mail to 20 of them), one fixed seed: the same log each
# run.  The file is written to a new directory in BENCH_REPORT_DIR (default
# /tmp; it stays in the page cache after it is written, so the timed runs
# read no disk; /dev/shm makes sure of it) and removed at the end.
#
# Commands timed on each log, side by side in one hyperfine run (Debian
# package hyperfine; without it, BENCH_REPEAT runs each under /usr/bin/time):
#   spillway-report   scripts/spillway-report --year Y LOG        (the report)
#   pflogsumm         pflogsumm LOG   (Debian package pflogsumm: what a
#                     Postfix administrator runs for a summary of the log)
#   awk per relay     one awk pass counting status= per relay= (what one
#                     writes by hand for "messages per relay")
#   grep decisions    grep -E 'spillway-routed\[[0-9]+\]: (divert|return):' | wc -l
#   grep status=sent  grep -c 'status=sent'     (the floor: one pass, no parse)
# Every output goes to a file (not the terminal).  Peak RSS and CPU from one
# more run of each under /usr/bin/time (Debian package time).  Lines/s is
# the log's lines over the median wall time.
#
# Sanity check, printed: spillway-report's delivered total must equal
# grep -c ' status=sent ' on the same log (each queue ID and recipient is
# sent once by construction), its deferred total the status=deferred lines
# and its bounced total the status=bounced lines; pflogsumm's "delivered" is
# printed next to them.  A mismatch is an error (exit 1).
#
# Run from anywhere (root only to install missing packages; apt-get as
# scripts/common.sh does).  Environment (defaults):
#   BENCH_REPORT_SIZES="1000000 5000000" BENCH_REPEAT=3 (runs per command)
#   BENCH_REPORT_DIR=/tmp  BENCH_REPORT_TOOLS="report pflogsumm awk decisions grep"
#   BENCH_RUN_TIMEOUT=600 (seconds, one run of one command)
#   BENCH_HYPERFINE=0 times with /usr/bin/time even when hyperfine is there
#   BENCH_KEEP=1 keeps the work directory (and the logs).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SIZES=${BENCH_REPORT_SIZES:-1000000 5000000}
REPEAT=${BENCH_REPEAT:-3}
LOGDIR=${BENCH_REPORT_DIR:-/tmp}
TOOLS=${BENCH_REPORT_TOOLS:-report pflogsumm awk decisions grep}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-600}
YEAR=2026                       # the year of the log's classic syslog dates

BENCH_DIR=$(mktemp -d "$LOGDIR/sw-XXXX")
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_cleanup_on_exit
REPORT=$BENCH_TOP/scripts/spillway-report

for n in $SIZES; do
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1000 && n <= 20000000)) ||
        bench_die "BENCH_REPORT_SIZES: each between 1000 and 20000000 lines"
done
[[ $REPEAT =~ ^[0-9]+$ ]] && ((REPEAT >= 1 && REPEAT <= 20)) || bench_die "BENCH_REPEAT: 1 to 20"
for t in $TOOLS; do
    case $t in report | pflogsumm | awk | decisions | grep) ;;
    *) bench_die "BENCH_REPORT_TOOLS: report pflogsumm awk decisions grep" ;;
    esac
done
[[ -x $REPORT ]] || bench_die "$REPORT not found"

# ---- packages: pflogsumm, time, hyperfine (optional) ------------------------
missing=()
for p in pflogsumm time hyperfine; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        bench_msg "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
            apt-get update -q >/dev/null 2>&1 || true
            apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
                bench_msg "could not install ${missing[*]}"
        }
    else
        bench_msg "missing packages: ${missing[*]} (run as root on Debian to install them)"
    fi
fi
[[ -x /usr/bin/time ]] || bench_die "/usr/bin/time not found (Debian package time)"
if [[ " $TOOLS " == *" pflogsumm "* ]] && ! command -v pflogsumm >/dev/null; then
    bench_die "pflogsumm not found (Debian package pflogsumm)"
fi
HYPERFINE=$(command -v hyperfine || true)
[[ ${BENCH_HYPERFINE:-1} == 0 ]] && HYPERFINE=

# ---- the log generator --------------------------------------------------------
# gen.awk N SEED: N lines on standard output.  Each message: connect (a
# session carries 1-3 messages), client=, cleanup, qmgr from=, one or two
# recipients, removed.  6% of deliveries are deferred and sent on a later
# retry; 0.5% bounce (a notice to the sender, delivered by local).  During
# an incident a busy domain's mail is deferred by the primary (5.7.606),
# then diverted to an alternate, probed and returned.
cat >"$BENCH_DIR/gen.awk" <<'EOF'
function stamp(   s, d, h, m) {
    s = int(nl / RATE); d = 1 + int(s / 86400); s %= 86400
    h = int(s / 3600); m = int(s % 3600 / 60); s %= 60
    return sprintf("Oct %2d %02d:%02d:%02d mta ", d, h, m, s)
}
function out(prog, msg) { print stamp() prog ": " msg; nl++ }
function pid(base) { return base + int(rand() * 400) }
function newqid() { nq++; return sprintf("%05X%05X", int(nq / 1048576) * 65536 + int(rand() * 65536), nq % 1048576) }
function domain(   r) {
    r = rand()
    return r < 0.5 ? sprintf("big%02d.example", int(rand() * NBIG)) : sprintf("d%04d.example", int(rand() * NDOM))
}
function rcpt(dom) { return sprintf("user%d@%s", int(rand() * 5000), dom) }
function routed(msg) { out("spillway-routed[812]", msg) }
function delays() { return sprintf("delay=%.2f, delays=%.2f/0.01/0.%02d/0.%02d", rand() * 2, rand(), int(rand() * 30), int(rand() * 90)) }
# deliver QID RCPT: one delivery attempt, its outcome by the domain's state
function deliver(q, r,   dom, st, rel) {
    dom = r; sub(/.*@/, "", dom)
    if (dom in div) rel = ALT[div[dom]]
    else rel = ALT["m365"]
    if ((dom in inc) && !(dom in div) && rand() < 0.8) {
        out("postfix/smtp[" pid(3000) "]", q ": to=<" r ">, relay=" rel ", " delays() ", dsn=4.7.606, status=deferred (host " HOST["m365"] " said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal from this list please visit https://sender.office.com/ (in reply to RCPT TO command))")
        retry[++nr] = q " " r; inc[dom]++; held = 1
        return
    }
    st = rand()
    if (st < 0.06) {
        out("postfix/smtp[" pid(3000) "]", q ": to=<" r ">, relay=" rel ", " delays() ", dsn=4.4.2, status=deferred (conversation with " HOST["m365"] " timed out while receiving the initial server greeting)")
        retry[++nr] = q " " r; held = 1
    } else if (st < 0.065) {
        out("postfix/smtp[" pid(3000) "]", q ": to=<" r ">, relay=" rel ", " delays() ", dsn=5.1.1, status=bounced (host " HOST["m365"] " said: 550 5.1.1 <" r ">: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))")
        bq = newqid()
        out("postfix/cleanup[" pid(2000) "]", bq ": message-id=<" bq "@mta.org.example>")
        out("postfix/bounce[" pid(4000) "]", q ": sender non-delivery notification: " bq)
        out("postfix/qmgr[1001]", bq ": from=<>, size=3120, nrcpt=1 (queue active)")
        out("postfix/local[" pid(5000) "]", bq ": to=<sender" int(rand() * 300) "@org.example>, relay=local, " delays() ", dsn=2.0.0, status=sent (delivered to mailbox)")
        out("postfix/qmgr[1001]", bq ": removed")
        if (rand() < 0.5)
            out("spillway-milter[700]", bq ": bounce: rcpt=" r " msgid=<m" q "@org.example> client=127.0.0.1 dsn=5.1.1 class=other pattern=user-unknown pool=m365 tag=valid trusted evidence=sent text=\"550 5.1.1 User unknown\"")
    } else {
        out("postfix/smtp[" pid(3000) "]", q ": to=<" r ">, relay=" rel ", " delays() ", dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as " int(rand() * 1e9) ")")
        if (dom in div) sent_alt++
    }
}
# incidents: now and then a busy domain is refused by the primary; after 3
# deferrals it is diverted, probed after its 30 min hold, returned 5 min
# later (1 in 8 relapses while probing and is diverted again)
function incidents(   dom, t) {
    t = nl / RATE
    if (rand() < INC_P) {
        dom = sprintf("big%02d.example", int(rand() * NBIG))
        if (!(dom in inc) && !(dom in div)) { inc[dom] = 0; incstart[dom] = t }
    }
    for (dom in inc) {
        if (!(dom in div)) {
            if (inc[dom] >= 3) {
                div[dom] = rand() < 0.8 ? "alt-eu" : "alt-us"; divat[dom] = t; phase[dom] = "diverted"
                routed("divert: scope=destination:" dom " pool=m365 from=primary to=" div[dom] " rule=pool-reputation events=" inc[dom] "/10m ratio=1.00 hold=30m evidence=log:" inc[dom] " first=\"host " HOST["m365"] " said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal from this list please visit https://sender.office.com/ (in reply to RCPT TO command)\"")
            } else if (t - incstart[dom] > 600)
                delete inc[dom]      # the refusals stopped before a diversion
        } else if (phase[dom] == "diverted" && t - divat[dom] > 1800) {
            phase[dom] = "probing"; probeat[dom] = t
            routed("probe: scope=destination:" dom " from=" div[dom] " to=" div[dom] " rule=pool-reputation hold=30m share=0.5")
        } else if (phase[dom] == "probing" && t - probeat[dom] > 300) {
            if (rand() < 0.125) {
                # a failure through the primary while probing: back to the alternate
                routed("divert: scope=destination:" dom " pool=m365 from=primary to=" div[dom] " rule=pool-reputation events=1/10m ratio=1.00 hold=60m evidence=log:1 first=\"host " HOST["m365"] " said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2].\" reason=\"relapse while probing\"")
                divat[dom] = t; phase[dom] = "diverted"
            } else {
                routed("return: scope=destination:" dom " pool=m365 from=" div[dom] " to=primary rule=pool-reputation successes=" 2 + int(rand() * 5))
                delete div[dom]; delete inc[dom]
            }
        }
    }
}
BEGIN {
    srand(SEED); RATE = 100; NBIG = 20; NDOM = 2000; INC_P = 1 / 11000
    HOST["m365"] = "smtp.m365.example"; HOST["alt-eu"] = "relay.alt-eu.example"; HOST["alt-us"] = "relay.alt-us.example"
    ALT["m365"] = "smtp.m365.example[192.0.2.10]:25"
    ALT["alt-eu"] = "relay.alt-eu.example[192.0.2.20]:587"
    ALT["alt-us"] = "relay.alt-us.example[198.51.100.30]:587"
    routed("started: config=/etc/spillway/spillway.conf relays=3 pools=1 scopes=0")
    routed("config: relay=m365 role=primary nexthop=[smtp.m365.example]:25 priority=10")
    routed("config: relay=alt-eu role=alternate nexthop=[relay.alt-eu.example]:587 priority=10")
    routed("config: relay=alt-us role=alternate nexthop=[relay.alt-us.example]:587 priority=20")
    routed("dns: relay=m365 name=smtp.m365.example addresses=192.0.2.10 ttl=3600")
    routed("dns: relay=alt-eu name=relay.alt-eu.example addresses=192.0.2.20 ttl=3600")
    routed("dns: relay=alt-us name=relay.alt-us.example addresses=198.51.100.30 ttl=3600")
    while (nl < N) {
        sp = pid(100); nmsg = 1 + int(rand() * 3)
        out("postfix/smtpd[" sp "]", "connect from app" int(rand() * 40) ".org.example[10.1.0." int(rand() * 250) "]")
        for (i = 0; i < nmsg && nl < N; i++) {
            nm++; q = newqid(); nrc = rand() < 0.15 ? 2 : 1
            out("postfix/smtpd[" sp "]", q ": client=app" int(rand() * 40) ".org.example[10.1.0." int(rand() * 250) "]")
            out("postfix/cleanup[" pid(2000) "]", q ": message-id=<" q "." nm "@org.example>")
            out("postfix/qmgr[1001]", q ": from=<sender" int(rand() * 300) "@org.example>, size=" 1000 + int(rand() * 60000) ", nrcpt=" nrc " (queue active)")
            held = 0; prev = ""
            for (k = 0; k < nrc; k++) {
                r = rcpt(domain())
                if (r == prev) r = "x" r
                deliver(q, r); prev = r
            }
            if (!held) out("postfix/qmgr[1001]", q ": removed")
            incidents()
            # retries: the oldest deferral, some messages later
            if (nr > done + 30 || (nr > done && rand() < 0.02)) {
                split(retry[++done], a, " "); delete retry[done]
                out("postfix/qmgr[1001]", a[1] ": from=<sender" int(rand() * 300) "@org.example>, size=4242, nrcpt=1 (queue active)")
                d = a[2]; sub(/.*@/, "", d)
                out("postfix/smtp[" pid(3000) "]", a[1] ": to=<" a[2] ">, relay=" ((d in div) ? ALT[div[d]] : ALT["m365"]) ", " delays() ", dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as " int(rand() * 1e9) ")")
                out("postfix/qmgr[1001]", a[1] ": removed")
            }
        }
        out("postfix/smtpd[" sp "]", "disconnect from app1.org.example[10.1.0.1] ehlo=1 mail=" nmsg " rcpt=" nmsg " data=" nmsg " quit=1 commands=" 3 * nmsg + 2)
        if (rand() < 0.001) out("postfix/anvil[1005]", "statistics: max connection rate 12/60s for (smtp:10.1.0.7) at " substr(stamp(), 1, 15))
        if (rand() < 0.00003) {
            routed("warning: health: relay=alt-us address=198.51.100.30 state=down was=up probe=\"banner: timeout after 10s\" fails=1 next=60s relay_health=\"down 0/1\"")
            routed("warning: relay: name=alt-us role=alternate state=down was=up health=\"down 0/1\" eligible=no")
            routed("health: relay=alt-us address=198.51.100.30 state=up was=down ms=0/12/40/0/52 relay_health=\"up 1/1\"")
            routed("relay: name=alt-us role=alternate state=up was=down health=\"up 1/1\"")
        }
    }
}
EOF

# ---- runs --------------------------------------------------------------------
# one_run NAME LOG OUT : run one command (for /usr/bin/time)
cmd_of() {
    local name=$1 log=$2
    case $name in
    report) printf '%q --year %s %q' "$REPORT" "$YEAR" "$log" ;;
    pflogsumm) printf 'pflogsumm %q' "$log" ;;
    awk) printf '%s' "awk '/ status=/ { r = \$0; sub(/.* relay=/, \"\", r); sub(/,.*/, \"\", r); s = \$0; sub(/.* status=/, \"\", s); sub(/ .*/, \"\", s); n[r \" \" s]++ } END { for (k in n) print k, n[k] }' $(printf '%q' "$log")" ;;
    decisions) printf "grep -E 'spillway-routed\\\\[[0-9]+\\\\]: (divert|return):' %q | wc -l" "$log" ;;
    grep) printf "grep -c 'status=sent' %q" "$log" ;;
    esac
}
label_of() {
    case $1 in
    report) echo "spillway-report" ;;
    pflogsumm) echo "pflogsumm" ;;
    awk) echo "awk per relay" ;;
    decisions) echo "grep decisions | wc" ;;
    grep) echo "grep -c status=sent" ;;
    esac
}

# steal_note N STEAL0 SECONDS0 : the hypervisor's steal time during the timed runs
steal_note() {
    local secs=$((SECONDS - $3))
    ((secs > 0)) || secs=1
    awk -v a="$2" -v b="$(bench_steal_ticks)" -v hz="$(getconf CLK_TCK)" -v t="$secs" -v c="$(nproc)" -v n="$1" \
        -v busy="$(bench_foreign_busy)" 'BEGIN {
        printf "timed runs on %d lines: %d s, steal %.1f%% of the CPUs%s\n", n, t, 100 * (b - a) / hz / (t * c),
            busy == "" ? "" : "; OTHER LOAD: " busy }'
}

bench_machine_note
echo "spillway-report: $REPORT (sha256 $(sha256sum "$REPORT" | cut -c1-12)); $(perl -e 'printf "perl %vd", $^V')"
command -v pflogsumm >/dev/null && echo "pflogsumm: $(dpkg-query -W -f='${Version}' pflogsumm 2>/dev/null)"
echo "awk: $(readlink -f "$(command -v awk)"); grep: $(grep --version | head -n1)"
if [[ -n $HYPERFINE ]]; then
    echo "timing: $("$HYPERFINE" --version), $REPEAT runs per command"
else
    echo "timing: /usr/bin/time, $REPEAT runs per command (hyperfine not installed)"
fi

read -r -a tools <<<"$TOOLS"
errors=0
results=()                       # "size|tool|median|min|max|rss_kb|cpu_s"
checks=()
for n in $SIZES; do
    log=$BENCH_DIR/mail-$n.log
    t0=$(date +%s.%N)
    awk -v N="$n" -v SEED=42 -f "$BENCH_DIR/gen.awk" >"$log"
    t1=$(date +%s.%N)
    lines=$(wc -l <"$log")
    bytes=$(stat -c %s "$log")
    echo
    printf 'log: %s lines, %.1f MB, generated in %.1f s; %s status=sent, %s deferred, %s bounced, %s spillway-routed lines\n' \
        "$lines" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$(grep -c ' status=sent ' "$log")" "$(grep -c ' status=deferred ' "$log")" \
        "$(grep -c ' status=bounced ' "$log")" "$(grep -c ' spillway-routed\[' "$log")"

    # one run of each under /usr/bin/time: peak RSS, CPU, the output (and a
    # warm page cache for the timed runs)
    declare -A rss=() cpu=()
    for t in "${tools[@]}"; do
        cmd=$(cmd_of "$t" "$log")
        if ! timeout "$RUN_TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$BENCH_DIR/time.$t" \
            bash -c "$cmd" >"$BENCH_DIR/out.$t.$n" 2>"$BENCH_DIR/err.$t.$n"; then
            bench_msg "$t failed on $n lines:"; tail -n5 "$BENCH_DIR/err.$t.$n" >&2
            errors=$((errors + 1))
        fi
        read -r _ u s m <"$BENCH_DIR/time.$t" || true
        rss[$t]=$m
        cpu[$t]=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        bench_msg "$n lines, $(label_of "$t"): $(cat "$BENCH_DIR/time.$t") (wall user sys maxrss_kb)"
    done

    # the sanity check
    if [[ " $TOOLS " == *" report "* ]]; then
        read -r rep_sent rep_def rep_bnc < <(awk '$1 == "total" { print $2, $3, $4 }' "$BENCH_DIR/out.report.$n")
        g_sent=$(grep -c ' status=sent ' "$log")
        g_def=$(grep -c ' status=deferred ' "$log")
        g_bnc=$(grep -c ' status=bounced ' "$log")
        pf_del='-'
        [[ -f $BENCH_DIR/out.pflogsumm.$n ]] &&
            pf_del=$(awk '$2 == "delivered" { print $1; exit }' "$BENCH_DIR/out.pflogsumm.$n")
        verdict=ok
        if [[ ${rep_sent:-x} != "$g_sent" || ${rep_def:-x} != "$g_def" || ${rep_bnc:-x} != "$g_bnc" ]]; then
            verdict=MISMATCH
            errors=$((errors + 1))
        fi
        # pflogsumm writes 1024 and more as 1k, 2k...
        checks+=("$(printf '%s lines: spillway-report delivered %s deferred %s bounced %s; grep status=sent %s deferred %s bounced %s; pflogsumm delivered %s: %s' \
            "$n" "${rep_sent:-?}" "${rep_def:-?}" "${rep_bnc:-?}" "$g_sent" "$g_def" "$g_bnc" "${pf_del:-?}" "$verdict")")
        echo "check: ${checks[-1]}"
        echo "spillway-report's summary of this log:"
        awk '/^  (period|lines):/ { print "  " $0 } /^Messages per relay/ { m = 1 } m && /^$/ { m = 0 }
             m { print "  " $0 } /^  (destination|pool):/ { ns++ } /^  20[0-9][0-9]-/ { nt++ }
             END { printf "  (%d timeline entries; %d scopes left the primary at least once)\n", nt, ns }' \
            "$BENCH_DIR/out.report.$n"
    fi

    # timed runs
    if [[ -n $HYPERFINE ]]; then
        hf=()
        # output to a file, not /dev/null: GNU grep stops at the first match
        # when its output is /dev/null
        for t in "${tools[@]}"; do hf+=(-n "$(label_of "$t")" "$(cmd_of "$t" "$log") >$BENCH_DIR/hf.out"); done
        st0=$(bench_steal_ticks)
        s0=$SECONDS
        timeout $((RUN_TIMEOUT * REPEAT * ${#tools[@]})) "$HYPERFINE" --style basic --runs "$REPEAT" --warmup 0 \
            --export-json "$BENCH_DIR/hf.$n.json" "${hf[@]}" >"$BENCH_DIR/hf.$n.txt" 2>&1 ||
            { cat "$BENCH_DIR/hf.$n.txt" >&2; bench_die "hyperfine failed on $n lines"; }
        steal_note "$n" "$st0" "$s0"
        while IFS='|' read -r i med mn mx; do
            t=${tools[$i]}
            results+=("$n|$t|$med|$mn|$mx|${rss[$t]}|${cpu[$t]}")
        done < <(perl -MJSON::PP -e '
            local $/; my $j = decode_json(<STDIN>); my $i = 0;
            for my $r (@{ $j->{results} }) {
                printf "%d|%.3f|%.3f|%.3f\n", $i++, $r->{median}, $r->{min}, $r->{max};
            }' <"$BENCH_DIR/hf.$n.json")
    else
        st0=$(bench_steal_ticks)
        s0=$SECONDS
        for ((r = 1; r <= REPEAT; r++)); do
            for t in "${tools[@]}"; do
                timeout "$RUN_TIMEOUT" /usr/bin/time -f '%e' -a -o "$BENCH_DIR/wall.$t.$n" \
                    bash -c "$(cmd_of "$t" "$log")" >"$BENCH_DIR/hf.out" 2>&1 || errors=$((errors + 1))
            done
        done
        steal_note "$n" "$st0" "$s0"
        for t in "${tools[@]}"; do
            read -r med mn mx < <(sort -g "$BENCH_DIR/wall.$t.$n" | awk '{ v[NR] = $1 }
                END { printf "%.3f %.3f %.3f\n", v[int((NR + 1) / 2)], v[1], v[NR] }')
            results+=("$n|$t|$med|$mn|$mx|${rss[$t]}|${cpu[$t]}")
        done
    fi
    unset rss cpu
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -f "$log"
done

# ---- report ------------------------------------------------------------------
echo
echo "wall time: median of $REPEAT runs (min-max); lines/s from the median; peak RSS and CPU of one more run"
printf '%-10s %-22s %9s %17s %12s %10s %8s %10s\n' lines command median_s min-max_s lines/s vs_report cpu_s peak_RSS_MB
declare -A median_of=()
for row in "${results[@]}"; do
    IFS='|' read -r n t med _ <<<"$row"
    median_of[$n.$t]=$med
done
for row in "${results[@]}"; do
    IFS='|' read -r n t med mn mx kb cs <<<"$row"
    repmed=${median_of[$n.report]:-0}
    awk -v n="$n" -v t="$(label_of "$t")" -v med="$med" -v mn="$mn" -v mx="$mx" -v kb="$kb" -v cs="$cs" -v rm="$repmed" 'BEGIN {
        printf "%-10d %-22s %9.3f %17s %12.0f %10s %8s %10.1f\n", n, t, med, sprintf("%.3f-%.3f", mn, mx),
            (med > 0 ? n / med : 0), (rm > 0 && med > 0 ? sprintf("%.2fx", rm / med) : "-"), cs, kb / 1024 }'
done
echo "(vs_report: spillway-report's median over this command's; above 1 means this command is faster)"
echo
for c in "${checks[@]}"; do echo "check: $c"; done
if ((errors)); then
    echo "bench: $errors error(s) (failed runs or a count mismatch, above)" >&2
    exit 1
fi
