/* SPDX-License-Identifier: Apache-2.0 */
/* medchain.conf: values land where they belong; every bad line is named by
 * file, line and key, with what is allowed, as EX_CONFIG. */
#include "config.h"

#include <criterion/criterion.h>
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
