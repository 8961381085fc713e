/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "codec.h"
#include "i18n.h"
#include "rotation.h"

int mc_rotation_decode(const uint8_t new_pk[MC_PK_LEN], const void *p, size_t n, struct mc_rotation *r,
		       struct mc_err *err)
{
	const uint8_t *b = p;

	if (n != MC_ROTATION_ROW_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed key rotation row"));
	memcpy(r->new_pk, new_pk, MC_PK_LEN);
	memcpy(r->old_pk, b, MC_PK_LEN);
	r->kind = b[MC_PK_LEN];
	r->height = mc_from_be64(b + MC_PK_LEN + 1);
	r->tx_index = mc_from_be32(b + MC_PK_LEN + 9);
	memcpy(r->author, b + MC_PK_LEN + 13, MC_PK_LEN);
	return 0;
}

int mc_rotation_get(struct mc_txn *t, const uint8_t new_pk[MC_PK_LEN], struct mc_rotation *r,
		    struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_ROTATIONS, new_pk, MC_PK_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	return mc_rotation_decode(new_pk, v, vn, r, err);
}

int mc_key_line(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], struct mc_key_line *l, struct mc_err *err)
{
	memcpy(l->pk[0], pk, MC_PK_LEN);
	l->n = 1;
	while (l->n <= MC_ROTATIONS_MAX) {
		struct mc_rotation rot;
		int rc = mc_rotation_get(t, l->pk[l->n - 1], &rot, err);

		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			break;
		memcpy(l->pk[l->n++], rot.old_pk, MC_PK_LEN);
	}
	return 0;
}

bool mc_key_line_has(const struct mc_key_line *l, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->pk[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

int mc_rotation_put(struct mc_txn *t, const struct mc_rotation *r, struct mc_err *err)
{
	uint8_t row[MC_ROTATION_ROW_LEN];

	memcpy(row, r->old_pk, MC_PK_LEN);
	row[MC_PK_LEN] = r->kind;
	mc_be64(row + MC_PK_LEN + 1, r->height);
	mc_be32(row + MC_PK_LEN + 9, r->tx_index);
	memcpy(row + MC_PK_LEN + 13, r->author, MC_PK_LEN);
	return mc_txn_put_new(t, MC_DB_ROTATIONS, r->new_pk, MC_PK_LEN, row, sizeof(row), err);
}
