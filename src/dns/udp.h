/* udp.h: UDP service. Each worker thread owns one SO_REUSEPORT socket per
 * listen address and moves packets in batches with recvmmsg/sendmmsg;
 * the query path allocates nothing and takes no lock. */
#ifndef GS_DNS_UDP_H
#define GS_DNS_UDP_H

#include <stddef.h>

#include "conf/conf.h"
#include "dns/answer.h"
#include "dns/view.h"

struct udp_server;

/* Main thread. Binds n_listen addresses, `workers` sockets each, and
 * starts one thread per socket. Readers of pub are slots
 * reader_base .. reader_base + n_listen * workers - 1.
 * Returns 0 and the server in *out, or GS_ESYS after logging which address
 * could not be bound (nothing is left running). */
int udp_server_start(const struct conf_listen *listen, size_t n_listen,
		     unsigned workers, struct view_pub *pub,
		     unsigned reader_base, struct udp_server **out);

/* Number of threads (and view readers) the server uses. */
unsigned udp_server_threads(size_t n_listen, unsigned workers);

/* Adds every thread's counters into *sum. Main thread; counters are read
 * without locking and may be a little stale. */
void udp_server_stats(const struct udp_server *s, struct answer_stats *sum);

/* Main thread: stops the threads, closes the sockets, frees s. */
void udp_server_stop(struct udp_server *s);

#endif
