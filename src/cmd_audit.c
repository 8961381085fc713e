/* medchain audit list: the audit trail, through its indexes, paged. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "commands.h"
#include "consent.h"
#include "i18n.h"
#include "identity.h"
#include "records.h"
#include "text.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 100000

struct audit_q {
	struct mc_cli *cli;
	const uint8_t *subject;       /* pseudonym */
	const uint8_t *actor;
	uint8_t outcome;              /* 0: any */
	uint64_t since, until;        /* ms */
	uint64_t after_h;             /* cursor: strictly after (after_h, after_t) */
	uint32_t after_t;
	bool have_after;
	unsigned long limit, n;
	uint64_t cache_h;
	uint64_t cache_ts;
	bool cache_ok;
	uint64_t last_h;
	uint32_t last_t;
};

static int block_time(struct mc_txn *t, struct audit_q *q, uint64_t h, uint64_t *ts,
		      struct mc_err *err)
{
	struct mc_header hd;
	struct mc_cert c;

	if (q->cache_ok && q->cache_h == h) {
		*ts = q->cache_ts;
		return 0;
	}
	if (mc_chain_block(t, h, &hd, &c, err) != 0)
		return -1;
	q->cache_h = h;
	q->cache_ts = hd.timestamp_ms;
	q->cache_ok = true;
	*ts = hd.timestamp_ms;
	return 0;
}

/* First height whose block time is >= ms (block times never go back). */
static int height_at(struct mc_txn *t, struct audit_q *q, uint64_t ms, uint64_t *out,
		     struct mc_err *err)
{
	struct mc_head head;
	uint64_t lo = 0, hi;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	hi = head.height + 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2, ts;

		if (block_time(t, q, mid, &ts, err) != 0)
			return -1;
		if (ts < ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	*out = lo;
	return 0;
}

/* Prints one event if it passes the filters; 1 when the limit is reached,
 * 2 when past --until. */
static int visit(struct mc_txn *t, struct audit_q *q, uint64_t h, uint32_t ti, struct mc_err *err)
{
	uint8_t key[12];
	const void *v;
	size_t vn;
	struct mc_tx tx;
	struct mc_identity who;
	uint64_t ts;
	char when[32], actor[65], extra[700] = "";
	const uint8_t *subject = NULL;
	struct mc_access acc;
	struct mc_grant g;
	struct mc_consent_revoke rv;
	int rc;

	if (q->have_after && (h < q->after_h || (h == q->after_h && ti <= q->after_t)))
		return 0;
	if (block_time(t, q, h, &ts, err) != 0)
		return -1;
	if (ts < q->since)
		return 0;
	if (ts > q->until)
		return 2;
	mc_be64(key, h);
	mc_be32(key + 8, ti);
	rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("the audit index names a missing transaction"));
	if (mc_tx_decode(v, vn, &tx, err) != 0)
		return -1;
	if (q->actor && memcmp(tx.author, q->actor, MC_PK_LEN) != 0)
		return 0;
	memset(&acc, 0, sizeof(acc));
	if (tx.type == MC_TX_ACCESS) {
		if (mc_access_decode(tx.body, tx.body_len, &acc, err) != 0)
			return -1;
		subject = acc.subject;
	} else if (tx.type == MC_TX_CONSENT_GRANT) {
		if (mc_grant_decode(tx.body, tx.body_len, &g, err) != 0)
			return -1;
		subject = g.subject;
	} else if (tx.type == MC_TX_CONSENT_REVOKE) {
		if (mc_consent_revoke_decode(tx.body, tx.body_len, &rv, err) != 0)
			return -1;
	}
	if (q->outcome && acc.outcome != q->outcome)
		return 0;
	if (q->subject && tx.type != MC_TX_CONSENT_REVOKE &&
	    (!subject || memcmp(subject, q->subject, MC_HASH_LEN) != 0))
		return 0;
	if (mc_identity_get(t, tx.author, &who, err) != 0)
		strcpy(who.name, "?");
	mc_time_format(ts, when, sizeof(when));
	mc_hex(tx.author, MC_PK_LEN, actor);
	if (q->cli->json) {
		printf("%s{\"time\":\"%s\",\"block\":%llu,\"tx\":%u,\"type\":\"%s\",\"actor\":\"%s\",\"actor_name\":",
		       q->n ? "," : "", when, (unsigned long long)h, ti, mc_tx_type_name(tx.type), actor);
		mc_cli_json_str(stdout, who.name);
		if (tx.type == MC_TX_ACCESS) {
			char rec[33], gr[33];

			mc_hex(acc.record, MC_RECORD_ID_LEN, rec);
			mc_hex(acc.grant, MC_GRANT_ID_LEN, gr);
			printf(",\"record\":\"%s\",\"version\":%u,\"purpose\":\"%s\",\"outcome\":\"%s\"",
			       rec, acc.version, mc_purpose_name(acc.purpose), mc_outcome_name(acc.outcome));
			if (acc.outcome == MC_OUTCOME_PERMIT)
				printf(",\"grant\":\"%s\"", gr);
			if (acc.outcome == MC_OUTCOME_DENY)
				printf(",\"reason\":\"%s\"", mc_deny_name(acc.reason));
			if (acc.glass_len) {
				char glass[MC_REASON_MAX + 1];

				memcpy(glass, acc.glass, acc.glass_len);
				glass[acc.glass_len] = '\0';
				printf(",\"break_glass\":");
				mc_cli_json_str(stdout, glass);
			}
		} else if (tx.type == MC_TX_CONSENT_GRANT) {
			char gid[33], gh[65];

			mc_hex(g.id, MC_GRANT_ID_LEN, gid);
			mc_hex(g.grantee, MC_PK_LEN, gh);
			printf(",\"grant\":\"%s\",\"grantee\":\"%s\",\"purpose\":\"%s\"", gid, gh,
			       mc_purpose_name(g.purpose));
		} else if (tx.type == MC_TX_CONSENT_REVOKE) {
			char gid[33];

			mc_hex(rv.id, MC_GRANT_ID_LEN, gid);
			printf(",\"grant\":\"%s\"", gid);
		}
		printf("}");
	} else {
		if (tx.type == MC_TX_ACCESS) {
			char rec[33];

			mc_hex(acc.record, MC_RECORD_ID_LEN, rec);
			snprintf(extra, sizeof(extra), "%s v%u %s %s%s%s%s\"%.*s\"", rec, acc.version,
				 mc_purpose_name(acc.purpose), mc_outcome_name(acc.outcome),
				 acc.outcome == MC_OUTCOME_DENY ? " " : "",
				 acc.outcome == MC_OUTCOME_DENY ? mc_deny_name(acc.reason) : "",
				 acc.glass_len ? " " : "", (int)acc.glass_len,
				 acc.glass_len ? (const char *)acc.glass : "");
			if (!acc.glass_len)
				extra[strlen(extra) - 2] = '\0';
			if (acc.outcome == MC_OUTCOME_BREAK_GLASS) {
				size_t l = strlen(extra);

				snprintf(extra + l, sizeof(extra) - l, "  [%s]", _("BREAK-GLASS"));
			}
		} else if (tx.type == MC_TX_CONSENT_GRANT) {
			char gid[33];

			mc_hex(g.id, MC_GRANT_ID_LEN, gid);
			snprintf(extra, sizeof(extra), "%s %s", gid, mc_purpose_name(g.purpose));
		} else if (tx.type == MC_TX_CONSENT_REVOKE) {
			char gid[33];

			mc_hex(rv.id, MC_GRANT_ID_LEN, gid);
			snprintf(extra, sizeof(extra), "%s", gid);
		}
		printf("%s  %llu.%u  %-15s %-16s %s\n", when, (unsigned long long)h, ti,
		       mc_tx_type_name(tx.type), who.name, extra);
	}
	q->n++;
	q->last_h = h;
	q->last_t = ti;
	return q->n >= q->limit ? 1 : 0;
}

static int audit_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct audit_q *q = vctx;
	uint8_t prefix[MC_PK_LEN], start[MC_PK_LEN + 12];
	size_t plen = 0;
	enum mc_db db;
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	uint64_t from_h = 0;
	int rc, vr = 0;

	if (q->since && height_at(t, q, q->since, &from_h, err) != 0)
		return -1;
	if (q->have_after && q->after_h > from_h)
		from_h = q->after_h;
	if (q->subject) {
		db = MC_DB_AUDIT_SUBJECT;
		memcpy(prefix, q->subject, MC_HASH_LEN);
		plen = MC_HASH_LEN;
	} else if (q->actor) {
		db = MC_DB_AUDIT_ACTOR;
		memcpy(prefix, q->actor, MC_PK_LEN);
		plen = MC_PK_LEN;
	} else if (q->outcome) {
		db = MC_DB_AUDIT_OUTCOME;
		prefix[0] = q->outcome;
		plen = 1;
	} else {
		db = MC_DB_TXS;
	}
	memcpy(start, prefix, plen);
	mc_be64(start + plen, from_h);
	mc_be32(start + plen + 8, 0);
	if (mc_cursor_open(t, db, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, start, plen + 12, &k, &kn, NULL, NULL, err); rc == 0 && vr == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		const uint8_t *kb = k;

		if (kn != plen + 12 || memcmp(kb, prefix, plen) != 0)
			break;
		vr = visit(t, q, mc_from_be64(kb + plen), mc_from_be32(kb + plen + 8), err);
	}
	mc_cursor_close(c);
	if (rc < 0 || vr < 0)
		return -1;
	return 0;
}

int cmd_audit_list(struct mc_cli *cli, struct mc_args *a)
{
	const char *subject = NULL, *actor = NULL, *since = NULL, *until = NULL, *outcome = NULL;
	const char *limit = NULL, *after = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &subject, NULL }, { "--actor", true, &actor, NULL },
		{ "--since", true, &since, NULL }, { "--until", true, &until, NULL },
		{ "--outcome", true, &outcome, NULL }, { "--limit", true, &limit, NULL },
		{ "--after", true, &after, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct audit_q q;
	uint8_t subj[MC_HASH_LEN];
	struct mc_identity who;
	struct mc_key *orgkey = NULL;
	struct mc_org *org = NULL;
	uint64_t now = mc_now_ms();

	memset(&q, 0, sizeof(q));
	q.cli = cli;
	q.limit = AUDIT_LIMIT_DEFAULT;
	q.until = UINT64_MAX;
	if (mc_cli_parse(a, opts, 7, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (since && mc_time_parse(since, now, -1, &q.since) != 0)
		return mc_cli_usage(_("--since: not a time (RFC 3339, or relative such as 12h)"));
	if (until && mc_time_parse(until, now, -1, &q.until) != 0)
		return mc_cli_usage(_("--until: not a time (RFC 3339, or relative such as 1h)"));
	if (q.until < q.since)
		return mc_cli_usage(_("--until is before --since"));
	if (outcome && mc_outcome_parse(outcome, &q.outcome, &err) != 0)
		return mc_cli_fail(&err);
	if (limit) {
		char *end;

		q.limit = strtoul(limit, &end, 10);
		if (*end || q.limit == 0 || q.limit > AUDIT_LIMIT_MAX)
			return mc_cli_usage(_("--limit must be 1 to %d"), AUDIT_LIMIT_MAX);
	}
	if (after) {
		unsigned long long h;
		unsigned ti;
		int used = 0;

		if (sscanf(after, "%llu.%u%n", &h, &ti, &used) != 2 || after[used] != '\0')
			return mc_cli_usage(_("--after takes the cursor a previous page printed (BLOCK.TX)"));
		q.after_h = h;
		q.after_t = ti;
		q.have_after = true;
	}
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0)
		goto out;
	if (subject) {
		if (mc_cli_load_role_key(cli, "org", &orgkey, &err) != 0 ||
		    mc_org_open(cli->store, orgkey, &org, &err) != 0 ||
		    mc_org_subject(org, subject, strlen(subject), subj, &err) != 0)
			goto out;
		q.subject = subj;
	}
	if (actor) {
		if (mc_cli_find_identity(cli, actor, &who, &err) != 0)
			goto out;
		q.actor = who.pk;
	}
	if (cli->json)
		printf("{\"events\":[");
	rc = mc_store_read(cli->store, audit_txn, &q, &err);
	if (cli->json) {
		printf("]");
		if (rc == 0 && q.n >= q.limit)
			printf(",\"next\":\"%llu.%u\"", (unsigned long long)q.last_h, q.last_t);
		printf("}\n");
	} else if (rc == 0 && q.n >= q.limit && !cli->quiet) {
		fprintf(stderr, _("more: --after %llu.%u\n"), (unsigned long long)q.last_h, q.last_t);
	}
out:
	mc_org_free(org);
	mc_key_free(orgkey);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
