/* SPDX-License-Identifier: Apache-2.0 */
/* ops.h - the operations the command line and the console share: an
 * audited read of a record, a consent grant, a revocation. Each takes the
 * keys its caller holds (the node's and the acting identity's), writes one
 * block, and reports what happened; neither prints anything. Also an
 * alert's acknowledgement. */
#ifndef MC_OPS_H
#define MC_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "consent.h"
#include "identity.h"
#include "keystore.h"
#include "records.h"

struct mc_op_read {
	struct mc_decision d;        /* outcome, deny reason, grant */
	uint32_t version;            /* the version read (the newest when 0 was asked) */
	uint64_t height;             /* the block holding the ACCESS event */
	uint8_t *payload;            /* permitted: the plaintext (mc_payload_free) */
	size_t n;
	struct mc_record_info info;
};
/* Decides and commits the ACCESS event first; then, unless denied,
 * decrypts as the reader's organization. A denial is 0 with
 * d.outcome == MC_OUTCOME_DENY and no payload. */
int mc_op_read(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *actor,
	       const uint8_t id[MC_RECORD_ID_LEN], uint32_t version, uint8_t purpose,
	       const char *glass, struct mc_op_read *out, struct mc_err *err);
void mc_op_read_release(struct mc_op_read *r);

struct mc_op_grant {
	uint8_t id[MC_GRANT_ID_LEN];
	uint64_t height;
	size_t shared;               /* record versions re-wrapped for another organization */
};
/* g holds subject, purpose, scope, times and attestation; the grantee and
 * id are filled in here (and a patient author's attestation). */
int mc_op_grant(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *author,
		struct mc_grant *g, const struct mc_identity *grantee, struct mc_op_grant *out,
		struct mc_err *err);

/* Inside a block being built: the grant tx, with the keys it shares (prep,
 * or NULL) stored in the same write transaction and committed by it. */
int mc_op_grant_add(struct mc_txn *t, struct mc_builder *b, const struct mc_key *author,
		    struct mc_grant *g, const struct mc_share_prep *prep, struct mc_err *err);

/* EX_NOINPUT for an unknown grant, EX_DATAERR when already revoked. */
int mc_op_revoke(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *author,
		 const uint8_t id[MC_GRANT_ID_LEN], const char *reason, uint64_t *height,
		 struct mc_err *err);

/* Acknowledges the alert (kind, id) on the chain (ALERT_ACK). The author
 * must be an admin (EX_NOPERM); EX_USAGE for a reason that is not 1 to
 * MC_REASON_MAX characters of text, EX_DATAERR when already acknowledged.
 * That the id names an alert this node lists is the caller's to check. */
int mc_op_alert_ack(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *author,
		    uint8_t kind, const uint8_t id[MC_ALERT_ID_LEN], const char *reason, uint64_t *height,
		    struct mc_err *err);

#endif
