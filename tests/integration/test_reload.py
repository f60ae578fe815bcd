#!/usr/bin/env python3
"""SIGHUP and `geosteer reload` (new data served; a broken zone or config
keeps the old set serving and is logged; no query dropped over 20 reloads
under continuous queries), clean exits on SIGTERM and SIGINT, and the
systemd notifications (READY=1, RELOADING=1 with MONOTONIC_USEC around
reloads, STOPPING=1, WATCHDOG=1 when WATCHDOG_USEC is set)."""

import os
import re
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import Daemon, wait_for  # noqa: E402

Z = "example.test."
ZONE = "example.test.zone"
RELOAD_WAIT = 5.0


class Reload(unittest.TestCase):
    """Each test gets a fresh daemon: reload tests change its files."""

    def setUp(self):
        self.d = Daemon(name=self.id().split(".")[-1])
        try:
            self.d.start()
        except BaseException:
            self.d.cleanup()
            raise
        self.base_zone = self.d.read_file(ZONE)

    def tearDown(self):
        try:
            self.d.stop_clean()
        finally:
            self.d.cleanup()

    def a_records(self, name, client="dig"):
        m = self.d.query(client, name, "A")
        return m.status, sorted(r.rdata for r in m.answer)

    def bump_serial(self, text, serial):
        out, n = re.subn(r"\b2024010101\b", str(serial), text, count=1)
        self.assertEqual(n, 1)
        return out

    def wait_log(self, pattern, what):
        return wait_for(lambda: re.search(pattern, self.d.log()), RELOAD_WAIT,
                        what=what)

    def test_sighup_serves_new_record(self):
        self.assertEqual(self.a_records("new." + Z)[0], "NXDOMAIN")
        self.d.write_file(ZONE, self.bump_serial(self.base_zone, 2024010102) +
                          "new\t\tA\t192.0.2.123\n")
        self.d.reload()
        wait_for(lambda: self.a_records("new." + Z) ==
                 ("NOERROR", ["192.0.2.123"]), RELOAD_WAIT,
                 what="new.example.test after SIGHUP")
        self.assertEqual(self.a_records("new." + Z, "kdig"),
                         ("NOERROR", ["192.0.2.123"]))
        self.assertEqual(self.a_records("new." + Z, "drill"),
                         ("NOERROR", ["192.0.2.123"]))
        self.assertEqual(self.a_records("www." + Z), ("NOERROR", ["192.0.2.1"]))
        m = self.d.dig(Z, "SOA")
        self.assertIn("2024010102", m.answer[0].rdata)

    def test_sighup_removed_record_gone(self):
        text = re.sub(r"(?m)^mail\t.*\n", "", self.base_zone)
        self.d.write_file(ZONE, self.bump_serial(text, 2024010103))
        self.d.reload()
        wait_for(lambda: self.a_records("mail." + Z)[0] == "NXDOMAIN",
                 RELOAD_WAIT, what="mail.example.test removed")
        self.assertEqual(self.a_records("www." + Z, "kdig"),
                         ("NOERROR", ["192.0.2.1"]))

    def test_sighup_broken_zone_keeps_old_data(self):
        lines = self.base_zone.splitlines()
        bad_line = len(lines) + 2
        broken = self.base_zone + "new\t\tA\t192.0.2.123\n" + \
            "broken\t\tA\t999.1.1.1\n"
        self.d.write_file(ZONE, broken)
        self.d.reload()
        self.wait_log(r"example\.test\.zone:%d\b" % bad_line,
                      "the zone error with file:line in the log")
        time.sleep(0.2)
        self.assertTrue(self.d.alive(), "daemon died on a broken zone")
        self.assertEqual(self.a_records("www." + Z), ("NOERROR", ["192.0.2.1"]))
        self.assertEqual(self.a_records("www." + Z, "kdig"),
                         ("NOERROR", ["192.0.2.1"]))
        # nothing of the broken file was taken
        self.assertEqual(self.a_records("new." + Z)[0], "NXDOMAIN")
        # fixing it and reloading again works
        self.d.write_file(ZONE, self.bump_serial(self.base_zone, 2024010104) +
                          "new\t\tA\t192.0.2.123\n")
        self.d.reload()
        wait_for(lambda: self.a_records("new." + Z) ==
                 ("NOERROR", ["192.0.2.123"]), RELOAD_WAIT,
                 what="new data after fixing the zone")

    def test_sighup_broken_config_keeps_old(self):
        conf = dict(self.d.conf)
        conf["frobnicate"] = 1
        conf["nsid"] = "changed.test"
        self.d.write_file(ZONE, self.bump_serial(self.base_zone, 2024010105) +
                          "new\t\tA\t192.0.2.123\n")
        self.d.write_config(conf)
        self.d.reload()
        self.wait_log(r"frobnicate", "the config error in the log")
        time.sleep(0.2)
        self.assertTrue(self.d.alive(), "daemon died on a broken config")
        # the whole old set keeps serving: old zone data, old nsid
        self.assertEqual(self.a_records("www." + Z), ("NOERROR", ["192.0.2.1"]))
        self.assertEqual(self.a_records("new." + Z)[0], "NXDOMAIN")
        m = self.d.dig("www." + Z, "+nsid")
        self.assertIn('"ns1.test"', m.option("NSID") or "", m)
        m = self.d.query("kdig", "id.server.", "TXT", extra=["-c", "CH"])
        self.assertEqual([r.rdata for r in m.answer], ['"ns1.test"'], m)

    def test_sighup_config_change_applied(self):
        conf = dict(self.d.conf)
        conf["nsid"] = "changed.test"
        conf["version"] = "v2"
        self.d.write_config(conf)
        self.d.reload()

        def nsid_changed():
            m = self.d.dig("www." + Z, "+nsid")
            return '"changed.test"' in (m.option("NSID") or "")
        wait_for(nsid_changed, RELOAD_WAIT, what="new nsid after SIGHUP")
        m = self.d.dig("version.bind.", "TXT", "-c", "CH")
        self.assertEqual([r.rdata for r in m.answer], ['"v2"'], m)

    def test_sighup_added_zone_served(self):
        conf = dict(self.d.conf)
        conf["zones"] = conf["zones"] + [{"origin": "added.test",
                                          "file": "added.test.zone"}]
        self.d.write_file("added.test.zone",
                          "$ORIGIN added.test.\n$TTL 300\n"
                          "@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
                          "@ NS ns1\nns1 A 192.0.2.251\n"
                          "www A 192.0.2.252\n")
        self.assertEqual(self.a_records("www.added.test.")[0], "REFUSED")
        self.d.write_config(conf)
        self.d.reload()
        wait_for(lambda: self.a_records("www.added.test.") ==
                 ("NOERROR", ["192.0.2.252"]), RELOAD_WAIT,
                 what="the added zone after SIGHUP")

    def test_reload_under_continuous_queries(self):
        """20 reloads, every other one through `geosteer reload` (which
        returns once the new set took), while dig keeps asking."""
        n_reloads = 20
        flip = ["192.0.2.201", "192.0.2.202"]
        zones = [self.bump_serial(self.base_zone, 2024010200 + i) +
                 "flip\t\tA\t%s\n" % flip[i % 2]
                 for i in range(n_reloads + 2)]
        self.d.write_file(ZONE, zones[0])
        self.d.reload()
        wait_for(lambda: self.a_records("flip." + Z) ==
                 ("NOERROR", [flip[0]]), RELOAD_WAIT, what="flip record")

        stop = threading.Event()
        results = {"sent": 0, "answered": 0, "bad": [], "errors": []}
        batch = []
        for i in range(10):
            batch += ["www." + Z, "A"] if i % 2 == 0 else ["mail." + Z, "A"]

        def load():
            deadline = time.monotonic() + 40.0  # hard bound
            while not stop.is_set() and time.monotonic() < deadline and \
                    results["sent"] < 5000:
                try:
                    msgs, errors, p = gstest.dig_all(self.d.port, *batch,
                                                     timeout=2)
                except AssertionError as e:
                    results["errors"].append(str(e))
                    results["sent"] += 10
                    continue
                results["sent"] += 10
                for m in msgs:
                    want = "192.0.2.1" if m.question[0][0] == "www." + Z \
                        else "192.0.2.25"
                    if m.status == "NOERROR" and \
                            [r.rdata for r in m.answer] == [want]:
                        results["answered"] += 1
                    else:
                        results["bad"].append(repr(m))
                if errors:
                    results["errors"] += [str(e) for e in errors]

        t = threading.Thread(target=load, daemon=True)
        t.start()
        try:
            for i, z in enumerate(zones[1:n_reloads + 1]):
                time.sleep(0.25)
                self.d.write_file(ZONE, z)
                if i % 2 == 0:
                    self.d.reload()
                else:
                    self.d.ctl("reload", check=True)
                    # the reply comes once the new zone is served
                    self.assertEqual(self.a_records("flip." + Z, "kdig"),
                                     ("NOERROR", [flip[(i + 1) % 2]]))
            time.sleep(0.5)
        finally:
            stop.set()
            t.join(45)
        self.assertFalse(t.is_alive(), "query thread did not finish")
        self.assertTrue(self.d.alive())
        self.assertGreaterEqual(results["sent"], 50,
                                "too few queries to mean anything")
        self.assertEqual(results["errors"], [], "queries without an answer")
        self.assertEqual(results["bad"], [], "wrong answers during reload")
        self.assertEqual(results["answered"], results["sent"],
                         "%d of %d queries unanswered" %
                         (results["sent"] - results["answered"],
                          results["sent"]))
        self.assertNotRegex(self.d.log(), r"reload: failed")
        # the last reload won
        wait_for(lambda: self.a_records("flip." + Z) ==
                 ("NOERROR", [flip[n_reloads % 2]]), RELOAD_WAIT,
                 what="the last zone version")
        print("  (%d queries during %d reloads, all answered)" %
              (results["sent"], n_reloads), end=" ")


class Notify:
    """A NOTIFY_SOCKET (datagrams) bound at path. Each message is read as
    {KEY: VALUE} from its lines."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.seen = []  # (monotonic time received, {KEY: VALUE})

    def env(self, **extra):
        e = dict(os.environ, NOTIFY_SOCKET=self.path)
        for k in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            e.pop(k, None)
        e.update(extra)
        return e

    def recv(self, timeout):
        """The next message, or None after timeout seconds."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        msg = {}
        for line in data.decode("utf-8", "replace").split("\n"):
            if line:
                k, _, v = line.partition("=")
                msg[k] = v
        self.seen.append((time.monotonic(), msg))
        return msg

    def until(self, key, value="1", timeout=gstest.START_TIMEOUT):
        """Messages received up to and including the first with KEY=value
        (WATCHDOG=1 pings left out, unless asked for). Fails at the
        deadline."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            msg = self.recv(deadline - time.monotonic())
            if msg is None:
                raise AssertionError("no %s=%s on NOTIFY_SOCKET within %.1fs "
                                     "(got %s)" % (key, value, timeout, got))
            if msg.get(key) == value:
                got.append(msg)
                return got
            if key == "WATCHDOG" or set(msg) != {"WATCHDOG"}:
                got.append(msg)

    def close(self):
        self.sock.close()


class Signals(unittest.TestCase):
    def run_and_stop(self, sig):
        with Daemon(name="signal-%s" % sig.name) as d:
            d.start()
            self.assertEqual(d.dig("www." + Z).status, "NOERROR")
            t0 = time.monotonic()
            rc = d.stop(sig)
            self.assertEqual(rc, 0, "exit status after %s: %s\n%s" %
                             (sig.name, rc, d.log_tail()))
            self.assertLess(time.monotonic() - t0, gstest.STOP_TIMEOUT)

    def test_sigterm_clean_exit(self):
        self.run_and_stop(signal.SIGTERM)

    def test_sigint_clean_exit(self):
        self.run_and_stop(signal.SIGINT)

    def test_sigterm_with_open_tcp_connection(self):
        with Daemon(name="sigterm-tcp") as d:
            d.start()
            s = gstest.tcp_connect(d.port)
            try:
                s.sendall(b"\x00")
                rc = d.stop(signal.SIGTERM)
                self.assertEqual(rc, 0, "exit status %s\n%s" %
                                 (rc, d.log_tail()))
            finally:
                s.close()


    def test_systemd_notify_ready_and_stopping(self):
        """Type=notify: READY=1 once it answers, STOPPING=1 on SIGTERM."""
        with Daemon(name="notify") as d:
            n = Notify(d.path("notify.sock"))
            try:
                d.env = n.env()
                d.start(wait=False)
                before = n.until("READY")
                self.assertFalse([m for m in before if "STOPPING" in m or
                                  "RELOADING" in m], before)
                # Ready means serving, over UDP and TCP, right away.
                self.assertEqual(d.query("dig", Z, "SOA").status, "NOERROR")
                self.assertEqual(d.query("kdig", Z, "SOA", tcp=True).status,
                                 "NOERROR")
                d.stop_clean()
                n.until("STOPPING", timeout=1.0)
            finally:
                n.close()

    def test_systemd_notify_reloading(self):
        """RELOADING=1 with MONOTONIC_USEC (the time of the reload, as
        systemd wants it), then READY=1, around a SIGHUP and around
        `geosteer reload`; a failed reload is followed by READY=1 too."""
        with Daemon(name="notify-reload") as d:
            n = Notify(d.path("notify.sock"))
            try:
                d.env = n.env()
                d.start(wait=False)
                n.until("READY")
                d.wait_ready()
                for how in ("SIGHUP", "geosteer reload", "broken config"):
                    with self.subTest(how=how):
                        if how == "broken config":
                            conf = dict(d.conf)
                            conf["frobnicate"] = 1
                            d.write_config(conf)
                        t0 = time.monotonic_ns() // 1000
                        if how == "SIGHUP":
                            d.reload()
                        else:
                            code, out, err = d.ctl("reload")
                            self.assertEqual(code, 0 if how ==
                                             "geosteer reload" else 1, err)
                        msgs = n.until("READY", timeout=RELOAD_WAIT)
                        t1 = time.monotonic_ns() // 1000
                        rel = [m for m in msgs if m.get("RELOADING") == "1"]
                        self.assertEqual(len(rel), 1, msgs)
                        self.assertLess(msgs.index(rel[0]), len(msgs) - 1,
                                        msgs)
                        usec = rel[0].get("MONOTONIC_USEC")
                        self.assertIsNotNone(usec, "RELOADING=1 without "
                                             "MONOTONIC_USEC: %s" % rel[0])
                        self.assertTrue(t0 <= int(usec) <= t1,
                                        "MONOTONIC_USEC=%s outside [%d, %d]"
                                        % (usec, t0, t1))
                        self.assertEqual(d.query("dig", "www." + Z,
                                                 "A").status, "NOERROR")
                d.stop_clean()
                n.until("STOPPING", timeout=1.0)
            finally:
                n.close()

    def test_systemd_watchdog(self):
        """WATCHDOG_USEC=200000: WATCHDOG=1 at least twice a second."""
        with Daemon(name="notify-watchdog") as d:
            n = Notify(d.path("notify.sock"))
            try:
                d.env = n.env(WATCHDOG_USEC="200000")
                d.start(wait=False)
                n.until("READY")
                t0 = time.monotonic()
                pings = 0
                while time.monotonic() - t0 < 1.0:
                    msg = n.recv(1.0 - (time.monotonic() - t0))
                    if msg is not None and msg.get("WATCHDOG") == "1":
                        pings += 1
                self.assertGreaterEqual(pings, 2, "WATCHDOG=1 pings in 1 s "
                                        "with WATCHDOG_USEC=200000")
                # and still during and after a reload
                d.reload()
                t0 = time.monotonic()
                pings = 0
                while time.monotonic() - t0 < 1.0:
                    msg = n.recv(1.0 - (time.monotonic() - t0))
                    if msg is not None and msg.get("WATCHDOG") == "1":
                        pings += 1
                self.assertGreaterEqual(pings, 2, "after a reload")
                d.stop_clean()
                n.until("STOPPING", timeout=1.0)
            finally:
                n.close()


if __name__ == "__main__":
    gstest.main()
