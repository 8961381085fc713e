/* SPDX-License-Identifier: Apache-2.0 */
/* bench_reads.h - the benchmarks' audit events: ACCESS txs, each decided
 * by the same consent rules as a real read, many to a block. */
#ifndef MC_BENCH_READS_H
#define MC_BENCH_READS_H

#include <string.h>

#include "chain.h"
#include "consent.h"

struct reads {
	const struct mc_key *actor;
	uint8_t (*ids)[MC_RECORD_ID_LEN];
	size_t first, count, nids;
	size_t permits;
};

/* Adds `count` ACCESS txs (reads of successive records) to the block. */
static int reads_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct reads *r = vctx;

	r->permits = 0;
	for (size_t i = 0; i < r->count; i++) {
		const uint8_t *id = r->ids[(r->first + i) % r->nids];
		struct mc_access acc;
		struct mc_decision d;
		struct mc_buf body;
		int rc;

		memset(&acc, 0, sizeof(acc));
		if (mc_access_decide(t, r->actor->pk, id, 1, MC_PURPOSE_TREATMENT, false, mc_builder_time(b),
				     acc.subject, &d, err) != 0)
			return -1;
		memcpy(acc.record, id, MC_RECORD_ID_LEN);
		acc.version = 1;
		acc.purpose = MC_PURPOSE_TREATMENT;
		acc.outcome = d.outcome;
		acc.reason = d.reason;
		memcpy(acc.grant, d.grant, MC_GRANT_ID_LEN);
		r->permits += d.outcome == MC_OUTCOME_PERMIT;
		mc_buf_init(&body);
		mc_access_encode(&acc, &body);
		rc = mc_builder_add_new(t, b, r->actor, MC_TX_ACCESS, body.data, body.len, NULL, 0, err);
		mc_buf_release(&body);
		if (rc != 0)
			return -1;
	}
	return 0;
}

#endif
