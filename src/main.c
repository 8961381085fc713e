/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - the program's entry and its one command table. */
#include "config.h"

#include <locale.h>
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

/* L10N: in the usage lines, keep the commands, options (--name) and the
 * capitalised placeholders (ID, FILE) as they are: they are typed. */
static const struct mc_command commands[] = {
	{ NULL, "init", cmd_init, N_("init [--name N] [--org O] [--no-passphrase]"),
	  N_("make a new node: keys and the genesis block"), 0 },
	{ NULL, "status", cmd_status, N_("status"), N_("height, head, validators"), 0 },
	{ "identity", "add", cmd_identity_add,
	  N_("identity add --name N --role R[,R] [--org O] [--no-passphrase]"),
	  N_("enroll a new identity; prints its public key"), 0 },
	{ "identity", "list", cmd_identity_list, N_("identity list"), N_("list identities"), 0 },
	{ "identity", "revoke", cmd_identity_revoke, N_("identity revoke KEY [--reason T]"),
	  N_("revoke an identity"), MC_CMD_SAME_WRITE },
	{ "record", "put", cmd_record_put,
	  N_("record put --subject ID --category C [--type MIME] [--amend RECORD] [FILE|-]"),
	  N_("store a record; prints its id"), MC_CMD_SAME_WRITE },
	{ "record", "import", cmd_record_import,
	  N_("record import [--format ndjson|bundle] [--batch N] [--on-duplicate skip|version|error] [FILE|-]"),
	  N_("bulk import NDJSON or a FHIR R4 Bundle"), 0 },
	{ "record", "get", cmd_record_get,
	  N_("record get RECORD [--purpose P] [--break-glass REASON] [--version N] [-o FILE]"),
	  N_("read a record under consent; every attempt is audited"), MC_CMD_SAME_WRITE },
	{ "record", "list", cmd_record_list, N_("record list [--subject ID] [--category C]"),
	  N_("list records"), 0 },
	{ "record", "history", cmd_record_history, N_("record history RECORD"),
	  N_("list a record's versions"), 0 },
	{ "record", "erase", cmd_record_erase, N_("record erase RECORD --reason T [--dry-run] [--yes]"),
	  N_("erase a record's data on every node"), MC_CMD_SAME_WRITE },
	{ "consent", "grant", cmd_consent_grant,
	  N_("consent grant --subject ID --to KEY|NAME --purpose P [--scope C,C|*] [--record R,R] [--from T] [--until T] [--form REF]"),
	  N_("record a patient's consent; prints the grant id"), MC_CMD_SAME_WRITE },
	{ "consent", "revoke", cmd_consent_revoke, N_("consent revoke GRANT --reason T"),
	  N_("revoke a grant"), MC_CMD_SAME_WRITE },
	{ "consent", "list", cmd_consent_list, N_("consent list [--subject ID] [--grantee X] [--active]"),
	  N_("list grants"), 0 },
	{ "consent", "export", cmd_consent_export, N_("consent export [--subject ID] [--grantee X] [-o FILE]"),
	  N_("grants as a FHIR R4 Bundle of Consent resources"), 0 },
	{ "consent", "import", cmd_consent_import, N_("consent import [--dry-run] [--yes] [FILE|-]"),
	  N_("grants from FHIR R4 Consent resources (a Bundle or one), all in one block"), 0 },
	{ "audit", "list", cmd_audit_list,
	  N_("audit list [--subject ID] [--actor X] [--since T] [--until T] [--outcome O] [--limit N] [--after CURSOR] [--newest]"),
	  N_("the audit trail, oldest first, paged"), 0 },
	{ "audit", "export", cmd_audit_export,
	  N_("audit export --format fhir|csv [--subject ID] [--actor X] [--since T] [--until T] [--outcome O] [-o FILE]"),
	  N_("the audit trail as a FHIR R4 Bundle of AuditEvents, or CSV"), 0 },
	{ NULL, "alerts", cmd_alerts, N_("alerts [--hours N] [--burst N] [--expiring-days N]"),
	  N_("break-glass reads, bursts of denials, grants ending soon"), 0 },
	{ "anchor", "keygen", cmd_anchor_keygen, N_("anchor keygen [--no-passphrase]"),
	  N_("a secp256k1 key for anchoring; prints the address to fund"), 0 },
	{ "anchor", "plan", cmd_anchor_plan, N_("anchor plan"),
	  N_("what the next anchor carries: chain id, tree size, root, calldata"), 0 },
	{ "anchor", "list", cmd_anchor_list, N_("anchor list [--public]"),
	  N_("the anchor journal, each anchor's consistency proof checked from the one before; --public adds confirmations"), 0 },
	{ "proof", "export", cmd_proof_export, N_("proof export RECORD [--version N] [-o FILE]"),
	  N_("a record's proof bundle: its paths to an anchored root (no payload)"), 0 },
	{ "proof", "verify", cmd_proof_verify, N_("proof verify FILE [--rpc URL] [--confirmations N]"),
	  N_("check a proof bundle offline, then the anchor on the public chain"), 0 },
	{ NULL, "anchor", cmd_anchor_run, N_("anchor [--wait SECONDS] [--dry-run]"),
	  N_("headless, for cron: confirm what is pending, anchor what is new"), 0 },
	{ NULL, "serve", cmd_serve, N_("serve"),
	  N_("the peer API and block production ([node] listen, peers)"), 0 },
	{ "node", "list", cmd_node_list, N_("node list"),
	  N_("the validators, and each one's live status from serve"), 0 },
	{ "node", "add", cmd_node_add, N_("node add URL KEY [--name N]"),
	  N_("approve adding a validator; commits at a quorum, else prints a token"), 0 },
	{ "node", "remove", cmd_node_remove, N_("node remove KEY [--dry-run] [--yes]"),
	  N_("approve removing a validator; commits at a quorum, else prints a token"), 0 },
	{ "node", "promote", cmd_node_promote, N_("node promote KEY"),
	  N_("make another validator the leader (a view change the validators agree to)"), 0 },
	{ "node", "approve", cmd_node_approve, N_("node approve TOKEN"),
	  N_("add this validator's approval to a proposed set change"), 0 },
	{ NULL, "backup", cmd_backup, N_("backup DIR [--with-keys]"),
	  N_("a hot, consistent, compacted copy of the chain, verified before it is kept"), 0 },
	{ NULL, "restore", cmd_restore, N_("restore BACKUP"),
	  N_("a backup into a new data dir (--datadir), verified before and after"), 0 },
	{ NULL, "verify", cmd_verify, N_("verify"),
	  N_("recompute and check everything stored; exit 65 naming the first damage"), 0 },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, _("usage: medchain [--datadir DIR] [--config FILE] [--as IDENTITY] [--passphrase-file FILE] [--idempotency-key K] [--json] [-q] COMMAND ...\n"));
	fprintf(f, _("       medchain --help | --version\n"));
	fprintf(f, _("       medchain          (no command, on a terminal) open the console\n\ncommands:\n"));
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-72s\n      %s\n", _(commands[i].usage), _(commands[i].summary));
	fprintf(f, _("\nexit codes follow sysexits.h: 0 ok, 64 usage, 65 bad data, 66 no input, 67 unknown identity,\n"
		     "69 unavailable, 73 cannot create, 74 I/O error, 75 try again, 77 not permitted, 78 configuration\n"));
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

int main(int argc, char **argv)
{
	struct mc_cli cli;
	struct rlimit nocore = { 0, 0 };
	struct mc_args a;
	const char *config_file = NULL, *idem = NULL;
	bool datadir_flag = false;
	int i, rc;

	setlocale(LC_ALL, "");
	{
		/* LANGUAGE=de should work even where no locale is set (gettext
		 * ignores LANGUAGE in the C locale): messages and characters
		 * then come from C.UTF-8. */
		const char *lang = getenv("LANGUAGE"), *cur = setlocale(LC_MESSAGES, NULL);
		const char *dir = getenv("MEDCHAIN_LOCALEDIR");

		if (lang && *lang && cur && (strcmp(cur, "C") == 0 || strcmp(cur, "POSIX") == 0) &&
		    setlocale(LC_MESSAGES, "C.UTF-8"))
			setlocale(LC_CTYPE, "C.UTF-8");
		char exe[4096], tree[4200];
		ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		struct stat st;

		/* MEDCHAIN_LOCALEDIR (documented, for tests), else the locale
		 * tree a build makes next to its binary, else the installed
		 * catalogs */
		tree[0] = '\0';
		if (l > 0) {
			char *slash;

			exe[l] = '\0';
			if ((slash = strrchr(exe, '/')) != NULL) {
				*slash = '\0';
				snprintf(tree, sizeof(tree), "%s/locale", exe);
				if (stat(tree, &st) != 0 || !S_ISDIR(st.st_mode))
					tree[0] = '\0';
			}
		}
		bindtextdomain(PACKAGE, dir && *dir ? dir : tree[0] ? tree : LOCALEDIR);
	}
	textdomain(PACKAGE);
	/* This process may hold keys: never dump core. */
	setrlimit(RLIMIT_CORE, &nocore);
	if (mc_crypto_init() != 0) {
		fprintf(stderr, "medchain: %s\n", _("cannot initialise libsodium"));
		return EX_SOFTWARE;
	}

	memset(&cli, 0, sizeof(cli));
	mc_config_defaults(&cli.conf);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(o, "--version") == 0) {
			printf("medchain %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(o, "--json") == 0) {
			cli.json = true;
		} else if (strcmp(o, "-q") == 0 || strcmp(o, "--quiet") == 0) {
			cli.quiet = true;
		} else if ((strcmp(o, "--datadir") == 0 || strcmp(o, "--as") == 0 ||
			    strcmp(o, "--passphrase-file") == 0 || strcmp(o, "--config") == 0 ||
			    strcmp(o, "--idempotency-key") == 0)) {
			if (i + 1 >= argc)
				return mc_cli_usage(_("option '%s' needs a value"), o);
			if (strcmp(o, "--datadir") == 0) {
				if (strlen(argv[i + 1]) >= sizeof(cli.datadir) - 64)
					return mc_cli_usage(_("--datadir is too long"));
				snprintf(cli.datadir, sizeof(cli.datadir), "%s", argv[i + 1]);
				datadir_flag = true;
			} else if (strcmp(o, "--as") == 0) {
				cli.as = argv[i + 1];
			} else if (strcmp(o, "--passphrase-file") == 0) {
				cli.passfile = argv[i + 1];
			} else if (strcmp(o, "--idempotency-key") == 0) {
				idem = argv[i + 1];
				if (!*idem || strlen(idem) > MC_REQUEST_KEY_MAX)
					return mc_cli_usage(_("--idempotency-key must have 1 to %d bytes"), MC_REQUEST_KEY_MAX);
			} else {
				config_file = argv[i + 1];
			}
			i++;
		} else {
			return mc_cli_usage(_("unknown option '%s' (see 'medchain --help')"), o);
		}
	}
	/* Configuration: /etc (or --config), the data dir's file, MEDCHAIN_*
	 * variables; flags win. */
	{
		struct mc_err err = { 0 };
		extern char **environ;
		char path[4200];

		if (mc_config_load_file(&cli.conf, config_file ? config_file : "/etc/medchain/medchain.conf",
					config_file == NULL, &err) != 0)
			return mc_cli_fail(&err);
		if (!datadir_flag) {
			default_datadir(&cli);
			if (cli.conf.datadir[0] && !getenv("MEDCHAIN_DATADIR"))
				snprintf(cli.datadir, sizeof(cli.datadir), "%s", cli.conf.datadir);
		}
		snprintf(path, sizeof(path), "%s/medchain.conf", cli.datadir);
		if (mc_config_load_file(&cli.conf, path, true, &err) != 0 ||
		    mc_config_load_env(&cli.conf, environ, &err) != 0)
			return mc_cli_fail(&err);
	}
	cli.config_file = config_file;
	mc_cli_use_serve(&cli);
	if (i >= argc) {
		/* On a terminal, the console; on anything else, usage. */
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			rc = mc_console_main(&cli);
			mc_cli_close(&cli);
			return rc;
		}
		usage(stderr);
		return EX_USAGE;
	}
	for (size_t k = 0; k < NCOMMANDS; k++) {
		const struct mc_command *c = &commands[k];

		if (c->group) {
			if (strcmp(argv[i], c->group) != 0 || i + 1 >= argc ||
			    strcmp(argv[i + 1], c->name) != 0)
				continue;
			a.argc = argc - i - 2;
			a.argv = argv + i + 2;
		} else {
			if (strcmp(argv[i], c->name) != 0)
				continue;
			a.argc = argc - i - 1;
			a.argv = argv + i + 1;
		}
		/* --json and -q may also follow the command. */
		{
			int w = 0;

			for (int j = 0; j < a.argc; j++) {
				if (strcmp(a.argv[j], "--") == 0) {
					while (j < a.argc)
						a.argv[w++] = a.argv[j++];
					break;
				}
				if (strcmp(a.argv[j], "--json") == 0)
					cli.json = true;
				else if (strcmp(a.argv[j], "-q") == 0 || strcmp(a.argv[j], "--quiet") == 0)
					cli.quiet = true;
				else
					a.argv[w++] = a.argv[j];
			}
			a.argc = w;
		}
		for (int j = 0; j < a.argc; j++) {
			if (strcmp(a.argv[j], "--help") == 0) {
				printf(_("usage: medchain %s\n  %s\n"), _(c->usage), _(c->summary));
				return 0;
			}
		}
		/* what makes this write the same write when it is run again */
		mc_request_begin(&cli.req, (c->flags & MC_CMD_SAME_WRITE) != 0, idem, cli.as, argc - 1, argv + 1);
		rc = c->run(&cli, &a);
		mc_cli_close(&cli);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "medchain: %s\n", _("cannot write the output"));
			return rc ? rc : EX_IOERR;
		}
		return rc;
	}
	return mc_cli_usage(_("unknown command '%s%s%s' (see 'medchain --help')"), argv[i],
			    i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
}
