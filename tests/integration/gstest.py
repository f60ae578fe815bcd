"""gstest: shared harness for the geosteerd integration tests.

Starts the real geosteerd on loopback ports from a templated config in a
fresh temporary directory, talks to it with real DNS clients (dig, kdig,
drill) and, for what those cannot express, with a raw socket, and stops it
by PID. Every wait is bounded and every subprocess has a timeout.

Environment:
  GEOSTEERD         the daemon binary (set by make check)
  GEOSTEER          the CLI binary (set by make check)
  GS_BUILDDIR       fallback: $GS_BUILDDIR/geosteerd, $GS_BUILDDIR/geosteer
  GS_SRCDIR         the source tree (for zones/ and the like)
  GS_REQUIRE_TOOLS  1: a missing dig/kdig/drill/yaml fails instead of SKIP
  GS_KEEP           1: keep the temporary directories (for debugging)

Exit codes of the test scripts (automake): 0 pass, 1 fail, 77 skip.
"""

import atexit
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
SRCDIR = os.environ.get("GS_SRCDIR") or os.path.normpath(
    os.path.join(HERE, "..", ".."))

SKIP = 77
EX_CONFIG = 78  # geosteerd: the config or the state file is wrong

# Bounds for every wait in the suite (seconds).
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
CLIENT_TIMEOUT = 2  # per-query timeout handed to dig/kdig
PROC_TIMEOUT = 20.0  # upper bound for any client subprocess
CTL_TIMEOUT = 10.0  # upper bound for one geosteer (CLI) command

# control socket and state file defaults (src/control/ctl_proto.h)
CTL_DEFAULT_SOCKET = "/run/geosteer/control.sock"
CTL_DEFAULT_STATE = "/var/lib/geosteer/state.json"
NOBODY_UID = 65534
NOBODY_GID = 65534


# --------------------------------------------------------------------------
# tools and the daemon binary


def _program_path(env, name):
    """$env, else $GS_BUILDDIR/name, else name at the top of the tree."""
    path = os.environ.get(env)
    if path:
        return path
    builddir = os.environ.get("GS_BUILDDIR")
    if builddir:
        return os.path.join(builddir, name)
    return os.path.normpath(os.path.join(HERE, "..", "..", name))


def geosteerd_path():
    return _program_path("GEOSTEERD", "geosteerd")


def geosteer_path():
    """The CLI."""
    return _program_path("GEOSTEER", "geosteer")


def check_cli():
    path = geosteer_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        print("FAIL: geosteer (the CLI) not found or not executable: %s" %
              path)
        sys.exit(1)


def _have_yaml():
    try:
        import yaml  # noqa: F401
        return True
    except ImportError:
        return False


def check_tools(tools):
    """Exits 77 (or 1 under GS_REQUIRE_TOOLS=1) if a tool is missing."""
    missing = []
    for tool in tools:
        if tool == "yaml":
            if not _have_yaml():
                missing.append("python3-yaml")
        elif shutil.which(tool) is None:
            missing.append(tool)
    if not missing:
        return
    msg = "missing tools: %s" % ", ".join(missing)
    if os.environ.get("GS_REQUIRE_TOOLS") == "1":
        print("FAIL: %s (GS_REQUIRE_TOOLS=1)" % msg)
        sys.exit(1)
    print("SKIP: %s" % msg)
    sys.exit(SKIP)


def check_daemon():
    path = geosteerd_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        print("FAIL: geosteerd not found or not executable: %s" % path)
        sys.exit(1)


def run(cmd, timeout=PROC_TIMEOUT, **kw):
    """Runs cmd, returns CompletedProcess (text). A timeout is a failure."""
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=timeout,
                              **kw)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("command timed out after %.1fs: %s" %
                             (timeout, " ".join(cmd))) from e


# --------------------------------------------------------------------------
# loopback ports


def _can_bind(family, host, port, kind):
    s = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        return s
    except OSError:
        s.close()
        return None


def _probe_ipv6():
    s = _can_bind(socket.AF_INET6, "::1", 0, socket.SOCK_DGRAM)
    if s is None:
        return False
    s.close()
    return True


HAVE_IPV6 = _probe_ipv6()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(tries=200):
    """A port free for UDP and TCP on 127.0.0.1 and (if present) ::1.

    Chosen below the ephemeral range: the daemon's UDP sockets use
    SO_REUSEPORT, and a client that picks its own random source port in
    the ephemeral range with SO_REUSEPORT set (dig does) could otherwise
    join the daemon's port group and be handed its own query."""
    high = min(_ephemeral_low(), 65536) - 1
    low = 10000 if high > 12000 else 1024
    for _ in range(tries):
        port = random.randint(low, high)
        first = _can_bind(socket.AF_INET, "127.0.0.1", port, socket.SOCK_DGRAM)
        if first is None:
            continue
        held = [first]
        ok = True
        wanted = [(socket.AF_INET, "127.0.0.1", socket.SOCK_STREAM)]
        if HAVE_IPV6:
            wanted += [(socket.AF_INET6, "::1", socket.SOCK_DGRAM),
                       (socket.AF_INET6, "::1", socket.SOCK_STREAM)]
        for fam, host, kind in wanted:
            s = _can_bind(fam, host, port, kind)
            if s is None:
                ok = False
                break
            held.append(s)
        for s in held:
            s.close()
        if ok:
            return port
    raise RuntimeError("no free loopback port found in %d tries" % tries)


# --------------------------------------------------------------------------
# DNS wire format (raw packets for what real clients cannot express)

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15,
    "TXT": 16, "AAAA": 28, "SRV": 33, "NAPTR": 35, "DNAME": 39, "OPT": 41,
    "DS": 43, "SSHFP": 44, "RRSIG": 46, "TLSA": 52, "SVCB": 64, "HTTPS": 65,
    "IXFR": 251, "AXFR": 252, "ANY": 255, "CAA": 257,
}
CLASS_IN, CLASS_CH, CLASS_HS = 1, 3, 4
RCODES = {
    "NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4,
    "REFUSED": 5, "YXDOMAIN": 6, "NOTAUTH": 9, "BADVERS": 16,
    "BADCOOKIE": 23,
}
RCODE_NAMES = {v: k for k, v in RCODES.items()}

# header flag bits
QR, AA, TC, RD, RA, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0020, 0x0010

# EDNS option codes
OPT_NSID, OPT_ECS, OPT_COOKIE = 3, 8, 10
EDNS_DO = 0x8000


def rtype(t):
    if isinstance(t, int):
        return t
    t = t.upper()
    if t.startswith("TYPE"):
        return int(t[4:])
    return TYPES[t]


def name_wire(name):
    name = name.rstrip(".")
    if not name:
        return b"\0"
    out = b""
    for label in name.split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError("bad label in %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def question(qname, qtype="A", qclass=CLASS_IN):
    return name_wire(qname) + struct.pack("!HH", rtype(qtype), qclass)


def edns_option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def opt_rr(udp=1232, version=0, flags=0, ext_rcode=0, options=b"",
           rdlen=None):
    """An OPT RR; options is already-encoded option bytes. rdlen overrides
    the RDLENGTH field (to build malformed records)."""
    ttl = (ext_rcode << 24) | (version << 16) | flags
    if rdlen is None:
        rdlen = len(options)
    return b"\0" + struct.pack("!HHIH", 41, udp, ttl, rdlen) + options


def header(qid, flags=RD, qd=1, an=0, ns=0, ar=0, opcode=0):
    flags = (flags & ~0x7800) | ((opcode & 0xF) << 11)
    return struct.pack("!6H", qid, flags, qd, an, ns, ar)


def make_query(qname, qtype="A", qclass=CLASS_IN, qid=None, flags=RD,
               opcode=0, edns=True, udp=1232, edns_flags=0, options=b""):
    """A well-formed query. edns=False: no OPT."""
    if qid is None:
        qid = random.randint(1, 0xFFFF)
    ar = 1 if edns else 0
    msg = header(qid, flags, 1, 0, 0, ar, opcode)
    msg += question(qname, qtype, qclass)
    if edns:
        msg += opt_rr(udp=udp, flags=edns_flags, options=options)
    return msg


def ecs_option(family, source, scope, addr_bytes):
    return edns_option(OPT_ECS, struct.pack("!HBB", family, source, scope) +
                       addr_bytes)


class WireError(Exception):
    pass


def _read_name(data, off, depth=0):
    labels = []
    jumped = False
    end = None
    hops = 0
    while True:
        if off >= len(data):
            raise WireError("name runs past the end")
        n = data[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(data):
                raise WireError("truncated pointer")
            ptr = ((n & 0x3F) << 8) | data[off + 1]
            if not jumped:
                end = off + 2
            jumped = True
            hops += 1
            if hops > 64 or ptr >= len(data):
                raise WireError("bad compression pointer")
            off = ptr
            continue
        if n & 0xC0:
            raise WireError("bad label type")
        off += 1
        if n == 0:
            break
        labels.append(data[off:off + n].decode("ascii", "replace"))
        off += n
    if not jumped:
        end = off
    return (".".join(labels) + ".") if labels else ".", end


class RR:
    def __init__(self, name, rtype_, rclass, ttl, rdata, offset):
        self.name, self.type, self.rclass = name, rtype_, rclass
        self.ttl, self.rdata, self.offset = ttl, rdata, offset

    def __repr__(self):
        return "RR(%s %d %d %d %s)" % (self.name, self.ttl, self.rclass,
                                       self.type, self.rdata.hex())


class Wire:
    """A parsed raw DNS message (responses from udp_exchange and friends)."""

    def __init__(self, data):
        if len(data) < 12:
            raise WireError("short message (%d bytes)" % len(data))
        self.data = data
        (self.id, self.flags, qd, an, ns, ar) = struct.unpack("!6H", data[:12])
        self.counts = (qd, an, ns, ar)
        self.opcode = (self.flags >> 11) & 0xF
        self.rcode = self.flags & 0xF
        off = 12
        self.question = []
        for _ in range(qd):
            name, off = _read_name(data, off)
            if off + 4 > len(data):
                raise WireError("truncated question")
            qt, qc = struct.unpack("!HH", data[off:off + 4])
            off += 4
            self.question.append((name, qt, qc))
        self.sections = []
        for count in (an, ns, ar):
            rrs = []
            for _ in range(count):
                start = off
                name, off = _read_name(data, off)
                if off + 10 > len(data):
                    raise WireError("truncated RR header")
                t, c, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
                off += 10
                if off + rdlen > len(data):
                    raise WireError("truncated rdata")
                rrs.append(RR(name, t, c, ttl, data[off:off + rdlen], start))
                off += rdlen
            self.sections.append(rrs)
        if off != len(data):
            raise WireError("%d trailing bytes" % (len(data) - off))
        self.answer, self.authority, self.additional = self.sections
        opts = [rr for rr in self.additional if rr.type == 41]
        self.opt_count = len(opts)
        self.opt = None
        if opts:
            o = opts[0]
            self.opt = {
                "udp": o.rclass,
                "ext_rcode": o.ttl >> 24,
                "version": (o.ttl >> 16) & 0xFF,
                "flags": o.ttl & 0xFFFF,
                "options": _parse_options(o.rdata),
            }
            self.rcode |= self.opt["ext_rcode"] << 4

    def has(self, flag):
        return bool(self.flags & flag)

    @property
    def rcode_name(self):
        return RCODE_NAMES.get(self.rcode, str(self.rcode))

    def option(self, code):
        """The data of the first EDNS option with this code, or None."""
        if not self.opt:
            return None
        for c, v in self.opt["options"]:
            if c == code:
                return v
        return None


def _parse_options(rdata):
    out = []
    off = 0
    while off < len(rdata):
        if off + 4 > len(rdata):
            raise WireError("truncated EDNS option header")
        code, length = struct.unpack("!HH", rdata[off:off + 4])
        off += 4
        if off + length > len(rdata):
            raise WireError("EDNS option overruns OPT")
        out.append((code, rdata[off:off + length]))
        off += length
    return out


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_exchange(port, data, host="127.0.0.1", timeout=2.0):
    """Sends one datagram, returns the first reply's bytes or None."""
    s = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(data, (host, port))
        try:
            reply, _ = s.recvfrom(65535)
            return reply
        except socket.timeout:
            return None
    finally:
        s.close()


def udp_query(port, data, host="127.0.0.1", timeout=2.0):
    """Like udp_exchange but parses the reply; fails if there is none."""
    reply = udp_exchange(port, data, host, timeout)
    if reply is None:
        raise AssertionError("no UDP reply from %s port %d within %.1fs" %
                             (host, port, timeout))
    return Wire(reply)


def tcp_connect(port, host="127.0.0.1", timeout=2.0):
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def tcp_frame(data):
    return struct.pack("!H", len(data)) + data


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_recv_msg(sock):
    """Reads one length-prefixed message; None on EOF. Uses the socket's
    timeout (socket.timeout propagates)."""
    hdr = _recv_exact(sock, 2)
    if hdr is None:
        return None
    (length,) = struct.unpack("!H", hdr)
    body = _recv_exact(sock, length)
    if body is None:
        return None
    return body


def tcp_query(port, data, host="127.0.0.1", timeout=2.0):
    s = tcp_connect(port, host, timeout)
    try:
        s.sendall(tcp_frame(data))
        reply = tcp_recv_msg(s)
        if reply is None:
            raise AssertionError("TCP connection closed without a reply")
        return Wire(reply)
    finally:
        s.close()


# --------------------------------------------------------------------------
# real clients: one parsed form for dig, kdig and drill


class NoAnswer(AssertionError):
    pass


class Record:
    """One RR as a client printed it."""

    def __init__(self, name, ttl, rclass, rtype_, rdata):
        self.name, self.ttl, self.rclass = name, ttl, rclass
        self.type, self.rdata = rtype_.upper(), rdata

    @classmethod
    def parse(cls, line):
        parts = line.split(None, 4)
        if len(parts) < 4:
            raise ValueError("cannot parse RR %r" % line)
        rdata = parts[4].strip() if len(parts) > 4 else ""
        return cls(parts[0], int(parts[1]), parts[2], parts[3], rdata)

    def __repr__(self):
        return "%s %d %s %s %s" % (self.name, self.ttl, self.rclass, self.type,
                                   self.rdata)

    def key(self):
        return (self.name.lower(), self.type)


class Msg:
    """A response as a real client reported it.

    status, opcode: strings ("NOERROR"); flags: set of lowercase strings;
    question: list of (name, class, type); answer/authority/additional:
    lists of Record (OPT excluded); edns: None (no OPT in the reply) or
    {"version": int, "flags": set, "udp": int, "options": {NAME: text}};
    size: reply size in bytes if the client printed it; proto: UDP/TCP.
    """

    def __init__(self, client):
        self.client = client
        self.status = self.opcode = None
        self.id = None
        self.flags = set()
        self.counts = {}
        self.question = []
        self.answer, self.authority, self.additional = [], [], []
        self.edns = None
        self.size = None
        self.proto = None
        self.text = ""

    def rrs(self, section="answer", rtype_=None, name=None):
        out = []
        for r in getattr(self, section):
            if rtype_ and r.type != rtype_.upper():
                continue
            if name and r.name.lower() != name.lower():
                continue
            out.append(r)
        return out

    def option(self, name):
        if not self.edns:
            return None
        return self.edns["options"].get(name)

    def __repr__(self):
        return "<%s %s %s flags=%s q=%s an=%s ns=%s ar=%s edns=%s>" % (
            self.client, self.opcode, self.status, sorted(self.flags),
            self.question, self.answer, self.authority, self.additional,
            self.edns)


def _yaml_docs(text):
    import yaml
    # dig prints "; Transfer failed." and similar comment lines between
    # documents (e.g. for AXFR); they are not YAML.
    lines = [ln for ln in text.splitlines() if not ln.startswith(";")]
    return [d for d in yaml.safe_load_all("\n".join(lines)) if d]


def _msg_from_dig(item, text):
    m = Msg("dig")
    m.text = text
    mm = item["message"]
    d = mm.get("response_message_data") or {}
    m.status = d.get("status")
    m.opcode = d.get("opcode")
    m.id = d.get("id")
    m.flags = set(str(d.get("flags") or "").split())
    # for opcode UPDATE dig names the sections ZONE, PREREQUISITE, UPDATE
    for k, alt in (("QUESTION", "ZONE"), ("ANSWER", "PREREQ"),
                   ("AUTHORITY", "UPDATE"), ("ADDITIONAL", "ADDITIONAL")):
        m.counts[k] = d.get(k, d.get(alt))
    for q in d.get("QUESTION_SECTION") or d.get("ZONE_SECTION") or []:
        parts = q.split()
        m.question.append((parts[0], parts[1], parts[2]))
    for sect, key, alt in (("answer", "ANSWER_SECTION", "PREREQUISITE_SECTION"),
                           ("authority", "AUTHORITY_SECTION", "UPDATE_SECTION"),
                           ("additional", "ADDITIONAL_SECTION", "-")):
        setattr(m, sect, [Record.parse(s)
                          for s in d.get(key) or d.get(alt) or []])
    opt = (d.get("OPT_PSEUDOSECTION") or {}).get("EDNS")
    if opt is not None:
        options = {}
        for k, v in opt.items():
            if k in ("version", "flags", "udp"):
                continue
            options[str(k)] = "" if v is None else str(v)
        m.edns = {"version": int(opt.get("version", 0)),
                  "flags": set(str(opt.get("flags") or "").split()),
                  "udp": int(opt.get("udp", 0)),
                  "options": options}
    size = mm.get("message_size")
    if size is not None:
        m.size = int(str(size).rstrip("b"))
    m.proto = mm.get("socket_protocol")
    return m


def dig_cmd(port, args, host="127.0.0.1", timeout=CLIENT_TIMEOUT, tries=1):
    return ["dig", "+yaml", "@" + host, "-p", str(port), "+tries=%d" % tries,
            "+timeout=%d" % timeout] + list(args)


def dig_all(port, *args, host="127.0.0.1", timeout=CLIENT_TIMEOUT, tries=1):
    """Runs dig +yaml; returns (list of Msg, list of error docs)."""
    cmd = dig_cmd(port, args, host, timeout, tries)
    p = run(cmd, timeout=PROC_TIMEOUT + timeout * tries * 4)
    try:
        docs = _yaml_docs(p.stdout)
    except Exception as e:
        raise AssertionError("cannot parse dig output of %s: %s\n%s" %
                             (" ".join(cmd), e, p.stdout)) from e
    msgs, errors = [], []
    for doc in docs:
        if not isinstance(doc, list):
            continue
        for item in doc:
            if item.get("type") == "MESSAGE":
                msgs.append(_msg_from_dig(item, p.stdout))
            else:
                errors.append(item)
    return msgs, errors, p


def dig(port, *args, host="127.0.0.1", timeout=CLIENT_TIMEOUT, tries=1):
    """Runs dig +yaml @host -p port args; returns the last response (Msg).
    Raises NoAnswer if dig got none."""
    msgs, errors, p = dig_all(port, *args, host=host, timeout=timeout,
                              tries=tries)
    if not msgs:
        raise NoAnswer("dig got no answer: %s\n%s%s" % (
            " ".join(dig_cmd(port, args, host, timeout, tries)), p.stdout,
            p.stderr))
    return msgs[-1]


def _parse_section_rrs(lines, i):
    rrs = []
    while i < len(lines) and lines[i].strip() and not lines[i].startswith(";"):
        rrs.append(Record.parse(lines[i]))
        i += 1
    return rrs, i


def kdig_cmd(port, args, host="127.0.0.1", timeout=CLIENT_TIMEOUT):
    return ["kdig", "@" + host, "-p", str(port), "+retry=0",
            "+timeout=%d" % timeout] + list(args)


def kdig_text(port, *args, host="127.0.0.1", timeout=CLIENT_TIMEOUT):
    """Runs kdig; returns its stdout (and stderr appended)."""
    p = run(kdig_cmd(port, args, host, timeout))
    return p.stdout + p.stderr


def parse_kdig(text):
    """Parses kdig's text output into a list of Msg (one per response)."""
    out = []
    blocks = re.split(r"(?m)^(?=;; ->>HEADER<<-)", text)
    for block in blocks:
        if not block.startswith(";; ->>HEADER<<-"):
            continue
        m = Msg("kdig")
        m.text = block
        lines = block.splitlines()
        h = re.match(r";; ->>HEADER<<- opcode: (\w+); status: (\w+); id: (\d+)",
                     lines[0])
        m.opcode, m.status, m.id = h.group(1), h.group(2), int(h.group(3))
        i = 1
        while i < len(lines):
            ln = lines[i]
            f = re.match(r";; Flags: ([^;]*); QUERY: (\d+); ANSWER: (\d+); "
                         r"AUTHORITY: (\d+); ADDITIONAL: (\d+)", ln)
            if f:
                m.flags = set(f.group(1).split())
                m.counts = dict(zip(("QUESTION", "ANSWER", "AUTHORITY",
                                     "ADDITIONAL"),
                                    map(int, f.group(2, 3, 4, 5))))
            elif ln.startswith(";; EDNS PSEUDOSECTION:"):
                v = re.match(r";; Version: (\d+); flags: ([^;]*); UDP size: "
                             r"(\d+) B; ext-rcode: (\w+)", lines[i + 1])
                m.edns = {"version": int(v.group(1)),
                          "flags": set(v.group(2).split()),
                          "udp": int(v.group(3)), "options": {}}
                i += 2
                while i < len(lines) and lines[i].startswith(";; "):
                    k, _, val = lines[i][3:].partition(":")
                    m.edns["options"][k.strip()] = val.strip()
                    i += 1
                continue
            elif ln.startswith(";; QUESTION SECTION:"):
                i += 1
                while i < len(lines) and lines[i].startswith(";; ") and \
                        lines[i].strip() != ";;":
                    parts = lines[i][3:].split()
                    m.question.append((parts[0], parts[1], parts[2]))
                    i += 1
                continue
            else:
                s = re.match(r";; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:", ln)
                if s:
                    rrs, i = _parse_section_rrs(lines, i + 1)
                    setattr(m, s.group(1).lower(), rrs)
                    continue
                r = re.match(r";; Received (\d+) B", ln)
                if r:
                    m.size = int(r.group(1))
                r = re.match(r";; From .*\((UDP|TCP)\)", ln)
                if r:
                    m.proto = r.group(1)
            i += 1
        # kdig prints the OPT-derived extended rcode in the status already
        out.append(m)
    return out


def kdig(port, *args, host="127.0.0.1", timeout=CLIENT_TIMEOUT):
    """Runs kdig; returns the last response as Msg (raises NoAnswer)."""
    text = kdig_text(port, *args, host=host, timeout=timeout)
    msgs = parse_kdig(text)
    if not msgs:
        raise NoAnswer("kdig got no answer: %s\n%s" % (
            " ".join(kdig_cmd(port, args, host, timeout)), text))
    return msgs[-1]


def drill_cmd(port, args, host="127.0.0.1"):
    return ["drill", "-p", str(port)] + list(args) + ["@" + host]


def drill_text(port, *args, host="127.0.0.1", timeout=10.0):
    """Runs drill; returns its stdout (and stderr appended)."""
    p = run(drill_cmd(port, args, host), timeout=timeout)
    return p.stdout + p.stderr


def parse_drill(text):
    m = Msg("drill")
    m.text = text
    lines = text.splitlines()
    i = 0
    found = False
    while i < len(lines):
        ln = lines[i]
        h = re.match(r";; ->>HEADER<<- opcode: (\w+), rcode: (\w+), id: (\d+)",
                     ln)
        if h:
            found = True
            m.opcode, m.status, m.id = h.group(1), h.group(2), int(h.group(3))
        f = re.match(r";; flags: ([^;]*); QUERY: (\d+), ANSWER: (\d+), "
                     r"AUTHORITY: (\d+), ADDITIONAL: (\d+)", ln)
        if f:
            m.flags = set(f.group(1).split())
            m.counts = dict(zip(("QUESTION", "ANSWER", "AUTHORITY",
                                 "ADDITIONAL"), map(int, f.group(2, 3, 4, 5))))
        if ln.startswith(";; QUESTION SECTION:"):
            i += 1
            while i < len(lines) and lines[i].startswith(";; ") and \
                    "SECTION" not in lines[i]:
                parts = lines[i][3:].split()
                if len(parts) >= 3:
                    m.question.append((parts[0], parts[1], parts[2]))
                i += 1
            continue
        s = re.match(r";; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:", ln)
        if s:
            rrs, i = _parse_section_rrs(lines, i + 1)
            setattr(m, s.group(1).lower(), rrs)
            continue
        e = re.match(r";; EDNS: version (\d+); flags:([^;]*); udp: (\d+)", ln)
        if e:
            m.edns = {"version": int(e.group(1)),
                      "flags": set(e.group(2).split()),
                      "udp": int(e.group(3)), "options": {}}
        r = re.match(r";; MSG SIZE\s+rcvd: (\d+)", ln)
        if r:
            m.size = int(r.group(1))
        i += 1
    if not found:
        raise NoAnswer("drill got no answer: %s" % text)
    return m


def drill(port, *args, host="127.0.0.1", timeout=10.0):
    """Runs drill; returns the response as Msg (raises NoAnswer)."""
    return parse_drill(drill_text(port, *args, host=host, timeout=timeout))


def query(client, port, qname, qtype="A", host="127.0.0.1", tcp=False,
          extra=()):
    """One query with the named real client ("dig", "kdig", "drill").
    Fails if the response's question is not the one meant (a guard against
    client argument quirks)."""
    if client == "dig":
        args = [qname, qtype] + (["+tcp"] if tcp else []) + list(extra)
        m = dig(port, *args, host=host)
    elif client == "kdig":
        args = ["-t", qtype, qname] + (["+tcp"] if tcp else []) + list(extra)
        m = kdig(port, *args, host=host)
    elif client == "drill":
        args = (["-t"] if tcp else []) + list(extra) + [qname, qtype]
        m = drill(port, *args, host=host)
    else:
        raise ValueError(client)
    if m.question:
        got = (m.question[0][0].lower().rstrip("."), m.question[0][2].upper())
        want = (qname.lower().rstrip("."), qtype.upper())
        if got != want:
            raise AssertionError("%s sent %s, not %s (test bug?)" %
                                 (client, got, want))
    return m


CLIENTS = ("dig", "kdig", "drill")


def hosts():
    """Loopback addresses the daemon listens on."""
    return ["127.0.0.1", "::1"] if HAVE_IPV6 else ["127.0.0.1"]


def norm_rdata(rtype_, text):
    """Normalizes client differences in presentation: case, spacing, hex
    split into chunks, quotes around SvcParam values."""
    t = " ".join(text.split())
    rtype_ = rtype_.upper()
    if rtype_ in ("SSHFP", "TLSA", "DS"):
        parts = t.split(" ")
        fixed = {"SSHFP": 2, "TLSA": 3, "DS": 3}[rtype_]
        t = " ".join(parts[:fixed] + ["".join(parts[fixed:])])
        return t.lower()
    if rtype_ in ("SVCB", "HTTPS"):
        return t.replace('"', "").lower()
    if rtype_.startswith("TYPE") or t.startswith("\\#"):
        parts = t.split(" ")
        return " ".join(parts[:2] + ["".join(parts[2:])]).lower()
    if rtype_ in ("TXT", "CAA", "NAPTR"):
        return t  # case matters inside strings
    return t.lower()


# --------------------------------------------------------------------------
# the daemon

_live = []


def _cleanup_all():
    for d in list(_live):
        try:
            d.cleanup()
        except Exception as e:  # pragma: no cover - best effort at exit
            print("gstest: cleanup failed: %s" % e, file=sys.stderr)


atexit.register(_cleanup_all)


class DaemonError(AssertionError):
    pass


def load_template(name="geosteerd.conf.in"):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def probed_addresses(conf):
    """The addresses geosteerd would send health probes to with conf:
    of every region with a check (its own or its service's), its
    check_addresses, else its addresses."""
    out = []
    for svc in conf.get("services") or []:
        if not isinstance(svc, dict):
            continue
        for reg in svc.get("regions") or []:
            if not isinstance(reg, dict):
                continue
            if "check" not in svc and "check" not in reg:
                continue
            out += list(reg.get("check_addresses") or
                        reg.get("addresses") or [])
    return out


def assert_probes_loopback(conf):
    """Tests send traffic to loopback only: a config whose health checks
    would probe anything else is a test bug, caught before it runs."""
    import ipaddress
    for a in probed_addresses(conf):
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            continue  # not an address: geosteerd rejects the config
        if not ip.is_loopback:
            raise AssertionError("test config would probe %s, which is not "
                                 "a loopback address" % a)


class ServerProcess:
    """A server process a test runs in its own temporary directory (dir),
    its stdout and stderr in log_path, stopped by PID. Subclasses set dir,
    name and log_path, add themselves to _live, then call _popen(cmd)."""

    dir = None
    name = "server"
    log_path = None
    proc = None
    returncode = None
    _logf = None

    def _popen(self, cmd, env=None):
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=self._logf,
                                     cwd=self.dir, env=env)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends sig, waits (bounded), SIGKILLs if needed. Returns the exit
        status (negative: killed by that signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
                self.returncode = "killed (did not exit within %.0fs of %s)" \
                    % (timeout, signal.Signals(sig).name)
                self._close_log()
                return self.returncode
        self.returncode = self.proc.returncode
        self._close_log()
        return self.returncode

    def _close_log(self):
        if self._logf:
            self._logf.close()
            self._logf = None

    def cleanup(self):
        try:
            self.stop()
        finally:
            if self in _live:
                _live.remove(self)
            if os.environ.get("GS_KEEP") == "1":
                print("gstest: kept %s" % self.dir, file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


class Daemon(ServerProcess):
    """One geosteerd process in its own temporary directory.

    conf: dict of top-level keys merged over the template (a value of None
    removes the key). zones: {filename: text} written besides the data/
    zone files (which are always copied). The config is written to
    DIR/geosteerd.conf.

    The template gives every daemon its own control socket and state file
    under DIR (run/control.sock, state/state.json); ctl() runs the CLI
    against that socket. wrapper: None, or a function that takes the
    daemon's command line and returns the one to run (it must end in an
    exec of geosteerd, so that the PID tracked is the daemon's).
    """

    def __init__(self, conf=None, zones=None, template="geosteerd.conf.in",
                 log_level=None, name="geosteerd"):
        self.dir = tempfile.mkdtemp(prefix="gstest-")
        self.name = name
        self.proc = None
        self.returncode = None
        self.env = None  # environment for the daemon (None: inherit)
        self.wrapper = None  # see the class comment
        self.log_level = log_level
        self.conf_path = os.path.join(self.dir, "geosteerd.conf")
        self.log_path = os.path.join(self.dir, "geosteerd.log")
        self._logf = None
        _live.append(self)
        for fn in os.listdir(DATA):
            if fn.endswith(".zone"):
                shutil.copy(os.path.join(DATA, fn), os.path.join(self.dir, fn))
        for fn, text in (zones or {}).items():
            self.write_file(fn, text)
        self.port = free_port()
        text = load_template(template).replace("@PORT@", str(self.port))
        self.conf = json.loads(text)
        if not HAVE_IPV6:
            self.conf["listen"] = [a for a in self.conf["listen"]
                                   if not a.startswith("[")]
        for k, v in (conf or {}).items():
            if v is None:
                self.conf.pop(k, None)
            else:
                self.conf[k] = v
        self.write_config()

    # files
    def path(self, fn):
        return os.path.join(self.dir, fn)

    def write_file(self, fn, text):
        tmp = self.path(fn + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path(fn))

    def read_file(self, fn):
        with open(self.path(fn)) as f:
            return f.read()

    def write_config(self, conf=None, raw=None):
        if conf is not None:
            self.conf = conf
        if raw is None:
            assert_probes_loopback(self.conf)
        self.write_file("geosteerd.conf",
                        raw if raw is not None else
                        json.dumps(self.conf, indent=2) + "\n")

    # process
    def command(self):
        cmd = [geosteerd_path(), "-c", self.conf_path]
        if self.log_level:
            cmd += ["-l", self.log_level]
        return cmd

    def start(self, wait=True):
        if self.proc is not None:
            raise DaemonError("already started")
        cmd = self.command()
        if self.wrapper is not None:
            cmd = self.wrapper(cmd)
        self._popen(cmd, env=self.env)
        if wait:
            self.wait_ready()
        return self

    def first_origin(self):
        return self.conf["zones"][0]["origin"]

    def _tcp_answers(self, host, q):
        try:
            s = tcp_connect(self.port, host, timeout=0.5)
        except OSError:
            return False
        try:
            s.sendall(tcp_frame(q))
            reply = tcp_recv_msg(s)
            return reply is not None and reply[:2] == q[:2]
        except OSError:
            return False
        finally:
            s.close()

    def wait_ready(self, timeout=START_TIMEOUT):
        """Polls an SOA query on every listen address, over UDP and then
        TCP, until each answers. Fails with the daemon's stderr if it exits
        or does not answer."""
        deadline = time.monotonic() + timeout
        pending = [(h, "udp") for h in hosts()] + \
            [(h, "tcp") for h in hosts()]
        origin = self.first_origin()
        while pending:
            if self.proc.poll() is not None:
                raise DaemonError("geosteerd exited early with status %s:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise DaemonError("geosteerd not answering on %s port %d "
                                  "after %.0fs:\n%s" % (pending, self.port,
                                                        timeout,
                                                        self.log_tail()))
            host, proto = pending[0]
            q = make_query(origin, "SOA", edns=False)
            if proto == "udp":
                reply = udp_exchange(self.port, q, host, timeout=0.2)
                ok = reply is not None and reply[:2] == q[:2]
            else:
                ok = self._tcp_answers(host, q)
            if ok:
                pending.pop(0)
            else:
                time.sleep(0.05)

    def send_signal(self, sig):
        if not self.alive():
            raise DaemonError("geosteerd is not running (status %s):\n%s" %
                              (self.proc and self.proc.returncode,
                               self.log_tail()))
        os.kill(self.proc.pid, sig)

    def reload(self):
        self.send_signal(signal.SIGHUP)

    def stop_clean(self, sig=signal.SIGTERM):
        """Stops with sig and fails unless the exit status is 0."""
        rc = self.stop(sig)
        if rc != 0:
            what = rc
            if isinstance(rc, int) and rc < 0:
                what = "%d (killed by %s: no handler for it at that moment)" \
                    % (rc, signal.Signals(-rc).name)
            raise DaemonError("geosteerd exit status after %s: %s\n%s" %
                              (signal.Signals(sig).name, what,
                               crash_excerpt(self.log())))

    def kill9(self):
        """SIGKILL, and waits (bounded) for the process to be gone."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(STOP_TIMEOUT)
        self.returncode = self.proc.returncode
        self._close_log()
        return self.returncode

    def forget(self):
        """After a stop: lets start() run a new process in the same
        directory (same config, socket, state file and log)."""
        if self.alive():
            raise DaemonError("forget() of a running daemon")
        self._close_log()
        self.proc = None

    def restart(self, wait=True):
        """A clean stop (exit status 0 required), then a new start."""
        self.stop_clean()
        self.forget()
        return self.start(wait=wait)

    def wait_exit(self, timeout=START_TIMEOUT):
        """Waits (bounded) for the process to exit by itself; returns its
        exit status, or None if it is still running at the deadline."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    # clients bound to this daemon; each fails at once if it is not running
    # (instead of waiting for a timeout per query)
    def require_alive(self):
        if not self.alive():
            raise DaemonError("geosteerd is not running (exit status %s):\n%s"
                              % (self.proc and self.proc.returncode,
                                 crash_excerpt(self.log(), 12)))

    def dig(self, *args, **kw):
        self.require_alive()
        return dig(self.port, *args, **kw)

    def kdig(self, *args, **kw):
        self.require_alive()
        return kdig(self.port, *args, **kw)

    def drill(self, *args, **kw):
        self.require_alive()
        return drill(self.port, *args, **kw)

    def query(self, client, qname, qtype="A", **kw):
        self.require_alive()
        return query(client, self.port, qname, qtype, **kw)

    def udp(self, data, host="127.0.0.1", timeout=2.0):
        self.require_alive()
        return udp_query(self.port, data, host, timeout)

    def udp_raw(self, data, host="127.0.0.1", timeout=2.0):
        self.require_alive()
        return udp_exchange(self.port, data, host, timeout)

    def tcp(self, data, host="127.0.0.1", timeout=2.0):
        self.require_alive()
        return tcp_query(self.port, data, host, timeout)

    # control socket, state file, the CLI
    def _conf_path_of(self, key, default):
        v = self.conf.get(key, default)
        return v if os.path.isabs(v) else os.path.join(self.dir, v)

    @property
    def socket_path(self):
        """The control socket (control_socket, relative to DIR)."""
        return self._conf_path_of("control_socket", CTL_DEFAULT_SOCKET)

    @property
    def state_path(self):
        """The admin state file (state_file, relative to DIR)."""
        return self._conf_path_of("state_file", CTL_DEFAULT_STATE)

    def read_state(self, path=None):
        """The parsed state file, or None if there is none. A file that is
        not JSON fails the test."""
        path = path or self.state_path
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        try:
            return json.loads(text)
        except ValueError as e:
            raise AssertionError("state file %s is not JSON (%s):\n%r" %
                                 (path, e, text[:2000])) from None

    def ctl(self, *args, user=None, groups=None, env=None, check=None,
            sock=True, timeout=CTL_TIMEOUT):
        """Runs `geosteer -s SOCKET ARGS...`; returns (returncode, stdout,
        stderr). sock: True for this daemon's socket, a path for another,
        None for no -s at all. user: None (as we are), or a user name or
        uid to run as (setpriv; the group is that user's, supplementary
        groups none, or groups: a list of gids). env: variables set (None:
        removed) over our environment. check: None, True (exit status 0
        required) or the exit status required. The command is bounded by
        timeout (a timeout fails the test)."""
        cmd = [geosteer_path()]
        if sock is True:
            cmd += ["-s", self.socket_path]
        elif sock is not None:
            cmd += ["-s", sock]
        cmd += [str(a) for a in args]
        cmd = as_user(cmd, user, groups)
        e = dict(os.environ)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        p = run(cmd, timeout=timeout, env=e)
        if check is not None:
            want = 0 if check is True else check
            if p.returncode != want:
                raise AssertionError(
                    "%s: exit status %d, expected %d\nstdout: %s\nstderr: %s"
                    "\n---- daemon log (tail) ----\n%s" %
                    (" ".join(cmd), p.returncode, want, p.stdout[-3000:],
                     p.stderr[-3000:], self.log_tail(15)))
        return p.returncode, p.stdout, p.stderr

    def _ctl_json(self, args):
        _, out, _ = self.ctl(*args, check=True)
        try:
            return json.loads(out)
        except ValueError as e:
            raise AssertionError("geosteer %s did not print JSON (%s):\n%s"
                                 % (" ".join(args), e, out[:3000])) from None

    def status(self):
        """The parsed `geosteer status --json` (must exit 0)."""
        return self._ctl_json(["status", "--json"])

    def explain(self, addr, name=None):
        """The parsed `geosteer explain ADDR [--name NAME] --json`."""
        args = ["explain", str(addr)]
        if name is not None:
            args += ["--name", name]
        return self._ctl_json(args + ["--json"])

    def wait_control(self, timeout=START_TIMEOUT):
        """Polls `geosteer status --json` until it answers (exit 0)."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self.require_alive()
            if os.path.exists(self.socket_path):
                rc, out, err = self.ctl("status", "--json")
                if rc == 0:
                    return json.loads(out)
                last = (rc, err)
            if time.monotonic() > deadline:
                raise DaemonError("control socket %s not answering after "
                                  "%.0fs (last: %s):\n%s" %
                                  (self.socket_path, timeout, last,
                                   self.log_tail()))
            time.sleep(0.05)


def as_user(cmd, user=None, groups=None):
    """cmd run as another user through setpriv (root only): user is a
    name or a uid; the real and effective gid become the user's group;
    supplementary groups: none, or the gids in groups."""
    if user is None:
        return list(cmd)
    import pwd
    pw = pwd.getpwnam(user) if isinstance(user, str) else pwd.getpwuid(user)
    out = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid]
    if groups:
        out.append("--groups=%s" % ",".join(str(g) for g in groups))
    else:
        out.append("--clear-groups")
    return out + list(cmd)


# ---- reading `geosteer status --json` and `explain --json` (ctl_proto.h)

def status_service(st, service):
    for s in st.get("services") or []:
        if s.get("name") == service:
            return s
    raise AssertionError("no service %r in the status: %s" %
                         (service, [s.get("name") for s in
                                    st.get("services") or []]))


def status_region(st, service, region):
    """The region object of service in a status result."""
    s = status_service(st, service)
    for r in s.get("regions") or []:
        if r.get("name") == region:
            return r
    raise AssertionError("no region %r in service %r of the status: %s" %
                         (region, service, [r.get("name") for r in
                                            s.get("regions") or []]))


def region_state(st, service, region):
    """"up", "down", "drained" or "fail-open"."""
    return status_region(st, service, region)["state"]


def region_addresses(st, service, region):
    """{address: state} of a region in a status result."""
    return {a["address"]: a["state"]
            for a in status_region(st, service, region)["addresses"]}


def region_states(st, service):
    """{region: state} of every region of a service."""
    return {r["name"]: r["state"] for r in status_service(st, service)
            ["regions"]}


def explain_service(ex, service):
    """The entry of service in an explain result."""
    for s in ex.get("services") or []:
        if s.get("service") == service:
            return s
    raise AssertionError("no service %r in the explain result: %s" %
                         (service, [s.get("service") for s in
                                    ex.get("services") or []]))


def wait_for(pred, timeout, interval=0.1, what="condition"):
    """Polls pred() until truthy (returned) or timeout (AssertionError)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except AssertionError as e:
            last_exc = e
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" %
                                 (timeout, what,
                                  (": %s" % last_exc) if last_exc else ""))
        time.sleep(interval)


def crash_excerpt(log, n=30):
    """The interesting part of a daemon log after a crash: from the first
    sanitizer/fatal error line, else the tail."""
    lines = log.splitlines()
    for i, ln in enumerate(lines):
        if re.search(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                     r"\[(err|crit)\]", ln):
            keep = [x for x in lines[i:] if not x.startswith("  0x") and
                    "Shadow" not in x]
            return "\n".join(keep[:n])
    return "\n".join(lines[-n:])


class TempDirCase(unittest.TestCase):
    """A test with its own temporary directory (self.dir), removed after
    the test unless GS_KEEP=1; write() puts a file there."""

    PREFIX = "gstest-"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.PREFIX)

    def tearDown(self):
        if os.environ.get("GS_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)


class DaemonTestCase(unittest.TestCase):
    """A test class sharing one daemon. Subclasses set CONF/ZONES and use
    self.d; tearDownClass asserts a clean SIGTERM exit (status 0)."""

    CONF = None
    ZONES = None
    daemon = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(conf=cls.CONF, zones=cls.ZONES, name=cls.__name__)
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.cleanup()
            cls.daemon = None
            raise

    @classmethod
    def tearDownClass(cls):
        d = cls.daemon
        cls.daemon = None
        if d is None:
            return
        try:
            d.stop_clean()
        finally:
            d.cleanup()

    def tearDown(self):
        # A daemon that died during this test fails this test (with its
        # crash report) and is replaced, so later tests still mean something.
        cls = type(self)
        d = cls.daemon
        if d is None or d.alive():
            return
        rc = d.proc.returncode
        excerpt = crash_excerpt(d.log())
        d.cleanup()
        cls.daemon = Daemon(conf=cls.CONF, zones=cls.ZONES, name=cls.__name__)
        cls.daemon.start()
        raise DaemonError("geosteerd died during this test (exit status %s); "
                          "restarted for the next tests:\n%s" % (rc, excerpt))

    @property
    def d(self):
        return self.daemon

    # assertions shared by the scripts
    def assertRRs(self, rrs, expected, msg=None):
        """rrs (Records) equal expected [(name, ttl|None, type, rdata)] as
        sets, names compared case-insensitively, rdata normalized."""
        got = sorted((r.name.lower(), r.type, norm_rdata(r.type, r.rdata))
                     for r in rrs)
        want = sorted((n.lower(), t.upper(), norm_rdata(t, rd))
                      for n, _, t, rd in expected)
        self.assertEqual(got, want, msg)
        for n, ttl, t, _ in expected:
            if ttl is None:
                continue
            for r in rrs:
                if r.name.lower() == n.lower() and r.type == t.upper():
                    self.assertEqual(r.ttl, ttl, "TTL of %s %s" % (n, t))

    def assertNegative(self, m, status, zone, ttl):
        """NXDOMAIN/NODATA shape: status, AA, empty answer, the zone's SOA in
        authority with the given TTL."""
        self.assertEqual(m.status, status, m)
        self.assertIn("aa", m.flags, m)
        self.assertEqual(m.answer, [], m)
        soas = m.rrs("authority", "SOA")
        self.assertEqual(len(soas), 1, m)
        self.assertEqual(soas[0].name.lower(), zone.lower(), m)
        self.assertEqual(soas[0].ttl, ttl, "negative TTL: %s" % m)


class _Result(unittest.TextTestResult):
    def _dump_logs(self):
        for d in list(_live):
            if d.proc is not None:
                self.stream.write("---- %s log (%s, tail) ----\n%s\n----\n" %
                                  (d.name, d.dir, d.log_tail(25)))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._dump_logs()

    def addError(self, test, err):
        super().addError(test, err)
        self._dump_logs()


def main(tools=("dig", "kdig", "drill", "yaml")):
    """Runs the unittest cases of __main__; exits 0 / 1 / 77."""
    check_tools(tools)
    check_daemon()
    prog = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    suite = unittest.TestLoader().loadTestsFromModule(sys.modules["__main__"])
    if len(sys.argv) > 1:  # optional name filter: test_x.py PATTERN...
        pats = sys.argv[1:]
        flat = []

        def walk(s):
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    walk(t)
                else:
                    flat.append(t)
        walk(suite)
        suite = unittest.TestSuite(
            [t for t in flat if any(p in t.id() for p in pats)])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=_Result)
    t0 = time.monotonic()
    res = runner.run(suite)
    _cleanup_all()
    # subtests report one failure each: count test methods instead
    failed_ids = set()
    for t, _ in res.failures + res.errors:
        failed_ids.add(getattr(t, "test_case", t).id())
    for t in res.unexpectedSuccesses:
        failed_ids.add(t.id())
    failed = len(failed_ids)
    skipped = len(res.skipped)
    passed = res.testsRun - len([i for i in failed_ids if "setUpClass" not in
                                 i and "tearDownClass" not in i]) - skipped
    print("%s: wall time %.1fs" % (prog, time.monotonic() - t0))
    print("%s: %d passed, %d failed, %d skipped" %
          (prog, max(passed, 0), failed, skipped))
    sys.stdout.flush()
    if failed:
        sys.exit(1)
    if res.testsRun and skipped == res.testsRun:
        sys.exit(SKIP)
    sys.exit(0)
