/* SPDX-License-Identifier: Apache-2.0 */
/* commands.h - the command functions main.c lists in its table. */
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
/* Writes on a chain of several validators go through this node's serve:
 * the session's remote submitter (mc_cli_set_remote). */
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
