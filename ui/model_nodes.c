/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain.h"
#include "identity.h"
#include "model_nodes.h"
#include "text.h"
#include "ui_text.h"
#include "valset.h"

/* The status file is small (one entry per peer); refuse anything silly. */
#define STATUS_MAX (1u << 20)

const char *mc_node_state_name(enum mc_node_state st)
{
	return st == MC_NODE_UP ? "up" : st == MC_NODE_DOWN ? "down" : "unknown";
}

/* Copies text from the status file (written from what peers say: not to
 * be trusted) cut at a UTF-8 boundary; anything not clean text becomes
 * ASCII with '?' for the rest, so nothing reaches the terminal as control. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n;

	mc_ui_copy(dst, cap, src);
	n = strlen(dst);
	if (!mc_text_clean(dst, n))
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] >= 0x7f)
				dst[i] = '?';
}

/* ---- the status file ----------------------------------------------------- */

static cJSON *status_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *text;
	size_t n;
	cJSON *j = NULL;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (unsigned long long)st.st_size > STATUS_MAX || !(text = malloc((size_t)st.st_size))) {
		fclose(f);
		return NULL;
	}
	n = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	j = cJSON_ParseWithLength(text, n);
	free(text);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return j;
}

/* A number >= 0, or -1 when absent or not a number. */
static double num(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(x) && x->valuedouble >= 0 ? x->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(x) && x->valuestring ? x->valuestring : "";
}

/* "http://h:1/" and "http://h:1" are one peer. */
static bool same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la > 0 && la == lb && memcmp(a, b, la) == 0;
}

/* The peer entry of the validator with key hex: by its "node" key, or by
 * URL for an entry whose key serve does not know yet. */
static const cJSON *peer_of(const cJSON *status, const char *hex, const char *url)
{
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(status, "peers"), *p;

	if (!cJSON_IsArray(peers))
		return NULL;
	cJSON_ArrayForEach(p, peers) {
		if (cJSON_IsObject(p) && strcmp(str(p, "node"), hex) == 0)
			return p;
	}
	cJSON_ArrayForEach(p, peers) {
		if (cJSON_IsObject(p) && !*str(p, "node") && same_url(str(p, "url"), url))
			return p;
	}
	return NULL;
}

static uint64_t age(uint64_t now_ms, double then_ms)
{
	return (double)now_ms > then_ms ? (uint64_t)((double)now_ms - then_ms) : 0;
}

/* Every row as if nothing were live: this node's own facts only. */
static void rows_reset(struct mc_nodes *n)
{
	n->live = false;
	n->up = 0;
	for (unsigned i = 0; i < n->n; i++) {
		struct mc_node_row *r = &n->rows[i];

		r->state = MC_NODE_UNKNOWN;
		r->has_height = r->self;
		r->height = r->self ? n->height : 0;
		r->lag = 0;
		r->seen = false;
		r->seen_age_ms = 0;
		r->listed = false;
		r->error[0] = '\0';
		snprintf(r->version, sizeof(r->version), "%s", r->self ? PACKAGE_VERSION : "");
	}
}

/* This node's row from the file, live or not: serve's name for it, and
 * when serve last wrote (t, -1 when unknown). */
static void self_written(struct mc_nodes *n, const cJSON *st, double t, uint64_t now_ms)
{
	for (unsigned i = 0; i < n->n; i++) {
		struct mc_node_row *r = &n->rows[i];

		if (!r->self)
			continue;
		if (*str(st, "name"))
			copy_text(r->name, sizeof(r->name), str(st, "name"));
		if (t > 0) {
			r->seen = true;
			r->seen_age_ms = age(now_ms, t);
		}
	}
}

/* A live file's facts about another validator: its peer entry p (NULL:
 * serve does not list it). */
static void peer_join(struct mc_nodes *n, struct mc_node_row *r, const cJSON *p, uint64_t now_ms)
{
	double h, seen;

	r->state = MC_NODE_DOWN;
	if (!p)
		return;
	r->listed = true;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "up"))) {
		r->state = MC_NODE_UP;
		n->up++;
	}
	if (*str(p, "name"))
		copy_text(r->name, sizeof(r->name), str(p, "name"));
	copy_text(r->version, sizeof(r->version), str(p, "version"));
	copy_text(r->error, sizeof(r->error), str(p, "error"));
	seen = num(p, "last_seen_ms");
	h = num(p, "height");
	/* a peer never heard from has no height, only serve's default */
	if (seen > 0) {
		r->seen = true;
		r->seen_age_ms = age(now_ms, seen);
		if (h >= 0 && h < 9.2e18) {
			r->has_height = true;
			r->height = (uint64_t)h;
			r->lag = (int64_t)n->height - (int64_t)r->height;
		}
	}
}

void mc_nodes_join_status(struct mc_nodes *n, const char *path, uint64_t now_ms)
{
	cJSON *st;
	double t;

	rows_reset(n);
	if (!path || !(st = status_read(path)))
		return;
	t = num(st, "time_ms");
	self_written(n, st, t, now_ms);
	/* written in the last few seconds (and not from the future) */
	if (t < 0 || (double)now_ms - t > MC_NODES_FRESH_MS || t - (double)now_ms > MC_NODES_FRESH_MS) {
		cJSON_Delete(st);
		return;
	}
	n->live = true;
	for (unsigned i = 0; i < n->n; i++) {
		struct mc_node_row *r = &n->rows[i];
		char hex[2 * MC_PK_LEN + 1];

		if (r->self) {
			r->state = MC_NODE_UP;
			r->listed = true;
			if (*str(st, "version"))
				copy_text(r->version, sizeof(r->version), str(st, "version"));
			n->up++;
			continue;
		}
		mc_hex(r->pk, MC_PK_LEN, hex);
		peer_join(n, r, peer_of(st, hex, r->url), now_ms);
	}
	cJSON_Delete(st);
}

/* ---- the validator set on chain -------------------------------------------- */

struct load {
	struct mc_txn *t;
	const uint8_t *self;
	const char *self_name;
	uint8_t leader[MC_PK_LEN];
	struct mc_nodes *out;
	struct mc_err *err;
};

static int visit(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed, const char *url, void *vctx)
{
	struct load *l = vctx;
	struct mc_node_row *r;
	struct mc_identity id;
	int rc;

	if (removed || l->out->n >= MC_MAX_VALIDATORS)
		return 0;
	r = &l->out->rows[l->out->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->pk, pk, MC_PK_LEN);
	r->added = added;
	copy_text(r->url, sizeof(r->url), url);
	r->self = l->self && memcmp(pk, l->self, MC_PK_LEN) == 0;
	r->leader = memcmp(pk, l->leader, MC_PK_LEN) == 0;
	if ((rc = mc_identity_get(l->t, pk, &id, l->err)) < 0)
		return -1;
	if (rc == 0) {
		memcpy(r->name, id.name, sizeof(r->name));
		memcpy(r->org, id.org, sizeof(r->org));
	}
	if (r->self && l->self_name && *l->self_name)
		copy_text(r->name, sizeof(r->name), l->self_name);
	return 0;
}

static int nodes_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;
	struct mc_head head;

	l->t = t;
	l->err = err;
	if (mc_chain_head(t, &head, err) != 0 || mc_chain_leader(t, l->leader, &l->out->view, err) != 0)
		return -1;
	l->out->height = head.height;
	return mc_nodes_each(t, visit, l, err) == 0 ? 0 : -1;
}

int mc_nodes_load(struct mc_store *s, const uint8_t self[MC_PK_LEN], const char *self_name,
		  const char *status_path, uint64_t now_ms, struct mc_nodes *out, struct mc_err *err)
{
	struct load l;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	l.self = self;
	l.self_name = self_name;
	l.out = out;
	if (mc_store_read(s, nodes_txn, &l, err) != 0) {
		out->n = 0;
		return -1;
	}
	mc_nodes_join_status(out, status_path, now_ms);
	return 0;
}
