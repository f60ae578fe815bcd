#!/usr/bin/perl
# Writes the small MaxMind DB fixtures of tests/unit/geo/test_geo.c:
#   city6.mmdb     IPv6 tree with IPv4 under ::/96 (aliased), city layout
#   country4.mmdb  IPv4 tree, country layout
# Needs MaxMind::DB::Writer (Debian: libmaxmind-db-writer-perl). The
# outputs are committed, so the tests do not need perl.
# Usage: perl make-mmdb.pl [OUTDIR]
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $dir = shift // '.';

my %types = (
	city               => 'map',
	country            => 'map',
	registered_country => 'map',
	location           => 'map',
	names              => 'map',
	en                 => 'utf8_string',
	iso_code           => 'utf8_string',
	latitude           => 'double',
	longitude          => 'double',
);
my $types = sub { $types{ $_[0] } // die "no type for key $_[0]" };

sub tree {
	my ($ipv, $type) = @_;
	return MaxMind::DB::Writer::Tree->new(
		ip_version            => $ipv,
		record_size           => 24,
		database_type         => $type,
		languages             => ['en'],
		description           => { en => 'geosteer unit test fixture' },
		map_key_type_callback => $types,
		alias_ipv6_to_ipv4    => ($ipv == 6 ? 1 : 0),
		remove_reserved_networks => 0,
	);
}

sub write_tree {
	my ($t, $name) = @_;
	open(my $fh, '>:raw', "$dir/$name") or die "$dir/$name: $!";
	$t->write_tree($fh);
	close($fh) or die "$dir/$name: $!";
}

my $london = {
	city     => { names => { en => 'London' } },
	country  => { iso_code => 'GB' },
	location => { latitude => 51.5, longitude => -0.125 },
};
my $paris = {
	city     => { names => { en => 'Paris' } },
	country  => { iso_code => 'FR' },
	location => { latitude => 48.875, longitude => 2.375 },
};
my $japan = { country => { iso_code => 'JP' } };
my $reg_only = { registered_country => { iso_code => 'BR' } };
my $bad_code = { country => { iso_code => 'XQ' } };

my $t = tree(6, 'GeoSteer-Test-City');
$t->insert_network('10.1.0.0/16', $london);
$t->insert_network('10.2.0.0/24', $paris);
$t->insert_network('10.3.0.0/17', $japan);
$t->insert_network('10.4.0.0/32', $reg_only);
$t->insert_network('10.5.0.0/24', $bad_code);
$t->insert_network('2001:db8:1::/48', $london);
$t->insert_network('2001:db8:2::/64', $japan);
$t->insert_network('2a00::/12', $paris);
write_tree($t, 'city6.mmdb');

$t = tree(4, 'GeoSteer-Test-Country');
$t->insert_network('192.0.2.0/25', { country => { iso_code => 'DE' } });
$t->insert_network('192.0.2.128/25', { country => { iso_code => 'US' } });
$t->insert_network('198.51.100.0/24', $japan);
write_tree($t, 'country4.mmdb');
