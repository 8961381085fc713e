/* SPDX-License-Identifier: Apache-2.0 */
/* model_dash.h - the Dashboard's data, from the chain (no curses): head,
 * counts, blocks per hour over the last 24 hours, the last committed anchor
 * and a pending one, and the alerts. */
#ifndef MC_MODEL_DASH_H
#define MC_MODEL_DASH_H

#include <stdbool.h>
#include <stdint.h>

#include "alerts.h"
#include "chain.h"
#include "conf.h"
#include "err.h"
#include "store.h"

#define MC_DASH_HOURS 24
#define MC_DASH_ALERTS 8

struct mc_dash {
	struct mc_head head;
	uint64_t identities, record_versions, txs;
	unsigned validators;
	uint64_t view;                        /* the view and its leader */
	uint8_t leader[MC_PK_LEN];
	uint64_t per_hour[MC_DASH_HOURS];     /* oldest first; the last is the current hour */
	bool anchored;
	struct mc_anchored last;
	uint64_t last_anchor_ms;              /* block time of its ANCHOR_COMMIT */
	bool pending;                         /* a journaled anchor not yet confirmed */
	uint64_t pending_seq, pending_size;
	char pending_state[16];
	unsigned break_glass, deny_bursts, expiring, staff_grants;
	unsigned lost_key_rotations;       /* identities moved without the old key */
	unsigned node_states;                 /* serve or a validator down, anchoring
					       * overdue, stuck or underfunded */
	bool verify_ran;                      /* the last verify (vlast.h) */
	struct mc_verify_last verify;
	bool verify_failed, verify_overdue;
	unsigned nalerts;                     /* the first MC_DASH_ALERTS, as the CLI lists them */
	struct mc_alert alerts[MC_DASH_ALERTS];
};

/* datadir: where the last verify's outcome is (NULL: not shown); with
 * conf too, every alert `medchain alerts` lists (mc_alert_gather). Alerts
 * acknowledged on the chain are left out. */
int mc_dash_load(struct mc_store *s, const char *datadir, const struct mc_config *conf, uint64_t now_ms,
		 struct mc_dash *d, struct mc_err *err);

#endif
