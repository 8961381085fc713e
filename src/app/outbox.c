/* SPDX-License-Identifier: Apache-2.0 */
/* outbox.c - a write's identity, and the writes whose outcome is unknown. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "i18n.h"
#include "outbox.h"

/* v2: the row holds the write's content hash (v1 rows, without it, are
 * never found under a v2 key and expire) */
static const char request_domain[] = "medchain/request/v2";
static const char OUTBOX_PREFIX[] = "outbox";
#define ROW_CONTENT 8
#define ROW_SEED (8 + MC_HASH_LEN)
#define ROW_FIXED (8 + MC_HASH_LEN + 32)

static void put_str(struct mc_sha256 *h, const char *s)
{
	uint8_t len[4];
	size_t n = s ? strlen(s) : 0;

	mc_be32(len, (uint32_t)n);
	mc_sha256_update(h, len, 4);
	mc_sha256_update(h, s ? s : "", n);
}

void mc_request_begin(struct mc_request *r, bool same_write, const char *key, const char *as, int argc,
		      char *const *argv)
{
	memset(r, 0, sizeof(*r));
	r->same_write = same_write;
	/* the content: always the command line, the identity and the input */
	mc_sha256_init(&r->h);
	mc_sha256_update(&r->h, request_domain, sizeof(request_domain) - 1);
	put_str(&r->h, as);
	for (int i = 0; i < argc; i++)
		put_str(&r->h, argv[i]);
	if (key) {
		/* the caller's key names the write; its content must match */
		mc_sha256_init(&r->kh);
		mc_sha256_update(&r->kh, request_domain, sizeof(request_domain) - 1);
		put_str(&r->kh, as);
		put_str(&r->kh, "key");
		put_str(&r->kh, key);
		r->keyed = true;
	}
}

void mc_request_add(struct mc_request *r, const void *p, size_t n)
{
	uint8_t d[MC_HASH_LEN];

	mc_sha256(n ? p : "", n, d);
	mc_sha256_update(&r->h, d, sizeof(d));
}

void mc_request_content(const struct mc_request *r, uint8_t out[MC_HASH_LEN])
{
	struct mc_sha256 h = r->h;

	put_str(&h, "content");
	mc_sha256_final(&h, out);
}

void mc_request_key(const struct mc_request *r, uint8_t out[MC_HASH_LEN])
{
	struct mc_sha256 h = r->keyed ? r->kh : r->h;
	uint8_t k[4];

	mc_be32(k, r->writes);
	mc_sha256_update(&h, k, 4);
	mc_sha256_final(&h, out);
}

int mc_request_seed(struct mc_request *r, struct mc_store *s, uint8_t out[32], struct mc_err *err)
{
	if (!r->seed_set || r->seed_for != r->writes) {
		uint8_t key[MC_HASH_LEN], content[MC_HASH_LEN];
		struct mc_buf txs;
		int rc = MC_NOTFOUND;

		mc_buf_init(&txs);
		mc_request_key(r, key);
		mc_request_content(r, content);
		if (r->same_write && s && (rc = mc_outbox_get(s, key, content, r->seed, &txs, err)) < 0) {
			mc_buf_release(&txs);
			return -1;
		}
		mc_buf_release(&txs);
		if (rc != 0)
			mc_random(r->seed, sizeof(r->seed));
		r->seed_set = true;
		r->seed_for = r->writes;
	}
	memcpy(out, r->seed, 32);
	return 0;
}

int mc_request_ids(struct mc_request *r, struct mc_store *s, const char *label, uint8_t *out, size_t n,
		   struct mc_err *err)
{
	uint8_t seed[32], d[MC_HASH_LEN];

	if (n > MC_HASH_LEN)
		return mc_err_set(err, EX_SOFTWARE, _("ids longer than a hash"));
	if (mc_request_seed(r, s, seed, err) != 0)
		return -1;
	mc_blake2b_keyed(seed, label, strlen(label), d);
	memcpy(out, d, n);
	mc_wipe(seed, sizeof(seed));
	return 0;
}

void mc_request_done(struct mc_request *r)
{
	r->writes++;
}

/* ---- the outbox ---------------------------------------------------------- */

static void row_key(const uint8_t key[MC_HASH_LEN], uint8_t out[sizeof(OUTBOX_PREFIX) - 1 + MC_HASH_LEN])
{
	memcpy(out, OUTBOX_PREFIX, sizeof(OUTBOX_PREFIX) - 1);
	memcpy(out + sizeof(OUTBOX_PREFIX) - 1, key, MC_HASH_LEN);
}

struct get_ctx {
	const uint8_t *key, *content;
	uint8_t *seed;
	struct mc_buf *txs;
	int found;
};

static int get_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct get_ctx *c = vctx;
	uint8_t k[sizeof(OUTBOX_PREFIX) - 1 + MC_HASH_LEN];
	const void *v;
	size_t vn;
	int rc;

	row_key(c->key, k);
	rc = mc_txn_get(t, MC_DB_CONSENSUS, k, sizeof(k), &v, &vn, err);
	if (rc < 0)
		return -1;
	c->found = MC_NOTFOUND;
	if (rc != 0 || vn < ROW_FIXED || mc_now_ms() - mc_from_be64(v) > MC_OUTBOX_TTL_MS)
		return 0;
	/* another write under this key is waiting: never sent in its place */
	if (memcmp((const uint8_t *)v + ROW_CONTENT, c->content, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_USAGE,
				  _("this idempotency key names another write (another command, identity or input), "
				    "still waiting in this node's outbox: nothing was sent; run that write again, "
				    "or give this one a key of its own"));
	memcpy(c->seed, (const uint8_t *)v + ROW_SEED, 32);
	mc_buf_reset(c->txs);
	mc_put_raw(c->txs, (const uint8_t *)v + ROW_FIXED, vn - ROW_FIXED);
	if (mc_buf_failed(c->txs))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	c->found = 0;
	return 0;
}

int mc_outbox_get(struct mc_store *s, const uint8_t key[MC_HASH_LEN], const uint8_t content[MC_HASH_LEN],
		  uint8_t seed[32], struct mc_buf *txs, struct mc_err *err)
{
	struct get_ctx c = { key, content, seed, txs, MC_NOTFOUND };

	if (mc_store_read(s, get_txn, &c, err) != 0)
		return -1;
	return c.found;
}

struct put_ctx {
	const uint8_t *key, *content, *seed, *txs;
	size_t len;
	bool del;
};

/* Entries past their time go whenever the outbox is written. */
static int drop_expired(struct mc_txn *t, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	uint64_t now = mc_now_ms();
	int rc;

	if (mc_cursor_open(t, MC_DB_CONSENSUS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, OUTBOX_PREFIX, sizeof(OUTBOX_PREFIX) - 1, &k, &kn, &v, &vn, err);
	     rc == 0 && kn >= sizeof(OUTBOX_PREFIX) - 1 && memcmp(k, OUTBOX_PREFIX, sizeof(OUTBOX_PREFIX) - 1) == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		if (vn < ROW_FIXED || now - mc_from_be64(v) > MC_OUTBOX_TTL_MS) {
			if (mc_cursor_del(c, err) != 0) {
				rc = -1;
				break;
			}
		}
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

static int put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct put_ctx *c = vctx;
	uint8_t k[sizeof(OUTBOX_PREFIX) - 1 + MC_HASH_LEN];
	void *p;
	int rc;

	row_key(c->key, k);
	if (c->del) {
		rc = mc_txn_del(t, MC_DB_CONSENSUS, k, sizeof(k), err);
		return rc < 0 ? -1 : 0;
	}
	if (drop_expired(t, err) != 0 ||
	    mc_txn_reserve(t, MC_DB_CONSENSUS, k, sizeof(k), ROW_FIXED + c->len, &p, err) != 0)
		return -1;
	mc_be64(p, mc_now_ms());
	memcpy((uint8_t *)p + ROW_CONTENT, c->content, MC_HASH_LEN);
	memcpy((uint8_t *)p + ROW_SEED, c->seed, 32);
	memcpy((uint8_t *)p + ROW_FIXED, c->txs, c->len);
	return 0;
}

int mc_outbox_put(struct mc_store *s, const uint8_t key[MC_HASH_LEN], const uint8_t content[MC_HASH_LEN],
		  const uint8_t seed[32], const uint8_t *txs, size_t len, struct mc_err *err)
{
	struct put_ctx c = { key, content, seed, txs, len, false };

	return mc_store_write(s, put_txn, &c, err);
}

int mc_outbox_del(struct mc_store *s, const uint8_t key[MC_HASH_LEN], struct mc_err *err)
{
	struct put_ctx c = { key, NULL, NULL, NULL, 0, true };

	return mc_store_write(s, put_txn, &c, err);
}
