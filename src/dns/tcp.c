#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
#define RBUF_SIZE (2 + MSG_MAX)
/* Room for two full-size answers: a pipelining client keeps getting
 * answers while the previous ones drain. */
#define WBUF_SIZE (2 * (2 + MSG_MAX))

struct tcp_conn {
	struct tcp_server *srv;
	/* Open: in srv's list, least recently renewed first. */
	struct tcp_conn *prev, *next;
	int64_t renewed; /* CLOCK_MONOTONIC ns: accept or last renewal */
	int fd;
	bool out_blocked; /* the last send stopped short (EAGAIN) */
	struct event *ev_read;
	struct event *ev_write; /* while output is pending */
	size_t rlen;
	size_t wlen, woff;
	uint8_t *rbuf;
	uint8_t *wbuf;
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
	size_t n_listeners;
	struct tcp_listener *listeners;
	unsigned max_clients;
	unsigned n_free;
	struct tcp_conn *conns;
	struct tcp_conn **free_list;
	struct tcp_conn *oldest, *newest; /* open, by renewal */
	uint8_t *bufs;			  /* every connection's rbuf and wbuf */
	size_t bufs_len;
	struct answer_ctx ctx;
	uint8_t out[MSG_MAX];
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

static void conn_close(struct tcp_conn *c)
{
	struct tcp_server *s = c->srv;
	event_del(c->ev_read);
	event_del(c->ev_write);
	close(c->fd);
	c->fd = -1;
	c->rlen = c->wlen = c->woff = 0;
	c->out_blocked = false;
	list_unlink(c);
	s->free_list[s->n_free++] = c;
}

/* Sends pending output. Returns false if the connection was closed. */
static bool conn_flush(struct tcp_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->out_blocked = true;
				event_add(c->ev_write, NULL);
				return true;
			}
			conn_close(c);
			return false;
		}
		c->woff += (size_t)n;
	}
	c->woff = c->wlen = 0;
	c->out_blocked = false;
	event_del(c->ev_write);
	return true;
}

static bool out_has_room(const struct tcp_conn *c)
{
	return WBUF_SIZE - c->wlen >= 2 + MSG_MAX;
}

/* Answers the complete messages in rbuf while there is room for a full
 * answer in wbuf. Each renews the deadline unless the output is blocked
 * on the client. Returns the number of messages taken. */
static unsigned conn_answer(struct tcp_conn *c, int64_t mono)
{
	struct tcp_server *s = c->srv;
	size_t off = 0;
	unsigned taken = 0;
	bool renew = false;
	const struct answer_view *v = NULL;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	while (c->rlen - off >= 2 && out_has_room(c)) {
		size_t mlen = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
		if (c->rlen - off < 2 + mlen)
			break;
		if (!v)
			v = view_acquire(s->pub, s->reader);
		if (!c->out_blocked)
			renew = true;
		size_t n = answer_process(&s->ctx, v, c->rbuf + off + 2, mlen,
					  s->out, sizeof(s->out),
					  (const struct sockaddr *)&c->peer,
					  true, (uint32_t)now.tv_sec);
		off += 2 + mlen;
		taken++;
		if (n == 0)
			continue;
		c->wbuf[c->wlen] = (uint8_t)(n >> 8);
		c->wbuf[c->wlen + 1] = (uint8_t)n;
		memcpy(c->wbuf + c->wlen + 2, s->out, n);
		c->wlen += 2 + n;
	}
	if (v)
		view_release(s->pub, s->reader);
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	if (renew)
		conn_renew(c, mono);
	return taken;
}

/* Sends what is pending and answers what has arrived, for as long as
 * either makes progress; then reads only while there is room for a full
 * answer. Every path that drains the output ends here, so reading
 * resumes however it drains. Returns false if c was closed. */
static bool conn_run(struct tcp_conn *c, int64_t now)
{
	do {
		if (!conn_flush(c))
			return false;
	} while (conn_answer(c, now) > 0);
	bool reading = event_pending(c->ev_read, EV_READ, NULL);
	if (out_has_room(c) && !reading)
		event_add(c->ev_read, NULL);
	else if (!out_has_room(c) && reading)
		event_del(c->ev_read);
	return true;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)what;
	ssize_t n = recv(fd, c->rbuf + c->rlen, RBUF_SIZE - c->rlen, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR)) {
		conn_close(c);
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
		conn_close(s->oldest);
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
				   strerror(errno), s->max_clients - s->n_free);
			conn_close(s->oldest);
			return 0;
		}
		return GS_ESYS;
	}
	if (s->n_free == 0) {
		log_neterr("tcp: %u connections open, closing the longest "
			   "idle",
			   s->max_clients);
		conn_close(s->oldest);
	}
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	struct tcp_conn *c = s->free_list[--s->n_free];
	c->fd = fd;
	c->peer = peer;
	c->rlen = c->wlen = c->woff = 0;
	c->renewed = now;
	list_append(c);
	event_assign(c->ev_read, s->base, fd, EV_READ | EV_PERSIST, on_read, c);
	event_assign(c->ev_write, s->base, fd, EV_WRITE | EV_PERSIST, on_write,
		     c);
	event_add(c->ev_read, NULL);
	if (!evtimer_pending(s->ev_deadline, NULL))
		deadline_arm(s, now);
	return 0;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct tcp_server *s = arg;
	(void)what;
	int64_t now = now_ns();
	for (int i = 0; i < 32; i++) {
		if (accept_one(s, lfd, now) == 0)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_neterr("tcp: accept failed (%s)", strerror(errno));
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
	for (unsigned i = 0; i < s->max_clients; i++) {
		struct tcp_conn *c = &s->conns[i];
		if (c->fd >= 0)
			close(c->fd);
		event_free(c->ev_read);
		event_free(c->ev_write);
	}
	if (s->bufs && s->bufs != MAP_FAILED)
		munmap(s->bufs, s->bufs_len);
	if (s->ev_deadline)
		event_free(s->ev_deadline);
	if (s->base)
		event_base_free(s->base);
	free(s->listeners);
	free(s->conns);
	free(s->free_list);
	free(s);
}

int tcp_server_start(const struct conf_listen *listen, size_t n_listen,
		     unsigned max_clients, double idle_timeout,
		     struct view_pub *pub, unsigned reader,
		     struct tcp_server **out)
{
	struct tcp_server *s = gs_xcalloc(1, sizeof(*s));
	s->pub = pub;
	s->reader = reader;
	s->timeout_ns = (int64_t)(idle_timeout * 1e9);
	s->base = event_base_new();
	if (!s->base) {
		log_err("tcp: cannot create an event loop");
		free(s);
		return GS_ESYS;
	}
	s->ev_deadline = evtimer_new(s->base, on_deadline, s);
	if (!s->ev_deadline) {
		log_err("tcp: cannot create a timer");
		event_base_free(s->base);
		free(s);
		return GS_ESYS;
	}
	answer_ctx_init(&s->ctx);
	s->max_clients = max_clients;
	/* All connection buffers in one anonymous mapping: a page becomes
	 * resident only when a connection first uses it. */
	s->bufs_len = (size_t)max_clients * (RBUF_SIZE + WBUF_SIZE);
	s->bufs = mmap(NULL, s->bufs_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->bufs == MAP_FAILED) {
		log_err("tcp: cannot map %zu bytes of buffers (%s)",
			s->bufs_len, strerror(errno));
		event_free(s->ev_deadline);
		event_base_free(s->base);
		free(s);
		return GS_ESYS;
	}
	s->conns = gs_xcalloc(max_clients, sizeof(*s->conns));
	s->free_list = gs_xcalloc(max_clients, sizeof(*s->free_list));
	for (unsigned i = 0; i < max_clients; i++) {
		struct tcp_conn *c = &s->conns[i];
		c->srv = s;
		c->fd = -1;
		c->rbuf = s->bufs + (size_t)i * (RBUF_SIZE + WBUF_SIZE);
		c->wbuf = c->rbuf + RBUF_SIZE;
		c->ev_read = event_new(s->base, -1, 0, on_read, c);
		c->ev_write = event_new(s->base, -1, 0, on_write, c);
		s->free_list[max_clients - 1 - i] = c;
	}
	s->n_free = max_clients;
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
			server_free(s);
			return GS_ESYS;
		}
		l->ev = event_new(s->base, l->fd, EV_READ | EV_PERSIST,
				  on_accept, s);
		event_add(l->ev, NULL);
	}
	int e = pthread_create(&s->thread, NULL, tcp_main, s);
	if (e != 0) {
		log_err("tcp: cannot start a thread (%s)", strerror(e));
		server_free(s);
		return GS_ESYS;
	}
	s->started = true;
	*out = s;
	return 0;
}

void tcp_server_stats(const struct tcp_server *s, struct answer_stats *sum)
{
	answer_stats_add(sum, &s->ctx.stats);
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
