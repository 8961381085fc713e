/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "identity.h"
#include "util.h"

static const char *const role_names[] = {
	"admin", "clinician", "auditor", "patient", "node", "anchor", "org", "registrar",
};
#define NROLES (MC_ARRAY_LEN(role_names))

/* ---- the identity index (MC_DB_IDINDEX, store.h) ----
 * 0x00 -> (empty): the index is built (a store older than it has no such
 * row until its first identity write builds it);
 * 'n' | name | 0x00 | pk -> (empty): an active identity and its name (a
 * name holds no NUL: the name's end is unambiguous);
 * 's' | subject (32) | pk -> (empty): an active patient identity with a
 * subject. Exactly what the scans below find, so that the index answers
 * as they do. */
enum { IDX_BUILT = 0x00, IDX_NAME = 'n', IDX_SUBJECT = 's' };
#define IDX_KEY_MAX (2 + MC_NAME_MAX + MC_PK_LEN)

static const uint8_t idx_marker[1] = { IDX_BUILT };

/* The key of name (len bytes) and pk; with pk NULL, its prefix. */
static size_t name_key(uint8_t k[IDX_KEY_MAX], const void *name, size_t len, const uint8_t *pk)
{
	k[0] = IDX_NAME;
	memcpy(k + 1, name, len);
	k[1 + len] = 0;
	if (pk)
		memcpy(k + 2 + len, pk, MC_PK_LEN);
	return 2 + len + (pk ? MC_PK_LEN : 0);
}

static size_t subject_key(uint8_t k[IDX_KEY_MAX], const uint8_t *subject, const uint8_t *pk)
{
	k[0] = IDX_SUBJECT;
	memcpy(k + 1, subject, MC_HASH_LEN);
	if (pk)
		memcpy(k + 1 + MC_HASH_LEN, pk, MC_PK_LEN);
	return 1 + MC_HASH_LEN + (pk ? MC_PK_LEN : 0);
}

static bool active_patient(const struct mc_identity *id)
{
	return (id->roles & MC_ROLE_PATIENT) && id->has_subject && id->revoked == MC_NOT_REVOKED;
}

/* Adds (add) or removes the entries of id: 0 or -1. A removed entry that
 * is not there is no error (verify finds a damaged index). */
static int idx_entries(struct mc_txn *t, const struct mc_identity *id, bool add, struct mc_err *err)
{
	uint8_t k[IDX_KEY_MAX];
	size_t kn;
	int rc;

	if (id->revoked != MC_NOT_REVOKED)
		return 0;
	kn = name_key(k, id->name, strlen(id->name), id->pk);
	rc = add ? mc_txn_put(t, MC_DB_IDINDEX, k, kn, idx_marker, 0, err) : mc_txn_del(t, MC_DB_IDINDEX, k, kn, err);
	if (rc < 0 || !active_patient(id))
		return rc < 0 ? -1 : 0;
	kn = subject_key(k, id->subject, id->pk);
	rc = add ? mc_txn_put(t, MC_DB_IDINDEX, k, kn, idx_marker, 0, err) : mc_txn_del(t, MC_DB_IDINDEX, k, kn, err);
	return rc < 0 ? -1 : 0;
}

/* 1 when the index is built, 0 when not, -1 on error. */
static int idx_built(struct mc_txn *t, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_IDINDEX, idx_marker, sizeof(idx_marker), &v, &vn, err);

	return rc < 0 ? -1 : rc == 0;
}

static int idx_add(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	return idx_entries(ctx, id, true, err);
}

/* Builds the index unless it is: whatever rows it holds without its marker
 * go first, then one entry set per identity, then the marker. 0 or -1. */
static int idx_ready(struct mc_txn *t, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc = idx_built(t, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (mc_cursor_open(t, MC_DB_IDINDEX, &c, err) != 0)
		return -1;
	while ((rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err)) == 0 && mc_cursor_del(c, err) == 0)
		;
	mc_cursor_close(c);
	if (rc != MC_NOTFOUND || mc_identities_each(t, idx_add, t, err) != 0)
		return -1;
	return mc_txn_put(t, MC_DB_IDINDEX, idx_marker, sizeof(idx_marker), idx_marker, 0, err);
}

static int idx_built_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	int rc = idx_built(t, err);

	if (rc < 0)
		return -1;
	*(bool *)ctx = rc == 1;
	return 0;
}

static int idx_ready_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	(void)ctx;
	return idx_ready(t, err);
}

int mc_identity_index_ensure(struct mc_store *s, struct mc_err *err)
{
	bool built = false;

	if (mc_store_read(s, idx_built_txn, &built, err) != 0)
		return -1;
	if (built)
		return 0;
	return mc_store_write(s, idx_ready_txn, NULL, err) != 0 ? -1 : 1;
}

void mc_identity_encode(const struct mc_identity *id, struct mc_buf *b)
{
	mc_put_u32(b, id->roles);
	mc_put_u64(b, id->enrolled);
	mc_put_u64(b, id->revoked);
	mc_put_bytes(b, id->name, strlen(id->name));
	mc_put_bytes(b, id->org, strlen(id->org));
	mc_put_bytes(b, id->subject, id->has_subject ? MC_HASH_LEN : 0);
}

int mc_identity_decode(const uint8_t pk[MC_PK_LEN], const void *p, size_t n,
		       struct mc_identity *id, struct mc_err *err)
{
	struct mc_rd r;
	const uint8_t *name, *org;
	size_t name_len, org_len;

	memset(id, 0, sizeof(*id));
	memcpy(id->pk, pk, MC_PK_LEN);
	mc_rd_init(&r, p, n);
	id->roles = mc_get_u32(&r);
	id->enrolled = mc_get_u64(&r);
	id->revoked = mc_get_u64(&r);
	name = mc_get_bytes(&r, MC_NAME_MAX, &name_len);
	org = mc_get_bytes(&r, MC_NAME_MAX, &org_len);
	{
		size_t sl;
		const uint8_t *s = mc_get_bytes(&r, MC_HASH_LEN, &sl);

		if (!mc_rd_finish(&r) || (sl != 0 && sl != MC_HASH_LEN))
			return mc_err_set(err, EX_DATAERR, _("malformed identity record"));
		id->has_subject = sl == MC_HASH_LEN;
		if (id->has_subject)
			memcpy(id->subject, s, MC_HASH_LEN);
	}
	memcpy(id->name, name, name_len);
	memcpy(id->org, org, org_len);
	return 0;
}

int mc_identity_put(struct mc_txn *t, const struct mc_identity *id, struct mc_err *err)
{
	struct mc_identity old;
	struct mc_buf b;
	int rc = idx_ready(t, err);

	if (rc == 0)
		rc = mc_identity_get(t, id->pk, &old, err);
	if (rc < 0 || (rc == 0 && idx_entries(t, &old, false, err) != 0))
		return -1;
	mc_buf_init(&b);
	mc_identity_encode(id, &b);
	rc = mc_buf_failed(&b) ? mc_err_set(err, EX_OSERR, _("out of memory"))
			       : mc_txn_put(t, MC_DB_IDENTITIES, id->pk, MC_PK_LEN, b.data, b.len, err);
	mc_buf_release(&b);
	return rc != 0 ? rc : idx_entries(t, id, true, err);
}

int mc_identity_get(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], struct mc_identity *id,
		    struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_IDENTITIES, pk, MC_PK_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	return mc_identity_decode(pk, v, vn, id, err);
}

int mc_identities_each(struct mc_txn *t, mc_identity_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc, stop = 0;

	if (mc_cursor_open(t, MC_DB_IDENTITIES, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0 && !stop;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		struct mc_identity id;

		if (kn != MC_PK_LEN || mc_identity_decode(k, v, vn, &id, err) != 0) {
			rc = mc_err_set(err, EX_DATAERR, _("malformed identity record"));
			break;
		}
		stop = fn(&id, ctx, err);
		if (stop < 0) {
			rc = -1;
			break;
		}
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : stop;
}

/* The scans the index replaces while a store has not built it yet. */
struct name_look {
	const uint8_t *name;
	size_t len;
	uint8_t *holder;
};

static int bears_name(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	struct name_look *l = ctx;

	(void)err;
	if (id->revoked != MC_NOT_REVOKED || strlen(id->name) != l->len || memcmp(id->name, l->name, l->len) != 0)
		return 0;
	memcpy(l->holder, id->pk, MC_PK_LEN);
	return 1;
}

static int is_subjects_patient(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	(void)err;
	return active_patient(id) && memcmp(id->subject, ctx, MC_HASH_LEN) == 0;
}

/* 1 and the key after prefix (kn bytes) of the first entry under it that
 * has one more key, 0 when none has, -1 on error. */
static int idx_first(struct mc_txn *t, const uint8_t *prefix, size_t kn, uint8_t pk[MC_PK_LEN],
		     struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t n, vn;
	int rc, found;

	if (mc_cursor_open(t, MC_DB_IDINDEX, &c, err) != 0)
		return -1;
	rc = mc_cursor_seek(c, prefix, kn, &k, &n, &v, &vn, err);
	found = rc == 0 && n == kn + MC_PK_LEN && memcmp(k, prefix, kn) == 0;
	if (found)
		memcpy(pk, (const uint8_t *)k + kn, MC_PK_LEN);
	mc_cursor_close(c);
	return rc < 0 ? -1 : found;
}

int mc_identity_named(struct mc_txn *t, const void *name, size_t len, uint8_t holder[MC_PK_LEN],
		      struct mc_err *err)
{
	uint8_t k[IDX_KEY_MAX];
	int rc = idx_built(t, err);

	if (rc == 0) {
		struct name_look l = { name, len, holder };

		return mc_identities_each(t, bears_name, &l, err);
	}
	if (rc < 0)
		return -1;
	/* no identity's name is longer or holds a NUL: the scan finds none */
	if (len > MC_NAME_MAX || memchr(name, 0, len))
		return 0;
	return idx_first(t, k, name_key(k, name, len, NULL), holder, err);
}

int mc_identity_patient_of(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN], struct mc_err *err)
{
	uint8_t k[IDX_KEY_MAX], pk[MC_PK_LEN];
	int rc = idx_built(t, err);

	if (rc == 0)
		return mc_identities_each(t, is_subjects_patient, (void *)subject, err);
	if (rc < 0)
		return -1;
	return idx_first(t, k, subject_key(k, subject, NULL), pk, err);
}

static int find_scan(struct mc_txn *t, const char *what, struct mc_identity *id, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn, wlen = strlen(what);
	int found = 0, rc;

	if (mc_cursor_open(t, MC_DB_IDENTITIES, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		struct mc_identity cand;
		char hex[2 * MC_PK_LEN + 1];

		if (kn != MC_PK_LEN || mc_identity_decode(k, v, vn, &cand, err) != 0) {
			mc_cursor_close(c);
			return mc_err_set(err, EX_DATAERR, _("malformed identity record"));
		}
		mc_hex(k, kn, hex);
		if (strcmp(cand.name, what) == 0 ||
		    (wlen >= 8 && strncmp(hex, what, wlen) == 0)) {
			/* Prefer an active identity when a name was reused. */
			if (found && cand.revoked != MC_NOT_REVOKED)
				continue;
			if (found && id->revoked == MC_NOT_REVOKED) {
				mc_cursor_close(c);
				return mc_err_set(err, EX_USAGE,
						  _("'%s' names more than one identity: give the key"), what);
			}
			*id = cand;
			found = 1;
		}
	}
	mc_cursor_close(c);
	if (rc < 0)
		return -1;
	if (!found)
		return mc_err_set(err, EX_NOUSER, _("no identity named '%s'"), what);
	return 0;
}

/* The active identities `what` names, from the index, by name and (8 hex
 * digits or more) by key prefix: up to two distinct keys in f. */
struct found {
	uint8_t pk[2][MC_PK_LEN];
	unsigned n;
};

static void found_add(struct found *f, const uint8_t *pk)
{
	for (unsigned i = 0; i < f->n; i++)
		if (memcmp(f->pk[i], pk, MC_PK_LEN) == 0)
			return;
	if (f->n < 2)
		memcpy(f->pk[f->n++], pk, MC_PK_LEN);
}

static int found_by_name(struct mc_txn *t, const char *what, size_t wlen, struct found *f, struct mc_err *err)
{
	uint8_t k[IDX_KEY_MAX];
	size_t kn = name_key(k, what, wlen, NULL), n;
	struct mc_cursor *c;
	const void *key;
	int rc;

	if (mc_cursor_open(t, MC_DB_IDINDEX, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, k, kn, &key, &n, NULL, NULL, err); rc == 0 && f->n < 2;
	     rc = mc_cursor_next(c, &key, &n, NULL, NULL, err)) {
		if (n != kn + MC_PK_LEN || memcmp(key, k, kn) != 0)
			break;
		found_add(f, (const uint8_t *)key + kn);
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* Active identities whose key's hex starts with what (lower-case hex, as
 * mc_hex writes it and the scan compares). */
static int found_by_prefix(struct mc_txn *t, const char *what, size_t wlen, struct found *f,
			   struct mc_err *err)
{
	uint8_t start[MC_PK_LEN] = { 0 };
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (wlen > 2 * MC_PK_LEN || strspn(what, "0123456789abcdef") != wlen)
		return 0;
	for (size_t i = 0; i < wlen; i++)
		start[i / 2] |= (uint8_t)((what[i] <= '9' ? what[i] - '0' : what[i] - 'a' + 10) << (i % 2 ? 0 : 4));
	if (mc_cursor_open(t, MC_DB_IDENTITIES, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, start, (wlen + 1) / 2, &k, &kn, &v, &vn, err); rc == 0 && f->n < 2;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		struct mc_identity id;
		char hex[2 * MC_PK_LEN + 1];

		if (kn != MC_PK_LEN || mc_identity_decode(k, v, vn, &id, err) != 0) {
			rc = mc_err_set(err, EX_DATAERR, _("malformed identity record"));
			break;
		}
		mc_hex(k, kn, hex);
		if (strncmp(hex, what, wlen) != 0)
			break;
		if (id.revoked == MC_NOT_REVOKED)
			found_add(f, k);
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

int mc_identity_find(struct mc_txn *t, const char *what, struct mc_identity *id,
		     struct mc_err *err)
{
	size_t wlen = strlen(what);
	uint8_t pk[MC_PK_LEN];
	struct found f = { .n = 0 };
	int rc;

	if (wlen == 2 * MC_PK_LEN && mc_unhex(what, pk, MC_PK_LEN) == 0) {
		rc = mc_identity_get(t, pk, id, err);
		if (rc == MC_NOTFOUND)
			return mc_err_set(err, EX_NOUSER, _("no identity with key '%s'"), what);
		return rc;
	}
	/* An active match is the answer (two are ambiguous), as in the scan,
	 * which prefers an active identity; with none, the scan finds the
	 * revoked one it names, or says none is. */
	rc = idx_built(t, err);
	if (rc > 0 && wlen <= MC_NAME_MAX)
		rc = found_by_name(t, what, wlen, &f, err) == 0 ? 1 : -1;
	if (rc > 0 && wlen >= 8)
		rc = found_by_prefix(t, what, wlen, &f, err) == 0 ? 1 : -1;
	if (rc < 0)
		return -1;
	if (rc == 0 || f.n == 0)
		return find_scan(t, what, id, err);
	if (f.n > 1)
		return mc_err_set(err, EX_USAGE, _("'%s' names more than one identity: give the key"), what);
	rc = mc_identity_get(t, f.pk[0], id, err);
	return rc == MC_NOTFOUND ? find_scan(t, what, id, err) : rc;
}

int mc_roles_parse(const char *s, uint32_t *roles, struct mc_err *err)
{
	const char *p = s;

	*roles = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		bool ok = false;

		for (size_t i = 0; i < NROLES; i++) {
			if (strlen(role_names[i]) == n && strncmp(p, role_names[i], n) == 0) {
				*roles |= 1u << i;
				ok = true;
			}
		}
		if (!ok)
			return mc_err_set(err, EX_USAGE,
					  _("unknown role '%.*s' (roles: admin, clinician, auditor, patient, node, anchor)"),
					  (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	if (*roles == 0)
		return mc_err_set(err, EX_USAGE, _("give at least one role"));
	return 0;
}

void mc_identity_who(const char *name, const uint8_t pk[MC_PK_LEN], char *out, size_t n)
{
	char hex[2 * MC_PK_LEN + 1];

	mc_hex(pk, MC_PK_LEN, hex);
	snprintf(out, n, "%s (%.*s)", name && *name ? name : "?", MC_WHO_PREFIX, hex);
}

void mc_roles_format(uint32_t roles, char *out, size_t outlen)
{
	size_t len = 0;

	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < NROLES; i++) {
		if (roles & (1u << i)) {
			int w = snprintf(out + len, outlen - len, "%s%s", len ? "," : "", role_names[i]);

			if (w < 0 || (size_t)w >= outlen - len)
				return;
			len += (size_t)w;
		}
	}
}
