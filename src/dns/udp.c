#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dns/udp.h"

#define BATCH 32
#define RX_SIZE 4096 /* larger queries are not plausible; they are dropped */
#define TX_SIZE 4096 /* the largest udp_payload allowed */
#define CMSG_SPACE_MAX 64

struct udp_worker {
	pthread_t thread;
	bool started;
	int fd;
	bool pktinfo; /* bound to a wildcard address: answer from the
			 address the query came to */
	unsigned reader;
	struct view_pub *pub;
	atomic_bool *stop;
	struct answer_ctx ctx;
	struct mmsghdr rx[BATCH], tx[BATCH];
	struct iovec rx_iov[BATCH], tx_iov[BATCH];
	struct sockaddr_storage addr[BATCH];
	uint8_t cmsg[BATCH][CMSG_SPACE_MAX];
	uint8_t rx_buf[BATCH][RX_SIZE];
	uint8_t tx_buf[BATCH][TX_SIZE];
};

struct udp_server {
	atomic_bool stop;
	size_t n;
	struct udp_worker **workers;
};

unsigned udp_server_threads(size_t n_listen, unsigned workers)
{
	return (unsigned)n_listen * workers;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		return s->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
}

static int open_socket(const struct conf_listen *l, bool *pktinfo)
{
	int on = 1;
	int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto fail;
	/* A bounded wait, so a stopping thread never sleeps for long even if
	 * shutdown() did not wake it. */
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int buf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	*pktinfo = is_wildcard(&l->addr);
	if (l->addr.ss_family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) <
		    0)
			goto fail;
		if (*pktinfo && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO,
					   &on, sizeof(on)) < 0)
			goto fail;
	} else if (*pktinfo && setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on,
					  sizeof(on)) < 0) {
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) < 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Turns the received packet-info into the source address of the reply. */
static void fix_pktinfo(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
	}
}

static void *worker_main(void *arg)
{
	struct udp_worker *w = arg;
	while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
		for (int i = 0; i < BATCH; i++) {
			w->rx[i].msg_hdr.msg_namelen = sizeof(w->addr[i]);
			w->rx[i].msg_hdr.msg_controllen =
			    w->pktinfo ? CMSG_SPACE_MAX : 0;
			w->rx[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(w->fd, w->rx, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EINTR && errno != EAGAIN &&
			    errno != EWOULDBLOCK)
				log_neterr("udp: recvmmsg failed (%s)",
					   strerror(errno));
			continue;
		}
		struct timespec now;
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		const struct answer_view *v = view_acquire(w->pub, w->reader);
		int m = 0;
		for (int i = 0; i < n; i++) {
			struct msghdr *rh = &w->rx[i].msg_hdr;
			if (rh->msg_flags & MSG_TRUNC)
				continue;
			size_t len = answer_process(
			    &w->ctx, v, w->rx_buf[i], w->rx[i].msg_len,
			    w->tx_buf[i], TX_SIZE,
			    (const struct sockaddr *)&w->addr[i], false,
			    (uint32_t)now.tv_sec);
			if (len == 0)
				continue;
			struct msghdr *th = &w->tx[m].msg_hdr;
			w->tx_iov[m].iov_base = w->tx_buf[i];
			w->tx_iov[m].iov_len = len;
			th->msg_iov = &w->tx_iov[m];
			th->msg_iovlen = 1;
			th->msg_name = &w->addr[i];
			th->msg_namelen = rh->msg_namelen;
			th->msg_control = w->pktinfo ? w->cmsg[i] : NULL;
			th->msg_controllen =
			    w->pktinfo ? rh->msg_controllen : 0;
			th->msg_flags = 0;
			if (w->pktinfo)
				fix_pktinfo(th);
			m++;
		}
		view_release(w->pub, w->reader);
		for (int sent = 0; sent < m;) {
			int r = sendmmsg(w->fd, w->tx + sent,
					 (unsigned)(m - sent), 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				log_neterr("udp: sendmmsg failed (%s)",
					   strerror(errno));
				sent++; /* skip the one that failed */
				continue;
			}
			sent += r;
		}
	}
	return NULL;
}

static void stop_all(struct udp_server *s)
{
	atomic_store(&s->stop, true);
	for (size_t i = 0; i < s->n; i++)
		if (s->workers[i] && s->workers[i]->fd >= 0)
			shutdown(s->workers[i]->fd, SHUT_RDWR);
	for (size_t i = 0; i < s->n; i++) {
		struct udp_worker *w = s->workers[i];
		if (!w)
			continue;
		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->fd >= 0)
			close(w->fd);
		free(w);
	}
	free(s->workers);
	free(s);
}

int udp_server_start(const struct conf_listen *listen, size_t n_listen,
		     unsigned workers, struct view_pub *pub,
		     unsigned reader_base, struct udp_server **out)
{
	struct udp_server *s = gs_xcalloc(1, sizeof(*s));
	atomic_init(&s->stop, false);
	s->n = udp_server_threads(n_listen, workers);
	s->workers = gs_xcalloc(s->n, sizeof(*s->workers));
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_listen *l = &listen[i / workers];
		struct udp_worker *w = gs_xcalloc(1, sizeof(*w));
		s->workers[i] = w;
		w->fd = open_socket(l, &w->pktinfo);
		if (w->fd < 0) {
			log_err("udp: cannot listen on %s (%s)", l->text,
				strerror(errno));
			stop_all(s);
			return GS_ESYS;
		}
		w->reader = reader_base + (unsigned)i;
		w->pub = pub;
		w->stop = &s->stop;
		answer_ctx_init(&w->ctx);
		for (int j = 0; j < BATCH; j++) {
			w->rx_iov[j].iov_base = w->rx_buf[j];
			w->rx_iov[j].iov_len = RX_SIZE;
			w->rx[j].msg_hdr.msg_iov = &w->rx_iov[j];
			w->rx[j].msg_hdr.msg_iovlen = 1;
			w->rx[j].msg_hdr.msg_name = &w->addr[j];
			w->rx[j].msg_hdr.msg_control = w->cmsg[j];
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		struct udp_worker *w = s->workers[i];
		int e = pthread_create(&w->thread, NULL, worker_main, w);
		if (e != 0) {
			log_err("udp: cannot start a thread (%s)", strerror(e));
			stop_all(s);
			return GS_ESYS;
		}
		w->started = true;
	}
	*out = s;
	return 0;
}

void udp_server_stats(const struct udp_server *s, struct answer_stats *sum)
{
	for (size_t i = 0; i < s->n; i++)
		answer_stats_add(sum, &s->workers[i]->ctx.stats);
}

void udp_server_stop(struct udp_server *s)
{
	if (s)
		stop_all(s);
}
