/* SPDX-License-Identifier: Apache-2.0 */
/* anchortx.h - the anchor family on the chain: the rule of ANCHOR_COMMIT
 * (body in tx.c), which writes the ANCHORED rows chainstate.c reads back. */
#ifndef MC_ANCHORTX_H
#define MC_ANCHORTX_H

#include "err.h"
#include "rules.h"
#include "store.h"
#include "tx.h"

int mc_anchortx_commit(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx, struct mc_err *err);

#endif
