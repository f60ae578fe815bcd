#!/usr/bin/env python3
"""Answers from the compiled zone: exact matches, CNAME/DNAME, wildcards,
delegations, negative answers, REFUSED, CHAOS, ANY, transfers, opcodes and
malformed headers. Real clients (dig, kdig, drill) over UDP and TCP, IPv4
and IPv6; raw sockets only where no client can express the query."""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (AA, QR, RA, RD, TC, CLASS_IN, DaemonTestCase,  # noqa: E402
                    hosts, make_query, header, question)

Z = "example.test."
N = "neg.test."

LONG1 = "a" * 63
LONG2 = "b" * 63
LONG3 = "c" * 63

# name, type, TTL, [rdata as dig prints it]
EXACT = [
    ("www." + Z, "A", 300, ["192.0.2.1"]),
    ("www." + Z, "AAAA", 300, ["2001:db8::1"]),
    (Z, "MX", 3600, ["10 mail.example.test."]),
    ("txt." + Z, "TXT", 3600, ['"hello world" "second;string"']),
    ("_sip._tcp." + Z, "SRV", 3600, ["10 20 5060 sip.example.test."]),
    ("caa." + Z, "CAA", 3600, ['0 issue "letsencrypt.org"']),
    ("ptr." + Z, "PTR", 3600, ["www.example.test."]),
    ("naptr." + Z, "NAPTR", 3600,
     ['100 10 "S" "SIP+D2U" "" _sip._udp.example.test.']),
    ("sshfp." + Z, "SSHFP", 3600,
     ["1 1 0123456789ABCDEF0123456789ABCDEF01234567"]),
    ("_443._tcp.tlsa." + Z, "TLSA", 3600,
     ["3 1 1 00112233445566778899AABBCCDDEEFF"
      "00112233445566778899AABBCCDDEEFF"]),
    ("https." + Z, "HTTPS", 3600, ['1 . alpn="h2,h3" port=8443']),
    ("svcb." + Z, "SVCB", 3600,
     ["1 svc.example.org. port=8443 ipv4hint=192.0.2.7"]),
    ("unk." + Z, "TYPE65534", 3600, ["\\# 4 DEADBEEF"]),
    (Z, "NS", 3600, ["ns1.example.test.", "ns2.example.test."]),
    (Z, "SOA", 3600, ["ns1.example.test. hostmaster.example.test. "
                      "2024010101 7200 3600 1209600 300"]),
]

# the same RRsets in wire format, checked on raw responses
EXACT_WIRE = [
    ("www." + Z, 1, bytes([192, 0, 2, 1])),
    ("www." + Z, 28, bytes.fromhex("20010db8000000000000000000000001")),
    ("unk." + Z, 65534, bytes.fromhex("deadbeef")),
    ("sshfp." + Z, 44,
     bytes([1, 1]) + bytes.fromhex("0123456789abcdef0123456789abcdef01234567")),
    ("_443._tcp.tlsa." + Z, 52, bytes([3, 1, 1]) + bytes.fromhex(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")),
    ("caa." + Z, 257, b"\x00\x05issueletsencrypt.org"),
    ("txt." + Z, 16, b"\x0bhello world\x0dsecond;string"),
    # HTTPS 1 . alpn=h2,h3 port=8443: key 1 (alpn) len 6 "\x02h2\x02h3",
    # key 3 (port) len 2 8443
    ("https." + Z, 65, b"\x00\x01\x00" + b"\x00\x01\x00\x06\x02h2\x02h3" +
     b"\x00\x03\x00\x02" + struct.pack("!H", 8443)),
]


def transports():
    """(client, host, tcp) combinations covering both families and both
    transports with several clients."""
    out = []
    for host in hosts():
        for tcp in (False, True):
            for client in gstest.CLIENTS:
                out.append((client, host, tcp))
    return out


class Answers(DaemonTestCase):
    def q(self, client, name, qtype="A", host="127.0.0.1", tcp=False,
          extra=()):
        return self.d.query(client, name, qtype, host=host, tcp=tcp,
                            extra=extra)

    def where(self, client, host, tcp):
        return "%s %s %s" % (client, host, "TCP" if tcp else "UDP")

    # -- authoritative data ------------------------------------------------

    def test_aa_set_all_clients_transports_families(self):
        for client, host, tcp in transports():
            with self.subTest(where=self.where(client, host, tcp)):
                m = self.q(client, "www." + Z, "A", host, tcp)
                self.assertEqual(m.status, "NOERROR", m)
                self.assertIn("aa", m.flags, m)
                self.assertIn("qr", m.flags, m)
                self.assertNotIn("ra", m.flags, m)
                self.assertNotIn("tc", m.flags, m)
                self.assertRRs(m.answer, [("www." + Z, 300, "A", "192.0.2.1")])

    def test_exact_match_types(self):
        combos = [("dig", "127.0.0.1", False), ("kdig", hosts()[-1], True),
                  ("drill", hosts()[-1], False), ("dig", hosts()[-1], True)]
        for name, qtype, ttl, rdatas in EXACT:
            for client, host, tcp in combos:
                with self.subTest(q="%s %s" % (name, qtype),
                                  where=self.where(client, host, tcp)):
                    m = self.q(client, name, qtype, host, tcp)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertRRs(m.answer,
                                   [(name, ttl, qtype, r) for r in rdatas], m)

    def test_exact_match_wire_rdata(self):
        for host in hosts():
            for name, qtype, rdata in EXACT_WIRE:
                with self.subTest(q="%s %d" % (name, qtype), host=host):
                    w = self.d.udp(make_query(name, qtype), host)
                    self.assertEqual(w.rcode_name, "NOERROR")
                    self.assertTrue(w.has(AA))
                    self.assertEqual(len(w.answer), 1, w.answer)
                    rr = w.answer[0]
                    self.assertEqual(rr.name.lower(), name.lower())
                    self.assertEqual(rr.type, qtype)
                    self.assertEqual(rr.rclass, CLASS_IN)
                    self.assertEqual(rr.rdata, rdata)

    def test_ns_rdata_names_follow_the_zone(self):
        # NS at the apex over TCP with drill: both names, additional glue
        # (if any) must be correct
        m = self.q("drill", Z, "NS", hosts()[-1], True)
        self.assertEqual(m.status, "NOERROR", m)
        for r in m.additional:
            want = {("ns1." + Z, "A"): "192.0.2.53",
                    ("ns1." + Z, "AAAA"): "2001:db8::53",
                    ("ns2." + Z, "A"): "192.0.2.54"}
            self.assertEqual(want.get((r.name.lower(), r.type)),
                             r.rdata.lower(), "bad additional %r" % r)

    # -- CNAME ---------------------------------------------------------------

    def test_cname_chain_in_zone(self):
        want = [("a." + Z, "CNAME", "b.example.test."),
                ("b." + Z, "CNAME", "c.example.test."),
                ("c." + Z, "A", "192.0.2.3")]
        for client, host, tcp in (("dig", "127.0.0.1", False),
                                  ("kdig", hosts()[-1], True),
                                  ("drill", "127.0.0.1", False)):
            with self.subTest(where=self.where(client, host, tcp)):
                m = self.q(client, "a." + Z, "A", host, tcp)
                self.assertEqual(m.status, "NOERROR", m)
                self.assertIn("aa", m.flags, m)
                got = [(r.name.lower(), r.type, r.rdata.lower())
                       for r in m.answer]
                self.assertEqual(got, want, "chain in order: %s" % m)

    def test_cname_qtype_cname_not_chased(self):
        for client in ("dig", "kdig"):
            m = self.q(client, "a." + Z, "CNAME")
            self.assertEqual(m.status, "NOERROR", m)
            self.assertRRs(m.answer, [("a." + Z, 3600, "CNAME",
                                       "b.example.test.")], m)

    def test_cname_out_of_zone_only_cname(self):
        for client in ("dig", "kdig", "drill"):
            with self.subTest(client=client):
                m = self.q(client, "ext." + Z, "A")
                self.assertEqual(m.status, "NOERROR", m)
                self.assertIn("aa", m.flags, m)
                self.assertRRs(m.answer, [("ext." + Z, 3600, "CNAME",
                                           "www.example.org.")], m)

    def test_cname_loop_bounded(self):
        for client, tcp in (("dig", False), ("kdig", True)):
            with self.subTest(client=client, tcp=tcp):
                t0 = time.monotonic()
                m = self.q(client, "loop1." + Z, "A", tcp=tcp)
                self.assertLess(time.monotonic() - t0, 3.0)
                self.assertEqual(m.status, "NOERROR", m)
                # the chain ends at the first name met again: each RR once
                # (RFC 1034 3.6.2, RFC 2181 5)
                self.assertEqual(
                    [(r.name.lower(), r.type, r.rdata.lower())
                     for r in m.answer],
                    [("loop1." + Z, "CNAME", "loop2.example.test."),
                     ("loop2." + Z, "CNAME", "loop1.example.test.")], m)
        # the daemon is still fine afterwards
        m = self.q("dig", "www." + Z)
        self.assertEqual(m.status, "NOERROR")

    def test_cname_to_missing_in_zone_name_nxdomain(self):
        for client in ("dig", "kdig"):
            with self.subTest(client=client):
                m = self.q(client, "dangling." + Z, "A")
                self.assertEqual(m.status, "NXDOMAIN", m)
                self.assertIn("aa", m.flags, m)
                self.assertRRs(m.answer, [("dangling." + Z, 3600, "CNAME",
                                           "nothere.example.test.")], m)
                soas = m.rrs("authority", "SOA")
                self.assertEqual([s.name.lower() for s in soas], [Z], m)
                self.assertEqual(soas[0].ttl, 300, m)

    # -- DNAME ---------------------------------------------------------------

    def test_dname_synthesizes_cname(self):
        qn = "x.dname." + Z
        for client, host, tcp in (("dig", "127.0.0.1", False),
                                  ("kdig", hosts()[-1], True),
                                  ("drill", "127.0.0.1", False)):
            with self.subTest(where=self.where(client, host, tcp)):
                m = self.q(client, qn, "A", host, tcp)
                self.assertEqual(m.status, "NOERROR", m)
                self.assertIn("aa", m.flags, m)
                dn = m.rrs("answer", "DNAME")
                self.assertEqual(len(dn), 1, m)
                self.assertEqual(dn[0].name.lower(), "dname." + Z)
                self.assertEqual(dn[0].rdata.lower(), "target.example.test.")
                cn = m.rrs("answer", "CNAME")
                self.assertEqual(len(cn), 1, m)
                self.assertEqual(cn[0].name.lower(), qn)
                self.assertEqual(cn[0].rdata.lower(), "x.target.example.test.")
                # RFC 6672: the synthesized CNAME carries the DNAME's TTL
                self.assertEqual(cn[0].ttl, dn[0].ttl, m)
                # DNAME before the CNAME
                types = [r.type for r in m.answer]
                self.assertLess(types.index("DNAME"), types.index("CNAME"), m)
                for r in m.rrs("answer", "A"):
                    self.assertEqual((r.name.lower(), r.rdata),
                                     ("x.target." + Z, "192.0.2.99"), m)

    def test_dname_owner_itself_not_rewritten(self):
        for client in ("dig", "kdig"):
            m = self.q(client, "dname." + Z, "A")
            self.assertNegative(m, "NOERROR", Z, 300)
            m = self.q(client, "dname." + Z, "DNAME")
            self.assertEqual(m.status, "NOERROR", m)
            self.assertRRs(m.answer, [("dname." + Z, 3600, "DNAME",
                                       "target.example.test.")], m)

    def test_dname_too_long_yxdomain(self):
        qn = "%s.long.%s" % ("q" * 63, Z)
        for client in ("dig", "kdig"):
            with self.subTest(client=client):
                m = self.q(client, qn, "A")
                self.assertEqual(m.status, "YXDOMAIN", m)
                self.assertEqual(m.rrs("answer", "CNAME"), [], m)

    # -- wildcards -----------------------------------------------------------

    def test_wildcard_synthesis_owner_is_qname(self):
        for client, host, tcp in (("dig", "127.0.0.1", False),
                                  ("kdig", hosts()[-1], True),
                                  ("drill", hosts()[-1], False)):
            for qn in ("foo.w." + Z, "a.b.w." + Z):
                with self.subTest(q=qn, where=self.where(client, host, tcp)):
                    m = self.q(client, qn, "A", host, tcp)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertRRs(m.answer, [(qn, 3600, "A", "192.0.2.80")],
                                   m)
            m = self.q(client, "foo.w." + Z, "TXT", host, tcp)
            self.assertRRs(m.answer, [("foo.w." + Z, 3600, "TXT", '"wild"')],
                           m)

    def test_wildcard_nodata_for_missing_type(self):
        for client in ("dig", "kdig"):
            m = self.q(client, "foo.w." + Z, "MX")
            self.assertNegative(m, "NOERROR", Z, 300)

    def test_existing_name_stops_wildcard(self):
        for client in ("dig", "kdig", "drill"):
            with self.subTest(client=client):
                m = self.q(client, "exists.w." + Z, "A")
                self.assertEqual(m.status, "NOERROR", m)
                self.assertRRs(m.answer, [("exists.w." + Z, 3600, "A",
                                           "192.0.2.81")], m)
                # TXT exists at the wildcard but not at exists.w: NODATA
                m = self.q(client, "exists.w." + Z, "TXT")
                self.assertNegative(m, "NOERROR", Z, 300)

    def test_empty_non_terminal_stops_wildcard(self):
        for client in ("dig", "kdig"):
            with self.subTest(client=client):
                # ent.w exists (empty non-terminal above x.ent.w): NODATA
                m = self.q(client, "ent.w." + Z, "A")
                self.assertNegative(m, "NOERROR", Z, 300)
                # below it, the closest encloser is ent.w, which has no
                # wildcard child: NXDOMAIN, not *.w
                m = self.q(client, "y.ent.w." + Z, "A")
                self.assertNegative(m, "NXDOMAIN", Z, 300)
                m = self.q(client, "x.ent.w." + Z, "A")
                self.assertRRs(m.answer, [("x.ent.w." + Z, 3600, "A",
                                           "192.0.2.82")], m)

    def test_wildcard_itself(self):
        m = self.q("dig", "*.w." + Z, "A")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertRRs(m.answer, [("*.w." + Z, 3600, "A", "192.0.2.80")], m)

    # -- delegation ----------------------------------------------------------

    def check_referral(self, m):
        self.assertEqual(m.status, "NOERROR", m)
        self.assertNotIn("aa", m.flags, m)
        self.assertEqual(m.answer, [], m)
        self.assertRRs(m.rrs("authority", "NS"),
                       [("sub." + Z, 3600, "NS", "ns.sub.example.test."),
                        ("sub." + Z, 3600, "NS",
                         "ns.elsewhere.example.org.")], m)
        self.assertEqual(m.rrs("authority", "SOA"), [], m)
        self.assertRRs(m.rrs("additional", "A") + m.rrs("additional", "AAAA"),
                       [("ns.sub." + Z, 3600, "A", "192.0.2.200"),
                        ("ns.sub." + Z, 3600, "AAAA", "2001:db8::200")], m)

    def test_delegation_referral(self):
        for client, host, tcp in (("dig", "127.0.0.1", False),
                                  ("kdig", hosts()[-1], False),
                                  ("drill", "127.0.0.1", True),
                                  ("dig", hosts()[-1], True)):
            for qn, qt in (("sub." + Z, "NS"), ("sub." + Z, "A"),
                           ("www.sub." + Z, "A"), ("a.b.sub." + Z, "AAAA"),
                           ("ns.sub." + Z, "A")):
                with self.subTest(q="%s %s" % (qn, qt),
                                  where=self.where(client, host, tcp)):
                    self.check_referral(self.q(client, qn, qt, host, tcp))

    def test_ds_at_delegation_answered_by_parent(self):
        for client in ("dig", "kdig"):
            with self.subTest(client=client):
                m = self.q(client, "sub." + Z, "DS")
                self.assertNegative(m, "NOERROR", Z, 300)
                self.assertEqual(m.rrs("authority", "NS"), [], m)

    # -- negative answers ------------------------------------------------------

    def test_nxdomain_soa_ttl_is_minimum_when_smaller(self):
        # example.test: SOA TTL 3600, MINIMUM 300 -> 300
        for client, host, tcp in transports():
            with self.subTest(where=self.where(client, host, tcp)):
                m = self.q(client, "nope." + Z, "A", host, tcp)
                self.assertNegative(m, "NXDOMAIN", Z, 300)

    def test_nxdomain_soa_ttl_is_soa_ttl_when_smaller(self):
        # neg.test: SOA TTL 60, MINIMUM 600 -> 60
        for client in gstest.CLIENTS:
            with self.subTest(client=client):
                m = self.q(client, "nope." + N, "A")
                self.assertNegative(m, "NXDOMAIN", N, 60)

    def test_nodata(self):
        for client in gstest.CLIENTS:
            with self.subTest(client=client):
                m = self.q(client, "www." + Z, "TXT")
                self.assertNegative(m, "NOERROR", Z, 300)
                m = self.q(client, "host." + N, "AAAA", tcp=True)
                self.assertNegative(m, "NOERROR", N, 60)

    def test_nxdomain_below_existing_name(self):
        m = self.q("dig", "deep.www." + Z, "A")
        self.assertNegative(m, "NXDOMAIN", Z, 300)

    def test_refused_outside_zones(self):
        for client, host, tcp in (("dig", "127.0.0.1", False),
                                  ("kdig", hosts()[-1], True),
                                  ("drill", "127.0.0.1", False)):
            for qn in ("www.example.org.", "test.", "xexample.test.",
                       "example.test.org."):
                with self.subTest(q=qn, where=self.where(client, host, tcp)):
                    m = self.q(client, qn, "A", host, tcp)
                    self.assertEqual(m.status, "REFUSED", m)
                    self.assertNotIn("aa", m.flags, m)
                    self.assertEqual(m.answer, [], m)
        m = self.q("dig", ".", "SOA")
        self.assertEqual(m.status, "REFUSED", m)

    # -- classes ---------------------------------------------------------------

    def test_chaos_id_server_and_hostname_bind(self):
        for client in ("dig", "kdig", "drill"):
            for qn in ("id.server.", "hostname.bind."):
                with self.subTest(client=client, q=qn):
                    if client == "drill":
                        m = self.d.drill(qn, "TXT", "CH")
                    else:
                        m = self.q(client, qn, "TXT", extra=["-c", "CH"])
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertEqual(len(m.answer), 1, m)
                    r = m.answer[0]
                    self.assertEqual(r.name.lower(), qn)
                    self.assertEqual(r.rclass, "CH")
                    self.assertEqual(r.type, "TXT")
                    self.assertEqual(r.rdata, '"ns1.test"')

    def test_chaos_version_bind_refused_when_unconfigured(self):
        for client in ("dig", "kdig"):
            m = self.q(client, "version.bind.", "TXT", extra=["-c", "CH"])
            self.assertEqual(m.status, "REFUSED", m)
            self.assertEqual(m.answer, [], m)

    def test_chaos_other_names_refused(self):
        for client in ("dig", "kdig"):
            for qn in ("authors.bind.", "foo.", "www.example.test."):
                with self.subTest(client=client, q=qn):
                    m = self.q(client, qn, "TXT", extra=["-c", "CH"])
                    self.assertEqual(m.status, "REFUSED", m)
                    self.assertEqual(m.answer, [], m)

    def test_class_hs_refused(self):
        for client, cls in (("dig", "HS"), ("kdig", "CLASS4")):
            with self.subTest(client=client):
                m = self.q(client, "www." + Z, "A", extra=["-c", cls])
                self.assertEqual(m.status, "REFUSED", m)
                self.assertEqual(m.answer, [], m)
                self.assertNotIn("aa", m.flags, m)

    def test_class_254_refused_raw(self):
        for qclass in (254, 42):
            w = self.d.udp(make_query("www." + Z, "A", qclass=qclass))
            self.assertEqual(w.rcode_name, "REFUSED")
            self.assertEqual(w.counts[1], 0)
            self.assertFalse(w.has(AA))

    # -- ANY, transfers ----------------------------------------------------------

    def test_any_minimal(self):
        full = {"A": {"192.0.2.70"}, "TXT": {'"multi txt"'},
                "MX": {"5 mail.example.test."}}
        for client, tcp in (("dig", False), ("kdig", False), ("drill", False)):
            with self.subTest(client=client, tcp=tcp):
                m = self.q(client, "multi." + Z, "ANY", tcp=tcp)
                self.assertEqual(m.status, "NOERROR", m)
                self.assertIn("aa", m.flags, m)
                self.assertGreaterEqual(len(m.answer), 1, m)
                kinds = {(r.name.lower(), r.type) for r in m.answer}
                self.assertEqual(len(kinds), 1,
                                 "ANY must return one RRset: %s" % m)
                (name, t), = kinds
                self.assertEqual(name, "multi." + Z)
                self.assertIn(t, full)
                self.assertEqual({r.rdata for r in m.answer}, full[t], m)

    def test_any_at_cname_returns_cname(self):
        for client in ("dig", "kdig"):
            m = self.q(client, "a." + Z, "ANY")
            self.assertEqual(m.status, "NOERROR", m)
            self.assertRRs(m.answer, [("a." + Z, 3600, "CNAME",
                                       "b.example.test.")], m)

    def test_axfr_refused(self):
        msgs, errors, p = gstest.dig_all(self.d.port, "axfr", Z.rstrip("."))
        self.assertTrue(msgs, "no AXFR response: %s" % p.stdout)
        self.assertEqual(msgs[0].status, "REFUSED", msgs[0])
        self.assertEqual(msgs[0].proto, "TCP")
        self.assertEqual(msgs[0].answer, [], msgs[0])
        text = gstest.kdig_text(self.d.port, "-t", "AXFR", Z,
                                host=hosts()[-1])
        self.assertRegex(text, r"(?i)(replied with error 'REFUSED'|"
                               r"status: REFUSED)", text)

    def test_ixfr_refused(self):
        m = self.d.dig("ixfr=1", Z.rstrip("."))
        self.assertEqual(m.status, "REFUSED", m)
        m = self.d.dig("ixfr=1", Z.rstrip("."), "+notcp")
        self.assertEqual(m.status, "REFUSED", m)
        text = gstest.kdig_text(self.d.port, "-t", "IXFR=1", Z)
        self.assertRegex(text, r"(?i)(replied with error 'REFUSED'|"
                               r"status: REFUSED)", text)

    def test_axfr_over_udp_refused_raw(self):
        w = self.d.udp(make_query(Z, "AXFR"))
        self.assertIn(w.rcode_name, ("REFUSED",), w.flags)
        self.assertEqual(w.counts[1], 0)

    # -- opcodes and header rules ----------------------------------------------

    def test_notimp_other_opcodes_dig(self):
        for opcode in ("notify", "status", "update"):
            for tcp in (False, True):
                with self.subTest(opcode=opcode, tcp=tcp):
                    args = ["www." + Z, "A", "+opcode=" + opcode]
                    if tcp:
                        args.append("+tcp")
                    m = self.d.dig(*args)
                    self.assertEqual(m.status, "NOTIMP", m)
                    self.assertEqual(m.opcode, opcode.upper(), m)
                    for f in ("aa", "tc", "rd", "ra"):
                        self.assertNotIn(f, m.flags, m)
                    self.assertIn("qr", m.flags, m)
                    self.assertEqual(m.answer, [], m)
                    # decided: the question and a valid OPT are echoed
                    self.assertEqual([(q[0].lower(), q[2]) for q in m.question],
                                     [("www." + Z, "A")], m)
                    self.assertIsNotNone(m.edns, m)

    def test_notimp_raw_opcodes(self):
        for opcode in (1, 3, 6, 15):
            with self.subTest(opcode=opcode):
                q = make_query("www." + Z, "A", opcode=opcode,
                               flags=RD | AA | TC | RA, edns=False)
                w = self.d.udp(q)
                self.assertEqual(w.id, struct.unpack("!H", q[:2])[0])
                self.assertTrue(w.has(QR))
                self.assertEqual(w.opcode, opcode)
                self.assertEqual(w.rcode_name, "NOTIMP")
                for f in (AA, TC, RD, RA):
                    self.assertFalse(w.has(f), hex(w.flags))
                self.assertEqual(w.counts[1:3], (0, 0))
                self.assertIsNone(w.opt)

    def test_rd_copied_ra_never_set(self):
        for client, extra in (("dig", ["+norecurse"]), ("kdig", ["+norecurse"]),
                              ("drill", ["-o", "rd"])):
            with self.subTest(client=client):
                m = self.q(client, "www." + Z, "A", extra=extra)
                self.assertNotIn("rd", m.flags, m)
                self.assertNotIn("ra", m.flags, m)
                self.assertIn("aa", m.flags, m)
        m = self.q("dig", "www." + Z, "A", extra=["+recurse"])
        self.assertIn("rd", m.flags, m)
        self.assertNotIn("ra", m.flags, m)

    def test_query_with_qr_set_gets_no_answer(self):
        for host in hosts():
            q = make_query("www." + Z, "A", flags=RD | QR)
            self.assertIsNone(self.d.udp_raw(q, host, timeout=1.0),
                              "a response to a response (%s)" % host)
        # the server still works
        self.assertEqual(self.d.dig("www." + Z).status, "NOERROR")

    def test_short_packets_get_no_answer(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(1.0)
            for data in (b"", b"\x12", b"\x12\x34\x01\x00\x00\x01",
                         bytes(11)):
                s.sendto(data, ("127.0.0.1", self.d.port))
            try:
                reply = s.recv(65535)
            except socket.timeout:
                reply = None
            self.assertIsNone(reply, "reply to a short packet: %r" % reply)
        finally:
            s.close()
        self.assertEqual(self.d.dig("www." + Z).status, "NOERROR")

    def test_qdcount_2_formerr(self):
        qid = 0x4242
        pkt = header(qid, RD, qd=2) + question("www." + Z) + \
            question("mail." + Z)
        for send in (self.d.udp, self.d.tcp):
            w = send(pkt)
            self.assertEqual(w.id, qid)
            self.assertTrue(w.has(QR))
            self.assertEqual(w.rcode_name, "FORMERR")
            self.assertEqual(w.counts[1], 0)
            # RFC 1035 4.1.1: RD is copied into the response, FORMERR too
            self.assertTrue(w.has(RD), hex(w.flags))
        pkt = header(qid, 0, qd=2) + question("www." + Z) + \
            question("mail." + Z)
        for send in (self.d.udp, self.d.tcp):
            w = send(pkt)
            self.assertEqual(w.rcode_name, "FORMERR")
            self.assertFalse(w.has(RD), hex(w.flags))

    def test_qdcount_0_without_cookie_formerr(self):
        qid = 0x4343
        for pkt in (header(qid, RD, qd=0),
                    header(qid, RD, qd=0, ar=1) + gstest.opt_rr()):
            for send in (self.d.udp, self.d.tcp):
                with self.subTest(pkt=pkt.hex(), send=send.__name__):
                    w = send(pkt)
                    self.assertEqual(w.id, qid)
                    self.assertTrue(w.has(QR))
                    self.assertEqual(w.rcode_name, "FORMERR")
                    self.assertTrue(w.has(RD), hex(w.flags))

    def test_question_case_preserved_0x20(self):
        cases = [("WwW.ExAmPlE.TeSt.", "A", "192.0.2.1"),
                 ("FoO.W.eXaMpLe.TEST.", "A", "192.0.2.80")]
        for qn, qt, rdata in cases:
            for client, host, tcp in (("dig", "127.0.0.1", False),
                                      ("dig", hosts()[-1], True),
                                      ("drill", "127.0.0.1", False),
                                      ("drill", hosts()[-1], True)):
                with self.subTest(q=qn, where=self.where(client, host, tcp)):
                    m = self.q(client, qn, qt, host, tcp)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertEqual([q[0] for q in m.question], [qn], m)
                    self.assertEqual([r.name for r in m.answer], [qn], m)
                    self.assertEqual(m.answer[0].rdata, rdata)

    def test_answer_owner_compressed_to_question(self):
        w = self.d.udp(make_query("www." + Z, "A", edns=False))
        self.assertEqual(len(w.answer), 1)
        off = w.answer[0].offset
        self.assertEqual(w.data[off:off + 2], b"\xc0\x0c",
                         "answer owner should be a pointer to the question")

    def test_response_id_and_question_echoed(self):
        for qid in (0, 1, 0xFFFF, 0x1234):
            q = make_query("mail." + Z, "A", qid=qid)
            for host in hosts():
                w = self.d.udp(q, host)
                self.assertEqual(w.id, qid)
                self.assertEqual(w.question, [("mail." + Z, 1, 1)])
                w = self.d.tcp(q, host)
                self.assertEqual(w.id, qid)


class VersionBind(DaemonTestCase):
    CONF = {"version": "geosteer test", "nsid": None}

    def test_version_bind_answered_when_configured(self):
        for client in ("dig", "kdig"):
            for tcp in (False, True):
                with self.subTest(client=client, tcp=tcp):
                    m = self.d.query(client, "version.bind.", "TXT", tcp=tcp,
                                     extra=["-c", "CH"])
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertEqual(len(m.answer), 1, m)
                    self.assertEqual(m.answer[0].rclass, "CH")
                    self.assertEqual(m.answer[0].rdata, '"geosteer test"')

    def test_id_server_refused_without_nsid(self):
        m = self.d.dig("id.server.", "TXT", "-c", "CH")
        self.assertEqual(m.status, "REFUSED", m)
        self.assertEqual(m.answer, [], m)


if __name__ == "__main__":
    gstest.main()
