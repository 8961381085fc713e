/* SPDX-License-Identifier: Apache-2.0 */
/* alerts.h - what the console's status line and dashboard warn about:
 * break-glass reads in the last hours, bursts of denials by one actor,
 * active grants that end soon, and every grant that staff recorded on a
 * patient's behalf rather than the patient gave. A paged, read-only query over the indexes;
 * no state of its own. */
#ifndef MC_ALERTS_H
#define MC_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "vlast.h"

enum mc_alert_kind {
	MC_ALERT_BREAK_GLASS = 1,
	MC_ALERT_DENY_BURST = 2,
	MC_ALERT_GRANT_EXPIRING = 3,
	MC_ALERT_STAFF_GRANT = 4,       /* a grant recorded by staff (a consent form) */
	MC_ALERT_VERIFY_FAILED = 5,     /* the last verify found damage */
	MC_ALERT_VERIFY_OVERDUE = 6,    /* no verify for verify_overdue_ms */
	MC_ALERT_ENROLLER_GRANT = 7,    /* a patient-signed grant to the staff member
					 * who enrolled that patient identity */
	MC_ALERT_ENROLLER_COLLEAGUE_GRANT = 8, /* a patient-signed grant, soon after that
					 * patient identity's enrolment, to a colleague
					 * (same organization) of its enroller */
	MC_ALERT_LOST_KEY_ROTATION = 9, /* an admin moved an identity to a new key
					 * without the old key's signature */
};
const char *mc_alert_name(unsigned kind);   /* machine name */

struct mc_alert_params {
	uint64_t now_ms;
	uint64_t break_glass_window_ms;   /* default 24 h */
	uint64_t deny_window_ms;          /* default 1 h */
	unsigned deny_burst;              /* denials by one actor in the window; default 5 */
	uint64_t expiring_window_ms;      /* default 7 days */
	/* The last verify (vlast.h), local to this node: with check_verify,
	 * verify_ran says whether one stored an outcome in verify. Never run,
	 * the overdue clock starts at the genesis block's time. */
	bool check_verify, verify_ran;
	struct mc_verify_last verify;
	uint64_t verify_overdue_ms;       /* default 36 h */
	uint64_t enrolment_window_ms;     /* enroller-colleague-grant: from the patient
					   * identity's enrolment; default 24 h */
};
void mc_alert_defaults(struct mc_alert_params *p, uint64_t now_ms);

struct mc_alert {
	uint8_t kind;
	uint64_t time_ms;                 /* event time, the grant's end, or when
					   * staff recorded it */
	uint64_t height;
	uint32_t tx_index;
	uint8_t actor[MC_PK_LEN];         /* reader, or grantee */
	uint8_t subject[MC_HASH_LEN];
	uint8_t record[16];
	uint8_t grant[16];
	unsigned count;                   /* denials in a burst */
	uint8_t author[MC_PK_LEN];        /* staff grant: who recorded it; lost-key
					   * rotation: the admin who submitted it */
	uint8_t old_pk[MC_PK_LEN];        /* lost-key rotation: the key it replaced
					   * (actor: the new key) */
	bool revoked;                     /* staff grant: revoked since */
	bool never;                       /* verify overdue: none ever ran */
	char message[512];                /* verify failed: the first damage */
	uint8_t enroller[MC_PK_LEN];      /* enroller-colleague-grant: who enrolled the
					   * patient identity (author) */
	uint64_t after_ms;                /* enroller-colleague-grant: from enrolment to grant */
};

/* Calls fn for each alert (a failed or overdue verify first, break-glass reads oldest first, then bursts,
 * then expiring grants, then every staff-recorded grant in grant id
 * order, then every lost-key rotation by new key); fn returns 0 to go on, non-zero to stop. */
typedef int (*mc_alert_fn)(const struct mc_alert *a, void *ctx);
int mc_alerts(struct mc_txn *t, const struct mc_alert_params *p, mc_alert_fn fn, void *ctx,
	      struct mc_err *err);

#endif
