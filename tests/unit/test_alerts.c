/* SPDX-License-Identifier: Apache-2.0 */
/* The alerts about this node's peers, from serve's view as mc_alerts gets
 * it: a validator not heard from for validator_down_ms is down; one that is
 * up but lacks a block this node has had that long is lagging; neither for
 * a peer outside the validator set, a fresh gap, or serve not running
 * (then serve-down alone). Ids name the fact: the same fact, the same id. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "alerts.h"
#include "chain.h"
#include "fixture.h"

TestSuite(alerts, .init = fx_setup, .fini = fx_teardown);

struct got {
	unsigned n;
	struct mc_alert a[8];
};

static int collect(const struct mc_alert *a, void *vctx)
{
	struct got *g = vctx;

	if (g->n < 8)
		g->a[g->n++] = *a;
	return 0;
}

struct run {
	struct mc_alert_params *p;
	struct got *g;
};

static int run_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct run *r = vctx;

	return mc_alerts(t, r->p, collect, r->g, err);
}

static struct got run(struct mc_alert_params *p)
{
	struct got g = { 0 };
	struct run r = { p, &g };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, run_txn, &r, &err), 0, "%s", err.msg);
	return g;
}

/* serve running, one peer: the genesis validator (this fixture's node) */
static void one_peer(struct mc_alert_params *p, uint64_t now, bool up, uint64_t seen, uint64_t height)
{
	mc_alert_defaults(p, now);
	p->check_serve = true;
	p->serve_running = true;
	p->serve_started_ms = now - 3600 * 1000;
	p->npeers = 1;
	memset(&p->peers[0], 0, sizeof(p->peers[0]));
	p->peers[0].has_pk = true;
	memcpy(p->peers[0].pk, fx.node->pk, MC_PK_LEN);
	snprintf(p->peers[0].url, sizeof(p->peers[0].url), "http://n2.example:7400");
	p->peers[0].up = up;
	p->peers[0].last_seen_ms = seen;
	p->peers[0].height = height;
}

Test(alerts, a_validator_up_but_lacking_an_old_block_is_lagging_and_not_before)
{
	static struct mc_alert_params p;
	uint8_t id[MC_RECORD_ID_LEN];
	struct mc_err err = { 0 };
	uint64_t now = mc_now_ms();
	struct got g;

	cr_assert_eq(fx_put("P1", "one", id, &err), 0, "%s", err.msg);
	cr_assert_eq(fx_put("P2", "two", id, &err), 0, "%s", err.msg);   /* head: 2 */
	one_peer(&p, now + 120000, true, now + 120000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1, "one alert, got %u", g.n);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VALIDATOR_LAGGING);
	cr_assert_str_eq(mc_alert_name(g.a[0].kind), "validator-lagging");
	cr_assert_eq(g.a[0].height, 1, "the first block it lacks");
	cr_assert_eq(g.a[0].count, 2, "two blocks behind");
	cr_assert_arr_eq(g.a[0].actor, fx.node->pk, MC_PK_LEN);
	cr_assert_str_eq(g.a[0].message, "http://n2.example:7400");

	one_peer(&p, now + 120000, true, now + 120000, 2);
	cr_assert_eq(run(&p).n, 0, "in step: no alert");
	one_peer(&p, now, true, now, 0);
	cr_assert_eq(run(&p).n, 0, "the block it lacks is not a minute old: no alert yet");
	one_peer(&p, now + 120000, true, now + 120000, 0);
	p.validator_down_ms = 3600 * 1000;
	cr_assert_eq(run(&p).n, 0, "validator_down_ms sets how long");
}

Test(alerts, a_validator_not_heard_from_is_down_with_one_id_while_it_lasts)
{
	static struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	uint8_t first[MC_ALERT_ID_LEN];
	struct got g;

	one_peer(&p, now, false, now - 61000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VALIDATOR_DOWN);
	cr_assert_eq(g.a[0].time_ms, now - 61000, "down since it was last heard from");
	cr_assert_not(g.a[0].acked);
	memcpy(first, g.a[0].id, MC_ALERT_ID_LEN);

	one_peer(&p, now + 30000, false, now - 61000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_arr_eq(g.a[0].id, first, MC_ALERT_ID_LEN, "the same outage, the same id");

	one_peer(&p, now + 30000, false, now - 1000, 0);
	cr_assert_eq(run(&p).n, 0, "heard from a second ago: not down");
	one_peer(&p, now + 90000, false, now - 1000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_arr_neq(g.a[0].id, first, MC_ALERT_ID_LEN, "another outage, another id");

	one_peer(&p, now, false, 0, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1, "never heard from since serve started an hour ago");
	cr_assert(g.a[0].never);

	one_peer(&p, now, false, now - 61000, 0);
	p.peers[0].pk[0] ^= 1;
	cr_assert_eq(run(&p).n, 0, "a peer outside the validator set is not a validator down");
}

Test(alerts, serve_not_running_says_so_and_judges_no_validator)
{
	static struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	struct got g;

	one_peer(&p, now, false, now - 600000, 0);
	p.serve_running = false;
	p.status_ms = now - 20000;
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_SERVE_DOWN);
	cr_assert_eq(g.a[0].time_ms, now - 20000);
	mc_alert_defaults(&p, now);
	cr_assert_eq(run(&p).n, 0, "no serve to check: nothing said");
}

/* serve.status.json with a time ahead of the clock: a forged or stale file
 * (the clock was set back after serve wrote it) is no proof that serve
 * runs now, even with the pid of a live process in it */
Test(alerts, a_status_file_from_the_future_is_not_a_running_serve)
{
	char path[] = "/tmp/medchain-status-XXXXXX";
	struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"time_ms\":%llu,\"pid\":%d,\"uptime_s\":10,\"peers\":[]}",
		(unsigned long long)(now + 24ULL * 3600 * 1000), (int)getpid());
	fclose(f);
	mc_alert_defaults(&p, now);
	mc_alert_load_serve(&p, path);
	cr_assert(!p.serve_running, "a status written a day from now is not fresh");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"time_ms\":%llu,\"pid\":%d,\"uptime_s\":10,\"peers\":[]}", (unsigned long long)now,
		(int)getpid());
	fclose(f);
	mc_alert_defaults(&p, now);
	mc_alert_load_serve(&p, path);
	cr_assert(p.serve_running, "one written now by a live process is");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"time_ms\":%llu,\"pid\":1e300,\"uptime_s\":10,\"peers\":[]}", (unsigned long long)now);
	fclose(f);
	mc_alert_defaults(&p, now);
	mc_alert_load_serve(&p, path);
	cr_assert(!p.serve_running, "a pid no process can have is a forged file");
	unlink(path);
}
