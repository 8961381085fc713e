/* SPDX-License-Identifier: Apache-2.0 */
/* setup.c - mc_cmd_setup: what a command's table row asks for before its
 * work (the MC_SETUP_* flags in cli.h), performed in one place. */
#include "config.h"

#include <cjson/cJSON.h>

#include "commands.h"
#include "i18n.h"

int mc_cmd_setup(struct mc_cli *cli, unsigned steps, struct mc_err *err)
{
	/* serve's submitter is no step of its own: it is set on the first call */
	unsigned want = cli->setup & (steps | MC_SETUP_SERVE) & ~cli->setup_done;

	if (cli->dry_run)
		want &= ~(MC_SETUP_NODE_KEY | MC_SETUP_ACTOR);
	if (want & MC_SETUP_SERVE)
		mc_cli_use_serve(cli);
	cli->setup_done |= want & MC_SETUP_SERVE;
	if ((want & MC_SETUP_STORE) && !cli->store &&
	    mc_cli_open(cli, (want & MC_SETUP_WRITE) && !cli->dry_run ? 0 : MC_STORE_RDONLY, err) != 0)
		return -1;
	cli->setup_done |= want & MC_SETUP_STORE;
	if ((want & MC_SETUP_NODE_KEY) && mc_cli_load_role_key(cli, "node", &cli->node_key, err) != 0)
		return -1;
	cli->setup_done |= want & MC_SETUP_NODE_KEY;
	if ((want & MC_SETUP_ACTOR) && mc_cli_load_actor(cli, &cli->actor_key, err) != 0)
		return -1;
	cli->setup_done |= want & MC_SETUP_ACTOR;
	if ((want & MC_SETUP_ORG_KEY) && mc_cli_load_role_key(cli, "org", &cli->org_key, err) != 0)
		return -1;
	cli->setup_done |= want & MC_SETUP_ORG_KEY;
	return 0;
}

int mc_cmd_list(struct mc_cli *cli, mc_store_fn fn, void *ctx, struct cJSON **arr, struct mc_err *err)
{
	cJSON *doc;

	if (cli->json && !(*arr = cJSON_CreateArray()))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (mc_cmd_setup(cli, MC_SETUP_ALL, err) != 0 || mc_store_read(cli->store, fn, ctx, err) != 0) {
		cJSON_Delete(*arr);
		*arr = NULL;
		return -1;
	}
	doc = *arr;
	*arr = NULL;
	return doc ? mc_cli_json_print(doc, err) : 0;
}
