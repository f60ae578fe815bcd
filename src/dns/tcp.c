#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dns/tcp.h"

#define MSG_MAX 65535
/* A connection's buffers start at BUF_MIN bytes and double as needed. */
#define BUF_MIN 512
/* Input: grown to hold the message being received, at most this. */
#define RBUF_MAX (2 + MSG_MAX)
/* Output: room for two full-size answers, so a pipelining client keeps
 * getting answers while the previous ones drain. With more than
 * WBUF_HIGH bytes unsent there is no room for another full answer, and
 * the connection is not read until the output drains below it. */
#define WBUF_MAX (2 * (2 + MSG_MAX))
#define WBUF_HIGH (WBUF_MAX - (2 + MSG_MAX))
/* Closed connections kept (with their events) for the next accepts. */
#define POOL_MAX 64

enum close_reason { CLOSE_DEADLINE, CLOSE_EVICTED, CLOSE_PEER };

struct tcp_conn {
	struct tcp_server *srv;
	/* Open: in srv's list, least recently renewed first. In the pool:
	 * next links the pool. */
	struct tcp_conn *prev, *next;
	int64_t renewed; /* CLOCK_MONOTONIC ns: accept or last renewal */
	int fd;
	bool reading;	  /* ev_read is added */
	bool writing;	  /* ev_write is added */
	bool out_blocked; /* the last send stopped short (EAGAIN) */
	struct event *ev_read;
	struct event *ev_write;
	uint8_t *rbuf; /* rlen bytes of input, from a message's start */
	size_t rlen, rcap;
	uint8_t *wbuf; /* output: [woff, wlen) is unsent */
	size_t woff, wlen, wcap;
	struct sockaddr_storage peer;
};

struct tcp_listener {
	int fd;
	struct event *ev;
	const char *text;
};

struct tcp_server {
	struct event_base *base;
	pthread_t thread;
	bool started;
	struct view_pub *pub;
	unsigned reader;
	int64_t timeout_ns;
	struct event *ev_deadline; /* pending while a connection is open */
	struct event *ev_resume;   /* listeners paused: out of descriptors */
	size_t n_listeners;
	struct tcp_listener *listeners;
	unsigned max_clients;
	unsigned n_open;
	struct tcp_conn *oldest, *newest; /* open, by renewal */
	struct tcp_conn *pool;
	unsigned n_pool;
	/* Written by the thread, read by anyone. */
	atomic_uint_least64_t accepted;
	atomic_uint_least64_t closed[3]; /* by enum close_reason */
	struct answer_ctx ctx;
	uint8_t out[MSG_MAX];
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void count(atomic_uint_least64_t *n)
{
	/* One writer: a relaxed load and store is enough. */
	atomic_store_explicit(n,
			      atomic_load_explicit(n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void list_unlink(struct tcp_conn *c)
{
	struct tcp_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->newest = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct tcp_conn *c)
{
	struct tcp_server *s = c->srv;
	c->prev = s->newest;
	c->next = NULL;
	if (s->newest)
		s->newest->next = c;
	else
		s->oldest = c;
	s->newest = c;
}

/* Arms the deadline timer for the oldest connection's deadline. */
static void deadline_arm(struct tcp_server *s, int64_t now)
{
	if (!s->oldest)
		return;
	int64_t left = s->oldest->renewed + s->timeout_ns - now;
	/* In microseconds, rounded up: never before the deadline. */
	int64_t us = left > 0 ? (left + 999) / 1000 : 0;
	struct timeval tv = {(time_t)(us / 1000000),
			     (suseconds_t)(us % 1000000)};
	event_add(s->ev_deadline, &tv);
}

/* A new deadline for c: it becomes the newest. Deadlines share one
 * duration, so the list stays in deadline order and the pending timer
 * (set for an older deadline) still fires in time. */
static void conn_renew(struct tcp_conn *c, int64_t now)
{
	c->renewed = now;
	if (c->srv->newest != c) {
		list_unlink(c);
		list_append(c);
	}
}

static void conn_free(struct tcp_conn *c)
{
	event_free(c->ev_read);
	event_free(c->ev_write);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

/* A connection from the pool, or a new one. Not open, no fd. */
static struct tcp_conn *conn_get(struct tcp_server *s)
{
	struct tcp_conn *c = s->pool;
	if (c) {
		s->pool = c->next;
		s->n_pool--;
		c->next = NULL;
		return c;
	}
	c = gs_xcalloc(1, sizeof(*c));
	c->srv = s;
	c->fd = -1;
	c->ev_read = event_new(s->base, -1, 0, NULL, NULL);
	c->ev_write = event_new(s->base, -1, 0, NULL, NULL);
	if (!c->ev_read || !c->ev_write) {
		log_err("tcp: cannot allocate an event");
		abort();
	}
	return c;
}

static void conn_close(struct tcp_conn *c, enum close_reason why)
{
	struct tcp_server *s = c->srv;
	if (c->reading)
		event_del(c->ev_read);
	if (c->writing)
		event_del(c->ev_write);
	c->reading = c->writing = c->out_blocked = false;
	close(c->fd);
	c->fd = -1;
	list_unlink(c);
	s->n_open--;
	count(&s->closed[why]);
	c->rlen = c->woff = c->wlen = 0;
	if (s->n_pool >= POOL_MAX) {
		conn_free(c);
		return;
	}
	/* Keep small buffers with the pooled connection, free grown ones. */
	if (c->rcap > BUF_MIN) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
	if (c->wcap > BUF_MIN) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = 0;
	}
	c->next = s->pool;
	s->pool = c;
	s->n_pool++;
}

/* Grows *buf (capacity *cap) to at least need bytes, doubling from
 * BUF_MIN, at most max (need <= max). */
static void buf_reserve(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
	if (*cap >= need)
		return;
	size_t n = *cap ? *cap : BUF_MIN;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	*buf = gs_xreallocarray(*buf, n, 1);
	*cap = n;
}

static size_t msg_len(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static bool has_whole_msg(const struct tcp_conn *c)
{
	return c->rlen >= 2 && c->rlen >= 2 + msg_len(c->rbuf);
}

static bool out_has_room(const struct tcp_conn *c)
{
	return c->wlen - c->woff <= WBUF_HIGH;
}

/* Switches reading and writing on and off to match the buffers: reading
 * while there is room for another full answer, writing while output is
 * unsent. Every path that changes the buffers ends here, so reading
 * resumes however the output drains. */
static void conn_want(struct tcp_conn *c)
{
	bool r = out_has_room(c), w = c->wlen > c->woff;
	if (r != c->reading) {
		if (r)
			event_add(c->ev_read, NULL);
		else
			event_del(c->ev_read);
		c->reading = r;
	}
	if (w != c->writing) {
		if (w)
			event_add(c->ev_write, NULL);
		else
			event_del(c->ev_write);
		c->writing = w;
	}
}

/* Sends unsent output until it is all sent or the socket is full.
 * Returns 0, or GS_EIO after closing c (a send error). */
static int conn_flush(struct tcp_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->out_blocked = true;
				return 0;
			}
			conn_close(c, CLOSE_PEER);
			return GS_EIO;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	c->out_blocked = false;
	return 0;
}

/* Appends one framed answer of n bytes (from the server's scratch) to the
 * output. The caller checked out_has_room(). */
static void conn_append(struct tcp_conn *c, const uint8_t *ans, size_t n)
{
	size_t need = 2 + n;
	if (c->wcap - c->wlen < need && c->woff) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	/* wlen <= WBUF_HIGH and need <= 2 + MSG_MAX: within WBUF_MAX. */
	buf_reserve(&c->wbuf, &c->wcap, c->wlen + need, WBUF_MAX);
	c->wbuf[c->wlen] = (uint8_t)(n >> 8);
	c->wbuf[c->wlen + 1] = (uint8_t)n;
	memcpy(c->wbuf + c->wlen + 2, ans, n);
	c->wlen += need;
}

/* Answers the whole messages in rbuf while the output has room for a
 * full answer. Each renews the deadline unless the output is blocked on
 * the client. Returns the number of messages taken. */
static unsigned conn_answer(struct tcp_conn *c, int64_t now)
{
	struct tcp_server *s = c->srv;
	size_t off = 0;
	unsigned taken = 0;
	bool renew = false;
	const struct answer_view *v = NULL;
	struct timespec wall = {0};
	while (c->rlen - off >= 2 && out_has_room(c)) {
		size_t mlen = msg_len(c->rbuf + off);
		if (c->rlen - off < 2 + mlen)
			break;
		if (!v) {
			v = view_acquire(s->pub, s->reader);
			clock_gettime(CLOCK_REALTIME_COARSE, &wall);
		}
		if (!c->out_blocked)
			renew = true;
		size_t n = answer_process(&s->ctx, v, c->rbuf + off + 2, mlen,
					  s->out, sizeof(s->out),
					  (const struct sockaddr *)&c->peer,
					  true, (uint32_t)wall.tv_sec);
		off += 2 + mlen;
		taken++;
		if (n)
			conn_append(c, s->out, n);
	}
	if (v)
		view_release(s->pub, s->reader);
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	if (renew)
		conn_renew(c, now);
	return taken;
}

/* Sends what is pending and answers what has arrived, for as long as
 * either makes progress, then sets the events to match. Returns 0, or
 * GS_EIO after closing c. */
static int conn_run(struct tcp_conn *c, int64_t now)
{
	int ret;
	do {
		ret = conn_flush(c);
		if (ret < 0)
			goto out;
	} while (conn_answer(c, now) > 0);
	conn_want(c);
out:
	return ret;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)what;
	if (has_whole_msg(c)) {
		/* Not reached: reading is off while a whole message waits. */
		conn_run(c, now_ns());
		return;
	}
	/* Room for the rest of the message being received. */
	size_t need = c->rlen >= 2 ? 2 + msg_len(c->rbuf) : BUF_MIN;
	buf_reserve(&c->rbuf, &c->rcap, need, RBUF_MAX);
	ssize_t n = recv(fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR)) {
		conn_close(c, CLOSE_PEER);
		return;
	}
	if (n < 0)
		return;
	c->rlen += (size_t)n;
	conn_run(c, now_ns());
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_run(arg, now_ns());
}

/* Closes every connection whose deadline has passed, oldest first, and
 * sets the timer for the next deadline. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_server *s = arg;
	(void)fd;
	(void)what;
	int64_t now = now_ns();
	while (s->oldest && s->oldest->renewed + s->timeout_ns <= now)
		conn_close(s->oldest, CLOSE_DEADLINE);
	deadline_arm(s, now);
}

/* Accepts one connection on lfd, closing the longest idle one first when
 * max_clients are open, or when accept() is out of descriptors (then the
 * caller's next call accepts). Returns 0, or GS_ESYS with errno set
 * (EAGAIN: nothing more to accept now). */
static int accept_one(struct tcp_server *s, int lfd, int64_t now)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if ((errno == EMFILE || errno == ENFILE) && s->oldest) {
			/* Out of descriptors: the longest idle makes room. */
			log_neterr("tcp: accept failed (%s), closing the "
				   "longest idle of %u connections",
				   strerror(errno), s->n_open);
			conn_close(s->oldest, CLOSE_EVICTED);
			return 0;
		}
		return GS_ESYS;
	}
	if (s->n_open >= s->max_clients) {
		log_neterr("tcp: %u connections open, closing the longest "
			   "idle",
			   s->n_open);
		conn_close(s->oldest, CLOSE_EVICTED);
	}
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	struct tcp_conn *c = conn_get(s);
	c->fd = fd;
	c->peer = peer;
	c->renewed = now;
	list_append(c);
	s->n_open++;
	count(&s->accepted);
	event_assign(c->ev_read, s->base, fd, EV_READ | EV_PERSIST, on_read, c);
	event_assign(c->ev_write, s->base, fd, EV_WRITE | EV_PERSIST, on_write,
		     c);
	conn_want(c);
	if (!evtimer_pending(s->ev_deadline, NULL))
		deadline_arm(s, now);
	return 0;
}

/* Out of descriptors with no connection of ours to close: the pending
 * connection stays in the backlog and the listener would wake the loop
 * at once, again and again. The listeners rest a moment instead. */
#define ACCEPT_PAUSE_US 100000

static void listeners_set(struct tcp_server *s, bool on)
{
	for (size_t i = 0; i < s->n_listeners; i++) {
		if (on)
			event_add(s->listeners[i].ev, NULL);
		else
			event_del(s->listeners[i].ev);
	}
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listeners_set(arg, true);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct tcp_server *s = arg;
	(void)what;
	int64_t now = now_ns();
	for (int i = 0; i < 32; i++) {
		if (accept_one(s, lfd, now) == 0)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			log_neterr("tcp: accept failed (%s), pausing",
				   strerror(errno));
			const struct timeval tv = {0, ACCEPT_PAUSE_US};
			listeners_set(s, false);
			event_add(s->ev_resume, &tv);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			   errno != EINTR && errno != ECONNABORTED) {
			log_neterr("tcp: accept failed (%s)", strerror(errno));
		}
		return;
	}
}

static void *tcp_main(void *arg)
{
	struct tcp_server *s = arg;
	event_base_dispatch(s->base);
	return NULL;
}

static int open_listener(const struct conf_listen *l)
{
	int on = 1;
	int fd = socket(l->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (l->addr.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0 ||
	    listen(fd, 256) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void server_free(struct tcp_server *s)
{
	for (size_t i = 0; i < s->n_listeners; i++) {
		if (s->listeners[i].ev)
			event_free(s->listeners[i].ev);
		if (s->listeners[i].fd >= 0)
			close(s->listeners[i].fd);
	}
	while (s->oldest) {
		struct tcp_conn *c = s->oldest;
		list_unlink(c);
		close(c->fd);
		conn_free(c);
	}
	while (s->pool) {
		struct tcp_conn *c = s->pool;
		s->pool = c->next;
		conn_free(c);
	}
	if (s->ev_deadline)
		event_free(s->ev_deadline);
	if (s->ev_resume)
		event_free(s->ev_resume);
	if (s->base)
		event_base_free(s->base);
	free(s->listeners);
	free(s);
}

int tcp_server_start(const struct conf_listen *listen, size_t n_listen,
		     unsigned max_clients, double idle_timeout,
		     struct view_pub *pub, unsigned reader,
		     struct tcp_server **out)
{
	int ret = 0;
	struct tcp_server *s = gs_xcalloc(1, sizeof(*s));
	s->pub = pub;
	s->reader = reader;
	s->timeout_ns = (int64_t)(idle_timeout * 1e9);
	s->max_clients = max_clients;
	atomic_init(&s->accepted, 0);
	for (size_t i = 0; i < GS_ARRAY_SIZE(s->closed); i++)
		atomic_init(&s->closed[i], 0);
	answer_ctx_init(&s->ctx);
	s->base = event_base_new();
	if (!s->base) {
		log_err("tcp: cannot create an event loop");
		ret = GS_ESYS;
		goto out;
	}
	s->ev_deadline = evtimer_new(s->base, on_deadline, s);
	s->ev_resume = evtimer_new(s->base, on_resume, s);
	if (!s->ev_deadline || !s->ev_resume) {
		log_err("tcp: cannot create a timer");
		ret = GS_ESYS;
		goto out;
	}
	s->n_listeners = n_listen;
	s->listeners = gs_xcalloc(n_listen, sizeof(*s->listeners));
	for (size_t i = 0; i < n_listen; i++)
		s->listeners[i].fd = -1;
	for (size_t i = 0; i < n_listen; i++) {
		struct tcp_listener *l = &s->listeners[i];
		l->text = listen[i].text;
		l->fd = open_listener(&listen[i]);
		if (l->fd < 0) {
			log_err("tcp: cannot listen on %s (%s)", l->text,
				strerror(errno));
			ret = GS_ESYS;
			goto out;
		}
		l->ev = event_new(s->base, l->fd, EV_READ | EV_PERSIST,
				  on_accept, s);
		event_add(l->ev, NULL);
	}
	int e = pthread_create(&s->thread, NULL, tcp_main, s);
	if (e != 0) {
		log_err("tcp: cannot start a thread (%s)", strerror(e));
		ret = GS_ESYS;
		goto out;
	}
	s->started = true;
	*out = s;
out:
	if (ret < 0)
		server_free(s);
	return ret;
}

void tcp_server_stats(const struct tcp_server *s, struct answer_stats *sum)
{
	answer_stats_add(sum, &s->ctx.stats);
}

void tcp_server_conn_stats(const struct tcp_server *s,
			   struct tcp_conn_stats *out)
{
	out->accepted =
	    atomic_load_explicit(&s->accepted, memory_order_relaxed);
	out->closed_deadline = atomic_load_explicit(&s->closed[CLOSE_DEADLINE],
						    memory_order_relaxed);
	out->closed_evicted = atomic_load_explicit(&s->closed[CLOSE_EVICTED],
						   memory_order_relaxed);
	out->closed_peer =
	    atomic_load_explicit(&s->closed[CLOSE_PEER], memory_order_relaxed);
	uint64_t closed =
	    out->closed_deadline + out->closed_evicted + out->closed_peer;
	out->open = out->accepted > closed ? out->accepted - closed : 0;
}

void tcp_server_stop(struct tcp_server *s)
{
	if (!s)
		return;
	if (s->started) {
		event_base_loopbreak(s->base);
		pthread_join(s->thread, NULL);
	}
	server_free(s);
}
