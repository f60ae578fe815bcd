#!/usr/bin/env python3
"""The operator's side through the real CLI (geosteer) and daemon: drains
(take effect on the next query, every service or one, the last-region
refusal and --force, --for lifting itself, unknown names), the admin state
file (survives restarts, a broken file stops the start and fails --check,
a kill -9 in a burst of drains leaves a file holding the last acknowledged
state, a full or read-only directory fails the command and changes
nothing), reload through the CLI (applied, every error of a broken config,
drains kept, drains of removed regions orphaned), the control socket
(mode, stale socket replaced, a second daemon refused, many clients, a
stalled client stalls no one, over-long requests, peer credentials), and
explain checked against the answers real clients get.

Clients are placed by an overrides file (dig -b 127.0.0.x) or, for the
explain tests, by ECS addresses picked from Debian's tor-geoipdb. The
assertions read `geosteer status --json` and `geosteer explain --json`
(shapes in src/control/ctl_proto.h) and real DNS answers; the CLI's text
output is only checked loosely (exit status, names in messages)."""

import copy
import errno
import ipaddress
import json
import math
import os
import pwd
import random
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (Daemon, DaemonTestCase, explain_service,  # noqa: E402
                    region_state, region_states, status_region,
                    status_service, wait_for)

Z = "steer.test"
HOST = "teleport.steer.test."
API = "api.steer.test."
TTL, API_TTL = 30, 60
US, EU, AP = "us-east-1", "eu-west-1", "ap-south-1"

TELEPORT_A = {US: ["192.0.2.10"], EU: ["198.51.100.10", "198.51.100.11"],
              AP: ["203.0.113.10"]}
TELEPORT_AAAA = {US: ["2001:db8::10"], EU: [], AP: []}
API_A = {EU: ["192.0.2.20"], AP: ["192.0.2.21"]}
REGION_LATLON = {US: (38.9, -77.4), EU: (53.3, -6.3), AP: (19.1, 72.9)}

TELEPORT = {
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
# eu-west-1 and ap-south-1 are in both services: a drain without
# --service takes both
API_SERVICE = {
    "name": "api",
    "hosts": ["api.steer.test"],
    "ttl": API_TTL,
    "regions": [
        {"name": EU, "lat": 53.3, "lon": -6.3, "addresses": ["192.0.2.20"]},
        {"name": AP, "lat": 19.1, "lon": 72.9, "addresses": ["192.0.2.21"]},
    ],
}

NETS = """# test clients: CIDR TARGET
127.0.0.2/32 53.3,-6.3
127.0.0.3/32 38.9,-77.4
127.0.0.4/32 19.1,72.9
127.0.0.5/32 eu-west-1
127.0.0.6/32 JP
"""
DUBLIN, VIRGINIA, MUMBAI, TO_EU, TO_JP = ("127.0.0.2", "127.0.0.3",
                                          "127.0.0.4", "127.0.0.5",
                                          "127.0.0.6")
UNPLACED = "127.0.0.1"  # no override, no database: config order
NETS_LINE = {ln.split()[0].split("/")[0]: i + 1
             for i, ln in enumerate(NETS.splitlines())
             if ln and not ln.startswith("#")}

AUTHOR = pwd.getpwuid(os.geteuid()).pw_name
LIFT_WAIT = 3.5     # a --for 2s drain is lifted within this
STALL_LIMIT = 2.0   # a command next to a stalled client answers within
IS_ROOT = os.geteuid() == 0


def control_conf(services=None, databases=None):
    geoip = {"overrides": "nets.txt"}
    if databases:
        geoip["databases"] = list(databases)
    return {"zones": [{"origin": Z, "file": "steer.test.zone"}],
            "geoip": geoip,
            "services": copy.deepcopy(services or [TELEPORT, API_SERVICE])}


def addrs_of(m, qtype="A"):
    return sorted(str(ipaddress.ip_address(r.rdata))
                  for r in m.rrs("answer", qtype))


def norm(addrs):
    return sorted(str(ipaddress.ip_address(a)) for a in addrs)


def km(a, b):
    """Great-circle distance (mean Earth radius)."""
    (la1, lo1), (la2, lo2) = [(math.radians(x), math.radians(y))
                              for x, y in (a, b)]
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * \
        math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def drains_of(state):
    """{(service, region): drain} of a parsed state file."""
    if state is None:
        return {}
    return {(d["service"], d["region"]): d for d in state["drains"]}


# --------------------------------------------------------------------------
# raw control protocol clients (for what the CLI does not do on purpose)


def raw_connect(path, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def raw_read_line(s, timeout=5.0):
    """One reply line (bytes without the newline), or None at EOF."""
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no reply line within %.1fs (got %r)" %
                                 (timeout, buf[:200]))
        s.settimeout(left)
        chunk = s.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return buf.split(b"\n", 1)[0]


def raw_call(s, command, args=None, version=1):
    req = {"version": version, "command": command, "args": args or {}}
    s.sendall(json.dumps(req).encode() + b"\n")
    line = raw_read_line(s)
    if line is None:
        raise AssertionError("connection closed without a reply to %s" %
                             command)
    return json.loads(line)


def wait_closed(s, timeout=5.0):
    """Reads until EOF or a reset; fails if the peer keeps the connection
    open past timeout."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("connection still open after %.1fs" %
                                 timeout)
        s.settimeout(left)
        try:
            if not s.recv(65536):
                return
        except (ConnectionResetError, BrokenPipeError):
            return
        except socket.timeout:
            raise AssertionError("connection still open after %.1fs" %
                                 timeout) from None


# --------------------------------------------------------------------------


class ControlCase(unittest.TestCase):
    """A fresh daemon per test (drains change it): self.d."""

    SERVICES = None
    DATABASES = None

    def make_daemon(self, **kw):
        conf = control_conf(self.SERVICES, self.DATABASES)
        conf.update(kw)
        return Daemon(conf=conf, zones={"nets.txt": NETS},
                      name=self.id().split(".")[-1])

    def setUp(self):
        self.d = self.make_daemon()
        try:
            self.d.start()
            self.d.wait_control()
        except BaseException:
            self.d.cleanup()
            raise

    def tearDown(self):
        try:
            if self.d.alive():
                self.d.stop_clean()
        finally:
            self.d.cleanup()

    # ---- DNS
    def ask(self, qname=HOST, src=DUBLIN, qtype="A", client="dig",
            subnet=None, d=None):
        extra = ["-b", src] if src else []
        if subnet is not None:
            extra.append("+subnet=%s" % subnet)
        return (d or self.d).query(client, qname, qtype, extra=extra)

    def answer(self, qname=HOST, src=DUBLIN, d=None):
        m = self.ask(qname, src, d=d)
        return m.status, addrs_of(m)

    def assertAnswer(self, want, qname=HOST, src=DUBLIN, client="dig",
                     d=None):
        m = self.ask(qname, src, client=client, d=d)
        self.assertEqual((m.status, addrs_of(m)), ("NOERROR", norm(want)),
                         "%s from %s: %s" % (qname, src, m))
        return m

    def assertHome(self, d=None):
        """Every client at its nearest region (nothing drained)."""
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN, d=d)
        self.assertAnswer(TELEPORT_A[US], HOST, VIRGINIA, d=d)
        self.assertAnswer(TELEPORT_A[AP], HOST, MUMBAI, d=d)
        self.assertAnswer(API_A[EU], API, DUBLIN, d=d)
        self.assertAnswer(API_A[AP], API, MUMBAI, d=d)

    # ---- CLI
    def drain(self, region, service=None, reason=None, for_=None,
              force=False, check=True, d=None, **kw):
        args = ["drain", region]
        if service:
            args += ["--service", service]
        if reason is not None:
            args += ["--reason", reason]
        if for_ is not None:
            args += ["--for", for_]
        if force:
            args.append("--force")
        return (d or self.d).ctl(*args, check=check, **kw)

    def undrain(self, region, service=None, check=True, d=None, **kw):
        args = ["undrain", region]
        if service:
            args += ["--service", service]
        return (d or self.d).ctl(*args, check=check, **kw)

    def assertDrained(self, st, service, region, reason=None, author=AUTHOR):
        r = status_region(st, service, region)
        self.assertEqual(r["state"], "drained", r)
        self.assertIs(r["usable"], False, r)
        self.assertIsInstance(r["drain"], dict, r)
        if reason is not None:
            self.assertEqual(r["drain"]["reason"], reason, r)
        if author is not None:
            self.assertEqual(r["drain"]["author"], author, r)
        return r["drain"]

    def assertUp(self, st, service, region):
        r = status_region(st, service, region)
        self.assertEqual(r["state"], "up", r)
        self.assertIs(r["usable"], True, r)
        self.assertIsNone(r["drain"], r)

    def assertFailsNaming(self, rc_out_err, *names, rc=1):
        code, out, err = rc_out_err
        self.assertEqual(code, rc, "exit status %d\nstdout: %s\nstderr: %s"
                         % (code, out, err))
        for n in names:
            self.assertIn(n, err, "stderr does not name %r" % n)


class Drain(ControlCase):

    def test_status_json_shape(self):
        st = self.d.status()
        dm = st["daemon"]
        self.assertEqual(dm["pid"], self.d.pid, dm)
        self.assertTrue(dm["version"], dm)
        self.assertEqual(os.path.realpath(dm["control_socket"]),
                         os.path.realpath(self.d.socket_path), dm)
        self.assertEqual(os.path.realpath(dm["state_file"]),
                         os.path.realpath(self.d.state_path), dm)
        self.assertEqual(os.path.realpath(dm["config_file"]),
                         os.path.realpath(self.d.conf_path), dm)
        now = time.time()
        for k in ("started", "config_loaded"):
            self.assertTrue(now - 120 < dm[k] <= now + 1, (k, dm))
        self.assertEqual([s["name"] for s in st["services"]],
                         ["teleport", "api"])
        self.assertEqual(st["orphaned_drains"], [])
        tp = status_service(st, "teleport")
        self.assertEqual(tp["ttl"], TTL)
        self.assertEqual(tp["state"], "ok")
        self.assertIs(tp["checked"], False)
        self.assertEqual(tp["when_all_down"], "fail-open")
        self.assertEqual(sorted(h.rstrip(".") for h in tp["hosts"]),
                         sorted(TELEPORT["hosts"]))
        self.assertEqual(region_states(st, "teleport"),
                         {US: "up", EU: "up", AP: "up"})
        self.assertEqual(region_states(st, "api"), {EU: "up", AP: "up"})
        for reg in TELEPORT["regions"]:
            r = status_region(st, "teleport", reg["name"])
            self.assertIs(r["usable"], True, r)
            self.assertIsNone(r["drain"], r)
            self.assertEqual(sorted(a["address"] for a in r["addresses"]),
                             sorted(reg["addresses"]), r)
            for a in r["addresses"]:
                # no health checks: static addresses, never probed
                self.assertEqual(a["state"], "static", a)
                self.assertIs(a["probed"], False, a)
        # the text form works and names the regions
        rc, out, err = self.d.ctl("status", check=True)
        for name in ("teleport", "api", US, EU, AP):
            self.assertIn(name, out)

    def test_drain_moves_clients_at_once(self):
        self.assertHome()
        t0 = time.time()
        self.drain(EU, "teleport", reason="kernel update")
        t1 = time.time()
        # the very next query: no waiting
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN, client="kdig")
        self.assertAnswer(TELEPORT_A[US], "x." + HOST, DUBLIN)
        # Mumbai's next-nearest is eu-west-1, but it keeps ap-south-1
        self.assertAnswer(TELEPORT_A[AP], HOST, MUMBAI)
        self.assertAnswer(TELEPORT_A[US], HOST, VIRGINIA)
        # the other service keeps eu-west-1
        self.assertAnswer(API_A[EU], API, DUBLIN)
        st = self.d.status()
        dr = self.assertDrained(st, "teleport", EU, "kernel update")
        self.assertTrue(int(t0) - 1 <= dr["start"] <= t1 + 1, dr)
        self.assertIsNone(dr["expires"], dr)
        self.assertEqual(status_service(st, "teleport")["state"], "ok")
        self.assertUp(st, "api", EU)
        self.assertUp(st, "teleport", US)
        # the file holds it
        f = self.d.read_state()
        self.assertEqual(f["version"], 1, f)
        self.assertEqual(set(drains_of(f)), {("teleport", EU)}, f)
        fd = drains_of(f)[("teleport", EU)]
        self.assertEqual((fd["reason"], fd["author"], fd["expires"]),
                         ("kernel update", AUTHOR, None), fd)
        self.assertEqual(fd["start"], dr["start"], (fd, dr))
        # and back
        self.undrain(EU, "teleport")
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
        self.assertUp(self.d.status(), "teleport", EU)
        self.assertEqual(drains_of(self.d.read_state()), {})
        # undrain of a region that is not drained is no error
        self.undrain(EU, "teleport")

    def test_drain_every_service(self):
        self.drain(EU, reason="maintenance")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.assertAnswer(API_A[AP], API, DUBLIN)
        self.assertAnswer(API_A[AP], API, VIRGINIA)
        st = self.d.status()
        self.assertDrained(st, "teleport", EU, "maintenance")
        self.assertDrained(st, "api", EU, "maintenance")
        self.assertEqual(set(drains_of(self.d.read_state())),
                         {("teleport", EU), ("api", EU)})
        # a region only one service has
        self.drain(US, reason="only teleport")
        st = self.d.status()
        self.assertDrained(st, "teleport", US, "only teleport")
        self.assertAnswer(TELEPORT_A[AP], HOST, DUBLIN)
        # undrain without --service: every service
        self.undrain(EU)
        self.undrain(US)
        self.assertHome()
        st = self.d.status()
        for svc, regs in (("teleport", (US, EU, AP)), ("api", (EU, AP))):
            for r in regs:
                self.assertUp(st, svc, r)
        self.assertEqual(drains_of(self.d.read_state()), {})

    def test_last_region_refused_unless_forced(self):
        self.drain(EU, "api", reason="first")
        self.assertAnswer(API_A[AP], API, DUBLIN)
        code, out, err = self.drain(AP, "api", check=None)
        self.assertEqual(code, 1, "draining api's last usable region: "
                         "exit %d\n%s%s" % (code, out, err))
        self.assertTrue(err.strip(), "no message on stderr")
        st = self.d.status()
        self.assertUp(st, "api", AP)
        self.assertAnswer(API_A[AP], API, DUBLIN)
        self.assertEqual(set(drains_of(self.d.read_state())), {("api", EU)})
        # without --service, a region that is the last of one service
        code, out, err = self.drain(AP, check=None)
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertUp(self.d.status(), "api", AP)
        self.assertAnswer(API_A[AP], API, DUBLIN)
        # --force: every region of api drained
        self.drain(AP, "api", reason="forced", force=True)
        st = self.d.status()
        self.assertDrained(st, "api", AP, "forced")
        self.assertEqual(status_service(st, "api")["state"], "all-drained")
        self.assertEqual(status_service(st, "teleport")["state"], "ok")
        self.assertEqual(set(drains_of(self.d.read_state())),
                         {("api", EU), ("api", AP)})
        # the daemon keeps answering (whatever all-drained answers)
        self.assertTrue(self.d.alive())
        self.ask(API, DUBLIN)
        self.undrain(AP, "api")
        self.assertAnswer(API_A[AP], API, DUBLIN)
        self.undrain(EU, "api")
        self.assertAnswer(API_A[EU], API, DUBLIN)

    def test_unknown_names(self):
        self.assertFailsNaming(self.drain("mars-north-1", check=None),
                               "mars-north-1", US, EU, AP)
        self.assertFailsNaming(self.drain("mars-north-1", "teleport",
                                          check=None), US, EU, AP)
        self.assertFailsNaming(self.drain(EU, "nosuchsvc", check=None),
                               "nosuchsvc", "teleport", "api")
        self.assertFailsNaming(self.undrain("mars-north-1", check=None),
                               US, EU, AP)
        self.assertFailsNaming(self.undrain(EU, "nosuchsvc", check=None),
                               "teleport", "api")
        # a region of another service
        self.assertFailsNaming(self.drain(US, "api", check=None), EU, AP)
        # nothing changed
        self.assertEqual(drains_of(self.d.read_state()), {})
        self.assertEqual(region_states(self.d.status(), "teleport"),
                         {US: "up", EU: "up", AP: "up"})
        self.assertHome()

    def test_usage_errors(self):
        for args in ([], ["frobnicate"], ["drain"], ["undrain"],
                     ["explain"], ["drain", EU, "--bogus-option"],
                     ["status", "extra", "args"]):
            with self.subTest(args=args):
                code, out, err = self.d.ctl(*args)
                self.assertEqual(code, 2, "geosteer %s: exit %d\n%s%s" %
                                 (" ".join(args), code, out, err))
        for bad in ("0", "-5s", "soon", "5x", "400d"):
            with self.subTest(duration=bad):
                code, out, err = self.drain(EU, "teleport", for_=bad,
                                            check=None)
                self.assertIn(code, (1, 2), "--for %s: exit %d\n%s%s" %
                              (bad, code, out, err))
        code, out, err = self.d.ctl("explain", "not-an-address")
        self.assertIn(code, (1, 2), "exit %d\n%s%s" % (code, out, err))
        self.assertUp(self.d.status(), "teleport", EU)
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)

    def test_durations(self):
        for text, secs in (("90s", 90), ("45m", 2700), ("2h", 7200),
                           ("1d", 86400), ("1h30m", 5400), ("120", 120)):
            with self.subTest(duration=text):
                self.drain(EU, "teleport", reason=text, for_=text)
                dr = self.assertDrained(self.d.status(), "teleport", EU,
                                        text)
                self.assertAlmostEqual(dr["expires"] - dr["start"], secs,
                                       delta=1.5, msg=dr)
                fd = drains_of(self.d.read_state())[("teleport", EU)]
                self.assertEqual((fd["start"], fd["expires"]),
                                 (dr["start"], dr["expires"]))

    def test_drain_for_lifts_itself(self):
        mark = len(self.d.log())
        t0 = time.monotonic()
        self.drain(EU, "teleport", reason="short", for_="2s")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        dr = self.assertDrained(self.d.status(), "teleport", EU, "short")
        self.assertTrue(1 <= dr["expires"] - dr["start"] <= 3, dr)
        # a drain without expiry next to it stays
        self.drain(AP, "api", reason="long")

        def lifted():
            return region_state(self.d.status(), "teleport", EU) == "up"
        wait_for(lifted, LIFT_WAIT - (time.monotonic() - t0), 0.1,
                 what="the 2 s drain lifted in the status")
        took = time.monotonic() - t0
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
        self.assertEqual(set(drains_of(self.d.read_state())), {("api", AP)})
        st = self.d.status()
        self.assertUp(st, "teleport", EU)
        self.assertDrained(st, "api", AP, "long")
        log = self.d.log()[mark:]
        self.assertTrue([ln for ln in log.splitlines()
                         if EU in ln and re.search(r"(?i)expir|lift", ln)],
                        "no log line about the lifted drain:\n%s" % log)
        print("  (lifted after %.1fs)" % took, end=" ")

    def test_drain_survives_restart(self):
        self.drain(EU, "teleport", reason="kernel update", for_="1h")
        self.drain(AP, "api", reason="db migration")
        before = self.d.status()
        want = {(s, r): status_region(before, s, r)["drain"]
                for s, r in (("teleport", EU), ("api", AP))}
        self.d.restart()
        self.d.wait_control()
        self.assertNotEqual(self.d.status()["daemon"]["pid"],
                            before["daemon"]["pid"])
        st = self.d.status()
        for (s, r), dr in want.items():
            got = self.assertDrained(st, s, r)
            self.assertEqual(got, dr, "drain of %s/%s after restart" % (s, r))
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.assertAnswer(API_A[EU], API, MUMBAI)
        self.assertAnswer(TELEPORT_A[AP], HOST, MUMBAI)
        # undrained, and restarted again: gone for good
        self.undrain(EU, "teleport")
        self.undrain(AP, "api")
        self.d.restart()
        self.d.wait_control()
        st = self.d.status()
        self.assertUp(st, "teleport", EU)
        self.assertUp(st, "api", AP)
        self.assertHome()

    def test_reload_command(self):
        before = self.d.status()["daemon"]["config_loaded"]
        conf = copy.deepcopy(self.d.conf)
        conf["services"][0]["regions"][1]["addresses"].append(
            "198.51.100.12")
        self.d.write_config(conf)
        time.sleep(1.1)  # config_loaded has (at least) second resolution
        self.d.ctl("reload", check=True)
        # the reply came after the new config took: no waiting
        self.assertAnswer(TELEPORT_A[EU] + ["198.51.100.12"], HOST, DUBLIN)
        st = self.d.status()
        self.assertGreater(st["daemon"]["config_loaded"], before)
        self.assertIn("198.51.100.12", gstest.region_addresses(
            st, "teleport", EU))

    def test_reload_prints_the_warnings(self):
        # a change that takes effect only at restart: the reload works,
        # exit 0, and says so (warnings on stderr)
        self.d.conf_at_start = copy.deepcopy(self.d.conf)
        conf = copy.deepcopy(self.d.conf)
        conf["tcp_max_clients"] = conf.get("tcp_max_clients", 256) + 1
        self.d.write_config(conf)
        code, out, err = self.d.ctl("reload", check=True)
        self.assertIn("reloaded", out)
        self.assertRegex(err, r"(?m)^geosteer: warning: reload: .*tcp_\* "
                         r"changes take effect at the next restart$")
        # again: the running server still has the old value
        code, out, err = self.d.ctl("reload", check=True)
        self.assertIn("tcp_* changes take effect at the next restart", err)
        # back to what it started with: nothing to say
        self.d.write_config(self.d.conf_at_start)
        code, out, err = self.d.ctl("reload", check=True)
        self.assertEqual(err, "")

    def test_reload_broken_config_prints_every_error(self):
        self.drain(AP, "api", reason="kept")
        good = copy.deepcopy(self.d.conf)
        conf = copy.deepcopy(good)
        conf["frobnicate"] = 1
        conf["services"][0]["frobozz"] = True
        conf["services"][0]["regions"][1]["addresses"] = ["198.51.100.77"]
        self.d.write_config(conf)
        code, out, err = self.d.ctl("reload")
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertIn("frobnicate", err)
        self.assertIn("frobozz", err)
        self.assertTrue(self.d.alive())
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
        self.assertDrained(self.d.status(), "api", AP, "kept")
        # fixed: takes, and the drain is still there
        good["services"][0]["regions"][1]["addresses"] = ["198.51.100.77"]
        self.d.write_config(good)
        self.d.ctl("reload", check=True)
        self.assertAnswer(["198.51.100.77"], HOST, DUBLIN)
        self.assertDrained(self.d.status(), "api", AP, "kept")
        self.assertAnswer(API_A[EU], API, MUMBAI)

    def test_reload_orphans_drains_of_removed_regions(self):
        self.drain(AP, "teleport", reason="going away")
        self.drain(EU, "api", reason="stays")
        self.drain(US, "teleport", reason="also stays")
        conf = copy.deepcopy(self.d.conf)
        conf["services"][0]["regions"] = [
            r for r in conf["services"][0]["regions"] if r["name"] != AP]
        self.d.write_config(conf)
        self.d.reload()  # SIGHUP this time

        def orphaned():
            return self.d.status()["orphaned_drains"]
        orphans = wait_for(orphaned, 5.0, 0.1, what="an orphaned drain")
        self.assertEqual([(o["service"], o["region"], o["reason"],
                           o["author"]) for o in orphans],
                         [("teleport", AP, "going away", AUTHOR)])
        st = self.d.status()
        self.assertEqual(sorted(region_states(st, "teleport")), [EU, US])
        self.assertDrained(st, "api", EU, "stays")
        self.assertDrained(st, "teleport", US, "also stays")
        self.assertAnswer(TELEPORT_A[EU], HOST, MUMBAI)
        self.assertEqual(set(drains_of(self.d.read_state())),
                         {("teleport", AP), ("api", EU), ("teleport", US)})
        # a restart keeps the orphan too
        self.d.restart()
        self.d.wait_control()
        st = self.d.status()
        self.assertEqual([(o["service"], o["region"])
                          for o in st["orphaned_drains"]],
                         [("teleport", AP)])
        self.assertDrained(st, "api", EU, "stays")
        # undrained by name with --service
        self.undrain(AP, "teleport")
        st = self.d.status()
        self.assertEqual(st["orphaned_drains"], [])
        self.assertEqual(set(drains_of(self.d.read_state())),
                         {("api", EU), ("teleport", US)})
        self.assertDrained(st, "teleport", US, "also stays")


class StateFile(ControlCase):

    def start_expecting_failure(self, d):
        d.start(wait=False)
        rc = d.wait_exit(gstest.START_TIMEOUT)
        self.assertIsNotNone(rc, "geosteerd started with a broken state "
                             "file:\n%s" % d.log_tail())
        self.assertEqual(rc, gstest.EX_CONFIG, d.log_tail())
        return d.log()

    def check(self, d):
        p = gstest.run([gstest.geosteerd_path(), "-c", d.conf_path,
                        "--check"], timeout=30, cwd=d.dir)
        return p.returncode, p.stdout + p.stderr

    def test_hand_written_file_is_read(self):
        self.d.stop_clean()
        self.d.forget()
        os.makedirs(os.path.dirname(self.d.state_path), exist_ok=True)
        with open(self.d.state_path, "w") as f:
            json.dump({"version": 1, "drains": [
                {"service": "teleport", "region": EU, "reason": "by hand",
                 "author": "alice", "start": 1700000000, "expires": None},
                {"service": "api", "region": AP, "reason": "",
                 "author": "bob", "start": 1700000100,
                 "expires": int(time.time()) + 3600}]}, f)
        rc, out = self.check(self.d)
        self.assertEqual(rc, 0, out)
        self.d.start()
        self.d.wait_control()
        st = self.d.status()
        dr = self.assertDrained(st, "teleport", EU, "by hand", "alice")
        self.assertEqual(dr["start"], 1700000000)
        self.assertIsNone(dr["expires"])
        self.assertDrained(st, "api", AP, "", "bob")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.assertAnswer(API_A[EU], API, MUMBAI)

    def test_broken_file_stops_the_start(self):
        self.d.stop_clean()
        self.d.forget()
        os.makedirs(os.path.dirname(self.d.state_path), exist_ok=True)
        cases = [
            ("syntax", '{"version": 1, "drains": [{"service": "teleport",'),
            ("not an object", '[1, 2, 3]\n'),
            ("missing region", '{"version": 1, "drains": [{"service": '
             '"teleport", "reason": "", "author": "x", "start": 1, '
             '"expires": null}]}\n'),
            ("region not a string", '{"version": 1, "drains": [{"service": '
             '"teleport", "region": 5, "reason": "", "author": "x", '
             '"start": 1, "expires": null}]}\n'),
            ("empty", ""),
            ("a directory", None),
        ]
        for what, text in cases:
            with self.subTest(case=what):
                p = self.d.state_path
                if os.path.isdir(p):
                    os.rmdir(p)
                if text is None:
                    if os.path.exists(p):
                        os.unlink(p)
                    os.mkdir(p)
                else:
                    with open(p, "w") as f:
                        f.write(text)
                mark = len(self.d.log())
                log = self.start_expecting_failure(self.d)[mark:]
                self.d.forget()
                self.assertIn("state.json", log, "the error does not name "
                              "the file:\n%s" % log)
                rc, out = self.check(self.d)
                self.assertEqual(rc, gstest.EX_CONFIG,
                                 "--check: exit %d\n%s" % (rc, out))
                self.assertIn("state.json", out)
                # the file was not replaced
                if text is not None:
                    with open(p) as f:
                        self.assertEqual(f.read(), text)
        # a good file again: starts
        os.rmdir(self.d.state_path)
        self.d.start()
        self.d.wait_control()


class Crash(ControlCase):
    """kill -9 in the middle of a burst of drain/undrain of one region:
    the state file parses and holds the last acknowledged state, or that
    of the command in flight at the kill. Command #i drains (reason
    "burst i") if i is even, undrains if odd."""

    def cli_command(self, i):
        if i % 2 == 0:
            args = ["drain", EU, "--service", "teleport", "--reason",
                    "burst %d" % i]
        else:
            args = ["undrain", EU, "--service", "teleport"]
        try:
            code, out, err = self.d.ctl(*args)
        except AssertionError as e:  # a CLI that hung
            return False, str(e)
        return code == 0, err

    def raw_command(self, i):
        if self._raw is None:
            self._raw = raw_connect(self.d.socket_path)
        args = {"region": EU, "service": "teleport"}
        if i % 2 == 0:
            args["reason"] = "burst %d" % i
        try:
            reply = raw_call(self._raw, "drain" if i % 2 == 0 else "undrain",
                             args)
        except (OSError, AssertionError) as e:
            return False, repr(e)
        return reply.get("ok") is True, reply.get("error")

    def burst_and_kill(self, command, n, kill_range):
        self.drain(AP, "api", reason="steady")
        acked = []          # indexes of acknowledged commands
        failed = []         # (index, start time, end time, message)
        started = {}
        stop = threading.Event()

        def burst():
            deadline = time.monotonic() + 120
            for i in range(n):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                started[i] = time.monotonic()
                ok, msg = command(i)
                if ok:
                    acked.append(i)
                else:
                    failed.append((i, started[i], time.monotonic(), msg))
                    return

        t = threading.Thread(target=burst, daemon=True)
        kill_after = random.randint(*kill_range)
        t.start()
        killed_at = None
        try:
            wait_for(lambda: len(acked) >= kill_after or failed or
                     not t.is_alive(), 120, 0.001,
                     what="%d acknowledged commands" % kill_after)
            self.assertEqual(failed, [], "a command failed before the kill")
            time.sleep(random.uniform(0, 0.02))
            killed_at = time.monotonic()
            self.d.kill9()
        finally:
            stop.set()
            t.join(30)
        self.assertFalse(t.is_alive(), "burst thread did not finish")
        last = acked[-1] if acked else -1
        allowed = [last]
        for i, t_start, t_end, msg in failed:
            self.assertGreaterEqual(t_end, killed_at, "command #%d failed "
                                    "before the kill: %s" % (i, msg))
            if i == last + 1 and t_start < killed_at:
                allowed.append(i)  # in flight at the kill
        state = self.d.read_state()
        self.assertIsNotNone(state, "no state file after the kill")
        drains = drains_of(state)
        self.assertIn(("api", AP), drains, state)
        self.assertEqual(drains[("api", AP)]["reason"], "steady")
        self.assertTrue(set(drains) <= {("api", AP), ("teleport", EU)},
                        state)
        got = drains.get(("teleport", EU))

        def matches(i):
            if i < 0 or i % 2 == 1:
                return got is None
            return got is not None and got["reason"] == "burst %d" % i
        self.assertTrue(any(matches(i) for i in allowed),
                        "state file %s is none of the states of commands %s "
                        "(last acknowledged #%d of %d sent)" %
                        (state, allowed, last, len(started)))
        at = [i for i in allowed if matches(i)][0]
        print("  (killed after %d acknowledged commands, file at #%d%s)" %
              (len(acked), at, ", the one in flight" if at != last else ""),
              end=" ")
        # a new daemon (over the stale socket) serves exactly the file
        self.d.forget()
        self.d.start()
        self.d.wait_control()
        st = self.d.status()
        self.assertDrained(st, "api", AP, "steady")
        if got is None:
            self.assertUp(st, "teleport", EU)
            self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
        else:
            self.assertDrained(st, "teleport", EU, got["reason"])
            self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)

    def test_kill9_during_cli_burst(self):
        """200 commands through the CLI."""
        self.burst_and_kill(self.cli_command, 200, (3, 120))

    def test_kill9_during_raw_burst(self):
        """Back-to-back requests on one connection: the daemon is busy
        (writing the file) nearly all the time, so the kill usually lands
        in the middle of a command."""
        self._raw = None
        try:
            self.burst_and_kill(self.raw_command, 5000, (10, 2000))
        finally:
            if self._raw is not None:
                self._raw.close()


# --------------------------------------------------------------------------
# full and read-only state directories (a tmpfs in a private mount
# namespace of the daemon)


def _mount_ns_works():
    if not IS_ROOT or not shutil.which("unshare") or \
            not shutil.which("nsenter"):
        return False
    import tempfile
    d = tempfile.mkdtemp(prefix="gstest-nsprobe-")
    try:
        p = subprocess.run(["unshare", "-m", "sh", "-c",
                            'mount -t tmpfs -o size=64k tmpfs "$0" && '
                            'mount -o remount,ro "$0"', d],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        return p.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(d, ignore_errors=True)


HAVE_MOUNT_NS = _mount_ns_works()


@unittest.skipUnless(HAVE_MOUNT_NS, "needs root and mount namespaces "
                     "(unshare -m, tmpfs, nsenter)")
class StateDirTrouble(ControlCase):

    def setUp(self):
        self.d = self.make_daemon()
        self.statedir = os.path.dirname(self.d.state_path)
        os.makedirs(self.statedir)
        self.d.wrapper = lambda cmd: [
            "unshare", "-m", "sh", "-c",
            'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"',
            self.statedir] + cmd
        try:
            self.d.start()
            self.d.wait_control()
        except BaseException:
            self.d.cleanup()
            raise
        exe = os.path.realpath("/proc/%d/exe" % self.d.pid)
        self.assertEqual(exe, os.path.realpath(gstest.geosteerd_path()),
                         "the PID tracked is not geosteerd's")

    def ns(self, path):
        """path as the daemon sees it (inside its mount namespace)."""
        return "/proc/%d/root%s" % (self.d.pid, path)

    def file_bytes(self):
        with open(self.ns(self.d.state_path), "rb") as f:
            return f.read()

    def setup_drain(self):
        self.drain(EU, "api", reason="before")
        self.assertFalse(os.path.exists(self.d.state_path),
                         "the state file is not in the daemon's tmpfs")
        self.assertIn(("api", EU), drains_of(json.loads(self.file_bytes())))

    def assertNothingChanged(self, content):
        st = self.d.status()
        self.assertUp(st, "teleport", EU)
        self.assertDrained(st, "api", EU, "before")
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
        self.assertAnswer(API_A[AP], API, DUBLIN)
        self.assertEqual(self.file_bytes(), content)

    def test_full_directory(self):
        self.setup_drain()
        filler = self.ns(os.path.join(self.statedir, "filler"))
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        full = False
        try:
            for _ in range(10000):
                try:
                    os.write(fd, b"\0" * 4096)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC, e)
                    full = True
                    break
        finally:
            os.close(fd)
        self.assertTrue(full, "the tmpfs never filled up")
        content = self.file_bytes()
        code, out, err = self.drain(EU, "teleport", reason="no room",
                                    check=None)
        self.assertEqual(code, 1, "drain on a full disk: exit %d\n%s%s" %
                         (code, out, err))
        self.assertIn("space", err.lower())
        self.assertNothingChanged(content)
        code, out, err = self.undrain(EU, "api", check=None)
        self.assertEqual(code, 1, "undrain on a full disk: exit %d\n%s%s" %
                         (code, out, err))
        self.assertIn("space", err.lower())
        self.assertNothingChanged(content)
        os.unlink(filler)
        self.drain(EU, "teleport", reason="room again")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.assertEqual(set(drains_of(json.loads(self.file_bytes()))),
                         {("api", EU), ("teleport", EU)})

    def remount(self, how):
        p = gstest.run(["nsenter", "-t", str(self.d.pid), "-m", "mount",
                        "-o", "remount,%s" % how, self.statedir])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_read_only_directory(self):
        self.setup_drain()
        content = self.file_bytes()
        self.remount("ro")
        code, out, err = self.drain(EU, "teleport", reason="ro", check=None)
        self.assertEqual(code, 1, "drain on a read-only fs: exit %d\n%s%s" %
                         (code, out, err))
        self.assertIn("read-only", err.lower())
        self.assertNothingChanged(content)
        code, out, err = self.undrain(EU, "api", check=None)
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertIn("read-only", err.lower())
        self.assertNothingChanged(content)
        self.remount("rw")
        self.drain(EU, "teleport", reason="rw again")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.assertEqual(set(drains_of(json.loads(self.file_bytes()))),
                         {("api", EU), ("teleport", EU)})


# --------------------------------------------------------------------------
# the control socket


class ControlSocket(ControlCase):

    def test_mode_and_directory(self):
        st = os.stat(self.d.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode), oct(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660, oct(st.st_mode))
        self.assertTrue(os.path.isdir(os.path.dirname(self.d.socket_path)))

    def test_not_running_names_the_socket(self):
        missing = self.d.path("nowhere/ctl.sock")
        code, out, err = self.d.ctl("status", sock=missing)
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertIn(missing, err)
        code, out, err = self.d.ctl("drain", EU, sock=missing)
        self.assertEqual(code, 1)
        self.assertIn(missing, err)
        # GEOSTEER_SOCKET chooses the socket when -s is absent
        code, out, err = self.d.ctl("status", "--json", sock=None,
                                    env={"GEOSTEER_SOCKET":
                                         self.d.socket_path})
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out)["daemon"]["pid"], self.d.pid)
        code, out, err = self.d.ctl("status", sock=None,
                                    env={"GEOSTEER_SOCKET": missing})
        self.assertEqual(code, 1)
        self.assertIn(missing, err)
        # a stopped daemon
        self.d.stop_clean()
        code, out, err = self.d.ctl("status")
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertIn(self.d.socket_path, err)

    def test_stale_socket_replaced(self):
        path = self.d.socket_path
        self.d.kill9()
        if not os.path.exists(path):  # make sure there is a stale one
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.close()
        self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
        self.d.forget()
        self.d.start()
        st = self.d.wait_control()
        self.assertEqual(st["daemon"]["pid"], self.d.pid)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o660)

    def test_second_daemon_refused(self):
        other = self.make_daemon(control_socket=self.d.socket_path)
        try:
            other.start(wait=False)
            rc = other.wait_exit(gstest.START_TIMEOUT)
            self.assertIsNotNone(rc, "a second daemon started on the same "
                                 "control socket:\n%s" % other.log_tail())
            self.assertNotEqual(rc, 0)
            self.assertIn(self.d.socket_path, other.log())
        finally:
            other.cleanup()
        self.assertEqual(self.d.status()["daemon"]["pid"], self.d.pid)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.d.socket_path).st_mode))
        self.drain(EU, "teleport")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)

    def test_many_clients_at_once(self):
        n = 32
        socks = [raw_connect(self.d.socket_path) for _ in range(n)]
        try:
            for s in socks:
                s.sendall(b'{"version": 1, "command": "status", '
                          b'"args": {}}\n')
            for s in socks:
                line = raw_read_line(s, timeout=10.0)
                self.assertIsNotNone(line, "closed without a reply")
                reply = json.loads(line)
                self.assertIs(reply["ok"], True, reply)
                self.assertEqual(reply["version"], 1, reply)
                self.assertEqual(reply["result"]["daemon"]["pid"],
                                 self.d.pid)
            # a second request on the same connection
            reply = raw_call(socks[0], "status")
            self.assertIs(reply["ok"], True, reply)
        finally:
            for s in socks:
                s.close()
        # and through the CLI from several threads
        results = []

        def worker():
            for _ in range(3):
                results.append(self.d.ctl("status", "--json"))
        threads = [threading.Thread(target=worker, daemon=True)
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(len(results), 24)
        for code, out, err in results:
            self.assertEqual(code, 0, err)
            self.assertEqual(json.loads(out)["daemon"]["pid"], self.d.pid)

    def test_stalled_clients_stall_no_one(self):
        idle = raw_connect(self.d.socket_path)
        half = raw_connect(self.d.socket_path)
        try:
            half.sendall(b'{"version": 1, "command": "sta')
            time.sleep(0.2)
            for args in (("status", "--json"),
                         ("drain", EU, "--service", "teleport"),
                         ("undrain", EU, "--service", "teleport")):
                t0 = time.monotonic()
                code, out, err = self.d.ctl(*args)
                took = time.monotonic() - t0
                self.assertEqual(code, 0, err)
                self.assertLess(took, STALL_LIMIT, "geosteer %s took %.1fs "
                                "next to stalled clients" %
                                (" ".join(args), took))
            self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
            # the half line, finished, is a request like any other
            half.sendall(b'tus", "args": {}}\n')
            line = raw_read_line(half)
            self.assertIsNotNone(line)
            self.assertIs(json.loads(line)["ok"], True)
            # and a clean stop with a client still connected
            self.d.stop_clean()
        finally:
            idle.close()
            half.close()

    def test_overlong_request_closes(self):
        s = raw_connect(self.d.socket_path)
        try:
            chunk = b"a" * 4096
            try:
                for _ in range((65 * 1024) // 4096 + 4):  # > 64 KiB
                    s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            except socket.timeout:
                self.fail("the daemon stopped reading without closing")
            wait_closed(s)
        finally:
            s.close()
        self.assertEqual(self.d.status()["daemon"]["pid"], self.d.pid)

    def test_bad_requests(self):
        s = raw_connect(self.d.socket_path)
        try:
            reply = raw_call(s, "status", version=99)
            self.assertIs(reply["ok"], False, reply)
            self.assertIn("1", reply["error"], reply)
        except AssertionError as e:
            if "closed without a reply" not in str(e):
                raise
            self.fail("a request of version 99 got no reply naming the "
                      "versions spoken")
        finally:
            s.close()
        s = raw_connect(self.d.socket_path)
        try:
            reply = raw_call(s, "frobnicate")
            self.assertIs(reply["ok"], False, reply)
            self.assertTrue(reply["error"], reply)
            reply = raw_call(s, "drain", {"service": "teleport"})  # no region
            self.assertIs(reply["ok"], False, reply)
            # a reason that would forge a log line is refused, and
            # nothing is drained
            reply = raw_call(s, "drain", {
                "region": EU, "service": "teleport",
                "reason": "x\ngeosteerd[err]: forged"})
            self.assertIs(reply["ok"], False, reply)
            self.assertIn("control characters", reply["error"], reply)
            # C1 controls too (CSI, U+009B, moves a terminal's cursor)
            reply = raw_call(s, "drain", {
                "region": EU, "service": "teleport",
                "reason": "x\u009b2Jforged"})
            self.assertIs(reply["ok"], False, reply)
            self.assertIn("control characters", reply["error"], reply)
            self.assertNotIn("forged", self.d.log())
        finally:
            s.close()
        for junk in (b"not json\n", b"[1,2]\n", b"\x00\xff\xfe\n",
                     b'{"version": 1}\n'):
            s = raw_connect(self.d.socket_path)
            try:
                s.sendall(junk)
                try:
                    line = raw_read_line(s)
                except (ConnectionResetError, BrokenPipeError):
                    line = None
                if line is not None:
                    self.assertIs(json.loads(line)["ok"], False, line)
            finally:
                s.close()
        self.assertEqual(self.d.status()["daemon"]["pid"], self.d.pid)
        self.assertUp(self.d.status(), "teleport", EU)


@unittest.skipUnless(IS_ROOT and shutil.which("setpriv"),
                     "needs root and setpriv (runs the CLI as nobody)")
class PeerCredentials(ControlCase):

    def setUp(self):
        cli = gstest.geosteer_path()
        p = gstest.run(gstest.as_user(["sh", "-c", 'test -x "$0"', cli],
                                      "nobody"))
        if p.returncode != 0:
            self.skipTest("nobody cannot run %s" % cli)
        super().setUp()
        # nobody must be able to reach the socket's directory; only the
        # socket itself (or the daemon) stands in the way
        for path in (self.d.dir, os.path.dirname(self.d.socket_path)):
            os.chmod(path, 0o711)

    def test_nobody_denied_by_socket_mode(self):
        code, out, err = self.d.ctl("status", user="nobody")
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertIn("permission denied", err.lower())
        self.assertIn(self.d.socket_path, err)

    def test_nobody_refused_by_daemon(self):
        os.chmod(self.d.socket_path, 0o666)
        mark = len(self.d.log())
        code, out, err = self.d.ctl("status", user="nobody")
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertIn("refused", err.lower())
        code, out, err = self.drain(EU, "teleport", check=None,
                                    user="nobody")
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertUp(self.d.status(), "teleport", EU)
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)
        self.assertIsNone(self.d.read_state() and
                          drains_of(self.d.read_state()).get(("teleport",
                                                              EU)))
        log = self.d.log()[mark:]
        self.assertTrue([ln for ln in log.splitlines()
                         if "65534" in ln and re.search(r"(?i)refus", ln)],
                        "no log line refusing uid 65534:\n%s" % log)

    def test_socket_group_member_allowed(self):
        gid = os.stat(self.d.socket_path).st_gid
        code, out, err = self.d.ctl("status", "--json", user="nobody",
                                    groups=[gid])
        self.assertEqual(code, 0, "exit %d\n%s%s" % (code, out, err))
        self.assertEqual(json.loads(out)["daemon"]["pid"], self.d.pid)
        self.drain(EU, "teleport", reason="by a group member",
                   user="nobody", groups=[gid])
        self.assertDrained(self.d.status(), "teleport", EU,
                           "by a group member", "nobody")
        self.assertAnswer(TELEPORT_A[US], HOST, DUBLIN)
        self.undrain(EU, "teleport", user="nobody", groups=[gid])
        self.assertAnswer(TELEPORT_A[EU], HOST, DUBLIN)


# --------------------------------------------------------------------------
# explain against real answers

try:
    import test_steer
    HAVE_TOR = all(os.path.isfile(p) for p in (test_steer.GEOIP4,
                                               test_steer.GEOIP6))
except Exception:  # pragma: no cover
    test_steer = None
    HAVE_TOR = False


class ExplainMixin:

    def check_explain(self, addr, qname=HOST, service="teleport", src=None,
                      subnet=None, name=None, region=None, ttl=None):
        """Explains addr; checks that its answer for service is what dig
        and kdig get (from src, or with ECS subnet), A and AAAA, TTL,
        rcode and (for ECS) scope. Returns (explain, service entry)."""
        ex = self.d.explain(addr, name=name)
        self.assertEqual(ipaddress.ip_address(ex["address"]),
                         ipaddress.ip_address(addr), ex)
        self.assertEqual(ex["family"], ipaddress.ip_address(addr).version)
        e = explain_service(ex, service)
        # the name explained: --name, else the service's first host
        # (qname is always that here)
        self.assertEqual(e["name"].rstrip(".").lower(),
                         (name or qname).rstrip(".").lower(), e)
        for client in ("dig", "kdig"):
            m = self.ask(name + "." if name else qname, src, client=client,
                         subnet=subnet)
            with self.subTest(addr=addr, client=client):
                self.assertEqual(e["rcode"], m.status, (e, m))
                self.assertEqual(norm(e["a"]["addresses"]), addrs_of(m),
                                 (e, m))
                if m.rrs("answer", "A"):
                    self.assertEqual({r.ttl for r in m.rrs("answer", "A")},
                                     {e["ttl"]}, (e, m))
                if subnet is not None:
                    ecs = test_steer.ecs_of(m)
                    self.assertIsNotNone(ecs, m)
                    self.assertEqual(ecs[2], e["scope"], (e, m))
        m6 = self.ask(name + "." if name else qname, src, "AAAA",
                      subnet=subnet)
        self.assertEqual(norm(e["aaaa"]["addresses"]), addrs_of(m6, "AAAA"),
                         (e, m6))
        if ttl is not None:
            self.assertEqual(e["ttl"], ttl, e)
        if region is not None:
            self.assertEqual(e["a"]["region"], region, e)
        return ex, e

    def order_entry(self, e, region):
        for o in e["order"]:
            if o["region"] == region:
                return o
        raise AssertionError("no %s in the order %s" % (region, e["order"]))


@unittest.skipUnless(HAVE_TOR, "needs tor-geoipdb (/usr/share/tor/geoip*)")
class Explain(ExplainMixin, DaemonTestCase):
    """One daemon with the tor databases and the overrides."""

    @classmethod
    def setUpClass(cls):
        cls.CONF = control_conf(databases=(test_steer.GEOIP4,
                                           test_steer.GEOIP6))
        cls.ZONES = {"nets.txt": NETS}
        super().setUpClass()
        cls.daemon.wait_control()

    ask = ControlCase.ask
    assertAnswer = ControlCase.assertAnswer

    def test_name_through_an_alias(self):
        # --name follows CNAMEs and DNAMEs the way the server answers
        for asked, steered in (("login.steer.test", HOST),
                               ("LOGIN.steer.test.", HOST),
                               ("x.dn.steer.test", "x." + HOST)):
            with self.subTest(asked=asked):
                ex = self.d.explain(DUBLIN, name=asked)
                e = explain_service(ex, "teleport")
                self.assertEqual(e["name"].lower(), steered.lower(), e)
                self.assertEqual(e["asked"], asked, e)
                self.assertEqual(e["a"]["region"], EU, e)
                m = self.ask(asked, DUBLIN)
                self.assertEqual(norm(e["a"]["addresses"]), addrs_of(m), m)
                self.assertEqual({r.ttl for r in m.rrs("answer", "A")},
                                 {e["ttl"]}, m)
                code, out, err = self.d.ctl("explain", DUBLIN, "--name",
                                            asked, check=True)
                self.assertIn("answering for %s" % asked, out)
        # an alias of a name that is not steered, and a name in no zone
        for name in ("alias.steer.test", "www.steer.test", "nowhere.test"):
            with self.subTest(name=name):
                code, out, err = self.d.ctl("explain", DUBLIN, "--name",
                                            name)
                self.assertEqual(code, 1, out + err)
                self.assertIn("not a steered name", err)

    def test_overrides(self):
        for src, region, loc in (
                (DUBLIN, EU, {"lat": 53.3, "lon": -6.3}),
                (VIRGINIA, US, {"lat": 38.9, "lon": -77.4}),
                (MUMBAI, AP, {"lat": 19.1, "lon": 72.9}),
                (TO_EU, EU, {"region": EU}),
                (TO_JP, AP, {"country": "JP"})):
            with self.subTest(src=src):
                ex, e = self.check_explain(src, src=src, region=region,
                                           ttl=TTL)
                lo = ex["location"]
                self.assertEqual(lo["source"], "overrides", lo)
                self.assertEqual(os.path.basename(lo["file"]), "nets.txt",
                                 lo)
                # "line": N|null; if given, the right one
                if lo["line"] is not None:
                    self.assertEqual(lo["line"], NETS_LINE[src], lo)
                for k, v in loc.items():
                    if isinstance(v, float):
                        self.assertAlmostEqual(lo[k], v, places=3, msg=lo)
                    else:
                        self.assertEqual(lo[k], v, lo)
                self.assertEqual(e["mode"], "normal")
                self.assertEqual(e["order"][0]["region"], region, e)
                self.assertEqual(sorted(o["region"] for o in e["order"]),
                                 sorted([US, EU, AP]), e)
                for o in e["order"]:
                    self.assertEqual((o["state"], o["usable"]), ("up", True),
                                     o)
                # the other service, same client
                self.check_explain(src, API, "api", src=src, ttl=API_TTL)
        # distances from Dublin's coordinates
        ex, e = self.check_explain(DUBLIN, src=DUBLIN)
        for region in (US, EU, AP):
            want = km((53.3, -6.3), REGION_LATLON[region])
            got = self.order_entry(e, region)["distance_km"]
            self.assertAlmostEqual(got, want, delta=max(30, want * 0.02),
                                   msg="distance Dublin - %s" % region)
        self.assertEqual([o["region"] for o in e["order"]], [EU, US, AP])

    def test_database_hits(self):
        for cc, region, v6 in (("DE", EU, False), ("JP", AP, False),
                               ("US", US, False), ("BR", US, False),
                               ("GB", EU, True), ("IN", AP, True)):
            a = test_steer.sample(cc, v6)
            bits = 128 if v6 else 32
            with self.subTest(cc=cc, addr=str(a)):
                ex, e = self.check_explain(str(a), subnet="%s/%d" % (a, bits),
                                           region=region, ttl=TTL)
                lo = ex["location"]
                self.assertEqual(lo["source"], "database", lo)
                self.assertEqual(os.path.basename(lo["file"]),
                                 os.path.basename(test_steer.GEOIP6 if v6
                                                  else test_steer.GEOIP4),
                                 lo)
                self.assertEqual(lo["country"], cc, lo)
                self.assertTrue(0 < e["scope"] <= bits, e)
        # --name: a name under the wildcard host
        a = test_steer.sample("JP")
        self.check_explain(str(a), subnet="%s/32" % a, region=AP,
                           name="x.teleport.steer.test")

    def test_unknown_location(self):
        for addr, how in (("10.1.2.3", {"subnet": "10.1.2.3/32"}),
                          (UNPLACED, {"src": UNPLACED}),
                          ("fd00::1", {"subnet": "fd00::1/128"})):
            with self.subTest(addr=addr):
                ex, e = self.check_explain(addr, region=US, ttl=TTL, **how)
                lo = ex["location"]
                self.assertEqual(lo["source"], "none", lo)
                self.assertIsNone(lo["country"], lo)
                self.assertIsNone(lo["file"], lo)
                for o in e["order"]:
                    self.assertIsNone(o["distance_km"], o)

    def test_after_drain(self):
        # from Great Britain, with eu-west-1 drained, us-east-1 is nearer
        # than ap-south-1 (from Germany it is the other way round)
        gb = test_steer.sample("GB")
        self.check_explain(str(gb), subnet="%s/32" % gb, region=EU)
        self.drain(EU, "teleport", reason="explain")
        try:
            for addr, how in ((str(gb), {"subnet": "%s/32" % gb}),
                              (DUBLIN, {"src": DUBLIN})):
                with self.subTest(addr=addr):
                    ex, e = self.check_explain(addr, region=US, ttl=TTL,
                                               **how)
                    o = self.order_entry(e, EU)
                    self.assertEqual((o["state"], o["usable"]),
                                     ("drained", False), o)
                    self.assertEqual(e["mode"], "normal")
            # api keeps eu-west-1
            self.check_explain(str(gb), API, "api", subnet="%s/32" % gb,
                               region=EU)
        finally:
            self.undrain(EU, "teleport")
        self.check_explain(str(gb), subnet="%s/32" % gb, region=EU)

    drain = ControlCase.drain
    undrain = ControlCase.undrain


# ---- with health checks: a region down

try:
    import pingserver
    import testca
    HAVE_OPENSSL = testca.have_openssl()
except Exception:  # pragma: no cover
    HAVE_OPENSSL = False

H_ADDR = {US: "127.0.0.11", EU: "127.0.0.12", AP: "127.0.0.13"}
H_HOST = "teleport.health.test."
H_TTL, H_FAIL_OPEN_TTL = 30, 10
H_DOWN_WAIT, H_UP_WAIT = 4.0, 5.0


@unittest.skipUnless(HAVE_OPENSSL, "needs openssl (test certificates)")
class ExplainHealth(ExplainMixin, ControlCase):

    def setUp(self):
        self.ca = testca.TestCA()
        self.servers = {}
        try:
            cert = self.ca.leaf(pingserver.PUBLIC_NAME)
            port = pingserver.free_tcp_port(list(H_ADDR.values()))
            for region, a in H_ADDR.items():
                self.servers[region] = pingserver.PingServer(
                    a, port, *cert).start()
            with open(self.ca.ca_cert) as f:
                ca_text = f.read()
            url = "https://%s:%d/v1/webapi/ping" % (pingserver.PUBLIC_NAME,
                                                   port)
            svc = {
                "name": "teleport", "hosts": [H_HOST.rstrip(".")],
                "ttl": H_TTL,
                "check": {"url": url, "interval": 1, "timeout": 0.5,
                          "rise": 2, "fall": 2, "ca_file": "ca.pem",
                          "teleport": {"cluster_name":
                                       pingserver.CLUSTER_NAME}},
                "regions": [
                    {"name": r, "lat": REGION_LATLON[r][0],
                     "lon": REGION_LATLON[r][1], "addresses": [H_ADDR[r]]}
                    for r in (US, EU, AP)],
            }
            conf = {"zones": [{"origin": "health.test",
                               "file": "health.test.zone"}],
                    "geoip": {"overrides": "nets.txt"}, "services": [svc]}
            self.d = Daemon(conf=conf, zones={"nets.txt": NETS,
                                              "ca.pem": ca_text},
                            name=self.id().split(".")[-1])
            self.d.start()
            self.d.wait_control()
        except BaseException:
            self.stop_fleet()
            if getattr(self, "d", None):
                self.d.cleanup()
            raise

    def stop_fleet(self):
        for srv in self.servers.values():
            srv.stop()
        self.ca.cleanup()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.stop_fleet()

    def wait_states(self, want, timeout):
        last = []

        def ok():
            st = self.d.status()
            last[:] = [region_states(st, "teleport")]
            return last[0] == want
        try:
            wait_for(ok, timeout, 0.1, what="region states %s" % want)
        except AssertionError as e:
            raise AssertionError("%s; last %s" % (e, last)) from None

    def test_region_down(self):
        self.wait_states({US: "up", EU: "up", AP: "up"}, H_UP_WAIT)
        st = self.d.status()
        self.assertIs(status_service(st, "teleport")["checked"], True)
        a = status_region(st, "teleport", EU)["addresses"][0]
        self.assertEqual((a["address"], a["state"], a["probed"],
                          a["last_result"]), (H_ADDR[EU], "up", True, "pass"),
                         a)
        self.check_explain(DUBLIN, H_HOST, src=DUBLIN, region=EU, ttl=H_TTL)
        # eu-west-1 refuses: down
        self.servers[EU].stop()
        self.wait_states({US: "up", EU: "down", AP: "up"}, H_DOWN_WAIT)
        st = self.d.status()
        r = status_region(st, "teleport", EU)
        self.assertIs(r["usable"], False, r)
        a = r["addresses"][0]
        self.assertEqual((a["state"], a["last_result"]), ("down", "fail"), a)
        self.assertRegex(a["reason"] or "", r"(?i)refused", a)
        ex, e = self.check_explain(DUBLIN, H_HOST, src=DUBLIN, region=US,
                                   ttl=H_TTL)
        o = self.order_entry(e, EU)
        self.assertEqual((o["state"], o["usable"]), ("down", False), o)
        # a drain of us-east-1 leaves ap-south-1 ...
        self.drain(US, "teleport", reason="with eu down")
        self.check_explain(DUBLIN, H_HOST, src=DUBLIN, region=AP, ttl=H_TTL)
        # ... which is now the last usable region: refused
        code, out, err = self.drain(AP, "teleport", check=None)
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        self.assertEqual(region_state(self.d.status(), "teleport", AP), "up")
        self.undrain(US, "teleport")
        self.check_explain(DUBLIN, H_HOST, src=DUBLIN, region=US, ttl=H_TTL)
        # every region down: fail-open, nearest first, short TTL
        self.servers[US].stop()
        self.servers[AP].stop()
        wait_for(lambda: status_service(self.d.status(), "teleport")
                 ["state"] == "fail-open", H_DOWN_WAIT, 0.1,
                 what="service state fail-open")
        st = self.d.status()
        self.assertEqual(region_state(st, "teleport", EU), "fail-open")
        ex, e = self.check_explain(DUBLIN, H_HOST, src=DUBLIN, region=EU,
                                   ttl=H_FAIL_OPEN_TTL)
        self.assertEqual(e["mode"], "fail-open", e)
        self.check_explain(MUMBAI, H_HOST, src=MUMBAI, region=AP,
                           ttl=H_FAIL_OPEN_TTL)
        for srv in self.servers.values():
            srv.start()
        self.wait_states({US: "up", EU: "up", AP: "up"}, H_UP_WAIT + 1)
        self.check_explain(DUBLIN, H_HOST, src=DUBLIN, region=EU, ttl=H_TTL)

    def test_last_region_guard_when_failing_open(self):
        """Every region's checks fail: the service fails open, and the
        guard still keeps an operator from draining the last region it
        answers from (without --force)."""
        self.wait_states({US: "up", EU: "up", AP: "up"}, H_UP_WAIT)
        for srv in self.servers.values():
            srv.stop()
        wait_for(lambda: status_service(self.d.status(), "teleport")
                 ["state"] == "fail-open", H_DOWN_WAIT, 0.1,
                 what="service state fail-open")
        self.drain(EU, "teleport", reason="one")
        self.drain(US, reason="two")
        code, out, err = self.drain(AP, "teleport", check=None)
        self.assertEqual(code, 1, "drained the last region while failing "
                         "open: exit %d\n%s%s" % (code, out, err))
        self.assertIn("no region left", err)
        code, out, err = self.drain(AP, check=None)
        self.assertEqual(code, 1, "exit %d\n%s%s" % (code, out, err))
        st = self.d.status()
        self.assertEqual(region_state(st, "teleport", AP), "fail-open")
        self.assertEqual(status_service(st, "teleport")["state"],
                         "fail-open")
        m = self.ask(H_HOST, DUBLIN)
        self.assertEqual((m.status, addrs_of(m)), ("NOERROR", [H_ADDR[AP]]),
                         m)
        self.assertEqual({r.ttl for r in m.answer}, {H_FAIL_OPEN_TTL}, m)
        # draining a drained region again (a new reason) is no new risk
        self.drain(EU, "teleport", reason="still one")
        # --force does it, and then nothing answers
        self.drain(AP, "teleport", reason="forced", force=True)
        self.assertEqual(status_service(self.d.status(), "teleport")
                         ["state"], "all-drained")
        self.assertEqual(self.ask(H_HOST, DUBLIN).status, "SERVFAIL")
        for r in (US, EU, AP):
            self.undrain(r, "teleport")


def main():
    gstest.check_cli()
    gstest.main(tools=("dig", "kdig", "yaml"))


if __name__ == "__main__":
    main()
