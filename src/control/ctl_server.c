/* ctl_server.c: the control socket on libevent bufferevents. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/files.h"
#include "common/log.h"
#include "control/ctl_proto.h"
#include "control/ctl_server.h"

struct client {
	struct ctl_server *srv;
	struct client *next, *prev;
	struct bufferevent *bev;
	struct ctl_peer peer;
	bool closing; /* close once the output is sent */
	char *refusal; /* answer every request with this, then close */
};

struct ctl_server {
	char *path;
	int fd;
	dev_t dev;
	ino_t ino;
	gid_t gid; /* the socket's group */
	struct evconnlistener *listener;
	const struct ctl_command *cmds;
	void *arg;
	struct client *clients;
	unsigned n_clients;
	struct event *resume; /* the listener rests after an accept error */
	unsigned long accept_errors; /* while resting, not logged again */
};

/* ---- the socket file -------------------------------------------------- */

/* 0: nothing there (or a stale socket, removed); GS_EEXIST: a live one. */
static int clear_stale(const char *path, const struct sockaddr_un *sa,
		       socklen_t len)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_err("control: %s: cannot inspect (%s)", path,
			strerror(errno));
		return GS_EIO;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("control: %s exists and is not a socket; not "
			"replacing it",
			path);
		return GS_EINVAL;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("control: socket: %s", strerror(errno));
		return GS_EIO;
	}
	int r = connect(fd, (const struct sockaddr *)sa, len);
	int e = errno;
	close(fd);
	if (r == 0) {
		log_err("control: %s: another geosteerd is running and "
			"answers on it",
			path);
		return GS_EEXIST;
	}
	if (e != ECONNREFUSED) {
		log_err("control: %s: cannot tell whether a daemon answers on "
			"it (%s)",
			path, strerror(e));
		return GS_EIO;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_err("control: %s: cannot remove the stale socket (%s)",
			path, strerror(errno));
		return GS_EIO;
	}
	log_info("control: removed the stale socket %s", path);
	return 0;
}

int ctl_server_open(const char *path, struct ctl_server **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	int fd = -1, ret;
	*out = NULL;
	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		log_err("control: %s: a socket path must be 1 to %zu bytes "
			"(got %zu)",
			path, sizeof(sa.sun_path) - 1, plen);
		return GS_EINVAL;
	}
	memcpy(sa.sun_path, path, plen);
	socklen_t slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				     plen + 1);
	char *dir = gs_xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (gs_mkdir_p(dir, 0750) != 0) {
			log_err("control: cannot create directory %s (%s)", dir,
				strerror(errno));
			free(dir);
			return GS_EIO;
		}
	}
	free(dir);
	ret = clear_stale(path, &sa, slen);
	if (ret != 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_err("control: socket: %s", strerror(errno));
		return GS_EIO;
	}
	/* No moment with wider permissions than 0660. */
	mode_t old = umask(0117);
	int r = bind(fd, (struct sockaddr *)&sa, slen);
	int e = errno;
	umask(old);
	struct stat st;
	if (r != 0) {
		log_err("control: cannot bind %s (%s)", path, strerror(e));
		goto fail;
	}
	if (chmod(path, 0660) != 0 || stat(path, &st) != 0) {
		log_err("control: %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (listen(fd, 16) != 0) {
		log_err("control: cannot listen on %s (%s)", path,
			strerror(errno));
		unlink(path);
		goto fail;
	}
	struct ctl_server *s = gs_xcalloc(1, sizeof(*s));
	s->path = gs_xstrdup(path);
	s->fd = fd;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->gid = st.st_gid;
	*out = s;
	return 0;
fail:
	close(fd);
	return GS_EIO;
}

const char *ctl_server_path(const struct ctl_server *s)
{
	return s->path;
}

/* ---- clients ---------------------------------------------------------- */

static void client_free(struct client *c)
{
	struct ctl_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_clients--;
	bufferevent_free(c->bev);
	free(c->refusal);
	free(c);
}

static void send_line(struct client *c, char *line)
{
	bufferevent_write(c->bev, line, strlen(line));
	free(line);
}

/* Replies, then closes once the reply is out. */
static void send_final(struct client *c, char *line)
{
	send_line(c, line);
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
}

static char *dispatch(struct client *c, const char *line, size_t len)
{
	struct ctl_server *s = c->srv;
	char err[256];
	json_t *msg = NULL, *args = NULL;
	const char *cmd = NULL;
	if (ctl_request_decode(line, len, &msg, &cmd, &args, err,
			       sizeof(err)) != 0)
		return ctl_reply_error(err, NULL);
	char *reply = NULL;
	for (const struct ctl_command *k = s->cmds; k->name; k++) {
		if (strcmp(k->name, cmd) == 0) {
			reply = k->fn(s->arg, &c->peer, args);
			break;
		}
	}
	if (!reply) {
		char known[256] = "";
		size_t off = 0;
		for (const struct ctl_command *k = s->cmds; k->name; k++) {
			int n = snprintf(known + off, sizeof(known) - off,
					 "%s%s", off ? ", " : "", k->name);
			if (n < 0 || (size_t)n >= sizeof(known) - off)
				break;
			off += (size_t)n;
		}
		char *m = gs_xasprintf("unknown command \"%.64s\" (known: %s)",
				       cmd, known);
		reply = ctl_reply_error(m, NULL);
		free(m);
	}
	json_decref(msg);
	return reply;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	/* One request at a time: the next is read once this reply is
	 * out (on_write turns reading back on). */
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		bufferevent_disable(bev, EV_READ);
		return;
	}
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (c->refusal && (line || evbuffer_get_length(in) > 0)) {
		/* Its request is read first: closing with unread data would
		 * reset the connection and lose the reason. */
		free(line);
		evbuffer_drain(in, evbuffer_get_length(in));
		send_final(c, ctl_reply_error(c->refusal, NULL));
		return;
	}
	if (!line) {
		if (evbuffer_get_length(in) > CTL_REQUEST_MAX) {
			log_warn("control: %s (pid %d): request longer than "
				 "%d bytes, closing",
				 c->peer.user, (int)c->peer.pid,
				 CTL_REQUEST_MAX);
			send_final(c, ctl_reply_error("request too long",
						      NULL));
		}
		return;
	}
	if (len > CTL_REQUEST_MAX) {
		free(line);
		send_final(c, ctl_reply_error("request too long", NULL));
		return;
	}
	send_line(c, dispatch(c, line, len));
	free(line);
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		bufferevent_disable(bev, EV_READ);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (c->closing) {
		client_free(c);
		return;
	}
	bufferevent_enable(bev, EV_READ);
	/* Requests that arrived while the reply was going out. */
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		on_read(bev, c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	if (what & BEV_EVENT_TIMEOUT)
		log_info("control: %s (pid %d): %s timed out, closing",
			 c->peer.user, (int)c->peer.pid,
			 (what & BEV_EVENT_WRITING) ? "reply" : "connection");
	client_free(c);
}

static bool in_group(int fd, gid_t gid, const struct ucred *cr)
{
	if (cr->gid == gid)
		return true;
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static void user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", res->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* Says why, without blocking, and closes. */
static void refuse(int fd, const char *why)
{
	char *line = ctl_reply_error(why, NULL);
	ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
	free(line);
	close(fd);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct ctl_server *s = arg;
	struct ucred cr;
	if (s->accept_errors > 1)
		log_info("control: accepting again (%lu more accept errors)",
			 s->accept_errors - 1);
	s->accept_errors = 0;
	socklen_t crlen = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0) {
		log_warn("control: cannot read peer credentials (%s), "
			 "refusing",
			 strerror(errno));
		refuse(fd, "cannot read your credentials");
		return;
	}
	char *refusal = NULL;
	if (cr.uid != 0 && cr.uid != geteuid() && !in_group(fd, s->gid, &cr)) {
		log_warn("control: refused uid %u (pid %d): not root, not "
			 "geosteerd's user, not in group %u",
			 (unsigned)cr.uid, (int)cr.pid, (unsigned)s->gid);
		refusal = gs_xasprintf(
		    "refused: uid %u is not root, geosteerd's user or a "
		    "member of group %u",
		    (unsigned)cr.uid, (unsigned)s->gid);
	}
	if (s->n_clients >= CTL_MAX_CLIENTS) {
		free(refusal);
		log_warn("control: %u clients connected, refusing another "
			 "(pid %d)",
			 s->n_clients, (int)cr.pid);
		refuse(fd, "too many control connections, try again");
		return;
	}
	struct event_base *base = evconnlistener_get_base(l);
	struct client *c = gs_xcalloc(1, sizeof(*c));
	c->srv = s;
	c->peer.uid = cr.uid;
	c->peer.gid = cr.gid;
	c->peer.pid = cr.pid;
	c->refusal = refusal;
	user_name(cr.uid, c->peer.user, sizeof(c->peer.user));
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		log_err("control: cannot set up a connection");
		close(fd);
		free(refusal);
		free(c);
		return;
	}
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* Stop reading past the cap plus a line: the request is refused
	 * then anyway. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_REQUEST_MAX + 2);
	struct timeval rt = {refusal ? 5 : CTL_IDLE_TIMEOUT, 0},
		       wt = {CTL_WRITE_TIMEOUT, 0};
	bufferevent_set_timeouts(c->bev, &rt, &wt);
	bufferevent_enable(c->bev, EV_READ);
	log_debug("control: connection from %s (pid %d)", c->peer.user,
		  (int)cr.pid);
}

/* How long the listener rests after accept fails (EMFILE and the like):
 * the connection waits in the backlog and would wake the loop at once,
 * again and again, logging each time. */
#define CTL_ACCEPT_PAUSE_MS 200

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(s->listener);
}

static void on_listen_error(struct evconnlistener *l, void *arg)
{
	struct ctl_server *s = arg;
	/* Said once per run of failures, not once per wake-up. */
	if (s->accept_errors++ == 0)
		log_warn("control: accept on %s failed (%s), pausing",
			 s->path, strerror(errno));
	evconnlistener_disable(l);
	const struct timeval tv = {0, CTL_ACCEPT_PAUSE_MS * 1000};
	event_add(s->resume, &tv);
}

void ctl_server_start(struct ctl_server *s, struct event_base *base,
		      const struct ctl_command *cmds, void *arg)
{
	s->cmds = cmds;
	s->arg = arg;
	s->listener = evconnlistener_new(base, on_accept, s,
					 LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_CLOSE_ON_FREE,
					 -1, s->fd);
	if (!s->listener) {
		log_err("control: cannot serve %s", s->path);
		return;
	}
	s->fd = -1; /* the listener has it now... */
	evconnlistener_set_error_cb(s->listener, on_listen_error);
	s->resume = evtimer_new(base, on_resume, s);
}

void ctl_server_free(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s->clients);
	if (s->resume)
		event_free(s->resume);
	if (s->listener)
		evconnlistener_free(s->listener); /* ...and closes it */
	if (s->fd >= 0)
		close(s->fd);
	struct stat st;
	if (lstat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	free(s->path);
	free(s);
}
