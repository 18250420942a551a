#!/usr/bin/perl
# bench/sisimai_rate.pl - Sisimai's bounce analysis rate, timed inside Perl.
#
# The comparison for `spillway-milter --analyze` in bench/run-analyze.sh:
# the same files through Sisimai (Debian's libsisimai-perl, 4.25:
# Sisimai->make(PATH); Sisimai 5 renamed it Sisimai->rise) in one Perl
# process, so that neither perl's start-up nor module loading counts.
#
#   perl bench/sisimai_rate.pl [-r PASSES] [-o RECORDS.tsv] FILE...
#
# Runs PASSES passes (default 3, at most 100) over the files.  Sisimai loads
# its parser modules on first use, so pass 1 includes that; the rate is the
# median of the other passes.  stdout, one key=value line per pass and one
# summary line:
#   pass=N files=F records=R secs=S rate=MSGS_PER_S
#   sisimai=VERSION load_secs=S passes=N files=F median_rate=X first_pass_rate=Y
# -o: the records of pass 1, tab-separated, in Sisimai's order per file:
#   file  index  reason  status  action  diagnostic (tabs and newlines removed)
use strict;
use warnings;
use Getopt::Std;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my %opt;
getopts('r:o:', \%opt) && @ARGV or die "usage: sisimai_rate.pl [-r PASSES] [-o RECORDS.tsv] FILE...\n";
my $passes = $opt{r} // 3;
die "sisimai_rate.pl: -r must be 1..100\n" unless $passes =~ /^\d+$/ && $passes >= 1 && $passes <= 100;
my @files = @ARGV;
for my $f (@files) { die "sisimai_rate.pl: $f: not a readable file\n" unless -f $f && -r _ }

my $t0 = clock_gettime(CLOCK_MONOTONIC);
require Sisimai;
require Sisimai::Data;
require Sisimai::Message;
require Sisimai::Mail;
my $load = clock_gettime(CLOCK_MONOTONIC) - $t0;
my $api = Sisimai->can('rise') ? 'rise' : 'make';    # 5.x : 4.x

# clean - one line of text for the TSV
sub clean {
    my $s = shift // '';
    $s =~ s/[\t\r\n]+/ /g;
    return $s;
}

my $out;
if (defined $opt{o}) {
    open($out, '>', $opt{o}) or die "sisimai_rate.pl: $opt{o}: $!\n";
}
my @rates;
for my $p (1 .. $passes) {
    my $records = 0;
    my $start = clock_gettime(CLOCK_MONOTONIC);
    for my $f (@files) {
        my $list = Sisimai->$api($f) // [];
        $records += scalar @$list;
        next unless $out && $p == 1;
        my $i = 0;
        for my $d (@$list) {
            $i++;
            print $out join("\t", $f, $i, clean($d->reason), clean($d->deliverystatus),
                            clean($d->action), clean($d->diagnosticcode)), "\n";
        }
    }
    my $secs = clock_gettime(CLOCK_MONOTONIC) - $start;
    my $rate = $secs > 0 ? @files / $secs : 0;
    push @rates, $rate;
    printf "pass=%d files=%d records=%d secs=%.3f rate=%.1f\n", $p, scalar @files, $records, $secs, $rate;
    if ($out && $p == 1) {
        close($out) or die "sisimai_rate.pl: $opt{o}: $!\n";
        undef $out;
    }
}
my @later = sort { $a <=> $b } (@rates > 1 ? @rates[1 .. $#rates] : @rates);
printf "sisimai=%s api=%s load_secs=%.3f passes=%d files=%d median_rate=%.1f first_pass_rate=%.1f\n",
    $Sisimai::VERSION, $api, $load, $passes, scalar @files, $later[int($#later / 2)], $rates[0];
