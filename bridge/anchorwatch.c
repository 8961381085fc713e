/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anchorwatch.h"
#include "i18n.h"
#include "journal.h"
#include "text.h"
#include "util.h"
#include "vlast.h"

int mc_balance_load(const char *datadir, struct mc_balance_seen *b, struct mc_err *err)
{
	char path[PATH_MAX], *end;
	const cJSON *t, *a, *c, *w, *big, *f, *g, *low, *ls;
	cJSON *j;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = mc_state_file_load(datadir, MC_BALANCE_FILE, &j, path, sizeof(path), err);
	if (rc != 0)
		return rc;
	t = cJSON_GetObjectItemCaseSensitive(j, "time_ms");
	a = cJSON_GetObjectItemCaseSensitive(j, "address");
	c = cJSON_GetObjectItemCaseSensitive(j, "chain_id");
	w = cJSON_GetObjectItemCaseSensitive(j, "balance_wei");
	big = cJSON_GetObjectItemCaseSensitive(j, "over_64_bits");
	f = cJSON_GetObjectItemCaseSensitive(j, "fee_wei");
	g = cJSON_GetObjectItemCaseSensitive(j, "gas_per_anchor");
	low = cJSON_GetObjectItemCaseSensitive(j, "low");
	ls = cJSON_GetObjectItemCaseSensitive(j, "low_since_ms");
	/* wei, fee and gas are decimal strings: a JSON number is a double */
	if (!cJSON_IsNumber(t) || t->valuedouble < 0 || !cJSON_IsString(a) || strlen(a->valuestring) != 40 ||
	    mc_unhex(a->valuestring, b->address, 20) != 0 || !cJSON_IsNumber(c) || c->valuedouble < 0 ||
	    !cJSON_IsString(w) || !cJSON_IsBool(big) || !cJSON_IsString(f) || !cJSON_IsString(g) ||
	    !cJSON_IsBool(low) || !cJSON_IsNumber(ls) || ls->valuedouble < 0)
		goto bad;
	errno = 0;
	b->wei = strtoull(w->valuestring, &end, 10);
	if (errno || *end || !*w->valuestring)
		goto bad;
	b->fee_wei = strtoull(f->valuestring, &end, 10);
	if (errno || *end || !*f->valuestring)
		goto bad;
	b->gas = strtoull(g->valuestring, &end, 10);
	if (errno || *end || !*g->valuestring)
		goto bad;
	b->time_ms = (uint64_t)t->valuedouble;
	b->chain_id = (uint64_t)c->valuedouble;
	b->over_64_bits = cJSON_IsTrue(big);
	b->low = cJSON_IsTrue(low);
	b->low_since_ms = (uint64_t)ls->valuedouble;
	cJSON_Delete(j);
	return 0;
bad:
	cJSON_Delete(j);
	return mc_err_set(err, EX_DATAERR, _("'%s' is not an anchor balance record"), path);
}

int mc_balance_record(const char *datadir, struct mc_balance_seen *b, struct mc_err *err)
{
	struct mc_balance_seen prev;
	struct mc_err ignore = { 0 };
	char hex[41], wei[24], fee[24], gas[24];
	cJSON *j = cJSON_CreateObject();
	char *text = NULL;
	int rc;

	/* below MC_BALANCE_ANCHORS x gas x fee, without overflowing */
	b->low = !b->over_64_bits && b->gas && b->wei / MC_BALANCE_ANCHORS / b->gas < b->fee_wei;
	b->low_since_ms = b->time_ms;
	if (b->low && mc_balance_load(datadir, &prev, &ignore) == 0 && prev.low &&
	    memcmp(prev.address, b->address, 20) == 0 && prev.chain_id == b->chain_id)
		b->low_since_ms = prev.low_since_ms;
	if (!b->low)
		b->low_since_ms = 0;
	mc_hex(b->address, 20, hex);
	snprintf(wei, sizeof(wei), "%" PRIu64, b->wei);
	snprintf(fee, sizeof(fee), "%" PRIu64, b->fee_wei);
	snprintf(gas, sizeof(gas), "%" PRIu64, b->gas);
	if (!j || !cJSON_AddNumberToObject(j, "version", 1) ||
	    !cJSON_AddNumberToObject(j, "time_ms", (double)b->time_ms) ||
	    !cJSON_AddStringToObject(j, "address", hex) ||
	    !cJSON_AddNumberToObject(j, "chain_id", (double)b->chain_id) ||
	    !cJSON_AddStringToObject(j, "balance_wei", wei) ||
	    !cJSON_AddBoolToObject(j, "over_64_bits", b->over_64_bits) ||
	    !cJSON_AddStringToObject(j, "fee_wei", fee) || !cJSON_AddStringToObject(j, "gas_per_anchor", gas) ||
	    !cJSON_AddBoolToObject(j, "low", b->low) ||
	    !cJSON_AddNumberToObject(j, "low_since_ms", (double)b->low_since_ms) ||
	    !(text = cJSON_PrintUnformatted(j))) {
		cJSON_Delete(j);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	cJSON_Delete(j);
	rc = mc_state_file_save(datadir, MC_BALANCE_FILE, text, err);
	free(text);
	return rc;
}

struct watch {
	struct mc_alert_params *p;
	uint64_t stuck_ms;
};

static int each_entry(struct mc_txn *t, const struct mc_anchor_entry *e, void *vctx, struct mc_err *err)
{
	struct watch *w = vctx;
	struct mc_alert_extra *x;

	(void)t;
	(void)err;
	if (e->state == MC_ANCHOR_CONFIRMED || e->state == MC_ANCHOR_SUPERSEDED)
		return 0;
	if (w->p->now_ms < e->created_ms || w->p->now_ms - e->created_ms <= w->stuck_ms)
		return 0;
	if (w->p->nextra == MC_ARRAY_LEN(w->p->extra))
		return 1;
	x = &w->p->extra[w->p->nextra++];
	memset(x, 0, sizeof(*x));
	x->kind = MC_ALERT_ANCHOR_STUCK;
	x->time_ms = e->created_ms;
	x->seq = e->seq;
	memcpy(x->address, e->address, 20);
	snprintf(x->message, sizeof(x->message), "%s", mc_anchor_state_name(e->state));
	return 0;
}

int mc_anchor_watch(struct mc_txn *t, const char *datadir, uint32_t bump_after_s,
		    struct mc_alert_params *p, struct mc_err *err)
{
	struct watch w = { p, 3ULL * bump_after_s * 1000 };
	struct mc_balance_seen b;
	int rc;

	/* the balance first: one slot is always left for it */
	if (datadir) {
		rc = mc_balance_load(datadir, &b, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && b.low && p->nextra < MC_ARRAY_LEN(p->extra)) {
			struct mc_alert_extra *x = &p->extra[p->nextra++];

			memset(x, 0, sizeof(*x));
			x->kind = MC_ALERT_BALANCE_LOW;
			x->time_ms = b.low_since_ms;
			memcpy(x->address, b.address, 20);
			/* machine text: balance and the cost of MC_BALANCE_ANCHORS
			 * anchors, in wei (the cost may pass 64 bits: as a double) */
			snprintf(x->message, sizeof(x->message), "%" PRIu64 " %.0f", b.wei,
				 (double)MC_BALANCE_ANCHORS * (double)b.gas * (double)b.fee_wei);
		}
	}
	return mc_journal_each(t, false, each_entry, &w, err) < 0 ? -1 : 0;
}

int mc_alert_gather(struct mc_txn *t, const char *datadir, const struct mc_config *conf,
		    struct mc_alert_params *p, struct mc_err *err)
{
	char path[PATH_MAX];
	int rc;

	p->check_verify = true;
	rc = mc_vlast_load(datadir, &p->verify, err);
	if (rc < 0)
		return -1;
	p->verify_ran = rc == 0;
	if (conf->listen[0]) {
		if (snprintf(path, sizeof(path), "%s/serve.status.json", datadir) >= (int)sizeof(path))
			return mc_err_set(err, EX_NOINPUT, _("the data dir path is too long"));
		mc_alert_load_serve(p, path);
	}
	p->anchor_overdue_ms = (uint64_t)conf->overdue_after * 1000;
	return mc_anchor_watch(t, datadir, conf->bump_after, p, err);
}
