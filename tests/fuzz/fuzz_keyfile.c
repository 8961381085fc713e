/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: key files, sealed and unsealed, read from a real file. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "keystore.h"

static char path[64];

static void init_path(void)
{
	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/mc-fuzz-key-%ld", (long)getpid());
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mc_key *k = NULL;
	uint8_t pk[32];
	bool sealed;
	int fd;

	init_path();
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);
	(void)mc_key_peek(path, pk, &sealed, NULL);
	if (mc_key_load(path, "pw", 2, &k, NULL) == 0)
		mc_key_free(k);
	unlink(path);
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	struct mc_key *key;
	struct mc_kdf_cost fast;
	uint8_t buf[512];
	ssize_t n;
	int fd;

	if (k > 1)
		return false;
	init_path();
	unlink(path);
	if (mc_key_generate(k == 1, &key, NULL) != 0)
		return false;
	mc_kdf_min(&fast);
	if (mc_key_save(path, key, k == 1 ? "pw" : NULL, 2, &fast, NULL) != 0) {
		mc_key_free(key);
		return false;
	}
	mc_key_free(key);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	unlink(path);
	if (n > 0)
		mc_put_raw(out, buf, (size_t)n);
	return n > 0;
}
