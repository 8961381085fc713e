/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "i18n.h"
#include "text.h"
#include "util.h"

static const char *const colors_names[] = { "auto", "always", "never", NULL };
static const int colors_values[] = { 0, 1, -1 };
static const char *const verify_names[] = { "full", "recent", NULL };
static const int verify_values[] = { 0, 1 };

/* Every key of every section, in the order `config check` lists them. A
 * row: section, key, MEDCHAIN_* variable (NULL: none), type with its flags
 * and range, what a bad value is told is allowed, the default (NULL: none),
 * one line of doc, and the field it sets. medchain.conf(5) documents each
 * and examples/medchain.conf names each (test_conf.c checks both ways). */
#define F(m) offsetof(struct mc_config, m), sizeof(((struct mc_config *)0)->m)
#define TEXT(min, max) MC_CONF_TEXT, 0, min, max, NULL, NULL
#define OF(t, flags) t, flags, 0, 0, NULL, NULL
#define UINT(flags, min, max) MC_CONF_UINT, flags, min, max, NULL, NULL
#define CHOICE(name) MC_CONF_CHOICE, 0, 0, 0, name##_names, name##_values
static const struct mc_conf_key keys[] = {
	{ "node", "name", "MEDCHAIN_NODE_NAME", TEXT(1, 128), N_("1 to 128 characters of text"), NULL,
	  "the node's name (the name given to init is on the chain)", F(node_name) },
	{ "node", "datadir", NULL, OF(MC_CONF_ABSPATH, 0), N_("an absolute path"), NULL,
	  "the data dir when neither --datadir nor MEDCHAIN_DATADIR is given", F(datadir) },
	{ "node", "listen", "MEDCHAIN_LISTEN", OF(MC_CONF_HOSTPORT, 0), N_("host:port"), NULL,
	  "where serve's peer API listens", F(listen) },
	{ "node", "url", "MEDCHAIN_URL", MC_CONF_URL, MC_CONF_ONE_URL, 0, 256, NULL, NULL,
	  N_("the http:// or https:// URL other nodes reach this one at"), NULL,
	  "the URL other nodes reach this one at (default: from listen)", F(url) },
	{ "node", "peers", "MEDCHAIN_PEERS", OF(MC_CONF_URLS, MC_CONF_EMPTY_OK),
	  N_("comma-separated http:// or https:// URLs"), NULL, "nodes of the chain to start from", F(peers) },
	{ "node", "block_interval_ms", "MEDCHAIN_BLOCK_INTERVAL_MS", UINT(0, 10, 60000), N_("10 to 60000"), "50",
	  "how soon the leader tries again when txs wait and it could make no block "
	  "(it proposes as soon as no block of its own is in flight)", F(block_interval_ms) },
	{ "node", "max_block_txs", NULL, UINT(0, 1, 100000), N_("1 to 100000"), "5000", "the most txs in one block",
	  F(max_block_txs) },
	{ "node", "pool_txs", NULL, UINT(0, 100, 1000000), N_("100 to 1000000"), "200000",
	  "the most pending txs the leader holds", F(pool_txs) },
	{ "node", "pool_mib", NULL, UINT(0, 1, 4096), N_("1 to 4096"), "32",
	  "the most MiB of pending txs the leader holds", F(pool_mib) },
	{ "node", "leader_timeout_ms", NULL, UINT(MC_CONF_ZERO_OK, 1000, 600000),
	  N_("0 (manual leader changes only) or 1000 to 600000"), "10000",
	  "silence from the leader after which the next validator asks to lead", F(leader_timeout_ms) },
	{ "node", "tls_cert", NULL, OF(MC_CONF_ABSPATH, MC_CONF_READS), N_("an absolute path"), NULL,
	  "PEM certificate: the peer API is served over HTTPS", F(tls_cert) },
	{ "node", "tls_key", NULL, OF(MC_CONF_ABSPATH, MC_CONF_READS | MC_CONF_SECRET), N_("an absolute path"),
	  NULL, "PEM private key of tls_cert (mode 0600)", F(tls_key) },
	{ "node", "ca_file", NULL, OF(MC_CONF_ABSPATH, MC_CONF_READS), N_("an absolute path"), NULL,
	  "PEM certificate authority the peers' certificates chain to", F(ca_file) },
	{ "node", "metrics_listen", "MEDCHAIN_METRICS_LISTEN", OF(MC_CONF_HOSTPORT, MC_CONF_EMPTY_OK),
	  N_("host:port, or empty (no /healthz or /metrics)"), NULL,
	  "where serve answers /healthz and /metrics (empty: nowhere)", F(metrics_listen) },
	{ "anchor", "rpc_url", "MEDCHAIN_RPC_URL", OF(MC_CONF_URL, 0), N_("an http:// or https:// URL"), NULL,
	  "the public chain's JSON-RPC endpoint", F(rpc_url) },
	{ "anchor", "chain_id", "MEDCHAIN_CHAIN_ID", UINT(0, 1, UINT64_MAX), N_("a positive integer"), NULL,
	  "the public chain's EIP-155 chain id", F(chain_id) },
	{ "anchor", "key_file", "MEDCHAIN_ANCHOR_KEY_FILE", OF(MC_CONF_PATH, MC_CONF_READS | MC_CONF_SECRET),
	  N_("a path"), NULL, "the anchor key file (default: DATADIR/keys/anchor.key)", F(key_file) },
	{ "anchor", "confirmations", "MEDCHAIN_CONFIRMATIONS", UINT(0, 1, 10000), N_("1 to 10000"), "12",
	  "how deep an anchor's block must be without a finalized block", F(confirmations) },
	{ "anchor", "max_fee_gwei", "MEDCHAIN_MAX_FEE_GWEI", UINT(0, 1, 100000), N_("1 to 100000"), "100",
	  "the most an anchor pays per gas, in gwei", F(max_fee_gwei) },
	{ "anchor", "min_interval", "MEDCHAIN_MIN_INTERVAL", UINT(0, 0, 604800), N_("0 to 604800 seconds"), "0",
	  "seconds after a confirmed anchor before the next", F(min_interval) },
	{ "anchor", "bump_after", "MEDCHAIN_BUMP_AFTER", UINT(0, 1, 86400), N_("1 to 86400 seconds"), "300",
	  "seconds unmined before an anchor is re-sent with a higher fee", F(bump_after) },
	{ "anchor", "overdue_after", "MEDCHAIN_ANCHOR_OVERDUE_AFTER", UINT(0, 0, 31536000),
	  N_("0 (not checked) to 31536000 seconds"), "0", "seconds without an anchor before check warns",
	  F(overdue_after) },
	{ "anchor", "verify", "MEDCHAIN_ANCHOR_VERIFY", CHOICE(verify), N_("full or recent"), "full",
	  "what anchor verifies first: the whole chain or the blocks since the last anchor", F(verify_recent) },
	{ "console", "colors", "MEDCHAIN_COLORS", CHOICE(colors), N_("auto, always or never"), "auto",
	  "colour in the console", F(colors) },
	{ "console", "refresh_ms", "MEDCHAIN_REFRESH_MS", UINT(0, 100, 60000), N_("100 to 60000"), "1000",
	  "how often the console refreshes, in milliseconds", F(refresh_ms) },
};
#undef CHOICE
#undef UINT
#undef OF
#undef TEXT
#undef F
_Static_assert(MC_ARRAY_LEN(keys) == MC_CONF_NKEYS, "MC_CONF_NKEYS counts the keys");

const struct mc_conf_key *mc_config_key_info(size_t i)
{
	return &keys[i];
}

void mc_config_key(size_t i, const char **section, const char **key, const char **env)
{
	*section = keys[i].section;
	*key = keys[i].key;
	*env = keys[i].env;
}

int mc_config_find(const char *section, const char *key)
{
	for (size_t i = 0; i < MC_CONF_NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

static uint64_t get_uint(const struct mc_config *c, const struct mc_conf_key *k)
{
	const void *p = (const char *)c + k->off;

	return k->size == sizeof(uint64_t) ? *(const uint64_t *)p : *(const uint32_t *)p;
}

void mc_config_value(const struct mc_config *c, size_t i, char *out, size_t n)
{
	const struct mc_conf_key *k = &keys[i];
	const char *p = (const char *)c + k->off;

	switch (k->type) {
	case MC_CONF_UINT:
		if (get_uint(c, k) || k->def)
			snprintf(out, n, "%llu", (unsigned long long)get_uint(c, k));
		else
			snprintf(out, n, "%s", "");
		break;
	case MC_CONF_CHOICE:
		snprintf(out, n, "%s", "");
		for (size_t j = 0; k->choices[j]; j++)
			if (k->values[j] == *(const int *)(const void *)p)
				snprintf(out, n, "%s", k->choices[j]);
		break;
	default:
		snprintf(out, n, "%s", p);
		break;
	}
}

static void set_origin(struct mc_config *c, size_t i, enum mc_conf_source src, const char *where, int line)
{
	c->origin[i].source = src;
	c->origin[i].line = line;
	snprintf(c->origin[i].where, sizeof(c->origin[i].where), "%s", where);
}

struct load_ctx {
	struct mc_config *c;
	const char *path;
	struct mc_err *err;
	bool failed;
	FILE *f;
	int line;        /* the line inih just read (it reads one per call) */
};

static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *l = stream;
	char *r = fgets(str, num, l->f);

	if (r)
		l->line++;
	return r;
}

static bool set_str(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap || !mc_text_clean(v, n))
		return false;
	memcpy(dst, v, n + 1);
	return true;
}

static bool url_ok(const char *v)
{
	return (strncmp(v, "http://", 7) == 0 && v[7]) || (strncmp(v, "https://", 8) == 0 && v[8]);
}

/* Sets key k to v if v is allowed. */
static bool set_value(struct mc_config *c, const struct mc_conf_key *k, const char *v)
{
	char *p = (char *)c + k->off;
	size_t n = strlen(v);
	bool ok = true;

	if (k->type == MC_CONF_UINT) {
		unsigned long long x = 0;
		char *end;

		if (!(k->flags & MC_CONF_ZERO_OK) || strcmp(v, "0") != 0) {
			if (!*v || *v == '-')
				return false;
			x = strtoull(v, &end, 10);
			if (*end || x < k->min || x > k->max)
				return false;
		}
		if (k->size == sizeof(uint64_t))
			*(uint64_t *)(void *)p = x;
		else
			*(uint32_t *)(void *)p = (uint32_t)x;
		return true;
	}
	if (k->type == MC_CONF_CHOICE) {
		for (size_t j = 0; k->choices[j]; j++)
			if (strcmp(v, k->choices[j]) == 0) {
				*(int *)(void *)p = k->values[j];
				return true;
			}
		return false;
	}
	if (n < k->min || (k->max && n > k->max))
		return false;
	if (*v || !(k->flags & MC_CONF_EMPTY_OK)) {
		switch (k->type) {
		case MC_CONF_PATH:
			ok = *v != '\0';
			break;
		case MC_CONF_ABSPATH:
			ok = v[0] == '/';
			break;
		case MC_CONF_HOSTPORT:
			ok = strchr(v, ':') != NULL;
			break;
		case MC_CONF_URL:
			ok = url_ok(v) && !((k->flags & MC_CONF_ONE_URL) && strpbrk(v, " ,"));
			break;
		case MC_CONF_URLS:
			ok = url_ok(v);
			break;
		default:
			break;
		}
	}
	return ok && set_str(p, k->size, v);
}

void mc_config_defaults(struct mc_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < MC_CONF_NKEYS; i++)
		if (keys[i].def)
			(void)set_value(c, &keys[i], keys[i].def);   /* test_conf.c: each one is allowed */
}

/* Appends each key of section (or, section NULL, each section) to out:
 * what an unknown one is told is there. */
static void list_names(const char *section, char *out, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < MC_CONF_NKEYS && o < n; i++) {
		if (section ? strcmp(keys[i].section, section) != 0
			    : i > 0 && strcmp(keys[i].section, keys[i - 1].section) == 0)
			continue;
		o += (size_t)(section ? snprintf(out + o, n - o, "%s%s", o ? ", " : "", keys[i].key)
				      : snprintf(out + o, n - o, "%s[%s]", o ? ", " : "", keys[i].section));
	}
}

static int on_line(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *l = user;
	char names[1024], known[1100];
	int line = l->line;
	int i;

	if (l->failed)
		return 0;
	i = mc_config_find(section, key);
	if (i >= 0 && set_value(l->c, &keys[i], value)) {
		set_origin(l->c, (size_t)i, MC_CONF_FILE, l->path, line);
		return 1;
	}
	l->failed = true;
	if (i >= 0) {
		mc_err_set(l->err, EX_CONFIG, _("%s:%d: [%s] %s: bad value '%s' (allowed: %s)"), l->path, line,
			   section, key, value, _(keys[i].allowed));
		return 0;
	}
	list_names(section, names, sizeof(names));
	if (*names) {
		snprintf(known, sizeof(known), _("keys of [%s]: %s"), section, names);
		mc_err_set(l->err, EX_CONFIG, _("%s:%d: unknown key '%s' (%s)"), l->path, line, key, known);
	} else {
		list_names(NULL, names, sizeof(names));
		snprintf(known, sizeof(known), _("sections: %s"), names);
		mc_err_set(l->err, EX_CONFIG, _("%s:%d: unknown section [%s] (%s)"), l->path, line, section, known);
	}
	return 0;
}

int mc_config_load_file(struct mc_config *c, const char *path, bool optional, struct mc_err *err)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	int rc;

	if (!f) {
		/* absent (or under something that is not a directory): fine when
		 * optional; there but unreadable: never skipped */
		if (optional && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		return mc_err_set(err, EX_CONFIG, _("cannot read the configuration file '%s': %s"), path,
				  strerror(errno));
	}
	if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
		fclose(f);
		return mc_err_set(err, EX_CONFIG, _("cannot read the configuration file '%s': %s"), path,
				  strerror(EISDIR));
	}
	rc = mc_config_load_stream(c, path, f, err);
	if (rc == 0 && ferror(f))
		rc = mc_err_set(err, EX_CONFIG, _("cannot read the configuration file '%s': %s"), path,
				_("read error"));
	fclose(f);
	return rc;
}

int mc_config_load_stream(struct mc_config *c, const char *name, FILE *f, struct mc_err *err)
{
	struct load_ctx l = { c, name, err, false, f, 0 };
	const char *path = name;
	int rc;

	rc = ini_parse_stream(read_line, &l, on_line, &l);
	if (l.failed)
		return -1;
	if (rc != 0)
		return mc_err_set(err, EX_CONFIG, _("%s:%d: not an INI line (expected [section] or key = value)"),
				  path, rc > 0 ? rc : 0);
	return 0;
}

int mc_config_load_env(struct mc_config *c, char *const *env, struct mc_err *err)
{
	for (char *const *e = env; e && *e; e++) {
		for (size_t i = 0; i < MC_CONF_NKEYS; i++) {
			const char *var = keys[i].env;
			size_t n;

			if (!var)
				continue;
			n = strlen(var);
			if (strncmp(*e, var, n) != 0 || (*e)[n] != '=')
				continue;
			if (!set_value(c, &keys[i], *e + n + 1))
				return mc_err_set(err, EX_CONFIG, _("%s: bad value '%s' (allowed: %s)"), var,
						  *e + n + 1, _(keys[i].allowed));
			set_origin(c, i, MC_CONF_ENV, var, 0);
		}
	}
	return 0;
}
