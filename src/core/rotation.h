/* SPDX-License-Identifier: Apache-2.0 */
/* rotation.h - the key rotation rows IDENTITY_ROTATE leaves behind
 * (idtx.c writes them) and the key line they make: one person's keys, newest
 * first. Read by the consent rules, the alerts and the audit. */
#ifndef MC_ROTATION_H
#define MC_ROTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"

/* Key rotation row (MC_DB_ROTATIONS, key the new pk): what IDENTITY_ROTATE
 * left behind, for the alerts (a lost-key rotation), the enroller of a
 * rotated identity and a record's author reading it back with a new key.
 *   old pk (32) | kind u8 | height u64 | tx index u32 | author pk (32) */
struct mc_rotation {
	uint8_t new_pk[MC_PK_LEN];
	uint8_t old_pk[MC_PK_LEN];
	uint8_t kind;                /* enum mc_rotate_kind */
	uint64_t height;
	uint32_t tx_index;
	uint8_t author[MC_PK_LEN];   /* the admin who submitted it */
};
#define MC_ROTATION_ROW_LEN (MC_PK_LEN + 1 + 8 + 4 + MC_PK_LEN)
int mc_rotation_decode(const uint8_t new_pk[MC_PK_LEN], const void *p, size_t n, struct mc_rotation *r,
		       struct mc_err *err);
/* The rotation that made new_pk: 0, MC_NOTFOUND or -1. */
int mc_rotation_get(struct mc_txn *t, const uint8_t new_pk[MC_PK_LEN], struct mc_rotation *r,
		    struct mc_err *err);
/* Stores r as new_pk's rotation row: 0, MC_EXISTS (new_pk was rotated to
 * before) or -1. */
int mc_rotation_put(struct mc_txn *t, const struct mc_rotation *r, struct mc_err *err);
/* How many rotations a key's line may hold (a bound for walking it back). */
#define MC_ROTATIONS_MAX 64
/* One person's keys: pk, then the key its identity was rotated from, and
 * so on back (at most MC_ROTATIONS_MAX + 1 keys; a longer line is cut). */
struct mc_key_line {
	uint8_t pk[MC_ROTATIONS_MAX + 1][MC_PK_LEN];
	size_t n;
};
int mc_key_line(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], struct mc_key_line *l, struct mc_err *err);
bool mc_key_line_has(const struct mc_key_line *l, const uint8_t pk[MC_PK_LEN]);

#endif
