#!/usr/bin/perl
# bench/bounceparser_rate.pl - Mail::DeliveryStatus::BounceParser's bounce
# analysis rate, timed inside Perl.
#
# The second peer of `spillway-milter --analyze` in bench/run-analyze.sh:
# the same files through BounceParser (Debian's
# libmail-deliverystatus-bounceparser-perl, 1.543) in one Perl process, so
# that neither perl's start-up nor module loading counts; the same interface
# and output as bench/sisimai_rate.pl.
#
#   perl bench/bounceparser_rate.pl [-r PASSES] [-o RECORDS.tsv] FILE...
#
# Each file is read into memory and given to
# Mail::DeliveryStatus::BounceParser->parse inside eval (the man page: it can
# die on real-world input); reading the file is timed, as Sisimai reads its
# files itself.  A file on which it dies counts, with no record.  Records:
# $bounce->reports (without report_non_bounces, so no 2xx "no_problemo"),
# also when is_bounce is false (a vacation reply or a transient failure).
#
# Runs PASSES passes (default 3, at most 100).  The rate is the median of
# passes 2..PASSES (pass 1 warms the regex and MIME code up).  stdout, one
# key=value line per pass and one summary line:
#   pass=N files=F records=R died=D secs=S rate=MSGS_PER_S
#   bounceparser=VERSION load_secs=S passes=N files=F median_rate=X first_pass_rate=Y
# -o: the records of pass 1, tab-separated, in BounceParser's order per file:
#   file  index  std_reason  status  action  reason  is_bounce  email
# (tabs and newlines removed).
use strict;
use warnings;
use Getopt::Std;
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC);

my %opt;
getopts('r:o:', \%opt) && @ARGV
    or die "usage: bounceparser_rate.pl [-r PASSES] [-o RECORDS.tsv] FILE...\n";
my $passes = $opt{r} // 3;
die "bounceparser_rate.pl: -r must be 1..100\n" unless $passes =~ /^\d+$/ && $passes >= 1 && $passes <= 100;
my @files = @ARGV;
for my $f (@files) { die "bounceparser_rate.pl: $f: not a readable file\n" unless -f $f && -r _ }

my $t0 = clock_gettime(CLOCK_MONOTONIC);
require Mail::DeliveryStatus::BounceParser;
my $load = clock_gettime(CLOCK_MONOTONIC) - $t0;

# clean - one line of text for the TSV
sub clean {
    my $s = shift // '';
    $s =~ s/[\t\r\n]+/ /g;
    $s =~ s/^\s+|\s+$//g;
    return $s;
}

# BounceParser and MIME::Tools warn on odd input; count, do not print
my $warnings = 0;
local $SIG{__WARN__} = sub { $warnings++ };

my $out;
if (defined $opt{o}) {
    open($out, '>', $opt{o}) or die "bounceparser_rate.pl: $opt{o}: $!\n";
}
my @rates;
for my $p (1 .. $passes) {
    my ($records, $died) = (0, 0);
    my $start = clock_gettime(CLOCK_MONOTONIC);
    for my $f (@files) {
        open(my $fh, '<:raw', $f) or die "bounceparser_rate.pl: $f: $!\n";
        my $text = do { local $/; <$fh> };
        close($fh);
        my $bounce = eval { Mail::DeliveryStatus::BounceParser->parse($text) };
        if (!$bounce) {
            $died++;
            next;
        }
        my @reports = $bounce->reports;
        $records += @reports;
        next unless $out && $p == 1;
        my $i = 0;
        for my $r (@reports) {
            $i++;
            print $out join("\t", $f, $i, map({ clean($r->get($_)) }
                                              qw(std_reason status action reason)),
                            $bounce->is_bounce ? 1 : 0, clean($r->get('email'))), "\n";
        }
    }
    my $secs = clock_gettime(CLOCK_MONOTONIC) - $start;
    my $rate = $secs > 0 ? @files / $secs : 0;
    push @rates, $rate;
    printf "pass=%d files=%d records=%d died=%d secs=%.3f rate=%.1f\n", $p, scalar @files, $records,
        $died, $secs, $rate;
    if ($out && $p == 1) {
        close($out) or die "bounceparser_rate.pl: $opt{o}: $!\n";
        undef $out;
    }
}
my @later = sort { $a <=> $b } (@rates > 1 ? @rates[1 .. $#rates] : @rates);
printf "bounceparser=%s load_secs=%.3f passes=%d files=%d warnings=%d median_rate=%.1f first_pass_rate=%.1f\n",
    $Mail::DeliveryStatus::BounceParser::VERSION, $load, $passes, scalar @files, $warnings,
    $later[int($#later / 2)], $rates[0];
