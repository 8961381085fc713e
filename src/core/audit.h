/* SPDX-License-Identifier: Apache-2.0 */
/* audit.h - the audit trail as a query: every ACCESS, CONSENT_GRANT,
 * CONSENT_REVOKE and ALERT_ACK event (and the rotations: whose access moved to which key), through the audit indexes (by subject, actor or
 * outcome) or, unfiltered, the index in chain order (audit_chain; a store
 * older than it: the actor index's runs merged in chain order, the
 * transaction table past 65 actors); filtered by time with
 * block-time binary search; oldest or newest first; paged with a cursor.
 * Used by `audit list`, `audit export` and the console. */
#ifndef MC_AUDIT_H
#define MC_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "consent.h"
#include "crypto.h"
#include "err.h"
#include "store.h"
#include "tx.h"

struct mc_audit_event {
	uint64_t ts, h;                   /* block time (ms), block height */
	uint32_t ti;                      /* tx index in the block */
	uint8_t type;                     /* MC_TX_ACCESS, _CONSENT_GRANT, _CONSENT_REVOKE,
					   * _ALERT_ACK */
	uint8_t actor[MC_PK_LEN];
	char actor_name[MC_NAME_MAX + 1];
	bool has_subject;
	uint8_t subject[MC_HASH_LEN];
	struct mc_access acc;             /* ACCESS (its glass pointer is NULL: see glass) */
	uint8_t grant[MC_GRANT_ID_LEN];
	bool has_grant;
	uint8_t purpose;                  /* ACCESS and CONSENT_GRANT */
	uint8_t old_org[MC_PK_LEN];       /* ORG_ROTATE: the key replaced */
	uint8_t new_org[MC_PK_LEN];       /* ORG_ROTATE: the key that replaced it */
	char glass[MC_REASON_MAX + 1];    /* break-glass reason; a rotation's reason */
	uint8_t rot_old[MC_PK_LEN];       /* IDENTITY_ROTATE: the key replaced, */
	uint8_t rot_new[MC_PK_LEN];       /* the key that took over, */
	uint8_t rot_kind;                 /* and enum mc_rotate_kind */
	uint8_t alert_kind;               /* ALERT_ACK: the alert acknowledged */
	uint8_t alert_id[MC_ALERT_ID_LEN];
	char ack_reason[MC_REASON_MAX + 1];
};

struct mc_audit_filter {
	const uint8_t *subject;           /* pseudonym, or NULL */
	const uint8_t *actor;             /* pk, or NULL */
	uint8_t outcome;                  /* 0: any */
	uint64_t since, until;            /* block time bounds (ms), inclusive */
	bool newest_first;
	bool have_after;                  /* cursor: strictly after (oldest first) or */
	uint64_t after_h;                 /* strictly before (newest first) this event */
	uint32_t after_t;
	unsigned long limit;              /* 0: no limit */
};
void mc_audit_filter_init(struct mc_audit_filter *f);

/* What a page ended on: events given, and the cursor of the last one. */
struct mc_audit_page {
	unsigned long n;
	bool more;                        /* the limit was reached */
	uint64_t last_h;
	uint32_t last_t;
};

/* fn returns 0 to go on, non-zero to stop. */
typedef int (*mc_audit_fn)(const struct mc_audit_event *e, void *ctx);
int mc_audit_query(struct mc_txn *t, const struct mc_audit_filter *f, mc_audit_fn fn, void *ctx,
		   struct mc_audit_page *page, struct mc_err *err);

#endif
