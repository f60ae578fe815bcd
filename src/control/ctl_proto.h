/* ctl_proto.h: the control protocol between geosteer (the CLI) and
 * geosteerd, declared once and linked by both programs.
 *
 * Transport: a Unix stream socket. Each message is one JSON object on one
 * line, ended by '\n' (JSON strings escape their newlines). The client
 * sends a request, reads one reply, and may send another request on the
 * same connection. A request longer than CTL_REQUEST_MAX or a reply longer
 * than CTL_REPLY_MAX is an error (the daemon closes the connection; the
 * CLI reports it).
 *
 * Request:  {"version": 1, "command": "drain", "args": {...}}
 * Reply:    {"version": 1, "ok": true, "result": {...}}
 *       or  {"version": 1, "ok": false, "error": "one line",
 *            "errors": ["line", ...]}           ("errors" optional)
 *
 * A request whose version the daemon does not speak is answered with
 * ok=false naming the versions it speaks; fields not listed here are
 * ignored by both sides, so adding one needs no new version.
 *
 * Commands and their args (all optional unless marked):
 *   status   {}
 *   drain    {"region": S (required), "service": S, "reason": S,
 *             "for": seconds (number > 0), "force": bool}
 *   undrain  {"region": S (required), "service": S}
 *   explain  {"address": S (required), "name": S}
 *   reload   {}
 *
 * Results (what `geosteer ... --json` prints is the result object as
 * sent; times are Unix seconds, null when absent):
 *
 *   status: {
 *     "daemon": {"version", "pid", "started", "config_file",
 *                "config_loaded", "control_socket", "state_file"},
 *     "services": [{
 *       "name", "hosts": [S], "ttl", "when_all_down": "fail-open"|
 *       "fail-closed", "checked": bool (has health checks),
 *       "state": "ok" (a region is usable) | "fail-open" | "fail-closed"
 *                | "all-drained" (no region usable; what answers do),
 *       "version_warning": S|null,
 *       "regions": [{
 *         "name", "usable": bool,
 *         "state": "up" | "down" | "drained" | "fail-open" (down, but
 *                  answered because no region is usable),
 *         "drain": null | {"reason", "author", "start", "expires"},
 *         "addresses": [ADDR], "check_addresses": [ADDR] (only when
 *         the region probes check_addresses instead) }] }],
 *     "orphaned_drains": [{"service", "region", "reason", "author",
 *                          "start", "expires"}] }
 *   ADDR: {"address", "state": "up"|"down"|"unknown"|"static",
 *          "probed": bool, "last_result": "pass"|"fail"|"inconclusive"|
 *          null, "reason": S|null (last failure), "latency_ms": N|null,
 *          "passes", "fails" (consecutive), "since": T|null (last state
 *          change), "server_version": S|null}
 *
 *   drain:   {"drained": [{"service", "region", "reason", "author",
 *             "start", "expires"}]}
 *   undrain: {"undrained": [{"service", "region"}],
 *             "not_drained": [{"service", "region"}]}
 *   reload:  {"config_file", "config_loaded"}; on failure ok=false with
 *            every error in "errors"
 *   explain: {
 *     "address", "family": 4|6,
 *     "location": {"source": "overrides"|"database"|"default_location"|
 *                  "none", "file": S|null, "line": N|null,
 *                  "country": S|null, "lat": N|null, "lon": N|null,
 *                  "region": S|null (an override naming a region)},
 *     "services": [{
 *       "service", "name" (the name explained: the steered name that
 *       --name reaches, through CNAMEs and DNAMEs as the server answers,
 *       else the service's first host), "asked" (--name as given; only
 *       with --name), "scope": N (ECS scope prefix length),
 *       "order": [{"region", "distance_km": N|null, "state", "usable"}],
 *       "mode": "normal"|"fail-open"|"fail-closed"|"all-drained",
 *       "ttl": N, "rcode": "NOERROR"|"SERVFAIL",
 *       "a":    {"region": S|null, "addresses": [S]},
 *       "aaaa": {"region": S|null, "addresses": [S]} }] }
 *
 * Errors that name things list the known ones: "unknown region "x"
 * (known: a, b, c)". */
#ifndef GS_CONTROL_CTL_PROTO_H
#define GS_CONTROL_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CTL_VERSION 1
#define CTL_REQUEST_MAX (64 * 1024)
#define CTL_REPLY_MAX (16 * 1024 * 1024)
/* The defaults of the config's control_socket and state_file. */
#define CTL_DEFAULT_SOCKET "/run/geosteer/control.sock"
#define CTL_DEFAULT_STATE "/var/lib/geosteer/state.json"
/* Longest drain: a year. */
#define CTL_DRAIN_MAX_SECONDS (366.0 * 86400.0)

/* Parses a duration: a number of seconds ("90", "1.5"), or one or more
 * number+unit parts with units s, m, h, d ("90s", "45m", "2h", "1d",
 * "1h30m"). Must be > 0 and at most CTL_DRAIN_MAX_SECONDS. Returns 0 and
 * *secs, or GS_EINVAL (syntax) / GS_ERANGE (zero, negative, too long). */
int ctl_parse_duration(const char *s, double *secs);

/* Formats seconds as a short duration ("45s", "12m", "2h05m", "3d4h")
 * into buf. Returns buf. */
const char *ctl_format_duration(double secs, char *buf, size_t len);

/* Encodes a request line (with the final '\n'). Takes ownership of args
 * (NULL: {}). Returns a string the caller frees. Never fails. */
char *ctl_request_encode(const char *command, json_t *args);

/* Decodes a request line (without its '\n'). On success returns 0, and
 * *command (borrowed from *msg) and *args (borrowed, an object) point into
 * *msg, which the caller owns (json_decref). On failure returns GS_EINVAL
 * with the reason in err and *msg NULL. */
int ctl_request_decode(const char *line, size_t len, json_t **msg,
		       const char **command, json_t **args, char *err,
		       size_t errlen);

/* Encodes a reply line (with '\n'). ctl_reply_ok takes ownership of
 * result (NULL: {}); ctl_reply_error of errors (NULL: none). The caller
 * frees the string. Never fails. */
char *ctl_reply_ok(json_t *result);
char *ctl_reply_error(const char *error, json_t *errors);

/* ---- client side (the CLI and tests) --------------------------------- */

/* Connects to the socket at path. Returns a file descriptor, or -1 with a
 * message naming the path and the reason in err. */
int ctl_client_connect(const char *path, char *err, size_t errlen);

/* Sends one request (takes ownership of args) and waits at most timeout
 * seconds for its reply. Returns 0 and the decoded reply object in *reply
 * (caller owns), whether ok is true or not; or GS_EIO / GS_EMALF with the
 * reason in err. */
int ctl_client_call(int fd, const char *command, json_t *args,
		    double timeout, json_t **reply, char *err, size_t errlen);

#endif
