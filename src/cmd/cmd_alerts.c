/* SPDX-License-Identifier: Apache-2.0 */
/* medchain alerts, and alerts ack: what needs an operator's eye, each with
 * a stable id an admin acknowledges on the chain (ALERT_ACK). Here, not in
 * src/, because alerts read the anchor journal and balance record
 * (anchorwatch.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "anchorwatch.h"
#include "chain.h"
#include "commands.h"
#include "i18n.h"
#include "identity.h"
#include "ops.h"
#include "text.h"
#include "util.h"

struct alerts_out {
	struct mc_cli *cli;
	struct mc_txn *t;
	cJSON *arr;   /* with --json: the alerts */
	unsigned long n;
};

static void name_of(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], char *out, size_t n)
{
	struct mc_identity id;
	struct mc_err err = { 0 };

	if (mc_identity_get(t, pk, &id, &err) != 0)
		snprintf(out, n, "?");
	else
		snprintf(out, n, "%s", id.name);
}

/* The kinds about this node's own checks: verify, serve, the validators. */
static bool print_node_state(const struct mc_alert *al, const char *when, cJSON *j)
{
	char pk[65];

	switch (al->kind) {
	case MC_ALERT_VERIFY_FAILED:
		if (j) {
			cJSON_AddNumberToObject(j, "blocks", (double)al->height);
			mc_json_add_str(j, "message", al->message);
		} else {
			printf(_("%s  verify failed: %s"), when, al->message);
		}
		return true;
	case MC_ALERT_VERIFY_OVERDUE:
		if (j)
			cJSON_AddBoolToObject(j, "never", al->never);
		else if (al->never)
			printf(_("%s  verify has never run on this node (chain started then)"), when);
		else
			printf(_("%s  verify has not run since"), when);
		return true;
	case MC_ALERT_SERVE_DOWN:
		if (j)
			cJSON_AddBoolToObject(j, "status_file", al->time_ms != 0);
		else if (al->time_ms)
			printf(_("%s  serve is not running (its status was last written then): validator states unknown"),
			       when);
		else
			printf(_("serve is not running (no status file): validator states unknown"));
		return true;
	case MC_ALERT_VALIDATOR_DOWN:
		mc_hex(al->actor, MC_PK_LEN, pk);
		if (j) {
			cJSON_AddStringToObject(j, "node", pk);
			mc_json_add_str(j, "url", al->message);
			cJSON_AddBoolToObject(j, "never_seen", al->never);
		} else if (al->never) {
			printf(_("%s  validator %s has not been heard from since serve started"), when, al->message);
		} else {
			printf(_("%s  validator %s has not been heard from since"), when, al->message);
		}
		return true;
	case MC_ALERT_VALIDATOR_LAGGING:
		mc_hex(al->actor, MC_PK_LEN, pk);
		if (j) {
			cJSON_AddStringToObject(j, "node", pk);
			mc_json_add_str(j, "url", al->message);
			cJSON_AddNumberToObject(j, "missing_from", (double)al->height);
			cJSON_AddNumberToObject(j, "behind", al->count);
		} else {
			printf(_("%s  validator %s lacks block %llu, made then (%u blocks behind)"), when, al->message,
			       (unsigned long long)al->height, al->count);
		}
		return true;
	default:
		return false;
	}
}

/* The kinds about anchoring: overdue, stuck, the anchor key's balance. */
static bool print_anchor_state(const struct mc_alert *al, const char *when, cJSON *j)
{
	char addr[41], bal[64] = "", cost[64] = "";

	switch (al->kind) {
	case MC_ALERT_ANCHOR_OVERDUE:
		if (j) {
			cJSON_AddNumberToObject(j, "tree_size", (double)al->seq);
			cJSON_AddBoolToObject(j, "never", al->never);
		} else if (al->never) {
			printf(_("%s  never anchored (chain started then): past [anchor] overdue_after"), when);
		} else {
			printf(_("%s  no anchor since (tree size %llu): past [anchor] overdue_after"), when,
			       (unsigned long long)al->seq);
		}
		return true;
	case MC_ALERT_ANCHOR_STUCK:
		if (j) {
			cJSON_AddNumberToObject(j, "anchor", (double)al->seq);
			mc_json_add_str(j, "state", al->message);
		} else {
			printf(_("%s  anchor %llu still %s since: past 3 x [anchor] bump_after"), when,
			       (unsigned long long)al->seq, al->message);
		}
		return true;
	case MC_ALERT_BALANCE_LOW:
		mc_hex(al->address, 20, addr);
		if (sscanf(al->message, "%63s %63s", bal, cost) != 2)
			bal[0] = cost[0] = '\0';
		if (j) {
			char a0x[43];

			snprintf(a0x, sizeof(a0x), "0x%s", addr);
			cJSON_AddStringToObject(j, "address", a0x);
			mc_json_add_str(j, "balance_wei", bal);
			mc_json_add_str(j, "cost_wei", cost);
			cJSON_AddNumberToObject(j, "anchors", MC_BALANCE_ANCHORS);
		} else {
			printf(_("%s  the anchor key 0x%s holds %s wei, less than %d anchors at the last fee seen (%s wei)"),
			       when, addr, bal, MC_BALANCE_ANCHORS, cost);
		}
		return true;
	default:
		return false;
	}
}

/* The kinds about this node's state rather than a chain event. */
static bool print_state(const struct mc_alert *al, const char *when, cJSON *j)
{
	return print_node_state(al, when, j) || print_anchor_state(al, when, j);
}

/* An alert's fields as printed: names (for --json; the keys go beside
 * them), the same with their key prefixes (for the text: mc_identity_who),
 * time and hex. */
struct alert_text {
	char who[MC_NAME_MAX + 1], staff[MC_NAME_MAX + 1], by[MC_NAME_MAX + 1];
	char who_k[MC_WHO_MAX], staff_k[MC_WHO_MAX], by_k[MC_WHO_MAX];
	char when[32], pk[65], subj[65], rec[33], gid[33], idhex[2 * MC_ALERT_ID_LEN + 1];
};

static void alert_text(struct mc_txn *t, const struct mc_alert *al, struct alert_text *x)
{
	snprintf(x->staff, sizeof(x->staff), "?");
	snprintf(x->by, sizeof(x->by), "?");
	name_of(t, al->actor, x->who, sizeof(x->who));
	/* a lost-key rotation's actor is the new key: the person is shown by
	 * the key they held (the text gives the new one in full) */
	mc_identity_who(x->who, al->kind == MC_ALERT_LOST_KEY_ROTATION ? al->old_pk : al->actor, x->who_k,
			sizeof(x->who_k));
	if (al->kind == MC_ALERT_STAFF_GRANT || al->kind == MC_ALERT_ENROLLER_GRANT ||
	    al->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT || al->kind == MC_ALERT_LOST_KEY_ROTATION) {
		name_of(t, al->author, x->staff, sizeof(x->staff));
		mc_identity_who(x->staff, al->author, x->staff_k, sizeof(x->staff_k));
	}
	if (al->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT) {
		name_of(t, al->enroller, x->by, sizeof(x->by));
		mc_identity_who(x->by, al->enroller, x->by_k, sizeof(x->by_k));
	}
	mc_time_format(al->time_ms, x->when, sizeof(x->when));
	mc_hex(al->actor, MC_PK_LEN, x->pk);
	mc_hex(al->subject, MC_HASH_LEN, x->subj);
	mc_hex(al->record, 16, x->rec);
	mc_hex(al->grant, 16, x->gid);
	mc_hex(al->id, MC_ALERT_ID_LEN, x->idhex);
}

/* --json: the alert's object in o->arr, starting with its id, kind, time
 * and acknowledgement; NULL when out of memory. */
static cJSON *alert_json_head(struct alerts_out *o, const struct mc_alert *al, const struct alert_text *x)
{
	cJSON *j = cJSON_CreateObject();
	char ackname[MC_NAME_MAX + 1], pk[65];

	if (!j || !cJSON_AddItemToArray(o->arr, j)) {
		cJSON_Delete(j);
		return NULL;
	}
	cJSON_AddStringToObject(j, "id", x->idhex);
	cJSON_AddStringToObject(j, "alert", mc_alert_name(al->kind));
	cJSON_AddStringToObject(j, "time", x->when);
	cJSON_AddBoolToObject(j, "acked", al->acked);
	if (al->acked) {
		name_of(o->t, al->ack_by, ackname, sizeof(ackname));
		mc_hex(al->ack_by, MC_PK_LEN, pk);
		cJSON_AddStringToObject(j, "acked_by", pk);
		mc_json_add_str(j, "acked_by_name", ackname);
		mc_json_add_str(j, "ack_reason", al->ack_reason);
		cJSON_AddNumberToObject(j, "ack_block", (double)al->ack_height);
	}
	return j;
}

/* --json: the fields of an alert about a chain event. */
static void alert_json_event(cJSON *j, const struct mc_alert *al, const struct alert_text *x)
{
	char pk[65];

	cJSON_AddNumberToObject(j, "block", (double)al->height);
	cJSON_AddStringToObject(j, "actor", x->pk);
	mc_json_add_str(j, "actor_name", x->who);
	if (al->kind == MC_ALERT_BREAK_GLASS) {
		cJSON_AddStringToObject(j, "record", x->rec);
		cJSON_AddStringToObject(j, "subject", x->subj);
	} else if (al->kind == MC_ALERT_DENY_BURST) {
		cJSON_AddNumberToObject(j, "denials", al->count);
	} else if (al->kind == MC_ALERT_LOST_KEY_ROTATION) {
		/* actor: the new key; the key it replaced; the admin */
		mc_hex(al->old_pk, MC_PK_LEN, pk);
		cJSON_AddStringToObject(j, "old_key", pk);
		mc_hex(al->author, MC_PK_LEN, pk);
		cJSON_AddStringToObject(j, "rotated_by", pk);
		mc_json_add_str(j, "rotated_by_name", x->staff);
		cJSON_AddBoolToObject(j, "revoked", al->revoked);
	} else {
		cJSON_AddStringToObject(j, "grant", x->gid);
		cJSON_AddStringToObject(j, "subject", x->subj);
	}
	mc_hex(al->author, MC_PK_LEN, pk);
	if (al->kind == MC_ALERT_STAFF_GRANT) {
		cJSON_AddStringToObject(j, "recorded_by", pk);
		mc_json_add_str(j, "recorded_by_name", x->staff);
	} else if (al->kind == MC_ALERT_ENROLLER_GRANT || al->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT) {
		/* the patient identity that signed it (which the grantee, or
		 * a colleague of the same organization, enrolled) */
		cJSON_AddStringToObject(j, "patient_identity", pk);
		mc_json_add_str(j, "patient_identity_name", x->staff);
	}
	if (al->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT) {
		mc_hex(al->enroller, MC_PK_LEN, pk);
		cJSON_AddStringToObject(j, "enrolled_by", pk);
		mc_json_add_str(j, "enrolled_by_name", x->by);
		cJSON_AddNumberToObject(j, "minutes_after_enrolment", (double)(al->after_ms / 60000));
	}
	if (al->kind == MC_ALERT_STAFF_GRANT || al->kind == MC_ALERT_ENROLLER_GRANT ||
	    al->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT)
		cJSON_AddBoolToObject(j, "revoked", al->revoked);
}

/* The text line of an alert about a chain event. */
static void alert_print_event(const struct mc_alert *al, const struct alert_text *x)
{
	if (al->kind == MC_ALERT_BREAK_GLASS) {
		printf(_("%s  break-glass read by %s of record %s"), x->when, x->who_k, x->rec);
	} else if (al->kind == MC_ALERT_DENY_BURST) {
		printf(_("%s  %u denied reads by %s in the last hour"), x->when, al->count, x->who_k);
	} else if (al->kind == MC_ALERT_LOST_KEY_ROTATION) {
		printf(_("%s  %s moved to key %s by %s without the old key's signature (lost-key rotation)"),
		       x->when, x->who_k, x->pk, x->staff_k);
	} else if (al->kind == MC_ALERT_ENROLLER_GRANT) {
		printf(_("%s  grant %s to %s, signed by the patient identity %s, which %s enrolled"), x->when, x->gid,
		       x->who_k, x->staff_k, x->who_k);
	} else if (al->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT) {
		printf(_("%s  grant %s to %s, signed by the patient identity %s %llu min after %s of the same organization enrolled it%s"),
		       x->when, x->gid, x->who_k, x->staff_k, (unsigned long long)(al->after_ms / 60000), x->by_k,
		       al->revoked ? _(", since revoked") : "");
	} else if (al->kind == MC_ALERT_STAFF_GRANT) {
		printf(al->revoked ? _("%s  grant %s to %s recorded by staff member %s, since revoked")
				   : _("%s  grant %s to %s recorded by staff member %s, not by the patient"),
		       x->when, x->gid, x->who_k, x->staff_k);
	} else {
		printf(_("%s  grant %s to %s ends"), x->when, x->gid, x->who_k);
	}
}

static int print_alert(const struct mc_alert *al, void *vctx)
{
	struct alerts_out *o = vctx;
	struct alert_text x;
	char ackname[MC_NAME_MAX + 1], ackwho[MC_WHO_MAX];
	cJSON *j = NULL;

	alert_text(o->t, al, &x);
	if (o->cli->json) {
		if (!(j = alert_json_head(o, al, &x)))
			return -1;
		if (!print_state(al, x.when, j))
			alert_json_event(j, al, &x);
		o->n++;
		return 0;
	}
	printf("%s  ", x.idhex);
	if (!print_state(al, x.when, NULL))
		alert_print_event(al, &x);
	if (al->acked) {
		name_of(o->t, al->ack_by, ackname, sizeof(ackname));
		mc_identity_who(ackname, al->ack_by, ackwho, sizeof(ackwho));
		/* L10N: after an alert listed with --all: who acknowledged it (name and key prefix), and why */
		printf(_("  [acknowledged by %s: %s]"), ackwho, al->ack_reason);
	}
	putchar('\n');
	o->n++;
	return 0;
}

struct alerts_run {
	struct alerts_out *o;
	struct mc_alert_params p;
	const char *datadir;
	const struct mc_config *conf;
};

static int alerts_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct alerts_run *r = vctx;

	r->o->t = t;
	if (mc_alert_gather(t, r->datadir, r->conf, &r->p, err) != 0)
		return -1;
	return mc_alerts(t, &r->p, print_alert, r->o, err);
}

/* 0, or EX_USAGE after the message */
static int parse_u(const char *s, const char *opt, unsigned long max, unsigned long *v)
{
	char *end;

	*v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *end || *v == 0 || *v > max)
		return mc_cli_usage(_("%s must be 1 to %lu"), opt, max);
	return 0;
}

int cmd_alerts(struct mc_cli *cli, struct mc_args *a)
{
	const char *hours = NULL, *burst = NULL, *days = NULL, *down = NULL;
	bool all = false;
	struct mc_opt opts[] = {
		{ "--hours", true, &hours, NULL },
		{ "--burst", true, &burst, NULL },
		{ "--expiring-days", true, &days, NULL },
		{ "--down-after", true, &down, NULL },
		{ "--all", false, NULL, &all },
	};
	char *pos[1];
	int npos, rc;
	unsigned long v;
	struct mc_err err = { 0 };
	struct alerts_out o = { .cli = cli };
	struct alerts_run r = { .o = &o, .datadir = cli->datadir, .conf = &cli->conf };

	if (mc_cli_parse(a, opts, MC_ARRAY_LEN(opts), pos, 0, &npos) != 0)
		return EX_USAGE;
	mc_alert_defaults(&r.p, mc_now_ms());
	if (hours) {
		if (parse_u(hours, "--hours", 24 * 366, &v) != 0)
			return EX_USAGE;
		r.p.break_glass_window_ms = v * 3600000ULL;
	}
	if (burst) {
		if (parse_u(burst, "--burst", 100000, &v) != 0)
			return EX_USAGE;
		r.p.deny_burst = (unsigned)v;
	}
	if (days) {
		if (parse_u(days, "--expiring-days", 3660, &v) != 0)
			return EX_USAGE;
		r.p.expiring_window_ms = v * 86400000ULL;
	}
	if (down) {
		if (parse_u(down, "--down-after", 7 * 86400, &v) != 0)
			return EX_USAGE;
		r.p.validator_down_ms = v * 1000ULL;
	}
	r.p.include_acked = all;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		return mc_cli_fail(&err);
	if (cli->json && !(o.arr = cJSON_CreateArray())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		return mc_cli_fail(&err);
	}
	rc = mc_store_read(cli->store, alerts_txn, &r, &err);
	if (rc != 0 && !err.code)   /* print_alert ran out of memory */
		mc_err_set(&err, EX_OSERR, _("out of memory"));
	if (cli->json) {
		if (rc == 0)
			rc = mc_cli_json_print(o.arr, &err);
		else
			cJSON_Delete(o.arr);
	} else if (rc == 0 && o.n == 0 && !cli->quiet) {
		printf(_("no alerts\n"));
	}
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- medchain alerts ack ------------------------------------------------ */

struct find {
	uint8_t id[MC_ALERT_ID_LEN];
	bool found;
	struct mc_alert al;
	struct mc_alert_params p;
	const char *datadir;
	const struct mc_config *conf;
	uint8_t me[MC_PK_LEN];
	bool party;
};

static int find_one(const struct mc_alert *al, void *vctx)
{
	struct find *f = vctx;

	if (memcmp(al->id, f->id, MC_ALERT_ID_LEN) != 0)
		return 0;
	f->found = true;
	f->al = *al;
	return 1;
}

static int find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct find *f = vctx;
	struct mc_alert_fact fact;

	if (mc_alert_gather(t, f->datadir, f->conf, &f->p, err) != 0 ||
	    mc_alerts(t, &f->p, find_one, f, err) != 0)
		return -1;
	/* the chain's rule, said before any passphrase is asked */
	f->party = false;
	if (f->found && !f->al.acked &&
	    (mc_alert_fact(t, NULL, f->al.kind, f->id, &fact, err) != 0 ||
	     (fact.found && mc_alert_fact_party(t, &fact, f->me, &f->party, err) != 0)))
		return -1;
	return 0;
}

/* The alert f->id names (acknowledged ones too, for the message), which
 * me may acknowledge: not one about an act of its own. */
static int ack_find(struct mc_cli *cli, struct find *f, const struct mc_identity *me, const char *idarg,
		    struct mc_err *err)
{
	/* the id must name an alert this node lists now, with any of the
	 * windows alerts takes: an id names its fact whatever the window
	 * that showed it */
	mc_alert_defaults(&f->p, mc_now_ms());
	f->p.include_acked = true;
	f->p.break_glass_window_ms = f->p.now_ms;
	f->p.deny_window_ms = f->p.now_ms;
	f->p.expiring_window_ms = UINT64_MAX / 2;
	f->p.validator_down_ms = 0;
	f->datadir = cli->datadir;
	f->conf = &cli->conf;
	memcpy(f->me, me->pk, MC_PK_LEN);
	if (mc_store_read(cli->store, find_txn, f, err) != 0)
		return -1;
	if (!f->found)
		return mc_err_set(err, EX_DATAERR, _("no alert '%s' (see medchain alerts)"), idarg);
	if (f->party)
		return mc_err_set(err, EX_NOPERM,
				  _("alert %s is about an act or access of '%s' (or of a key it came from): another admin acknowledges it"),
				  idarg, me->name);
	return 0;
}

int cmd_alerts_ack(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = NULL;
	struct mc_opt opts[] = { { "--reason", true, &reason, NULL } };
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_identity me;
	struct find *f = NULL;
	uint64_t height = 0;

	if (mc_cli_parse(a, opts, 1, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("alerts ack needs the alert's id, as alerts lists it"));
	if (!reason || !*reason || strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_cli_usage(_("--reason must be 1 to %d characters of text"), MC_REASON_MAX);
	if (!(f = calloc(1, sizeof(*f)))) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (strlen(pos[0]) != 2 * MC_ALERT_ID_LEN || mc_unhex(pos[0], f->id, MC_ALERT_ID_LEN) != 0) {
		mc_err_set(&err, EX_DATAERR, _("'%s' is not an alert id (%d hex digits, as alerts lists them)"),
			   pos[0], 2 * MC_ALERT_ID_LEN);
		goto out;
	}
	/* refused before any passphrase is asked */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_cli_actor_identity(cli, &me, &err) != 0)
		goto out;
	if (!(me.roles & MC_ROLE_ADMIN) || me.revoked != MC_NOT_REVOKED) {
		mc_err_set(&err, EX_NOPERM, _("only an admin acknowledges alerts, and '%s' is not one"), me.name);
		goto out;
	}
	if (ack_find(cli, f, &me, pos[0], &err) != 0)
		goto out;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		goto out;
	rc = mc_op_alert_ack(cli, cli->node_key, cli->actor_key, f->al.kind, f->id, reason, &height, &err);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddStringToObject(j, "id", pos[0]);
			cJSON_AddStringToObject(j, "alert", mc_alert_name(f->al.kind));
			cJSON_AddNumberToObject(j, "block", (double)height);
		}
		rc = mc_cli_json_print(j, &err);
	} else if (rc == 0 && !cli->quiet) {
		printf(_("alert %s acknowledged in block %llu\n"), pos[0], (unsigned long long)height);
	}
out:
	free(f);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
