"""pingserver: a fake Teleport proxy ping endpoint for the health tests.

Serves HTTPS on one loopback address and port and answers
GET /webapi/ping and /v1/webapi/ping the way a Teleport proxy does
(shared/teleport-ping.md), or fails the way one fails. The scenario can be
switched while the server runs (set_scenario, thread-safe); each connection
is served by its own daemon thread, so a hanging request never blocks
another connection.

    srv = PingServer("127.0.0.12", port, cert, key).start()
    srv.set_scenario("auth_unreachable")
    srv.requests()          # [{"path", "host", "sni", "status", ...}, ...]
    srv.stop()

Scenarios (SCENARIOS):
  healthy           200 application/json, one line, like Teleport 18
  auth_unreachable  504 {"error":{"message":"auth unreachable"}}
  internal_error    500 {"error":{"message":...}} (the other Auth failure)
  hang              reads the request, then answers nothing until
                    hang_seconds (30) pass, the scenario changes or the
                    server stops; then closes the connection
  misconfigured     400 {"error":{"message":...}} (cluster-wide, e.g. an
                    OIDC default with no connector)
  rate_limited      429 {"error":{"message":"rate limit exceeded"}}
  wrong_host        302 to the app launcher (as for an unknown Host)
  wrong_cluster     200, cluster_name = other_cluster_name
  version_skew      200, server_version = skew_version
  refused           nothing listens: the listening socket is closed, so
                    connections are refused (the port is bound again when
                    the scenario changes; SO_REUSEADDR)
  reset             every new connection is accepted and reset at once
                    (SO_LINGER 0 close), before the TLS handshake
  not_found         404 text/plain "404 page not found" (a tunnel-only
                    listener)
  html              200 text/html (a load balancer's error page)
  bad_json          200 application/json with a cut-off body

Hostile text (shared/teleport-ping.md lists none of these; they check that
what an endpoint says is shown bounded and escaped, test_hostile_text.py).
Each carries a marker "FAKE-..." right after a line break or a fake
"geosteerd[err]: " prefix, so a line of its own in a log is easy to spot:
  hostile_cluster   200, cluster_name HOSTILE_CLUSTER_NAME: a newline and a
                    fake log line, CR, ESC, BEL, DEL, C1 controls, then
                    two-byte characters across the 80-byte cut
  hostile_error     504, error.message HOSTILE_MESSAGE: the same kinds, an
                    OSC title sequence, U+2028, 10 KB of two-byte
                    characters offset by one byte
  invalid_utf8      200 application/json whose cluster_name holds raw bytes
                    (a backslash, then C2 9B, then 0xff): jansson refuses
                    it and quotes a lone 0xC2 in its error text
  hostile_redirect  302 whose Location is HOSTILE_LOCATION, raw bytes: ESC,
                    SOH, DEL, C1 controls, 0xff 0xfe
  hostile_reason    503 with the raw status line HOSTILE_STATUS_LINE (its
                    reason phrase holds ESC, 0x85, 0xff, SOH, DEL, C1)
  hostile_version   200, right cluster_name, server_version HOSTILE_VERSION
                    (major 17: a version skew) with a newline and a fake
                    log line, two-byte characters across the 31-byte cut
These responses are written byte for byte where http.server would refuse
or re-encode them. A certificate whose subject name is hostile (libcurl
quotes it in its error text) is testca.TestCA.hostile_subject().

Switching to refused or reset (and stop()) also drops the connections that
are open, so a client that keeps connections alive sees the change at once.

Independently of the scenario, a request whose Host is neither the public
name nor an IP literal gets a 302 (Teleport's app launcher redirect), and
a request without Host a 400. Paths other than the two ping paths get 404.

Bad TLS is a certificate, not a scenario: start the server with (or switch
it with set_certificate to) a self-signed certificate or one for another
name; testca.TestCA makes both.

Every request is recorded: method, path, Host, the SNI of its connection
(through the SSL context's sni_callback), the client address, the scenario
and the status sent (None when nothing was sent). Connections are recorded
too, including those reset or failing the handshake.

Standalone:
  python3 pingserver.py [--host H] [--port P] [--cert C --key K]
                        [--scenario S] ...
      serves until EOF on stdin; each stdin line is a scenario name, or
      "cert leaf|selfsigned|wrongname" (with the made-up CA), "requests",
      "quit". Without --cert, makes a test CA (its ca.pem path is printed).
  python3 pingserver.py --selftest
      checks every scenario with curl --cacert --resolve; exit 0, 1, or 77
      when curl or openssl is missing.
"""

import argparse
import ipaddress
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testca  # noqa: E402

PUBLIC_NAME = "teleport.health.test"
CLUSTER_NAME = "teleport-multi-region.example.org"
OTHER_CLUSTER_NAME = "teleport-staging.example.net"
SERVER_VERSION = "18.2.1"
SKEW_VERSION = "17.4.8"
MIN_CLIENT_VERSION = "17.0.0-aa"
PING_PATHS = ("/webapi/ping", "/v1/webapi/ping")

SCENARIOS = ("healthy", "auth_unreachable", "internal_error", "hang",
             "misconfigured", "rate_limited", "wrong_host", "wrong_cluster",
             "version_skew", "refused", "reset", "not_found", "html",
             "bad_json", "hostile_cluster", "hostile_error", "invalid_utf8",
             "hostile_redirect", "hostile_reason", "hostile_version")
HOSTILE_SCENARIOS = tuple(sc for sc in SCENARIOS
                          if sc.startswith("hostile_") or
                          sc == "invalid_utf8")

# hostile text (see the scenarios); FAKE marks a would-be line of its own
HOSTILE_CLUSTER_NAME = ("evil\ngeosteerd[err]: FAKE-cluster\r\x1b[2J\x07"
                        "\x7f\u0085\u009bx" + "\u00e9" * 60)
HOSTILE_MESSAGE = ("auth down\ngeosteerd[err]: FAKE-error\x1b]0;pwned\x07"
                   "\r\t\x7f\u0085\u009b31m\u2028x" + "\u00e9" * 5000)
INVALID_UTF8_BODY = b'{"cluster_name":"\\\xc2\x9b[2J\xff"}\n'
HOSTILE_LOCATION = (b"https://" + PUBLIC_NAME.encode() +
                    b"/web/launch/\x1b[2J\x01\x7f\xc2\x85\xc2\x9b\xff\xfe"
                    b"FAKE-redirect")
HOSTILE_STATUS_LINE = (b"HTTP/1.1 503 \x1b[31mFAKE-reason\x85\xff\x01\x7f"
                       b"\xc2\x9b")
# 26 bytes, then two-byte characters: the 31-byte cut falls in the third
HOSTILE_VERSION = ("17.1\ngeosteerd[err]: FAKE-" + "\u00e9" * 20 +
                   "\x1b[2J\u0085")
HOSTILE_EDITION = "ent\x1b[2J\u0085"

MESSAGES = {
    "auth_unreachable": "auth unreachable",
    "internal_error": "failed to connect to the auth service",
    "misconfigured": "oidc connector okta not found",
    "rate_limited": "rate limit exceeded",
}

HANG_SECONDS = 30.0       # the upper bound of a hanging request
HANDSHAKE_TIMEOUT = 5.0   # per connection, before the first request
IDLE_TIMEOUT = 10.0       # a kept-alive connection without a request
BODY_CAP = 64 * 1024      # request bodies read (and dropped) at most
BIND_RETRY = 3.0          # seconds to retry binding the port again

HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>"
             "</head>\n<body><h1>502 Bad Gateway</h1><p>The upstream server "
             "is not available.</p></body></html>\n")

SECURITY_HEADERS = (
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Xss-Protection", "1; mode=block"),
    ("Referrer-Policy", "strict-origin"),
)


def ping_body(cluster_name=CLUSTER_NAME, server_version=SERVER_VERSION,
              public_name=PUBLIC_NAME, public_port=443):
    """The JSON object a Teleport 18 proxy answers ping with."""
    return {
        "auth": {
            "type": "local", "second_factor": "on",
            "preferred_local_mfa": "webauthn", "local": {"name": ""},
            "webauthn": {"rp_id": public_name},
            "private_key_policy": "none",
            "device_trust": {"disabled": True}, "has_motd": False,
            "default_session_ttl": "12h0m0s",
            "signature_algorithm_suite": 2,
        },
        "proxy": {
            "kube": {"enabled": True, "listen_addr": "0.0.0.0:3080"},
            "ssh": {"listen_addr": "0.0.0.0:3080",
                    "tunnel_listen_addr": "0.0.0.0:3080",
                    "web_listen_addr": "0.0.0.0:3080",
                    "public_addr": "%s:%d" % (public_name, public_port),
                    "dial_timeout": 30000000000},
            "db": {"postgres_listen_addr": "0.0.0.0:3080"},
            "tls_routing_enabled": True,
        },
        "server_version": server_version,
        "min_client_version": MIN_CLIENT_VERSION,
        "auto_update": {
            "tools_version": server_version, "tools_auto_update": False,
            "agent_version": server_version, "agent_auto_update": False,
            "agent_update_jitter_seconds": 60,
        },
        "cluster_name": cluster_name,
        "automatic_upgrades": False,
        "edition": "community",
        "fips": False,
    }


def compact(obj):
    return json.dumps(obj, separators=(",", ":")) + "\n"


def error_body(message):
    return compact({"error": {"message": message}})


def host_of(header):
    """The host part of a Host header value (no port, no brackets)."""
    h = header.strip()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h[1:]
    if h.count(":") == 1:
        return h.split(":", 1)[0]
    return h


def is_ip_literal(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _rst_close(sock):
    """Closes with SO_LINGER 0: the peer gets a RST, not a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _on_sni(sslsock, server_name, ctx):
    # runs during the handshake; the handler reads it back afterwards
    sslsock.gs_sni = server_name
    return None


def make_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.sni_callback = _on_sni
    return ctx


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for a hanging handler
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, owner, addr):
        self.owner = owner
        super().__init__(addr, _Handler)

    def verify_request(self, request, client_address):
        # "reset": accept, then RST at once (in the accepting thread)
        if self.owner.scenario == "reset":
            self.owner._note_conn(client_address, None, "reset")
            _rst_close(request)
            return False
        return True

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        self.owner._note_error(client_address, err)
        if os.environ.get("PINGSERVER_DEBUG") == "1":
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server_version = "pingserver"

    def setup(self):
        owner = self.server.owner
        self.sni = None
        self.request.settimeout(HANDSHAKE_TIMEOUT)
        raw = self.request
        owner._track(self, raw)
        tls = owner._context().wrap_socket(raw, server_side=True)
        self.request = tls
        owner._track(self, tls)
        self.sni = getattr(tls, "gs_sni", None)
        owner._note_conn(self.client_address, self.sni, "tls")
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self)
            try:
                self.request.close()
            except OSError:
                pass

    def log_message(self, fmt, *args):
        if os.environ.get("PINGSERVER_DEBUG") == "1":
            super().log_message(fmt, *args)

    # responses: no Server header (Go's net/http sends none)
    def _send(self, code, ctype, payload, extra=(), body=True):
        data = payload.encode() if isinstance(payload, str) else payload
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in SECURITY_HEADERS:
            self.send_header(k, v)
        for k, v in extra:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(data)
        self.wfile.flush()
        return code

    def _send_raw(self, code, status_line, headers, payload, body=True):
        """Writes a response byte for byte: status_line and headers
        [(name, value)] are bytes that http.server would refuse or
        re-encode. Returns code (what the status line says)."""
        out = [status_line + b"\r\n",
               b"Date: " + self.date_time_string().encode() + b"\r\n",
               b"Content-Length: %d\r\n" % len(payload)]
        out += [k + b": " + v + b"\r\n" for k, v in headers]
        if self.close_connection:
            out.append(b"Connection: close\r\n")
        out.append(b"\r\n")
        if body:
            out.append(payload)
        self.wfile.write(b"".join(out))
        self.wfile.flush()
        return code

    def _drain_body(self):
        n = self.headers.get("Content-Length")
        try:
            n = min(int(n), BODY_CAP) if n else 0
        except ValueError:
            n = 0
        if n > 0:
            self.rfile.read(n)

    def do_GET(self):
        self._serve(True)

    def do_HEAD(self):
        self._serve(False)

    def _serve(self, body):
        owner = self.server.owner
        st = owner._state()
        self._drain_body()
        if st["delay"]:
            time.sleep(st["delay"])
        path = self.path.split("?", 1)[0]
        host = self.headers.get("Host")
        rec = {"time": time.monotonic(), "method": self.command,
               "path": self.path, "host": host, "sni": self.sni,
               "client": self.client_address[0],
               "scenario": st["scenario"], "status": None}
        try:
            rec["status"] = self._respond(st, path, host, body)
        finally:
            owner._note_request(rec)

    def _respond(self, st, path, host, body):
        """Sends the response; returns its status (None: nothing sent)."""
        sc = st["scenario"]
        public = st["public_name"]
        if host is None:
            self.close_connection = True
            return self._send(400, "text/plain; charset=utf-8",
                              "400 Bad Request: missing required Host "
                              "header", body=body)
        h = host_of(host)
        if h.lower() != public.lower() and not is_ip_literal(h):
            return self._send(302, "text/html; charset=utf-8", "",
                              [("Location", "https://%s/web/launch/%s" %
                                (public, h))], body)
        if path not in PING_PATHS:
            return self._send(404, "text/plain; charset=utf-8",
                              "404 page not found\n", body=body)
        if sc == "hang":
            st["release"].wait(st["hang_seconds"])
            self.close_connection = True
            return None
        if sc in ("healthy", "wrong_cluster", "version_skew"):
            cluster = st["other_cluster_name"] if sc == "wrong_cluster" \
                else st["cluster_name"]
            version = st["skew_version"] if sc == "version_skew" \
                else st["server_version"]
            return self._send(200, "application/json",
                              compact(ping_body(cluster, version, public)),
                              body=body)
        if sc in ("auth_unreachable", "internal_error", "misconfigured",
                  "rate_limited"):
            code = {"auth_unreachable": 504, "internal_error": 500,
                    "misconfigured": 400, "rate_limited": 429}[sc]
            msg = st["messages"].get(sc) or MESSAGES[sc]
            return self._send(code, "application/json", error_body(msg),
                              body=body)
        if sc == "wrong_host":
            return self._send(302, "text/html; charset=utf-8", "",
                              [("Location", "https://%s/web/launch/%s" %
                                (public, "app.%s" % public))], body)
        if sc == "not_found":
            return self._send(404, "text/plain; charset=utf-8",
                              "404 page not found\n", body=body)
        if sc == "html":
            return self._send(200, "text/html; charset=utf-8", HTML_PAGE,
                              body=body)
        if sc == "bad_json":
            text = compact(ping_body(st["cluster_name"],
                                     st["server_version"], public))
            return self._send(200, "application/json", text[:len(text) // 2],
                              body=body)
        if sc in ("hostile_cluster", "hostile_version"):
            b = ping_body(st["cluster_name"], st["server_version"], public)
            if sc == "hostile_cluster":
                b["cluster_name"] = HOSTILE_CLUSTER_NAME
            else:
                b["server_version"] = HOSTILE_VERSION
                b["edition"] = HOSTILE_EDITION
            return self._send(200, "application/json", compact(b),
                              body=body)
        if sc == "hostile_error":
            return self._send(504, "application/json",
                              error_body(HOSTILE_MESSAGE), body=body)
        if sc == "invalid_utf8":
            return self._send(200, "application/json", INVALID_UTF8_BODY,
                              body=body)
        if sc == "hostile_redirect":
            return self._send_raw(302, b"HTTP/1.1 302 Found",
                                  [(b"Location", HOSTILE_LOCATION)], b"",
                                  body)
        if sc == "hostile_reason":
            return self._send_raw(503, HOSTILE_STATUS_LINE,
                                  [(b"Content-Type",
                                    b"text/plain; charset=utf-8")],
                                  b"service unavailable\n", body)
        # refused/reset reach no handler; a request on a connection opened
        # just before the switch gets its connection reset
        self.close_connection = True
        _rst_close(self.request)
        return None


class PingServer:
    """One fake proxy at host:port. Thread-safe; every method may be called
    from any thread except a handler's."""

    def __init__(self, host, port, cert, key, public_name=PUBLIC_NAME,
                 cluster_name=CLUSTER_NAME, server_version=SERVER_VERSION,
                 scenario="healthy", other_cluster_name=OTHER_CLUSTER_NAME,
                 skew_version=SKEW_VERSION, hang_seconds=HANG_SECONDS,
                 name=None):
        if scenario not in SCENARIOS:
            raise ValueError("unknown scenario %r" % scenario)
        self.host, self.port = host, port
        self.name = name or "%s:%d" % (host, port)
        self._ctl = threading.RLock()   # start/stop/switch, one at a time
        self._lock = threading.Lock()   # state read by the handlers
        self._st = {
            "scenario": scenario, "public_name": public_name,
            "cluster_name": cluster_name, "server_version": server_version,
            "other_cluster_name": other_cluster_name,
            "skew_version": skew_version, "hang_seconds": hang_seconds,
            "messages": {}, "release": threading.Event(), "delay": 0.0,
        }
        self._ctx = make_context(cert, key)
        self.cert, self.key = cert, key
        self._server = None
        self._thread = None
        self._started = False
        self._conns = {}  # handler id -> socket
        self._requests = []
        self._connections = []
        self._errors = []

    # ---- state the handlers read
    def _state(self):
        with self._lock:
            return dict(self._st)

    def _context(self):
        with self._lock:
            return self._ctx

    @property
    def scenario(self):
        with self._lock:
            return self._st["scenario"]

    def _set(self, **kw):
        with self._lock:
            self._st.update(kw)

    def set_cluster_name(self, name):
        self._set(cluster_name=name)

    def set_server_version(self, version):
        self._set(server_version=version)

    def set_delay(self, seconds):
        """Every response (whatever the scenario) waits seconds first."""
        self._set(delay=float(seconds))

    def set_message(self, scenario, message):
        """The error.message sent in an error scenario."""
        with self._lock:
            self._st["messages"][scenario] = message

    def set_certificate(self, cert, key):
        """Serves this certificate on new connections (drops open ones)."""
        ctx = make_context(cert, key)
        with self._lock:
            self._ctx = ctx
            self.cert, self.key = cert, key
        self.drop_connections()

    # ---- records
    def _note_request(self, rec):
        with self._lock:
            self._requests.append(rec)

    def _note_conn(self, client, sni, what):
        with self._lock:
            self._connections.append({"time": time.monotonic(),
                                      "client": client[0], "sni": sni,
                                      "what": what})

    def _note_error(self, client, err):
        with self._lock:
            self._errors.append({"time": time.monotonic(),
                                 "client": client[0] if client else None,
                                 "error": "%s: %s" % (type(err).__name__,
                                                      err)})

    def requests(self, since=None):
        """Recorded requests (copies), those after monotonic time since."""
        with self._lock:
            return [dict(r) for r in self._requests
                    if since is None or r["time"] >= since]

    def connections(self):
        with self._lock:
            return [dict(c) for c in self._connections]

    def errors(self):
        with self._lock:
            return [dict(e) for e in self._errors]

    def clear(self):
        with self._lock:
            self._requests.clear()
            self._connections.clear()
            self._errors.clear()

    def wait_requests(self, n=1, timeout=5.0, since=None):
        """Waits (bounded) for n recorded requests; returns them (maybe
        fewer, on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests(since)
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    # ---- connections
    def _track(self, handler, sock):
        with self._lock:
            self._conns[id(handler)] = sock

    def _untrack(self, handler):
        with self._lock:
            self._conns.pop(id(handler), None)

    def drop_connections(self, reset=False):
        """Ends every open connection (RST if reset, else FIN)."""
        with self._lock:
            socks = list(self._conns.values())
        for s in socks:
            try:
                if reset:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ---- listening
    @property
    def listening(self):
        with self._ctl:
            return self._server is not None

    def _listen(self):
        deadline = time.monotonic() + BIND_RETRY
        while True:
            try:
                srv = _Server(self, (self.host, self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if self.port == 0:
            self.port = srv.server_address[1]
        t = threading.Thread(target=srv.serve_forever,
                             kwargs={"poll_interval": 0.05},
                             name="pingserver %s" % self.name, daemon=True)
        t.start()
        self._server, self._thread = srv, t

    def _unlisten(self):
        srv, t = self._server, self._thread
        self._server = self._thread = None
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        t.join(5.0)

    def start(self):
        """Starts serving (binds unless the scenario is refused)."""
        with self._ctl:
            self._started = True
            if self.scenario != "refused" and self._server is None:
                self._listen()
        return self

    def stop(self):
        """Stops listening, drops connections, releases hanging
        requests. start() serves again on the same port."""
        with self._ctl:
            self._started = False
            self._unlisten()
            with self._lock:
                self._st["release"].set()
                self._st["release"] = threading.Event()
            self.drop_connections(reset=True)
        return self

    def restart(self):
        with self._ctl:
            self.stop()
            return self.start()

    def set_scenario(self, name):
        """Switches the behaviour for the next connections and requests."""
        if name not in SCENARIOS:
            raise ValueError("unknown scenario %r (known: %s)" %
                             (name, ", ".join(SCENARIOS)))
        with self._ctl:
            with self._lock:
                old = self._st["scenario"]
                self._st["scenario"] = name
                if old == "hang" and name != "hang":
                    self._st["release"].set()
                    self._st["release"] = threading.Event()
            if name == "refused":
                self._unlisten()
            elif self._started and self._server is None:
                self._listen()
            if name in ("refused", "reset") and old != name:
                self.drop_connections(reset=(name == "reset"))
        return self

    def url(self, path="/v1/webapi/ping"):
        with self._lock:
            public = self._st["public_name"]
        return "https://%s:%d%s" % (public, self.port, path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return "<PingServer %s %s>" % (self.name, self.scenario)


def free_tcp_port(hosts, tries=50):
    """A TCP port that binds on every address in hosts (loopback)."""
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        ok = True
        for h in hosts:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind((h, port))
            except OSError:
                ok = False
            finally:
                t.close()
            if not ok:
                break
        if ok:
            return port
    raise RuntimeError("no TCP port free on %s in %d tries" % (hosts, tries))


# --------------------------------------------------------------------------
# standalone: serve, or check every scenario with curl


def _curl(url, ca, port, host="127.0.0.1", name=PUBLIC_NAME, extra=(),
          max_time=3.0):
    """curl, the way a probe connects: returns (exit status, http code,
    content type, body, headers, stderr)."""
    fd, out = tempfile.mkstemp(prefix="pingserver-body-")
    os.close(fd)
    hdr = out + ".hdr"
    cmd = ["curl", "-sS", "--http1.1", "--cacert", ca,
           "--resolve", "%s:%d:%s" % (name, port, host),
           "--max-time", str(max_time), "-o", out, "-D", hdr,
           "-w", "%{http_code} %{content_type}"] + list(extra) + [url]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=max_time + 10)
        with open(out, errors="replace") as f:
            body = f.read()
        headers = ""
        if os.path.exists(hdr):
            with open(hdr, errors="replace") as f:
                headers = f.read()
    finally:
        for fn in (out, hdr):
            if os.path.exists(fn):
                os.unlink(fn)
    code, _, ctype = p.stdout.partition(" ")
    return p.returncode, code, ctype, body, headers, p.stderr


def selftest():
    if shutil.which("curl") is None or not testca.have_openssl():
        print("SKIP: pingserver selftest needs curl and openssl")
        return 77
    failures = []

    def check(what, cond, detail=""):
        print("%-4s %s%s" % ("ok" if cond else "FAIL", what,
                             "" if cond else "  (%r)" % (detail,)))
        if not cond:
            failures.append(what)

    ca = testca.TestCA()
    host = "127.0.0.1"
    try:
        cert, key = ca.leaf(PUBLIC_NAME)
        port = free_tcp_port([host])
        srv = PingServer(host, port, cert, key).start()
        url = srv.url()

        def get(path="/v1/webapi/ping", **kw):
            return _curl("https://%s:%d%s" % (PUBLIC_NAME, port, path),
                         ca.ca_cert, port, host, **kw)

        rc, code, ctype, body, hdrs, err = get()
        ok = rc == 0 and code == "200" and ctype == "application/json"
        check("healthy: 200 application/json", ok, (rc, code, ctype, err))
        check("healthy: one line", body.count("\n") == 1 and
              body.endswith("\n"), repr(body[:80]))
        j = json.loads(body) if ok else {}
        check("healthy: keys", set(j) >= {
            "auth", "proxy", "server_version", "min_client_version",
            "cluster_name", "automatic_upgrades", "auto_update", "edition",
            "fips"}, sorted(j))
        check("healthy: cluster_name", j.get("cluster_name") == CLUSTER_NAME,
              j.get("cluster_name"))
        check("healthy: public_addr",
              j.get("proxy", {}).get("ssh", {}).get("public_addr") ==
              PUBLIC_NAME + ":443", j.get("proxy"))
        check("healthy: Cache-Control",
              "no-cache, no-store, must-revalidate" in hdrs, hdrs)
        check("healthy: no Server header", "\nserver:" not in hdrs.lower(),
              hdrs)
        rc, code, ctype, body, _, err = get("/webapi/ping")
        check("healthy: /webapi/ping too", rc == 0 and code == "200" and
              json.loads(body)["cluster_name"] == CLUSTER_NAME, (rc, code))
        rc, code, _, _, _, _ = get("/v1/webapi/other")
        check("other path: 404", code == "404", code)
        rc, code, _, _, _, _ = get(extra=["-I"])
        check("HEAD: 200", rc == 0 and code == "200", (rc, code))
        reqs = srv.requests()
        check("recorded: SNI and Host carry the public name",
              reqs and all(r["sni"] == PUBLIC_NAME and
                           host_of(r["host"]) == PUBLIC_NAME for r in reqs),
              reqs)
        check("recorded: path", reqs and reqs[0]["path"] == "/v1/webapi/ping",
              reqs[:1])

        # Host other than the public name: 302; an IP literal: fine
        rc, code, _, _, hdrs, _ = get(extra=["-H", "Host: evil.example"])
        check("wrong Host header: 302 with Location", code == "302" and
              "location: https://%s/web/launch/evil.example" % PUBLIC_NAME
              in hdrs.lower(), (code, hdrs))
        rc, code, _, _, _, _ = get(extra=["-H", "Host: 127.0.0.1:%d" % port])
        check("IP literal Host header: 200", code == "200", code)

        cases = [
            ("auth_unreachable", "504", "application/json",
             {"error": {"message": "auth unreachable"}}),
            ("internal_error", "500", "application/json", None),
            ("misconfigured", "400", "application/json",
             {"error": {"message": MESSAGES["misconfigured"]}}),
            ("rate_limited", "429", "application/json", None),
            ("wrong_host", "302", None, None),
            ("not_found", "404", "text/plain; charset=utf-8", None),
            ("html", "200", "text/html; charset=utf-8", None),
        ]
        for sc, want_code, want_ctype, want_json in cases:
            srv.set_scenario(sc)
            rc, code, ctype, body, hdrs, err = get()
            ok = rc == 0 and code == want_code and \
                (want_ctype is None or ctype == want_ctype)
            if want_json is not None:
                try:
                    ok = ok and json.loads(body) == want_json
                except ValueError:
                    ok = False
            if sc == "wrong_host":
                ok = ok and "\nlocation: https://" in hdrs.lower()
            check("%s: %s" % (sc, want_code), ok, (rc, code, ctype, body,
                                                   err))
        srv.set_scenario("bad_json")
        rc, code, ctype, body, _, _ = get()
        try:
            json.loads(body)
            bad = False
        except ValueError:
            bad = True
        check("bad_json: 200 application/json, not JSON", rc == 0 and
              code == "200" and ctype == "application/json" and bad,
              (rc, code, body))
        srv.set_scenario("wrong_cluster")
        rc, code, _, body, _, _ = get()
        check("wrong_cluster: 200, other cluster_name", code == "200" and
              json.loads(body)["cluster_name"] == OTHER_CLUSTER_NAME, body)
        srv.set_scenario("version_skew")
        rc, code, _, body, _, _ = get()
        check("version_skew: 200, other server_version", code == "200" and
              json.loads(body)["server_version"] == SKEW_VERSION, body)
        # hostile text: the bytes arrive as they were written
        raw_cases = [
            ("hostile_cluster", "200",
             lambda b, h: json.loads(b)["cluster_name"] ==
             HOSTILE_CLUSTER_NAME),
            ("hostile_version", "200",
             lambda b, h: json.loads(b)["server_version"] ==
             HOSTILE_VERSION),
            ("hostile_error", "504",
             lambda b, h: json.loads(b)["error"]["message"] ==
             HOSTILE_MESSAGE),
            ("invalid_utf8", "200",
             lambda b, h: b.startswith('{"cluster_name":"\\\x9b[2J\ufffd')),
            ("hostile_redirect", "302",
             lambda b, h: "FAKE-redirect" in h and "\x1b[2J" in h),
            ("hostile_reason", "503",
             lambda b, h: "FAKE-reason" in h and "\x1b[31m" in h),
        ]
        for sc, want_code, ok_fn in raw_cases:
            srv.set_scenario(sc)
            rc, code, _, body, hdrs, err = get()
            try:
                ok = rc == 0 and code == want_code and ok_fn(body, hdrs)
            except (ValueError, KeyError):
                ok = False
            check("%s: %s" % (sc, want_code), ok, (rc, code, body[:80],
                                                   hdrs[:200], err))
        srv.set_scenario("healthy")
        c, k = ca.hostile_subject()
        srv.set_certificate(c, k)
        rc, _, _, _, _, err = get()
        check("hostile subject name: curl 60 quotes it",
              rc == 60 and "FAKE-cert" in err, (rc, err))
        srv.set_certificate(cert, key)

        srv.set_cluster_name("renamed.example.org")
        srv.set_server_version("19.0.0")
        srv.set_scenario("healthy")
        rc, code, _, body, _, _ = get()
        j = json.loads(body) if code == "200" else {}
        check("configurable cluster_name and server_version",
              j.get("cluster_name") == "renamed.example.org" and
              j.get("server_version") == "19.0.0", j)
        srv.set_cluster_name(CLUSTER_NAME)
        srv.set_server_version(SERVER_VERSION)

        # hang: the request times out, other connections are served
        srv.set_scenario("hang")
        t0 = time.monotonic()
        hung = subprocess.Popen(
            ["curl", "-sS", "--cacert", ca.ca_cert, "--resolve",
             "%s:%d:%s" % (PUBLIC_NAME, port, host), "--max-time", "3",
             "-o", os.devnull, url], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        rc, _, _, _, _, err = get(max_time=1)
        check("hang: curl --max-time 1 gives up (28)", rc == 28, (rc, err))
        srv.set_scenario("healthy")
        rc, code, _, _, _, _ = get()
        check("hang: another connection is served meanwhile", code == "200",
              (rc, code))
        hung.wait(10)
        check("hang: released by the switch, nothing sent",
              hung.returncode == 52 and time.monotonic() - t0 < 3,
              (hung.returncode, hung.stderr.read()))

        # refused, then the same port again
        srv.set_scenario("refused")
        rc, _, _, _, _, err = get()
        check("refused: curl 7", rc == 7, (rc, err))
        try:
            socket.create_connection((host, port), timeout=2).close()
            how = "connected"
        except ConnectionRefusedError:
            how = "refused"
        except OSError as e:
            how = str(e)
        check("refused: ECONNREFUSED", how == "refused", how)
        srv.set_scenario("healthy")
        rc, code, _, _, _, _ = get()
        check("refused -> healthy: same port again", rc == 0 and
              code == "200", (rc, code))
        srv.set_scenario("refused")
        srv.set_scenario("refused")
        srv.set_scenario("misconfigured")
        rc, code, _, _, _, _ = get()
        check("refused -> misconfigured: listening", code == "400",
              (rc, code))

        srv.set_scenario("reset")
        rc, _, _, _, _, err = get()
        check("reset: connection reset (curl 35 or 56)",
              rc in (35, 56) and "reset" in err.lower(), (rc, err))
        srv.set_scenario("healthy")

        # certificates
        for what, (c, k), want in (
                ("self-signed", ca.self_signed(PUBLIC_NAME), "self-signed"),
                ("wrong name", ca.wrong_name(), "subject name")):
            srv.set_certificate(c, k)
            rc, _, _, _, _, err = get()
            check("%s certificate: curl 60" % what,
                  rc == 60 and want in err.lower(), (rc, err))
        srv.set_certificate(cert, key)
        rc, code, _, _, _, _ = get()
        check("right certificate again: 200", code == "200", (rc, code))

        # stop/start and restart on the same port, several times
        for i in range(3):
            srv.restart()
            rc, code, _, _, _, _ = get()
            check("restart %d: 200" % (i + 1), code == "200", (rc, code))
        srv.stop()
        rc, _, _, _, _, _ = get()
        check("stopped: refused", rc == 7, rc)
        srv.start()
        rc, code, _, _, _, _ = get()
        check("started again: 200", code == "200", (rc, code))

        # keep-alive: a connection opened while healthy ends on "refused"
        n0 = len(srv.connections())
        rc, code, _, _, _, _ = get(extra=["--next", "--cacert", ca.ca_cert,
                                          "--resolve", "%s:%d:%s" %
                                          (PUBLIC_NAME, port, host), "-o",
                                          os.devnull, url])
        check("keep-alive: two requests, one connection",
              len(srv.connections()) - n0 == 1, srv.connections()[n0:])
        srv.stop()
    finally:
        ca.cleanup()
    print("pingserver selftest: %d failures" % len(failures))
    return 1 if failures else 0


def serve(args):
    ca = None
    cert, key = args.cert, args.key
    if not cert:
        ca = testca.TestCA()
        cert, key = ca.leaf(args.public_name, ["127.0.0.1"])
        print("made a test CA: %s" % ca.ca_cert, flush=True)
    srv = PingServer(args.host, args.port, cert, key,
                     public_name=args.public_name,
                     cluster_name=args.cluster_name,
                     server_version=args.server_version,
                     scenario=args.scenario).start()
    print("serving %s on %s port %d (scenario %s); try:\n  curl --cacert %s "
          "--resolve %s:%d:%s %s" % (args.public_name, args.host, srv.port,
                                     srv.scenario,
                                     ca.ca_cert if ca else "CA.pem",
                                     args.public_name, srv.port, args.host,
                                     srv.url()), flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            try:
                if words[0] == "quit":
                    break
                elif words[0] == "requests":
                    for r in srv.requests():
                        print(json.dumps(r), flush=True)
                elif words[0] == "cert" and ca and len(words) == 2:
                    pair = {"leaf": (cert, key),
                            "selfsigned": ca.self_signed(args.public_name),
                            "wrongname": ca.wrong_name()}[words[1]]
                    srv.set_certificate(*pair)
                    print("certificate: %s" % words[1], flush=True)
                else:
                    srv.set_scenario(words[-1])
                    print("scenario: %s" % srv.scenario, flush=True)
            except (ValueError, KeyError, OSError) as e:
                print("error: %s" % e, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        if ca:
            ca.cleanup()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Teleport ping endpoint")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--public-name", default=PUBLIC_NAME)
    ap.add_argument("--cluster-name", default=CLUSTER_NAME)
    ap.add_argument("--server-version", default=SERVER_VERSION)
    ap.add_argument("--scenario", default="healthy", choices=SCENARIOS)
    args = ap.parse_args(argv)
    if args.selftest:
        return selftest()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
