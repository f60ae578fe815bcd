#!/usr/bin/env python3
"""Health checks through the real daemon: geosteerd probes fake Teleport
proxies (pingserver.py, HTTPS with certificates from testca.py) and steers
away from the ones that fail.

Every region address is a loopback address (127.0.0.x) with its own
pingserver, all on one port, so the probe of a target goes to exactly that
server; the URL's host (the public name) is pinned to it by the daemon, so
SNI, Host and the certificate name are the public name, which the servers
record. The client's location comes from the overrides file and dig -b:
127.0.0.2 is in Dublin (eu-west-1, then us-east-1, then ap-south-1),
127.0.0.3 in Virginia, 127.0.0.4 in Mumbai.

Checked: nearest healthy region; a failing region is left within fall
intervals and returned to after rise passes, each transition logged once
with its reason; every failure kind (HTTP 504/500/400/302/404, text/html,
cut-off JSON, wrong cluster_name, timeout, reset, refused, self-signed and
wrong-name certificates) takes a target down with its reason, while 429
and a version skew do not; answers carry only the up addresses; all
regions down: fail-open (nearest region, TTL cut to 10) or fail-closed
(SERVFAIL); 429 counts neither way; region-level check overrides;
check_addresses; a service without check is static; the first round of
probes decides the first answers; --check of the new keys.

Intervals are short (1 s, timeout 0.5 s, rise 2, fall 2) and come from the
config. geosteer status does not exist yet: health is read from the answers
and the daemon log."""

import ipaddress
import json
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
import pingserver  # noqa: E402
import testca  # noqa: E402
from gstest import Daemon, DaemonTestCase, NoAnswer, wait_for  # noqa: E402
from pingserver import PingServer  # noqa: E402

Z = "health.test"
PUBLIC = pingserver.PUBLIC_NAME             # teleport.health.test
CLUSTER = pingserver.CLUSTER_NAME
AP_CLUSTER = "teleport-ap.example.org"      # ap-south-1's own (override)
HOST = "teleport." + Z
LAB, PROBED, CLOSED, STATIC = ("lab." + Z, "probed." + Z, "closed." + Z,
                               "static." + Z)
TTL, LAB_TTL, CLOSED_TTL, STATIC_TTL = 30, 20, 30, 40
FAIL_OPEN_TTL = 10

INTERVAL, TIMEOUT, RISE, FALL = 1, 0.5, 2, 2
DOWN_WAIT = 3.0                 # fall failures (refused: immediate)
SLOW_DOWN_WAIT = DOWN_WAIT + 2 * TIMEOUT + 0.5  # failures that take time
UP_WAIT = 4.0                   # rise passes
HOLD = 3.5                      # "several intervals"
STEP = 0.1                      # polling step

US, EU, AP = "us-east-1", "eu-west-1", "ap-south-1"
ADDR = {US: "127.0.0.11", EU: "127.0.0.12", AP: "127.0.0.13"}
SRC = {EU: "127.0.0.2", US: "127.0.0.3", AP: "127.0.0.4"}
NETS = """# test clients: CIDR lat,lon
127.0.0.2/32 53.3,-6.3
127.0.0.3/32 38.9,-77.4
127.0.0.4/32 19.1,72.9
"""

# service "lab": one region of many addresses, one failure kind each
#   (name, scenario or certificate, reason regex or None: stays up)
LAB_CASES = [
    ("auth_unreachable", "auth_unreachable",
     r"HTTP 504\b.*auth unreachable"),
    ("internal_error", "internal_error", r"HTTP 500\b"),
    ("misconfigured", "misconfigured",
     r"HTTP 400\b.*" + re.escape(pingserver.MESSAGES["misconfigured"])),
    ("wrong_host", "wrong_host", r"HTTP 302\b"),
    ("not_found", "not_found", r"HTTP 404\b"),
    ("html", "html", r"(?i)invalid JSON|not JSON|text/html|content.type"),
    ("bad_json", "bad_json", r"(?i)invalid JSON"),
    ("wrong_cluster", "wrong_cluster",
     re.escape('cluster_name "%s" != "%s"' %
               (pingserver.OTHER_CLUSTER_NAME, CLUSTER))),
    ("hang", "hang", r"timeout after 0\.5s"),
    ("reset", "reset", r"(?i)reset"),
    ("refused", "refused", r"(?i)connection refused"),
    ("self_signed", "cert:self_signed", r"TLS: .*certificate"),
    ("wrong_name", "cert:wrong_name", r"TLS: .*certificate"),
    ("rate_limited", "rate_limited", None),
    ("version_skew", "version_skew", None),
    ("healthy", "healthy", None),
]
LAB_ADDR = {name: "127.0.0.%d" % (21 + i)
            for i, (name, _, _) in enumerate(LAB_CASES)}

# service "probed": answers 192.0.2.6x, probes 127.0.0.4x
PROBED_ANSWER = {"near": "192.0.2.61", "far": "192.0.2.62"}
PROBED_CHECK = {"near": "127.0.0.41", "far": "127.0.0.42"}
CLOSED_ADDR = "127.0.0.51"
STATIC_ADDR = "192.0.2.70"

_fleet = None


class Fleet:
    """The CA, the certificates and one pingserver per probed address."""

    def __init__(self):
        self.ca = testca.TestCA()
        self.cert = self.ca.leaf(PUBLIC)
        self.certs = {"self_signed": self.ca.self_signed(PUBLIC),
                      "wrong_name": self.ca.wrong_name()}
        addrs = (list(ADDR.values()) + list(LAB_ADDR.values()) +
                 list(PROBED_CHECK.values()) + [CLOSED_ADDR])
        self.port = pingserver.free_tcp_port(addrs)
        self.servers = {}
        self.clusters = {}
        try:
            for a in addrs:
                cluster = AP_CLUSTER if a == ADDR[AP] else CLUSTER
                self.clusters[a] = cluster
                self.servers[a] = PingServer(a, self.port, *self.cert,
                                             cluster_name=cluster).start()
        except BaseException:
            self.stop()
            raise

    def __getitem__(self, addr):
        return self.servers[addr]

    def ca_text(self):
        with open(self.ca.ca_cert) as f:
            return f.read()

    def url(self, path="/v1/webapi/ping"):
        return "https://%s:%d%s" % (PUBLIC, self.port, path)

    def apply(self, addr, what):
        """what: a scenario, or "cert:NAME" (serve a bad certificate)."""
        srv = self.servers[addr]
        if what.startswith("cert:"):
            srv.set_certificate(*self.certs[what[5:]])
        else:
            srv.set_scenario(what)

    def heal(self, addrs=None):
        """Everything (or addrs) back to healthy with the right data."""
        for a in addrs or self.servers:
            srv = self.servers[a]
            if (srv.cert, srv.key) != self.cert:
                srv.set_certificate(*self.cert)
            srv.set_cluster_name(self.clusters[a])
            srv.set_delay(0)
            srv.set_scenario("healthy")
            srv.start()

    def stop(self):
        for srv in self.servers.values():
            try:
                srv.stop()
            except Exception as e:  # pragma: no cover - best effort
                print("test_health: stopping %s: %s" % (srv, e),
                      file=sys.stderr)
        self.ca.cleanup()


def setUpModule():
    global _fleet
    _fleet = Fleet()


def tearDownModule():
    global _fleet
    if _fleet is not None:
        _fleet.stop()
        _fleet = None


def fleet():
    return _fleet


def check_conf(url):
    """The check of every checked service (service level)."""
    return {"url": url, "interval": INTERVAL, "timeout": TIMEOUT,
            "rise": RISE, "fall": FALL, "ca_file": "ca.pem",
            "teleport": {"cluster_name": CLUSTER}}


def health_conf(fl, teleport_all_down=None):
    url = fl.url()
    teleport = {
        "name": "teleport", "hosts": [HOST, "*." + HOST], "ttl": TTL,
        "check": check_conf(url),
        "regions": [
            {"name": US, "lat": 38.9, "lon": -77.4, "addresses": [ADDR[US]]},
            {"name": EU, "lat": 53.3, "lon": -6.3, "addresses": [ADDR[EU]]},
            {"name": AP, "lat": 19.1, "lon": 72.9, "addresses": [ADDR[AP]],
             # region-level override: another path, another cluster
             "check": {"url": fl.url("/webapi/ping"),
                       "teleport": {"cluster_name": AP_CLUSTER}}},
        ],
    }
    if teleport_all_down:
        teleport["when_all_down"] = teleport_all_down
    lab = {
        "name": "lab", "hosts": [LAB], "ttl": LAB_TTL,
        "check": check_conf(url),
        "regions": [{"name": "lab", "lat": 50.1, "lon": 8.7,
                     "addresses": [LAB_ADDR[n] for n, _, _ in LAB_CASES]}],
    }
    probed = {
        "name": "probed", "hosts": [PROBED], "ttl": TTL,
        "check": check_conf(url),
        "regions": [
            {"name": "near", "lat": 53.3, "lon": -6.3,
             "addresses": [PROBED_ANSWER["near"]],
             "check_addresses": [PROBED_CHECK["near"]]},
            {"name": "far", "lat": 19.1, "lon": 72.9,
             "addresses": [PROBED_ANSWER["far"]],
             "check_addresses": [PROBED_CHECK["far"]]},
        ],
    }
    closed = {
        "name": "closed", "hosts": [CLOSED], "ttl": CLOSED_TTL,
        "when_all_down": "fail-closed",
        "check": check_conf(url),
        "regions": [{"name": "solo", "lat": 40.4, "lon": -3.7,
                     "addresses": [CLOSED_ADDR]}],
    }
    static = {
        "name": "static", "hosts": [STATIC], "ttl": STATIC_TTL,
        "regions": [{"name": "anywhere", "lat": 0.0, "lon": 0.0,
                     "addresses": [STATIC_ADDR]}],
    }
    return {"zones": [{"origin": Z, "file": "health.test.zone"}],
            "geoip": {"overrides": "nets.txt"},
            "services": [teleport, lab, probed, closed, static]}


def health_files(fl):
    return {"nets.txt": NETS, "ca.pem": fl.ca_text()}


# --------------------------------------------------------------------------
# reading the log


def transitions(log, service, region, addr, what):
    """Reasons (text in parentheses, "" if none) of the lines
    `health: SERVICE/REGION ADDR what (...)` in log, in order."""
    pat = re.compile(r"health: %s/%s %s %s(?: \((.*)\))?\s*$" %
                     (re.escape(service), re.escape(region), re.escape(addr),
                      what))
    out = []
    for line in log.splitlines():
        m = pat.search(line)
        if m:
            out.append(m.group(1) or "")
    return out


def addrs_of(m, qtype="A"):
    return sorted(str(ipaddress.ip_address(r.rdata))
                  for r in m.rrs("answer", qtype))


class HealthBase(DaemonTestCase):
    ALL_DOWN = None

    @classmethod
    def setUpClass(cls):
        fl = fleet()
        fl.heal()
        cls.CONF = health_conf(fl, cls.ALL_DOWN)
        cls.ZONES = health_files(fl)
        super().setUpClass()

    def setUp(self):
        fleet().heal()
        self.wait_all_healthy()
        self.mark = len(self.d.log())
        self.t0 = time.monotonic()  # pingserver records use this clock

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            fleet().heal()

    # ---- clients
    def ask(self, qname=HOST, src=SRC[EU], qtype="A", client="dig"):
        extra = ["-b", src] if src else []
        return self.d.query(client, qname, qtype, extra=extra)

    def answer(self, qname=HOST, src=SRC[EU]):
        """(status, sorted addresses, smallest TTL or None)."""
        m = self.ask(qname, src)
        ttls = [r.ttl for r in m.rrs("answer", "A")]
        return m.status, addrs_of(m), (min(ttls) if ttls else None)

    def wait_answer(self, want, qname=HOST, src=SRC[EU], timeout=DOWN_WAIT,
                    ttl=None, status="NOERROR", what=None):
        """Polls until the answer has exactly the addresses want (and the
        TTL, if given); returns the seconds it took."""
        t0 = time.monotonic()
        last = []

        def ok():
            got = self.answer(qname, src)
            last[:] = [got]
            return got[0] == status and got[1] == sorted(want) and \
                (ttl is None or got[2] == ttl)
        try:
            wait_for(ok, timeout, STEP, what=what or "%s from %s: %s %s%s" %
                     (qname, src, status, want,
                      "" if ttl is None else " TTL %d" % ttl))
        except AssertionError as e:
            raise AssertionError("%s; last answer %s" % (e, last)) from None
        return time.monotonic() - t0

    def assertAnswer(self, want, qname=HOST, src=SRC[EU], ttl=None):
        status, addrs, got_ttl = self.answer(qname, src)
        self.assertEqual((status, addrs), ("NOERROR", sorted(want)),
                         "%s from %s" % (qname, src))
        if ttl is not None:
            self.assertEqual(got_ttl, ttl, "TTL of %s from %s" % (qname, src))

    def hold_answer(self, want, seconds, qname=HOST, src=SRC[EU], ttl=None):
        """The answer stays want for seconds (checked every STEP)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertAnswer(want, qname, src, ttl)
            time.sleep(STEP)

    def healthy_view(self):
        """What every checked service answers when all is up."""
        lab = sorted(LAB_ADDR.values())
        return {
            (HOST, SRC[EU]): ("NOERROR", [ADDR[EU]], TTL),
            (HOST, SRC[US]): ("NOERROR", [ADDR[US]], TTL),
            (HOST, SRC[AP]): ("NOERROR", [ADDR[AP]], TTL),
            (LAB, SRC[EU]): ("NOERROR", lab, LAB_TTL),
            (PROBED, SRC[EU]): ("NOERROR", [PROBED_ANSWER["near"]], TTL),
            (PROBED, SRC[AP]): ("NOERROR", [PROBED_ANSWER["far"]], TTL),
            (CLOSED, SRC[EU]): ("NOERROR", [CLOSED_ADDR], CLOSED_TTL),
        }

    def wait_all_healthy(self, timeout=UP_WAIT + 2):
        want = self.healthy_view()
        diff = {}

        def ok():
            diff.clear()
            for (q, src), w in want.items():
                got = self.answer(q, src)
                if got != w:
                    diff[(q, src)] = (got, w)
            return not diff
        try:
            wait_for(ok, timeout, STEP, what="every target up")
        except AssertionError as e:
            raise AssertionError("%s: (got, want) %s" % (e, diff)) from None

    # ---- log
    def log(self):
        return self.d.log()[self.mark:]

    def downs(self, service, region, addr):
        return transitions(self.log(), service, region, addr, "down")

    def ups(self, service, region, addr):
        return transitions(self.log(), service, region, addr, "up")

    def wait_down(self, service, region, addr, reason_re, timeout):
        """Waits for the down line of a target; checks its reason there
        and in `geosteer status --json`."""
        got = wait_for(lambda: self.downs(service, region, addr), timeout,
                       STEP, what="'health: %s/%s %s down' in the log" %
                       (service, region, addr))
        self.assertRegex(got[0], reason_re, "reason of %s/%s %s down" %
                         (service, region, addr))
        self.assert_status_down(service, region, addr, reason_re)
        return got[0]

    def assert_status_down(self, service, region, addr, reason_re):
        """The CLI's status shows the target down with the reason."""
        reg = gstest.status_region(self.d.status(), service, region)
        entries = reg["addresses"] + reg.get("check_addresses", [])
        ent = [a for a in entries if a["address"] == addr]
        self.assertEqual(len(ent), 1, reg)
        a = ent[0]
        self.assertEqual(a["state"], "down", a)
        self.assertTrue(a["probed"], a)
        self.assertEqual(a["last_result"], "fail", a)
        self.assertRegex(a["reason"] or "", reason_re, a)
        self.assertIsNotNone(a["since"], a)
        if all(x["state"] == "down" for x in entries if x["probed"]):
            self.assertIn(reg["state"], ("down", "fail-open"), reg)
            self.assertFalse(reg["usable"], reg)

    def wait_up(self, service, region, addr, timeout=UP_WAIT):
        wait_for(lambda: self.ups(service, region, addr), timeout, STEP,
                 what="'health: %s/%s %s up' in the log" %
                 (service, region, addr))


class Health(HealthBase):
    """One daemon, every checked service fail-open except "closed"."""

    def test_healthy_nearest_region(self):
        for src, region in ((SRC[EU], EU), (SRC[US], US), (SRC[AP], AP)):
            for client in ("dig", "kdig"):
                with self.subTest(src=src, client=client):
                    m = self.ask(HOST, src, client=client)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertIn("aa", m.flags, m)
                    self.assertEqual(addrs_of(m), [ADDR[region]], m)
                    self.assertEqual([r.ttl for r in m.answer], [TTL], m)
        # the wildcard host is the same service
        self.assertAnswer([ADDR[EU]], "x." + HOST, SRC[EU], TTL)
        self.assertNotIn("down (", self.log(),
                         "a target went down with every server healthy")

    def test_probe_sni_host_path(self):
        for region in (US, EU, AP):
            srv = fleet()[ADDR[region]]
            reqs = srv.wait_requests(3, timeout=4 * INTERVAL,
                                     since=self.t0)
            with self.subTest(region=region):
                self.assertGreaterEqual(len(reqs), 3, reqs)
                path = "/webapi/ping" if region == AP else "/v1/webapi/ping"
                for r in reqs:
                    self.assertEqual(r["method"], "GET", r)
                    self.assertEqual(r["path"], path, r)
                    self.assertEqual(r["sni"], PUBLIC, r)
                    self.assertIsNotNone(r["host"], r)
                    self.assertEqual(pingserver.host_of(r["host"]).lower(),
                                     PUBLIC, r)
                    self.assertEqual(r["status"], 200, r)
                # the interval comes from the config: about 1 s apart
                gaps = sorted(b["time"] - a["time"]
                              for a, b in zip(reqs, reqs[1:]))
                median = gaps[len(gaps) // 2]
                self.assertTrue(0.5 * INTERVAL <= median <= 2.0 * INTERVAL,
                                "probe gaps %s (interval %s)" % (gaps,
                                                                 INTERVAL))

    def test_refused_moves_to_next_region_and_back(self):
        eu = fleet()[ADDR[EU]]
        self.assertAnswer([ADDR[EU]], ttl=TTL)
        eu.stop()
        took = self.wait_answer([ADDR[US]], timeout=DOWN_WAIT,
                                what="eu-west-1 left for us-east-1")
        self.wait_down("teleport", EU, ADDR[EU], r"(?i)connection refused",
                       timeout=1.0)
        # a region down is no fail-open: the full TTL, the other clients
        # keep their regions
        self.assertAnswer([ADDR[US]], ttl=TTL)
        self.assertAnswer([ADDR[US]], src=SRC[US], ttl=TTL)
        self.assertAnswer([ADDR[AP]], src=SRC[AP], ttl=TTL)
        # stays down, logged once
        self.hold_answer([ADDR[US]], 2 * INTERVAL)
        self.assertEqual(len(self.downs("teleport", EU, ADDR[EU])), 1,
                         self.log())
        eu.start()
        back = self.wait_answer([ADDR[EU]], timeout=UP_WAIT, ttl=TTL,
                                what="eu-west-1 back")
        self.wait_up("teleport", EU, ADDR[EU], timeout=1.0)
        self.hold_answer([ADDR[EU]], INTERVAL)
        self.assertEqual(len(self.ups("teleport", EU, ADDR[EU])), 1,
                         self.log())
        self.assertEqual(len(self.downs("teleport", EU, ADDR[EU])), 1,
                         self.log())
        for region in (US, AP):
            self.assertEqual(self.downs("teleport", region, ADDR[region]), [],
                             "only eu-west-1 failed")
        print("  (down after %.1fs, up after %.1fs)" % (took, back), end=" ")

    def test_failure_kinds(self):
        """Service lab: each address fails in its own way at once; each
        goes down with its reason, except 429, a version skew and the
        healthy one; the answer carries the up ones only."""
        fl = fleet()
        t0 = time.monotonic()
        for name, what, _ in LAB_CASES:
            fl.apply(LAB_ADDR[name], what)
        failing = [(n, r) for n, _, r in LAB_CASES if r is not None]
        passing = sorted(LAB_ADDR[n] for n, _, r in LAB_CASES if r is None)
        pending = dict(failing)

        def all_down():
            for name in list(pending):
                if self.downs("lab", "lab", LAB_ADDR[name]):
                    del pending[name]
            return not pending
        try:
            wait_for(all_down, SLOW_DOWN_WAIT, STEP,
                     what="a down line for every failing target")
        except AssertionError as e:
            raise AssertionError("%s; still up: %s\n%s" %
                                 (e, sorted(pending), self.log())) from None
        for name, reason_re in failing:
            with self.subTest(kind=name):
                reasons = self.downs("lab", "lab", LAB_ADDR[name])
                self.assertRegex(reasons[0], reason_re,
                                 "%s (%s)" % (name, LAB_ADDR[name]))
                # the same reason in `geosteer status --json`
                self.assert_status_down("lab", "lab", LAB_ADDR[name],
                                        reason_re)
        self.wait_answer(passing, LAB, timeout=1.0, ttl=LAB_TTL,
                         what="lab answers its up targets only")
        rest = HOLD - (time.monotonic() - t0)
        if rest > 0:
            self.hold_answer(passing, rest, LAB, ttl=LAB_TTL)
        for name, _, reason_re in LAB_CASES:
            with self.subTest(kind=name, check="logged once / never"):
                n = len(self.downs("lab", "lab", LAB_ADDR[name]))
                self.assertEqual(n, 0 if reason_re is None else 1,
                                 "%s: %d down lines\n%s" % (name, n,
                                                            self.log()))
        # a redirect is not followed
        paths = {r["path"] for r in fl[LAB_ADDR["wrong_host"]].requests()}
        self.assertEqual(paths, {"/v1/webapi/ping"})
        # all healthy again: each comes back, logged once
        fl.heal([LAB_ADDR[n] for n, _ in failing])
        pending = dict(failing)

        def all_up():
            for name in list(pending):
                if self.ups("lab", "lab", LAB_ADDR[name]):
                    del pending[name]
            return not pending
        try:
            wait_for(all_up, UP_WAIT + 2 * TIMEOUT, STEP,
                     what="an up line for every target")
        except AssertionError as e:
            raise AssertionError("%s; still down: %s" % (e, sorted(pending))) \
                from None
        self.wait_answer(sorted(LAB_ADDR.values()), LAB, timeout=1.0,
                         ttl=LAB_TTL)

    def test_rate_limited_counts_neither_way(self):
        eu = fleet()[ADDR[EU]]
        # up: 429 for several intervals changes nothing
        since = time.monotonic()
        eu.set_scenario("rate_limited")
        self.hold_answer([ADDR[EU]], HOLD, ttl=TTL)
        self.assertGreaterEqual(
            len([r for r in eu.requests(since) if r["status"] == 429]), 2,
            "the daemon did not probe during the hold")
        self.assertEqual(self.downs("teleport", EU, ADDR[EU]), [])
        # down: 429 does not bring it back
        eu.set_scenario("refused")
        self.wait_answer([ADDR[US]], timeout=DOWN_WAIT)
        since = time.monotonic()
        eu.set_scenario("rate_limited")
        self.hold_answer([ADDR[US]], HOLD, ttl=TTL)
        self.assertGreaterEqual(
            len([r for r in eu.requests(since) if r["status"] == 429]), 2,
            "the daemon did not probe during the hold")
        self.assertEqual(self.ups("teleport", EU, ADDR[EU]), [])
        eu.set_scenario("healthy")
        self.wait_answer([ADDR[EU]], timeout=UP_WAIT, ttl=TTL)

    def test_all_down_fail_open(self):
        """400 in every region (a cluster-wide misconfiguration): answers
        as if all were healthy, nearest first, TTL cut to 10."""
        fl = fleet()
        for region in (US, EU, AP):
            fl[ADDR[region]].set_scenario("misconfigured")
        self.wait_answer([ADDR[EU]], ttl=FAIL_OPEN_TTL,
                         timeout=DOWN_WAIT + 1,
                         what="fail-open answer for eu-west-1")
        for region in (US, EU, AP):
            self.wait_down("teleport", region, ADDR[region], r"HTTP 400\b",
                           timeout=1.0)
        self.assertAnswer([ADDR[US]], src=SRC[US], ttl=FAIL_OPEN_TTL)
        self.assertAnswer([ADDR[AP]], src=SRC[AP], ttl=FAIL_OPEN_TTL)
        # said once, for the service as a whole
        wait_for(lambda: "health: teleport: no target is up in any region"
                 in self.log(), 2.0, STEP, what="the all-down line")
        self.assertEqual(self.log().count(
            "health: teleport: no target is up in any region"), 1)
        self.assertAnswer([ADDR[EU]], "x." + HOST, ttl=FAIL_OPEN_TTL)
        # other services are not touched
        self.assertAnswer([STATIC_ADDR], STATIC, ttl=STATIC_TTL)
        self.assertAnswer(sorted(LAB_ADDR.values()), LAB, ttl=LAB_TTL)
        # one region back: it alone, with the full TTL
        fl[ADDR[AP]].set_scenario("healthy")
        self.wait_answer([ADDR[AP]], timeout=UP_WAIT, ttl=TTL)
        self.assertAnswer([ADDR[AP]], src=SRC[US], ttl=TTL)
        self.assertIn("health: teleport: a region is usable again",
                      self.log())
        fl.heal()
        self.wait_answer([ADDR[EU]], timeout=UP_WAIT, ttl=TTL)

    def test_all_down_fail_closed(self):
        srv = fleet()[CLOSED_ADDR]
        self.assertAnswer([CLOSED_ADDR], CLOSED, ttl=CLOSED_TTL)
        srv.set_scenario("auth_unreachable")
        self.wait_answer([], CLOSED, status="SERVFAIL", timeout=DOWN_WAIT)
        self.wait_down("closed", "solo", CLOSED_ADDR, r"HTTP 504\b",
                       timeout=1.0)
        for _ in range(5):
            self.assertEqual(self.answer(CLOSED)[0], "SERVFAIL")
            time.sleep(STEP)
        # other services still answer
        self.assertAnswer([ADDR[EU]], ttl=TTL)
        self.assertAnswer([STATIC_ADDR], STATIC, ttl=STATIC_TTL)
        srv.set_scenario("healthy")
        self.wait_answer([CLOSED_ADDR], CLOSED, timeout=UP_WAIT,
                         ttl=CLOSED_TTL)

    def test_reload_keeps_target_state(self):
        """A reload keeps the state of targets that still exist: a down
        region stays out of answers right after SIGHUP, without a new
        round of probes or a new transition."""
        fl = fleet()
        fl[ADDR[EU]].set_scenario("refused")
        self.wait_answer([ADDR[US]], ttl=TTL, timeout=DOWN_WAIT)
        self.wait_down("teleport", EU, ADDR[EU], r"connection refused",
                       timeout=1.0)
        mark = len(self.d.log())
        self.d.reload()
        wait_for(lambda: "reload: done" in self.d.log()[mark:], 5.0, STEP,
                 what="the reload")
        self.hold_answer([ADDR[US]], 0.5, ttl=TTL)
        after = self.d.log()[mark:]
        self.assertNotRegex(after, r"health: teleport/%s \S+ (up|down)"
                            % re.escape(EU))
        fl[ADDR[EU]].set_scenario("healthy")
        self.wait_answer([ADDR[EU]], timeout=UP_WAIT, ttl=TTL)

    def test_failed_reload_changes_nothing(self):
        """A config that changes the check (path, cluster name,
        verification off) and has an error found late in the load (a
        steered host in no served zone) is rejected whole: the probes go
        on with the running settings, nothing goes down."""
        fl = fleet()
        good = json.loads(json.dumps(self.d.conf))
        bad = json.loads(json.dumps(good))
        svc = [x for x in bad["services"] if x["name"] == "teleport"][0]
        svc["check"]["url"] = fl.url("/webapi/ping")
        svc["check"]["teleport"]["cluster_name"] = "another.example.org"
        svc["check"]["insecure"] = True
        svc["hosts"].append("teleport.nowhere.test")
        eu = fl[ADDR[EU]]
        try:
            self.d.write_config(bad)
            rc, _, err = self.d.ctl("reload")
            self.assertEqual(rc, 1, err)
            self.assertIn("teleport.nowhere.test", err)
            mark = len(self.d.log())
            self.d.reload()
            wait_for(lambda: "reload: failed" in self.d.log()[mark:], 5.0,
                     STEP, what="the SIGHUP reload to fail")
            t_bad = time.monotonic()
            # more than fall x interval: a wrong cluster name would have
            # taken every region down by now
            self.hold_answer([ADDR[EU]], HOLD, ttl=TTL)
            self.assertNotIn("down (", self.log())
            self.assertNotIn("certificate verification is off", self.log())
            paths = {r["path"] for r in eu.requests() if r["time"] > t_bad}
            self.assertEqual(paths, {"/v1/webapi/ping"})
            reg = gstest.status_region(self.d.status(), "teleport", EU)
            self.assertEqual(reg["state"], "up", reg)
        finally:
            self.d.write_config(good)

    def test_version_skew_is_reported_not_failed(self):
        """A region reporting another major version (a rolling update):
        a warning naming both, the region stays in answers; when it
        agrees again, that is said too."""
        fl = fleet()
        fl[ADDR[US]].set_scenario("version_skew")
        wait_for(lambda: re.search(r"health: teleport: regions differ "
                                   r"\(server_version \S+ in \S+, \S+ in "
                                   r"\S+\)", self.log()),
                 3.0, STEP, what="the version skew warning")
        self.hold_answer([ADDR[US]], 1.5, src=SRC[US], ttl=TTL)
        self.assertEqual(self.downs("teleport", US, ADDR[US]), [])
        # shown in status, with each target's server_version
        st = self.d.status()
        svc = gstest.status_service(st, "teleport")
        self.assertRegex(svc["version_warning"] or "",
                         r"server_version \S+ in \S+, \S+ in \S+", svc)
        us = [a for a in gstest.status_region(st, "teleport", US)["addresses"]
              if a["address"] == ADDR[US]][0]
        self.assertEqual(us["state"], "up", us)
        self.assertIsNotNone(us["server_version"], us)
        fl[ADDR[US]].set_scenario("healthy")
        wait_for(lambda: "health: teleport: regions agree again" in
                 self.log(), 3.0, STEP, what="the agree-again line")
        self.assertIsNone(gstest.status_service(
            self.d.status(), "teleport")["version_warning"])

    def test_region_override(self):
        """ap-south-1 probes /webapi/ping and expects its own cluster
        name; given the service's cluster name it goes down."""
        fl = fleet()
        ap = fl[ADDR[AP]]
        self.assertAnswer([ADDR[AP]], src=SRC[AP], ttl=TTL)
        self.assertEqual({r["path"] for r in ap.requests()},
                         {"/webapi/ping"})
        self.assertEqual({r["path"] for r in fl[ADDR[EU]].requests()},
                         {"/v1/webapi/ping"})
        ap.set_cluster_name(CLUSTER)
        # from Mumbai, Dublin is nearer than Virginia
        self.wait_answer([ADDR[EU]], src=SRC[AP], timeout=DOWN_WAIT)
        self.wait_down("teleport", AP, ADDR[AP],
                       re.escape('cluster_name "%s" != "%s"' %
                                 (CLUSTER, AP_CLUSTER)), timeout=1.0)
        # the same cluster name is right for the service's other regions
        self.assertEqual(self.downs("teleport", EU, ADDR[EU]), [])
        ap.set_cluster_name(AP_CLUSTER)
        self.wait_answer([ADDR[AP]], src=SRC[AP], timeout=UP_WAIT, ttl=TTL)

    def test_check_addresses(self):
        """Region near answers 192.0.2.61 but probes 127.0.0.41."""
        fl = fleet()
        near = fl[PROBED_CHECK["near"]]
        self.assertAnswer([PROBED_ANSWER["near"]], PROBED, ttl=TTL)
        self.assertTrue(near.requests(), "127.0.0.41 was never probed")
        near.stop()
        self.wait_answer([PROBED_ANSWER["far"]], PROBED, timeout=DOWN_WAIT)
        self.wait_down("probed", "near", PROBED_CHECK["near"],
                       r"(?i)connection refused", timeout=1.0)
        self.assertNotIn(PROBED_ANSWER["near"], self.log(),
                         "the answer address was named in the log")
        near.start()
        self.wait_answer([PROBED_ANSWER["near"]], PROBED, timeout=UP_WAIT,
                         ttl=TTL)

    def test_static_service(self):
        for src in SRC.values():
            self.assertAnswer([STATIC_ADDR], STATIC, src, ttl=STATIC_TTL)
        self.assertNotIn("health: static/", self.d.log())


class Startup(unittest.TestCase):
    """The first round of probes decides the first answers: eu-west-1
    refuses and ap-south-1 hangs from the start."""

    def test_first_round_before_answers(self):
        fl = fleet()
        fl.heal()
        fl[ADDR[EU]].set_scenario("refused")
        fl[ADDR[AP]].set_scenario("hang")
        try:
            with Daemon(conf=health_conf(fl), zones=health_files(fl),
                        name="health-startup") as d:
                t0 = time.monotonic()
                d.start()
                ready = time.monotonic() - t0

                def first(src):
                    # a steered name may go unanswered before the round
                    # is done; the first answer must know the round
                    deadline = time.monotonic() + 3.0
                    while True:
                        try:
                            m = d.query("dig", HOST, "A",
                                        extra=["-b", src])
                            return m.status, addrs_of(m)
                        except NoAnswer:
                            if time.monotonic() > deadline:
                                raise
                self.assertEqual(first(SRC[EU]), ("NOERROR", [ADDR[US]]),
                                 d.log_tail())
                self.assertEqual(first(SRC[AP]), ("NOERROR", [ADDR[US]]),
                                 d.log_tail())
                self.assertLess(ready, 3.0, "a hanging target held the "
                                "start for %.1fs" % ready)
                fl.heal()
                wait_for(lambda: addrs_of(d.query(
                    "dig", HOST, "A", extra=["-b", SRC[EU]])) == [ADDR[EU]],
                    UP_WAIT, STEP, what="eu-west-1 up after the start")
                d.stop_clean()
        finally:
            fl.heal()


    def test_no_all_down_warning_before_the_first_round_ends(self):
        """Two regions refuse at once, the third answers a little later:
        no "no target is up" warning while a first probe is still out."""
        fl = fleet()
        fl.heal()
        fl[ADDR[EU]].set_scenario("refused")
        fl[ADDR[AP]].set_scenario("refused")
        fl[ADDR[US]].set_delay(0.3)
        try:
            with Daemon(conf=health_conf(fl), zones=health_files(fl),
                        name="health-first-round") as d:
                d.start()
                wait_for(lambda: transitions(d.log(), "teleport", US,
                                             ADDR[US], "up"),
                         3.0, STEP, what="us-east-1 up")
                self.assertNotRegex(d.log(), r"health: teleport: no target "
                                    r"is up", d.log_tail())
                self.assertEqual(len(transitions(d.log(), "teleport", EU,
                                                 ADDR[EU], "down")), 1)
                # when every region really is down, it is said once
                fl[ADDR[US]].set_scenario("refused")
                wait_for(lambda: re.search(r"health: teleport: no target "
                                           r"is up", d.log()),
                         DOWN_WAIT, STEP, what="the all-down warning")
                d.stop_clean()
                self.assertEqual(len(re.findall(r"health: teleport: no "
                                                r"target is up", d.log())),
                                 1, d.log_tail())
        finally:
            fl.heal()


class FailClosedTeleport(HealthBase):
    """The teleport service itself fail-closed."""
    ALL_DOWN = "fail-closed"

    def test_all_down_servfail(self):
        fl = fleet()
        for region in (US, EU, AP):
            fl[ADDR[region]].set_scenario("misconfigured")
        self.wait_answer([], status="SERVFAIL", timeout=DOWN_WAIT + 1)
        self.assertEqual(self.answer(HOST, SRC[US])[0], "SERVFAIL")
        # one region back: answered again
        fl[ADDR[US]].set_scenario("healthy")
        self.wait_answer([ADDR[US]], timeout=UP_WAIT, ttl=TTL)


class Check(gstest.TempDirCase):
    """geosteerd --check on the new keys."""

    PREFIX = "gstest-health-check-"

    def setUp(self):
        super().setUp()
        shutil.copy(os.path.join(gstest.DATA, "health.test.zone"), self.dir)
        for fn, text in health_files(fleet()).items():
            self.write(fn, text)

    def conf(self):
        c = json.loads(gstest.load_template().replace("@PORT@", "5399"))
        c.update(health_conf(fleet()))
        c["listen"] = ["127.0.0.1:5399"]
        return c

    def check(self, conf):
        path = os.path.join(self.dir, "geosteerd.conf")
        with open(path, "w") as f:
            f.write(json.dumps(conf, indent=2) + "\n")
        p = gstest.run([gstest.geosteerd_path(), "-c", path, "--check"],
                       timeout=30)
        return p.returncode, p.stdout + p.stderr

    def assertFails(self, conf, *must):
        rc, out = self.check(conf)
        self.assertEqual(rc, gstest.EX_CONFIG,
                         "exit status %s, output:\n%s" % (rc, out))
        for s in must:
            self.assertIn(s, out)

    def test_good(self):
        rc, out = self.check(self.conf())
        self.assertEqual(rc, 0, out)

    def test_unknown_check_key(self):
        c = self.conf()
        c["services"][0]["check"]["intervall"] = 1
        self.assertFails(c, "intervall")
        c = self.conf()
        c["services"][0]["regions"][2]["check"]["teleport"]["cluster"] = "x"
        self.assertFails(c, "cluster")

    def test_bad_when_all_down(self):
        c = self.conf()
        c["services"][0]["when_all_down"] = "sometimes"
        self.assertFails(c, "when_all_down")

    def test_bad_check_address(self):
        c = self.conf()
        c["services"][2]["regions"][0]["check_addresses"] = ["not-an-ip"]
        self.assertFails(c, "not-an-ip")

    def test_missing_ca_file(self):
        c = self.conf()
        c["services"][0]["check"]["ca_file"] = "no-such-ca.pem"
        self.assertFails(c, "no-such-ca.pem")


def main():
    gstest.main(tools=("dig", "kdig", "yaml", "openssl"))


if __name__ == "__main__":
    main()
