/* tcp.h: DNS over TCP (RFC 7766): 2-byte length framing, many queries per
 * connection, pipelined answers, an idle timeout, a cap on concurrent
 * connections. One thread with its own libevent loop serves every
 * connection without blocking, so a slow or stuck client holds only its
 * own slot. Connection buffers are allocated once, at start. */
#ifndef GS_DNS_TCP_H
#define GS_DNS_TCP_H

#include <stddef.h>

#include "conf/conf.h"
#include "dns/answer.h"
#include "dns/view.h"

struct tcp_server;

/* Main thread. Listens on every address; at most max_clients connections
 * at once (more are accepted and closed at once); a connection with
 * nothing to read or write for idle_timeout seconds is closed. The thread
 * reads views as reader `reader`. Returns 0 and *out, or GS_ESYS after
 * logging which address failed (nothing is left running). */
int tcp_server_start(const struct conf_listen *listen, size_t n_listen,
		     unsigned max_clients, double idle_timeout,
		     struct view_pub *pub, unsigned reader,
		     struct tcp_server **out);

/* Adds the thread's counters into *sum (read without locking). */
void tcp_server_stats(const struct tcp_server *s, struct answer_stats *sum);

/* Main thread: stops the thread, closes every socket, frees s. */
void tcp_server_stop(struct tcp_server *s);

#endif
