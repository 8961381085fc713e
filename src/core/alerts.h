/* SPDX-License-Identifier: Apache-2.0 */
/* alerts.h - what the console's status line and dashboard warn about:
 * break-glass reads in the last hours, bursts of denials by one actor,
 * active grants that end soon, and every grant that staff recorded on a
 * patient's behalf rather than the patient gave; and this node's states:
 * a failed or overdue verify, serve not running, a validator down, an
 * anchor overdue, stuck, or a key too poor to anchor. A read-only query
 * over the indexes and the facts the caller gathered; no state of its own.
 *
 * Every alert has a stable id (mc_alert_id): the same fact gives the same
 * id on every run and every node that sees it. An operator acknowledges an
 * id on the chain (ALERT_ACK); acknowledged alerts are left out unless
 * include_acked. A state (verify overdue, serve or a validator down, an
 * anchor overdue or stuck, a low balance) keeps its id while it lasts, so
 * an acknowledgement holds until it clears; the next time it begins it is
 * a new alert (docs/decisions.md). */
#ifndef MC_ALERTS_H
#define MC_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "tx.h"
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
	MC_ALERT_SERVE_DOWN = 10,    /* [node] listen set, serve not running */
	MC_ALERT_VALIDATOR_DOWN = 11, /* a validator serve has not heard from
					 * for validator_down_ms */
	MC_ALERT_ANCHOR_OVERDUE = 12, /* no anchor for [anchor] overdue_after */
	MC_ALERT_ANCHOR_STUCK = 13,   /* a pending anchor older than 3 x bump_after */
	MC_ALERT_BALANCE_LOW = 14,    /* the anchor key cannot pay 20 anchors */
	MC_ALERT_VALIDATOR_LAGGING = 15,/* a validator that is up, lacking a block
					 * this node has had for validator_down_ms */
};
const char *mc_alert_name(unsigned kind);   /* machine name */
/* The kind of a machine name, or 0. */
unsigned mc_alert_kind(const char *name);

#define MC_ALERT_PEERS_MAX 64
/* A peer as serve.status.json names it. */
struct mc_alert_peer {
	bool has_pk;
	uint8_t pk[MC_PK_LEN];
	char url[256];
	char name[MC_NAME_MAX + 1];
	bool up;
	uint64_t last_seen_ms;           /* 0: never heard from */
	uint64_t height;                 /* its head, as serve last heard */
};

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
	/* serve (check_serve): serve_running, and when not, status_ms (when
	 * the status file was last written; 0 none). Running, its peers. */
	bool check_serve, serve_running;
	uint64_t status_ms, serve_started_ms;
	size_t npeers;
	struct mc_alert_peer peers[MC_ALERT_PEERS_MAX];
	uint64_t validator_down_ms;       /* down or lagging this long; default 60 s */
	uint64_t anchor_overdue_ms;       /* [anchor] overdue_after; 0: off */
	/* alerts the caller found elsewhere (the anchor journal, the anchor
	 * key's balance: bridge/anchorwatch.h), listed after the states */
	size_t nextra;
	struct mc_alert_extra {
		uint8_t kind;
		uint64_t time_ms, seq;
		uint8_t address[20];
		char message[160];
	} extra[4];
	bool include_acked;               /* list acknowledged alerts too */
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
	unsigned count;                   /* denials in a burst; blocks a
					   * lagging validator lacks */
	uint8_t author[MC_PK_LEN];        /* staff grant: who recorded it; lost-key
					   * rotation: the admin who submitted it */
	uint8_t old_pk[MC_PK_LEN];        /* lost-key rotation: the key it replaced
					   * (actor: the new key) */
	bool revoked;                     /* staff grant: revoked since */
	bool never;                       /* verify overdue: none ever ran */
	char message[512];                /* verify failed: the first damage;
					   * validator down: its url; balance
					   * low: balance and cost */
	uint8_t enroller[MC_PK_LEN];      /* enroller-colleague-grant: who enrolled the
					   * patient identity (author) */
	uint64_t after_ms;                /* enroller-colleague-grant: from enrolment to grant */
	uint64_t seq;                     /* anchor stuck: its journal seq;
					   * anchor overdue: the last anchored
					   * tree size (0: none) */
	uint8_t address[20];              /* balance low: the anchor key */
	/* filled by mc_alerts */
	uint8_t id[MC_ALERT_ID_LEN];
	bool acked;
	uint8_t ack_by[MC_PK_LEN];
	uint64_t ack_height;
	char ack_reason[MC_REASON_MAX + 1];
};

/* The alert's id: the first 8 bytes of SHA-256 over its kind and the
 * fields that name its fact (docs/formats.md). */
void mc_alert_id(const struct mc_alert *a, uint8_t out[MC_ALERT_ID_LEN]);

/* Reads serve.status.json at path into p (check_serve set): running when
 * written within MC_ALERT_SERVE_FRESH_MS of now_ms by a process that is
 * still there. Never fails: an unreadable file is serve not running. */
#define MC_ALERT_SERVE_FRESH_MS 10000
void mc_alert_load_serve(struct mc_alert_params *p, const char *path);

/* When the chain was last anchored: the block time of the newest
 * ANCHOR_COMMIT, or the genesis block's when none (anchored false). What
 * `medchain check` and the anchor-overdue alert both measure from. */
struct mc_anchor_age {
	bool anchored;
	uint64_t since_ms;
	uint64_t tree_size;               /* the last anchor's; 0 none */
};
int mc_anchor_age(struct mc_txn *t, struct mc_anchor_age *out, struct mc_err *err);

/* The acknowledgement of id: 0 found (ack_by, ack_height, ack_reason of a
 * filled), MC_NOTFOUND, or -1. When a->kind is set, an acknowledgement
 * made under another kind is MC_NOTFOUND: an id is a hash over its kind,
 * so only a forged ack names an alert's id under another kind (one the
 * chain does not look up, to slip past the ALERT_ACK rule). */
int mc_alert_ack_get(struct mc_txn *t, const uint8_t id[MC_ALERT_ID_LEN], struct mc_alert *a,
		     struct mc_err *err);

/* Calls fn for each alert (a failed or overdue verify first, then serve
 * and validators down, an anchor overdue, the caller's extra alerts, then
 * break-glass reads oldest first, then bursts, then expiring grants, then
 * every staff-recorded grant in grant id order, then every lost-key
 * rotation by new key), each with its id and acknowledgement; fn returns
 * 0 to go on, non-zero to stop. */
typedef int (*mc_alert_fn)(const struct mc_alert *a, void *ctx);
int mc_alerts(struct mc_txn *t, const struct mc_alert_params *p, mc_alert_fn fn, void *ctx,
	      struct mc_err *err);

/* What an ALERT_ACK's chain rule (alerttx.c) needs to know of the alert
 * it names. Kinds whose fact is a tx on the chain (break-glass, deny-burst,
 * the grant kinds, lost-key-rotation) are looked up among every such fact
 * the chain holds, whatever the windows: on_chain is set, found says
 * whether one has that id, and parties lists the identities the fact is
 * about or by (the reader, the grantor and grantee and the patient
 * identity's enroller, the rotation's author and new key). The other kinds
 * are this node's own (serve, validators, anchors, verify): on_chain is
 * false and nothing is found. The same for every node: no clock, no
 * configuration. ax: the tx being applied (its block's time, and where
 * earlier blocks are), or NULL outside a commit. */
struct mc_apply_ctx;
#define MC_ALERT_PARTIES_MAX 3
struct mc_alert_fact {
	bool on_chain;
	bool found;
	size_t nparties;
	uint8_t parties[MC_ALERT_PARTIES_MAX][MC_PK_LEN];
};
int mc_alert_fact(struct mc_txn *t, const struct mc_apply_ctx *ax, uint8_t kind, const uint8_t id[MC_ALERT_ID_LEN],
		  struct mc_alert_fact *f, struct mc_err *err);

/* Whether pk, or a key it was rotated from, is one of the fact's parties:
 * the admin who did the act does not acknowledge the alert about it, not
 * even under a new key. */
int mc_alert_fact_party(struct mc_txn *t, const struct mc_alert_fact *f, const uint8_t pk[MC_PK_LEN],
			bool *party, struct mc_err *err);

#endif
