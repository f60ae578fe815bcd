/* hc_verdict.h: what a finished probe means (pure functions, any thread):
 * the verdict and its reason from the transfer's outcome and the ping
 * body, the rise/fall state machine, and interval jitter. */
#ifndef GS_HEALTH_HC_VERDICT_H
#define GS_HEALTH_HC_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_BODY_MAX (64 * 1024)

enum hc_verdict { HC_PASS = 0, HC_FAIL, HC_INCONCLUSIVE };

/* Every string here is valid UTF-8 without control characters and
 * NUL-terminated: the parts the server chose are cleaned by
 * gs_text_clean() (common/text.h), so they are bounded, cut between
 * characters (marked "...") and show controls and malformed bytes as
 * escapes. Consumers may log and publish them as they are. */
struct hc_result {
	enum hc_verdict verdict;
	char reason[192];	 /* "" on a plain pass */
	char server_version[32]; /* Teleport ping: the proxy's version */
	char edition[16];
	bool fips;
	bool has_fips;
};

/* The outcome of one transfer, as the checker saw it. */
struct hc_outcome {
	int curl_code;		/* CURLcode */
	const char *curl_error; /* libcurl's error buffer, may be "" */
	int os_errno;		/* CURLINFO_OS_ERRNO, 0 if none */
	long http_status;	/* 0 when no response */
	const char *body;	/* not NUL-terminated */
	size_t body_len;
	bool body_too_big;    /* the cap was hit */
	const char *location; /* Location header of a redirect, or NULL */
	double timeout;	      /* the configured timeout, seconds */
};

/* Classifies a probe. cluster_name: the expected Teleport cluster name,
 * or NULL when the check is not a Teleport check (then any 200 passes).
 * 200: pass, or for Teleport checks a JSON object whose cluster_name
 * matches (server_version, edition and fips are recorded). 429:
 * inconclusive. Anything else fails with a reason: "connection refused",
 * "timeout after 3.0s", "TLS: ...", "HTTP 302 (to LOCATION)",
 * "HTTP 503: MESSAGE" (error.message of a JSON error body), "invalid JSON
 * (...)", "cluster_name \"a\" != \"b\"", "body larger than 64 KiB".
 * Quoted outside text is cleaned (see struct hc_result): error.message
 * to 150 bytes, the Location and jansson's error text to 120, each
 * cluster name to 80, libcurl's error text to what fits. */
void hc_verdict_classify(const struct hc_outcome *o, const char *cluster_name,
			 struct hc_result *out);

enum hc_state { HC_UNKNOWN = 0, HC_UP, HC_DOWN };

struct hc_counter {
	enum hc_state state;
	unsigned passes; /* consecutive */
	unsigned fails;	 /* consecutive */
};

/* Applies a verdict: the first conclusive verdict sets the state at once
 * (so the first round of probes decides); after that, fall consecutive
 * failures take an up target down and rise consecutive passes bring a
 * down one up. Inconclusive verdicts change nothing. Returns true if the
 * state changed. */
bool hc_counter_apply(struct hc_counter *c, enum hc_verdict v, unsigned rise,
		      unsigned fall);

/* The delay before the next probe: interval scaled by a factor in
 * [0.9, 1.1) taken from rnd (uniform over 32 bits). */
double hc_jitter(double interval, uint32_t rnd);

#endif
