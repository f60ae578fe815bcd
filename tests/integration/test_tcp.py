#!/usr/bin/env python3
"""TCP cannot be taken away by a remote client (RFC 7766 section 6.2.3):

- a client whose answers filled the output buffer is read again once they
  drain, however they drain, so it gets every answer and its close is seen;
- a connection has a deadline to deliver each whole message
  (tcp_idle_timeout from accept, and again from each whole message);
  bytes short of a whole message do not renew it, nor does a client that
  does not read its answers;
- with tcp_max_clients open, a new client closes the longest idle
  connection instead of being refused, even after thousands of idle ones;
- memory is taken per connection as it is needed, nothing per
  tcp_max_clients at start;
- the shutdown log counts the connections closed by reason.

Clients are raw Python sockets on loopback. Whether geosteerd closed a
connection is read from its descriptor table (/proc/PID/fd): a client that
does not read cannot see a close behind the answers it has not read."""

import os
import re
import resource
import shutil
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (Daemon, DaemonTestCase, Wire, make_query,  # noqa: E402
                    tcp_connect, tcp_frame, tcp_recv_msg)

Z = "example.test."
# 30 TXT records of ~100 bytes: a ~3.3 KB answer over TCP
BIG = tcp_frame(make_query("big." + Z, "TXT", qid=4242, edns=False))
WWW = "www." + Z
N_FLOOD = 5000


def raise_nofile(want):
    """Raises our soft RLIMIT_NOFILE to want (at most the hard limit);
    geosteerd, started later, inherits it. Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def socket_fds(pid):
    """How many sockets the process has open."""
    n = 0
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass  # closed meanwhile
    return n


def proc_status(pid):
    """{"VmSize": kB, "VmRSS": kB} from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("VmSize", "VmRSS"):
                out[k] = int(v.split()[0])
    return out


def closed_by_peer(sock, timeout):
    """Waits up to timeout for EOF/reset, discarding data. Returns the
    seconds waited, or None if the connection is still open."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            if not sock.recv(65536):
                return time.monotonic() - t0
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        return None


def served(sock, qid, timeout=1.0):
    """True if a query on sock is answered within timeout."""
    try:
        sock.settimeout(timeout)
        sock.sendall(tcp_frame(make_query(WWW, qid=qid)))
        reply = tcp_recv_msg(sock)
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        return False
    return reply is not None and Wire(reply).id == qid


def read_answers(sock, want, timeout):
    """Reads up to want framed answers, stopping at EOF or once none has
    come for timeout seconds. Returns how many were read."""
    sock.settimeout(timeout)
    got = 0
    try:
        while got < want:
            if tcp_recv_msg(sock) is None:
                break
            got += 1
    except (socket.timeout, ConnectionResetError):
        pass
    return got


class Drain(DaemonTestCase):
    """Defect 1: the output buffer fills in one go and is sent at once."""

    # a long deadline, so that only reading can end these connections
    CONF = {"tcp_idle_timeout": 30}
    N = 80  # ~260 KB of answers: four times the output buffer's limit

    def connect_big_reader(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # room for every answer: the kernel takes each batch at once
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(2)
        s.connect(("127.0.0.1", self.d.port))
        return s

    def test_every_pipelined_answer_past_the_output_limit(self):
        s = self.connect_big_reader()
        try:
            s.sendall(BIG * self.N)  # all queries before reading any
            got = read_answers(s, self.N, 2.0)
            self.assertEqual(got, self.N, "got %d of %d pipelined answers "
                             "(the rest never came)" % (got, self.N))
            self.assertTrue(served(s, 7), "connection not served after its "
                            "pipelined answers")
        finally:
            s.close()

    def test_close_seen_after_the_output_limit(self):
        pid = self.d.pid
        base = socket_fds(pid)
        clients = []
        try:
            for _ in range(4):
                s = self.connect_big_reader()
                clients.append(s)
                s.sendall(BIG * self.N)
                read_answers(s, self.N, 0.5)  # everything that comes
            for s in clients:
                s.close()
            clients = []
            deadline = time.monotonic() + 2.0
            while socket_fds(pid) > base and time.monotonic() < deadline:
                time.sleep(0.05)
            n = socket_fds(pid)
            self.assertLessEqual(n, base, "geosteerd has %d sockets open 2 s "
                                 "after 4 clients closed, %d before they "
                                 "connected" % (n, base))
        finally:
            for s in clients:
                s.close()


class Deadline(DaemonTestCase):
    """Defect 2: a deadline per whole message, not per byte."""

    CONF = {"tcp_idle_timeout": 1}

    def drip_until_closed(self, s, data, interval, timeout):
        """Sends data one byte every interval until the server closes s or
        timeout. Returns seconds until the close, or None."""
        t0 = time.monotonic()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        i = 0
        while time.monotonic() - t0 < timeout:
            try:
                s.send(data[i % len(data):i % len(data) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0
            i += 1
            waited = closed_by_peer(s, interval)
            if waited is not None:
                return time.monotonic() - t0
        return None

    def test_byte_by_byte_closed_at_the_deadline(self):
        # 3 bytes a second never make a whole message in time: the
        # connection is closed 1 s after its accept, not kept by each byte
        q = tcp_frame(make_query(WWW, qid=5)) * 4
        s = tcp_connect(self.d.port, timeout=2)
        try:
            waited = self.drip_until_closed(s, q, 0.3, 4.0)
            self.assertIsNotNone(waited, "a client sending a byte every "
                                 "0.3 s still connected after 4 s "
                                 "(tcp_idle_timeout 1)")
            self.assertGreater(waited, 0.8, "closed before its deadline")
            self.assertLess(waited, 2.0, "closed late")
        finally:
            s.close()

    def test_byte_by_byte_after_an_answer_closed_at_the_deadline(self):
        s = tcp_connect(self.d.port, timeout=2)
        try:
            self.assertTrue(served(s, 6))
            waited = self.drip_until_closed(s, b"\x00\x40" + b"x" * 64, 0.3,
                                            4.0)
            self.assertIsNotNone(waited, "a client sending a byte every "
                                 "0.3 s after its answer still connected "
                                 "after 4 s (tcp_idle_timeout 1)")
            self.assertLess(waited, 2.0, "closed late")
        finally:
            s.close()

    def test_whole_messages_renew_the_deadline(self):
        # each query dribbled over 0.6 s, one after the other for 3 s:
        # every whole message comes within 1 s of the one before
        s = tcp_connect(self.d.port, timeout=2)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.monotonic()
            qid = 100
            while time.monotonic() - t0 < 3.0:
                q = tcp_frame(make_query(WWW, qid=qid))
                half = len(q) // 2
                s.sendall(q[:half])
                time.sleep(0.6)
                s.sendall(q[half:])
                reply = tcp_recv_msg(s)
                self.assertIsNotNone(reply, "closed after %.1f s although "
                                     "each whole message came in time" %
                                     (time.monotonic() - t0))
                self.assertEqual(Wire(reply).id, qid)
                qid += 1
        finally:
            s.close()

    def test_client_not_reading_closed_at_the_deadline(self):
        pid = self.d.pid
        base = socket_fds(pid)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(2)
            s.connect(("127.0.0.1", self.d.port))
            # ~5 MB of answers: more than the kernel buffers take, so the
            # server's output waits on this client, which never reads
            s.sendall(BIG * 1500)
            t0 = time.monotonic()
            gstest.wait_for(lambda: socket_fds(pid) <= base, 3.0,
                            interval=0.05,
                            what="geosteerd to close a client that does "
                            "not read (tcp_idle_timeout 1)")
            self.assertLess(time.monotonic() - t0, 2.0, "closed late")
        finally:
            s.close()


class Eviction(DaemonTestCase):
    """Defect 3: a full server closes the longest idle connection."""

    CONF = {"tcp_max_clients": 4, "tcp_idle_timeout": 30}

    def test_new_client_closes_the_longest_idle(self):
        held = []
        try:
            for i in range(4):
                s = tcp_connect(self.d.port)
                held.append(s)
                self.assertTrue(served(s, 10 + i))
            # a message renews the first: the second is now longest idle
            self.assertTrue(served(held[0], 20))
            fifth = tcp_connect(self.d.port)
            held.append(fifth)
            self.assertTrue(served(fifth, 99), "5th client not served with "
                            "tcp_max_clients 4 (not room made for it)")
            self.assertIsNotNone(closed_by_peer(held[1], 2.0),
                                 "the longest idle connection was not "
                                 "closed")
            for i in (0, 2, 3, 4):
                self.assertTrue(served(held[i], 30 + i),
                                "connection %d closed instead of the "
                                "longest idle" % i)
        finally:
            for s in held:
                s.close()


class DescriptorLimit(unittest.TestCase):
    """Out of descriptors below tcp_max_clients: the longest idle
    connection makes room, as when tcp_max_clients are open."""

    LIMIT = 128

    def test_new_client_served_at_the_descriptor_limit(self):
        if not shutil.which("prlimit"):
            self.skipTest("prlimit (util-linux) not installed")
        d = Daemon(conf={"tcp_max_clients": 1000, "tcp_idle_timeout": 30},
                   name="nofile_%d" % self.LIMIT)
        self.addCleanup(d.cleanup)
        d.wrapper = lambda cmd: ["prlimit", "--nofile=%d:%d" %
                                 (self.LIMIT, self.LIMIT), "--"] + cmd
        d.start()
        idle = []
        try:
            for _ in range(2 * self.LIMIT):
                idle.append(tcp_connect(d.port))
            s = tcp_connect(d.port, timeout=1)
            try:
                self.assertTrue(served(s, 55), "no answer to a new client "
                                "with geosteerd out of descriptors")
            finally:
                s.close()
        finally:
            for s in idle:
                s.close()
        self.assertTrue(d.alive())


def cpu_seconds(pid):
    """User + system CPU time of the process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class NoDescriptorLeft(unittest.TestCase):
    """Out of descriptors with no TCP connection to close: the pending
    connection cannot be accepted, and the listener must not keep the
    TCP thread spinning on it (it pauses and tries again)."""

    def test_no_spin_when_nothing_can_be_evicted(self):
        if not shutil.which("prlimit"):
            self.skipTest("prlimit (util-linux) not installed")
        conf = {"tcp_max_clients": 16, "tcp_idle_timeout": 30,
                "workers": 1}
        probe = Daemon(conf=conf, name="nofile_count")
        self.addCleanup(probe.cleanup)
        probe.start()
        fds = os.listdir("/proc/%d/fd" % probe.pid)
        top = max(int(x) for x in fds)
        probe.stop_clean()
        # every descriptor number the daemon uses at rest, and no more
        d = Daemon(conf=conf, name="nofile_none_left")
        self.addCleanup(d.cleanup)
        d.wrapper = lambda cmd: ["prlimit", "--nofile=%d:%d" %
                                 (top + 1, top + 1), "--"] + cmd
        d.start(wait=False)  # TCP cannot answer: wait for UDP only
        gstest.wait_for(lambda: d.alive() and d.udp_raw(
            make_query(WWW, "A"), timeout=0.2) is not None,
            gstest.START_TIMEOUT, 0.05, what="geosteerd answering UDP")
        s = tcp_connect(d.port, timeout=1)  # waits in the backlog
        try:
            time.sleep(0.3)
            t0, c0 = time.monotonic(), cpu_seconds(d.pid)
            time.sleep(1.5)
            used = (cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
            self.assertLess(used, 0.3, "geosteerd used %.0f%% of a CPU "
                            "with a connection it cannot accept" %
                            (100 * used))
            # UDP still answers
            w = d.udp(make_query(WWW, "A"))
            self.assertEqual(w.rcode_name, "NOERROR")
            # the control socket, on the main loop: no spin, and the
            # failure is logged once, not at every wake-up
            u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.addCleanup(u.close)
            u.connect(d.socket_path)
            t0, c0 = time.monotonic(), cpu_seconds(d.pid)
            time.sleep(1.5)
            used = (cpu_seconds(d.pid) - c0) / (time.monotonic() - t0)
            self.assertLess(used, 0.3, "geosteerd used %.0f%% of a CPU "
                            "with a control connection it cannot accept" %
                            (100 * used))
            lines = re.findall(r"control: accept on .* failed", d.log())
            self.assertEqual(len(lines), 1, d.log_tail())
            self.assertEqual(d.udp(make_query(WWW, "A")).rcode_name,
                             "NOERROR")
        finally:
            s.close()
        d.stop_clean()


class Flood(DaemonTestCase):
    """Defect 3 at scale: thousands of idle connections from one host."""

    CONF = {"tcp_max_clients": 256, "tcp_idle_timeout": 30}

    @classmethod
    def setUpClass(cls):
        limit = raise_nofile(N_FLOOD + 200)
        if limit != resource.RLIM_INFINITY and limit < N_FLOOD + 100:
            raise AssertionError("RLIMIT_NOFILE %d: cannot open %d "
                                 "connections" % (limit, N_FLOOD))
        super().setUpClass()

    def test_5000_idle_connections_do_not_lock_out_a_new_client(self):
        idle = []
        try:
            t0 = time.monotonic()
            for _ in range(N_FLOOD):
                idle.append(tcp_connect(self.d.port, timeout=5))
            took = time.monotonic() - t0
            t0 = time.monotonic()
            s = tcp_connect(self.d.port, timeout=1)
            try:
                ok = served(s, 77, timeout=1.0)
            finally:
                s.close()
            waited = time.monotonic() - t0
            self.assertTrue(ok, "no answer within 1 s to a new client after "
                            "%d idle connections (opened in %.1f s)" %
                            (N_FLOOD, took))
            self.assertLess(waited, 1.0)
            self.assertEqual(self.d.dig(WWW, "+tcp").status, "NOERROR")
        finally:
            for s in idle:
                s.close()


class Memory(unittest.TestCase):
    """Defect 4: no memory reserved per tcp_max_clients at start."""

    def start(self, max_clients):
        d = Daemon(conf={"tcp_max_clients": max_clients},
                   name="max_clients_%d" % max_clients)
        self.addCleanup(d.cleanup)
        d.start()
        time.sleep(0.2)
        return d

    def test_vmsize_does_not_grow_with_tcp_max_clients(self):
        one = proc_status(self.start(1).pid)
        big_d = self.start(65535)
        big = proc_status(big_d.pid)
        grow = (big["VmSize"] - one["VmSize"]) / 1024.0
        print("\nVmSize tcp_max_clients 1: %d kB, 65535: %d kB "
              "(VmRSS %d kB, %d kB)" % (one["VmSize"], big["VmSize"],
                                        one["VmRSS"], big["VmRSS"]),
              file=sys.stderr)
        self.assertLess(grow, 256, "VmSize with tcp_max_clients 65535 is "
                        "%.0f MiB more than with 1" % grow)
        # 200 clients that each got an answer: a few KB each
        clients = []
        try:
            for i in range(200):
                s = tcp_connect(big_d.port)
                clients.append(s)
                self.assertTrue(served(s, i + 1))
            time.sleep(0.2)
            with_200 = proc_status(big_d.pid)
            print("with 200 clients: VmSize %d kB, VmRSS %d kB" %
                  (with_200["VmSize"], with_200["VmRSS"]), file=sys.stderr)
            rss = (with_200["VmRSS"] - big["VmRSS"]) / 1024.0
            self.assertLess(rss, 32, "200 clients took %.0f MiB" % rss)
        finally:
            for s in clients:
                s.close()


class Counters(unittest.TestCase):
    """The shutdown log counts connections closed by reason."""

    def test_closed_by_reason_in_the_shutdown_log(self):
        d = Daemon(conf={"tcp_max_clients": 2, "tcp_idle_timeout": 1},
                   name="counters")
        self.addCleanup(d.cleanup)
        d.start()
        time.sleep(0.2)  # wait_ready's connections are closed
        held = [tcp_connect(d.port) for _ in range(3)]  # the 1st evicted
        try:
            self.assertTrue(served(held[2], 1), "3rd client not served "
                            "with tcp_max_clients 2")
            self.assertIsNotNone(closed_by_peer(held[0], 1.0),
                                 "longest idle not evicted")
            # the other 2 reach their deadline
            for s in held[1:]:
                self.assertIsNotNone(closed_by_peer(s, 2.0),
                                     "open after its deadline")
        finally:
            for s in held:
                s.close()
        s = tcp_connect(d.port)
        self.assertTrue(served(s, 2))
        s.close()  # closed by the client
        time.sleep(0.2)
        d.stop_clean()
        m = re.search(r"tcp: (\d+) connections accepted, (\d+) open at exit; "
                      r"closed: (\d+) at their deadline, (\d+) evicted for "
                      r"room, (\d+) by the client or on errors", d.log())
        self.assertIsNotNone(m, "no tcp counters in the log:\n%s" %
                             d.log_tail(5))
        acc, open_, deadline, evicted, peer = map(int, m.groups())
        self.assertEqual((open_, deadline, evicted), (0, 2, 1), m.group(0))
        self.assertGreaterEqual(peer, 1, m.group(0))
        self.assertEqual(acc, deadline + evicted + peer, m.group(0))


if __name__ == "__main__":
    gstest.main()
