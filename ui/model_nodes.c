#include "config.h"

#include <string.h>

#include "chain.h"
#include "model_nodes.h"

struct load {
	const uint8_t *self;
	struct mc_nodes *out;
};

static int nodes_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval = 0;
	struct mc_head head;

	if (mc_chain_head(t, &head, err) != 0 || mc_chain_validators(t, vals, &nval, err) != 0)
		return -1;
	l->out->height = head.height;
	for (size_t i = 0; i < nval; i++) {
		struct mc_node_row *r = &l->out->rows[l->out->n++];
		struct mc_identity id;
		int rc = mc_identity_get(t, vals[i], &id, err);

		if (rc < 0)
			return -1;
		memcpy(r->pk, vals[i], MC_PK_LEN);
		r->validator = true;
		r->self = l->self && memcmp(vals[i], l->self, MC_PK_LEN) == 0;
		if (rc == 0) {
			memcpy(r->name, id.name, sizeof(r->name));
			memcpy(r->org, id.org, sizeof(r->org));
			r->enrolled = id.enrolled;
			r->revoked = id.revoked != MC_NOT_REVOKED;
		}
	}
	return 0;
}

int mc_nodes_load(struct mc_store *s, const uint8_t self[MC_PK_LEN], struct mc_nodes *out,
		  struct mc_err *err)
{
	struct load l = { self, out };

	memset(out, 0, sizeof(*out));
	return mc_store_read(s, nodes_txn, &l, err);
}
