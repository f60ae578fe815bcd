#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "health/hc_verdict.h"

/* Every piece of text the server chose (JSON fields, error.message, the
 * Location header, and libcurl's and jansson's error texts, which quote
 * what it sent) goes through gs_text_clean() on its way into a result:
 * bounded, cut between characters, valid UTF-8, controls escaped. The
 * buffers below are sized so that the reasons built from them are never
 * cut again by snprintf. */
#define MSG_MAX 150    /* error.message */
#define LOC_MAX 120    /* the Location of a redirect */
#define JERR_MAX 120   /* jansson's error text */
#define CLUSTER_MAX 80 /* each cluster_name of a mismatch */

#define REASON_SIZE sizeof(((struct hc_result *)0)->reason)
_Static_assert(sizeof("HTTP -9223372036854775808: ") - 1 + MSG_MAX <
		   REASON_SIZE,
	       "error.message fits in a reason");
_Static_assert(sizeof("HTTP -9223372036854775808 (to )") - 1 + LOC_MAX <
		   REASON_SIZE,
	       "a Location fits in a reason");
_Static_assert(sizeof("invalid JSON ()") - 1 + JERR_MAX < REASON_SIZE,
	       "jansson's error fits in a reason");
_Static_assert(sizeof("cluster_name \"\" != \"\"") - 1 + 2 * CLUSTER_MAX <
		   REASON_SIZE,
	       "two cluster names fit in a reason");

/* The cleaned copy of a C string (text.h), in buf. */
static const char *clean_str(char *buf, size_t size, const char *s)
{
	gs_text_clean(buf, size, s, strlen(s));
	return buf;
}

/* Copies a JSON string member, cleaned, into buf if present. */
static void copy_str(json_t *obj, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_string(v))
		gs_text_clean(buf, size, json_string_value(v),
			      json_string_length(v));
}

static void classify_transport(const struct hc_outcome *o, struct hc_result *r)
{
	/* libcurl's error buffer can quote the server (a certificate's
	 * subject name, say): cleaned, to fit after the longest prefix. */
	char err[REASON_SIZE - (sizeof("cannot connect ()") - 1)];
	clean_str(err, sizeof(err), o->curl_error ? o->curl_error : "");
	/* The system's word is plainer than libcurl's where there is one. */
	if (o->os_errno == ECONNREFUSED) {
		snprintf(r->reason, sizeof(r->reason), "connection refused");
		return;
	}
	if (o->os_errno == ECONNRESET) {
		snprintf(r->reason, sizeof(r->reason), "connection reset");
		return;
	}
	switch (o->curl_code) {
	case CURLE_COULDNT_CONNECT:
		if (o->os_errno == ECONNREFUSED || strstr(err, "refused") ||
		    err[0] == '\0')
			snprintf(r->reason, sizeof(r->reason),
				 "connection refused");
		else
			snprintf(r->reason, sizeof(r->reason),
				 "cannot connect (%s)", err);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(r->reason, sizeof(r->reason), "timeout after %.1fs",
			 o->timeout);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
		snprintf(r->reason, sizeof(r->reason), "TLS: %s",
			 err[0] ? err : curl_easy_strerror(o->curl_code));
		break;
	case CURLE_WRITE_ERROR:
		if (o->body_too_big) {
			snprintf(r->reason, sizeof(r->reason),
				 "body larger than %d KiB", HC_BODY_MAX / 1024);
			break;
		}
		/* fall through */
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (o->os_errno == ECONNRESET || strstr(err, "reset"))
			snprintf(r->reason, sizeof(r->reason),
				 "connection reset");
		else
			snprintf(r->reason, sizeof(r->reason), "%s",
				 err[0] ? err
					: curl_easy_strerror(o->curl_code));
		break;
	default:
		snprintf(r->reason, sizeof(r->reason), "%s",
			 err[0] ? err : curl_easy_strerror(o->curl_code));
	}
}

void hc_verdict_classify(const struct hc_outcome *o, const char *cluster_name,
			 struct hc_result *r)
{
	memset(r, 0, sizeof(*r));
	r->verdict = HC_FAIL;
	if (o->curl_code != CURLE_OK) {
		classify_transport(o, r);
		return;
	}
	long st = o->http_status;
	json_error_t jerr;
	json_t *doc = NULL;
	if (st == 429) {
		r->verdict = HC_INCONCLUSIVE;
		snprintf(r->reason, sizeof(r->reason),
			 "HTTP 429 (rate limited)");
		return;
	}
	if (st >= 300 && st < 400) {
		char loc[LOC_MAX + 1];
		if (o->location && o->location[0])
			snprintf(r->reason, sizeof(r->reason),
				 "HTTP %ld (to %s)", st,
				 clean_str(loc, sizeof(loc), o->location));
		else
			snprintf(r->reason, sizeof(r->reason), "HTTP %ld", st);
		return;
	}
	doc = json_loadb(o->body ? o->body : "", o->body_len, 0, &jerr);
	if (st != 200) {
		json_t *msg =
		    json_object_get(json_object_get(doc, "error"), "message");
		char text[MSG_MAX + 1];
		if (json_is_string(msg)) {
			gs_text_clean(text, sizeof(text),
				      json_string_value(msg),
				      json_string_length(msg));
			snprintf(r->reason, sizeof(r->reason), "HTTP %ld: %s",
				 st, text);
		} else {
			snprintf(r->reason, sizeof(r->reason), "HTTP %ld", st);
		}
		goto out;
	}
	if (!cluster_name) {
		r->verdict = HC_PASS;
		goto out;
	}
	if (!doc) {
		/* jansson quotes the input near the error (raw controls, or a
		 * character cut in two) */
		char text[JERR_MAX + 1];
		snprintf(r->reason, sizeof(r->reason), "invalid JSON (%s)",
			 clean_str(text, sizeof(text), jerr.text));
		goto out;
	}
	if (!json_is_object(doc)) {
		snprintf(r->reason, sizeof(r->reason),
			 "invalid JSON (not an object)");
		goto out;
	}
	copy_str(doc, "server_version", r->server_version,
		 sizeof(r->server_version));
	copy_str(doc, "edition", r->edition, sizeof(r->edition));
	json_t *fips = json_object_get(doc, "fips");
	if (json_is_boolean(fips)) {
		r->has_fips = true;
		r->fips = json_is_true(fips);
	}
	json_t *cn = json_object_get(doc, "cluster_name");
	if (!json_is_string(cn)) {
		snprintf(r->reason, sizeof(r->reason),
			 "no cluster_name in the ping body");
		goto out;
	}
	if (strcmp(json_string_value(cn), cluster_name) != 0) {
		char got[CLUSTER_MAX + 1], want[CLUSTER_MAX + 1];
		gs_text_clean(got, sizeof(got), json_string_value(cn),
			      json_string_length(cn));
		snprintf(r->reason, sizeof(r->reason),
			 "cluster_name \"%s\" != \"%s\"", got,
			 clean_str(want, sizeof(want), cluster_name));
		goto out;
	}
	r->verdict = HC_PASS;
out:
	json_decref(doc);
}

bool hc_counter_apply(struct hc_counter *c, enum hc_verdict v, unsigned rise,
		      unsigned fall)
{
	if (v == HC_INCONCLUSIVE)
		return false;
	if (v == HC_PASS) {
		c->passes++;
		c->fails = 0;
	} else {
		c->fails++;
		c->passes = 0;
	}
	enum hc_state old = c->state;
	if (old == HC_UNKNOWN)
		c->state = v == HC_PASS ? HC_UP : HC_DOWN;
	else if (old == HC_UP && c->fails >= fall)
		c->state = HC_DOWN;
	else if (old == HC_DOWN && c->passes >= rise)
		c->state = HC_UP;
	return c->state != old;
}

double hc_jitter(double interval, uint32_t rnd)
{
	return interval * (0.9 + 0.2 * ((double)rnd / 4294967296.0));
}
