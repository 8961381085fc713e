/* SPDX-License-Identifier: Apache-2.0 */
/* model_records.h - the Records screen's data: a page of records (the
 * newest version of each; one subject's through the subject index, one
 * category), and one record's history. Metadata only: no payload. */
#ifndef MC_MODEL_RECORDS_H
#define MC_MODEL_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "records.h"
#include "store.h"

#define MC_RECORDS_PAGE_MAX 256

struct mc_records_page {
	unsigned n;
	bool more;                          /* another page follows */
	struct mc_record_info rows[MC_RECORDS_PAGE_MAX];
};

/* subject: a pseudonym or NULL; category NULL or ""; after: the last id of
 * the previous page or NULL; want <= MC_RECORDS_PAGE_MAX. */
int mc_records_page_load(struct mc_store *s, const uint8_t *subject, const char *category,
			 const uint8_t *after, unsigned want, struct mc_records_page *out,
			 struct mc_err *err);
/* Every version of one record, oldest first (at most MC_RECORDS_PAGE_MAX). */
int mc_records_history_load(struct mc_store *s, const uint8_t id[MC_RECORD_ID_LEN],
			    struct mc_records_page *out, struct mc_err *err);

#endif
