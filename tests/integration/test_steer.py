#!/usr/bin/env python3
"""GeoIP steering against Debian's tor-geoipdb: A/AAAA at steered names
(exact and wildcard hosts) come from the nearest region of the client, the
client being the ECS address (source prefix > 0) or the packet's source
(bound with dig/kdig -b on 127/8, mapped by an overrides file); ECS scope
covers exactly a block that gets the same answer; other types and names
with their own addresses come from the zone; default_location; SIGHUP with a
changed overrides file; load-time errors from --check; load time and RSS of
the tor databases.

Test addresses are picked at run time from the tor files (the middle of the
first range of a country), so the test follows the installed data."""

import bisect
import ipaddress
import json
import os
import re
import shutil
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (AA, HAVE_IPV6, OPT_ECS, Daemon,  # noqa: E402
                    DaemonTestCase, ecs_option, make_query, wait_for)

TOR_DIR = os.environ.get("GS_TOR_GEOIP_DIR") or "/usr/share/tor"
GEOIP4 = os.path.join(TOR_DIR, "geoip")
GEOIP6 = os.path.join(TOR_DIR, "geoip6")

Z = "steer.test."
HOST = "teleport." + Z
API = "api." + Z
SOA_MIN = 300  # negative TTL of steer.test.zone
TTL = 30
API_TTL = 60
RELOAD_WAIT = 5.0
LOAD_MS_MAX = 1000.0
RSS_MAX_KIB = 64 * 1024

US, EU, AP = "us-east-1", "eu-west-1", "ap-south-1"
REGION_A = {US: ["192.0.2.10"], EU: ["198.51.100.10", "198.51.100.11"],
            AP: ["203.0.113.10"]}
REGION_AAAA = {US: ["2001:db8::10"], EU: [], AP: []}
SERVICE = {
    "name": "teleport",
    "hosts": ["teleport.steer.test", "*.teleport.steer.test"],
    "ttl": TTL,
    "regions": [
        {"name": US, "lat": 38.9, "lon": -77.4,
         "addresses": ["192.0.2.10", "2001:db8::10"]},
        {"name": EU, "lat": 53.3, "lon": -6.3,
         "addresses": ["198.51.100.10", "198.51.100.11"]},
        {"name": AP, "lat": 19.1, "lon": 72.9, "addresses": ["203.0.113.10"]},
    ],
}
# A second service, IPv4 only, with other regions: services are separate.
API_SERVICE = {
    "name": "api",
    "hosts": ["api.steer.test"],
    "ttl": API_TTL,
    "regions": [
        {"name": "eu-central-1", "lat": 50.1, "lon": 8.7,
         "addresses": ["192.0.2.20"]},
        {"name": "ap-northeast-1", "lat": 35.7, "lon": 139.7,
         "addresses": ["192.0.2.21"]},
    ],
}

# Countries whose nearest region is beyond doubt (centroids vs regions).
COUNTRY_REGION = {"DE": EU, "GB": EU, "FR": EU, "JP": AP, "IN": AP,
                  "US": US, "CA": US, "BR": US}

NETS = """# test overrides: CIDR TARGET
# a /29 written before the /32 inside it: the narrower one still wins
127.0.0.8/29 ap-south-1
127.0.0.2/32 eu-west-1
127.0.0.9/32 eu-west-1

# a country code, then coordinates near Mumbai, then near Paris
127.0.0.3/32 JP
127.0.0.4/32 19.0,73.0
127.0.0.5/32 48.9,2.3
::1/128 eu-west-1
"""
# the source addresses above and where they lead
SOURCES = {"127.0.0.1": US, "127.0.0.2": EU, "127.0.0.3": AP,
           "127.0.0.4": AP, "127.0.0.5": EU,
           "127.0.0.8": AP, "127.0.0.9": EU, "127.0.0.10": AP}


def steer_conf(default_location=None, overrides="nets.txt",
               databases=(GEOIP4, GEOIP6)):
    geoip = {"databases": list(databases)}
    if overrides is not None:
        geoip["overrides"] = overrides
    if default_location is not None:
        geoip["default_location"] = default_location
    return {"zones": [{"origin": "steer.test", "file": "steer.test.zone"}],
            "geoip": geoip,
            "services": [json.loads(json.dumps(SERVICE)),
                         json.loads(json.dumps(API_SERVICE))]}


# --------------------------------------------------------------------------
# the tor databases, read here to pick addresses and to judge ECS scopes


class TorTable:
    """One tor-geoipdb file as sorted (lo, hi, cc) integer ranges."""

    def __init__(self, path, v6):
        self.v6 = v6
        rows = []
        with open(path) as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                lo, hi, cc = line.strip().split(",")
                if v6:
                    lo = int.from_bytes(socket.inet_pton(socket.AF_INET6, lo),
                                        "big")
                    hi = int.from_bytes(socket.inet_pton(socket.AF_INET6, hi),
                                        "big")
                else:
                    lo, hi = int(lo), int(hi)
                rows.append((lo, hi, cc))
        rows.sort()
        self.lo = [r[0] for r in rows]
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def addr(self, n):
        return ipaddress.IPv6Address(n) if self.v6 else \
            ipaddress.IPv4Address(n)

    def first(self, cc, min_lo=0, aligned=None):
        """The first range of country cc starting at min_lo or later
        (containing a whole aligned block of `aligned` addresses if
        given): (lo, hi)."""
        for lo, hi, c in self.rows:
            if c != cc or lo < min_lo:
                continue
            if aligned:
                start = (lo + aligned - 1) // aligned * aligned
                if start + aligned - 1 > hi:
                    continue
            return lo, hi
        raise AssertionError("no %s range in the tor %s database" %
                             (cc, "IPv6" if self.v6 else "IPv4"))

    def countries(self, first, last):
        """Country codes of the ranges meeting [first, last]; "??" stands
        for the gaps (no data) as well."""
        out = set()
        i = bisect.bisect_right(self.lo, first) - 1
        if i < 0:
            i = 0
        pos = first
        while i < len(self.rows) and self.rows[i][0] <= last:
            lo, hi, cc = self.rows[i]
            i += 1
            if hi < first:
                continue
            if lo > pos:
                out.add("??")
            out.add(cc)
            pos = hi + 1
            if pos > last:
                break
        if pos <= last:
            out.add("??")
        return out


_tables = {}


def tor(v6):
    if v6 not in _tables:
        _tables[v6] = TorTable(GEOIP6 if v6 else GEOIP4, v6)
    return _tables[v6]


# IPv6 test addresses come from global unicast space past 2001::/16 and
# 2002::/16 (Teredo, 6to4 and other special blocks).
V6_MIN = 0x2003 << 112


def sample(cc, v6=False):
    """The middle address of the first range of cc (ipaddress object)."""
    t = tor(v6)
    lo, hi = t.first(cc, V6_MIN if v6 else 0)
    return t.addr((lo + hi) // 2)


def teleport_first(cc):
    """The A addresses the shared daemon answers teleport with for a tor
    country code, or None if this test does not know; unknown locations
    ("??" and gaps) get the config order: us-east-1 first."""
    if cc == "??":
        return REGION_A[US]
    region = COUNTRY_REGION.get(cc)
    return REGION_A[region] if region else None


# api has two regions: its first region is its whole order
API_EU, API_AP = ["192.0.2.20"], ["192.0.2.21"]
API_FIRST = {"DE": API_EU, "FR": API_EU, "GB": API_EU, "US": API_EU,
             "JP": API_AP, "KR": API_AP, "CN": API_AP, "AU": API_AP}


def api_first(cc):
    if cc == "??":
        return API_EU
    return API_FIRST.get(cc)


# --------------------------------------------------------------------------
# reading answers


def ecs_of(m):
    """The ECS option of a dig/kdig reply: (address, source, scope) or None."""
    v = m.option("CLIENT-SUBNET")
    if v is None:
        return None
    text = v.split()[0]
    addr, src, scope = text.rsplit("/", 2)
    return ipaddress.ip_address(addr), int(src), int(scope)


def addrs_of(m, qtype="A"):
    return sorted(str(ipaddress.ip_address(r.rdata))
                  for r in m.rrs("answer", qtype))


def norm(addrs):
    return sorted(str(ipaddress.ip_address(a)) for a in addrs)


class SteerBase(DaemonTestCase):
    CONF = steer_conf()
    ZONES = {"nets.txt": NETS}

    # (client, tcp) pairs: every behaviour is checked over UDP and TCP and
    # with two clients; ALL_MODES for the central cases
    MODES = (("dig", False), ("kdig", True))
    ALL_MODES = (("dig", False), ("dig", True), ("kdig", False),
                 ("kdig", True))

    def ask(self, qname=HOST, qtype="A", client="dig", tcp=False, src=None,
            subnet=None, host="127.0.0.1"):
        extra = []
        if src:
            extra += ["-b", src]
        if subnet is not None:
            extra.append("+subnet=%s" % subnet)
        return self.d.query(client, qname, qtype, host=host, tcp=tcp,
                            extra=extra)

    def assertSteered(self, m, addrs, qtype="A", qname=HOST, ttl=TTL):
        """NOERROR, AA, exactly the records addrs of type qtype at qname,
        each with the service TTL."""
        self.assertEqual(m.status, "NOERROR", m)
        self.assertIn("aa", m.flags, m)
        self.assertEqual(len(m.answer), len(addrs), m)
        for r in m.answer:
            self.assertEqual(r.type, qtype, m)
            self.assertEqual(r.name.lower(), qname.lower(), m)
            self.assertEqual(r.ttl, ttl, "TTL: %s" % m)
        self.assertEqual(addrs_of(m, qtype), norm(addrs), m)

    def assertEcs(self, m, addr, source, scope=None):
        """The reply echoes family, source prefix and address; scope is
        returned (and compared if given)."""
        e = ecs_of(m)
        self.assertIsNotNone(e, "no ECS in the reply: %s" % m)
        self.assertEqual(e[0], ipaddress.ip_address(addr), m)
        self.assertEqual(e[1], source, m)
        if scope is not None:
            self.assertEqual(e[2], scope, m)
        return e[2]

    def check_scope_block(self, addr, source, want, qtype="A", qname=HOST,
                          ttl=TTL, first=teleport_first, whole_order=False):
        """Queries addr/source (ECS) for qname; checks the answer, and that
        the first and last address of the scope block get the same answer
        and scope with dig and kdig over UDP and TCP, that no address in
        the other half of the next wider block claims a wider scope, and
        that tor-geoipdb places nothing in the block that goes elsewhere
        (first(cc): the answer for a country, None if unknown to the test).
        whole_order: the answer shows the whole region order (a service of
        two regions), so the scope is checked to be the widest. Returns
        the scope."""
        addr = ipaddress.ip_address(addr)
        bits = addr.max_prefixlen
        m = self.ask(qname, qtype, subnet="%s/%d" % (addr, source))
        self.assertSteered(m, want, qtype, qname, ttl)
        scope = self.assertEcs(m, addr, source)
        self.assertGreater(scope, 0, "a country is not the whole space: %s"
                           % m)
        self.assertLessEqual(scope, bits, m)
        net = ipaddress.ip_network("%s/%d" % (addr, scope), strict=False)
        for probe in (net[0], net[-1]):
            for client, tcp in self.MODES:
                with self.subTest(addr=str(addr), probe=str(probe),
                                  client=client, tcp=tcp):
                    m = self.ask(qname, qtype, subnet="%s/%d" % (probe, bits),
                                 client=client, tcp=tcp)
                    self.assertSteered(m, want, qtype, qname, ttl)
                    self.assertEcs(m, probe, bits, scope)
        # the other half of the next wider block is not uniform with this
        # one: an address there cannot have a wider scope, and if that half
        # is uniform, it has another order
        sibling = [n for n in net.supernet().subnets() if n != net][0]
        m = self.ask(qname, qtype, subnet="%s/%d" % (sibling[0], bits))
        e = ecs_of(m)
        self.assertIsNotNone(e, m)
        self.assertGreaterEqual(e[2], scope, "%s has scope %d, but %s in the "
                                "other half of %s has scope %d" %
                                (addr, scope, sibling[0], net.supernet(),
                                 e[2]))
        if whole_order and e[2] == scope:
            self.assertNotEqual(addrs_of(m, qtype), norm(want),
                                "scope %d of %s is not the widest: %s gets "
                                "the same region with scope %d too" %
                                (scope, addr, sibling, scope))
        # the block may not hold an address the databases send elsewhere
        t = tor(addr.version == 6)
        ccs = t.countries(int(net[0]), int(net[-1]))
        wrong = {cc: first(cc) for cc in ccs
                 if first(cc) is not None and norm(first(cc)) != norm(want)}
        self.assertEqual(wrong, {}, "scope block %s of %s also holds "
                         "countries that go elsewhere" % (net, addr))
        return scope


class Steering(SteerBase):
    """One daemon with both tor files, overrides, no default_location."""

    # -- ECS --------------------------------------------------------------

    def test_ecs_ipv4_countries(self):
        for cc, region in sorted(COUNTRY_REGION.items()):
            a = sample(cc)
            for client, tcp in self.MODES:
                with self.subTest(cc=cc, addr=str(a), client=client, tcp=tcp):
                    m = self.ask(subnet="%s/32" % a, client=client, tcp=tcp)
                    self.assertSteered(m, REGION_A[region])
                    scope = self.assertEcs(m, a, 32)
                    self.assertTrue(0 < scope <= 32, m)

    def test_ecs_ipv6_countries(self):
        for cc, region in sorted(COUNTRY_REGION.items()):
            a = sample(cc, v6=True)
            for client, tcp in self.MODES:
                with self.subTest(cc=cc, addr=str(a), client=client, tcp=tcp):
                    m = self.ask(subnet="%s/128" % a, client=client, tcp=tcp)
                    self.assertSteered(m, REGION_A[region])
                    scope = self.assertEcs(m, a, 128)
                    self.assertTrue(0 < scope <= 128, m)

    def test_ecs_over_ipv6_transport(self):
        if not HAVE_IPV6:
            self.skipTest("no IPv6 loopback")
        # the ECS address decides, not the ::1 source (mapped to eu-west-1)
        for cc in ("JP", "US"):
            a = sample(cc)
            for client, tcp in self.MODES:
                with self.subTest(cc=cc, client=client, tcp=tcp):
                    m = self.ask(subnet="%s/32" % a, client=client, tcp=tcp,
                                 host="::1")
                    self.assertSteered(m, REGION_A[COUNTRY_REGION[cc]])
                    self.assertEcs(m, a, 32)

    def test_ecs_wins_over_source(self):
        # from 127.0.0.2 (eu-west-1) with a JP subnet, and the reverse
        for client, tcp in self.ALL_MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(src="127.0.0.2", subnet="%s/32" % sample("JP"),
                             client=client, tcp=tcp)
                self.assertSteered(m, REGION_A[AP])
                m = self.ask(src="127.0.0.3", subnet="%s/32" % sample("DE"),
                             client=client, tcp=tcp)
                self.assertSteered(m, REGION_A[EU])

    def test_ecs_address_mapped_by_override(self):
        # overrides apply to ECS addresses just like to sources
        for subnet, region in (("127.0.0.2/32", EU), ("127.0.0.3/32", AP),
                               ("127.0.0.4/32", AP), ("::1/128", EU)):
            for client, tcp in self.MODES:
                with self.subTest(subnet=subnet, client=client, tcp=tcp):
                    m = self.ask(subnet=subnet, client=client, tcp=tcp)
                    self.assertSteered(m, REGION_A[region])

    def test_ecs_unknown_location_config_order(self):
        for subnet in ("10.1.2.3/32", "192.168.1.1/32", "fd00::1/128"):
            for client, tcp in self.MODES:
                with self.subTest(subnet=subnet, client=client, tcp=tcp):
                    m = self.ask(src="127.0.0.2", subnet=subnet,
                                 client=client, tcp=tcp)
                    self.assertSteered(m, REGION_A[US])

    def test_ecs_shorter_source_prefix(self):
        """A /24 (IPv4) and a /56 (IPv6) inside a DE range: the source
        prefix and address are echoed; the scope block is consistent."""
        t = tor(False)
        lo, hi = t.first("DE", aligned=256)
        net = ipaddress.ip_network("%s/24" % t.addr((lo + 255) // 256 * 256))
        self.check_scope_block(net[0], 24, REGION_A[EU])
        m = self.ask(subnet=str(net), client="kdig", tcp=True)
        self.assertSteered(m, REGION_A[EU])
        self.assertEcs(m, net[0], 24)

        t6 = tor(True)
        size = 1 << 72
        lo, hi = t6.first("DE", V6_MIN, aligned=size)
        net6 = ipaddress.ip_network("%s/56" % t6.addr((lo + size - 1) //
                                                       size * size))
        self.check_scope_block(net6[0], 56, REGION_A[EU])
        m = self.ask(subnet=str(net6), client="kdig", tcp=True)
        self.assertSteered(m, REGION_A[EU])
        self.assertEcs(m, net6[0], 56)

    def test_ecs_scope_block_ipv4(self):
        scopes = {}
        for cc in ("DE", "JP", "US", "IN", "GB"):
            with self.subTest(cc=cc):
                scopes[cc] = self.check_scope_block(
                    sample(cc), 32, REGION_A[COUNTRY_REGION[cc]])
        print("  (IPv4 scopes %s)" % scopes, end=" ")

    def test_ecs_scope_block_ipv6(self):
        scopes = {}
        for cc in ("DE", "JP", "US", "IN", "GB"):
            with self.subTest(cc=cc):
                scopes[cc] = self.check_scope_block(
                    sample(cc, v6=True), 128, REGION_A[COUNTRY_REGION[cc]])
        print("  (IPv6 scopes %s)" % scopes, end=" ")

    def test_ecs_scope_widest(self):
        """api has two regions: an answer is a whole order, so the scope
        can be checked to be the widest block, not just a uniform one."""
        scopes = {}
        for cc in ("DE", "JP", "US", "GB"):
            for v6 in (False, True):
                a = sample(cc, v6)
                with self.subTest(cc=cc, addr=str(a)):
                    scopes[str(a)] = self.check_scope_block(
                        a, 128 if v6 else 32, API_FIRST[cc], qname=API,
                        ttl=API_TTL, first=api_first, whole_order=True)
        print("  (api scopes %s)" % scopes, end=" ")

    def test_ecs_scope_block_aaaa(self):
        # AAAA: same addresses everywhere here, but the scope is the same
        # block rule; the block's ends get the same scope
        a = sample("JP")
        m = self.ask(qtype="AAAA", subnet="%s/32" % a)
        self.assertSteered(m, REGION_AAAA[US], "AAAA")
        scope = self.assertEcs(m, a, 32)
        self.assertTrue(0 < scope <= 32, m)
        net = ipaddress.ip_network("%s/%d" % (a, scope), strict=False)
        for probe in (net[0], net[-1]):
            m = self.ask(subnet="%s/32" % probe)
            self.assertSteered(m, REGION_A[AP])
            self.assertEcs(m, probe, 32, scope)

    def test_ecs_source_0_uses_packet_source(self):
        for subnet, ecs_addr in (("0.0.0.0/0", "0.0.0.0"), ("::/0", "::")):
            for src, region in (("127.0.0.2", EU), ("127.0.0.3", AP),
                                ("127.0.0.1", US)):
                for client, tcp in self.MODES:
                    with self.subTest(subnet=subnet, src=src, client=client,
                                      tcp=tcp):
                        m = self.ask(src=src, subnet=subnet, client=client,
                                     tcp=tcp)
                        self.assertSteered(m, REGION_A[region])
                        self.assertEcs(m, ecs_addr, 0, 0)

    def test_ecs_not_steered_scope_0(self):
        de = sample("DE")
        cases = [("www." + Z, "A", "NOERROR", ["192.0.2.1"]),
                 ("static.teleport." + Z, "A", "NOERROR", ["192.0.2.99"]),
                 ("nothere." + Z, "A", "NXDOMAIN", []),
                 (HOST, "TXT", "NOERROR", None)]
        for qname, qtype, status, want in cases:
            for client, tcp in self.MODES:
                with self.subTest(qname=qname, qtype=qtype, client=client,
                                  tcp=tcp):
                    m = self.ask(qname, qtype, subnet="%s/32" % de,
                                 client=client, tcp=tcp)
                    self.assertEqual(m.status, status, m)
                    if want is not None:
                        self.assertEqual(addrs_of(m, qtype), want, m)
                    if qtype == "A":
                        self.assertEcs(m, de, 32, 0)

    def test_no_ecs_in_reply_without_ecs(self):
        for client, tcp in self.ALL_MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(src="127.0.0.2", client=client, tcp=tcp)
                self.assertSteered(m, REGION_A[EU])
                self.assertIsNone(ecs_of(m), m)

    def test_ecs_ipv4_mapped_ipv6(self):
        """::ffff:a.b.c.d/128 counts as a.b.c.d; the scope is the IPv4
        scope + 96 in the IPv6 family of the option."""
        for cc in ("DE", "JP", "US"):
            a4 = sample(cc)
            mapped = ipaddress.IPv6Address("::ffff:%s" % a4)
            with self.subTest(cc=cc):
                m = self.ask(subnet="%s/32" % a4)
                want = REGION_A[COUNTRY_REGION[cc]]
                self.assertSteered(m, want)
                scope4 = self.assertEcs(m, a4, 32)
                m = self.ask(subnet="%s/128" % mapped)
                self.assertSteered(m, want)
                self.assertEcs(m, mapped, 128, 96 + scope4)
                # raw packet: the option bytes exactly
                for transport in ("udp", "tcp"):
                    w = getattr(self.d, transport)(make_query(
                        HOST, "A", options=ecs_option(2, 128, 0,
                                                      mapped.packed)))
                    self.assertEqual(w.rcode_name, "NOERROR")
                    self.assertTrue(w.has(AA))
                    self.assertEqual(sorted(
                        str(ipaddress.IPv4Address(rr.rdata))
                        for rr in w.answer if rr.type == 1), norm(want))
                    self.assertEqual(w.option(OPT_ECS), struct.pack(
                        "!HBB", 2, 128, 96 + scope4) + mapped.packed)

    # -- the packet source ----------------------------------------------

    def test_source_address_overrides(self):
        for src, region in sorted(SOURCES.items()):
            for client, tcp in self.ALL_MODES:
                with self.subTest(src=src, client=client, tcp=tcp):
                    m = self.ask(src=src, client=client, tcp=tcp)
                    self.assertSteered(m, REGION_A[region])

    def test_source_ipv6_loopback_override(self):
        if not HAVE_IPV6:
            self.skipTest("no IPv6 loopback")
        for client, tcp in self.ALL_MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(host="::1", client=client, tcp=tcp)
                self.assertSteered(m, REGION_A[EU])
                m = self.ask(host="::1", qtype="AAAA", client=client,
                             tcp=tcp)
                self.assertSteered(m, REGION_AAAA[US], "AAAA")

    def test_drill_too(self):
        m = self.d.query("drill", HOST, "A")
        self.assertSteered(m, REGION_A[US])
        m = self.d.query("drill", HOST, "A", tcp=True)
        self.assertSteered(m, REGION_A[US])

    # -- names, types, answers -------------------------------------------

    def test_wildcard_hosts(self):
        for qname in ("app.teleport." + Z, "a.b.teleport." + Z,
                      "App.TELEPORT.Steer.Test.", "txtonly.teleport." + Z):
            for client, tcp in self.MODES:
                with self.subTest(qname=qname, client=client, tcp=tcp):
                    m = self.ask(qname, src="127.0.0.2", client=client,
                                 tcp=tcp)
                    self.assertSteered(m, REGION_A[EU], qname=qname)
                    m = self.ask(qname, subnet="%s/32" % sample("JP"),
                                 client=client, tcp=tcp)
                    self.assertSteered(m, REGION_A[AP], qname=qname)
                    m = self.ask(qname, "AAAA", src="127.0.0.3",
                                 client=client, tcp=tcp)
                    self.assertSteered(m, REGION_AAAA[US], "AAAA",
                                       qname=qname)

    def test_not_steered_names(self):
        for qname in ("nothere." + Z, "xteleport." + Z,
                      "teleport.nothere." + Z):
            for client, tcp in self.MODES:
                with self.subTest(qname=qname, client=client, tcp=tcp):
                    m = self.ask(qname, src="127.0.0.2", client=client,
                                 tcp=tcp)
                    self.assertNegative(m, "NXDOMAIN", Z, SOA_MIN)

    def test_aaaa_falls_through_to_region_with_ipv6(self):
        # ap-south-1 and eu-west-1 have no IPv6: everyone gets us-east-1's
        for how in ({"subnet": "%s/32" % sample("JP")},
                    {"subnet": "%s/128" % sample("IN", v6=True)},
                    {"subnet": "%s/32" % sample("DE")},
                    {"src": "127.0.0.2"}, {"src": "127.0.0.4"}):
            for client, tcp in self.MODES:
                with self.subTest(how=how, client=client, tcp=tcp):
                    m = self.ask(qtype="AAAA", client=client, tcp=tcp, **how)
                    self.assertSteered(m, REGION_AAAA[US], "AAAA")

    def test_aaaa_nodata_when_no_region_has_ipv6(self):
        for how in ({"subnet": "%s/32" % sample("JP")}, {"src": "127.0.0.1"}):
            for client, tcp in self.MODES:
                with self.subTest(how=how, client=client, tcp=tcp):
                    m = self.ask(API, "AAAA", client=client, tcp=tcp, **how)
                    self.assertNegative(m, "NOERROR", Z, API_TTL)

    def test_second_service(self):
        for cc, addrs in sorted(API_FIRST.items()):
            for client, tcp in self.MODES:
                with self.subTest(cc=cc, client=client, tcp=tcp):
                    m = self.ask(API, subnet="%s/32" % sample(cc),
                                 client=client, tcp=tcp)
                    self.assertSteered(m, addrs, qname=API, ttl=API_TTL)
                    m = self.ask(API, subnet="%s/128" % sample(cc, True),
                                 client=client, tcp=tcp)
                    self.assertSteered(m, addrs, qname=API, ttl=API_TTL)
        # an unknown location gets the config order; JP by override
        m = self.ask(API)
        self.assertSteered(m, ["192.0.2.20"], qname=API, ttl=API_TTL)
        m = self.ask(API, src="127.0.0.3", client="kdig", tcp=True)
        self.assertSteered(m, ["192.0.2.21"], qname=API, ttl=API_TTL)
        # the api service does not cover teleport's wildcard and vice versa
        m = self.ask("x.api." + Z)
        self.assertNegative(m, "NXDOMAIN", Z, API_TTL)

    def test_negative_ttl_capped_at_steered_names(self):
        # RFC 2308 gives 300 s here; at or under a steered name "no such
        # data" must not outlive the addresses a failover would change.
        cases = [(API, "AAAA", "NOERROR", API_TTL),
                 (API, "TXT", "NOERROR", API_TTL),
                 ("x.api." + Z, "A", "NXDOMAIN", API_TTL),
                 ("deep.x.api." + Z, "AAAA", "NXDOMAIN", API_TTL),
                 (HOST, "MX", "NOERROR", TTL),
                 ("a.b.teleport." + Z, "CAA", "NOERROR", TTL),
                 ("static.teleport." + Z, "AAAA", "NOERROR", TTL),
                 # not steered: the zone's negative TTL
                 ("www." + Z, "AAAA", "NOERROR", SOA_MIN),
                 ("xteleport." + Z, "A", "NXDOMAIN", SOA_MIN)]
        for qname, qtype, status, ttl in cases:
            for client, tcp in self.MODES:
                with self.subTest(qname=qname, qtype=qtype, client=client,
                                  tcp=tcp):
                    m = self.ask(qname, qtype, client=client, tcp=tcp)
                    self.assertNegative(m, status, Z, ttl)

    def test_ttl_and_aa(self):
        for client, tcp in self.ALL_MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(src="127.0.0.2", client=client, tcp=tcp)
                self.assertIn("aa", m.flags, m)
                self.assertEqual({r.ttl for r in m.answer}, {TTL}, m)

    def test_all_addresses_of_region(self):
        for client, tcp in self.ALL_MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(src="127.0.0.2", client=client, tcp=tcp)
                self.assertEqual(addrs_of(m), ["198.51.100.10",
                                               "198.51.100.11"], m)

    def test_txt_from_zone_at_steered_name(self):
        for client, tcp in self.MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(HOST, "TXT", src="127.0.0.2", client=client,
                             tcp=tcp)
                self.assertEqual(m.status, "NOERROR", m)
                self.assertIn("aa", m.flags, m)
                self.assertRRs(m.answer, [(HOST, 3600, "TXT",
                                           '"teleport steered"')], m)
                m = self.ask("txtonly.teleport." + Z, "TXT", client=client,
                             tcp=tcp)
                self.assertRRs(m.answer, [("txtonly.teleport." + Z, 3600,
                                           "TXT", '"below the wildcard"')],
                               m)

    def test_other_types_nodata(self):
        cases = [(HOST, "MX"), (HOST, "SRV"), ("app.teleport." + Z, "MX"),
                 ("app.teleport." + Z, "TXT"), (API, "MX"), (API, "TXT")]
        for qname, qtype in cases:
            for client, tcp in self.MODES:
                with self.subTest(qname=qname, qtype=qtype, client=client,
                                  tcp=tcp):
                    m = self.ask(qname, qtype, src="127.0.0.2", client=client,
                                 tcp=tcp)
                    self.assertNegative(m, "NOERROR", Z,
                                        API_TTL if qname == API else TTL)

    def test_any_is_steered(self):
        for src, region in (("127.0.0.2", EU), ("127.0.0.3", AP),
                            ("127.0.0.1", US)):
            for client, tcp in self.MODES:
                with self.subTest(src=src, client=client, tcp=tcp):
                    m = self.ask(qtype="ANY", src=src, client=client, tcp=tcp)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertTrue(m.answer, m)
                    allowed = set(norm(REGION_A[region] +
                                       REGION_AAAA[region]))
                    for r in m.answer:
                        self.assertIn(r.type, ("A", "AAAA"), m)
                        self.assertEqual(r.ttl, TTL, m)
                        self.assertIn(str(ipaddress.ip_address(r.rdata)),
                                      allowed, m)

    def test_own_address_below_wildcard_from_zone(self):
        q = "static.teleport." + Z
        for how in ({"src": "127.0.0.2"}, {"src": "127.0.0.3"},
                    {"subnet": "%s/32" % sample("JP")}):
            for client, tcp in self.MODES:
                with self.subTest(how=how, client=client, tcp=tcp):
                    m = self.ask(q, client=client, tcp=tcp, **how)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertRRs(m.answer, [(q, 3600, "A", "192.0.2.99")],
                                   m)
                    m = self.ask(q, "AAAA", client=client, tcp=tcp, **how)
                    self.assertNegative(m, "NOERROR", Z, TTL)

    def test_cname_below_wildcard_from_zone(self):
        q = "cname.teleport." + Z
        for client, tcp in self.MODES:
            with self.subTest(client=client, tcp=tcp):
                m = self.ask(q, src="127.0.0.2", client=client, tcp=tcp)
                self.assertEqual(m.status, "NOERROR", m)
                self.assertRRs(m.answer, [(q, 3600, "CNAME", "www." + Z),
                                          ("www." + Z, 300, "A",
                                           "192.0.2.1")], m)

    # -- resources --------------------------------------------------------

    def test_load_time(self):
        log = self.d.log()
        info = load_info(log)
        self.assertIsNotNone(info, "no geoip load line in the log:\n%s" % log)
        limit = load_limit_ms()
        print("  (%.0f ms to load, limit %.0f ms)" % (info["ms"], limit),
              end=" ")
        self.assertLess(info["ms"], limit, log)

    def test_rss(self):
        if not sanitized():
            rss = vm_rss_kib(self.d.pid)
            print("  (VmRSS %.1f MiB)" % (rss / 1024.0), end=" ")
            self.assertLess(rss, RSS_MAX_KIB, "VmRSS %d kB" % rss)
            return
        # ASan holds freed memory in its quarantine (256 MB by default),
        # and loading frees a lot: measure a daemon without the quarantine
        # (shadow memory and redzones still count)
        d = Daemon(conf=self.CONF, zones=self.ZONES, name="rss")
        try:
            opts = os.environ.get("ASAN_OPTIONS", "")
            d.env = dict(os.environ, ASAN_OPTIONS=(opts + ":" if opts else "")
                         + "quarantine_size_mb=0")
            d.start()
            self.assertIsNotNone(load_info(d.log()), d.log())
            rss = vm_rss_kib(d.pid)
            print("  (VmRSS %.1f MiB, sanitizer build, no quarantine; "
                  "%.1f MiB with it)" % (rss / 1024.0,
                                         vm_rss_kib(self.d.pid) / 1024.0),
                  end=" ")
            self.assertLess(rss, RSS_MAX_KIB, "VmRSS %d kB" % rss)
            d.stop_clean()
        finally:
            d.cleanup()


LOAD_RE = re.compile(r"geoip: (\d+) ranges read from (\d+) files?, (\d+) "
                     r"IPv4 and (\d+) IPv6 ranges after merging, in "
                     r"([\d.]+) ms")


def load_info(text):
    """The numbers of the geoip load line, or None."""
    m = LOAD_RE.search(text)
    if not m:
        return None
    return {"ranges": int(m.group(1)), "files": int(m.group(2)),
            "n4": int(m.group(3)), "n6": int(m.group(4)),
            "ms": float(m.group(5))}


def load_limit_ms():
    """1 s; a sanitizer build runs the loader about 3x slower."""
    return LOAD_MS_MAX * (3 if sanitized() else 1)


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"(?m)^VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1))


def sanitized():
    """Whether the daemon binary is built with AddressSanitizer."""
    try:
        with open(gstest.geosteerd_path(), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


class DefaultLocationCountry(SteerBase):
    CONF = steer_conf(default_location="JP")

    def test_unknown_client_gets_default_location(self):
        for how in ({}, {"src": "127.0.0.1"}, {"subnet": "10.1.2.3/32"},
                    {"subnet": "fd00::1/128"}):
            for client, tcp in self.MODES:
                with self.subTest(how=how, client=client, tcp=tcp):
                    m = self.ask(client=client, tcp=tcp, **how)
                    self.assertSteered(m, REGION_A[AP])
        m = self.ask(API)
        self.assertSteered(m, ["192.0.2.21"], qname=API, ttl=API_TTL)

    def test_known_clients_unchanged(self):
        for how, region in (({"src": "127.0.0.2"}, EU),
                            ({"subnet": "%s/32" % sample("DE")}, EU),
                            ({"subnet": "%s/32" % sample("US")}, US)):
            for client, tcp in self.MODES:
                with self.subTest(how=how, client=client, tcp=tcp):
                    m = self.ask(client=client, tcp=tcp, **how)
                    self.assertSteered(m, REGION_A[region])


class DefaultLocationLatLon(SteerBase):
    CONF = steer_conf(default_location="53.0,-6.0")

    def test_unknown_client_gets_default_location(self):
        for how in ({}, {"subnet": "10.1.2.3/32"}):
            for client, tcp in self.MODES:
                with self.subTest(how=how, client=client, tcp=tcp):
                    m = self.ask(client=client, tcp=tcp, **how)
                    self.assertSteered(m, REGION_A[EU])
        m = self.ask(subnet="%s/32" % sample("JP"))
        self.assertSteered(m, REGION_A[AP])


class Reload(unittest.TestCase):
    def test_sighup_changed_overrides(self):
        with Daemon(conf=steer_conf(), zones={"nets.txt": NETS},
                    name="steer-reload") as d:
            d.start()

            def region_of_src(src, client="dig"):
                m = d.query(client, HOST, "A", extra=["-b", src])
                return addrs_of(m)

            self.assertEqual(region_of_src("127.0.0.2"), norm(REGION_A[EU]))
            self.assertEqual(region_of_src("127.0.0.1"), norm(REGION_A[US]))
            d.write_file("nets.txt", NETS.replace(
                "127.0.0.2/32 eu-west-1", "127.0.0.2/32 ap-south-1") +
                "127.0.0.1/32 IN\n")
            d.reload()
            wait_for(lambda: region_of_src("127.0.0.2") == norm(REGION_A[AP]),
                     RELOAD_WAIT, what="127.0.0.2 steered to ap-south-1")
            self.assertEqual(region_of_src("127.0.0.1", "kdig"),
                             norm(REGION_A[AP]))
            self.assertEqual(region_of_src("127.0.0.3", "kdig"),
                             norm(REGION_A[AP]))
            self.assertEqual(region_of_src("127.0.0.5", "kdig"),
                             norm(REGION_A[EU]))

            # a broken overrides file keeps the running data
            broken = NETS + "127.0.0.1/32 mars-north-1\n"
            bad_line = len(broken.splitlines())
            d.write_file("nets.txt", broken)
            d.reload()
            wait_for(lambda: re.search(r"nets\.txt:%d\b" % bad_line, d.log()),
                     RELOAD_WAIT, what="the overrides error in the log")
            time.sleep(0.2)
            self.assertTrue(d.alive(), "daemon died on a broken overrides")
            self.assertEqual(region_of_src("127.0.0.2"), norm(REGION_A[AP]))
            self.assertEqual(region_of_src("127.0.0.1"), norm(REGION_A[AP]))

            # and the original file again
            d.write_file("nets.txt", NETS)
            d.reload()
            wait_for(lambda: region_of_src("127.0.0.2") == norm(REGION_A[EU]),
                     RELOAD_WAIT, what="127.0.0.2 back to eu-west-1")
            self.assertEqual(region_of_src("127.0.0.1"), norm(REGION_A[US]))
            d.stop_clean()


# --------------------------------------------------------------------------
# geosteerd --check


class Check(gstest.TempDirCase):
    PREFIX = "gstest-steer-check-"

    def setUp(self):
        super().setUp()
        self.conf_path = os.path.join(self.dir, "geosteerd.conf")
        shutil.copy(os.path.join(gstest.DATA, "steer.test.zone"), self.dir)
        self.write("nets.txt", NETS)

    def conf(self, mini=False, **kw):
        """mini: two one-line databases in the tor formats instead of the
        real ones (for the cases that are not about them: fast)."""
        if mini:
            self.write("mini-geoip", "# low,high,CC\n16777216,16777471,AU\n")
            self.write("mini-geoip6", "# low,high,CC\n2001:200::,"
                       "2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n")
            kw["databases"] = ("mini-geoip", "mini-geoip6")
        c = steer_conf(**kw)
        c["listen"] = ["127.0.0.1:5399"]
        c["workers"] = 1
        return c

    def check(self, conf):
        with open(self.conf_path, "w") as f:
            f.write(json.dumps(conf, indent=2) + "\n")
        p = gstest.run([gstest.geosteerd_path(), "-c", self.conf_path,
                        "--check"], timeout=30)
        return p.returncode, p.stdout + p.stderr

    def assertFails(self, conf, must=()):
        rc, out = self.check(conf)
        self.assertEqual(rc, gstest.EX_CONFIG,
                         "exit status %s, output:\n%s" % (rc, out))
        for s in must:
            if hasattr(s, "search"):
                self.assertRegex(out, s)
            else:
                self.assertIn(s, out)
        return out

    def with_hosts(self, hosts):
        c = self.conf(mini=True)
        c["services"][0]["hosts"] = hosts
        return c

    def test_good(self):
        rc, out = self.check(self.conf())
        self.assertEqual(rc, 0, out)
        info = load_info(out)
        self.assertIsNotNone(info, "no geoip info line in:\n%s" % out)
        rows = len(tor(False)) + len(tor(True))
        n_nets = len([ln for ln in NETS.splitlines()
                      if ln.strip() and not ln.startswith("#")])
        # two databases, and the overrides file may count as a third
        self.assertIn(info["files"], (2, 3), out)
        self.assertTrue(rows <= info["ranges"] <= rows + n_nets,
                        "%d ranges read; the tor files have %d" %
                        (info["ranges"], rows))
        self.assertTrue(0 < info["n4"] <= len(tor(False)) + 2 * n_nets, out)
        self.assertTrue(0 < info["n6"] <= len(tor(True)) + 2 * n_nets, out)
        print("  (%d ranges, %d IPv4 + %d IPv6 after merging, %.0f ms)" %
              (info["ranges"], info["n4"], info["n6"], info["ms"]), end=" ")
        self.assertLess(info["ms"], load_limit_ms(), out)

    def test_good_mini(self):
        rc, out = self.check(self.conf(mini=True))
        self.assertEqual(rc, 0, out)
        info = load_info(out)
        self.assertIsNotNone(info, out)
        self.assertEqual((info["n4"] > 0, info["n6"] > 0), (True, True), out)

    def test_good_without_overrides_and_with_default(self):
        rc, out = self.check(self.conf(mini=True, overrides=None,
                                       default_location="DE"))
        self.assertEqual(rc, 0, out)
        rc, out = self.check(self.conf(mini=True,
                                       default_location="-33.9,151.2"))
        self.assertEqual(rc, 0, out)

    def test_host_outside_zones(self):
        for host in ("teleport.elsewhere.test", "*.teleport.elsewhere.test",
                     "steer.test.example"):
            with self.subTest(host=host):
                self.assertFails(self.with_hosts(["teleport.steer.test",
                                                  host]),
                                 ["is not inside any configured zone", host])

    def test_exact_host_with_own_addresses(self):
        self.assertFails(self.with_hosts(["teleport.steer.test",
                                          "www.steer.test"]),
                         ["has A records", "www.steer.test"])
        for host, what in (("v6only.steer.test", "AAAA"),
                           ("alias.steer.test", "CNAME")):
            with self.subTest(host=host):
                self.assertFails(self.with_hosts([host]),
                                 [host, re.compile(r"\b%s\b" % what)])
        # below a wildcard host, own addresses are fine (zone data wins)
        rc, out = self.check(self.with_hosts(["*.teleport.steer.test"]))
        self.assertEqual(rc, 0, out)

    def test_host_below_delegation(self):
        for host in ("x.sub.steer.test", "a.b.sub.steer.test",
                     "*.sub.steer.test"):
            with self.subTest(host=host):
                self.assertFails(self.with_hosts(["teleport.steer.test",
                                                  host]), [host])

    def test_override_unknown_region(self):
        text = NETS + "127.0.0.99/32 mars-north-1\n"
        self.write("nets.txt", text)
        self.assertFails(self.conf(mini=True), [
            "is not a region of any service", "mars-north-1",
            re.compile(r"nets\.txt:%d\b" % len(text.splitlines()))])

    def test_override_malformed(self):
        for bad in ("127.0.0.300/32 eu-west-1", "not-a-cidr eu-west-1",
                    "127.0.0.9/33 JP", "127.0.0.9/32",
                    "2001:db8::/129 eu-west-1", "127.0.0.9/32 JP extra"):
            with self.subTest(line=bad):
                text = "# header\n%s\n127.0.0.10/32 GB\n" % bad
                self.write("nets.txt", text)
                self.assertFails(self.conf(mini=True), [re.compile(r"nets\.txt:2\b")])

    def test_override_same_network_twice(self):
        # whatever the order, the most specific network wins: the same
        # network twice has no winner, so it is an error at the later line
        for second in ("127.0.0.2/32 ap-south-1", "127.0.0.2/32 eu-west-1",
                       "127.0.0.2/32 JP"):
            with self.subTest(line=second):
                text = NETS + second + "\n"
                self.write("nets.txt", text)
                first = NETS.splitlines().index("127.0.0.2/32 eu-west-1") + 1
                self.assertFails(self.conf(mini=True), [
                    re.compile(r"nets\.txt:%d: the same network as line %d"
                               % (len(text.splitlines()), first))])

    def test_override_unknown_country_code(self):
        text = NETS + "127.0.0.99/32 XQ\n"
        self.write("nets.txt", text)
        self.assertFails(self.conf(mini=True), [
            re.compile(r'nets\.txt:%d: unknown country code "XQ"' %
                       len(text.splitlines()))])
        # "??" is the way to say "nowhere"
        self.write("nets.txt", NETS + "127.0.0.99/32 ??\n")
        rc, out = self.check(self.conf(mini=True))
        self.assertEqual(rc, 0, out)

    def test_override_errors_stop_the_start(self):
        # the same errors at start: exit 78, file and line in the log
        text = NETS + "127.0.0.99/32 XQ\n127.0.0.99/32 GB\n"
        d = Daemon(conf=steer_conf(databases=()), zones={"nets.txt": text},
                   name="steer-bad-overrides")
        try:
            d.start(wait=False)
            rc = d.wait_exit(gstest.START_TIMEOUT)
            self.assertEqual(rc, gstest.EX_CONFIG, d.log_tail())
            n = len(text.splitlines())
            self.assertIn("nets.txt:%d: unknown country code" % (n - 1),
                          d.log())
            self.assertIn("nets.txt:%d: the same network as line %d" %
                          (n, n - 1), d.log())
        finally:
            d.cleanup()

    def test_missing_database(self):
        missing = os.path.join(self.dir, "no-such-geoip6")
        self.assertFails(self.conf(databases=(GEOIP4, missing)),
                         ["no-such-geoip6"])
        self.assertFails(self.conf(databases=(GEOIP4, "relative-missing")),
                         ["relative-missing"])

    def test_missing_overrides(self):
        self.assertFails(self.conf(overrides="no-such-nets.txt"),
                         ["no-such-nets.txt"])


def main():
    missing = [p for p in (GEOIP4, GEOIP6) if not os.path.isfile(p)]
    if missing:
        msg = "missing tor-geoipdb files: %s" % ", ".join(missing)
        if os.environ.get("GS_REQUIRE_TOOLS") == "1":
            print("FAIL: %s (GS_REQUIRE_TOOLS=1)" % msg)
            sys.exit(1)
        print("SKIP: %s (apt-get install tor-geoipdb)" % msg)
        sys.exit(gstest.SKIP)
    gstest.main()


if __name__ == "__main__":
    main()
