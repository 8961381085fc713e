/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "i18n.h"
#include "identity.h"
#include "text.h"
#include "valset.h"

static const char change_domain[] = "medchain/node-change/v1";
static const char view_domain[] = "medchain/view-change/v1";
static const char promote_domain[] = "medchain/promote/v1";
static const char rotate_domain[] = "medchain/node-rotate/v1";

static const char META_VALSET[] = MC_META_VALSET;
static const char META_EPOCH[] = MC_META_VALSET_EPOCH;
static const char META_LEADER[] = MC_META_LEADER;
static const char META_VIEW[] = MC_META_VIEW;

#define NODE_ROW_FIXED 16   /* added height u64 | removed height u64 */

static bool in_set(const uint8_t (*vals)[MC_PK_LEN], size_t n, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(vals[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

/* ---- approvals ---------------------------------------------------------- */

void mc_node_change_digest(const uint8_t chain_id[MC_HASH_LEN], unsigned op,
			   const uint8_t pk[MC_PK_LEN], const uint8_t *name, size_t name_len,
			   const uint8_t *url, size_t url_len, uint64_t epoch,
			   uint8_t out[MC_HASH_LEN])
{
	uint8_t hname[MC_HASH_LEN], hurl[MC_HASH_LEN], num[8], opb = (uint8_t)op;
	struct mc_sha256 h;

	mc_sha256(name_len ? name : (const uint8_t *)"", name_len, hname);
	mc_sha256(url_len ? url : (const uint8_t *)"", url_len, hurl);
	mc_be64(num, epoch);
	mc_sha256_init(&h);
	mc_sha256_update(&h, change_domain, sizeof(change_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, &opb, 1);
	mc_sha256_update(&h, pk, MC_PK_LEN);
	mc_sha256_update(&h, hname, MC_HASH_LEN);
	mc_sha256_update(&h, hurl, MC_HASH_LEN);
	mc_sha256_update(&h, num, 8);
	mc_sha256_final(&h, out);
}

void mc_approval_sign(const uint8_t digest[MC_HASH_LEN], const uint8_t sk[MC_SK_LEN],
		      const uint8_t pk[MC_PK_LEN], struct mc_approval *a)
{
	memcpy(a->pk, pk, MC_PK_LEN);
	mc_sign(sk, digest, MC_HASH_LEN, a->sig);
}

int mc_approval_verify(const uint8_t digest[MC_HASH_LEN], const struct mc_approval *a)
{
	return mc_sign_verify(a->pk, digest, MC_HASH_LEN, a->sig);
}

int mc_approvals_add(struct mc_approvals *ap, const struct mc_approval *a, struct mc_err *err)
{
	unsigned i = 0;

	while (i < ap->count && memcmp(ap->a[i].pk, a->pk, MC_PK_LEN) < 0)
		i++;
	if (i < ap->count && memcmp(ap->a[i].pk, a->pk, MC_PK_LEN) == 0) {
		ap->a[i] = *a;
		return 0;
	}
	if (ap->count >= MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("too many approvals"));
	memmove(&ap->a[i + 1], &ap->a[i], (ap->count - i) * sizeof(ap->a[0]));
	ap->a[i] = *a;
	ap->count++;
	return 0;
}

int mc_approvals_check(const struct mc_approvals *ap, const uint8_t digest[MC_HASH_LEN],
		       const uint8_t (*validators)[MC_PK_LEN], size_t nval, struct mc_err *err)
{
	if (nval == 0)
		return mc_err_set(err, EX_DATAERR, _("empty validator set"));
	if (ap->count > MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("too many approvals"));
	for (unsigned i = 0; i < ap->count; i++) {
		if (i > 0 && memcmp(ap->a[i - 1].pk, ap->a[i].pk, MC_PK_LEN) >= 0)
			return mc_err_set(err, EX_DATAERR,
					  _("approvals are not in key order or repeat a key"));
		if (!in_set(validators, nval, ap->a[i].pk))
			return mc_err_set(err, EX_DATAERR, _("an approval is not from a validator"));
	}
	if (ap->count < mc_quorum(nval))
		return mc_err_set(err, EX_DATAERR,
				  _("%u of %zu validators approved, short of a quorum of %zu"),
				  (unsigned)ap->count, nval, mc_quorum(nval));
	for (unsigned i = 0; i < ap->count; i++)
		if (mc_approval_verify(digest, &ap->a[i]) != 0)
			return mc_err_set(err, EX_DATAERR, _("an approval's signature is not valid"));
	return 0;
}

static void approvals_encode(const struct mc_approvals *ap, struct mc_buf *b)
{
	mc_put_u16(b, ap->count);
	for (unsigned i = 0; i < ap->count && i < MC_MAX_VALIDATORS; i++) {
		mc_put_raw(b, ap->a[i].pk, MC_PK_LEN);
		mc_put_raw(b, ap->a[i].sig, MC_SIG_LEN);
	}
}

/* False on a short read, a count outside 1..MC_MAX_VALIDATORS, or keys
 * that are not strictly ascending. */
static bool approvals_read(struct mc_rd *r, struct mc_approvals *ap)
{
	ap->count = mc_get_u16(r);
	if (!mc_rd_ok(r) || ap->count == 0 || ap->count > MC_MAX_VALIDATORS)
		return false;
	for (unsigned i = 0; i < ap->count; i++) {
		mc_get_raw(r, ap->a[i].pk, MC_PK_LEN);
		mc_get_raw(r, ap->a[i].sig, MC_SIG_LEN);
		if (i > 0 && memcmp(ap->a[i - 1].pk, ap->a[i].pk, MC_PK_LEN) >= 0)
			return false;
	}
	return mc_rd_ok(r);
}

/* ---- bodies ------------------------------------------------------------- */

static int body_err(struct mc_err *err, const char *what)
{
	return mc_err_set(err, EX_DATAERR, _("malformed %s body"), what);
}

/* A u16-prefixed byte string of at most max bytes (borrowed). */
static const uint8_t *get_str16(struct mc_rd *r, size_t max, size_t *n)
{
	size_t len = mc_get_u16(r);
	const uint8_t *p;

	*n = 0;
	if (!mc_rd_ok(r))
		return NULL;
	if (len > max) {
		r->ok = false;
		return NULL;
	}
	p = mc_get_view(r, len);
	if (p)
		*n = len;
	return p;
}

static void put_str16(struct mc_buf *b, const uint8_t *p, size_t n)
{
	if (n > UINT16_MAX) {
		b->failed = true;
		return;
	}
	mc_put_u16(b, (uint16_t)n);
	mc_put_raw(b, p, n);
}

bool mc_node_url_valid(const uint8_t *url, size_t n)
{
	static const char http[] = "http://", https[] = "https://";
	size_t skip;

	if (n > MC_URL_MAX)
		return false;
	if (n > sizeof(https) - 1 && memcmp(url, https, sizeof(https) - 1) == 0)
		skip = sizeof(https) - 1;
	else if (n > sizeof(http) - 1 && memcmp(url, http, sizeof(http) - 1) == 0)
		skip = sizeof(http) - 1;
	else
		return false;
	for (size_t i = skip; i < n; i++)
		if (url[i] <= 0x20 || url[i] >= 0x7f)
			return false;
	return true;
}

void mc_node_add_encode(const struct mc_node_add *a, struct mc_buf *b)
{
	mc_put_raw(b, a->pk, MC_PK_LEN);
	put_str16(b, a->name, a->name_len);
	put_str16(b, a->url, a->url_len);
	mc_put_u64(b, a->epoch);
	approvals_encode(&a->approvals, b);
}

int mc_node_add_decode(const uint8_t *p, size_t n, struct mc_node_add *a, struct mc_err *err)
{
	struct mc_rd r;

	memset(a, 0, sizeof(*a));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, a->pk, MC_PK_LEN);
	a->name = get_str16(&r, MC_NAME_MAX, &a->name_len);
	a->url = get_str16(&r, MC_URL_MAX, &a->url_len);
	a->epoch = mc_get_u64(&r);
	if (!approvals_read(&r, &a->approvals) || !mc_rd_finish(&r))
		return body_err(err, "NODE_ADD");
	if (a->name_len == 0 || !mc_text_clean(a->name, a->name_len))
		return mc_err_set(err, EX_DATAERR, _("identity name or organization is not clean UTF-8"));
	if (!mc_node_url_valid(a->url, a->url_len))
		return mc_err_set(err, EX_DATAERR,
				  _("a node's URL must start with http:// or https:// and hold no spaces or control characters"));
	return 0;
}

void mc_node_remove_encode(const struct mc_node_remove *rm, struct mc_buf *b)
{
	mc_put_raw(b, rm->pk, MC_PK_LEN);
	mc_put_u64(b, rm->epoch);
	approvals_encode(&rm->approvals, b);
}

int mc_node_remove_decode(const uint8_t *p, size_t n, struct mc_node_remove *rm,
			  struct mc_err *err)
{
	struct mc_rd r;

	memset(rm, 0, sizeof(*rm));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, rm->pk, MC_PK_LEN);
	rm->epoch = mc_get_u64(&r);
	if (!approvals_read(&r, &rm->approvals) || !mc_rd_finish(&r))
		return body_err(err, "NODE_REMOVE");
	return 0;
}

void mc_promote_digest(const uint8_t chain_id[MC_HASH_LEN], uint64_t from_view, const uint8_t leader[MC_PK_LEN],
		       uint8_t out[MC_HASH_LEN])
{
	uint8_t num[8];
	struct mc_sha256 h;

	mc_be64(num, from_view);
	mc_sha256_init(&h);
	mc_sha256_update(&h, promote_domain, sizeof(promote_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, num, 8);
	mc_sha256_update(&h, leader, MC_PK_LEN);
	mc_sha256_final(&h, out);
}

void mc_promote_encode(const struct mc_promote *p, struct mc_buf *b)
{
	mc_put_u64(b, p->from_view);
	mc_put_raw(b, p->leader, MC_PK_LEN);
	approvals_encode(&p->approvals, b);
}

int mc_promote_decode(const uint8_t *p, size_t n, struct mc_promote *out, struct mc_err *err)
{
	struct mc_rd r;

	memset(out, 0, sizeof(*out));
	mc_rd_init(&r, p, n);
	out->from_view = mc_get_u64(&r);
	mc_get_raw(&r, out->leader, MC_PK_LEN);
	if (!approvals_read(&r, &out->approvals) || !mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("malformed promotion approvals"));
	return 0;
}

void mc_node_rotate_digest(const uint8_t chain_id[MC_HASH_LEN], const uint8_t old_pk[MC_PK_LEN],
			   const uint8_t new_pk[MC_PK_LEN], uint64_t epoch, uint8_t out[MC_HASH_LEN])
{
	uint8_t num[8];
	struct mc_sha256 h;

	mc_be64(num, epoch);
	mc_sha256_init(&h);
	mc_sha256_update(&h, rotate_domain, sizeof(rotate_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, old_pk, MC_PK_LEN);
	mc_sha256_update(&h, new_pk, MC_PK_LEN);
	mc_sha256_update(&h, num, 8);
	mc_sha256_final(&h, out);
}

void mc_node_rotate_encode(const struct mc_node_rotate *r, struct mc_buf *b)
{
	mc_put_raw(b, r->old_pk, MC_PK_LEN);
	mc_put_raw(b, r->new_pk, MC_PK_LEN);
	mc_put_u64(b, r->epoch);
	mc_put_raw(b, r->new_sig, MC_SIG_LEN);
	approvals_encode(&r->approvals, b);
}

int mc_node_rotate_decode(const uint8_t *p, size_t n, struct mc_node_rotate *r,
			  struct mc_err *err)
{
	struct mc_rd rd;

	memset(r, 0, sizeof(*r));
	mc_rd_init(&rd, p, n);
	mc_get_raw(&rd, r->old_pk, MC_PK_LEN);
	mc_get_raw(&rd, r->new_pk, MC_PK_LEN);
	r->epoch = mc_get_u64(&rd);
	mc_get_raw(&rd, r->new_sig, MC_SIG_LEN);
	if (!mc_rd_ok(&rd) || !approvals_read(&rd, &r->approvals) || !mc_rd_finish(&rd) ||
	    memcmp(r->old_pk, r->new_pk, MC_PK_LEN) == 0)
		return body_err(err, "NODE_ROTATE");
	return 0;
}

void mc_view_change_encode(const struct mc_view_change *v, struct mc_buf *b)
{
	mc_put_u64(b, v->view);
	mc_put_raw(b, v->leader, MC_PK_LEN);
	mc_put_u16(b, v->count);
	for (unsigned i = 0; i < v->count && i < MC_MAX_VALIDATORS; i++) {
		const struct mc_vc_vote *vo = &v->votes[i];

		mc_put_raw(b, vo->pk, MC_PK_LEN);
		mc_put_u64(b, vo->locked_height);
		mc_put_u64(b, vo->locked_view);
		mc_put_raw(b, vo->locked_hash, MC_HASH_LEN);
		mc_put_raw(b, vo->sig, MC_SIG_LEN);
	}
}

int mc_view_change_decode(const uint8_t *p, size_t n, struct mc_view_change *v,
			  struct mc_err *err)
{
	struct mc_rd r;

	memset(v, 0, sizeof(*v));
	mc_rd_init(&r, p, n);
	v->view = mc_get_u64(&r);
	mc_get_raw(&r, v->leader, MC_PK_LEN);
	v->count = mc_get_u16(&r);
	if (!mc_rd_ok(&r) || v->count == 0 || v->count > MC_MAX_VALIDATORS)
		return body_err(err, "VIEW_CHANGE");
	for (unsigned i = 0; i < v->count; i++) {
		struct mc_vc_vote *vo = &v->votes[i];

		mc_get_raw(&r, vo->pk, MC_PK_LEN);
		vo->locked_height = mc_get_u64(&r);
		vo->locked_view = mc_get_u64(&r);
		mc_get_raw(&r, vo->locked_hash, MC_HASH_LEN);
		mc_get_raw(&r, vo->sig, MC_SIG_LEN);
		if (i > 0 && memcmp(v->votes[i - 1].pk, vo->pk, MC_PK_LEN) >= 0)
			return body_err(err, "VIEW_CHANGE");
	}
	if (!mc_rd_finish(&r))
		return body_err(err, "VIEW_CHANGE");
	return 0;
}

void mc_view_change_digest(const uint8_t chain_id[MC_HASH_LEN], uint64_t view,
			   const uint8_t leader[MC_PK_LEN], uint64_t locked_height,
			   uint64_t locked_view, const uint8_t locked_hash[MC_HASH_LEN],
			   uint8_t out[MC_HASH_LEN])
{
	uint8_t num[8];
	struct mc_sha256 h;

	mc_sha256_init(&h);
	mc_sha256_update(&h, view_domain, sizeof(view_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_be64(num, view);
	mc_sha256_update(&h, num, 8);
	mc_sha256_update(&h, leader, MC_PK_LEN);
	mc_be64(num, locked_height);
	mc_sha256_update(&h, num, 8);
	mc_be64(num, locked_view);
	mc_sha256_update(&h, num, 8);
	mc_sha256_update(&h, locked_hash, MC_HASH_LEN);
	mc_sha256_final(&h, out);
}

void mc_vc_vote_sign(const uint8_t chain_id[MC_HASH_LEN], uint64_t view,
		     const uint8_t leader[MC_PK_LEN], const uint8_t sk[MC_SK_LEN],
		     const uint8_t pk[MC_PK_LEN], struct mc_vc_vote *v)
{
	uint8_t digest[MC_HASH_LEN];

	memcpy(v->pk, pk, MC_PK_LEN);
	mc_view_change_digest(chain_id, view, leader, v->locked_height, v->locked_view,
			      v->locked_hash, digest);
	mc_sign(sk, digest, sizeof(digest), v->sig);
}

int mc_vc_vote_verify(const uint8_t chain_id[MC_HASH_LEN], uint64_t view,
		      const uint8_t leader[MC_PK_LEN], const struct mc_vc_vote *v)
{
	uint8_t digest[MC_HASH_LEN];

	mc_view_change_digest(chain_id, view, leader, v->locked_height, v->locked_view,
			      v->locked_hash, digest);
	return mc_sign_verify(v->pk, digest, sizeof(digest), v->sig);
}

int mc_view_change_check(const struct mc_view_change *v, const uint8_t chain_id[MC_HASH_LEN],
			 const uint8_t (*validators)[MC_PK_LEN], size_t nval, struct mc_err *err)
{
	if (nval == 0)
		return mc_err_set(err, EX_DATAERR, _("empty validator set"));
	if (v->count > MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("too many view-change votes"));
	if (!in_set(validators, nval, v->leader))
		return mc_err_set(err, EX_DATAERR, _("the new leader is not a validator"));
	for (unsigned i = 0; i < v->count; i++) {
		if (i > 0 && memcmp(v->votes[i - 1].pk, v->votes[i].pk, MC_PK_LEN) >= 0)
			return mc_err_set(err, EX_DATAERR,
					  _("view-change votes are not in key order or repeat a key"));
		if (!in_set(validators, nval, v->votes[i].pk))
			return mc_err_set(err, EX_DATAERR, _("a view-change vote is not from a validator"));
	}
	if (v->count < mc_quorum(nval))
		return mc_err_set(err, EX_DATAERR,
				  _("%u of %zu validators voted for the view change, short of a quorum of %zu"),
				  (unsigned)v->count, nval, mc_quorum(nval));
	for (unsigned i = 0; i < v->count; i++)
		if (mc_vc_vote_verify(chain_id, v->view, v->leader, &v->votes[i]) != 0)
			return mc_err_set(err, EX_DATAERR, _("a view-change vote's signature is not valid"));
	return 0;
}

/* ---- derived state ------------------------------------------------------ */

void mc_valset_hash(const uint8_t (*validators)[MC_PK_LEN], size_t n, uint8_t out[MC_HASH_LEN])
{
	static const char dom[] = "medchain/valset/v1";
	struct mc_sha256 s;

	mc_sha256_init(&s);
	mc_sha256_update(&s, dom, sizeof(dom) - 1);
	for (size_t i = 0; i < n; i++)
		mc_sha256_update(&s, validators[i], MC_PK_LEN);
	mc_sha256_final(&s, out);
}

static int meta_put(struct mc_txn *t, const char *key, const void *v, size_t vn,
		    struct mc_err *err)
{
	return mc_txn_put(t, MC_DB_META, key, strlen(key), v, vn, err);
}

static int meta_put_u64(struct mc_txn *t, const char *key, uint64_t x, struct mc_err *err)
{
	uint8_t v[8];

	mc_be64(v, x);
	return meta_put(t, key, v, sizeof(v), err);
}

static int put_node(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], uint64_t added,
		    uint64_t removed, const uint8_t *url, size_t url_len, struct mc_err *err)
{
	uint8_t row[NODE_ROW_FIXED + MC_URL_MAX];

	if (url_len > MC_URL_MAX)
		return mc_err_set(err, EX_SOFTWARE, _("malformed validator node row"));
	mc_be64(row, added);
	mc_be64(row + 8, removed);
	if (url_len)
		memcpy(row + NODE_ROW_FIXED, url, url_len);
	return mc_txn_put(t, MC_DB_NODES, pk, MC_PK_LEN, row, NODE_ROW_FIXED + url_len, err);
}

int mc_nodes_each(struct mc_txn *t, mc_node_visit_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (mc_cursor_open(t, MC_DB_NODES, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		char url[MC_URL_MAX + 1];
		const uint8_t *row = v;

		if (kn != MC_PK_LEN || vn < NODE_ROW_FIXED || vn - NODE_ROW_FIXED > MC_URL_MAX) {
			rc = mc_err_set(err, EX_DATAERR, _("malformed validator node row"));
			break;
		}
		memcpy(url, row + NODE_ROW_FIXED, vn - NODE_ROW_FIXED);
		url[vn - NODE_ROW_FIXED] = '\0';
		rc = fn(k, mc_from_be64(row), mc_from_be64(row + 8), url, ctx);
		if (rc != 0)
			break;
	}
	mc_cursor_close(c);
	return rc == MC_NOTFOUND ? 0 : rc;
}

int mc_valset_genesis(struct mc_txn *t, const uint8_t node[MC_PK_LEN], struct mc_err *err)
{
	uint8_t key[8];

	mc_be64(key, 0);
	if (meta_put(t, META_VALSET, node, MC_PK_LEN, err) != 0 ||
	    mc_txn_put(t, MC_DB_VALSETS, key, sizeof(key), node, MC_PK_LEN, err) != 0 ||
	    put_node(t, node, 0, 0, NULL, 0, err) != 0 ||
	    meta_put(t, META_LEADER, node, MC_PK_LEN, err) != 0)
		return -1;
	return meta_put_u64(t, META_VIEW, 0, err);
}

/* ---- the rules ---------------------------------------------------------- */

/* The author is an active validator; loads the current set and epoch and
 * checks the body's epoch against it. */
static int change_preamble(struct mc_txn *t, const struct mc_apply_ctx *ax,
			   const struct mc_tx *tx, uint64_t body_epoch,
			   uint8_t (*vals)[MC_PK_LEN], size_t *n, uint64_t *epoch,
			   struct mc_err *err)
{
	if (mc_author_active(t, ax, tx->author, 0, err) != 0 || mc_chain_validators(t, vals, n, err) != 0)
		return -1;
	if (!in_set((const uint8_t (*)[MC_PK_LEN])vals, *n, tx->author))
		return mc_refuse_perm(err, ax, _("the author is not a validator"));
	if (mc_chain_valset_epoch(t, epoch, err) != 0)
		return -1;
	if (body_epoch != *epoch)
		return mc_refuse(err, ax, _("the approvals are for another validator set epoch (stale or replayed)"));
	return 0;
}

/* A store older than VALSETS and NODES gets them on its first set change:
 * the set it had since genesis, as genesis writes it today. */
static int adopt_legacy(struct mc_txn *t, const uint8_t (*vals)[MC_PK_LEN], size_t n,
			struct mc_err *err)
{
	uint64_t count = 0;
	uint8_t key[8];

	if (mc_txn_count(t, MC_DB_VALSETS, &count, err) != 0)
		return -1;
	if (count)
		return 0;
	mc_be64(key, 0);
	if (mc_txn_put(t, MC_DB_VALSETS, key, sizeof(key), vals, n * MC_PK_LEN, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (put_node(t, vals[i], 0, 0, NULL, 0, err) != 0)
			return -1;
	/* and the view genesis writes today (the leader is written below) */
	{
		const void *v;
		size_t vn;
		int rc = mc_txn_get(t, MC_DB_META, META_VIEW, sizeof(META_VIEW) - 1, &v, &vn, err);

		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			return meta_put_u64(t, META_VIEW, 0, err);
	}
	return 0;
}

/* The new set in meta and, from the next block on, in VALSETS; one more
 * epoch; the leader written out. */
static int set_changed(struct mc_txn *t, const struct mc_apply_ctx *ax,
		       const uint8_t (*vals)[MC_PK_LEN], size_t n, uint64_t epoch,
		       const uint8_t leader[MC_PK_LEN], struct mc_err *err)
{
	uint8_t key[8];

	if (ax->height == UINT64_MAX)
		return mc_refuse(err, ax, _("no block follows this one"));
	mc_be64(key, ax->height + 1);
	if (meta_put(t, META_VALSET, vals, n * MC_PK_LEN, err) != 0 ||
	    mc_txn_put(t, MC_DB_VALSETS, key, sizeof(key), vals, n * MC_PK_LEN, err) != 0 ||
	    meta_put_u64(t, META_EPOCH, epoch + 1, err) != 0)
		return -1;
	return meta_put(t, META_LEADER, leader, MC_PK_LEN, err);
}

/* The added node's identity: enrolled now as a node, or already an active
 * node. */
static int node_identity(struct mc_txn *t, const struct mc_apply_ctx *ax,
			 const struct mc_node_add *a, struct mc_err *err)
{
	struct mc_identity id;
	int rc = mc_identity_get(t, a->pk, &id, err);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (id.revoked != MC_NOT_REVOKED)
			return mc_refuse(err, ax, _("the node's identity is revoked"));
		if (!(id.roles & MC_ROLE_NODE))
			return mc_refuse(err, ax, _("the node's identity does not have the node role"));
		return 0;
	}
	/* From block version 4 on, a node's new identity takes its name as an
	 * enrolment does (found in review: a NODE_ADD named a second active
	 * "Dr A", and "consent grant --to" that name became ambiguous). */
	if (ax->height > 0 && mc_rules_succession_v4(ax) && mc_rules_name_free(t, ax, a->name, a->name_len, err) != 0)
		return -1;
	memset(&id, 0, sizeof(id));
	memcpy(id.pk, a->pk, MC_PK_LEN);
	id.roles = MC_ROLE_NODE;
	id.enrolled = ax->height;
	id.revoked = MC_NOT_REVOKED;
	memcpy(id.name, a->name, a->name_len);
	return mc_identity_put(t, &id, err);
}

/* A NODE_ADD of a validator already in the set (its approvals checked):
 * its new address (the genesis node's first one). The set
 * stays; the epoch moves on, so older approvals cannot put an old address
 * back. */
static int readdress(struct mc_txn *t, const struct mc_node_add *a, const uint8_t (*vals)[MC_PK_LEN], size_t n,
		     uint64_t epoch, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc;

	if (adopt_legacy(t, vals, n, err) != 0)
		return -1;
	rc = mc_txn_get(t, MC_DB_NODES, a->pk, MC_PK_LEN, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc != 0 || vn < NODE_ROW_FIXED)
		return mc_err_set(err, EX_DATAERR, _("malformed validator node row"));
	if (meta_put_u64(t, META_EPOCH, epoch + 1, err) != 0)
		return -1;
	return put_node(t, a->pk, mc_from_be64(v), 0, a->url, a->url_len, err);
}

int mc_valset_apply_node_add(struct mc_txn *t, const struct mc_apply_ctx *ax,
			     const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_node_add a;
	uint8_t vals[MC_MAX_VALIDATORS + 1][MC_PK_LEN], leader[MC_PK_LEN], digest[MC_HASH_LEN];
	uint64_t epoch, view;
	size_t n, at;

	if (mc_node_add_decode(tx->body, tx->body_len, &a, err) != 0)
		return mc_refuse_body(err, ax);
	if (change_preamble(t, ax, tx, a.epoch, vals, &n, &epoch, err) != 0)
		return -1;
	mc_node_change_digest(ax->chain_id, MC_NODE_OP_ADD, a.pk, a.name, a.name_len, a.url,
			      a.url_len, a.epoch, digest);
	if (mc_approvals_check(&a.approvals, digest, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0)
		return mc_refuse_body(err, ax);
	if (in_set((const uint8_t (*)[MC_PK_LEN])vals, n, a.pk))
		return readdress(t, &a, (const uint8_t (*)[MC_PK_LEN])vals, n, epoch, err);
	if (n >= MC_MAX_VALIDATORS)
		return mc_refuse(err, ax, _("the validator set is full"));
	if (node_identity(t, ax, &a, err) != 0 || mc_chain_leader(t, leader, &view, err) != 0 ||
	    adopt_legacy(t, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0)
		return -1;
	for (at = 0; at < n && memcmp(vals[at], a.pk, MC_PK_LEN) < 0; at++)
		;
	memmove(vals[at + 1], vals[at], (n - at) * MC_PK_LEN);
	memcpy(vals[at], a.pk, MC_PK_LEN);
	n++;
	if (set_changed(t, ax, (const uint8_t (*)[MC_PK_LEN])vals, n, epoch, leader, err) != 0)
		return -1;
	return put_node(t, a.pk, ax->height, 0, a.url, a.url_len, err);
}

/* pk's NODES row, when it has one: its added height and address (else 0
 * and none). */
static int node_row_get(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], uint64_t *added,
			uint8_t url[MC_URL_MAX], size_t *url_len, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_NODES, pk, MC_PK_LEN, &v, &vn, err);

	*added = 0;
	*url_len = 0;
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (vn < NODE_ROW_FIXED || vn - NODE_ROW_FIXED > MC_URL_MAX)
			return mc_err_set(err, EX_DATAERR, _("malformed validator node row"));
		*added = mc_from_be64(v);
		*url_len = vn - NODE_ROW_FIXED;
		memcpy(url, (const uint8_t *)v + NODE_ROW_FIXED, *url_len);
	}
	return 0;
}

/* Takes pk (a member) out of the sorted set; returns where it was. */
static size_t set_remove(uint8_t (*vals)[MC_PK_LEN], size_t *n, const uint8_t pk[MC_PK_LEN])
{
	size_t at;

	for (at = 0; memcmp(vals[at], pk, MC_PK_LEN) != 0; at++)
		;
	memmove(vals[at], vals[at + 1], (*n - at - 1) * MC_PK_LEN);
	(*n)--;
	return at;
}

int mc_valset_apply_node_remove(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_node_remove rm;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN], leader[MC_PK_LEN], digest[MC_HASH_LEN];
	uint8_t url[MC_URL_MAX];
	uint64_t epoch, view, added;
	size_t n, at, url_len;

	if (mc_node_remove_decode(tx->body, tx->body_len, &rm, err) != 0)
		return mc_refuse_body(err, ax);
	if (change_preamble(t, ax, tx, rm.epoch, vals, &n, &epoch, err) != 0)
		return -1;
	if (!in_set((const uint8_t (*)[MC_PK_LEN])vals, n, rm.pk))
		return mc_refuse(err, ax, _("the node is not a validator"));
	if (n < 2)
		return mc_refuse(err, ax, _("the last validator cannot be removed"));
	mc_node_change_digest(ax->chain_id, MC_NODE_OP_REMOVE, rm.pk, NULL, 0, NULL, 0, rm.epoch,
			      digest);
	if (mc_approvals_check(&rm.approvals, digest, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_chain_leader(t, leader, &view, err) != 0 ||
	    adopt_legacy(t, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0)
		return -1;
	at = set_remove(vals, &n, rm.pk);
	/* A removed leader hands over to the next key in the new set. */
	if (memcmp(leader, rm.pk, MC_PK_LEN) == 0)
		memcpy(leader, vals[at < n ? at : 0], MC_PK_LEN);
	if (set_changed(t, ax, (const uint8_t (*)[MC_PK_LEN])vals, n, epoch, leader, err) != 0 ||
	    node_row_get(t, rm.pk, &added, url, &url_len, err) != 0)
		return -1;
	return put_node(t, rm.pk, added, ax->height, url, url_len, err);
}


int mc_valset_apply_view_change(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_view_change vc;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN], leader[MC_PK_LEN];
	uint64_t view;
	size_t n;

	if (mc_view_change_decode(tx->body, tx->body_len, &vc, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, 0, err) != 0 || mc_chain_leader(t, leader, &view, err) != 0)
		return -1;
	if (vc.view <= view)
		return mc_refuse(err, ax, _("a view change must move to a higher view"));
	if (vc.view == UINT64_MAX)   /* there must always be a next view */
		return mc_refuse(err, ax, _("a view change cannot move to the last view number"));
	if (mc_chain_validators(t, vals, &n, err) != 0)
		return -1;
	if (mc_view_change_check(&vc, ax->chain_id, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0)
		return mc_refuse_body(err, ax);
	if (meta_put_u64(t, META_VIEW, vc.view, err) != 0)
		return -1;
	return meta_put(t, META_LEADER, vc.leader, MC_PK_LEN, err);
}

/* NODE_ROTATE's checks of the new key: never a validator nor an identity,
 * its holder's signature, a quorum's approvals of the current set. */
static int rotate_check_new(struct mc_txn *t, const struct mc_apply_ctx *ax,
			    const struct mc_node_rotate *ro, const uint8_t (*vals)[MC_PK_LEN], size_t n,
			    struct mc_err *err)
{
	struct mc_identity id;
	uint8_t digest[MC_HASH_LEN];
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_NODES, ro->new_pk, MC_PK_LEN, &v, &vn, err);

	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the new key was a validator before: a rotation needs a fresh key"));
	rc = mc_identity_get(t, ro->new_pk, &id, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the new key is an enrolled identity already: a rotation needs a fresh key"));
	mc_node_rotate_digest(ax->chain_id, ro->old_pk, ro->new_pk, ro->epoch, digest);
	if (mc_sign_verify(ro->new_pk, digest, MC_HASH_LEN, ro->new_sig) != 0)
		return mc_refuse(err, ax, _("the new key's signature is not valid (its holder did not agree)"));
	if (mc_approvals_check(&ro->approvals, digest, vals, n, err) != 0)
		return mc_refuse_body(err, ax);
	return 0;
}

/* The old key's NODES row: removed in this block, its address kept and
 * given to the new key's row. */
static int rotate_node_rows(struct mc_txn *t, const struct mc_apply_ctx *ax,
			    const struct mc_node_rotate *ro, struct mc_err *err)
{
	uint8_t url[MC_URL_MAX];
	uint64_t added;
	size_t url_len;

	if (node_row_get(t, ro->old_pk, &added, url, &url_len, err) != 0 ||
	    put_node(t, ro->old_pk, added, ax->height, url, url_len, err) != 0)
		return -1;
	return put_node(t, ro->new_pk, ax->height, 0, url, url_len, err);
}

/* The identities: the new key a node of the old one's name, the old one
 * revoked (its txs and reads are refused from now on). */
static int rotate_identity(struct mc_txn *t, const struct mc_apply_ctx *ax,
			   const struct mc_node_rotate *ro, struct mc_err *err)
{
	struct mc_identity old_id, new_id;
	int rc = mc_identity_get(t, ro->old_pk, &old_id, err);

	if (rc < 0)
		return -1;
	memset(&new_id, 0, sizeof(new_id));
	memcpy(new_id.pk, ro->new_pk, MC_PK_LEN);
	new_id.roles = MC_ROLE_NODE;
	new_id.enrolled = ax->height;
	new_id.revoked = MC_NOT_REVOKED;
	if (rc == 0) {
		new_id.roles = old_id.roles | MC_ROLE_NODE;
		memcpy(new_id.name, old_id.name, sizeof(new_id.name));
		memcpy(new_id.org, old_id.org, sizeof(new_id.org));
		if (old_id.revoked == MC_NOT_REVOKED) {
			old_id.revoked = ax->height;
			if (mc_identity_put(t, &old_id, err) != 0)
				return -1;
		}
	}
	return mc_identity_put(t, &new_id, err);
}

int mc_valset_apply_node_rotate(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_node_rotate ro;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN], leader[MC_PK_LEN];
	uint64_t epoch, view;
	size_t n, at;

	if (mc_node_rotate_decode(tx->body, tx->body_len, &ro, err) != 0)
		return mc_refuse_body(err, ax);
	if (change_preamble(t, ax, tx, ro.epoch, vals, &n, &epoch, err) != 0)
		return -1;
	if (!in_set((const uint8_t (*)[MC_PK_LEN])vals, n, ro.old_pk))
		return mc_refuse(err, ax, _("the rotated key is not a validator"));
	if (mc_chain_leader(t, leader, &view, err) != 0 ||
	    rotate_check_new(t, ax, &ro, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0 ||
	    adopt_legacy(t, (const uint8_t (*)[MC_PK_LEN])vals, n, err) != 0 ||
	    rotate_node_rows(t, ax, &ro, err) != 0)
		return -1;
	/* the set: the new key in the old one's place, in key order */
	set_remove(vals, &n, ro.old_pk);
	for (at = 0; at < n && memcmp(vals[at], ro.new_pk, MC_PK_LEN) < 0; at++)
		;
	memmove(vals[at + 1], vals[at], (n - at) * MC_PK_LEN);
	memcpy(vals[at], ro.new_pk, MC_PK_LEN);
	n++;
	/* a leader's rotation: the same node leads on, under its new key */
	if (memcmp(leader, ro.old_pk, MC_PK_LEN) == 0)
		memcpy(leader, ro.new_pk, MC_PK_LEN);
	if (set_changed(t, ax, (const uint8_t (*)[MC_PK_LEN])vals, n, epoch, leader, err) != 0 ||
	    rotate_identity(t, ax, &ro, err) != 0)
		return -1;
	/* a node's key replaced: on the audit trail too (by its author) */
	return mc_rules_audit_index(t, ax, tx, NULL, 0, err);
}
