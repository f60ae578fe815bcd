#!/usr/bin/env python3
"""Transports: UDP and TCP on 127.0.0.1 and ::1 with dig, kdig and drill;
many and pipelined queries on one TCP connection; the TCP idle timeout and
client cap from the config (a connection beyond the cap closes the longest
idle one); stuck TCP clients must not stall anyone else. test_tcp.py has
the rest of the TCP contract (deadlines, eviction, memory)."""

import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gstest  # noqa: E402
from gstest import (DaemonTestCase, Wire, hosts, make_query,  # noqa: E402
                    tcp_connect, tcp_frame, tcp_recv_msg)

Z = "example.test."
NAMES = [("www." + Z, "A", "192.0.2.1"), ("mail." + Z, "A", "192.0.2.25"),
         ("ns1." + Z, "A", "192.0.2.53"), ("www." + Z, "AAAA", "2001:db8::1"),
         ("c." + Z, "A", "192.0.2.3")]


def expected_rdata(qtype, rdata):
    if qtype == "A":
        return bytes(int(x) for x in rdata.split("."))
    return socket.inet_pton(socket.AF_INET6, rdata)


def closed_by_peer(sock, timeout):
    """Waits up to timeout for EOF/reset. Returns seconds waited or None."""
    t0 = time.monotonic()
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return time.monotonic() - t0
            # data on an idle connection would be a protocol error anyway
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        return None


class Transport(DaemonTestCase):
    def test_udp_and_tcp_on_both_families_all_clients(self):
        for host in hosts():
            for client in gstest.CLIENTS:
                for tcp in (False, True):
                    with self.subTest(host=host, client=client, tcp=tcp):
                        m = self.d.query(client, "www." + Z, "A", host=host,
                                         tcp=tcp)
                        self.assertEqual(m.status, "NOERROR", m)
                        self.assertEqual([r.rdata for r in m.answer],
                                         ["192.0.2.1"], m)
                        if m.proto is not None:
                            self.assertEqual(m.proto, "TCP" if tcp else "UDP")

    def test_kdig_several_queries_keepopen(self):
        args = ["+tcp", "+keepopen"]
        for qn, qt, _ in NAMES * 2:
            args += [qn, qt]
        for host in hosts():
            text = gstest.kdig_text(self.d.port, *args, host=host)
            msgs = gstest.parse_kdig(text)
            self.assertEqual(len(msgs), len(NAMES) * 2, text)
            for m, (qn, qt, rd) in zip(msgs, NAMES * 2):
                self.assertEqual(m.status, "NOERROR", m)
                self.assertEqual([(r.name, r.type, r.rdata) for r in m.answer],
                                 [(qn, qt, rd)], m)
                self.assertEqual(m.proto, "TCP")

    def test_dig_several_queries_keepopen(self):
        args = ["+tcp", "+keepopen"]
        for qn, qt, _ in NAMES:
            args += [qn, qt]
        msgs, errors, p = gstest.dig_all(self.d.port, *args)
        self.assertEqual(errors, [], p.stdout)
        self.assertEqual(len(msgs), len(NAMES), p.stdout)
        for m, (qn, qt, rd) in zip(msgs, NAMES):
            self.assertEqual([(r.name, r.type, r.rdata) for r in m.answer],
                             [(qn, qt, rd)], m)

    def check_answer(self, w, qid_to_q):
        self.assertIn(w.id, qid_to_q, "unexpected ID %d" % w.id)
        qn, qt, rd = qid_to_q.pop(w.id)
        self.assertEqual(w.rcode_name, "NOERROR")
        self.assertEqual(w.question[0][0], qn)
        self.assertEqual([rr.rdata for rr in w.answer],
                         [expected_rdata(qt, rd)])

    def queries(self, n=20):
        ids = random.sample(range(1, 0xFFFF), n)
        out = {}
        for i, qid in enumerate(ids):
            out[qid] = NAMES[i % len(NAMES)]
        return out

    def test_tcp_20_sequential_queries_one_connection(self):
        for host in hosts():
            qs = self.queries()
            s = tcp_connect(self.d.port, host, timeout=3)
            try:
                for qid, (qn, qt, _) in list(qs.items()):
                    s.sendall(tcp_frame(make_query(qn, qt, qid=qid)))
                    reply = tcp_recv_msg(s)
                    self.assertIsNotNone(reply, "connection closed early")
                    self.check_answer(Wire(reply), qs)
            finally:
                s.close()
            self.assertEqual(qs, {})

    def test_tcp_20_pipelined_queries(self):
        for host in hosts():
            qs = self.queries()
            s = tcp_connect(self.d.port, host, timeout=3)
            try:
                blob = b"".join(tcp_frame(make_query(qn, qt, qid=qid))
                                for qid, (qn, qt, _) in qs.items())
                s.sendall(blob)  # all 20 before reading any
                for _ in range(20):
                    reply = tcp_recv_msg(s)
                    self.assertIsNotNone(reply, "closed with %d answers "
                                         "missing" % len(qs))
                    self.check_answer(Wire(reply), qs)
            finally:
                s.close()
            self.assertEqual(qs, {})

    def test_tcp_pipelined_byte_by_byte(self):
        qs = self.queries(3)
        blob = b"".join(tcp_frame(make_query(qn, qt, qid=qid))
                        for qid, (qn, qt, _) in qs.items())
        s = tcp_connect(self.d.port, timeout=3)
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(blob)):
                s.send(blob[i:i + 1])
                if i % 7 == 0:
                    time.sleep(0.001)
            for _ in range(3):
                reply = tcp_recv_msg(s)
                self.assertIsNotNone(reply)
                self.check_answer(Wire(reply), qs)
        finally:
            s.close()

    def test_tcp_zero_length_message_closes_or_ignored(self):
        # a zero-length frame is not a DNS message; the server must not
        # crash and must keep serving others
        s = tcp_connect(self.d.port, timeout=2)
        try:
            s.sendall(b"\x00\x00")
            closed_by_peer(s, 0.5)
        finally:
            s.close()
        self.assertEqual(self.d.dig("www." + Z, "+tcp").status, "NOERROR")

    def test_stuck_client_one_byte_does_not_stall_others(self):
        stuck = []
        try:
            for host in hosts():
                s = tcp_connect(self.d.port, host)
                s.sendall(b"\x00")  # half a length prefix, then nothing
                stuck.append(s)
            time.sleep(0.2)
            self.assert_prompt_service()
        finally:
            for s in stuck:
                s.close()

    def test_client_not_reading_does_not_stall_others(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(2)
            s.connect(("127.0.0.1", self.d.port))
            q = tcp_frame(make_query("big." + Z, "TXT", edns=False))
            s.settimeout(0.05)
            sent = 0
            deadline = time.monotonic() + 2.0
            # keep sending until the server stops reading from us (its
            # replies fill our receive buffer and its send buffer) or 2 s
            while time.monotonic() < deadline and sent < 2000:
                try:
                    s.sendall(q)
                    sent += 1
                except socket.timeout:
                    break
            self.assertGreater(sent, 10)
            self.assert_prompt_service()
        finally:
            s.close()

    def assert_prompt_service(self):
        for host in hosts():
            for args in ([], ["+tcp"]):
                with self.subTest(host=host, args=args):
                    t0 = time.monotonic()
                    m = self.d.dig("www." + Z, *args, host=host)
                    self.assertEqual(m.status, "NOERROR", m)
                    self.assertLess(time.monotonic() - t0, 1.5)
            t0 = time.monotonic()
            m = self.d.kdig("mail." + Z, "+tcp", host=host)
            self.assertEqual([r.rdata for r in m.answer], ["192.0.2.25"])
            self.assertLess(time.monotonic() - t0, 1.5)


class IdleTimeout(DaemonTestCase):
    CONF = {"tcp_idle_timeout": 1}

    def test_idle_connection_closed(self):
        for host in hosts():
            with self.subTest(host=host):
                s = tcp_connect(self.d.port, host)
                try:
                    waited = closed_by_peer(s, 4.0)
                    self.assertIsNotNone(waited, "idle connection still open "
                                         "after 4 s (tcp_idle_timeout 1)")
                    self.assertGreater(waited, 0.5, "closed too early")
                finally:
                    s.close()

    def test_idle_after_answer_closed(self):
        s = tcp_connect(self.d.port)
        try:
            s.sendall(tcp_frame(make_query("www." + Z, qid=99)))
            reply = tcp_recv_msg(s)
            self.assertEqual(Wire(reply).id, 99)
            waited = closed_by_peer(s, 4.0)
            self.assertIsNotNone(waited, "connection still open after 4 s")
        finally:
            s.close()

    def test_active_connection_not_closed(self):
        # queries every 0.4 s for 2 s keep the connection alive
        s = tcp_connect(self.d.port, timeout=2)
        try:
            for i in range(5):
                s.sendall(tcp_frame(make_query("www." + Z, qid=1000 + i)))
                reply = tcp_recv_msg(s)
                self.assertIsNotNone(reply, "closed while active (query %d)"
                                     % i)
                self.assertEqual(Wire(reply).id, 1000 + i)
                time.sleep(0.4)
        finally:
            s.close()


class MaxClients(DaemonTestCase):
    CONF = {"tcp_max_clients": 4, "tcp_idle_timeout": 20}

    def served(self, s, qid, timeout=1.5):
        """True if a query on s is answered within timeout."""
        try:
            s.settimeout(timeout)
            s.sendall(tcp_frame(make_query("www." + Z, qid=qid)))
            reply = tcp_recv_msg(s)
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            return False
        return reply is not None and Wire(reply).id == qid

    def test_connection_cap(self):
        held = []
        try:
            for i in range(4):
                s = tcp_connect(self.d.port)
                held.append(s)
                self.assertTrue(self.served(s, 10 + i),
                                "connection %d of 4 not served" % (i + 1))
            # a 5th is served: the longest idle of the 4 (the first) is
            # closed to make room, the other 3 still work
            fifth = tcp_connect(self.d.port)
            held.append(fifth)
            self.assertTrue(self.served(fifth, 99),
                            "5th connection not served with "
                            "tcp_max_clients 4")
            self.assertIsNotNone(closed_by_peer(held[0], 2.0),
                                 "the longest idle connection is still open "
                                 "with 5 connections and tcp_max_clients 4")
            for i, s in enumerate(held[1:4]):
                self.assertTrue(self.served(s, 20 + i),
                                "held connection %d no longer served" % i)
            # UDP is not affected
            self.assertEqual(self.d.dig("www." + Z).status, "NOERROR")
        finally:
            for s in held:
                s.close()

        # once the idle ones are gone, a new connection is served (bounded)
        def new_one_served():
            s = tcp_connect(self.d.port)
            try:
                return self.served(s, 7, timeout=0.5)
            finally:
                s.close()
        gstest.wait_for(new_one_served, 5.0, interval=0.2,
                        what="a new TCP connection to be served")
        m = self.d.dig("www." + Z, "+tcp")
        self.assertEqual(m.status, "NOERROR", m)


if __name__ == "__main__":
    gstest.main()
