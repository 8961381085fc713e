/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: medchain.conf (the INI reader and every key's check). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_config c;
	struct mc_err err = { 0 };
	FILE *f;

	fuzz_init();
	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	mc_config_defaults(&c);
	(void)mc_config_load_stream(&c, "fuzz.conf", f, &err);
	fclose(f);
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const char *const seeds[] = {
		"[node]\nname = n1\ndatadir = /var/lib/medchain\nlisten = 127.0.0.1:7070\n"
		"peers = http://10.0.0.2:7070,https://b.example:7070\n"
		"[anchor]\nrpc_url = http://127.0.0.1:8545\nchain_id = 31337\nconfirmations = 12\n"
		"max_fee_gwei = 100\nmin_interval = 0\nbump_after = 300\nverify = recent\n"
		"[console]\ncolors = never\nrefresh_ms = 500\n",
		"; comment\n# another\n[anchor]\nkey_file = /etc/medchain/anchor.key\n",
	};

	if (k >= 2)
		return false;
	mc_put_raw(out, seeds[k], strlen(seeds[k]));
	return true;
}
