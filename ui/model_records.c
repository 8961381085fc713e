/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "model_records.h"

struct load {
	const uint8_t *subject, *after, *id;
	const char *category;
	unsigned want;
	struct mc_records_page *out;
};

static int add(const struct mc_record_info *info, void *vctx)
{
	struct load *l = vctx;

	if (l->out->n == l->want) {
		l->out->more = true;
		return 1;
	}
	l->out->rows[l->out->n++] = *info;
	return 0;
}

static int page_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;

	return mc_records_list_after(t, l->subject, l->category, l->after, add, l, err);
}

static int history_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;

	return mc_record_history(t, l->id, add, l, err);
}

int mc_records_page_load(struct mc_store *s, const uint8_t *subject, const char *category,
			 const uint8_t *after, unsigned want, struct mc_records_page *out,
			 struct mc_err *err)
{
	struct load l = { subject, after, NULL, category && *category ? category : NULL,
			  want > MC_RECORDS_PAGE_MAX ? MC_RECORDS_PAGE_MAX : want, out };

	memset(out, 0, sizeof(*out));
	return mc_store_read(s, page_txn, &l, err);
}

int mc_records_history_load(struct mc_store *s, const uint8_t id[MC_RECORD_ID_LEN],
			    struct mc_records_page *out, struct mc_err *err)
{
	struct load l = { NULL, NULL, id, NULL, MC_RECORDS_PAGE_MAX, out };

	memset(out, 0, sizeof(*out));
	return mc_store_read(s, history_txn, &l, err);
}
