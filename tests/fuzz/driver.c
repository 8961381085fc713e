/* SPDX-License-Identifier: Apache-2.0 */
/* driver.c - runs a fuzz target without libFuzzer: every seed, then
 * mutations of them (bit flips, byte changes, truncation, insertion,
 * splicing, length-field games), deterministic for a given iteration
 * count. Files named on the command line are run as they are (to replay a
 * crash found by libFuzzer). */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
	int rounds = 1 + (int)(next() % 4);

	for (int r = 0; r < rounds; r++) {
		size_t at = n ? next() % n : 0;

		switch (next() % 7) {
		case 0:
			if (n)
				buf[at] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1:
			if (n)
				buf[at] = (uint8_t)next();
			break;
		case 2:
			n = n ? next() % n : 0;
			break;
		case 3:
			if (n < cap) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = (uint8_t)next();
				n++;
			}
			break;
		case 4:
			if (n >= 4) {
				static const uint32_t vals[] = { 0, 1, 0x7fffffff, 0xffffffff, 0x10000, 65, 33 };
				uint32_t v = vals[next() % 7];

				at = next() % (n - 3);
				buf[at] = (uint8_t)(v >> 24);
				buf[at + 1] = (uint8_t)(v >> 16);
				buf[at + 2] = (uint8_t)(v >> 8);
				buf[at + 3] = (uint8_t)v;
			}
			break;
		case 5:
			/* duplicate a chunk in place */
			if (n && n < cap) {
				size_t len = 1 + next() % (n - at);

				if (n + len > cap)
					len = cap - n;
				memmove(buf + at + len, buf + at, n - at);
				memcpy(buf + at, buf + at + len, len);
				n += len;
			}
			break;
		default:
			if (n > 1) {
				size_t from = next() % n, len = 1 + next() % (n - from);

				if (at + len > n)
					len = n - at;
				memmove(buf + at, buf + from, len);
			}
			break;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	struct mc_buf seeds[64];
	int nseeds = 0;
	long iters = 20000;
	const char *env = getenv("MC_FUZZ_ITERATIONS");
	uint8_t *buf;
	size_t cap = 1 << 20;

	if (mc_crypto_init() != 0)
		return 1;
	if (env) {
		char *end;

		iters = strtol(env, &end, 10);
		if (*end || iters < 0)
			return fprintf(stderr, "MC_FUZZ_ITERATIONS must be a count\n"), 64;
	}
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");
			static uint8_t in[1 << 20];
			size_t n;

			if (!f) {
				perror(argv[i]);
				return 1;
			}
			n = fread(in, 1, sizeof(in), f);
			fclose(f);
			LLVMFuzzerTestOneInput(in, n);
		}
		return 0;
	}
	for (; nseeds < 64; nseeds++) {
		mc_buf_init(&seeds[nseeds]);
		if (!fuzz_seed(nseeds, &seeds[nseeds]))
			break;
		LLVMFuzzerTestOneInput(seeds[nseeds].data, seeds[nseeds].len);
	}
	/* and the committed corpus: inputs taken from real outputs
	 * (tests/fuzz/corpus/<target>/, the target named by argv[0]) */
	{
		const char *src = getenv("MC_SRCDIR"), *base = strrchr(argv[0], '/');
		char dir[4096];
		DIR *d;
		struct dirent *de;

		base = base ? base + 1 : argv[0];
		if (strncmp(base, "fuzz_", 5) == 0)
			base += 5;
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", src ? src : ".", base);
		if ((d = opendir(dir)) != NULL) {
			while (nseeds < 64 && (de = readdir(d)) != NULL) {
				char path[4400];
				FILE *f;
				static uint8_t in[1 << 16];
				size_t n;

				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
				if (!(f = fopen(path, "rb")))
					continue;
				n = fread(in, 1, sizeof(in), f);
				fclose(f);
				mc_buf_init(&seeds[nseeds]);
				mc_put_raw(&seeds[nseeds], in, n);
				LLVMFuzzerTestOneInput(seeds[nseeds].data, seeds[nseeds].len);
				nseeds++;
			}
			closedir(d);
		}
	}
	LLVMFuzzerTestOneInput(NULL, 0);
	buf = malloc(cap);
	for (long i = 0; i < iters && nseeds > 0; i++) {
		struct mc_buf *s = &seeds[next() % (uint64_t)nseeds];
		size_t n = s->len < cap ? s->len : cap;

		memcpy(buf, s->data, n);
		n = mutate(buf, n, cap);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%s: %d seeds, %ld mutations, no crash\n", argv[0], nseeds, iters);
	free(buf);
	for (int i = 0; i <= nseeds && i < 64; i++)
		mc_buf_release(&seeds[i]);
	return 0;
}
