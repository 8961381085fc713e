/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "rlp.h"

static void header(struct mc_buf *b, uint8_t short_base, uint8_t long_base, size_t n)
{
	if (n <= 55) {
		mc_put_u8(b, (uint8_t)(short_base + n));
	} else {
		uint8_t len[8];
		unsigned k = 0;

		for (size_t v = n; v; v >>= 8)
			len[k++] = (uint8_t)v;
		mc_put_u8(b, (uint8_t)(long_base + k));
		while (k)
			mc_put_u8(b, len[--k]);
	}
}

void mc_rlp_bytes(struct mc_buf *b, const void *p, size_t n)
{
	const uint8_t *s = p;

	if (n == 1 && s[0] < 0x80) {
		mc_put_u8(b, s[0]);
		return;
	}
	header(b, 0x80, 0xb7, n);
	mc_put_raw(b, p, n);
}

void mc_rlp_uint_be(struct mc_buf *b, const uint8_t *p, size_t n)
{
	while (n && *p == 0) {
		p++;
		n--;
	}
	mc_rlp_bytes(b, p, n);
}

void mc_rlp_uint(struct mc_buf *b, uint64_t v)
{
	uint8_t be[8];

	mc_be64(be, v);
	mc_rlp_uint_be(b, be, sizeof(be));
}

void mc_rlp_list(struct mc_buf *b, const struct mc_buf *payload)
{
	header(b, 0xc0, 0xf7, payload->len);
	mc_put_raw(b, payload->data, payload->len);
}
