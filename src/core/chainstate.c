/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "chainstate.h"
#include "ctree.h"
#include "i18n.h"

static const char META_HEAD[] = "head";
static const char META_CHAIN_ID[] = "chain_id";
static const char META_VALSET[] = MC_META_VALSET;
static const char META_EPOCH[] = MC_META_VALSET_EPOCH;
static const char META_LEADER[] = MC_META_LEADER;
static const char META_VIEW[] = MC_META_VIEW;
static const char META_FORMAT[] = "format";
static const char FORMAT_V1[] = "medchain-store-2";

void mc_loc_key(uint8_t out[MC_LOC_LEN], uint64_t height, uint32_t tx_index, uint32_t entry_index)
{
	mc_be64(out, height);
	mc_be32(out + 8, tx_index);
	mc_be32(out + 12, entry_index);
}

uint64_t mc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int mc_chain_head(struct mc_txn *t, struct mc_head *head, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc;

	memset(head, 0, sizeof(*head));
	rc = mc_txn_get(t, MC_DB_META, META_HEAD, sizeof(META_HEAD) - 1, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND) {
		head->empty = true;
		return 0;
	}
	if (vn != 8 + MC_HASH_LEN + 8)
		return mc_err_set(err, EX_DATAERR, _("malformed chain head"));
	head->height = mc_from_be64(v);
	memcpy(head->hash, (const uint8_t *)v + 8, MC_HASH_LEN);
	head->timestamp_ms = mc_from_be64((const uint8_t *)v + 8 + MC_HASH_LEN);
	rc = mc_txn_get(t, MC_DB_META, META_CHAIN_ID, sizeof(META_CHAIN_ID) - 1, &v, &vn, err);
	if (rc != 0 || vn != MC_HASH_LEN)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("missing chain id"));
	memcpy(head->chain_id, v, MC_HASH_LEN);
	return 0;
}

int mc_chain_format_check(struct mc_txn *t, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_META, META_FORMAT, sizeof(META_FORMAT) - 1, &v, &vn, err);

	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || vn != sizeof(FORMAT_V1) - 1 || memcmp(v, FORMAT_V1, vn) != 0)
		return mc_err_set(err, EX_DATAERR, _("the store's format marker is missing or unknown"));
	return 0;
}

static int put_head(struct mc_txn *t, uint64_t height, const uint8_t hash[MC_HASH_LEN],
		    uint64_t ts, struct mc_err *err)
{
	uint8_t v[8 + MC_HASH_LEN + 8];

	mc_be64(v, height);
	memcpy(v + 8, hash, MC_HASH_LEN);
	mc_be64(v + 8 + MC_HASH_LEN, ts);
	return mc_txn_put(t, MC_DB_META, META_HEAD, sizeof(META_HEAD) - 1, v, sizeof(v), err);
}

int mc_chain_validators(struct mc_txn *t, uint8_t (*out)[MC_PK_LEN], size_t *n,
			struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_META, META_VALSET, sizeof(META_VALSET) - 1, &v, &vn, err);

	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("missing validator set"));
	if (vn == 0 || vn % MC_PK_LEN || vn / MC_PK_LEN > MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("malformed validator set"));
	*n = vn / MC_PK_LEN;
	memcpy(out, v, vn);
	return 0;
}

static const char CHAINSTATE_CONTENT[] = "content";

int mc_chain_content_height(struct mc_txn *t, uint64_t *height, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_CHAINSTATE, CHAINSTATE_CONTENT, sizeof(CHAINSTATE_CONTENT) - 1,
			    &v, &vn, err);

	if (rc != 0)
		return rc;
	if (vn != 8)
		return mc_err_set(err, EX_DATAERR, _("malformed chain state"));
	*height = mc_from_be64(v);
	return 0;
}

int mc_chain_set_content_height(struct mc_txn *t, uint64_t height, struct mc_err *err)
{
	uint8_t hv[8];

	mc_be64(hv, height);
	return mc_txn_put(t, MC_DB_CHAINSTATE, CHAINSTATE_CONTENT, sizeof(CHAINSTATE_CONTENT) - 1, hv, 8,
			  err);
}

int mc_chain_anchored(struct mc_txn *t, uint64_t size_at_least, struct mc_anchored *out,
		      struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	uint8_t key[8];
	int rc;

	if (mc_cursor_open(t, MC_DB_ANCHORED, &c, err) != 0)
		return -1;
	if (size_at_least == UINT64_MAX) {
		rc = mc_cursor_last(c, &k, &kn, &v, &vn, err);
	} else {
		mc_be64(key, size_at_least);
		rc = mc_cursor_seek(c, key, 8, &k, &kn, &v, &vn, err);
	}
	if (rc == 0) {
		if (kn != 8 || vn != 12 + MC_ANCHOR_COMMIT_LEN)
			rc = mc_err_set(err, EX_DATAERR, _("malformed anchor row"));
		else {
			out->height = mc_from_be64(v);
			out->tx_index = mc_from_be32((const uint8_t *)v + 8);
			rc = mc_anchor_commit_decode((const uint8_t *)v + 12, MC_ANCHOR_COMMIT_LEN, &out->a, err);
		}
	}
	mc_cursor_close(c);
	return rc;
}

int mc_chain_block(struct mc_txn *t, uint64_t height, struct mc_header *h, struct mc_cert *c,
		   struct mc_err *err)
{
	uint8_t key[8];
	const void *v;
	size_t vn;
	struct mc_rd r;
	int rc;

	mc_be64(key, height);
	rc = mc_txn_get(t, MC_DB_BLOCKS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc;
	mc_rd_init(&r, v, vn);
	if (mc_header_decode(&r, h, err) != 0 || mc_cert_decode(&r, c, err) != 0)
		return mc_err_wrap(err, _("block %llu"), (unsigned long long)height);
	if (!mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("block %llu: trailing bytes"),
				  (unsigned long long)height);
	return 0;
}

int mc_chain_height_at(struct mc_txn *t, uint64_t ms, uint64_t *height, struct mc_err *err)
{
	struct mc_head head;
	uint64_t lo = 0, hi;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	hi = head.empty ? 0 : head.height + 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct mc_header h;
		struct mc_cert c;

		if (mc_chain_block(t, mid, &h, &c, err) != 0)
			return -1;
		if (h.timestamp_ms < ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	*height = lo;
	return 0;
}

int mc_chain_store_block(struct mc_txn *t, const struct mc_header *h, const struct mc_cert *c,
			 const uint8_t hash[MC_HASH_LEN], struct mc_err *err)
{
	struct mc_buf enc;
	uint8_t key[8];
	int rc;

	mc_buf_init(&enc);
	mc_header_encode(h, &enc);
	mc_cert_encode(c, &enc);
	if (mc_buf_failed(&enc)) {
		mc_buf_release(&enc);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	mc_be64(key, h->height);
	rc = mc_txn_put(t, MC_DB_BLOCKS, key, sizeof(key), enc.data, enc.len, err);
	mc_buf_release(&enc);
	if (rc != 0 || mc_ctree_append(t, h->height, hash, err) != 0 ||
	    put_head(t, h->height, hash, h->timestamp_ms, err) != 0)
		return -1;
	return 0;
}

int mc_chain_mark_format(struct mc_txn *t, struct mc_err *err)
{
	return mc_txn_put(t, MC_DB_META, META_FORMAT, sizeof(META_FORMAT) - 1, FORMAT_V1,
			  sizeof(FORMAT_V1) - 1, err);
}

int mc_chain_set_head(struct mc_txn *t, uint64_t height, const uint8_t hash[MC_HASH_LEN], uint64_t ts,
		      struct mc_err *err)
{
	return put_head(t, height, hash, ts, err);
}

int mc_chain_set_id(struct mc_txn *t, const uint8_t id[MC_HASH_LEN], struct mc_err *err)
{
	return mc_txn_put(t, MC_DB_META, META_CHAIN_ID, sizeof(META_CHAIN_ID) - 1, id, MC_HASH_LEN, err);
}

int mc_chain_valset_epoch(struct mc_txn *t, uint64_t *epoch, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_META, META_EPOCH, sizeof(META_EPOCH) - 1, &v, &vn, err);

	*epoch = 0;
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return 0;
	if (vn != 8)
		return mc_err_set(err, EX_DATAERR, _("malformed validator set epoch"));
	*epoch = mc_from_be64(v);
	return 0;
}

int mc_chain_leader(struct mc_txn *t, uint8_t leader[MC_PK_LEN], uint64_t *view,
		    struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_META, META_VIEW, sizeof(META_VIEW) - 1, &v, &vn, err);

	*view = 0;
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (vn != 8)
			return mc_err_set(err, EX_DATAERR, _("malformed view"));
		*view = mc_from_be64(v);
	}
	rc = mc_txn_get(t, MC_DB_META, META_LEADER, sizeof(META_LEADER) - 1, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (vn != MC_PK_LEN)
			return mc_err_set(err, EX_DATAERR, _("malformed leader"));
		memcpy(leader, v, MC_PK_LEN);
		return 0;
	}
	{
		/* a store older than the leader: the first validator leads */
		uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
		size_t n;

		if (mc_chain_validators(t, vals, &n, err) != 0)
			return -1;
		memcpy(leader, vals[0], MC_PK_LEN);
	}
	return 0;
}

/* A stored set: 1..MC_MAX_VALIDATORS keys, strictly ascending. */
static int valset_load(const void *v, size_t vn, uint8_t (*out)[MC_PK_LEN], size_t *n,
		       struct mc_err *err)
{
	const uint8_t *p = v;

	if (vn == 0 || vn % MC_PK_LEN || vn / MC_PK_LEN > MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("malformed validator set"));
	for (size_t i = MC_PK_LEN; i < vn; i += MC_PK_LEN)
		if (memcmp(p + i - MC_PK_LEN, p + i, MC_PK_LEN) >= 0)
			return mc_err_set(err, EX_DATAERR, _("malformed validator set"));
	memcpy(out, v, vn);
	*n = vn / MC_PK_LEN;
	return 0;
}

int mc_chain_validators_at(struct mc_txn *t, uint64_t height, uint8_t (*out)[MC_PK_LEN],
			   size_t *n, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	uint8_t key[8];
	bool before_first = false;
	int rc;

	mc_be64(key, height);
	if (mc_cursor_open(t, MC_DB_VALSETS, &c, err) != 0)
		return -1;
	rc = mc_cursor_seek(c, key, sizeof(key), &k, &kn, &v, &vn, err);
	if (rc == 0 && kn == sizeof(key) && memcmp(k, key, sizeof(key)) != 0) {
		rc = mc_cursor_prev(c, &k, &kn, &v, &vn, err);
		before_first = rc == MC_NOTFOUND;
	} else if (rc == MC_NOTFOUND) {
		rc = mc_cursor_last(c, &k, &kn, &v, &vn, err);
	}
	if (rc == 0)
		rc = kn != sizeof(key) ? mc_err_set(err, EX_DATAERR, _("malformed validator set"))
				       : valset_load(v, vn, out, n, err);
	mc_cursor_close(c);
	if (rc != MC_NOTFOUND)
		return rc;
	if (before_first)
		return mc_err_set(err, EX_DATAERR, _("no validator set is recorded for block %llu"),
				  (unsigned long long)height);
	/* a store older than VALSETS: one set since genesis, the current one */
	return mc_chain_validators(t, out, n, err);
}
