/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - the program's entry and its one command table. */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "crypto.h"
#include "i18n.h"
#include "util.h"

/* L10N: in the usage lines, keep the commands, options (--name) and the
 * capitalised placeholders (ID, FILE) as they are: they are typed. */
static const struct mc_command commands[] = {
	{ NULL, "init", cmd_init, N_("init [--name N] [--org O] [--no-passphrase] [--join CHAIN_ID]"),
	  N_("make a new node: keys and the genesis block"), 0 },
	{ NULL, "status", cmd_status, N_("status"), N_("height, head, validators"), MC_SETUP_READ },
	{ "identity", "keygen", cmd_identity_keygen, N_("identity keygen [-o FILE] [--no-passphrase]"),
	  N_("make your own key, sealed under your passphrase; prints its public key"), 0 },
	{ "identity", "add", cmd_identity_add,
	  N_("identity add --name N --role R[,R] [--org O] [--subject ID] [--key PUB] [--new-passphrase-file FILE] [--no-passphrase]"),
	  N_("enroll an identity (its own public key with --key); prints its public key"), MC_SETUP_SIGN },
	{ "identity", "list", cmd_identity_list, N_("identity list"), N_("list identities"), MC_SETUP_READ },
	{ "identity", "revoke", cmd_identity_revoke, N_("identity revoke KEY [--reason T]"),
	  N_("revoke an identity"), MC_SETUP_SIGN | MC_CMD_SAME_WRITE },
	{ "org", "rotate-key", cmd_org_rotate_key, N_("org rotate-key"),
	  N_("a new key for this node's organization; every record stays readable"), MC_SETUP_SIGN | MC_SETUP_ORG_KEY },
	{ "identity", "rotate", cmd_identity_rotate,
	  N_("identity rotate KEY --key PUB [--new-passphrase-file FILE] [--old-passphrase-file FILE] [--lost-key --reason T]"),
	  N_("move a person's identity, and the grants to it, to a new key; the old key is revoked"), MC_SETUP_SIGN },
	{ "record", "put", cmd_record_put,
	  N_("record put --subject ID --category C [--type MIME] [--amend RECORD] [FILE|-]"),
	  N_("store a record; prints its id"), MC_SETUP_SIGN | MC_SETUP_ORG_KEY | MC_CMD_SAME_WRITE },
	{ "record", "import", cmd_record_import,
	  N_("record import [--format ndjson|bundle] [--batch N] [--on-duplicate skip|version|error] [FILE|-]"),
	  N_("bulk import NDJSON or a FHIR R4 Bundle"), MC_SETUP_SIGN | MC_SETUP_ORG_KEY },
	{ "record", "get", cmd_record_get,
	  N_("record get RECORD [--purpose P] [--break-glass REASON] [--version N] [-o FILE]"),
	  N_("read a record under consent; every attempt is audited"), MC_SETUP_SIGN | MC_SETUP_ORG_KEY | MC_CMD_SAME_WRITE },
	{ "record", "list", cmd_record_list, N_("record list [--subject ID] [--category C]"),
	  N_("list records"), MC_SETUP_READ | MC_SETUP_ORG_KEY },
	{ "record", "history", cmd_record_history, N_("record history RECORD"),
	  N_("list a record's versions"), MC_SETUP_READ },
	{ "record", "erase", cmd_record_erase, N_("record erase RECORD --reason T [--dry-run] [--yes]"),
	  N_("erase a record's data on every node"), MC_SETUP_SIGN | MC_CMD_SAME_WRITE },
	{ "consent", "grant", cmd_consent_grant,
	  N_("consent grant --subject ID --to KEY|NAME --purpose P [--scope C,C|*] [--record R,R] [--from T] [--until T] [--form REF]"),
	  N_("record a patient's consent; prints the grant id"), MC_SETUP_SIGN | MC_CMD_SAME_WRITE },
	{ "consent", "revoke", cmd_consent_revoke, N_("consent revoke GRANT --reason T"),
	  N_("revoke a grant"), MC_SETUP_SIGN | MC_CMD_SAME_WRITE },
	{ "consent", "list", cmd_consent_list, N_("consent list [--subject ID] [--grantee X] [--active]"),
	  N_("list grants"), MC_SETUP_READ },
	{ "consent", "export", cmd_consent_export, N_("consent export [--subject ID] [--grantee X] [-o FILE]"),
	  N_("grants as a FHIR R4 Bundle of Consent resources"), MC_SETUP_READ },
	{ "consent", "import", cmd_consent_import, N_("consent import [--dry-run] [--yes] [FILE|-]"),
	  N_("grants from FHIR R4 Consent resources (a Bundle or one), all in one block"), MC_SETUP_SIGN | MC_SETUP_ORG_KEY },
	{ "audit", "list", cmd_audit_list,
	  N_("audit list [--subject ID] [--actor X] [--since T] [--until T] [--outcome O] [--limit N] [--after CURSOR] [--newest]"),
	  N_("the audit trail, oldest first, paged"), MC_SETUP_READ },
	{ "audit", "export", cmd_audit_export,
	  N_("audit export --format fhir|csv [--subject ID] [--actor X] [--since T] [--until T] [--outcome O] [--limit N] [--after CURSOR] [--newest] [-o FILE]"),
	  N_("the audit trail as a FHIR R4 Bundle of AuditEvents, or CSV"), MC_SETUP_READ },
	{ NULL, "alerts", cmd_alerts, N_("alerts [--hours N] [--burst N] [--expiring-days N] [--down-after SECONDS] [--all]"),
	  N_("a failed or overdue verify, serve or a validator down, anchoring overdue, stuck or underfunded, break-glass reads, bursts of denials, grants ending soon; each with an id"), MC_SETUP_READ },
	{ "alerts", "ack", cmd_alerts_ack, N_("alerts ack ID --reason T"),
	  N_("acknowledge an alert on the chain (admins): alerts no longer lists it"), MC_SETUP_SIGN | MC_CMD_SAME_WRITE },
	{ "anchor", "keygen", cmd_anchor_keygen, N_("anchor keygen [--no-passphrase]"),
	  N_("a secp256k1 key for anchoring; prints the address to fund"), MC_SETUP_READ },
	{ "anchor", "plan", cmd_anchor_plan, N_("anchor plan"),
	  N_("what the next anchor carries: chain id, tree size, root, calldata"), MC_SETUP_READ },
	{ "anchor", "reset-nonce", cmd_anchor_reset_nonce, N_("anchor reset-nonce [--to N]"),
	  N_("forget a nonce floor a lying RPC node left: the pending anchor is given up, the next takes N or the last confirmed nonce + 1"), MC_SETUP_WRITE | MC_SETUP_SERVE },
	{ "anchor", "list", cmd_anchor_list, N_("anchor list [--public]"),
	  N_("the anchor journal, each anchor's consistency proof checked from the one before; --public adds confirmations"), MC_SETUP_READ },
	{ "proof", "export", cmd_proof_export, N_("proof export RECORD [--version N] [-o FILE]"),
	  N_("a record's proof bundle: its paths to an anchored root (no payload)"), MC_SETUP_READ },
	{ "proof", "verify", cmd_proof_verify, N_("proof verify FILE [--rpc URL] [--confirmations N] [--expect-address ADDR] [--expect-validators FILE|HASH]"),
	  N_("check a proof bundle offline, then the anchor on the public chain"), 0 },
	{ NULL, "anchor", cmd_anchor_run, N_("anchor [--wait SECONDS] [--dry-run]"),
	  N_("headless, for cron: confirm what is pending, anchor what is new"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ NULL, "serve", cmd_serve, N_("serve"),
	  N_("the peer API and block production ([node] listen, peers)"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ "node", "list", cmd_node_list, N_("node list"),
	  N_("the validators, and each one's live status from serve"), MC_SETUP_READ | MC_SETUP_NODE_KEY },
	{ "node", "add", cmd_node_add, N_("node add URL KEY [--name N]"),
	  N_("approve adding a validator; commits at a quorum, else prints a token"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ "node", "remove", cmd_node_remove, N_("node remove KEY [--dry-run] [--yes]"),
	  N_("approve removing a validator; commits at a quorum, else prints a token"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ "node", "promote", cmd_node_promote, N_("node promote KEY"),
	  N_("make another validator the leader (a view change the validators agree to)"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ "node", "approve", cmd_node_approve, N_("node approve TOKEN"),
	  N_("add this validator's approval to a proposed set change"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ "node", "rotate-key", cmd_node_rotate_key, N_("node rotate-key [--dry-run] [--yes]"),
	  N_("replace this node's key by a new one; commits at a quorum, else prints a token"), MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY },
	{ NULL, "backup", cmd_backup, N_("backup DIR [--with-keys]"),
	  N_("a hot, consistent, compacted copy of the chain, verified before it is kept"), MC_SETUP_READ },
	{ NULL, "restore", cmd_restore, N_("restore BACKUP"),
	  N_("a backup into a new data dir (--datadir), verified before and after"), 0 },
	{ "config", "check", cmd_config_check, N_("config check"),
	  N_("read every configuration layer; print each setting and where it came from"), 0 },
	{ NULL, "verify", cmd_verify, N_("verify"),
	  N_("recompute and check everything stored; exit 65 naming the first damage; the outcome is kept for status, check and alerts"), 0 },
	{ NULL, "check", cmd_check, N_("check [-w lag=N,anchor=SECONDS,verify=HOURS,break-glass=N] [-c lag=N,anchor=SECONDS,verify=HOURS,break-glass=N]"),
	  N_("a Nagios/Icinga plugin: one line with perfdata, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN"), MC_SETUP_READ },
};
#define NCOMMANDS (MC_ARRAY_LEN(commands))

/* The global options: the parser's table (mc_cli_parse_global) and the
 * help are both made from this list. */
struct global_opt {
	const char *name;      /* long name, without the dashes */
	char shortname;        /* or 0 */
	const char *arg;       /* the value's placeholder, NULL for a flag */
	const char *help;      /* N_() */
};
enum { G_DATADIR, G_CONFIG, G_AS, G_PASSFILE, G_IDEM, G_JSON, G_QUIET, G_HELP, G_VERSION, G_LIST, NGLOBAL };
static const struct global_opt globals[NGLOBAL] = {
	[G_DATADIR] = { "datadir", 0, "DIR",
			N_("the data dir (else $MEDCHAIN_DATADIR, [node] datadir, $XDG_DATA_HOME/medchain)") },
	[G_CONFIG] = { "config", 0, "FILE", N_("read FILE instead of the system-wide medchain.conf (config check names it)") },
	[G_AS] = { "as", 0, "IDENTITY", N_("act as this enrolled identity (default: the node's admin)") },
	[G_PASSFILE] = { "passphrase-file", 0, "FILE",
			 N_("the passphrase of sealed keys is the first line of FILE") },
	[G_IDEM] = { "idempotency-key", 0, "K", N_("name this write: run again, it makes the same write") },
	[G_JSON] = { "json", 0, NULL, N_("machine-readable output") },
	[G_QUIET] = { "quiet", 'q', NULL, N_("print only what was asked for") },
	[G_HELP] = { "help", 'h', NULL, N_("this help; after a command or a group, its help") },
	[G_VERSION] = { "version", 0, NULL, N_("the program's version") },
	[G_LIST] = { "list-commands", 0, NULL,
		     N_("the commands, one a line; 'medchain COMMAND --list-options' lists a command's options (for completion)") },
};

static void print_command(FILE *f, const struct mc_command *c)
{
	fprintf(f, "  %s\n      %s\n", _(c->usage), _(c->summary));
}

static void usage(FILE *f)
{
	fprintf(f, _("usage: medchain [--datadir DIR] [--config FILE] [--as IDENTITY] [--passphrase-file FILE] [--idempotency-key K] [--json] [-q] COMMAND ...\n"));
	fprintf(f, _("       medchain --help | --version\n"));
	fprintf(f, _("       medchain          (no command, on a terminal) open the console\n"));
	fprintf(f, "\n%s\n", _("options:"));
	for (size_t k = 0; k < NGLOBAL; k++) {
		const struct global_opt *g = &globals[k];

		fputs("  ", f);
		if (g->shortname)
			fprintf(f, "-%c, ", g->shortname);
		fprintf(f, "--%s", g->name);
		if (g->arg)
			fprintf(f, " %s", g->arg);
		fprintf(f, "\n      %s\n", _(g->help));
	}
	fprintf(f, "\n%s\n", _("commands:"));
	for (size_t i = 0; i < NCOMMANDS; i++)
		print_command(f, &commands[i]);
	fprintf(f, "\n%s\n", _("'medchain COMMAND --help' shows a command's help, 'medchain GROUP --help' a group's commands"));
	fprintf(f, _("\nexit codes follow sysexits.h: 0 ok, 1 not confirmed (nothing written), 64 usage, 65 bad data,\n"
		     "66 no input, 67 unknown identity, 69 unavailable, 70 internal error, 71 system error,\n"
		     "73 cannot create, 74 I/O error, 75 try again, 76 protocol error, 77 not permitted, 78 configuration\n"));
}

static bool is_group(const char *name)
{
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (commands[k].group && strcmp(commands[k].group, name) == 0)
			return true;
	return false;
}

/* The commands of a group, for its --help (stdout) or after a missing or
 * unknown command (stderr). */
static void group_usage(FILE *f, const char *group)
{
	fprintf(f, _("usage: medchain %s COMMAND ...\n"), group);
	fprintf(f, "\n%s\n", _("commands:"));
	for (size_t k = 0; k < NCOMMANDS; k++)
		if (commands[k].group && strcmp(commands[k].group, group) == 0)
			print_command(f, &commands[k]);
	fprintf(f, "\n");
	fprintf(f, _("'medchain %s COMMAND --help' shows a command's help\n"), group);
}

static void command_help(const struct mc_command *c)
{
	printf(_("usage: medchain %s\n  %s\n"), _(c->usage), _(c->summary));
	printf("\n%s\n", _("every command also takes --json, -q (--quiet) and -h (--help); the global options are in 'medchain --help'"));
	/* "anchor" is a command and a group */
	if (!c->group && is_group(c->name)) {
		printf("\n");
		group_usage(stdout, c->name);
	}
}

/* Runs the command with the option probe on: its parser hands back its
 * table (cli.h). */
static int probe_command(const struct mc_command *c, const struct mc_args *args,
			 struct mc_optprobe *p)
{
	struct mc_cli pc;
	struct mc_args a = *args;

	memset(&pc, 0, sizeof(pc));
	memset(p, 0, sizeof(*p));
	mc_config_defaults(&pc.conf);
	mc_cli_probe(p);
	(void)c->run(&pc, &a);
	mc_cli_probe(NULL);
	if (!p->reached) {
		fprintf(stderr, "medchain: %s\n", _("internal error: the command did not parse its options"));
		return EX_SOFTWARE;
	}
	return 0;
}

static void default_datadir(struct mc_cli *cli)
{
	const char *env = getenv("MEDCHAIN_DATADIR");
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		snprintf(cli->datadir, sizeof(cli->datadir), "%s", env);
	else if (xdg && *xdg)
		snprintf(cli->datadir, sizeof(cli->datadir), "%s/medchain", xdg);
	else if (home && *home)
		snprintf(cli->datadir, sizeof(cli->datadir), "%s/.local/share/medchain", home);
	else
		snprintf(cli->datadir, sizeof(cli->datadir), "/var/lib/medchain");
}

struct global_ctx {
	struct mc_cli *cli;
	size_t global[2 * NGLOBAL];   /* the parser's index -> G_* */
	int exit;                     /* with a nonzero return: main's exit */
	const char *config_file, *idem;
	bool datadir_flag;
};

/* One global option: 0 goes on; 1 ends with g->exit (help, version, a
 * usage error). */
static int global_opt(void *ctx, size_t k, char *value)
{
	struct global_ctx *g = ctx;
	struct mc_cli *cli = g->cli;

	g->exit = EX_USAGE;
	switch (g->global[k]) {
	case G_HELP:
		usage(stdout);
		return (g->exit = 0), 1;
	case G_VERSION:
		printf("medchain %s\n", PACKAGE_VERSION);
		/* machine-read by the tests: not translated */
#ifdef MC_TEST_HOOKS
		printf("test hooks: on (MEDCHAIN_KDF, MEDCHAIN_TEST_CRASH; a test build, not for real keys)\n");
#else
		printf("test hooks: off\n");
#endif
		return (g->exit = 0), 1;
	case G_LIST:
		for (size_t c = 0; c < NCOMMANDS; c++)
			printf("%s%s%s\n", commands[c].group ? commands[c].group : "", commands[c].group ? " " : "",
			       commands[c].name);
		return (g->exit = 0), 1;
	case G_JSON:
		cli->json = true;
		break;
	case G_QUIET:
		cli->quiet = true;
		break;
	case G_DATADIR:
		if (!*value)
			return mc_cli_usage(_("--datadir needs a directory")), 1;
		if (strlen(value) > MC_DATADIR_MAX)
			return mc_cli_usage(_("--datadir is too long")), 1;
		snprintf(cli->datadir, sizeof(cli->datadir), "%s", value);
		g->datadir_flag = true;
		break;
	case G_AS:
		cli->as = value;
		break;
	case G_PASSFILE:
		cli->passfile = value;
		break;
	case G_IDEM:
		if (!*value || strlen(value) > MC_REQUEST_KEY_MAX)
			return mc_cli_usage(_("--idempotency-key must have 1 to %d bytes"), MC_REQUEST_KEY_MAX), 1;
		g->idem = value;
		break;
	case G_CONFIG:
		g->config_file = value;
		break;
	default:
		break;
	}
	return 0;
}

/* What a step of main returns to go on; any other value is main's exit. */
#define GO_ON (-1)

/* LANGUAGE=de should work even where no locale is set (gettext ignores
 * LANGUAGE in the C locale): messages and characters then come from
 * C.UTF-8. The catalogs: MEDCHAIN_LOCALEDIR (test builds), else the locale
 * tree a build makes next to its binary, else the installed ones. */
static void init_locale(void)
{
	const char *lang = getenv("LANGUAGE"), *cur;
	/* a test hook: a release binary never takes its message formats
	 * from a directory named in the environment */
#ifdef MC_TEST_HOOKS
	const char *dir = getenv("MEDCHAIN_LOCALEDIR");
#else
	const char *dir = NULL;
#endif
	char exe[PATH_MAX], tree[PATH_MAX];
	ssize_t l;
	struct stat st;

	setlocale(LC_ALL, "");
	cur = setlocale(LC_MESSAGES, NULL);
	if (lang && *lang && cur && (strcmp(cur, "C") == 0 || strcmp(cur, "POSIX") == 0) &&
	    setlocale(LC_MESSAGES, "C.UTF-8"))
		setlocale(LC_CTYPE, "C.UTF-8");
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	tree[0] = '\0';
	if (l > 0) {
		char *slash;

		exe[l] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(tree, sizeof(tree), "%s/locale", exe) >= (int)sizeof(tree) ||
			    stat(tree, &st) != 0 || !S_ISDIR(st.st_mode))
				tree[0] = '\0';
		}
	}
	bindtextdomain(PACKAGE, dir && *dir ? dir : tree[0] ? tree : LOCALEDIR);
	textdomain(PACKAGE);
}

/* The global options, with the same getopt_long as a command's options,
 * ending at the command: "--name" and its short form map to the same
 * global. *next: the index in argv of the command (argc: none). */
static int parse_globals(int argc, char **argv, struct global_ctx *g, int *next)
{
	struct mc_optinfo all[2 * NGLOBAL];
	char longs[NGLOBAL][24], shorts[NGLOBAL][3];
	struct mc_args ga = { argc - 1, argv + 1 };
	size_t n = 0;
	int end = 0, rc;

	for (size_t k = 0; k < NGLOBAL; k++) {
		snprintf(longs[k], sizeof(longs[k]), "--%s", globals[k].name);
		g->global[n] = k;
		all[n++] = (struct mc_optinfo){ longs[k], globals[k].arg != NULL };
		if (globals[k].shortname) {
			snprintf(shorts[k], sizeof(shorts[k]), "-%c", globals[k].shortname);
			g->global[n] = k;
			all[n++] = (struct mc_optinfo){ shorts[k], globals[k].arg != NULL };
		}
	}
	rc = mc_cli_parse_global(&ga, all, n, global_opt, g, &end);
	if (rc != 0)
		return rc < 0 ? EX_USAGE : g->exit;
	*next = 1 + end;
	return GO_ON;
}

/* The row for "group name" or "name", and its arguments in *a. "anchor"
 * is a command and a group: its subcommands first, then the command when
 * no word follows. */
static const struct mc_command *lookup(const char *name, const char *sub, char **rest, int nrest,
				       struct mc_args *a)
{
	bool group = is_group(name);

	for (size_t k = 0; k < NCOMMANDS; k++) {
		const struct mc_command *c = &commands[k];

		if (c->group && sub && strcmp(name, c->group) == 0 && strcmp(sub, c->name) == 0) {
			*a = (struct mc_args){ nrest - 1, rest + 1 };
			return c;
		}
	}
	for (size_t k = 0; k < NCOMMANDS; k++) {
		const struct mc_command *c = &commands[k];

		if (!c->group && strcmp(name, c->name) == 0 && (!group || !sub || sub[0] == '-')) {
			*a = (struct mc_args){ nrest, rest };
			return c;
		}
	}
	return NULL;
}

/* The row of the command named at argv[i], its arguments in *a; NULL
 * when there is none: main exits with *exit (its group's help, or a usage
 * error). */
static const struct mc_command *find_command(int argc, char **argv, int i, struct mc_args *a, int *exit)
{
	const char *name = argv[i], *sub = i + 1 < argc ? argv[i + 1] : NULL;
	const struct mc_command *cmd = lookup(name, sub, argv + i + 1, argc - i - 1, a);

	if (cmd)
		return cmd;
	*exit = EX_USAGE;
	if (is_group(name)) {
		if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)) {
			group_usage(stdout, name);
			*exit = 0;
			return NULL;
		}
		if (!sub)
			mc_cli_usage(_("'%s' needs a command"), name);
		else
			mc_cli_usage(_("unknown command '%s %s'"), name, sub);
		group_usage(stderr, name);
		return NULL;
	}
	mc_cli_usage(_("unknown command '%s%s%s' (see 'medchain --help')"), name, sub ? " " : "", sub ? sub : "");
	return NULL;
}

/* The command's help and its options, before any file is read: the
 * common ones (--help, --list-options, --json, -q) it acts on here. */
static int command_options(const struct mc_command *cmd, const struct mc_args *a, struct mc_cli *cli)
{
	struct mc_optprobe probe;
	struct mc_common common;
	int rc;

	if ((rc = probe_command(cmd, a, &probe)) != 0)
		return rc;
	mc_cli_common(a, &probe, &common);
	if (common.list_options) {
		mc_cli_print_options(stdout, &probe);
		return 0;
	}
	if (common.help) {
		command_help(cmd);
		return 0;
	}
	cli->json |= common.json;
	cli->quiet |= common.quiet;
	return GO_ON;
}

/* Configuration: /etc (or --config), the data dir's file, MEDCHAIN_*
 * variables; flags win. */
static int load_config(struct mc_cli *cli, const struct global_ctx *g)
{
	struct mc_err err = { 0 };
	extern char **environ;
	char path[PATH_MAX];

	if (mc_config_load_file(&cli->conf, g->config_file ? g->config_file : MC_SYSTEM_CONFIG,
				g->config_file == NULL, &err) != 0)
		return mc_cli_fail(&err);
	if (!g->datadir_flag) {
		default_datadir(cli);
		if (cli->conf.datadir[0] && !getenv("MEDCHAIN_DATADIR"))
			snprintf(cli->datadir, sizeof(cli->datadir), "%s", cli->conf.datadir);
	}
	/* however it was chosen: every <datadir>/<file> must fit */
	if (strlen(cli->datadir) > MC_DATADIR_MAX ||
	    snprintf(path, sizeof(path), "%s/medchain.conf", cli->datadir) >= (int)sizeof(path)) {
		mc_err_set(&err, EX_USAGE, _("the data dir path is too long"));
		return mc_cli_fail(&err);
	}
	if (mc_config_load_file(&cli->conf, path, true, &err) != 0 ||
	    mc_config_load_env(&cli->conf, environ, &err) != 0)
		return mc_cli_fail(&err);
	cli->config_file = g->config_file;
	cli->datadir_flag = g->datadir_flag;
	return GO_ON;
}

/* No command: on a terminal, the console; on anything else, usage. */
static int run_console(struct mc_cli *cli)
{
	int rc;

	mc_cli_use_serve(cli);
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		rc = mc_console_main(cli);
		mc_cli_close(cli);
		return rc;
	}
	usage(stderr);
	return EX_USAGE;
}

/* The command, its row's setup flags in cli->setup for mc_cmd_setup (a
 * row with none has serve's submitter set here, as before); then the
 * output must have reached its file. */
static int run_command(struct mc_cli *cli, const struct mc_command *cmd, struct mc_args *a,
		       const char *idem, int argc, char **argv)
{
	int rc;

	cli->setup = cmd->flags & MC_SETUP_ANY;
	if (!cli->setup)
		mc_cli_use_serve(cli);
	/* what makes this write the same write when it is run again */
	mc_request_begin(&cli->req, (cmd->flags & MC_CMD_SAME_WRITE) != 0, idem, cli->as, argc, argv);
	rc = cmd->run(cli, a);
	mc_cli_close(cli);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "medchain: %s\n", _("cannot write the output"));
		return rc ? rc : EX_IOERR;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct mc_cli cli;
	struct rlimit nocore = { 0, 0 };
	struct global_ctx g = { &cli, { 0 }, 0, NULL, NULL, false };
	struct mc_args a = { 0, NULL };
	const struct mc_command *cmd = NULL;
	int i = argc, rc;

	init_locale();
	/* This process may hold keys: never dump core. */
	setrlimit(RLIMIT_CORE, &nocore);
	if (mc_crypto_init() != 0) {
		fprintf(stderr, "medchain: %s\n", _("cannot initialise libsodium"));
		return EX_SOFTWARE;
	}
	memset(&cli, 0, sizeof(cli));
	mc_config_defaults(&cli.conf);
	if ((rc = parse_globals(argc, argv, &g, &i)) != GO_ON)
		return rc;
	/* the command, its help and its options, before any file is read */
	if (i < argc) {
		if ((cmd = find_command(argc, argv, i, &a, &rc)) == NULL ||
		    (rc = command_options(cmd, &a, &cli)) != GO_ON)
			return rc;
	}
	if ((rc = load_config(&cli, &g)) != GO_ON)
		return rc;
	if (!cmd)
		return run_console(&cli);
	/* the command and its arguments: the global options name no write */
	return run_command(&cli, cmd, &a, g.idem, argc - i, argv + i);
}
