/* SPDX-License-Identifier: Apache-2.0 */
/* anchorwatch.h - what alerts need to know about anchoring without the
 * network: pending anchors stuck in the journal, and the anchor key's
 * balance as the last anchor run saw it.
 *
 * The run that plans an anchor asks the public chain for the key's balance
 * and the fee anyway; it records both, with the gas of one anchor, in
 * <datadir>/anchor.balance.json (docs/formats.md), written atomically.
 * "low" is the balance below 20 anchors at that fee; low_since is when the
 * run first saw it low, kept while it stays low, so the alert keeps one id
 * until the key is funded again. */
#ifndef MC_ANCHORWATCH_H
#define MC_ANCHORWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "alerts.h"
#include "conf.h"
#include "err.h"
#include "store.h"

#define MC_BALANCE_FILE "anchor.balance.json"
#define MC_BALANCE_ANCHORS 20

struct mc_balance_seen {
	uint64_t time_ms;
	uint8_t address[20];
	uint64_t chain_id;
	uint64_t wei;                 /* the low 64 bits */
	bool over_64_bits;            /* more than 2^64 - 1 wei: never low */
	uint64_t fee_wei;             /* per gas: the max fee an anchor offers */
	uint64_t gas;                 /* gas of one anchor */
	bool low;
	uint64_t low_since_ms;
};

/* Fills low and low_since_ms (from the previous record, if for the same
 * key and still low) and replaces the file. */
int mc_balance_record(const char *datadir, struct mc_balance_seen *b, struct mc_err *err);
/* 0 loaded, 1 none recorded yet, -1 malformed (err set). */
int mc_balance_load(const char *datadir, struct mc_balance_seen *b, struct mc_err *err);

/* Adds to p's extra alerts: each journaled anchor neither confirmed nor
 * superseded for more than 3 x bump_after_s since it was planned, and a
 * low balance the last run recorded (datadir may be NULL: none). */
int mc_anchor_watch(struct mc_txn *t, const char *datadir, uint32_t bump_after_s,
		    struct mc_alert_params *p, struct mc_err *err);

/* Everything alerts read besides the chain, into p (mc_alert_defaults
 * first): the last verify (vlast.h), serve's status file when [node] listen
 * is set, [anchor] overdue_after, and mc_anchor_watch with [anchor]
 * bump_after. The CLI and the console's Dashboard both call this, so they
 * list the same alerts. */
int mc_alert_gather(struct mc_txn *t, const char *datadir, const struct mc_config *conf,
		    struct mc_alert_params *p, struct mc_err *err);

#endif
