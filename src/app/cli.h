/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - what every command shares: global options, the data dir, keys,
 * passphrases and output. Not part of the core library. */
#ifndef MC_CLI_H
#define MC_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "err.h"
#include "keystore.h"
#include "outbox.h"
#include "store.h"

/* The system-wide configuration file, read when --config names none. */
#define MC_SYSTEM_CONFIG SYSCONFDIR "/medchain/medchain.conf"

struct mc_cli {
	char datadir[PATH_MAX];
	const char *as;              /* --as IDENTITY, NULL: the node's admin */
	const char *passfile;        /* --passphrase-file */
	const char *config_file;     /* --config, or NULL: MC_SYSTEM_CONFIG */
	bool datadir_flag;           /* datadir came from --datadir */
	bool json;
	bool quiet;
	struct mc_store *store;      /* opened by mc_cli_open() */
	char *pass;                  /* guarded memory; NULL until asked */
	size_t passlen;
	char pass_from[PATH_MAX];        /* the file it was read from, or /dev/tty */
	char *as_pass;               /* guarded: the passphrase of the --as identity's own key */
	size_t as_passlen;
	char as_pass_from[PATH_MAX];
	int as_node;                 /* --as names a key of the node: 0 not known yet, 1 yes, 2 no */
	struct mc_config conf;       /* medchain.conf, environment, flags */
	struct mc_request req;       /* this command's writes, for retries (outbox.h) */
	mc_remote_fn remote;         /* set on the store mc_cli_open() opens (mc_cli_set_remote) */
	void *remote_ctx;
	/* The command's setup (MC_SETUP_*, performed by mc_cmd_setup in
	 * commands.h): what its table row asks for, set by main; what is done
	 * so far; and what it made. The keys are owned here and freed by
	 * mc_cli_close(). */
	unsigned setup;              /* the row's MC_SETUP_* flags */
	unsigned setup_done;         /* those performed so far */
	bool dry_run;                /* set by the command before its setup: see MC_SETUP_* */
	struct mc_key *node_key;     /* MC_SETUP_NODE_KEY: keys/node.key */
	struct mc_key *actor_key;    /* MC_SETUP_ACTOR: the acting identity's key (--as, default admin) */
	struct mc_key *org_key;      /* MC_SETUP_ORG_KEY: keys/org.key */
};

/* argv after the global options: a command's own arguments. */
struct mc_args {
	int argc;
	char **argv;
};

struct mc_command {
	const char *group;     /* "record", or NULL for a top-level command */
	const char *name;
	int (*run)(struct mc_cli *cli, struct mc_args *a);
	const char *usage;     /* N_() */
	const char *summary;   /* N_() */
	unsigned flags;        /* MC_CMD_* and MC_SETUP_* */
};

/* Run again after a timeout, the command makes the same write, not a
 * second one (outbox.h). It matters where writes go through serve
 * (MC_SETUP_SERVE): serve's submitter keeps the write in the outbox. */
#define MC_CMD_SAME_WRITE (1u << 0)

/* Setup flags: what a command needs before its work, git's RUN_SETUP. main
 * copies the row's flags into cli->setup; the command parses its options
 * and checks its arguments first (a usage error exits 64 before any file is
 * read), then calls mc_cmd_setup (commands.h), which performs them in this
 * order: serve, the store, the node key, the actor's key, the org key. A
 * command that asks for none of them (flags & MC_SETUP_ANY == 0) opens what
 * it needs itself and has serve's submitter set by main, as before. */
#define MC_SETUP_READ     (1u << 1)  /* open the store read-only (cli->store) */
#define MC_SETUP_WRITE    (1u << 2)  /* open the store for writing; read-only on a dry run */
#define MC_SETUP_NODE_KEY (1u << 3)  /* cli->node_key; none on a dry run */
#define MC_SETUP_ACTOR    (1u << 4)  /* cli->actor_key (mc_cli_load_actor); none on a dry run */
#define MC_SETUP_ORG_KEY  (1u << 5)  /* cli->org_key (keys/org.key) */
/* Writes on a chain of several validators go through this node's `medchain
 * serve`: the session's remote submitter (mc_cli_use_serve) is set before
 * the store opens. Every command that writes blocks asks for it. */
#define MC_SETUP_SERVE    (1u << 6)
/* What a command that signs a write usually asks for. */
#define MC_SETUP_SIGN (MC_SETUP_WRITE | MC_SETUP_SERVE | MC_SETUP_NODE_KEY | MC_SETUP_ACTOR)
#define MC_SETUP_STORE (MC_SETUP_READ | MC_SETUP_WRITE)
#define MC_SETUP_ANY (MC_SETUP_STORE | MC_SETUP_NODE_KEY | MC_SETUP_ACTOR | MC_SETUP_ORG_KEY | MC_SETUP_SERVE)
/* For mc_cmd_setup's steps: every step the row asks for. */
#define MC_SETUP_ALL (~0u)

/* Paths inside the data dir: rel is at most 255 bytes, so every path fits
 * PATH_MAX (main refuses a data dir longer than MC_DATADIR_MAX). */
#define MC_DATADIR_MAX (PATH_MAX - 257)
void mc_cli_path(const struct mc_cli *cli, char *out, size_t n, const char *rel);
/* The URL this node's own `medchain serve` answers the CLI at ([node] listen). */
void mc_cli_serve_url(const struct mc_cli *cli, char *out, size_t n);

/* Opens the store of an existing data dir (EX_NOINPUT if it is not one),
 * with the session's remote submitter set on it. */
int mc_cli_open(struct mc_cli *cli, unsigned flags, struct mc_err *err);
/* How the session's writes reach the block maker on a chain of several
 * validators (store.h, mc_store_set_remote): kept for every store
 * mc_cli_open() opens, the CLI's and the console's alike, and set on the
 * one already open. fn NULL: none. */
void mc_cli_set_remote(struct mc_cli *cli, mc_remote_fn fn, void *ctx);
void mc_cli_close(struct mc_cli *cli);

/* The passphrase of the node's own keys (node, admin, org, anchor and the
 * organization keys it holds): --passphrase-file (unless --as names an
 * identity that is not one of those keys: then --passphrase-file is that
 * identity's own), else $MEDCHAIN_PASSPHRASE_FILE, else the systemd
 * credential MC_CREDENTIAL in $CREDENTIALS_DIRECTORY (LoadCredential= or
 * LoadCredentialEncrypted=), else a prompt on /dev/tty with echo off. Read
 * into guarded memory (one line, up to 1023 bytes). confirm: ask twice (new
 * keys; a file is read once). It is never tried on a staff key: the --as
 * identity's key is unlocked by its own passphrase alone (docs/decisions.md). */
#define MC_CREDENTIAL "medchain.passphrase"
int mc_cli_passphrase(struct mc_cli *cli, bool confirm, struct mc_err *err);
/* The passphrase of a new key for its holder (whose: a name for the
 * prompt, or NULL): the first line of file, else asked twice on the
 * terminal (fileopt: the option that gives the file, for the message when
 * there is none). Never the node's passphrase. Free *pass with
 * mc_secure_free(). */
int mc_cli_new_passphrase(const char *file, const char *whose, const char *fileopt, char **pass,
			  size_t *len, struct mc_err *err);

/* mc_key_save at this session's Argon2id cost (mc_hooks_kdf: the default,
 * or the test builds' MEDCHAIN_KDF=fast): every key file a command writes
 * goes through here. */
int mc_cli_save_key(const char *path, const struct mc_key *key, const char *pass, size_t passlen,
		    struct mc_err *err);

/* Keys of this node: "node", "admin", "org" (keys/<role>.key). */
/* A key file, asking for the passphrase when it is sealed. */
int mc_cli_load_key_file(struct mc_cli *cli, const char *path, struct mc_key **key,
			 struct mc_err *err);
int mc_cli_load_role_key(struct mc_cli *cli, const char *role, struct mc_key **key,
			 struct mc_err *err);
/* The acting identity (--as, default admin): resolves it on chain, finds its
 * key file in keys/ and loads it. */
int mc_cli_load_actor(struct mc_cli *cli, struct mc_key **key, struct mc_err *err);
/* The acting identity's state on chain (--as, default admin), loading no
 * secret key: for --dry-run, which must not ask for a passphrase. */
struct mc_identity;
int mc_cli_actor_identity(struct mc_cli *cli, struct mc_identity *id, struct mc_err *err);
/* Finds an enrolled identity by key, key prefix or name. */
struct mc_identity;
int mc_cli_find_identity(struct mc_cli *cli, const char *what, struct mc_identity *id,
			 struct mc_err *err);
/* The pseudonym of a patient identifier under this node's organization
 * key (loaded and wiped again here). */
int mc_cli_subject(struct mc_cli *cli, const char *id, unsigned char out[32], struct mc_err *err);
/* The organization key an identity reads records with: this node's
 * (keys/org.key), or, when the identity's organization is another enrolled
 * organization whose key this node holds, that one. */
int mc_cli_load_reader_org(struct mc_cli *cli, const unsigned char actor[32], struct mc_key **key,
			   struct mc_err *err);
/* *other: whether the identity belongs to another enrolled organization;
 * its key in org. */
int mc_cli_other_org(struct mc_cli *cli, const unsigned char actor[32], bool *other,
		     unsigned char org[32], struct mc_err *err);
/* Loads keys/<hex pk>.key or a role key holding that pk. */
int mc_cli_load_key_for(struct mc_cli *cli, const unsigned char pk[32], struct mc_key **key,
			struct mc_err *err);

/* The key of a holder who is present (a key rotation): keys/ holds the key
 * file for pk; a sealed one is unlocked by the first line of passfile, else
 * by the passphrase its holder types on the terminal (whose: a name for the
 * prompt; fileopt: the option naming the file). Never the node's passphrase. */
int mc_cli_load_holder_key(struct mc_cli *cli, const unsigned char pk[32], const char *whose,
			   const char *passfile, const char *fileopt, struct mc_key **key,
			   struct mc_err *err);

/* Prints "medchain: <msg>" on stderr and returns the exit code. */
int mc_cli_fail(const struct mc_err *err);
/* Reports a usage error for a command; returns EX_USAGE. */
int mc_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads all of a file ("-" or NULL: stdin) up to max bytes: EX_DATAERR
 * past it. *out is malloc'd. */
int mc_cli_read_all(const char *path, size_t max, unsigned char **out, size_t *n,
		    struct mc_err *err);
/* Writes data to path, the target of every -o: "-" is standard output; a
 * regular file (or none) is replaced atomically (mc_file_write_atomic:
 * temp file, fsync, rename, fsync of the directory; mode 0600); anything else that exists (a character
 * device, a FIFO) is opened and written in place, never replaced; a
 * symbolic link is written through only when it points at such a
 * non-regular file (/dev/stdout), and refused otherwise; a directory is
 * refused. */
int mc_cli_write_file(const char *path, const void *p, size_t n, struct mc_err *err);

/* A progress bar on stderr when it is a terminal; no-op otherwise. */
void mc_cli_progress(const char *what, unsigned long long done, unsigned long long total);
void mc_cli_progress_end(void);
/* A bar for done/total of some measure (bytes read), labelled with a count. */
void mc_cli_progress_frac(const char *what, unsigned long long done, unsigned long long total,
			  unsigned long long count);

/* Whether a list prints its header row: on a terminal, not with --json or
 * -q (a pipe gets the rows alone; --json is the form for scripts). */
bool mc_cli_list_header(const struct mc_cli *cli);
/* After getopt_long returned the long option name (no "--") with optarg
 * arg and optind ind over v: NULL when it was typed in full, else the
 * argument as typed (an abbreviation, which medchain refuses). */
const char *mc_cli_abbreviated(char **v, int ind, const char *name, const char *arg);
/* Confirmation before an irreversible or bulk action (docs/decisions.md,
 * "Confirming irreversible and bulk actions"). With yes (--yes), or when
 * stdin is not a terminal (cron, scripts, a pipe), returns 0 without
 * asking. On a terminal it prints `question` and a yes/no hint on stderr
 * and reads one answer from the terminal: 0 for the locale's yes, else -1
 * with err set (MC_EX_DECLINED, "nothing was written"). */
#define MC_EX_DECLINED 1
int mc_cli_confirm(bool yes, const char *question, struct mc_err *err);

/* Prints one JSON document and a newline on stdout; frees it (NULL: out
 * of memory, reported as EX_OSERR). All --json output is built with cJSON
 * and printed through here; text from the data goes in through
 * mc_json_add_str() (text.h), which makes it well-formed UTF-8. */
struct cJSON;
int mc_cli_json_print(struct cJSON *j, struct mc_err *err);
/* The --json answer of a write: {"<key>": id, "version": version, "block":
 * height}, printed with mc_cli_json_print; version 0 leaves it out. */
int mc_cli_json_written(const char *key, const char *id, uint32_t version, uint64_t height,
			struct mc_err *err);

/* Simple option parsing for commands: --name VALUE / --flag. Returns the
 * index of the first positional argument, or -1 after reporting usage. */
struct mc_opt {
	const char *name;      /* "--subject" */
	bool has_arg;
	const char **value;    /* for has_arg */
	bool *flag;            /* for flags */
};
int mc_cli_parse(struct mc_args *a, const struct mc_opt *opts, size_t nopts,
		 char **pos, int maxpos, int *npos);
/* mc_cli_parse is getopt_long underneath: "--name VALUE", "--name=VALUE",
 * "-o FILE", "-oFILE", options and positional arguments in any order, "--"
 * ends the options. Every command's parser also accepts the common options
 * (--json, -q/--quiet, -h/--help, --list-options), which main() acts on
 * before the command runs (mc_cli_common). */

/* What a command's parser accepts, read from the very table it parses with:
 * main() runs the command once with a probe set, and mc_cli_parse then
 * copies its table into the probe and fails without parsing or printing
 * (every command parses before it does anything else). Help, completion and
 * the test that help lists every option all read this. */
#define MC_OPTS_MAX 48
struct mc_optinfo {
	const char *name;      /* "--subject", "-o" */
	bool has_arg;
};
/* The global options, before the command (main.c), through the same
 * getopt_long as every command's: on_opt(ctx, k, value) for each of
 * all[0..n) given (a nonzero return ends the parse with it), up to the
 * first argument that is no option; *end counts the arguments before it.
 * A usage error is reported: -1. */
int mc_cli_parse_global(const struct mc_args *a, const struct mc_optinfo *all, size_t n,
			int (*on_opt)(void *ctx, size_t k, char *value), void *ctx, int *end);
struct mc_optprobe {
	bool reached;          /* the command called mc_cli_parse */
	size_t n;
	struct mc_optinfo opts[MC_OPTS_MAX];
};
/* While p is set, mc_cli_parse records into it; NULL ends probing. */
void mc_cli_probe(struct mc_optprobe *p);
/* Whether the probe is on: a command that prints even a usage error on
 * stdout (check, a monitoring plugin) stays silent then. */
bool mc_cli_probing(void);

/* The common options among a command's arguments, parsed with the command's
 * own table so that an option's value is never taken for one (unknown
 * options are left for the command to report). */
struct mc_common {
	bool json, quiet, help, list_options;
};
void mc_cli_common(const struct mc_args *a, const struct mc_optprobe *p, struct mc_common *c);
/* The options a probed command accepts, one a line (--list-options). */
void mc_cli_print_options(FILE *f, const struct mc_optprobe *p);

#endif
