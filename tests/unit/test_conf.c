/* SPDX-License-Identifier: Apache-2.0 */
/* medchain.conf: values land where they belong; every bad line is named by
 * file, line and key, with what is allowed, as EX_CONFIG. */
#include "config.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"

static char path[64];

static void write_conf(const char *text)
{
	FILE *f;

	strcpy(path, "/tmp/mc-conf-XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, struct mc_config *c, struct mc_err *err)
{
	int rc;

	mc_config_defaults(c);
	write_conf(text);
	rc = mc_config_load_file(c, path, false, err);
	unlink(path);
	return rc;
}

Test(conf, defaults_and_a_full_file)
{
	struct mc_config c;
	struct mc_err err = { 0 };

	cr_assert_eq(load("# a comment\n; another\n[node]\nname = node1\ndatadir = /var/lib/medchain\n"
			  "listen = 127.0.0.1:7070\npeers = http://10.0.0.2:7070,http://10.0.0.3:7070\n"
			  "[anchor]\nrpc_url = http://127.0.0.1:8545\nchain_id = 31337\nkey_file = /etc/medchain/anchor.key\n"
			  "confirmations = 3\nmax_fee_gwei = 50\nmin_interval = 600\nbump_after = 90\nverify = recent\n"
			  "[console]\ncolors = never\nrefresh_ms = 500\n", &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.node_name, "node1");
	cr_assert_str_eq(c.datadir, "/var/lib/medchain");
	cr_assert_str_eq(c.rpc_url, "http://127.0.0.1:8545");
	cr_assert_eq(c.chain_id, 31337);
	cr_assert_eq(c.confirmations, 3);
	cr_assert_eq(c.max_fee_gwei, 50);
	cr_assert_eq(c.min_interval, 600);
	cr_assert_eq(c.bump_after, 90);
	cr_assert(c.verify_recent);
	cr_assert_eq(c.colors, -1);
	cr_assert_eq(c.refresh_ms, 500);
	mc_config_defaults(&c);
	cr_assert_eq(c.confirmations, 12);
	cr_assert_eq(c.bump_after, 300);
	cr_assert_eq(c.min_interval, 0);
	cr_assert(!c.verify_recent);
	cr_assert_neq(load("[anchor]\nverify = sometimes\n", &c, &err), 0);
	cr_assert(strstr(err.msg, "full or recent"), "%s", err.msg);
}

Test(conf, every_bad_line_names_file_line_key_and_what_is_allowed)
{
	static const struct { const char *text, *must[3]; } cases[] = {
		{ "[anchor]\nconfirmations = 0\n", { ":2:", "confirmations", "1 to 10000" } },
		{ "[anchor]\nrpc_url = ftp://x\n", { ":2:", "rpc_url", "http://" } },
		{ "[anchor]\nchain_id = -5\n", { ":2:", "chain_id", "positive" } },
		{ "[node]\nname = n\nfrobnicate = 1\n", { ":3:", "frobnicate", "name, datadir" } },
		{ "[nodes]\nname = n\n", { ":2:", "[nodes]", "[node]" } },
		{ "[console]\ncolors = purple\n", { ":2:", "colors", "auto, always or never" } },
		{ "[node]\ndatadir = relative/path\n", { ":2:", "datadir", "absolute" } },
		{ "[node]\nthis is not ini\n", { ":2:", "INI", "key = value" } },
	};

	for (size_t i = 0; i < MC_ARRAY_LEN(cases); i++) {
		struct mc_config c;
		struct mc_err err = { 0 };

		cr_assert_eq(load(cases[i].text, &c, &err), -1, "case %zu", i);
		cr_assert_eq(err.code, EX_CONFIG, "case %zu", i);
		cr_assert_not_null(strstr(err.msg, "/tmp/mc-conf-"), "case %zu names the file: %s", i, err.msg);
		for (int k = 0; k < 3; k++)
			cr_assert_not_null(strstr(err.msg, cases[i].must[k]), "case %zu: '%s' not in: %s", i,
					   cases[i].must[k], err.msg);
	}
}

Test(conf, a_missing_file_is_fine_only_when_optional)
{
	struct mc_config c;
	struct mc_err err = { 0 };

	mc_config_defaults(&c);
	cr_assert_eq(mc_config_load_file(&c, "/nonexistent/medchain.conf", true, &err), 0);
	cr_assert_eq(mc_config_load_file(&c, "/nonexistent/medchain.conf", false, &err), -1);
	cr_assert_eq(err.code, EX_CONFIG);
}

Test(conf, environment_variables_override_and_are_checked)
{
	struct mc_config c;
	struct mc_err err = { 0 };
	char g0[] = "MEDCHAIN_RPC_URL=http://127.0.0.1:9", g1[] = "MEDCHAIN_CONFIRMATIONS=2", g2[] = "OTHER=1";
	char b0[] = "MEDCHAIN_MAX_FEE_GWEI=lots";
	char *good[] = { g0, g1, g2, NULL };
	char *bad[] = { b0, NULL };

	mc_config_defaults(&c);
	cr_assert_eq(mc_config_load_env(&c, good, &err), 0);
	cr_assert_str_eq(c.rpc_url, "http://127.0.0.1:9");
	cr_assert_eq(c.confirmations, 2);
	cr_assert_eq(mc_config_load_env(&c, bad, &err), -1);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, "MEDCHAIN_MAX_FEE_GWEI"));
}

Test(conf, a_directory_in_place_of_an_optional_file_is_an_error_naming_it)
{
	struct mc_config c;
	struct mc_err err = { 0 };
	char dir[] = "/tmp/mc-conf-dir-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	mc_config_defaults(&c);
	cr_assert_eq(mc_config_load_file(&c, dir, true, &err), -1);
	rmdir(dir);
	cr_assert_eq(err.code, EX_CONFIG);
	cr_assert_not_null(strstr(err.msg, dir), "%s", err.msg);
}

Test(conf, each_key_remembers_the_file_line_or_variable_that_set_it)
{
	struct mc_config c;
	struct mc_err err = { 0 };
	char e0[] = "MEDCHAIN_LISTEN=127.0.0.1:9";
	char *env[] = { e0, NULL };
	int name = mc_config_find("node", "name"), listen = mc_config_find("node", "listen");
	int conf = mc_config_find("anchor", "confirmations");
	char v[64];

	cr_assert(name >= 0 && listen >= 0 && conf >= 0);
	cr_assert_eq(mc_config_find("node", "nonsense"), -1);
	cr_assert_eq(load("[node]\n\nname = n1\nlisten = 127.0.0.1:1\n", &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.origin[name].source, MC_CONF_FILE);
	cr_assert_eq(c.origin[name].line, 3);
	cr_assert_str_eq(c.origin[name].where, path);
	cr_assert_eq(mc_config_load_env(&c, env, &err), 0);
	cr_assert_eq(c.origin[listen].source, MC_CONF_ENV);
	cr_assert_str_eq(c.origin[listen].where, "MEDCHAIN_LISTEN");
	cr_assert_eq(c.origin[conf].source, MC_CONF_DEFAULT);
	mc_config_value(&c, (size_t)listen, v, sizeof(v));
	cr_assert_str_eq(v, "127.0.0.1:9");
	mc_config_value(&c, (size_t)conf, v, sizeof(v));
	cr_assert_str_eq(v, "12");
	for (size_t i = 0; i < MC_CONF_NKEYS; i++) {
		const char *s, *k, *env_name;

		mc_config_key(i, &s, &k, &env_name);
		cr_assert_eq(mc_config_find(s, k), (int)i, "%s.%s", s, k);
	}
}

/* The names a document gives: "section.key" for a key, or a MEDCHAIN_*
 * variable. */
struct names {
	char name[64][80];
	char text[64][2048];          /* the man page: the entry's text */
	size_t n;
};

static void add_name(struct names *ns, const char *section, const char *key, size_t keylen)
{
	cr_assert_lt(ns->n, 64);
	snprintf(ns->name[ns->n++], sizeof(ns->name[0]), "%s%s%.*s", section, *section ? "." : "", (int)keylen,
		 key);
}

static bool has_name(const struct names *ns, const char *name)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->name[i], name) == 0)
			return true;
	return false;
}

static FILE *open_source(const char *rel)
{
	const char *src = getenv("MC_SRCDIR");
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", src ? src : ".", rel);
	f = fopen(p, "r");
	cr_assert_not_null(f, "%s", p);
	return f;
}

/* medchain.conf(5): a key is a .B line after .TP under .SH "[section]" (one
 * entry may name several, comma-separated); the variables are the
 * \fBMEDCHAIN_...\fR of .SH ENVIRONMENT. */
static void man_names(struct names *keys, struct names *vars)
{
	FILE *f = open_source("docs/medchain.conf.5.in");
	char line[1024], section[32] = "";
	bool env = false, tp = false;
	size_t entry = 0;             /* the first key of the current entry */

	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		for (size_t i = entry; line[0] != '.' && i < keys->n; i++) {
			size_t o = strlen(keys->text[i]);

			snprintf(keys->text[i] + o, sizeof(keys->text[i]) - o, " %s", line);
		}
		if (strncmp(line, ".TP", 3) == 0 || strncmp(line, ".SH", 3) == 0)
			entry = keys->n;
		if (strncmp(line, ".SH ", 4) == 0) {
			section[0] = '\0';
			env = strcmp(line, ".SH ENVIRONMENT") == 0;
			sscanf(line, ".SH \"[%31[a-z]]\"", section);
		} else if (*section && tp && strncmp(line, ".B ", 3) == 0) {
			for (const char *p = line + 3; *p; p += strspn(p, ", ")) {
				size_t n = strcspn(p, ", ");

				add_name(keys, section, p, n);
				p += n;
			}
		} else if (env) {
			for (const char *p = line; (p = strstr(p, "\\fBMEDCHAIN_")); p += 3)
				add_name(vars, "", p + 3, strcspn(p + 3, "\\"));
		}
		tp = strcmp(line, ".TP") == 0;
	}
	fclose(f);
}

/* examples/medchain.conf: "key = value" or "#key = value" under [section]. */
static void example_names(struct names *keys)
{
	FILE *f = open_source("examples/medchain.conf");
	char line[1024], section[32] = "";

	while (fgets(line, sizeof(line), f)) {
		const char *p = line + (line[0] == '#');
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

		if (sscanf(line, "[%31[a-z]]", section) == 1)
			continue;
		if (n && strncmp(p + n, " = ", 3) == 0)
			add_name(keys, section, p, n);
	}
	fclose(f);
}

/* The man page's entry for name gives def as its default ("Default: 50."
 * or "default 32)"). */
static bool man_says_default(const struct names *man, const char *name, const char *def)
{
	for (size_t i = 0; i < man->n; i++) {
		const char *p = man->text[i];

		if (strcmp(man->name[i], name) != 0)
			continue;
		while ((p = strcasestr(p, "default"))) {
			p += strlen("default");
			p += strspn(p, ": ");
			if (strncmp(p, def, strlen(def)) == 0 && !isalnum((unsigned char)p[strlen(def)]))
				return true;
		}
	}
	return false;
}

Test(conf, every_key_of_the_table_is_in_the_man_page_with_its_default_and_in_the_example_and_no_other)
{
	struct names man = { 0 }, vars = { 0 }, example = { 0 };
	char name[80];

	man_names(&man, &vars);
	example_names(&example);
	cr_assert_gt(man.n, 0);
	cr_assert_gt(vars.n, 0);
	for (size_t i = 0; i < MC_CONF_NKEYS; i++) {
		const struct mc_conf_key *k = mc_config_key_info(i);

		snprintf(name, sizeof(name), "%s.%s", k->section, k->key);
		cr_expect(has_name(&man, name), "[%s] %s is not in medchain.conf(5)", k->section, k->key);
		cr_expect(has_name(&example, name), "[%s] %s is not in examples/medchain.conf", k->section, k->key);
		cr_expect(!k->env || has_name(&vars, k->env), "%s is not in medchain.conf(5)'s ENVIRONMENT", k->env);
		cr_expect(!k->def || man_says_default(&man, name, k->def), "medchain.conf(5): [%s] %s: Default: %s",
			  k->section, k->key, k->def);
	}
	for (size_t i = 0; i < man.n; i++) {
		char section[32], key[48];

		cr_assert_eq(sscanf(man.name[i], "%31[^.].%47s", section, key), 2);
		cr_expect_geq(mc_config_find(section, key), 0, "medchain.conf(5) names %s, not a key", man.name[i]);
	}
	for (size_t i = 0; i < example.n; i++) {
		char section[32], key[48];

		cr_assert_eq(sscanf(example.name[i], "%31[^.].%47s", section, key), 2);
		cr_expect_geq(mc_config_find(section, key), 0, "examples/medchain.conf names %s, not a key",
			      example.name[i]);
	}
	for (size_t i = 0; i < vars.n; i++) {
		bool found = false;

		for (size_t j = 0; j < MC_CONF_NKEYS; j++)
			found |= mc_config_key_info(j)->env && strcmp(mc_config_key_info(j)->env, vars.name[i]) == 0;
		cr_expect(found, "medchain.conf(5) names %s, which sets no key", vars.name[i]);
	}
}

Test(conf, each_default_in_the_table_is_allowed_and_is_what_a_fresh_config_holds)
{
	struct mc_config c, d;
	struct mc_err err = { 0 };
	char v[MC_CONF_STR];

	mc_config_defaults(&c);
	for (size_t i = 0; i < MC_CONF_NKEYS; i++) {
		const struct mc_conf_key *k = mc_config_key_info(i);
		char text[128];

		cr_assert_not_null(k->allowed, "%s", k->key);
		cr_assert(k->doc && *k->doc && !strchr(k->doc, '\n'), "[%s] %s: one line of doc", k->section, k->key);
		mc_config_value(&c, i, v, sizeof(v));
		cr_expect_str_eq(v, k->def ? k->def : "", "[%s] %s", k->section, k->key);
		if (!k->def)
			continue;
		/* the default, written in a file, is accepted and changes nothing */
		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", k->section, k->key, k->def);
		cr_assert_eq(load(text, &d, &err), 0, "%s", err.msg);
		memcpy(d.origin, c.origin, sizeof(c.origin));
		cr_expect_eq(memcmp(&c, &d, sizeof(c)), 0, "[%s] %s", k->section, k->key);
	}
}
