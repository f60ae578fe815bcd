#!/usr/bin/env python3
"""TCP cannot be taken away by a remote client:

- a client whose answers filled the output buffer is read again once they
  drain, however they drain, so it gets every answer and its close is seen.

Clients are raw Python sockets on loopback. Whether geosteerd closed a
connection is read from its descriptor table (/proc/PID/fd): a client that
does not read cannot see a close behind the answers it has not read."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (DaemonTestCase, Wire, make_query,  # noqa: E402
                    tcp_frame, tcp_recv_msg)

Z = "example.test."
# 30 TXT records of ~100 bytes: a ~3.3 KB answer over TCP
BIG = tcp_frame(make_query("big." + Z, "TXT", qid=4242, edns=False))
WWW = "www." + Z


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
            gstest.wait_for(lambda: socket_fds(pid) <= base, 2.0,
                            what="geosteerd to close 4 connections their "
                            "clients closed (sockets open: %d, before: %d)"
                            % (socket_fds(pid), base))
        finally:
            for s in clients:
                s.close()


if __name__ == "__main__":
    gstest.main()
