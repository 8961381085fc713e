/* SPDX-License-Identifier: Apache-2.0 */
/* serve_metrics.c - what serve's /metrics reads from the bridge: the
 * anchor journal, and every alert `medchain alerts` lists (the anchor
 * journal's and the anchor key's among them). Part of the command layer,
 * like cmd_anchor.c: src/cmd_serve.c reaches it through commands.h and
 * never includes a bridge header. */
#include "config.h"

#include <stdlib.h>
#include <sysexits.h>

#include "anchorwatch.h"
#include "commands.h"
#include "i18n.h"
#include "journal.h"
#include "metrics.h"

struct serve_metrics {
	struct mc_journal_summary js;   /* kept between scrapes */
	const char *datadir;
	const struct mc_config *conf;
};

/* Brings /metrics' view of the journal up to date, incrementally. */
static int anchor_view(struct mc_txn *t, void *ctx, struct mc_metrics_anchor *out, struct mc_err *err)
{
	struct serve_metrics *sm = ctx;

	if (mc_journal_summarise(t, &sm->js, err) != 0)
		return -1;
	out->last_state = sm->js.last_state;
	out->gas_used = sm->js.gas;
	return 0;
}

static int alert_params(struct mc_txn *t, void *ctx, struct mc_alert_params *p, struct mc_err *err)
{
	struct serve_metrics *sm = ctx;

	return mc_alert_gather(t, sm->datadir, sm->conf, p, err);
}

int mc_serve_metrics_hooks(struct mc_metrics_conf *c, const char *datadir, const struct mc_config *conf,
			   struct mc_err *err)
{
	struct serve_metrics *sm = calloc(1, sizeof(*sm));

	if (!sm)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	sm->datadir = datadir;
	sm->conf = conf;
	c->hooks_ctx = sm;
	c->anchor = anchor_view;
	c->anchor_state_name = mc_anchor_state_name;
	c->alert_params = alert_params;
	return 0;
}

void mc_serve_metrics_hooks_free(struct mc_metrics_conf *c)
{
	free(c->hooks_ctx);
	c->hooks_ctx = NULL;
}
