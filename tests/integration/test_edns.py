#!/usr/bin/env python3
"""EDNS(0): OPT echo rules, BADVERS, unknown options and flags, DO, UDP
payload sizes and truncation, malformed OPT records, NSID, DNS COOKIEs
(RFC 7873/9018) and Client Subnet (RFC 7871). dig and kdig for everything
they can send; raw packets for malformed input."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (DaemonTestCase, EDNS_DO, OPT_COOKIE, OPT_ECS,  # noqa: E402
                    OPT_NSID, QR, TC, ecs_option, edns_option, header,
                    hosts, make_query, opt_rr, question)

Z = "example.test."
BIG = "big." + Z
BIG_COUNT = 30
CLIENT_COOKIE = "0102030405060708"


def big_rdatas():
    return {'"%02d-%s"' % (i, ("abcdefghij" * 10)[:97])
            for i in range(BIG_COUNT)}


def cookie_hex(m):
    """The COOKIE option as a lowercase hex string (dig or kdig), or None."""
    v = m.option("COOKIE")
    if v is None:
        return None
    return v.split()[0].lower()


def check_server_cookie(tc, cookie, client_hex):
    """cookie: raw bytes of a COOKIE option from a response."""
    tc.assertEqual(len(cookie), 24, "client 8 + server 16 bytes: %s" %
                   cookie.hex())
    tc.assertEqual(cookie[:8].hex(), client_hex)
    server = cookie[8:]
    tc.assertEqual(server[0], 1, "RFC 9018 version byte")
    tc.assertEqual(server[1:4], b"\0\0\0", "RFC 9018 reserved bytes")
    (ts,) = struct.unpack("!I", server[4:8])
    tc.assertLess(abs(ts - time.time()), 300,
                  "RFC 9018 timestamp %d is not now" % ts)


class Edns(DaemonTestCase):
    # -- OPT echo ----------------------------------------------------------

    def test_opt_present_iff_query_had_one(self):
        for qn, status in (("www." + Z, "NOERROR"), ("nope." + Z, "NXDOMAIN"),
                           ("www.example.org.", "REFUSED")):
            for host in hosts():
                with self.subTest(q=qn, host=host):
                    m = self.d.dig(qn, host=host)
                    self.assertEqual(m.status, status, m)
                    self.assertIsNotNone(m.edns, m)
                    self.assertEqual(m.edns["version"], 0, m)
                    m = self.d.dig(qn, "+noedns", host=host)
                    self.assertEqual(m.status, status, m)
                    self.assertIsNone(m.edns, m)
                    m = self.d.kdig(qn, "+edns", "+tcp", host=host)
                    self.assertEqual(m.status, status, m)
                    self.assertIsNotNone(m.edns, m)
                    m = self.d.kdig(qn, "+noedns", "+tcp", host=host)
                    self.assertEqual(m.status, status, m)
                    self.assertIsNone(m.edns, m)

    def test_opt_raw_exactly_one_or_none(self):
        for edns in (True, False):
            w = self.d.udp(make_query("www." + Z, edns=edns))
            self.assertEqual(w.opt_count, 1 if edns else 0)
            w = self.d.tcp(make_query("www." + Z, edns=edns))
            self.assertEqual(w.opt_count, 1 if edns else 0)

    def test_opt_advertises_configured_payload(self):
        m = self.d.dig("www." + Z, "+bufsize=4096")
        self.assertEqual(m.edns["udp"], 1232, m)
        w = self.d.udp(make_query("www." + Z, udp=512))
        self.assertEqual(w.opt["udp"], 1232)

    def test_badvers(self):
        for args in (["+edns=1", "+noednsnegotiation"],
                     ["+edns=1", "+noednsnegotiation", "+tcp"],
                     ["+edns=255", "+noednsnegotiation"]):
            with self.subTest(args=args):
                m = self.d.dig("www." + Z, *args)
                self.assertEqual(m.status, "BADVERS", m)
                self.assertIsNotNone(m.edns, m)
                self.assertEqual(m.edns["version"], 0, m)
                self.assertEqual(m.answer, [], m)
                self.assertEqual(m.authority, [], m)
        m = self.d.kdig("www." + Z, "+edns=1")
        self.assertEqual(m.status, "BADVERS", m)
        self.assertEqual(m.edns["version"], 0, m)
        self.assertEqual(m.answer, [], m)

    def test_badvers_raw(self):
        q = gstest.header(0x77, gstest.RD, qd=1, ar=1) + question("www." + Z) \
            + opt_rr(version=1)
        w = self.d.udp(q)
        self.assertEqual(w.rcode_name, "BADVERS")
        self.assertEqual(w.opt["version"], 0)
        self.assertEqual(w.counts[1], 0)
        self.assertTrue(w.has(gstest.RD), hex(w.flags))  # RFC 1035 4.1.1

    def test_unknown_option_not_echoed(self):
        m = self.d.dig("www." + Z, "+ednsopt=65001:abcd")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertFalse([k for k in m.edns["options"] if "65001" in k], m)
        m = self.d.kdig("www." + Z, "+ednsopt=65001:abcd")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertFalse([k for k in m.edns["options"] if "65001" in k], m)
        w = self.d.udp(make_query("www." + Z, options=edns_option(
            65001, b"\xab\xcd") + edns_option(65002, b"")))
        self.assertEqual(w.rcode_name, "NOERROR")
        self.assertEqual([c for c, _ in w.opt["options"]
                          if c in (65001, 65002)], [])

    def test_unknown_edns_flag_not_echoed(self):
        m = self.d.dig("www." + Z, "+ednsflags=0x0100")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertNotIn("MBZ", m.edns["options"], m)
        self.assertEqual(m.edns["flags"], set(), m)
        w = self.d.udp(make_query("www." + Z, edns_flags=0x7FFF))
        self.assertEqual(w.rcode_name, "NOERROR")
        self.assertEqual(w.opt["flags"], 0, hex(w.opt["flags"]))

    def test_do_echoed(self):
        for qn in ("www." + Z, "nope." + Z):
            m = self.d.dig(qn, "+dnssec")
            self.assertIn("do", m.edns["flags"], m)
            m = self.d.kdig(qn, "+dnssec", "+tcp")
            self.assertIn("do", m.edns["flags"], m)
            m = self.d.dig(qn, "+nodnssec")
            self.assertNotIn("do", m.edns["flags"], m)
        w = self.d.udp(make_query("www." + Z, edns_flags=EDNS_DO | 0x0100))
        self.assertEqual(w.opt["flags"], EDNS_DO)

    # -- payload size and truncation -----------------------------------------

    def check_trunc(self, m, limit, edns):
        self.assertIsNotNone(m.size, m)
        self.assertLessEqual(m.size, limit, m)
        self.assertIn("tc", m.flags, m)
        if edns:
            self.assertIsNotNone(m.edns, "OPT missing from a TC reply: %s" % m)
        else:
            self.assertIsNone(m.edns, m)

    def test_udp_truncation_sizes_dig(self):
        for args, limit, edns in ((["+bufsize=512"], 512, True),
                                  (["+bufsize=1232"], 1232, True),
                                  (["+bufsize=4096"], 1232, True),
                                  (["+bufsize=100"], 512, True),
                                  (["+noedns"], 512, False)):
            for host in hosts():
                with self.subTest(args=args, host=host):
                    m = self.d.dig(BIG, "TXT", "+ignore", "+notcp", *args,
                                   host=host)
                    self.check_trunc(m, limit, edns)

    def test_udp_truncation_sizes_kdig(self):
        for args, limit, edns in ((["+bufsize=512"], 512, True),
                                  (["+bufsize=4096"], 1232, True),
                                  (["+noedns"], 512, False)):
            with self.subTest(args=args):
                m = self.d.kdig("-t", "TXT", BIG, "+ignore", *args)
                self.check_trunc(m, limit, edns)

    def test_udp_truncation_raw(self):
        for udp, limit in ((512, 512), (1232, 1232), (4096, 1232),
                           (65535, 1232)):
            with self.subTest(udp=udp):
                reply = self.d.udp_raw(make_query(BIG, "TXT", udp=udp))
                self.assertIsNotNone(reply)
                self.assertLessEqual(len(reply), limit)
                w = gstest.Wire(reply)
                self.assertTrue(w.has(TC))
                self.assertEqual(w.opt_count, 1)
        reply = self.d.udp_raw(make_query(BIG, "TXT", edns=False))
        self.assertLessEqual(len(reply), 512)
        w = gstest.Wire(reply)
        self.assertTrue(w.has(TC))
        self.assertEqual(w.opt_count, 0)

    def test_small_answer_not_truncated(self):
        for args in (["+bufsize=512"], ["+noedns"]):
            m = self.d.dig("www." + Z, "+ignore", *args)
            self.assertNotIn("tc", m.flags, m)
            self.assertEqual(len(m.answer), 1, m)

    def test_tcp_full_answer(self):
        for host in hosts():
            m = self.d.dig(BIG, "TXT", "+tcp", "+bufsize=512", host=host)
            self.assertNotIn("tc", m.flags, m)
            self.assertEqual(m.status, "NOERROR", m)
            self.assertEqual({r.rdata for r in m.answer}, big_rdatas(), m)
            m = self.d.kdig("-t", "TXT", BIG, "+tcp", host=host)
            self.assertNotIn("tc", m.flags, m)
            self.assertEqual({r.rdata for r in m.answer}, big_rdatas(), m)
            m = self.d.drill("-t", BIG, "TXT", host=host)
            self.assertNotIn("tc", m.flags, m)
            self.assertEqual({r.rdata for r in m.answer}, big_rdatas(), m)

    def test_dig_falls_back_to_tcp_after_tc(self):
        m = self.d.dig(BIG, "TXT", "+bufsize=1232")
        self.assertEqual(m.proto, "TCP", m)
        self.assertEqual(len(m.answer), BIG_COUNT, m)

    # -- malformed OPT -------------------------------------------------------

    def malformed(self):
        q = question("www." + Z)
        two_opts = header(1, gstest.RD, qd=1, ar=2) + q + opt_rr() + opt_rr()
        opt_in_answer = header(2, gstest.RD, qd=1, an=1) + q + opt_rr()
        opt_in_authority = header(3, gstest.RD, qd=1, ns=1) + q + opt_rr()
        overrun = header(4, gstest.RD, qd=1, ar=1) + q + opt_rr(
            options=struct.pack("!HH", 65001, 8) + b"\xab\xcd\xab\xcd")
        short_opt_hdr = header(5, gstest.RD, qd=1, ar=1) + q + opt_rr(
            options=b"\x00\x0a\x00")
        rdlen_past_end = header(6, gstest.RD, qd=1, ar=1) + q + opt_rr(
            options=b"", rdlen=12)
        return [("two OPTs", two_opts), ("OPT in answer", opt_in_answer),
                ("OPT in authority", opt_in_authority),
                ("option overruns OPT", overrun),
                ("truncated option header", short_opt_hdr),
                ("OPT rdlength past the end", rdlen_past_end)]

    def test_malformed_opt_formerr_without_opt(self):
        for what, pkt in self.malformed():
            for transport in ("udp", "tcp"):
                with self.subTest(what=what, transport=transport):
                    w = getattr(self.d, transport)(pkt)
                    self.assertEqual(w.id, struct.unpack("!H", pkt[:2])[0])
                    self.assertTrue(w.has(QR))
                    self.assertEqual(w.rcode_name, "FORMERR")
                    self.assertEqual(w.opt_count, 0,
                                     "FORMERR for a bad OPT must carry no OPT")
                    self.assertEqual(w.counts[1], 0)
        self.assertEqual(self.d.dig("www." + Z).status, "NOERROR")

    # -- NSID ----------------------------------------------------------------

    def test_nsid_returned_when_asked(self):
        for host in hosts():
            m = self.d.dig("www." + Z, "+nsid", host=host)
            self.assertIn("NSID", m.edns["options"], m)
            self.assertIn('"ns1.test"', m.edns["options"]["NSID"], m)
            self.assertIn("6e 73 31 2e 74 65 73 74", m.edns["options"]["NSID"])
            m = self.d.kdig("www." + Z, "+nsid", "+tcp", host=host)
            self.assertIn('"ns1.test"', m.option("NSID") or "", m)
            self.assertIn("6E73312E74657374", (m.option("NSID") or "").upper())
        # also on negative answers
        m = self.d.dig("nope." + Z, "+nsid")
        self.assertIn('"ns1.test"', m.option("NSID") or "", m)
        w = self.d.udp(make_query("www." + Z, options=edns_option(OPT_NSID,
                                                                  b"")))
        self.assertEqual(w.option(OPT_NSID), b"ns1.test")

    def test_nsid_absent_when_not_asked(self):
        m = self.d.dig("www." + Z, "+nonsid")
        self.assertNotIn("NSID", m.edns["options"], m)
        m = self.d.kdig("www." + Z, "+edns")
        self.assertIsNone(m.option("NSID"), m)
        w = self.d.udp(make_query("www." + Z))
        self.assertIsNone(w.option(OPT_NSID))

    # -- COOKIE --------------------------------------------------------------

    def test_cookie_client_only(self):
        for host in hosts():
            for args in ([], ["+tcp"]):
                with self.subTest(host=host, args=args):
                    m = self.d.dig("www." + Z, "+cookie=" + CLIENT_COOKIE,
                                   *args, host=host)
                    self.assertEqual(m.status, "NOERROR", m)
                    c = cookie_hex(m)
                    self.assertIsNotNone(c, m)
                    check_server_cookie(self, bytes.fromhex(c), CLIENT_COOKIE)
        m = self.d.kdig("www." + Z, "+cookie=" + CLIENT_COOKIE)
        self.assertEqual(m.status, "NOERROR", m)
        c = cookie_hex(m)
        self.assertIsNotNone(c, m)
        check_server_cookie(self, bytes.fromhex(c), CLIENT_COOKIE)

    def test_cookie_absent_when_not_sent(self):
        m = self.d.dig("www." + Z, "+nocookie")
        self.assertIsNone(m.option("COOKIE"), m)
        m = self.d.kdig("www." + Z, "+nocookie", "+edns")
        self.assertIsNone(m.option("COOKIE"), m)

    def test_cookie_server_cookie_accepted(self):
        m = self.d.dig("www." + Z, "+cookie=" + CLIENT_COOKIE)
        full = cookie_hex(m)
        self.assertIsNotNone(full, m)
        for client in ("dig", "kdig"):
            with self.subTest(client=client):
                if client == "dig":
                    m2 = self.d.dig("www." + Z, "+cookie=" + full)
                else:
                    m2 = self.d.kdig("www." + Z, "+cookie=" + full)
                self.assertEqual(m2.status, "NOERROR", m2)
                self.assertRRs(m2.answer, [("www." + Z, 300, "A",
                                            "192.0.2.1")])
                c2 = cookie_hex(m2)
                self.assertIsNotNone(c2, m2)
                check_server_cookie(self, bytes.fromhex(c2), CLIENT_COOKIE)
        # the server cookie depends on the client cookie
        other = "1112131415161718"
        m3 = self.d.dig("www." + Z, "+cookie=" + other)
        c3 = cookie_hex(m3)
        check_server_cookie(self, bytes.fromhex(c3), other)
        self.assertNotEqual(c3[16 + 16:], full[16 + 16:],
                            "server cookie hash ignores the client cookie")

    def test_cookie_invalid_server_cookie_gets_fresh_one(self):
        bogus = CLIENT_COOKIE + "01000000" + "00000001" + "00" * 8
        m = self.d.dig("www." + Z, "+cookie=" + bogus, "+nobadcookie")
        self.assertIn(m.status, ("NOERROR", "BADCOOKIE"), m)
        c = cookie_hex(m)
        self.assertIsNotNone(c, m)
        check_server_cookie(self, bytes.fromhex(c), CLIENT_COOKIE)
        self.assertNotEqual(c, bogus.lower())

    def test_cookie_bad_length_formerr(self):
        for n in (1, 7, 9, 15, 41):
            with self.subTest(length=n):
                w = self.d.udp(make_query("www." + Z, options=edns_option(
                    OPT_COOKIE, bytes(range(1, n + 1)))))
                self.assertEqual(w.rcode_name, "FORMERR")
                self.assertEqual(w.counts[1], 0)
                # RFC 6891 7: a badly formatted option value gets an OPT
                self.assertEqual(w.opt_count, 1)
                self.assertEqual(w.opt["options"], [])

    def test_cookie_only_query_qdcount_0(self):
        opt = opt_rr(options=edns_option(OPT_COOKIE,
                                         bytes.fromhex(CLIENT_COOKIE)))
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                pkt = header(0x5151, gstest.RD, qd=0, ar=1) + opt
                w = getattr(self.d, transport)(pkt)
                self.assertEqual(w.id, 0x5151)
                self.assertEqual(w.rcode_name, "NOERROR")
                self.assertEqual(w.counts[:3], (0, 0, 0))
                c = w.option(OPT_COOKIE)
                self.assertIsNotNone(c)
                check_server_cookie(self, c, CLIENT_COOKIE)

    # -- ECS -----------------------------------------------------------------

    def test_ecs_echo_ipv4(self):
        for host in hosts():
            m = self.d.dig("www." + Z, "+subnet=192.0.2.0/24", host=host)
            self.assertEqual(m.status, "NOERROR", m)
            self.assertEqual(m.option("CLIENT-SUBNET"), "192.0.2.0/24/0", m)
            m = self.d.kdig("www." + Z, "+subnet=192.0.2.0/24", "+tcp",
                            host=host)
            self.assertEqual(m.option("CLIENT-SUBNET"), "192.0.2.0/24/0", m)

    def test_ecs_echo_ipv6(self):
        m = self.d.dig("www." + Z, "AAAA", "+subnet=2001:db8::/56")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertEqual(m.option("CLIENT-SUBNET"), "2001:db8::/56/0", m)
        m = self.d.kdig("-t", "AAAA", "www." + Z, "+subnet=2001:db8::/56")
        self.assertEqual(m.option("CLIENT-SUBNET"), "2001:db8::/56/0", m)

    def test_ecs_echo_source_0(self):
        m = self.d.dig("www." + Z, "+subnet=0.0.0.0/0")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertEqual(m.option("CLIENT-SUBNET"), "0.0.0.0/0/0", m)

    def test_ecs_not_echoed_when_not_sent(self):
        m = self.d.dig("www." + Z)
        self.assertIsNone(m.option("CLIENT-SUBNET"), m)

    def test_ecs_echo_raw_bytes(self):
        w = self.d.udp(make_query("www." + Z, options=ecs_option(
            1, 24, 0, bytes([192, 0, 2]))))
        self.assertEqual(w.rcode_name, "NOERROR")
        self.assertEqual(w.option(OPT_ECS), struct.pack("!HBB", 1, 24, 0) +
                         bytes([192, 0, 2]))

    def test_ecs_malformed_formerr(self):
        cases = [
            ("bits set past the prefix", ecs_option(1, 20, 0, b"\xc0\x00\x0f")),
            ("IPv4 source 33", ecs_option(1, 33, 0, b"\xc0\x00\x02\x00\x00")),
            ("IPv6 source 129", ecs_option(2, 129, 0, bytes(17))),
            ("unknown family 3", ecs_option(3, 8, 0, b"\x01")),
            ("address longer than the prefix", ecs_option(1, 24, 0,
                                                          b"\xc0\x00\x02\x00")),
            ("address shorter than the prefix", ecs_option(1, 24, 0,
                                                           b"\xc0\x00")),
            ("option shorter than 4 bytes", edns_option(OPT_ECS, b"\x00\x01")),
        ]
        for what, opt in cases:
            for transport in ("udp", "tcp"):
                with self.subTest(what=what, transport=transport):
                    w = getattr(self.d, transport)(make_query("www." + Z,
                                                              options=opt))
                    self.assertEqual(w.rcode_name, "FORMERR")
                    self.assertEqual(w.counts[1], 0)
                    # RFC 6891 7: the FORMERR for a badly formatted
                    # option value carries an OPT (without the option)
                    self.assertEqual(w.opt_count, 1)
                    self.assertEqual(w.opt["options"], [])
                    self.assertTrue(w.has(gstest.RD), hex(w.flags))


class BigPayload(DaemonTestCase):
    CONF = {"udp_payload": 4096, "nsid": None, "version": "geosteer test"}

    def test_whole_answer_fits_4096(self):
        for host in hosts():
            with self.subTest(host=host):
                m = self.d.dig(BIG, "TXT", "+bufsize=4096", "+ignore",
                               "+notcp", host=host)
                self.assertNotIn("tc", m.flags, m)
                self.assertEqual(m.proto, "UDP", m)
                self.assertLessEqual(m.size, 4096, m)
                self.assertGreater(m.size, 1232, m)
                self.assertEqual({r.rdata for r in m.answer}, big_rdatas(), m)
                self.assertEqual(m.edns["udp"], 4096, m)
        m = self.d.kdig("-t", "TXT", BIG, "+bufsize=4096", "+ignore")
        self.assertNotIn("tc", m.flags, m)
        self.assertEqual({r.rdata for r in m.answer}, big_rdatas(), m)

    def test_client_limit_still_applies(self):
        for args, limit, edns in ((["+bufsize=1232"], 1232, True),
                                  (["+bufsize=512"], 512, True),
                                  (["+noedns"], 512, False)):
            with self.subTest(args=args):
                m = self.d.dig(BIG, "TXT", "+ignore", "+notcp", *args)
                self.assertIn("tc", m.flags, m)
                self.assertLessEqual(m.size, limit, m)
                self.assertEqual(m.edns is not None, edns, m)

    def test_nsid_absent_when_not_configured(self):
        m = self.d.dig("www." + Z, "+nsid")
        self.assertEqual(m.status, "NOERROR", m)
        self.assertNotIn("NSID", m.edns["options"], m)
        m = self.d.kdig("www." + Z, "+nsid")
        self.assertIsNone(m.option("NSID"), m)


# The longest name in example.test. (255 bytes on the wire) and the longest
# NSID: with an ECS /128 and a cookie the OPT record alone is 322 bytes,
# and with the question it does not fit 512.
LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 48]) + "." + Z
LONG_NSID = "n" * 255


class EdnsLongNsid(DaemonTestCase):
    CONF = {"nsid": LONG_NSID}

    def options(self):
        return (edns_option(OPT_NSID, b"") +
                ecs_option(2, 128, 0, bytes.fromhex(
                    "20010db8000000000000000000000001")) +
                edns_option(OPT_COOKIE, bytes.fromhex(CLIENT_COOKIE)))

    def test_opt_never_partial_at_any_payload_size(self):
        # Every payload size from 512 up: the response parses strictly
        # (counts match the records, nothing trails), carries one whole
        # OPT, fits the size, and is marked TC where options were dropped.
        for host in hosts():
            saw_tc = False
            for size in range(512, 1233):
                q = make_query(LONG_NAME, "A", udp=size,
                               options=self.options())
                data = self.d.udp_raw(q, host=host)
                self.assertIsNotNone(data, "no reply at size %d" % size)
                try:
                    w = gstest.Wire(data)
                except gstest.WireError as e:
                    self.fail("size %d: malformed reply (%s): %s" %
                              (size, e, data.hex()))
                self.assertLessEqual(len(data), size)
                self.assertEqual(w.opt_count, 1, "size %d" % size)
                self.assertEqual(w.rcode_name, "NXDOMAIN", "size %d" % size)
                nsid = w.option(OPT_NSID)
                if nsid is None or w.option(OPT_ECS) is None:
                    self.assertTrue(w.has(TC), "size %d: options dropped "
                                    "without TC" % size)
                saw_tc |= w.has(TC)
                if nsid is not None:
                    self.assertEqual(nsid, LONG_NSID.encode())
            self.assertTrue(saw_tc, "no size was small enough to truncate")

    def test_kdig_reads_the_small_replies(self):
        # kdig, an independent parser, at a few sizes around the limit
        for size in (512, 560, 600, 700):
            with self.subTest(size=size):
                text = gstest.kdig_text(
                    self.d.port, "+bufsize=%d" % size, "+nsid", "+cookie",
                    "+subnet=2001:db8::1/128", "+notcp", "+ignore",
                    "-t", "A", LONG_NAME)
                self.assertNotIn("malformed", text.lower(), text)
                self.assertNotIn("failed", text.lower(), text)
                msgs = gstest.parse_kdig(text)
                self.assertTrue(msgs, text)
                self.assertEqual(msgs[-1].status, "NXDOMAIN", text)


if __name__ == "__main__":
    gstest.main()
