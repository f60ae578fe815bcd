/* ctl_server.h: the daemon's end of the control socket. A Unix stream
 * socket (mode 0660) served from the main thread's libevent loop: each
 * client sends request lines and gets one reply line per request (see
 * ctl_proto.h). Peers must be root, the daemon's own user, or members of
 * the socket's group; others are refused and logged. A client cannot
 * stall the daemon or other clients: reads and writes never block, each
 * connection has idle and write timeouts, a request has a size cap, and
 * a client gets no new request read while its last reply is unsent.
 * Everything here runs on the main thread. */
#ifndef GS_CONTROL_CTL_SERVER_H
#define GS_CONTROL_CTL_SERVER_H

#include <sys/types.h>

#include <jansson.h>

#define CTL_MAX_CLIENTS 64
#define CTL_IDLE_TIMEOUT 60  /* seconds without a request */
#define CTL_WRITE_TIMEOUT 10 /* seconds for a reply to be taken */

struct event_base;
struct ctl_server;

/* Who is asking. */
struct ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64]; /* user name, or "uid N" */
};

/* A command: args is the request's args object (borrowed). Returns a
 * reply line from ctl_reply_ok() or ctl_reply_error(); the server takes
 * ownership. */
typedef char *(*ctl_handler_fn)(void *arg, const struct ctl_peer *peer,
				json_t *args);

struct ctl_command {
	const char *name;
	ctl_handler_fn fn;
};

/* Creates the socket at path: makes its directory (0750) if missing,
 * replaces a stale socket left by a dead daemon, and refuses to touch one
 * that a live daemon answers on, or a path that is not a socket. Returns
 * 0 and a server that accepts nothing until ctl_server_start(), or
 * GS_EEXIST (live daemon) / GS_EIO / GS_EINVAL with the reason logged. */
int ctl_server_open(const char *path, struct ctl_server **out);

/* Starts serving on base. cmds ends with {NULL, NULL}; both cmds and arg
 * must outlive the server. */
void ctl_server_start(struct ctl_server *s, struct event_base *base,
		      const struct ctl_command *cmds, void *arg);

/* The socket's path (as opened). */
const char *ctl_server_path(const struct ctl_server *s);

/* Closes every connection and the socket, and removes the socket file if
 * it is still the one this server created. NULL is a no-op. */
void ctl_server_free(struct ctl_server *s);

#endif
