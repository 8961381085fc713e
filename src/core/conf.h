/* SPDX-License-Identifier: Apache-2.0 */
/* conf.h - medchain.conf: INI files a sysadmin edits.
 *
 * Read in order, later ones overriding: $(sysconfdir)/medchain/medchain.conf
 * (or the file --config names), <datadir>/medchain.conf, MEDCHAIN_*
 * environment variables (MEDCHAIN_RPC_URL, MEDCHAIN_CHAIN_ID, ...), then
 * command-line flags. Every bad line gets a message naming the file, the
 * line, the key and what is allowed, and EX_CONFIG; so does a file that
 * exists but cannot be read (a missing optional file is fine). Each key
 * remembers where its value came from (mc_config_origin), for `medchain
 * config check`.
 *
 * Every key is one row of the table in conf.c (struct mc_conf_key): its
 * section, name, MEDCHAIN_* variable, type, range, default and one line of
 * doc. The INI handler, the environment overrides, the checks and their
 * messages, the defaults and `config check`'s listing all read that table;
 * test_conf.c checks it against medchain.conf(5) and examples/medchain.conf.
 */
#ifndef MC_CONF_H
#define MC_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define MC_CONF_STR 512
#define MC_CONF_NKEYS 25          /* every key of every section */

/* Where a key's value came from. */
enum mc_conf_source { MC_CONF_DEFAULT = 0, MC_CONF_FILE, MC_CONF_ENV };
struct mc_conf_origin {
	enum mc_conf_source source;
	int line;                     /* MC_CONF_FILE: the line */
	char where[MC_CONF_STR];      /* the file, or the environment variable
				       * (cut at MC_CONF_STR - 1 bytes) */
};

struct mc_config {
	char node_name[MC_CONF_STR];
	char datadir[MC_CONF_STR];
	char listen[MC_CONF_STR];
	char url[MC_CONF_STR];        /* advertised; default from listen */
	char peers[4 * MC_CONF_STR];
	uint32_t block_interval_ms;   /* default 50 */
	uint32_t max_block_txs;       /* default 5000 */
	uint32_t pool_txs;            /* pending txs at most; default 200000 */
	uint32_t pool_mib;            /* and MiB of them; default 32 */
	uint32_t leader_timeout_ms;   /* default 10000; 0: manual leader changes only */
	char tls_cert[MC_CONF_STR];   /* PEM: serve over https */
	char tls_key[MC_CONF_STR];
	char ca_file[MC_CONF_STR];    /* trust for https peers */
	char metrics_listen[MC_CONF_STR];   /* host:port of /healthz and /metrics;
					     * empty (default): none */
	char rpc_url[MC_CONF_STR];
	uint64_t chain_id;            /* 0: not set (anchor refuses: 78) */
	char key_file[MC_CONF_STR];
	uint32_t confirmations;       /* default 12 */
	uint32_t max_fee_gwei;        /* default 100 */
	uint32_t min_interval;        /* seconds between anchors; default 0 */
	int verify_recent;            /* 1: [anchor] verify = recent; 0: full (default) */
	uint32_t bump_after;          /* seconds before a pending anchor is
				       * re-priced at the same nonce; default 300 */
	uint32_t overdue_after;       /* seconds without an anchor before
				       * `check` warns; 0 (default): not checked */
	int colors;                   /* 0 auto, 1 always, -1 never */
	uint32_t refresh_ms;          /* default 1000 */
	struct mc_conf_origin origin[MC_CONF_NKEYS];   /* by key index */
};

void mc_config_defaults(struct mc_config *c);
/* Reads one file. A missing file is fine when optional (EX_CONFIG
 * otherwise); one that exists but cannot be read (no permission, a
 * directory, an I/O error) never is, nor is a bad line. */
int mc_config_load_file(struct mc_config *c, const char *path, bool optional, struct mc_err *err);
/* Reads an open file (name is used in messages); the parser the fuzzer runs. */
int mc_config_load_stream(struct mc_config *c, const char *name, FILE *f, struct mc_err *err);
/* Applies MEDCHAIN_* variables (the environment is passed for tests). */
int mc_config_load_env(struct mc_config *c, char *const *env, struct mc_err *err);

/* What a key holds: how a value is checked and how `config check` shows
 * it. */
enum mc_conf_type {
	MC_CONF_TEXT,       /* text, min to max characters */
	MC_CONF_PATH,       /* a path, not empty */
	MC_CONF_ABSPATH,    /* an absolute path */
	MC_CONF_HOSTPORT,   /* host:port */
	MC_CONF_URL,        /* an http:// or https:// URL (shown redacted) */
	MC_CONF_URLS,       /* comma-separated URLs (shown redacted) */
	MC_CONF_UINT,       /* an integer, min to max (uint32_t or uint64_t) */
	MC_CONF_CHOICE,     /* one of choices[], stored as an int of values[] */
};

#define MC_CONF_EMPTY_OK 1u   /* "" is allowed too (unset) */
#define MC_CONF_ZERO_OK 2u    /* MC_CONF_UINT: 0 is allowed below min */
#define MC_CONF_ONE_URL 4u    /* MC_CONF_URL: no spaces or commas */
#define MC_CONF_READS 8u      /* names a file `config check` opens */
#define MC_CONF_SECRET 16u    /* ... that group and others may not access */

/* One configuration key. */
struct mc_conf_key {
	const char *section, *key;
	const char *env;              /* the MEDCHAIN_* variable, or NULL */
	enum mc_conf_type type;
	unsigned flags;
	uint64_t min, max;            /* UINT: the range; TEXT: the length
				       * (max 0: as the field holds) */
	const char *const *choices;   /* CHOICE: NULL-terminated */
	const int *values;            /* CHOICE: the value of each choice */
	const char *allowed;          /* N_(): what a bad value is told */
	const char *def;              /* the default as a file spells it;
				       * NULL: none (empty, or 0) */
	const char *doc;              /* one line of doc */
	size_t off, size;             /* the field in struct mc_config */
};

/* Key i of the table, 0 .. MC_CONF_NKEYS - 1. */
const struct mc_conf_key *mc_config_key_info(size_t i);

/* The keys, by index 0 .. MC_CONF_NKEYS - 1: section, name and the
 * MEDCHAIN_* variable that sets it (NULL: none). Static strings. */
void mc_config_key(size_t i, const char **section, const char **key, const char **env);
/* The index of section.key, or -1. */
int mc_config_find(const char *section, const char *key);
/* Key i's effective value as text, as a file would spell it ("" unset). */
void mc_config_value(const struct mc_config *c, size_t i, char *out, size_t n);

#endif
