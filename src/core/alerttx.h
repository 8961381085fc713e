/* SPDX-License-Identifier: Apache-2.0 */
/* alerttx.h - the alert acknowledgement on the chain: the rule of
 * ALERT_ACK (body and the alert facts in alerts.c) and its ALERT_ACKS row. */
#ifndef MC_ALERTTX_H
#define MC_ALERTTX_H

#include "err.h"
#include "rules.h"
#include "store.h"
#include "tx.h"

int mc_alerttx_ack(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx, struct mc_err *err);

#endif
