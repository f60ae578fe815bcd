#!/usr/bin/env python3
"""Outside text is outside input: what a health endpoint says reaches
geosteerd's log and `geosteer status` bounded, cut between characters,
valid UTF-8, with control characters and malformed bytes shown as escapes.

One daemon, one service "hostile" (so that a service lost from status
shows as "no services configured"):
  region lab: one address per hostile endpoint (pingserver.py's hostile
    scenarios and a certificate whose subject name is hostile); each goes
    down with a reason that quotes it
  regions ref and odd: up, ref on 18.2.1, odd on a hostile server_version
    of major 17 (a version skew: "regions differ (...)" in the log, the
    version_warning of status)
Every hostile text carries a line break followed by a fake log line whose
message starts with "FAKE-".

Checked: every line of the log is the daemon's own ("geosteerd[LEVEL]: "
and no message starting with FAKE), strict UTF-8, without C0, DEL, C1 or
line separators; `geosteer status --json` (read as bytes, strict UTF-8)
lists the service with every target, each lab target down with a bounded,
clean reason that shows the hostile text escaped; `geosteer status`
names the service, never prints "no services configured", and writes no
control character."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
import pingserver  # noqa: E402
import testca  # noqa: E402
from gstest import DaemonTestCase, wait_for  # noqa: E402
from pingserver import PingServer  # noqa: E402

Z = "health.test"
PUBLIC = pingserver.PUBLIC_NAME
CLUSTER = pingserver.CLUSTER_NAME
HOST = "lab." + Z
SERVICE = "hostile"
INTERVAL, TIMEOUT, RISE, FALL = 1, 0.5, 2, 2
SETTLE_WAIT = 8.0          # first round (decides at once) and a margin
STEP = 0.1
REASON_MAX = 191           # bytes (hc_verdict.h: reason[192])
VERSION_MAX = 31           # bytes (server_version[32])

E = re.escape
ESCAPED_LINE = r"\\ngeosteerd\[err\]: "    # "\n" shown, not a line break

# region lab: (case, what the endpoint does, reason regex)
LAB_CASES = [
    ("cluster", "hostile_cluster",
     r'^cluster_name "evil' + ESCAPED_LINE +
     r'FAKE-cluster\\r\\x1b\[2J\\x07\\x7f\\u0085\\u009bx(\u00e9)+\.\.\." '
     r'!= "' + E(CLUSTER) + '"$'),
    ("error", "hostile_error",
     r"^HTTP 504: auth down" + ESCAPED_LINE +
     r"FAKE-error\\x1b\]0;pwned\\x07\\r\\t\\x7f\\u0085\\u009b31m\\u2028x"
     r"(\u00e9)+\.\.\.$"),
    # jansson quotes a lone 0xC2 (the escape it could not read)
    ("utf8", "invalid_utf8", r"^invalid JSON \(.*\\xc2.*\)$"),
    # libcurl may percent-encode some of the bytes; what it leaves is
    # escaped
    ("redirect", "hostile_redirect",
     r"^HTTP 302 \(to https://" + E(PUBLIC) + r"/web/launch/.*"
     r"FAKE-redirect\)$"),
    # the reason phrase is not shown at all
    ("reason", "hostile_reason", r"^HTTP 503$"),
    # libcurl quotes the certificate's subject name (when it does)
    ("cert", "cert:hostile", r"^TLS: "),
]
LAB_ADDR = {name: "127.0.0.%d" % (61 + i)
            for i, (name, _, _) in enumerate(LAB_CASES)}
REF_ADDR, ODD_ADDR = "127.0.0.71", "127.0.0.72"

# markers that must show in the log, escaped, inside the daemon's lines
SHOWN_MARKERS = ("FAKE-cluster", "FAKE-error", "FAKE-redirect")

# characters no cleaned text holds: C0 (newline included: a line is one
# log line), DEL, C1, the line and paragraph separators, bidi controls,
# and U+FFFD (malformed bytes are shown as \xNN, not replaced)
FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e"
                       "\u200f\u202a-\u202e\u2066-\u2069\ufffd]")
OWN_LINE = re.compile(r"^geosteerd\[(err|warn|info|debug)\]: ")
FAKE_LINE = re.compile(r"^geosteerd\[\w+\]: FAKE")

_fleet = None


class Fleet:
    """The CA, the certificates and one pingserver per probed address."""

    def __init__(self):
        self.ca = testca.TestCA()
        self.cert = self.ca.leaf(PUBLIC)
        self.hostile_cert = self.ca.hostile_subject()
        addrs = list(LAB_ADDR.values()) + [REF_ADDR, ODD_ADDR]
        self.port = pingserver.free_tcp_port(addrs)
        self.servers = {}
        try:
            for a in addrs:
                self.servers[a] = PingServer(a, self.port,
                                             *self.cert).start()
            for name, what, _ in LAB_CASES:
                srv = self.servers[LAB_ADDR[name]]
                if what == "cert:hostile":
                    srv.set_certificate(*self.hostile_cert)
                else:
                    srv.set_scenario(what)
            self.servers[ODD_ADDR].set_scenario("hostile_version")
        except BaseException:
            self.stop()
            raise

    def ca_text(self):
        with open(self.ca.ca_cert) as f:
            return f.read()

    def url(self):
        return "https://%s:%d/v1/webapi/ping" % (PUBLIC, self.port)

    def stop(self):
        for srv in self.servers.values():
            try:
                srv.stop()
            except Exception as e:  # pragma: no cover - best effort
                print("test_hostile_text: stopping %s: %s" % (srv, e),
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


def conf(fl):
    check = {"url": fl.url(), "interval": INTERVAL, "timeout": TIMEOUT,
             "rise": RISE, "fall": FALL, "ca_file": "ca.pem",
             "teleport": {"cluster_name": CLUSTER}}
    svc = {
        "name": SERVICE, "hosts": [HOST], "ttl": 30, "check": check,
        "regions": [
            {"name": "lab", "lat": 50.1, "lon": 8.7,
             "addresses": [LAB_ADDR[n] for n, _, _ in LAB_CASES]},
            {"name": "ref", "lat": 53.3, "lon": -6.3,
             "addresses": [REF_ADDR]},
            {"name": "odd", "lat": 38.9, "lon": -77.4,
             "addresses": [ODD_ADDR]},
        ],
    }
    return {"zones": [{"origin": Z, "file": "health.test.zone"}],
            "services": [svc]}


def forbidden(text):
    return sorted({"U+%04X" % ord(c) for c in FORBIDDEN.findall(text)})


class HostileText(DaemonTestCase):
    settled = False

    @classmethod
    def setUpClass(cls):
        cls.CONF = conf(_fleet)
        cls.ZONES = {"ca.pem": _fleet.ca_text()}
        super().setUpClass()

    def setUp(self):
        self.settle()

    # ---- reading what the daemon wrote, as bytes
    def raw_log(self):
        with open(self.d.log_path, "rb") as f:
            return f.read()

    def settle(self):
        """Waits (once) until every lab target has gone down and the
        version skew has been said, as the log shows it."""
        cls = type(self)
        if cls.settled:
            return
        pats = [re.compile(rb"health: %s/lab %s down \(" %
                           (SERVICE.encode(), re.escape(a.encode())))
                for a in LAB_ADDR.values()]
        pats.append(re.compile(rb"health: %s: regions differ \(" %
                               SERVICE.encode()))
        wait_for(lambda: all(p.search(self.raw_log()) for p in pats),
                 SETTLE_WAIT, STEP,
                 what="every lab target down and the version skew, in "
                 "the log")
        cls.settled = True

    def cli(self, *args):
        """geosteer -s SOCKET ARGS as bytes: (exit status, stdout)."""
        cmd = [gstest.geosteer_path(), "-s", self.d.socket_path] + \
            list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=gstest.CTL_TIMEOUT)
        self.assertEqual(p.returncode, 0, "%s: %r" % (cmd, p.stderr))
        return p.stdout

    def utf8(self, data, what):
        try:
            return data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            self.fail("%s is not UTF-8 (%s): %r" % (what, e,
                                                    data[max(0, e.start -
                                                             60):e.end + 20]))

    def status(self):
        return json.loads(self.utf8(self.cli("status", "--json"),
                                    "geosteer status --json"))

    # ---- the tests
    def test_log_has_only_the_daemons_lines(self):
        raw = self.raw_log()
        self.assertTrue(raw.endswith(b"\n"), raw[-200:])
        bad = []
        for n, bline in enumerate(raw.split(b"\n")[:-1], 1):
            try:
                line = bline.decode("utf-8", errors="strict")
            except UnicodeDecodeError as e:
                bad.append((n, "not UTF-8 (%s)" % e.reason, bline))
                continue
            if not OWN_LINE.match(line):
                bad.append((n, "not a geosteerd line", bline))
            elif FAKE_LINE.match(line):
                bad.append((n, "a line the endpoint wrote", bline))
            elif forbidden(line):
                bad.append((n, "controls %s" % forbidden(line), bline))
        self.assertEqual(bad, [], "\n".join("line %d: %s: %r" % b
                                            for b in bad))
        text = raw.decode("utf-8")
        for m in SHOWN_MARKERS:
            self.assertIn(m, text, "the hostile text is shown, escaped")
        # the down line of each lab target carries its reason, escaped
        for name, _, reason_re in LAB_CASES:
            with self.subTest(case=name):
                m = re.search(r"health: %s/lab %s down \((.*), first "
                              r"probe\)$" % (SERVICE, E(LAB_ADDR[name])),
                              text, re.M)
                self.assertIsNotNone(m, "no down line for %s" % name)
                self.assertRegex(m.group(1), reason_re)
        self.assertRegex(text, r"(?m)health: %s: regions differ "
                         r"\(server_version .+ in (ref|odd), .+ in "
                         r"(ref|odd)\)$" % SERVICE)

    def test_status_json_keeps_every_target_clean(self):
        st = self.status()
        svc = gstest.status_service(st, SERVICE)
        for name, _, reason_re in LAB_CASES:
            with self.subTest(case=name):
                a = [x for x in gstest.status_region(st, SERVICE, "lab")
                     ["addresses"] if x["address"] == LAB_ADDR[name]]
                self.assertEqual(len(a), 1, svc)
                a = a[0]
                self.assertEqual(a["state"], "down", a)
                self.assertEqual(a["last_result"], "fail", a)
                reason = a.get("reason")
                self.assertIsInstance(reason, str, a)
                self.assertEqual(forbidden(reason), [], repr(reason))
                self.assertLessEqual(len(reason.encode()), REASON_MAX,
                                     repr(reason))
                self.assertRegex(reason, reason_re)
                if name == "cert" and "FAKE-cert" in reason:
                    self.assertRegex(reason, "evil" + ESCAPED_LINE +
                                     r"FAKE-cert\\x1b\[2J\\u009b\u00e9")
        # the odd region is up, its version shown clean and bounded
        odd = gstest.status_region(st, SERVICE, "odd")["addresses"][0]
        self.assertEqual(odd["state"], "up", odd)
        ver = odd.get("server_version")
        self.assertIsInstance(ver, str, odd)
        self.assertEqual(forbidden(ver), [], repr(ver))
        self.assertLessEqual(len(ver.encode()), VERSION_MAX, repr(ver))
        self.assertTrue(ver.startswith("17.1" + "\\ngeosteerd[err]: FAKE-"),
                        repr(ver))
        warn = svc.get("version_warning")
        self.assertIsInstance(warn, str, svc)
        self.assertEqual(forbidden(warn), [], repr(warn))
        self.assertRegex(warn, r"^server_version .+ in (ref|odd), .+ in "
                         r"(ref|odd)$")
        self.assertIn("17.1\\ngeosteerd[err]: FAKE-", warn)

    def test_status_text_names_the_service(self):
        out = self.utf8(self.cli("status"), "geosteer status")
        self.assertNotIn("no services configured", out)
        self.assertIn("service %s " % SERVICE, out)
        for a in list(LAB_ADDR.values()) + [REF_ADDR, ODD_ADDR]:
            self.assertIn(a, out)
        self.assertEqual(forbidden(out.replace("\n", " ")), [], repr(out))
        self.assertNotRegex(out, r"(?m)^geosteerd\[|^FAKE")


def main():
    gstest.check_cli()
    gstest.main(tools=("openssl",))


if __name__ == "__main__":
    main()
