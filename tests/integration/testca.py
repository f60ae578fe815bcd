"""testca: a throwaway certificate authority for the integration tests.

Everything is made at test time with the openssl command line tool in a
temporary directory and removed afterwards; no key is ever committed.

    ca = TestCA()                          # ca.pem + ca.key in ca.dir
    cert, key = ca.leaf("teleport.health.test")
    cert, key = ca.self_signed("teleport.health.test")
    cert, key = ca.wrong_name()            # CA-signed, SAN for another name
    cert, key = ca.hostile_subject()       # no SAN, CN with controls
    ...
    ca.cleanup()

Keys are EC P-256 (fast to make). Leaves carry what strict verifiers
expect: a subjectAltName (DNS names and IP addresses), serverAuth,
digitalSignature, CA:FALSE, subject and authority key identifiers.

Run standalone to make a set of files for manual testing:

    python3 testca.py DIR [NAME]
"""

import os
import shutil
import subprocess
import sys
import tempfile
import ipaddress

OPENSSL = os.environ.get("GS_OPENSSL") or "openssl"
OPENSSL_TIMEOUT = 30.0
DAYS = 30
WRONG_NAME = "wrong.example.net"
# a subject name with a line break, a fake log line and terminal controls
HOSTILE_CN = "evil\ngeosteerd[err]: FAKE-cert\x1b[2J\u009b\u00e9"


class OpenSSLError(RuntimeError):
    pass


def have_openssl():
    return shutil.which(OPENSSL) is not None


def _openssl(args, cwd):
    cmd = [OPENSSL] + list(args)
    try:
        p = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace",
                           timeout=OPENSSL_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise OpenSSLError("openssl timed out after %.0fs: %s" %
                           (OPENSSL_TIMEOUT, " ".join(cmd))) from e
    if p.returncode != 0:
        raise OpenSSLError("openssl failed (status %d): %s\n%s%s" %
                           (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def _san(names):
    """subjectAltName value for host names and IP literals."""
    parts = []
    for n in names:
        try:
            ipaddress.ip_address(n)
            parts.append("IP:" + n)
        except ValueError:
            parts.append("DNS:" + n)
    return ",".join(parts)


class TestCA:
    """A CA in its own temporary directory (or in dir, which is then left
    in place by cleanup())."""

    def __init__(self, dir=None, cn="geosteer test CA"):
        self._own = dir is None
        self.dir = dir or tempfile.mkdtemp(prefix="gstest-ca-")
        os.makedirs(self.dir, exist_ok=True)
        self.ca_cert = os.path.join(self.dir, "ca.pem")
        self.ca_key = os.path.join(self.dir, "ca.key")
        self._serial = 1
        _openssl(["req", "-x509", "-new", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", self.ca_key, "-out", self.ca_cert,
                  "-days", str(DAYS), "-subj", "/O=geosteer tests/CN=%s" % cn,
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-addext", "subjectKeyIdentifier=hash"], self.dir)

    def path(self, fn):
        return os.path.join(self.dir, fn)

    def _base(self, stem):
        return self.path(stem + ".pem"), self.path(stem + ".key")

    def leaf(self, name, extra_names=(), stem=None):
        """A leaf signed by this CA for name (CN and SAN) and extra_names
        (more SANs; IP literals become IP SANs). Returns (cert, key)."""
        stem = stem or "leaf-" + name
        cert, key = self._base(stem)
        csr = self.path(stem + ".csr")
        ext = self.path(stem + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n"
                    "subjectAltName=%s\n" % _san([name] + list(extra_names)))
        _openssl(["req", "-new", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr,
                  "-subj", "/O=geosteer tests/CN=%s" % name], self.dir)
        self._serial += 1
        _openssl(["x509", "-req", "-in", csr, "-CA", self.ca_cert,
                  "-CAkey", self.ca_key, "-set_serial", str(self._serial),
                  "-days", str(DAYS), "-extfile", ext, "-out", cert],
                 self.dir)
        os.unlink(csr)
        os.unlink(ext)
        return cert, key

    def self_signed(self, name, stem=None):
        """A self-signed certificate for name (a proxy without configured
        certificates): right name, unknown issuer. Returns (cert, key)."""
        stem = stem or "selfsigned-" + name
        cert, key = self._base(stem)
        _openssl(["req", "-x509", "-new", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", cert, "-days", str(DAYS),
                  "-subj", "/O=self-signed/CN=%s" % name,
                  "-addext", "subjectAltName=%s" % _san([name]),
                  "-addext", "extendedKeyUsage=serverAuth"], self.dir)
        return cert, key

    def wrong_name(self, name=WRONG_NAME):
        """A leaf signed by this CA for another name (wrong SAN): right
        issuer, wrong name. Returns (cert, key)."""
        return self.leaf(name, stem="wrongname-" + name)

    def hostile_subject(self, cn=HOSTILE_CN, stem="hostile-subject"):
        """A leaf signed by this CA whose subject name is cn (UTF-8,
        control characters allowed) and that has no subjectAltName, so
        that a verifier compares the host name with cn and libcurl quotes
        cn in its error text. Returns (cert, key)."""
        cert, key = self._base(stem)
        csr = self.path(stem + ".csr")
        ext = self.path(stem + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
        _openssl(["req", "-new", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr, "-utf8",
                  "-subj", "/O=geosteer tests/CN=%s" % cn], self.dir)
        self._serial += 1
        _openssl(["x509", "-req", "-in", csr, "-CA", self.ca_cert,
                  "-CAkey", self.ca_key, "-set_serial", str(self._serial),
                  "-days", str(DAYS), "-extfile", ext, "-out", cert],
                 self.dir)
        os.unlink(csr)
        os.unlink(ext)
        return cert, key

    def cleanup(self):
        if self._own and os.environ.get("GS_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print("usage: testca.py DIR [NAME]  (writes ca.pem, a leaf for NAME, "
              "a self-signed one and a wrong-name one)")
        return 2
    name = argv[2] if len(argv) > 2 else "teleport.health.test"
    ca = TestCA(dir=argv[1])
    for what, (cert, key) in (("leaf", ca.leaf(name)),
                              ("self-signed", ca.self_signed(name)),
                              ("wrong name", ca.wrong_name())):
        print("%-11s %s %s" % (what, cert, key))
    print("ca          %s" % ca.ca_cert)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
