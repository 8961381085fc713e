/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "model_audit.h"

struct load {
	struct mc_audit_filter f;
	struct mc_audit_rows *out;
};

static int add(const struct mc_audit_event *e, void *vctx)
{
	struct load *l = vctx;

	l->out->rows[l->out->n++] = *e;
	return 0;
}

static int rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;

	return mc_audit_query(t, &l->f, add, l, &l->out->page, err);
}

int mc_audit_rows_load(struct mc_store *s, const struct mc_audit_filter *f, struct mc_audit_rows *out,
		       struct mc_err *err)
{
	struct load l = { *f, out };

	if (!l.f.limit || l.f.limit > MC_AUDIT_PAGE_MAX)
		l.f.limit = MC_AUDIT_PAGE_MAX;
	out->n = 0;
	memset(&out->page, 0, sizeof(out->page));
	return mc_store_read(s, rows_txn, &l, err);
}
