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

enum kind { K_STR, K_U32, K_U64, K_COLORS, K_VERIFY };

/* Every key: what `config check` lists, and the origin slot apply() fills. */
static const struct {
	const char *section, *key, *env;
	enum kind kind;
	size_t off;
} keys[MC_CONF_NKEYS] = {
#define F(m) offsetof(struct mc_config, m)
	{ "node", "name", "MEDCHAIN_NODE_NAME", K_STR, F(node_name) },
	{ "node", "datadir", NULL, K_STR, F(datadir) },
	{ "node", "listen", "MEDCHAIN_LISTEN", K_STR, F(listen) },
	{ "node", "url", "MEDCHAIN_URL", K_STR, F(url) },
	{ "node", "peers", "MEDCHAIN_PEERS", K_STR, F(peers) },
	{ "node", "block_interval_ms", "MEDCHAIN_BLOCK_INTERVAL_MS", K_U32, F(block_interval_ms) },
	{ "node", "max_block_txs", NULL, K_U32, F(max_block_txs) },
	{ "node", "pool_txs", NULL, K_U32, F(pool_txs) },
	{ "node", "pool_mib", NULL, K_U32, F(pool_mib) },
	{ "node", "leader_timeout_ms", NULL, K_U32, F(leader_timeout_ms) },
	{ "node", "tls_cert", NULL, K_STR, F(tls_cert) },
	{ "node", "tls_key", NULL, K_STR, F(tls_key) },
	{ "node", "ca_file", NULL, K_STR, F(ca_file) },
	{ "node", "metrics_listen", "MEDCHAIN_METRICS_LISTEN", K_STR, F(metrics_listen) },
	{ "anchor", "rpc_url", "MEDCHAIN_RPC_URL", K_STR, F(rpc_url) },
	{ "anchor", "chain_id", "MEDCHAIN_CHAIN_ID", K_U64, F(chain_id) },
	{ "anchor", "key_file", "MEDCHAIN_ANCHOR_KEY_FILE", K_STR, F(key_file) },
	{ "anchor", "confirmations", "MEDCHAIN_CONFIRMATIONS", K_U32, F(confirmations) },
	{ "anchor", "max_fee_gwei", "MEDCHAIN_MAX_FEE_GWEI", K_U32, F(max_fee_gwei) },
	{ "anchor", "min_interval", "MEDCHAIN_MIN_INTERVAL", K_U32, F(min_interval) },
	{ "anchor", "bump_after", "MEDCHAIN_BUMP_AFTER", K_U32, F(bump_after) },
	{ "anchor", "overdue_after", "MEDCHAIN_ANCHOR_OVERDUE_AFTER", K_U32, F(overdue_after) },
	{ "anchor", "verify", "MEDCHAIN_ANCHOR_VERIFY", K_VERIFY, F(verify_recent) },
	{ "console", "colors", "MEDCHAIN_COLORS", K_COLORS, F(colors) },
	{ "console", "refresh_ms", "MEDCHAIN_REFRESH_MS", K_U32, F(refresh_ms) },
#undef F
};

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

void mc_config_value(const struct mc_config *c, size_t i, char *out, size_t n)
{
	const char *p = (const char *)c + keys[i].off;

	switch (keys[i].kind) {
	case K_STR:
		snprintf(out, n, "%s", p);
		break;
	case K_U32:
		snprintf(out, n, "%lu", (unsigned long)*(const uint32_t *)(const void *)p);
		break;
	case K_U64:
		if (*(const uint64_t *)(const void *)p)
			snprintf(out, n, "%llu", (unsigned long long)*(const uint64_t *)(const void *)p);
		else
			snprintf(out, n, "%s", "");
		break;
	case K_COLORS:
		snprintf(out, n, "%s", c->colors > 0 ? "always" : c->colors < 0 ? "never" : "auto");
		break;
	case K_VERIFY:
		snprintf(out, n, "%s", c->verify_recent ? "recent" : "full");
		break;
	}
}

static void set_origin(struct mc_config *c, const char *section, const char *key, enum mc_conf_source src,
		       const char *where, int line)
{
	int i = mc_config_find(section, key);

	if (i < 0)
		return;
	c->origin[i].source = src;
	c->origin[i].line = line;
	snprintf(c->origin[i].where, sizeof(c->origin[i].where), "%s", where);
}

void mc_config_defaults(struct mc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->confirmations = 12;
	c->max_fee_gwei = 100;
	c->min_interval = 0;
	c->bump_after = 300;
	c->refresh_ms = 1000;
	c->block_interval_ms = 50;
	c->max_block_txs = 5000;
	c->pool_txs = 200000;
	c->pool_mib = 32;
	c->leader_timeout_ms = 10000;
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

static bool set_u32(uint32_t *dst, const char *v, uint32_t min, uint32_t max)
{
	char *end;
	unsigned long long x;

	if (!*v || *v == '-')
		return false;
	x = strtoull(v, &end, 10);
	if (*end || x < min || x > max)
		return false;
	*dst = (uint32_t)x;
	return true;
}

static bool url_ok(const char *v)
{
	return (strncmp(v, "http://", 7) == 0 && v[7]) || (strncmp(v, "https://", 8) == 0 && v[8]);
}

/* Applies one key; on a bad value says what is allowed. */
static int apply(struct mc_config *c, const char *section, const char *key, const char *v,
		 const char **allowed)
{
	if (strcmp(section, "node") == 0) {
		if (strcmp(key, "name") == 0)
			return (*allowed = _("1 to 128 characters of text"),
				strlen(v) >= 1 && strlen(v) <= 128 && set_str(c->node_name, sizeof(c->node_name), v));
		if (strcmp(key, "datadir") == 0)
			return (*allowed = _("an absolute path"), v[0] == '/' && set_str(c->datadir, sizeof(c->datadir), v));
		if (strcmp(key, "listen") == 0)
			return (*allowed = _("host:port"), strchr(v, ':') != NULL && set_str(c->listen, sizeof(c->listen), v));
		if (strcmp(key, "url") == 0)
			return (*allowed = _("the http:// or https:// URL other nodes reach this one at"),
				url_ok(v) && !strpbrk(v, " ,") && strlen(v) <= 256 && set_str(c->url, sizeof(c->url), v));
		if (strcmp(key, "peers") == 0)
			return (*allowed = _("comma-separated http:// or https:// URLs"),
				(!*v || url_ok(v)) && set_str(c->peers, sizeof(c->peers), v));
		if (strcmp(key, "block_interval_ms") == 0)
			return (*allowed = _("10 to 60000"), set_u32(&c->block_interval_ms, v, 10, 60000));
		if (strcmp(key, "max_block_txs") == 0)
			return (*allowed = _("1 to 100000"), set_u32(&c->max_block_txs, v, 1, 100000));
		if (strcmp(key, "pool_txs") == 0)
			return (*allowed = _("100 to 1000000"), set_u32(&c->pool_txs, v, 100, 1000000));
		if (strcmp(key, "pool_mib") == 0)
			return (*allowed = _("1 to 4096"), set_u32(&c->pool_mib, v, 1, 4096));
		if (strcmp(key, "leader_timeout_ms") == 0)
			return (*allowed = _("0 (manual leader changes only) or 1000 to 600000"),
				(strcmp(v, "0") == 0 && set_u32(&c->leader_timeout_ms, v, 0, 0)) ||
				set_u32(&c->leader_timeout_ms, v, 1000, 600000));
		if (strcmp(key, "tls_cert") == 0)
			return (*allowed = _("an absolute path"), v[0] == '/' && set_str(c->tls_cert, sizeof(c->tls_cert), v));
		if (strcmp(key, "tls_key") == 0)
			return (*allowed = _("an absolute path"), v[0] == '/' && set_str(c->tls_key, sizeof(c->tls_key), v));
		if (strcmp(key, "ca_file") == 0)
			return (*allowed = _("an absolute path"), v[0] == '/' && set_str(c->ca_file, sizeof(c->ca_file), v));
		if (strcmp(key, "metrics_listen") == 0)
			return (*allowed = _("host:port, or empty (no /healthz or /metrics)"),
				(!*v || strchr(v, ':') != NULL) && set_str(c->metrics_listen, sizeof(c->metrics_listen), v));
		*allowed = _("keys of [node]: name, datadir, listen, url, peers, block_interval_ms, max_block_txs, pool_txs, pool_mib, leader_timeout_ms, tls_cert, tls_key, ca_file, metrics_listen");
		return -1;
	}
	if (strcmp(section, "anchor") == 0) {
		if (strcmp(key, "rpc_url") == 0)
			return (*allowed = _("an http:// or https:// URL"), url_ok(v) && set_str(c->rpc_url, sizeof(c->rpc_url), v));
		if (strcmp(key, "chain_id") == 0) {
			char *end;
			unsigned long long x = strtoull(v, &end, 10);

			*allowed = _("a positive integer");
			if (!*v || *end || x == 0 || *v == '-')
				return 0;
			c->chain_id = x;
			return 1;
		}
		if (strcmp(key, "key_file") == 0)
			return (*allowed = _("a path"), *v && set_str(c->key_file, sizeof(c->key_file), v));
		if (strcmp(key, "confirmations") == 0)
			return (*allowed = _("1 to 10000"), set_u32(&c->confirmations, v, 1, 10000));
		if (strcmp(key, "max_fee_gwei") == 0)
			return (*allowed = _("1 to 100000"), set_u32(&c->max_fee_gwei, v, 1, 100000));
		if (strcmp(key, "min_interval") == 0)
			return (*allowed = _("0 to 604800 seconds"), set_u32(&c->min_interval, v, 0, 604800));
		if (strcmp(key, "verify") == 0) {
			*allowed = _("full or recent");
			if (strcmp(v, "full") == 0)
				c->verify_recent = false;
			else if (strcmp(v, "recent") == 0)
				c->verify_recent = true;
			else
				return 0;
			return 1;
		}
		if (strcmp(key, "bump_after") == 0)
			return (*allowed = _("1 to 86400 seconds"), set_u32(&c->bump_after, v, 1, 86400));
		if (strcmp(key, "overdue_after") == 0)
			return (*allowed = _("0 (not checked) to 31536000 seconds"),
				set_u32(&c->overdue_after, v, 0, 31536000));
		*allowed = _("keys of [anchor]: rpc_url, chain_id, key_file, confirmations, max_fee_gwei, min_interval, bump_after, overdue_after, verify");
		return -1;
	}
	if (strcmp(section, "console") == 0) {
		if (strcmp(key, "colors") == 0) {
			*allowed = _("auto, always or never");
			if (strcmp(v, "auto") == 0)
				c->colors = 0;
			else if (strcmp(v, "always") == 0)
				c->colors = 1;
			else if (strcmp(v, "never") == 0)
				c->colors = -1;
			else
				return 0;
			return 1;
		}
		if (strcmp(key, "refresh_ms") == 0)
			return (*allowed = _("100 to 60000"), set_u32(&c->refresh_ms, v, 100, 60000));
		*allowed = _("keys of [console]: colors, refresh_ms");
		return -1;
	}
	*allowed = _("sections: [node], [anchor], [console]");
	return -2;
}

static int on_line(void *user, const char *section, const char *key, const char *value)
{
	struct load_ctx *l = user;
	const char *allowed = "";
	int line = l->line;
	int rc;

	if (l->failed)
		return 0;
	rc = apply(l->c, section, key, value, &allowed);
	if (rc == 1) {
		set_origin(l->c, section, key, MC_CONF_FILE, l->path, line);
		return 1;
	}
	l->failed = true;
	if (rc == -2)
		mc_err_set(l->err, EX_CONFIG, _("%s:%d: unknown section [%s] (%s)"), l->path, line, section, allowed);
	else if (rc == -1)
		mc_err_set(l->err, EX_CONFIG, _("%s:%d: unknown key '%s' (%s)"), l->path, line, key, allowed);
	else
		mc_err_set(l->err, EX_CONFIG, _("%s:%d: [%s] %s: bad value '%s' (allowed: %s)"), l->path, line,
			   section, key, value, allowed);
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
			const char *var = keys[i].env, *allowed = "";
			size_t n;

			if (!var)
				continue;
			n = strlen(var);
			if (strncmp(*e, var, n) != 0 || (*e)[n] != '=')
				continue;
			if (apply(c, keys[i].section, keys[i].key, *e + n + 1, &allowed) != 1)
				return mc_err_set(err, EX_CONFIG, _("%s: bad value '%s' (allowed: %s)"), var,
						  *e + n + 1, allowed);
			set_origin(c, keys[i].section, keys[i].key, MC_CONF_ENV, var, 0);
		}
	}
	return 0;
}
