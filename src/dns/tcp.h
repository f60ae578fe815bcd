/* tcp.h: DNS over TCP (RFC 7766): 2-byte length framing, many queries per
 * connection, pipelined answers, a deadline per message, a cap on
 * concurrent connections. One thread with its own libevent loop serves
 * every connection without blocking, so a slow or stuck client holds only
 * its own slot, and only until its deadline or until the slot is needed.
 *
 * Deadline (RFC 7766 section 6.2.3): a connection must deliver a whole
 * message within idle_timeout seconds of its accept, and again of the
 * last whole message it delivered while its answers were not waiting on
 * it to read them. Partial messages, and answers it reads, do not renew
 * it; a connection that misses it is closed, whatever it is doing.
 *
 * Room: with max_clients connections open, a new one closes the one whose
 * deadline was renewed longest ago (the longest idle). O(1) per accept.
 *
 * Memory: a connection's read and write buffers are allocated when it
 * first needs them, small, and grow with what it needs, at most 2+65535
 * bytes to read and two full answers to write; they are freed when it
 * closes. Nothing is reserved per max_clients at start. */
#ifndef GS_DNS_TCP_H
#define GS_DNS_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dns/answer.h"
#include "dns/view.h"

struct tcp_server;

/* Connection counters since start (each read atomically; the set is not
 * one snapshot). */
struct tcp_conn_stats {
	uint64_t accepted;
	uint64_t open;		  /* open now */
	uint64_t closed_deadline; /* no whole message within the deadline */
	uint64_t closed_evicted;  /* longest idle, closed to make room */
	uint64_t closed_peer;	  /* closed by the client, or socket errors */
};

/* Main thread. Listens on every address; at most max_clients connections
 * at once (see above for what a new one does to the longest idle); the
 * deadline of every connection is idle_timeout seconds (see above). The
 * thread reads views as reader `reader`. Returns 0 and *out (the caller
 * owns it; tcp_server_stop() frees it), or GS_ESYS after logging which
 * address failed (nothing is left running). */
int tcp_server_start(const struct conf_listen *listen, size_t n_listen,
		     unsigned max_clients, double idle_timeout,
		     struct view_pub *pub, unsigned reader,
		     struct tcp_server **out);

/* Adds the thread's counters into *sum (read without locking). */
void tcp_server_stats(const struct tcp_server *s, struct answer_stats *sum);

/* Any thread, while s runs: fills *out with the connection counters.
 * Cannot fail. */
void tcp_server_conn_stats(const struct tcp_server *s,
			   struct tcp_conn_stats *out);

/* Main thread: stops the thread, closes every socket, frees s. NULL is a
 * no-op. */
void tcp_server_stop(struct tcp_server *s);

#endif
