#!/usr/bin/env python3
"""geosteerd -V and geosteerd -c FILE --check: exit 0 for a good config and
zones, 1 with every error named (file, key path, line), 2 for bad usage."""

import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402

GOOD_ZONE = """$ORIGIN check.test.
$TTL 300
@	IN SOA	ns1 hostmaster 1 3600 600 86400 300
@	NS	ns1
ns1	A	192.0.2.1
www	A	192.0.2.2
"""

BASE_CONF = {
    "listen": ["127.0.0.1:5399", "[::1]:5399"],
    "workers": 1,
    "nsid": "ns1.test",
    "zones": [{"origin": "check.test", "file": "check.test.zone"}],
}


class Check(gstest.TempDirCase):
    PREFIX = "gstest-check-"

    def setUp(self):
        super().setUp()
        self.conf_path = os.path.join(self.dir, "geosteerd.conf")
        self.write("check.test.zone", GOOD_ZONE)

    def conf(self, **over):
        c = json.loads(json.dumps(BASE_CONF))
        for k, v in over.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def run_daemon(self, *args):
        p = gstest.run([gstest.geosteerd_path()] + list(args), timeout=20)
        return p.returncode, p.stdout + p.stderr

    def check(self, conf=None, raw=None):
        if raw is None:
            raw = json.dumps(conf if conf is not None else self.conf(),
                             indent=2) + "\n"
        with open(self.conf_path, "w") as f:
            f.write(raw)
        return self.run_daemon("-c", self.conf_path, "--check")

    def assertCheckFails(self, conf=None, raw=None, must=(), names_file=True):
        rc, out = self.check(conf, raw)
        self.assertEqual(rc, gstest.EX_CONFIG,
                         "exit status %s, output:\n%s" % (rc, out))
        if names_file:
            self.assertIn("geosteerd.conf", out, out)
        for s in must:
            if hasattr(s, "search"):
                self.assertRegex(out, s)
            else:
                self.assertIn(s, out)
        return out

    def zone_fails(self, text, must=()):
        self.write("check.test.zone", text)
        rc, out = self.check()
        self.assertEqual(rc, gstest.EX_CONFIG,
                         "exit status %s, output:\n%s" % (rc, out))
        self.assertIn("check.test.zone", out, out)
        for s in must:
            self.assertRegex(out, s)
        return out

    # -- -V -------------------------------------------------------------------

    def test_version(self):
        rc, out = self.run_daemon("-V")
        self.assertEqual(rc, 0, out)
        lines = [ln for ln in out.splitlines() if ln.strip()]
        self.assertRegex(lines[0], r"^geosteerd \d+\.\d+\.\d+")
        self.assertTrue([ln for ln in lines[1:] if re.search(r"(?i)feature",
                                                             ln)],
                        "no features line in:\n%s" % out)

    def test_version_matches_configure(self):
        ac = os.path.join(gstest.SRCDIR, "configure.ac")
        if not os.path.exists(ac):
            self.skipTest("no configure.ac at %s" % ac)
        with open(ac) as f:
            m = re.search(r"AC_INIT\(\[geosteer\],\s*\[([^\]]+)\]", f.read())
        rc, out = self.run_daemon("-V")
        self.assertIn("geosteerd %s" % m.group(1), out)

    # -- good ----------------------------------------------------------------

    def test_good_config(self):
        rc, out = self.check()
        self.assertEqual(rc, 0, out)

    def test_good_config_every_key(self):
        rc, out = self.check(self.conf(version="v", udp_payload=4096,
                                       tcp_idle_timeout=0.5,
                                       tcp_max_clients=65535, workers=0))
        self.assertEqual(rc, 0, out)

    def test_test_data_zones_pass(self):
        for fn in ("example.test.zone", "neg.test.zone"):
            shutil.copy(os.path.join(gstest.DATA, fn), self.dir)
        rc, out = self.check(self.conf(zones=[
            {"origin": "example.test", "file": "example.test.zone"},
            {"origin": "neg.test", "file": "neg.test.zone"}]))
        self.assertEqual(rc, 0, out)

    def test_demo_zone_passes(self):
        demo = os.path.join(gstest.SRCDIR, "zones", "example.org.zone")
        if not os.path.exists(demo):
            self.skipTest("%s not there yet" % demo)
        rc, out = self.check(self.conf(zones=[
            {"origin": "example.org", "file": demo}]))
        self.assertEqual(rc, 0, out)

    def test_relative_paths_from_config_dir(self):
        os.mkdir(os.path.join(self.dir, "sub"))
        os.rename(os.path.join(self.dir, "check.test.zone"),
                  os.path.join(self.dir, "sub", "check.test.zone"))
        cwd = os.getcwd()
        os.chdir("/")
        try:
            rc, out = self.check(self.conf(zones=[
                {"origin": "check.test", "file": "sub/check.test.zone"}]))
        finally:
            os.chdir(cwd)
        self.assertEqual(rc, 0, out)

    def test_missing_glue_is_a_warning(self):
        self.write("check.test.zone", GOOD_ZONE +
                   "sub\tNS\tns.sub\nsub\tNS\tns.elsewhere.example.org.\n")
        rc, out = self.check()
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?i)(glue|ns\.sub\.check\.test)",
                         "no warning about the missing glue")

    # -- config errors -------------------------------------------------------

    def test_unknown_key_in_zone(self):
        c = self.conf()
        c["zones"][0]["frobnicate"] = True
        self.assertCheckFails(c, must=["zones[0].frobnicate"])

    def test_unknown_top_level_key(self):
        c = self.conf()
        c["frobnicate"] = 1
        self.assertCheckFails(c, must=["frobnicate"])

    def test_wrong_type(self):
        for key, val in (("workers", "two"), ("nsid", 5), ("listen", "x"),
                         ("zones", {}), ("udp_payload", "big"),
                         ("tcp_idle_timeout", "1s"), ("version", ["a"])):
            with self.subTest(key=key):
                self.assertCheckFails(self.conf(**{key: val}), must=[key])
        c = self.conf()
        c["zones"][0]["origin"] = 42
        self.assertCheckFails(c, must=["zones[0].origin"])

    def test_out_of_range(self):
        for key, val in (("udp_payload", 100), ("udp_payload", 65000),
                         ("tcp_max_clients", 0), ("tcp_max_clients", 70000),
                         ("tcp_idle_timeout", 1000), ("tcp_idle_timeout", 0),
                         ("workers", -1)):
            with self.subTest(key=key, val=val):
                self.assertCheckFails(self.conf(**{key: val}), must=[key])

    def test_duplicate_zone(self):
        for dup in ("check.test", "CHECK.test.", "check.test."):
            with self.subTest(dup=dup):
                self.assertCheckFails(self.conf(zones=[
                    {"origin": "check.test", "file": "check.test.zone"},
                    {"origin": dup, "file": "check.test.zone"}]),
                    must=[re.compile(r"(?i)check\.test")])

    def test_unparsable_listen(self):
        for addr in ("127.0.0.1:notaport", "999.1.1.1:53", "[::1:53",
                     "127.0.0.1:70000", "", "localhost:53x"):
            with self.subTest(addr=addr):
                self.assertCheckFails(self.conf(listen=[addr]),
                                      must=["listen[0]"])
        self.assertCheckFails(self.conf(listen=["127.0.0.1:53", "[::1]:x"]),
                              must=["listen[1]"])

    def test_json_syntax_error_line_column(self):
        raw = '{\n  "workers": 2,\n  "nsid": "x"\n  "zones": []\n}\n'
        out = self.assertCheckFails(raw=raw)
        self.assertRegex(out, r"geosteerd\.conf:4:\d+", out)
        raw = '{\n  "workers": 2,\n  "nsid": "x",\n}\n'
        out = self.assertCheckFails(raw=raw)
        self.assertRegex(out, r"geosteerd\.conf:[34]:\d+", out)

    def test_not_an_object(self):
        self.assertCheckFails(raw="[1, 2]\n")

    def test_missing_config_file(self):
        rc, out = self.run_daemon("-c", os.path.join(self.dir, "nope.conf"),
                                  "--check")
        self.assertEqual(rc, gstest.EX_CONFIG, out)
        self.assertIn("nope.conf", out)

    def test_missing_zone_file(self):
        out = self.assertCheckFails(self.conf(zones=[
            {"origin": "check.test", "file": "missing.zone"}]),
            names_file=False)
        self.assertIn("missing.zone", out)

    def test_several_errors_all_reported(self):
        c = self.conf(workers="two", udp_payload=1, frobnicate=1)
        c["zones"][0]["bogus"] = 1
        self.assertCheckFails(c, must=["workers", "udp_payload", "frobnicate",
                                       "zones[0].bogus"])

    # -- zone errors ---------------------------------------------------------

    def test_zone_syntax_error_file_line(self):
        text = GOOD_ZONE.replace("www\tA\t192.0.2.2\n",
                                 "www\tA\t999.1.1.1\n")
        line = text.splitlines().index("www\tA\t999.1.1.1") + 1
        self.zone_fails(text, [r"check\.test\.zone:%d\b" % line])
        text = GOOD_ZONE + "ok\tA\t192.0.2.9\nbad\tIN\tNOTATYPE\tfoo\n"
        self.zone_fails(text, [r"check\.test\.zone:%d\b" %
                               len(text.splitlines())])

    def test_zone_two_soas(self):
        self.zone_fails(GOOD_ZONE + "@\tIN SOA\tns1 h 2 3600 600 86400 300\n",
                        [r"(?i)soa"])

    def test_zone_no_soa(self):
        self.zone_fails("\n".join(ln for ln in GOOD_ZONE.splitlines()
                                  if "SOA" not in ln) + "\n", [r"(?i)soa"])

    def test_zone_no_ns_at_apex(self):
        self.zone_fails("\n".join(ln for ln in GOOD_ZONE.splitlines()
                                  if "\tNS\t" not in ln) + "\n", [r"(?i)\bNS\b"])

    def test_zone_cname_beside_other_data(self):
        self.zone_fails(GOOD_ZONE + "www\tCNAME\tns1\n", [r"(?i)cname"])
        self.zone_fails(GOOD_ZONE + "x\tCNAME\tns1\nx\tTXT\t\"t\"\n",
                        [r"(?i)cname"])

    def test_zone_data_outside_origin(self):
        text = GOOD_ZONE + "www.example.org.\tA\t192.0.2.3\n"
        self.zone_fails(text, [r"(?i)www\.example\.org|outside|out of zone|"
                               r"check\.test\.zone:%d\b" %
                               len(text.splitlines())])

    def test_zone_errors_in_two_zones_all_reported(self):
        self.write("b.test.zone", "$ORIGIN b.test.\n$TTL 300\n"
                   "@ NS ns1\nns1 A 192.0.2.1\n")  # no SOA
        self.write("check.test.zone", GOOD_ZONE + "www\tCNAME\tns1\n")
        rc, out = self.check(self.conf(zones=[
            {"origin": "check.test", "file": "check.test.zone"},
            {"origin": "b.test", "file": "b.test.zone"}]))
        self.assertEqual(rc, gstest.EX_CONFIG, out)
        self.assertIn("check.test.zone", out)
        self.assertIn("b.test.zone", out)

    def test_every_error_in_one_run(self):
        # One run names every error of every stage, each at its own key:
        # a bad value, a zone that does not load, a missing GeoIP file, a
        # steered host in no served zone, an unreadable ca_file (once, at
        # the service that wrote it, not at each region that inherits it).
        self.write("b.test.zone", "$ORIGIN b.test.\n$TTL 300\n"
                   "@ NS ns1\nns1 A 192.0.2.1\n")  # no SOA
        regions = [{"name": n, "lat": 0, "lon": i,
                    "addresses": ["127.0.0.%d" % (10 + i)]}
                   for i, n in enumerate(("one", "two", "three"))]
        c = self.conf(workers="two", zones=[
            {"origin": "check.test", "file": "check.test.zone"},
            {"origin": "b.test", "file": "b.test.zone"}],
            geoip={"databases": ["no-such-geoip"]},
            services=[{
                "name": "svc", "hosts": ["svc.check.test", "svc.nowhere.test",
                                         "x.b.test"],
                "check": {"url": "https://svc.check.test/",
                          "ca_file": "no-such-ca.pem"},
                "regions": regions}])
        out = self.assertCheckFails(c, must=[
            "workers", "b.test.zone", "no-such-geoip",
            "services[0].hosts[1]", "svc.nowhere.test",
            "services[0].check.ca_file", "no-such-ca.pem"])
        self.assertEqual(out.count("no-such-ca.pem"), 1, out)
        self.assertNotIn("regions[0].check.ca_file", out)
        # the host in the zone that did not load is not called outside
        # every zone: nothing can be said about it
        self.assertNotIn("x.b.test", out)

    def test_region_names(self):
        def svc(*names):
            return [{"name": "svc", "hosts": ["svc.check.test"],
                     "regions": [{"name": n, "lat": 0, "lon": 0,
                                  "addresses": ["127.0.0.%d" % (10 + i)]}
                                 for i, n in enumerate(names)]}]
        for names, key, what in (
                (("eu-west-1", "EU-West-1"), "regions[1].name",
                 "only in case"),
                (("eu", "us-east-1"), "regions[0].name", "country code"),
                (("us-east-1", "De"), "regions[1].name", "country code")):
            with self.subTest(names=names):
                self.assertCheckFails(self.conf(services=svc(*names)),
                                      must=["services[0]." + key, what])
        # across services too: a drain without --service and the
        # overrides reach every service's region of a name
        two = svc("eu-west-1") + [{"name": "api", "hosts": ["api.check.test"],
                                   "regions": [{"name": "EU-WEST-1", "lat": 0,
                                                "lon": 0, "addresses":
                                                ["127.0.0.20"]}]}]
        self.assertCheckFails(self.conf(services=two),
                              must=["services[1].regions[0].name",
                                    "only in case"])
        # the same name in two services is how a region is shared
        same = svc("eu-west-1") + [{"name": "api", "hosts": ["api.check.test"],
                                    "regions": [{"name": "eu-west-1", "lat": 0,
                                                 "lon": 0, "addresses":
                                                 ["127.0.0.20"]}]}]
        rc, out = self.check(self.conf(services=same))
        self.assertEqual(rc, 0, out)

    def test_no_config_at_the_default_path(self):
        p = gstest.run([gstest.geosteerd_path(), "-h"], timeout=20)
        m = re.search(r"default (/\S+)\)", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        default = m.group(1)
        if os.path.exists(default):
            self.skipTest("%s exists on this machine" % default)
        for args in ((), ("--check",)):
            with self.subTest(args=args):
                rc, out = self.run_daemon(*args)
                self.assertEqual(rc, gstest.EX_CONFIG, out)
                lines = out.strip().splitlines()
                self.assertEqual(len(lines), 1, out)
                self.assertIn(default, lines[0])
                self.assertIn("-c", lines[0])

    def test_sample_config_passes_once_its_zone_is_in_place(self):
        # contrib/geosteer.conf.sample on a fresh system: the one step is
        # the zone file (geosteer.conf(5) says so); --check probes nothing
        with open(os.path.join(gstest.SRCDIR, "contrib",
                               "geosteer.conf.sample")) as f:
            sample = json.load(f)
        zone = sample["zones"][0]["file"]
        self.assertEqual(zone, "/etc/geosteer/example.org.zone")
        shutil.copy(os.path.join(gstest.SRCDIR, "zones", "example.org.zone"),
                    os.path.join(self.dir, "example.org.zone"))
        sample["zones"][0]["file"] = "example.org.zone"
        sample["state_file"] = "state/state.json"
        rc, out = self.check(sample)
        self.assertEqual(rc, 0, out)

    # -- usage ---------------------------------------------------------------

    def test_bad_usage_exits_2(self):
        for args in (["--frobnicate"], ["-Z"], ["-c"],
                     ["-l", "loud", "-c", self.conf_path, "--check"]):
            with self.subTest(args=args):
                rc, out = self.run_daemon(*args)
                self.assertEqual(rc, 2, out)
                self.assertTrue(out.strip(), "no usage message")

    def test_log_level_accepted(self):
        self.check()  # writes the config
        for lvl in ("err", "warn", "info", "debug"):
            for opt in ("-l", "--log-level"):
                rc, out = self.run_daemon(opt, lvl, "-c", self.conf_path,
                                          "--check")
                self.assertEqual(rc, 0, "%s %s: %s" % (opt, lvl, out))


if __name__ == "__main__":
    gstest.main(tools=())
