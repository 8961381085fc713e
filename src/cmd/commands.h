/* SPDX-License-Identifier: Apache-2.0 */
/* commands.h - the command functions main.c lists in its table, and the
 * setup they share.
 *
 * A command is a row in main.c's table (struct mc_command, cli.h: group,
 * name, function, usage, summary, flags) and a function that parses, runs
 * and emits:
 *   1. parse: mc_cli_parse with its struct mc_opt table, then its own checks
 *      of the arguments (usage errors: mc_cli_usage, exit 64), before any
 *      file is read: main runs the function once with the option probe on,
 *      and the parse must be the first thing it does;
 *   2. setup: mc_cmd_setup performs what the row's MC_SETUP_* flags ask for
 *      (serve, the store, the node's, the actor's and the org's keys): the
 *      command does not open the store or load those keys itself;
 *   3. run: the work, on cli->store with cli->node_key, cli->actor_key,
 *      cli->org_key;
 *   4. emit: the output, --json through mc_cli_json_print.
 * main closes the store and frees the keys (mc_cli_close). */
#ifndef MC_COMMANDS_H
#define MC_COMMANDS_H

#include "cli.h"
#include "console.h" /* the ncurses console (ui/): medchain with no command, on a terminal */

int cmd_init(struct mc_cli *cli, struct mc_args *a);
int cmd_status(struct mc_cli *cli, struct mc_args *a);
int cmd_identity_keygen(struct mc_cli *cli, struct mc_args *a);
int cmd_identity_add(struct mc_cli *cli, struct mc_args *a);
int cmd_identity_list(struct mc_cli *cli, struct mc_args *a);
int cmd_identity_revoke(struct mc_cli *cli, struct mc_args *a);
int cmd_org_rotate_key(struct mc_cli *cli, struct mc_args *a);
int cmd_identity_rotate(struct mc_cli *cli, struct mc_args *a);
int cmd_record_put(struct mc_cli *cli, struct mc_args *a);
int cmd_record_import(struct mc_cli *cli, struct mc_args *a);
int cmd_record_get(struct mc_cli *cli, struct mc_args *a);
int cmd_record_list(struct mc_cli *cli, struct mc_args *a);
int cmd_record_history(struct mc_cli *cli, struct mc_args *a);
int cmd_record_erase(struct mc_cli *cli, struct mc_args *a);
int cmd_verify(struct mc_cli *cli, struct mc_args *a);
int cmd_check(struct mc_cli *cli, struct mc_args *a);
int cmd_config_check(struct mc_cli *cli, struct mc_args *a);
int cmd_consent_grant(struct mc_cli *cli, struct mc_args *a);
int cmd_consent_revoke(struct mc_cli *cli, struct mc_args *a);
int cmd_consent_list(struct mc_cli *cli, struct mc_args *a);
int cmd_audit_list(struct mc_cli *cli, struct mc_args *a);
int cmd_consent_export(struct mc_cli *cli, struct mc_args *a);
int cmd_consent_import(struct mc_cli *cli, struct mc_args *a);
int cmd_audit_export(struct mc_cli *cli, struct mc_args *a);
int cmd_alerts(struct mc_cli *cli, struct mc_args *a);
int cmd_alerts_ack(struct mc_cli *cli, struct mc_args *a);
int cmd_anchor_keygen(struct mc_cli *cli, struct mc_args *a);
int cmd_anchor_run(struct mc_cli *cli, struct mc_args *a);
int cmd_anchor_list(struct mc_cli *cli, struct mc_args *a);
int cmd_anchor_reset_nonce(struct mc_cli *cli, struct mc_args *a);
int cmd_proof_export(struct mc_cli *cli, struct mc_args *a);
int cmd_proof_verify(struct mc_cli *cli, struct mc_args *a);
int cmd_backup(struct mc_cli *cli, struct mc_args *a);
int cmd_restore(struct mc_cli *cli, struct mc_args *a);
int cmd_anchor_plan(struct mc_cli *cli, struct mc_args *a);
int cmd_serve(struct mc_cli *cli, struct mc_args *a);
int cmd_node_list(struct mc_cli *cli, struct mc_args *a);
int cmd_node_add(struct mc_cli *cli, struct mc_args *a);
int cmd_node_remove(struct mc_cli *cli, struct mc_args *a);
int cmd_node_approve(struct mc_cli *cli, struct mc_args *a);
int cmd_node_promote(struct mc_cli *cli, struct mc_args *a);
int cmd_node_rotate_key(struct mc_cli *cli, struct mc_args *a);
/* setup.c: performs the setup the command's row asks for (cli->setup, the
 * MC_SETUP_* flags in cli.h, which main copies from the row), limited to
 * steps (MC_SETUP_ALL: all of it), in the order serve (set on the first
 * call, whatever steps says), store, node key, actor's key, org key. A step
 * the row does not ask for is never done; one done before is not done
 * again: a command that needs a step only with some option passes steps
 * without it otherwise (record list: the org key only with --subject); a
 * command that looks at the store before it may ask for a passphrase calls
 * mc_cmd_setup(cli, MC_SETUP_STORE, err) first, then MC_SETUP_ALL. With
 * cli->dry_run set before the call, a writing row's store opens read-only
 * and neither the node's nor the actor's key is loaded (a dry run asks for
 * no passphrase to sign). Call it after the options are parsed and checked.
 * Returns 0, or -1 with err set (report it with mc_cli_fail). */
int mc_cmd_setup(struct mc_cli *cli, unsigned steps, struct mc_err *err);
/* A list: with --json, *arr is a new array that fn (reading the store,
 * after the row's setup) fills, printed and freed after it (*arr NULL
 * again); without, fn prints its rows. 0, or -1 with err set. */
struct cJSON;
int mc_cmd_list(struct mc_cli *cli, mc_store_fn fn, void *ctx, struct cJSON **arr, struct mc_err *err);

/* Writes on a chain of several validators go through this node's serve:
 * the session's remote submitter (mc_cli_set_remote). MC_SETUP_SERVE, or
 * main for a row with no MC_SETUP_* flag and for the console. */
void mc_cli_use_serve(struct mc_cli *cli);

/* bridge/serve_metrics.c: fills c's hooks for serve's /metrics (the anchor
 * journal, and the alerts' facts besides the chain, read as `medchain
 * alerts` reads them); mc_serve_metrics_hooks_free releases them. */
struct mc_metrics_conf;
struct mc_config;
int mc_serve_metrics_hooks(struct mc_metrics_conf *c, const char *datadir, const struct mc_config *conf,
			   struct mc_err *err);
void mc_serve_metrics_hooks_free(struct mc_metrics_conf *c);

#endif
