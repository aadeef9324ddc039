#!/usr/bin/env perl
# 04-recipe.pl: the two programs of the recipe in the seeds (an end-marker
# server and its client), ported to Perl. Chapter 4's tests use them to prove
# that bin/04-shutdown puts exactly the recipe's bytes on the wire, so that it
# talks to the recipe's programs and they to it.
#
# Usage: perl tests/04-recipe.pl client PORT PAYLOAD MARKER
#            payload, then marker, then shutdown(SHUT_WR); prints the reply (read to EOF)
#        perl tests/04-recipe.pl server MARKER
#            prints "port N", serves one connection the recipe's way, exits
#        perl tests/04-recipe.pl frame PORT HEADER_LENGTH PAYLOAD
#            sends a 4-byte big-endian HEADER_LENGTH, then PAYLOAD, then
#            shutdown(SHUT_WR); prints the reply (read to EOF)
#        perl tests/04-recipe.pl reset PORT BYTES
#            not the recipe: sends BYTES, then resets the connection (SO_LINGER 0)
#        perl tests/04-recipe.pl liar LENGTH
#            not the recipe: a length-prefix server that lies. Prints "port N",
#            reads one framed message, answers with a header announcing LENGTH
#            bytes and 16 bytes of them, then waits (10 s at most) for the
#            client's EOF
#        perl tests/04-recipe.pl refuse
#            not the recipe: prints "port N" of a socket bound and never
#            listening, where every connect is refused; stays 30 s at most
#        perl tests/04-recipe.pl endless
#            not the recipe: a server that never stops answering. Prints "port N",
#            accepts one client and sends it bytes until it goes (20 s at most)
# See also: chapters/04-shutdown/README.md, tests/04-shutdown.bats.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SHUT_WR SOL_SOCKET SO_LINGER);

my $role = shift // die "usage: 04-recipe.pl client|server|frame|reset|liar|refuse|endless ...\n";
binmode STDOUT;

sub write_all {
    my ($socket, $bytes) = @_;
    while (length $bytes) {
        my $n = syswrite($socket, $bytes) // die "send: $!\n";
        substr($bytes, 0, $n) = '';
    }
}

# Reads to EOF in tiny pieces, as the recipe's client does (recv(2)).
sub read_to_eof {
    my ($socket, $size) = @_;
    my $all = '';
    while (1) {
        my $n = sysread($socket, my $piece, $size) // die "recv: $!\n";
        last if $n == 0;
        $all .= $piece;
    }
    return $all;
}

sub read_exactly {
    my ($socket, $want) = @_;
    my $all = '';
    while (length $all < $want) {
        my $n = sysread($socket, my $piece, $want - length $all) // die "recv: $!\n";
        die "recv: EOF after " . length($all) . " of $want bytes\n" if $n == 0;
        $all .= $piece;
    }
    return $all;
}

# A listener on a free port of 127.0.0.1, its port printed ("port N"), and
# the one client it accepts.
sub accept_one {
    my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                         Listen => 1, Proto => 'tcp', ReuseAddr => 1)
        // die "listen: $!\n";
    $| = 1;
    print "port ", $listener->sockport, "\n";
    return $listener->accept // die "accept: $!\n";
}

sub connect_to {
    my ($port) = @_;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
        // die "connect: $!\n";
}

if ($role eq 'client') {
    my ($port, $payload, $marker) = @ARGV;
    my $socket = connect_to($port);
    write_all($socket, $payload . $marker);
    shutdown($socket, SHUT_WR) // die "shutdown: $!\n";
    print read_to_eof($socket, 2);
} elsif ($role eq 'frame') {
    my ($port, $length, $payload) = @ARGV;
    my $socket = connect_to($port);
    write_all($socket, pack('N', $length) . $payload);
    # The EOF where a next length would start: the server then closes too.
    shutdown($socket, SHUT_WR) // die "shutdown: $!\n";
    print read_to_eof($socket, 8192);
} elsif ($role eq 'reset') {
    my ($port, $bytes) = @ARGV;
    my $socket = connect_to($port);
    write_all($socket, $bytes);
    # Linger on, for 0 seconds: close() then sends RST instead of FIN.
    setsockopt($socket, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) // die "setsockopt: $!\n";
    close $socket;
} elsif ($role eq 'liar') {
    my ($length) = @ARGV;
    my $client = accept_one();
    my $header = read_exactly($client, 4);
    read_exactly($client, unpack('N', $header));
    write_all($client, pack('N', $length) . ('x' x 16));
    local $SIG{ALRM} = sub { exit 0 };
    alarm 10;
    read_to_eof($client, 8192);
    close $client;
} elsif ($role eq 'refuse') {
    my $bound = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
        // die "bind: $!\n";
    $| = 1;
    print "port ", $bound->sockport, "\n";
    sleep 30;
} elsif ($role eq 'endless') {
    my $client = accept_one();
    local $SIG{PIPE} = 'IGNORE';
    local $SIG{ALRM} = sub { exit 0 };
    alarm 20;
    my $block = 'y' x 65536;
    while (defined syswrite($client, $block)) {}
} elsif ($role eq 'server') {
    my ($marker) = @ARGV;
    my $client = accept_one();
    # The recipe reads until the marker or EOF; this port searches all it has
    # received each time (not just the last two pieces), so it never misses it.
    my ($data, $at) = ('', -1);
    while (1) {
        my $n = sysread($client, my $piece, 8192) // die "recv: $!\n";
        last if $n == 0;
        $data .= $piece;
        $at = index($data, $marker);
        last if $at >= 0;
    }
    write_all($client, $at >= 0 ? substr($data, 0, $at) x 2 : 'ERROR:no end!');
    shutdown($client, SHUT_WR);
    close $client;
} else {
    die "04-recipe.pl: unknown role '$role'\n";
}
