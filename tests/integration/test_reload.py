#!/usr/bin/env python3
"""SIGHUP reload (new data served; a broken zone or config keeps the old set
serving and is logged; no query dropped while reloading) and clean exits on
SIGTERM and SIGINT."""

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
        flip = ["192.0.2.201", "192.0.2.202"]
        zones = [self.bump_serial(self.base_zone, 2024010200 + i) +
                 "flip\t\tA\t%s\n" % flip[i % 2] for i in range(12)]
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
            deadline = time.monotonic() + 8.0  # hard bound
            while not stop.is_set() and time.monotonic() < deadline and \
                    results["sent"] < 400:
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
            for z in zones[1:11]:
                time.sleep(0.25)
                self.d.write_file(ZONE, z)
                self.d.reload()
            time.sleep(0.5)
        finally:
            stop.set()
            t.join(15)
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
        # the last reload won
        wait_for(lambda: self.a_records("flip." + Z) ==
                 ("NOERROR", [flip[10 % 2]]), RELOAD_WAIT,
                 what="the last zone version")
        print("  (%d queries during 10 reloads, all answered)" %
              results["sent"], end=" ")


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
            path = d.path("notify.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(path)
                sock.settimeout(gstest.START_TIMEOUT)
                d.env = dict(os.environ, NOTIFY_SOCKET=path)
                d.start(wait=False)
                self.assertEqual(sock.recv(256), b"READY=1")
                # Ready means serving, over UDP and TCP, right away.
                self.assertEqual(d.query("dig", Z, "SOA").status, "NOERROR")
                self.assertEqual(d.query("kdig", Z, "SOA", tcp=True).status,
                                 "NOERROR")
                d.stop_clean()
                self.assertEqual(sock.recv(256), b"STOPPING=1")
            finally:
                sock.close()


if __name__ == "__main__":
    gstest.main()
