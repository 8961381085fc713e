/* SPDX-License-Identifier: Apache-2.0 */
/* idtx.h - the identity family on the chain: the rules of IDENTITY_ENROLL,
 * IDENTITY_REVOKE and IDENTITY_ROTATE (bodies in tx.c; identity rows in
 * identity.c; rotation rows in rotation.c). */
#ifndef MC_IDTX_H
#define MC_IDTX_H

#include "err.h"
#include "rules.h"
#include "store.h"
#include "tx.h"

int mc_idtx_enroll(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx, struct mc_err *err);
int mc_idtx_revoke(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx, struct mc_err *err);
int mc_idtx_rotate(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx, struct mc_err *err);

#endif
