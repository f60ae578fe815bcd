#!/usr/bin/env python3
"""Differential test against Knot DNS.

geosteerd (plain authoritative, no services) and knotd serve the same zone
files; the same few thousand raw queries (seeded, so every run sends the
same ones) go to both over UDP, and a part of them over TCP. The responses
are decoded and compared after normalizing what differs by construction:
server cookies, record order within a section, name compression. Every
difference gets a class (a string that names the query and what differs);
a class must match an entry of data/differential-allow.txt (a difference
that is acceptable, with its reason) or of KNOWN_BUGS below (a geosteerd
bug being fixed), or the test fails and prints the query and both
responses. A KNOWN_BUGS entry that no longer matches anything fails too:
the bug is fixed, so the entry goes.

Environment (besides gstest's): GS_DIFF_SEED to try another seed,
GS_DIFF_VERBOSE=1 to print one example of every class, GS_DIFF_DUMP=FILE
to write every difference with its query and both responses to FILE."""

import collections
import fnmatch
import os
import random
import re
import selectors
import shutil
import socket
import struct
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (AA, AD, CD, EDNS_DO, OPT_COOKIE, OPT_ECS,  # noqa: E402
                    OPT_NSID, QR, RA, RD, TC, header, opt_rr)

# knotd lives in /usr/sbin, which is not on every user's PATH.
for _d in ("/usr/sbin", "/sbin"):
    if _d not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = os.environ.get("PATH", "") + ":" + _d

# geosteerd bugs the comparison finds today, as {name: (class patterns)}
# (the patterns have the syntax of data/differential-allow.txt). They are
# being fixed: whoever fixes one removes its entry here (remove when
# fixed). The test fails when an entry matches nothing any more.
KNOWN_BUGS = {
    # None today. The four this test found (RD not copied into FORMERR and
    # BADVERS; CNAME/DNAME loops repeating records; a partial OPT; FORMERR
    # for a bad option value without OPT) are fixed, and the comparison
    # holds them fixed.
}

SEED = int(os.environ.get("GS_DIFF_SEED", "20240601"))
N_RANDOM = 2200  # random queries over UDP (besides the systematic ones)
TCP_SHARE = 0.12  # of the random ones also sent over TCP
# Long enough that with a 255-octet question the OPT record (NSID, ECS,
# COOKIE) cannot fit into 512 octets: both servers use it as NSID and as
# the CHAOS identity and version.
NSID = "ns1." + "differential-test-" * 11
PAYLOAD = 1232  # geosteerd "udp_payload", Knot "udp-max-payload"
CLIENT_COOKIE = bytes.fromhex("0123456789abcdef")
UDP_WINDOW = 24  # UDP queries in flight
REPLY_TIMEOUT = 1.0  # both silent this long: both dropped it
GRACE_TIMEOUT = 3.0  # one answered: how long the other may still take
TCP_TIMEOUT = 3.0
KNOT_START_TIMEOUT = 10.0
PRINT_MAX = 200  # unexplained differences printed (GS_DIFF_DUMP: all)
ALLOW_FILE = os.path.join(gstest.DATA, "differential-allow.txt")

ZONES = ("example.test", "neg.test", "diff.test")

# ---------------------------------------------------------------------------
# names, types, classes

TYPE_NAMES = {
    0: "TYPE0", 1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR",
    13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 35: "NAPTR",
    39: "DNAME", 41: "OPT", 43: "DS", 44: "SSHFP", 46: "RRSIG", 47: "NSEC",
    48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 64: "SVCB",
    65: "HTTPS", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
    253: "MAILB", 254: "MAILA", 255: "ANY", 257: "CAA",
}
TYPE_CODES = {v: k for k, v in TYPE_NAMES.items()}
CLASS_NAMES = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
OPCODE_NAMES = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY",
                5: "UPDATE", 6: "DSO"}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
               4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET",
               8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS",
               23: "BADCOOKIE"}
OPTION_NAMES = {3: "NSID", 8: "ECS", 9: "EXPIRE", 10: "COOKIE",
                11: "KEEPALIVE", 12: "PADDING", 13: "CHAIN", 15: "EDE"}
FLAG_BITS = (("QR", QR), ("AA", AA), ("TC", TC), ("RD", RD), ("RA", RA),
             ("Z", 0x0040), ("AD", AD), ("CD", CD))


def type_name(t):
    return TYPE_NAMES.get(t, "TYPE%d" % t)


def class_name(c):
    return CLASS_NAMES.get(c, "CLASS%d" % c)


def opcode_name(o):
    return OPCODE_NAMES.get(o, "OP%d" % o)


def rcode_name(r):
    return RCODE_NAMES.get(r, "RCODE%d" % r)


def option_name(c):
    return OPTION_NAMES.get(c, "OPT%d" % c)


def labels_of(text):
    """Presentation name (\\. and \\DDD escapes) -> tuple of label bytes."""
    text = text.rstrip(".") if not text.endswith("\\.") else text
    if text in ("", "."):
        return ()
    labels, cur, i = [], bytearray(), 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if text[i + 1:i + 4].isdigit() and len(text[i + 1:i + 4]) == 3:
                cur.append(int(text[i + 1:i + 4]))
                i += 4
                continue
            cur += text[i + 1].encode()
            i += 2
            continue
        if ch == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur += ch.encode()
        i += 1
    labels.append(bytes(cur))
    return tuple(labels)


def wire_name(labels):
    return b"".join(bytes([len(lb)]) + lb for lb in labels) + b"\0"


def name_text(labels):
    if not labels:
        return "."
    out = []
    for lb in labels:
        s = ""
        for b in lb:
            c = chr(b)
            if c in ".\\\"();":
                s += "\\" + c
            elif 0x21 <= b <= 0x7e:
                s += c
            else:
                s += "\\%03d" % b
        out.append(s)
    return ".".join(out) + "."


def lower_labels(labels):
    return tuple(lb.lower() for lb in labels)


def flip_case(rng, labels):
    """0x20: each ASCII letter randomly upper or lower case."""
    out = []
    for lb in labels:
        out.append(bytes((b ^ 0x20) if (chr(b).isalpha() and rng.random() <
                                        0.5) else b for b in lb))
    return tuple(out)


# (id, name) of the names the queries ask for. The id goes into the query's
# class (differential-allow.txt patterns match on it).
D = "diff.test."
E = "example.test."
A63, B63, C63, X63 = ("a" * 63, "b" * 63, "c" * 63, "x" * 63)
LONG244 = ".".join(("d" * 40, A63, B63, C63, D))  # 244 octets in wire form
NAMES = [
    # example.test (tests/integration/data/example.test.zone)
    ("ex.apex", E), ("ex.www", "www." + E), ("ex.ns1", "ns1." + E),
    ("ex.mail", "mail." + E), ("ex.txt", "txt." + E),
    ("ex.srv", "_sip._tcp." + E), ("ex.srv-ent", "_tcp." + E),
    ("ex.caa", "caa." + E), ("ex.ptr", "ptr." + E),
    ("ex.naptr", "naptr." + E), ("ex.sshfp", "sshfp." + E),
    ("ex.tlsa", "_443._tcp.tlsa." + E), ("ex.tlsa-ent", "_tcp.tlsa." + E),
    ("ex.https", "https." + E), ("ex.svcb", "svcb." + E),
    ("ex.unk", "unk." + E), ("ex.multi", "multi." + E),
    ("ex.big", "big." + E),
    ("ex.cname-chain", "a." + E), ("ex.cname-mid", "b." + E),
    ("ex.cname-ext", "ext." + E), ("ex.cname-loop", "loop1." + E),
    ("ex.cname-dangling", "dangling." + E),
    ("ex.dname-owner", "dname." + E), ("ex.dname-below", "x.dname." + E),
    ("ex.dname-below-nx", "nx.dname." + E),
    ("ex.dname-below2", "y.x.dname." + E),
    ("ex.dname-long-owner", "long." + E),
    ("ex.dname-yxdomain", ("q" * 20) + ".long." + E),
    ("ex.wild", "foo.w." + E), ("ex.wild-deep", "a.b.w." + E),
    ("ex.wild-exists", "exists.w." + E), ("ex.wild-ent", "ent.w." + E),
    ("ex.wild-ent-below", "y.ent.w." + E), ("ex.wild-ent-x", "x.ent.w." + E),
    ("ex.wild-literal", "*.w." + E), ("ex.wild-parent", "w." + E),
    ("ex.deleg-at", "sub." + E), ("ex.deleg-glue", "ns.sub." + E),
    ("ex.deleg-below", "www.sub." + E), ("ex.deleg-below2", "a.b.sub." + E),
    ("ex.nx", "nope." + E), ("ex.nx-deep", "a.b.nope." + E),
    ("ex.upper", "WWW.EXAMPLE.TEST."),
    # neg.test
    ("neg.apex", "neg.test."), ("neg.host", "host.neg.test."),
    ("neg.nx", "nx.neg.test."),
    # diff.test (tests/integration/data/diff.test.zone)
    ("diff.apex", D), ("diff.ns1", "ns1." + D), ("diff.mx", "mx." + D),
    ("diff.srv", "srv." + D), ("diff.nsrec", "nsrec." + D),
    ("diff.multi", "multi." + D), ("diff.target", "target." + D),
    ("diff.deleg-at", "child." + D), ("diff.deleg-glue", "ns.child." + D),
    ("diff.deleg-below", "www.child." + D),
    ("diff.deleg-occluded", "occluded.child." + D),
    ("diff.deleg-lame", "lame." + D), ("diff.deleg-lame-below", "x.lame." + D),
    ("diff.deleg-noaddr", "noaddr." + D),
    ("diff.deleg-noaddr-ns", "ns.noaddr." + D),
    ("diff.deleg-big", "bigdeleg." + D),
    ("diff.deleg-big-below", "www.bigdeleg." + D),
    ("diff.deleg-ent", "ent2." + D), ("diff.deleg-deep", "deep.ent2." + D),
    ("diff.deleg-deep-below", "x.deep.ent2." + D),
    ("diff.wild", "foo.wa." + D), ("diff.wild-deep", "x.y.wa." + D),
    ("diff.wild-exists", "exists.wa." + D), ("diff.wild-ent", "ent.wa." + D),
    ("diff.wild-ent-below", "q.ent.wa." + D),
    ("diff.wcname", "foo.wc." + D), ("diff.wcname-deep", "a.b.wc." + D),
    ("diff.wcname-ext", "foo.wcext." + D),
    ("diff.wcname-out", "foo.wcout." + D),
    ("diff.wcname-loop", "loop.wcloop." + D),
    ("diff.wcname-loop2", "other.wcloop." + D),
    ("diff.wb", "foo.wb." + D), ("diff.wb-literal", "*.wb." + D),
    ("diff.wb-below", "sub.*.wb." + D), ("diff.wb-below-nx", "x.*.wb." + D),
    ("diff.cname-chain", "c1." + D), ("diff.cname-chain10", "k1." + D),
    ("diff.cname-chain10-mid", "k5." + D),
    ("diff.cname-ext", "cext." + D), ("diff.cname-out", "cout." + D),
    ("diff.cname-self", "self." + D), ("diff.cname-loop3", "l1." + D),
    ("diff.cname-nx", "cnx." + D), ("diff.cname-deleg", "cdeleg." + D),
    ("diff.cname-wild", "cwild." + D), ("diff.cname-dname", "cdname." + D),
    ("diff.dname-chain", "x.dn1." + D), ("diff.dname-chain-nx", "y.dn1." + D),
    ("diff.dname-chain-deep", "a.x.dn1." + D),
    ("diff.dname-owner", "dn1." + D),
    ("diff.dname-ext", "www.dnext." + D), ("diff.dname-out", "www.dnout." + D),
    ("diff.dname-loop", "x.dnl1." + D), ("diff.dname-grow", "x.dngrow." + D),
    ("diff.dname-cname", "x.dncn." + D), ("diff.dname-withdata", "dnA." + D),
    ("diff.dname-withdata-below", "x.dnA." + D),
    ("diff.dname-fit", "x.dnfit." + D),
    ("diff.dname-nofit", "xx.dnfit." + D),
    ("diff.ent", "ent." + D), ("diff.ent2", "c.ent." + D),
    ("diff.ent3", "b.c.ent." + D), ("diff.ent-leaf", "a.b.c.ent." + D),
    ("diff.ent-nx", "x.c.ent." + D), ("diff.ent-e2", "e2." + D),
    ("diff.upper", "mixed." + D), ("diff.upper-exact", "MiXeD." + D),
    ("diff.upper2", "upper.case." + D), ("diff.upper-ent", "CASE." + D),
    ("diff.upper-cname", "ucname." + D), ("diff.upper-mx", "UCMX." + D),
    ("diff.long", LONG244), ("diff.long-cname", "tolong." + D),
    ("diff.long-below", "e" * 9 + "." + LONG244),  # 254 octets
    ("diff.long-nx", ".".join(("f" * 9, "d" * 40, A63, B63, X63, D))),
    ("diff.escaped-dot", "a\\.b." + D),
    ("diff.escaped-space", "sp\\032ace." + D),
    ("diff.ttlmix", "ttlmix." + D),
    ("diff.caa", "caa." + D), ("diff.ptr", "ptr." + D),
    ("diff.unk", "unk." + D),
    ("diff.nx", "nothere." + D), ("diff.nx-deep", "a.b.c.nothere." + D),
    # names no zone here has
    ("out.org", "www.example.org."), ("out.parent", "test."),
    ("out.root", "."), ("out.tld", "org."), ("out.sibling", "other.test."),
    ("out.suffix", "xexample.test."),
]
NAME_OF = dict(NAMES)
CH_NAMES = [("ch.id-server", "id.server."),
            ("ch.hostname-bind", "hostname.bind."),
            ("ch.version-bind", "version.bind."),
            ("ch.version-server", "version.server."),
            ("ch.authors-bind", "authors.bind."), ("ch.other", "foo.bar."),
            ("ch.zone-name", "www.example.test.")]

COMMON_TYPES = ["A", "AAAA", "NS", "SOA", "CNAME", "DNAME", "MX", "TXT",
                "SRV", "PTR", "CAA", "DS", "ANY", 65534]
MORE_TYPES = ["NAPTR", "SSHFP", "TLSA", "HTTPS", "SVCB", "HINFO", "DNSKEY",
              "RRSIG", "NSEC", "NSEC3PARAM", "AXFR", "IXFR", 0, "OPT", "TKEY",
              "TSIG", "MAILB", "MAILA", 128, 65535, 65280]
SYSTEMATIC_TYPES = ["A", "AAAA", "NS", "SOA", "CNAME", "DNAME", "MX", "TXT",
                    "SRV", "DS", "ANY"]


def tcode(t):
    return t if isinstance(t, int) else TYPE_CODES[t]


# ---------------------------------------------------------------------------
# queries


class Query:
    """One query: its bytes, where it goes, and its class tokens."""

    def __init__(self, data, tokens, proto="udp", af=4):
        self.data = data
        self.proto = proto
        self.af = af
        self.tokens = tokens  # list of (key, value)

    def host(self):
        return "::1" if self.af == 6 else "127.0.0.1"

    def qclass(self):
        toks = [("proto", self.proto), ("af", str(self.af))] + self.tokens
        return ",".join("%s=%s" % kv for kv in toks)


class Builder:
    """Builds the query list from one seeded random.Random."""

    def __init__(self, rng, knot_cookies):
        self.rng = rng
        self.knot_cookies = knot_cookies  # af -> server cookie from Knot
        self.queries = []

    def qid(self):
        return self.rng.randint(0, 0xFFFF)

    # -- the parts
    def edns_options(self, kinds, af):
        out = b""
        for k in kinds:
            out += self.option(k, af)
        return out

    def option(self, kind, af):
        r = self.rng
        if kind == "nsid":
            return gstest.edns_option(OPT_NSID, b"")
        if kind == "nsid-data":
            return gstest.edns_option(OPT_NSID, b"abcd")
        if kind == "ecs4":
            src = r.choice([0, 8, 16, 24, 32, 20])
            addr = bytes([192, 0, 2, 77])[:(src + 7) // 8]
            if src % 8:
                addr = addr[:-1] + bytes([addr[-1] & (0xFF << (8 - src % 8))
                                          & 0xFF])
            return gstest.ecs_option(1, src, 0, addr)
        if kind == "ecs6":
            src = r.choice([0, 32, 48, 56, 64, 128])
            addr = bytes.fromhex("20010db8aabbccdd0011223344556677")
            return gstest.ecs_option(2, src, 0, addr[:(src + 7) // 8])
        if kind == "ecs-bad":
            return r.choice([
                gstest.ecs_option(3, 24, 0, b"\1\2\3"),  # unknown family
                gstest.ecs_option(1, 33, 0, b"\1\2\3\4\5"),  # prefix > 32
                gstest.ecs_option(1, 24, 0, b"\1\2"),  # address too short
                gstest.ecs_option(1, 16, 0, b"\1\2\3"),  # address too long
                gstest.ecs_option(1, 20, 0, b"\1\2\x3f"),  # bits past prefix
                gstest.ecs_option(2, 129, 0, bytes(17)),  # prefix > 128
                gstest.edns_option(OPT_ECS, b"\0\1"),  # shorter than 4
                gstest.ecs_option(1, 24, 0, b"\1\2\3") +
                gstest.ecs_option(1, 24, 0, b"\1\2\3"),  # twice
            ])
        if kind == "ecs-scope":  # nonzero scope in a query (RFC 7871 6)
            return gstest.ecs_option(1, 24, 24, b"\xc0\0\2")
        if kind == "cookie-cc":
            return gstest.edns_option(OPT_COOKIE, CLIENT_COOKIE)
        if kind == "cookie-sc":  # Knot's valid server cookie
            return gstest.edns_option(OPT_COOKIE, CLIENT_COOKIE +
                                      self.knot_cookies[af])
        if kind == "cookie-badsc":  # a server cookie nobody made
            return gstest.edns_option(OPT_COOKIE, CLIENT_COOKIE +
                                      bytes.fromhex("01000000") +
                                      struct.pack("!I", 1700000000) +
                                      bytes(8))
        if kind == "cookie-bad":  # malformed lengths (RFC 7873 5.2.2)
            n = r.choice([0, 1, 7, 9, 15, 41])
            return gstest.edns_option(OPT_COOKIE, bytes(range(n)))
        if kind == "unknown":
            return r.choice([gstest.edns_option(65001, b"\xab\xcd"),
                             gstest.edns_option(65535, b""),
                             gstest.edns_option(0, b"\x01"),
                             gstest.edns_option(14, b"")])
        if kind == "padding":
            return gstest.edns_option(12, bytes(r.choice([0, 7, 100])))
        if kind == "keepalive":
            return gstest.edns_option(11, b"")
        if kind == "expire":
            return gstest.edns_option(9, b"")
        if kind == "ede":
            return gstest.edns_option(15, b"\0\0")
        raise ValueError(kind)

    def rand_options(self, af):
        r = self.rng
        kinds = []
        if r.random() < 0.3:
            kinds.append(r.choice(["nsid", "nsid", "nsid-data"]))
        if r.random() < 0.25:
            kinds.append(r.choice(["ecs4", "ecs4", "ecs6", "ecs-bad",
                                   "ecs-scope"]))
        if r.random() < 0.3:
            kinds.append(r.choice(["cookie-sc", "cookie-sc", "cookie-sc",
                                   "cookie-cc", "cookie-badsc",
                                   "cookie-bad"]))
        if r.random() < 0.12:
            kinds.append(r.choice(["unknown", "unknown", "padding",
                                   "keepalive", "expire", "ede"]))
        r.shuffle(kinds)
        return kinds

    def rand_size(self):
        r = self.rng
        return r.choice([0, 1, 511, 512, 513, 600, 1000, 1231, 1232, 1233,
                         1400, 1500, 4095, 4096, 4097, 65535,
                         r.randint(0, 65535), r.randint(400, 1300)])

    def rand_flags(self):
        r = self.rng
        f = 0
        names = []
        if r.random() < 0.5:
            f |= RD
        if r.random() < 0.15:
            f |= CD
        if r.random() < 0.15:
            f |= AD
        if r.random() < 0.05:
            f |= r.choice([AA, TC, RA, 0x0040])
        for n, bit in FLAG_BITS:
            if f & bit:
                names.append(n.lower())
        return f, "+".join(names) or "-"

    def make(self, kind, name_id, labels, qtype, qclass=1, flags=RD,
             fname=None, opcode=0, edns=0, udp=PAYLOAD, do=False,
             opts=(), af=4, proto="udp", shape=(), ednsflags=0,
             ext_rcode=0, qid=None):
        """A query with one question; edns None: no OPT."""
        msg = header(self.qid() if qid is None else qid, flags, 1, 0, 0,
                     0 if edns is None else 1, opcode)
        msg += wire_name(labels) + struct.pack("!HH", tcode(qtype), qclass)
        if edns is not None:
            msg += opt_rr(udp=udp, version=edns,
                          flags=(EDNS_DO if do else 0) | ednsflags,
                          ext_rcode=ext_rcode,
                          options=self.edns_options(opts, af))
        if fname is None:
            fname = "+".join(n.lower() for n, b in FLAG_BITS
                             if flags & b) or "-"
        toks = [("kind", kind), ("op", opcode_name(opcode)), ("qd", "1"),
                ("class", class_name(qclass)),
                ("type", type_name(tcode(qtype))), ("name", name_id),
                ("edns", "none" if edns is None else str(edns)),
                ("do", "1" if do else "0"),
                ("opts", "+".join(opts) or "-"),
                ("size", "-" if edns is None else str(udp)),
                ("flags", fname), ("shape", "+".join(shape) or "-")]
        q = Query(msg, toks, proto, af)
        self.queries.append(q)
        return q

    # -- the query sets
    def systematic(self):
        """Every name with the common types, plain EDNS, RD off; again
        without EDNS; the CH names."""
        for nid, text in NAMES:
            labels = labels_of(text)
            for t in SYSTEMATIC_TYPES:
                self.make("sys", nid, labels, t, flags=0)
            self.make("sys", nid, labels, "A", edns=None)
            self.make("sys", nid, labels, "TXT", flags=RD | CD, edns=None)
        for nid, text in CH_NAMES:
            for t in ("TXT", "A", "ANY"):
                self.make("sys", nid, labels_of(text), t, qclass=3)
        for nid in ("ex.apex", "ex.www", "diff.apex"):
            for t in COMMON_TYPES + MORE_TYPES:
                self.make("types", nid, labels_of(NAME_OF[nid]), t)

    def random(self, n):
        r = self.rng
        all_types = COMMON_TYPES * 3 + MORE_TYPES
        for _ in range(n):
            af = 6 if gstest.HAVE_IPV6 and r.random() < 0.2 else 4
            if r.random() < 0.06:
                nid, text = r.choice(CH_NAMES)
                qclass = 3
            else:
                nid, text = r.choice(NAMES)
                x = r.random()
                qclass = 1 if x < 0.9 else r.choice([3, 4, 254, 255, 0, 100])
            labels = labels_of(text)
            shape = []
            if r.random() < 0.3:
                labels = flip_case(r, labels)
                shape.append("0x20")
            qtype = r.choice(all_types)
            flags, fname = self.rand_flags()
            x = r.random()
            opcode = 0 if x < 0.9 else r.choice([1, 2, 3, 4, 5, 6, 15])
            x = r.random()
            edns = None if x < 0.2 else (0 if x < 0.93 else
                                         r.choice([1, 2, 255]))
            kw = {}
            if edns is not None:
                kw["udp"] = self.rand_size()
                kw["do"] = r.random() < 0.3
                kw["opts"] = self.rand_options(af)
                if r.random() < 0.03:
                    kw["ednsflags"] = 0x0001  # an undefined Z bit
                    shape.append("ednsz")
            q = self.make("rand", nid, labels, qtype, qclass=qclass,
                          flags=flags, fname=fname, opcode=opcode, edns=edns,
                          af=af, shape=shape, **kw)
            if r.random() < 0.02:
                q.data += bytes(r.randint(1, 8))
                q.tokens[-1] = ("shape", "+".join(shape + ["tail"]))
            if r.random() < TCP_SHARE:
                self.queries.append(Query(q.data, list(q.tokens), "tcp", af))

    def targeted(self):
        """Large answers at the payload limits, the OPT record at the
        edge, and TCP for the big ones."""
        def ask(kind, nid, qtype, **kw):
            self.make(kind, nid, labels_of(NAME_OF[nid]), qtype, **kw)

        for size in (0, 511, 512, 513, 1231, 1232, 1233, 4096, 65535):
            for opts in ((), ("nsid",), ("nsid", "ecs6", "cookie-sc")):
                ask("size", "ex.big", "TXT", udp=size, opts=opts)
                ask("size", "diff.long-below", "A", udp=size, opts=opts)
                ask("size", "diff.deleg-big-below", "A", udp=size, opts=opts)
        ask("size", "ex.big", "TXT", edns=None)
        ask("size", "diff.deleg-big-below", "A", edns=None)
        for nid in ("ex.big", "ex.apex", "diff.deleg-big", "diff.multi"):
            for t in ("TXT", "ANY", "NS", "AXFR", "IXFR", "A"):
                ask("tcp", nid, t, proto="tcp")
                ask("tcp", nid, t, proto="tcp", edns=None)
        # the OPT record close to the limit: long names, every option
        for nid in ("diff.long-below", "diff.long", "diff.long-nx",
                    "diff.long-cname"):
            for t in ("A", "TXT", "NS", "ANY"):
                for size in (512, 513, 600):
                    ask("optfit", nid, t, udp=size,
                        opts=("nsid", "ecs6", "cookie-sc"))
                    ask("optfit", nid, t, udp=size,
                        opts=("nsid", "ecs4", "cookie-cc", "padding"))

    def edge(self):
        """Hand-made odd messages."""
        www = labels_of("www." + E)
        q1 = wire_name(www) + struct.pack("!HH", 1, 1)
        opt = opt_rr()
        cases = [
            ("qd0-noedns", header(1, RD, 0, 0, 0, 0)),
            ("qd0-edns", header(2, RD, 0, 0, 0, 1) + opt),
            ("qd0-cookie", header(3, RD, 0, 0, 0, 1) + opt_rr(
                options=gstest.edns_option(OPT_COOKIE, CLIENT_COOKIE))),
            ("qd0-cookie-sc", None),
            ("qd0-nsid", header(5, RD, 0, 0, 0, 1) + opt_rr(
                options=gstest.edns_option(OPT_NSID, b""))),
            ("qd2", header(6, RD, 2, 0, 0, 0) + q1 + q1),
            ("qd2-edns", header(7, RD, 2, 0, 0, 1) + q1 + q1 + opt),
            ("qd2-one-present", header(8, RD, 2, 0, 0, 0) + q1),
            ("qd1-missing", header(9, RD, 1, 0, 0, 0)),
            ("qd1-truncated", header(10, RD, 1, 0, 0, 0) + q1[:-2]),
            ("qr-set", header(11, RD | QR, 1, 0, 0, 0) + q1),
            ("short-header", header(12, RD, 1, 0, 0, 0)[:11]),
            ("empty", b""),
            ("tail", header(13, RD, 1, 0, 0, 0) + q1 + b"\0\0\0"),
            ("tail-edns", header(14, RD, 1, 0, 0, 1) + q1 + opt + b"junk"),
            ("ar1-missing", header(15, RD, 1, 0, 0, 1) + q1),
            ("an1-garbage", header(16, RD, 1, 1, 0, 0) + q1 + b"\1"),
            ("an1-record", header(17, RD, 1, 1, 0, 0) + q1 +
             b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)),
            ("ns1-record", header(18, RD, 1, 0, 1, 0) + q1 +
             b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4)),
            ("opt-twice", header(19, RD, 1, 0, 0, 2) + q1 + opt + opt),
            ("opt-in-answer", header(20, RD, 1, 1, 0, 0) + q1 + opt),
            ("opt-in-authority", header(21, RD, 1, 0, 1, 0) + q1 + opt),
            ("opt-owner-not-root", header(22, RD, 1, 0, 0, 1) + q1 +
             b"\xc0\x0c" + opt[1:]),
            ("opt-rdlen-long", header(23, RD, 1, 0, 0, 1) + q1 +
             opt_rr(rdlen=10)),
            ("opt-option-overrun", header(24, RD, 1, 0, 0, 1) + q1 +
             opt_rr(options=struct.pack("!HH", 65001, 10) + b"abc")),
            ("opt-option-header-cut", header(25, RD, 1, 0, 0, 1) + q1 +
             opt_rr(options=b"\xfd\xe9\0")),
            ("opt-nsid-overrun", header(26, RD, 1, 0, 0, 1) + q1 +
             opt_rr(options=struct.pack("!HH", 3, 2))),
            ("opt-ext-rcode", header(27, RD, 1, 0, 0, 1) + q1 +
             opt_rr(ext_rcode=1)),
            ("opt-version1-bad-options", header(28, RD, 1, 0, 0, 1) + q1 +
             opt_rr(version=1, options=b"\xfd")),
            ("opt-and-tsig-like", header(29, RD, 1, 0, 0, 2) + q1 + opt +
             b"\0" + struct.pack("!HHIH", 250, 255, 0, 0)),
            ("tsig-unknown-key", header(39, RD, 1, 0, 0, 1) + q1 +
             tsig_rr(39)),
            ("qname-pointer", header(30, RD, 1, 0, 0, 0) + b"\xc0\x0c" +
             struct.pack("!HH", 1, 1)),
            ("qname-pointer-after-label", header(31, RD, 1, 0, 0, 0) +
             b"\3www\xc0\x0c" + struct.pack("!HH", 1, 1)),
            ("qname-label-0x40", header(32, RD, 1, 0, 0, 0) + b"\x41" +
             bytes(65) + b"\0" + struct.pack("!HH", 1, 1)),
            ("qname-too-long", header(33, RD, 1, 0, 0, 0) +
             wire_name((b"a" * 63,) * 4 + (b"test",)) +
             struct.pack("!HH", 1, 1)),
            ("qname-255", header(34, RD, 1, 0, 0, 0) +
             wire_name(labels_of("e" * 10 + "." + LONG244)) +
             struct.pack("!HH", 1, 1)),
            ("qname-256", header(35, RD, 1, 0, 0, 0) +
             wire_name(labels_of("e" * 11 + "." + LONG244)) +
             struct.pack("!HH", 1, 1)),
            ("qname-root-label-nul", header(36, RD, 1, 0, 0, 0) +
             b"\1\0" + wire_name(labels_of(D)) + struct.pack("!HH", 1, 1)),
            ("rcode-in-query", header(37, RD | 0x000F, 1, 0, 0, 0) + q1),
            ("all-flags", header(38, AA | TC | RD | RA | 0x0040 | AD | CD,
                                 1, 0, 0, 0) + q1),
        ]
        for shape, data in cases:
            if shape == "qd0-cookie-sc":
                for af in self.afs():
                    data = header(4, RD, 0, 0, 0, 1) + opt_rr(
                        options=gstest.edns_option(
                            OPT_COOKIE, CLIENT_COOKIE + self.knot_cookies[af]))
                    self.add_edge(shape, data, af)
                continue
            self.add_edge(shape, data, 4)
        # opcodes with a normal question, with and without EDNS and RD
        for opcode in (1, 2, 3, 4, 5, 6, 7, 15):
            for edns in (None, 0, 1):
                for flags in (0, RD):
                    self.make("opcode", "ex.apex", labels_of(E), "SOA",
                              flags=flags, opcode=opcode, edns=edns)
            self.add_edge("opcode-qd0", header(40 + opcode, 0, 0, 0, 0, 0,
                                               opcode), 4,
                          op=opcode)
        # EDNS versions and flags with and without RD
        for version in (1, 2, 255):
            for flags in (0, RD, RD | CD):
                self.make("badvers", "ex.www", www, "A", flags=flags,
                          edns=version, opts=("nsid", "cookie-sc"))
        # every EDNS option alone, over both transports
        for kind in ("nsid", "nsid-data", "ecs4", "ecs6", "ecs-bad",
                     "ecs-scope", "cookie-cc", "cookie-sc", "cookie-badsc",
                     "cookie-bad", "unknown", "padding", "keepalive",
                     "expire", "ede"):
            for proto in ("udp", "tcp"):
                for _ in range(3):
                    self.make("option", "ex.www", www, "A", opts=(kind,),
                              proto=proto)

    def afs(self):
        return (4, 6) if gstest.HAVE_IPV6 else (4,)

    def add_edge(self, shape, data, af, op=0):
        toks = [("kind", "edge"), ("op", opcode_name(op)), ("qd", "-"),
                ("class", "-"), ("type", "-"), ("name", "-"), ("edns", "-"),
                ("do", "-"), ("opts", "-"), ("size", "-"), ("flags", "-"),
                ("shape", shape)]
        self.queries.append(Query(data, toks, "udp", af))
        if len(data) >= 12:
            self.queries.append(Query(data, list(toks), "tcp", af))


def tsig_rr(qid):
    """A well-formed TSIG record (RFC 8945 4.2) with a key nobody has."""
    rd = wire_name(labels_of("hmac-sha256.")) + struct.pack(
        "!HIH", 0, 1700000000, 300) + struct.pack("!H", 32) + bytes(32) + \
        struct.pack("!HHH", qid, 0, 0)
    return wire_name(labels_of("nokey.")) + struct.pack(
        "!HHIH", 250, 255, 0, len(rd)) + rd


def build_queries(knot_cookies, seed=SEED):
    b = Builder(random.Random(seed), knot_cookies)
    b.systematic()
    b.targeted()
    b.edge()
    b.random(N_RANDOM)
    return b.queries


# ---------------------------------------------------------------------------
# decoding and comparing responses


class BadMessage(Exception):
    pass


def read_name(data, off):
    """(labels, end offset) of a possibly compressed name; strict."""
    labels = []
    end = None
    hops = 0
    total = 1
    while True:
        if off >= len(data):
            raise BadMessage("name runs past the end")
        n = data[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(data):
                raise BadMessage("truncated pointer")
            ptr = ((n & 0x3F) << 8) | data[off + 1]
            if end is None:
                end = off + 2
            hops += 1
            if hops > 127 or ptr >= off:
                raise BadMessage("bad compression pointer")
            off = ptr
            continue
        if n & 0xC0:
            raise BadMessage("bad label type 0x%02x" % n)
        off += 1
        if n == 0:
            break
        if off + n > len(data):
            raise BadMessage("label runs past the end")
        labels.append(bytes(data[off:off + n]))
        total += n + 1
        off += n
    if total > 255:
        raise BadMessage("name longer than 255 octets")
    return tuple(labels), (off if end is None else end)


def _strings(rd):
    out, i = [], 0
    while i < len(rd):
        n = rd[i]
        if i + 1 + n > len(rd):
            raise BadMessage("character-string runs past its rdata")
        out.append(bytes(rd[i + 1:i + 1 + n]))
        i += 1 + n
    return out


def decode_rdata(data, off, rdlen, rtype):
    """(fields, text): fields a tuple with names as label tuples (case
    kept); names may be compressed in the message."""
    rd = data[off:off + rdlen]
    end = off + rdlen

    def name_at(o):
        labels, e = read_name(data, o)
        if e > end:
            raise BadMessage("name runs past its rdata")
        return labels, e

    if rtype in (2, 5, 12, 39):
        n, e = name_at(off)
        if e != end:
            raise BadMessage("junk after the name in %s" % type_name(rtype))
        return ("N", n), name_text(n)
    if rtype == 15:
        if rdlen < 3:
            raise BadMessage("short MX")
        n, e = name_at(off + 2)
        pref = struct.unpack("!H", rd[:2])[0]
        return (pref, "N", n), "%d %s" % (pref, name_text(n))
    if rtype == 6:
        m, e = name_at(off)
        r, e = name_at(e)
        if end - e != 20:
            raise BadMessage("SOA fixed part is not 20 octets")
        nums = struct.unpack("!5I", data[e:end])
        return ("N", m, "N", r) + nums, "%s %s %s" % (
            name_text(m), name_text(r), " ".join(map(str, nums)))
    if rtype == 33 and rdlen >= 7:
        n, e = name_at(off + 6)
        nums = struct.unpack("!3H", rd[:6])
        return nums + ("N", n), "%d %d %d %s" % (nums + (name_text(n),))
    if rtype == 1 and rdlen == 4:
        return (rd,), socket.inet_ntop(socket.AF_INET, rd)
    if rtype == 28 and rdlen == 16:
        return (rd,), socket.inet_ntop(socket.AF_INET6, rd)
    if rtype == 16:
        ss = _strings(rd)
        return tuple(ss), " ".join('"%s"' % s.decode("ascii", "replace")
                                   for s in ss)
    return (rd,), "\\# %d %s" % (rdlen, rd.hex())


def fold(fields):
    """The fields with every name lowercased (names compare without
    case, RFC 4343)."""
    out, i = [], 0
    fields = list(fields)
    while i < len(fields):
        if fields[i] == "N":
            out += ["N", lower_labels(fields[i + 1])]
            i += 2
        else:
            out.append(fields[i])
            i += 1
    return tuple(out)


class Record:
    def __init__(self, owner, rtype, rclass, ttl, fields, text):
        self.owner, self.type, self.rclass = owner, rtype, rclass
        self.ttl, self.fields, self.text = ttl, fields, text

    def key(self, ttl=True, case=False):
        owner = self.owner if case else lower_labels(self.owner)
        fields = self.fields if case else fold(self.fields)
        return (owner, self.type, self.rclass, self.ttl if ttl else None,
                fields)

    def __str__(self):
        return "%s %d %s %s %s" % (name_text(self.owner), self.ttl,
                                   class_name(self.rclass),
                                   type_name(self.type), self.text)


class Response:
    """A decoded response (strict: anything malformed raises BadMessage)."""

    def __init__(self, data):
        self.data = data
        if len(data) < 12:
            raise BadMessage("short message (%d octets)" % len(data))
        (self.id, self.flags, qd, an, ns, ar) = struct.unpack("!6H",
                                                              data[:12])
        self.counts = (qd, an, ns, ar)
        self.opcode = (self.flags >> 11) & 0xF
        off = 12
        self.question = []
        for _ in range(qd):
            labels, off = read_name(data, off)
            if off + 4 > len(data):
                raise BadMessage("truncated question")
            qt, qc = struct.unpack("!HH", data[off:off + 4])
            off += 4
            self.question.append((labels, qt, qc))
        self.sections = []
        self.opts = []
        for si, count in enumerate((an, ns, ar)):
            rrs = []
            for _ in range(count):
                owner, off = read_name(data, off)
                if off + 10 > len(data):
                    raise BadMessage("truncated RR header")
                t, c, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
                off += 10
                if off + rdlen > len(data):
                    raise BadMessage("rdata runs past the end (%s)" %
                                     type_name(t))
                if t == 41:
                    if si != 2:
                        raise BadMessage("OPT outside the additional section")
                    if owner:
                        raise BadMessage("OPT owner is not the root")
                    self.opts.append((c, ttl, parse_options(
                        data[off:off + rdlen])))
                else:
                    fields, text = decode_rdata(data, off, rdlen, t)
                    rrs.append(Record(owner, t, c, ttl, fields, text))
                off += rdlen
            self.sections.append(rrs)
        if off != len(data):
            raise BadMessage("%d octets after the last record" %
                             (len(data) - off))
        if len(self.opts) > 1:
            raise BadMessage("%d OPT records" % len(self.opts))
        self.opt = None
        self.rcode = self.flags & 0xF
        if self.opts:
            udp, ttl, options = self.opts[0]
            self.opt = {"udp": udp, "ext": ttl >> 24,
                        "version": (ttl >> 16) & 0xFF,
                        "do": bool(ttl & EDNS_DO), "z": ttl & 0x7FFF,
                        "options": options}
            self.rcode |= self.opt["ext"] << 4


def parse_options(rd):
    out, off = [], 0
    while off < len(rd):
        if off + 4 > len(rd):
            raise BadMessage("truncated EDNS option header")
        code, length = struct.unpack("!HH", rd[off:off + 4])
        off += 4
        if off + length > len(rd):
            raise BadMessage("EDNS option %s overruns the OPT record" %
                             option_name(code))
        out.append((code, bytes(rd[off:off + length])))
        off += length
    return out


def bad_kind(err):
    """The class part of a decoding error: its words, without numbers."""
    err = re.sub(r"\(.*?\)|0x[0-9a-f]+|\b[0-9]+\b", "", err)
    return "-".join(err.split())


def decode(raw):
    """(Response or None, error text or None); raw None: no reply."""
    if raw is None:
        return None, None
    try:
        return Response(raw), None
    except BadMessage as e:
        return None, str(e)


def show(raw, resp, err):
    """A response, readably (dig-like)."""
    if raw is None:
        return "    (no response)"
    if resp is None:
        return "    MALFORMED (%s): %s" % (err, raw.hex())
    r = resp
    flags = " ".join(n.lower() for n, b in FLAG_BITS if r.flags & b)
    lines = ["    opcode %s, rcode %s, id %d, flags [%s], counts qd=%d an=%d "
             "ns=%d ar=%d, %d octets" % (opcode_name(r.opcode),
                                         rcode_name(r.rcode), r.id, flags,
                                         *r.counts, len(raw))]
    if r.opt:
        o = r.opt
        opts = ", ".join("%s=%s" % (option_name(c), v.hex() or '""')
                         for c, v in o["options"])
        lines.append("    OPT version %d, udp %d, do %d, z 0x%04x, ext %d%s"
                     % (o["version"], o["udp"], o["do"], o["z"], o["ext"],
                        ", options " + opts if opts else ""))
    for labels, qt, qc in r.question:
        lines.append("    Q  %s %s %s" % (name_text(labels), class_name(qc),
                                         type_name(qt)))
    for tag, sec in zip(("AN", "NS", "AR"), r.sections):
        for rr in sec:
            lines.append("    %s %s" % (tag, rr))
    return "\n".join(lines)


def types_of(keys):
    return "{%s}" % "+".join(sorted({type_name(k[1]) for k in keys}))


def multiset_diff(a, b):
    ca, cb = collections.Counter(a), collections.Counter(b)
    return list((ca - cb).elements()), list((cb - ca).elements())


SECTION_NAMES = ("answer", "authority", "additional")


def option_value(code, value):
    """What of an option value is compared: a server cookie is the
    server's own (only its length is compared)."""
    if code == OPT_COOKIE:
        return "cc=%s,len=%d" % (value[:8].hex(), len(value))
    return value.hex()


def compare(g, k):
    """Differences between geosteerd's response g and Knot's k (both
    decoded Responses): a list of (class part, detail)."""
    out = []
    if g.id != k.id:
        out.append(("id differs", "gs %d knot %d" % (g.id, k.id)))
    if g.opcode != k.opcode:
        out.append(("opcode gs=%s knot=%s" % (opcode_name(g.opcode),
                                              opcode_name(k.opcode)), ""))
    if g.rcode != k.rcode:
        # The rest follows from the rcode: it is the one difference.
        out.append(("rcode gs=%s knot=%s" % (rcode_name(g.rcode),
                                             rcode_name(k.rcode)), ""))
        return out
    for n, bit in FLAG_BITS:
        if (g.flags & bit) != (k.flags & bit):
            out.append(("flag %s gs=%d knot=%d" % (n, bool(g.flags & bit),
                                                   bool(k.flags & bit)), ""))
    if g.question != k.question:
        if len(g.question) != len(k.question):
            out.append(("question gs=%d knot=%d" % (len(g.question),
                                                    len(k.question)), ""))
        elif [(lower_labels(n), t, c) for n, t, c in g.question] == \
                [(lower_labels(n), t, c) for n, t, c in k.question]:
            out.append(("question case", ""))
        else:
            out.append(("question differs", ""))
    for name, gs, ks in zip(SECTION_NAMES, g.sections, k.sections):
        ga = [r.key(ttl=False) for r in gs]
        ka = [r.key(ttl=False) for r in ks]
        only_g, only_k = multiset_diff(ga, ka)
        if only_g or only_k:
            dup = ""
            if len(set(ga)) != len(ga) or len(set(ka)) != len(ka):
                dup = " dup-gs=%d dup-knot=%d" % (len(ga) - len(set(ga)),
                                                  len(ka) - len(set(ka)))
            out.append(("%s only-gs=%s only-knot=%s%s" % (
                name, types_of(only_g) if only_g else "{}",
                types_of(only_k) if only_k else "{}", dup),
                "only geosteerd: %s; only Knot: %s" % (
                    [str(r) for r in gs if r.key(ttl=False) in only_g],
                    [str(r) for r in ks if r.key(ttl=False) in only_k])))
            continue
        gt = sorted(r.key() for r in gs)
        kt = sorted(r.key() for r in ks)
        if gt != kt:
            out.append(("%s ttl" % name, "%s / %s" % (
                [str(r) for r in gs], [str(r) for r in ks])))
        gc = sorted(r.key(case=True) for r in gs)
        kc = sorted(r.key(case=True) for r in ks)
        if gc != kc and gt == kt:
            out.append(("%s case" % name, "%s / %s" % (
                [str(r) for r in gs], [str(r) for r in ks])))
    go, ko = g.opt, k.opt
    if (go is None) != (ko is None):
        out.append(("opt gs=%s knot=%s" % ("absent" if go is None else
                                           "present", "absent" if ko is None
                                           else "present"), ""))
    elif go is not None:
        for f in ("version", "do", "z", "udp"):
            if go[f] != ko[f]:
                out.append(("opt %s gs=%s knot=%s" % (f, int(go[f]),
                                                      int(ko[f])), ""))
        gcodes = [c for c, _ in go["options"]]
        kcodes = [c for c, _ in ko["options"]]
        for c in sorted(set(gcodes) | set(kcodes)):
            if gcodes.count(c) != kcodes.count(c):
                out.append(("option %s gs=%d knot=%d" % (
                    option_name(c), gcodes.count(c), kcodes.count(c)), ""))
                continue
            gv = [option_value(c, v) for cc, v in go["options"] if cc == c]
            kv = [option_value(c, v) for cc, v in ko["options"] if cc == c]
            if gv != kv:
                out.append(("option %s value" % option_name(c),
                            "%s / %s" % (gv, kv)))
    return out


# ---------------------------------------------------------------------------
# the allow-list


class AllowList:
    """data/differential-allow.txt: see the comment at its top."""

    def __init__(self, path):
        self.path = path
        self.entries = []  # [pattern, reason, line]
        with open(path) as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t":
                if not self.entries:
                    raise ValueError("%s:%d: continuation line without an "
                                     "entry" % (path, i))
                self.entries[-1][1] += " " + line.strip()
                continue
            parts = line.split(None, 1)
            self.entries.append([parts[0], parts[1].strip() if len(parts) > 1
                                 else "", i])

    def problems(self):
        out = []
        for pattern, reason, line in self.entries:
            if len(reason) < 20:
                out.append("%s:%d: %s: every entry needs a reason" %
                           (self.path, line, pattern))
        return out

    def match(self, cls):
        for e in self.entries:
            if fnmatch.fnmatchcase(cls, e[0]):
                return e
        return None


def known_bug(cls):
    for name, patterns in KNOWN_BUGS.items():
        if any(fnmatch.fnmatchcase(cls, p) for p in patterns):
            return name
    return None


class Tally:
    """Classifies the differences of each query's pair of responses: known
    bug, allowed (by which entry) or unexplained; counts them per class and
    keeps what is to be printed. dump: a file name to write every
    difference to (GS_DIFF_DUMP); verbose: keep one example of every class,
    not only of the unexplained ones."""

    def __init__(self, allow, dump=None, verbose=False):
        self.allow = allow
        self.counts = collections.Counter()  # (status, key) -> n
        self.examples = {}  # (status, key) -> [text]
        self.seen_bugs = set()
        self.used_allow = set()
        self.n_queries = 0  # queries with differences
        self.n_unexplained = 0
        self.verbose = verbose
        self.dump = open(dump, "w") if dump else None

    def close(self):
        if self.dump:
            self.dump.close()
            self.dump = None

    def add(self, q, graw, kraw):
        """The differences between geosteerd's reply graw and Knot's kraw
        (bytes, None: no reply) to query q."""
        if graw is None and kraw is None:
            return
        g, gerr = decode(graw)
        k, kerr = decode(kraw)
        rc = "%s/%s" % (rcode_name(g.rcode) if g else "-",
                        rcode_name(k.rcode) if k else "-")
        if g is None or k is None:
            def state(raw, err):
                return "none" if raw is None else \
                    "malformed/" + bad_kind(err) if err else "ok"
            diffs = [("response gs=%s knot=%s" % (state(graw, gerr),
                                                  state(kraw, kerr)),
                      gerr or kerr or "")]
        else:
            diffs = compare(g, k)
        if diffs:
            self.n_queries += 1
        for what, detail in diffs:
            what = what.replace(" ", ":")  # classes have no blanks
            cls = "%s|rc=%s|%s" % (q.qclass(), rc, what)
            bug = known_bug(cls)
            entry = None if bug else self.allow.match(cls)
            if bug:
                status, key = "KNOWN BUG", bug
                self.seen_bugs.add(bug)
            elif entry:
                status, key = "allowed", entry[0]
                self.used_allow.add(entry[0])
            else:
                status, key = "UNEXPLAINED", "rc=%s|%s" % (rc, what)
                self.n_unexplained += 1
            self.counts[(status, key)] += 1
            text = ("  class: %s\n  detail: %s\n  query (%s to %s): %s\n"
                    "  geosteerd:\n%s\n  knotd:\n%s" %
                    (cls, detail or "-", q.proto, q.host(), q.data.hex(),
                     show(graw, g, gerr), show(kraw, k, kerr)))
            if self.dump:
                self.dump.write("%s\t%s\n%s\n" % (status, key, text))
            ex = self.examples.setdefault((status, key), [])
            if status == "UNEXPLAINED":
                if self.n_unexplained <= PRINT_MAX:
                    ex.append(text)
            elif self.verbose and not ex:
                ex.append(text)

    def unexplained(self):
        return self.n_unexplained

    def report(self, what):
        for (status, key), ex in sorted(self.examples.items()):
            if not ex:
                continue
            print("\n==== %s: %s (%d)" % (status, key,
                                         self.counts[(status, key)]))
            for e in ex:
                print(e)
                print("  ----")
        if self.n_unexplained > PRINT_MAX:
            print("\n==== %d more unexplained differences not printed (set "
                  "GS_DIFF_DUMP=FILE for all of them)" %
                  (self.n_unexplained - PRINT_MAX))
        print("\n==== differential: %s; %d queries with differences" %
              (what, self.n_queries))
        print("==== summary (differences per class):")
        for (status, key), n in sorted(self.counts.items(),
                                       key=lambda kv: (kv[0][0], -kv[1])):
            print("  %6d  %-11s  %s" % (n, status, key))
        for pattern, _, line in self.allow.entries:
            if pattern not in self.used_allow:
                print("  note: allow-list entry at line %d matched nothing: "
                      "%s" % (line, pattern))
        sys.stdout.flush()


# ---------------------------------------------------------------------------
# sending


def _udp_socket(af):
    s = socket.socket(socket.AF_INET6 if af == 6 else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.setblocking(False)
    return s


def exchange_udp(queries, ports):
    """Sends every query to both servers (ports: (gs, knot)), at most
    UDP_WINDOW at a time; returns {index: [gs reply, knot reply]} (None:
    no reply). Both silent for REPLY_TIMEOUT: no reply from either; one
    answered: the other gets up to GRACE_TIMEOUT."""
    sel = selectors.DefaultSelector()
    results = {}
    todo = collections.deque(i for i, q in enumerate(queries)
                             if q.proto == "udp")
    inflight = {}  # index -> [start, open sockets]
    try:
        while todo or inflight:
            while todo and len(inflight) < UDP_WINDOW:
                i = todo.popleft()
                q = queries[i]
                results[i] = [None, None]
                socks = []
                for side, port in enumerate(ports):
                    s = _udp_socket(q.af)
                    try:
                        s.sendto(q.data, (q.host(), port))
                    except OSError:
                        s.close()
                        continue
                    sel.register(s, selectors.EVENT_READ, (i, side))
                    socks.append(s)
                inflight[i] = [time.monotonic(), socks]
            now = time.monotonic()
            wait = min(st + (GRACE_TIMEOUT if len(ss) == 1 else
                             REPLY_TIMEOUT) for st, ss in
                       inflight.values()) - now
            for key, _ in sel.select(max(wait, 0)):
                i, side = key.data
                s = key.fileobj
                try:
                    data, _ = s.recvfrom(65535)
                except OSError:
                    continue
                results[i][side] = data
                sel.unregister(s)
                s.close()
                inflight[i][1].remove(s)
                if not inflight[i][1]:
                    del inflight[i]
            now = time.monotonic()
            for i in list(inflight):
                st, ss = inflight[i]
                limit = GRACE_TIMEOUT if len(ss) == 1 else REPLY_TIMEOUT
                if now - st >= limit:
                    for s in ss:
                        sel.unregister(s)
                        s.close()
                    del inflight[i]
    finally:
        for st, ss in inflight.values():
            for s in ss:
                s.close()
        sel.close()
    return results


def tcp_one(port, q):
    """One query on its own connection: the reply, or None if the server
    closed the connection (or sent nothing within TCP_TIMEOUT)."""
    try:
        s = gstest.tcp_connect(port, q.host(), timeout=TCP_TIMEOUT)
    except OSError:
        return None
    try:
        s.sendall(gstest.tcp_frame(q.data))
        return gstest.tcp_recv_msg(s)
    except (OSError, socket.timeout):
        return None
    finally:
        s.close()


def exchange_tcp(queries, ports):
    out = {}
    for i, q in enumerate(queries):
        if q.proto == "tcp":
            out[i] = [tcp_one(ports[0], q), tcp_one(ports[1], q)]
    return out


# ---------------------------------------------------------------------------
# knotd


KNOT_CONF = """\
# written by test_differential.py
server:
    rundir: "{dir}/run"
    listen: [ {listen} ]
    identity: "{nsid}"
    version: "{nsid}"
    nsid: "{nsid}"
    udp-max-payload: {payload}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    edns-client-subnet: on
database:
    storage: "{dir}/db"
log:
  - target: stderr
    any: notice
mod-cookies:
  - id: fixed
    secret: 0x{secret}
template:
  - id: default
    storage: "{dir}/zones"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    global-module: mod-cookies/fixed
zone:
{zones}
"""


class Knot(gstest.ServerProcess):
    """One knotd in its own temporary directory, run as whoever runs the
    test: rundir (pid file, control socket) and database storage are in the
    temporary directory and the zone files are copies (journal-content:
    none and zonefile-sync: -1 would not touch them anyway), so root and
    an ordinary user alike need nothing else; no `user:` (knotd stays who
    started it). Stopped by PID."""

    def __init__(self, zones):
        self.dir = tempfile.mkdtemp(prefix="gstest-knot-")
        self.name = "knotd"
        self.log_path = os.path.join(self.dir, "knotd.log")
        for sub in ("run", "db", "zones"):
            os.mkdir(os.path.join(self.dir, sub))
        for z in zones:
            shutil.copy(os.path.join(gstest.DATA, z + ".zone"),
                        os.path.join(self.dir, "zones", z + ".zone"))
        self.port = gstest.free_port()
        listen = ", ".join('"%s@%d"' % (h, self.port) for h in gstest.hosts())
        self.conf_path = os.path.join(self.dir, "knot.conf")
        with open(self.conf_path, "w") as f:
            f.write(KNOT_CONF.format(
                dir=self.dir, listen=listen, nsid=NSID, payload=PAYLOAD,
                secret=os.urandom(16).hex(),
                zones="".join("  - domain: %s\n    file: %s.zone\n" % (z, z)
                              for z in zones)))
        gstest._live.append(self)  # log dump on failure, cleanup at exit

    def start(self):
        self._popen(["knotd", "-c", self.conf_path])
        deadline = time.monotonic() + KNOT_START_TIMEOUT
        q = gstest.make_query(ZONES[0], "SOA", edns=False)
        pending = [(h, p) for p in ("udp", "tcp") for h in gstest.hosts()]
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError("knotd exited with status %s:\n%s" %
                                     (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("knotd not answering on %s port %d "
                                     "after %.0fs:\n%s" %
                                     (pending, self.port, KNOT_START_TIMEOUT,
                                      self.log_tail()))
            host, proto = pending[0]
            if proto == "udp":
                r = gstest.udp_exchange(self.port, q, host, timeout=0.2)
            else:
                try:
                    r = gstest.tcp_query(self.port, q, host, timeout=0.5)
                    r = r.data
                except (OSError, AssertionError, socket.timeout):
                    r = None
            # NOERROR with the SOA: the zone is loaded, not only the socket
            if r is not None and r[:2] == q[:2] and r[3] & 0xF == 0 and \
                    struct.unpack("!H", r[6:8])[0] == 1:
                pending.pop(0)
            else:
                time.sleep(0.05)


def knot_version():
    p = gstest.run(["knotd", "-V"])
    return (p.stdout.strip() or p.stderr.strip()).splitlines()[0]


def knot_server_cookie(port, af):
    """The server cookie Knot gives CLIENT_COOKIE from this address (in a
    BADCOOKIE response to a client cookie alone)."""
    q = gstest.make_query("www." + E, qid=0x4242, options=gstest.edns_option(
        OPT_COOKIE, CLIENT_COOKIE))
    host = "::1" if af == 6 else "127.0.0.1"
    for _ in range(5):
        reply = gstest.udp_exchange(port, q, host, timeout=1.0)
        if reply is None:
            continue
        c = gstest.Wire(reply).option(OPT_COOKIE)
        if c and len(c) == 24 and c[:8] == CLIENT_COOKIE:
            return c[8:]
    raise AssertionError("no server cookie from knotd (%s)" % host)


# ---------------------------------------------------------------------------
# the test


class Differential(unittest.TestCase):
    gs = None
    knot = None

    @classmethod
    def setUpClass(cls):
        cls.allow = AllowList(ALLOW_FILE)
        conf = {"version": NSID, "nsid": NSID, "udp_payload": PAYLOAD,
                "zones": [{"origin": z, "file": z + ".zone"}
                          for z in ZONES]}
        cls.gs = gstest.Daemon(conf=conf, name="geosteerd")
        cls.knot = Knot(ZONES)
        try:
            cls.gs.start()
            cls.knot.start()
        except BaseException:
            for d in (cls.gs, cls.knot):
                d.cleanup()
            cls.gs = cls.knot = None
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.gs is not None:
                cls.gs.stop_clean()
        finally:
            for d in (cls.gs, cls.knot):
                if d is not None:
                    d.cleanup()
            cls.gs = cls.knot = None

    def test_allow_list_entries_have_reasons(self):
        self.assertEqual(self.allow.problems(), [])

    def test_differential(self):
        t0 = time.monotonic()
        cookies = {af: knot_server_cookie(self.knot.port, af)
                   for af in ((4, 6) if gstest.HAVE_IPV6 else (4,))}
        queries = build_queries(cookies)
        ports = (self.gs.port, self.knot.port)
        replies = exchange_udp(queries, ports)
        replies.update(exchange_tcp(queries, ports))
        t1 = time.monotonic()
        self.assertTrue(self.gs.alive(), "geosteerd died:\n%s" %
                        gstest.crash_excerpt(self.gs.log()))
        self.assertTrue(self.knot.alive(), "knotd died:\n%s" %
                        self.knot.log_tail())

        tally = Tally(self.allow, os.environ.get("GS_DIFF_DUMP"),
                      os.environ.get("GS_DIFF_VERBOSE") == "1")
        try:
            for i, q in enumerate(queries):
                tally.add(q, *replies[i])
        finally:
            tally.close()
        n_udp = sum(1 for q in queries if q.proto == "udp")
        tally.report("%d queries (%d UDP, %d TCP), seed %d, exchanged in "
                     "%.1fs; %s" % (len(queries), n_udp, len(queries) - n_udp,
                                    SEED, t1 - t0, knot_version()))
        msgs = []
        if tally.unexplained():
            msgs.append("%d unexplained differences (printed above)" %
                        tally.unexplained())
        stale = sorted(set(KNOWN_BUGS) - tally.seen_bugs)
        if stale:
            msgs.append("KNOWN_BUGS entries that match nothing any more "
                        "(fixed? remove them): %s" % ", ".join(stale))
        if msgs:
            self.fail("; ".join(msgs))


if __name__ == "__main__":
    gstest.main(tools=("knotd",))
