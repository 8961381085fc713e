/* SPDX-License-Identifier: Apache-2.0 */
/* codec.c - the canonical binary encoding's primitives (see codec.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

void mc_buf_init(struct mc_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void mc_buf_release(struct mc_buf *b)
{
	free(b->data);
	mc_buf_init(b);
}

void mc_buf_reset(struct mc_buf *b)
{
	b->len = 0;
	b->failed = false;
}

bool mc_buf_failed(const struct mc_buf *b)
{
	return b->failed;
}

bool mc_buf_reserve(struct mc_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (b->failed)
		return false;
	if (n > SIZE_MAX - b->len) {
		b->failed = true;
		return false;
	}
	need = b->len + n;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void mc_put_raw(struct mc_buf *b, const void *p, size_t n)
{
	if (!mc_buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

bool mc_buf_append(struct mc_buf *b, const void *p, size_t n)
{
	if (n == SIZE_MAX || !mc_buf_reserve(b, n + 1))
		return false;
	mc_put_raw(b, p, n);
	b->data[b->len] = '\0';
	return true;
}

void mc_buf_printf(struct mc_buf *b, const char *fmt, ...)
{
	/* into the room there is; when it does not fit, once more after
	 * growing to what vsnprintf said it needs */
	for (int tries = 0; tries < 2 && !b->failed; tries++) {
		size_t room = b->cap - b->len;
		va_list ap;
		int n;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? (char *)b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		mc_buf_reserve(b, (size_t)n + 1);
	}
}

void mc_put_u8(struct mc_buf *b, uint8_t v)
{
	mc_put_raw(b, &v, 1);
}

void mc_put_u16(struct mc_buf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	mc_put_raw(b, t, 2);
}

void mc_put_u32(struct mc_buf *b, uint32_t v)
{
	uint8_t t[4];

	mc_be32(t, v);
	mc_put_raw(b, t, 4);
}

void mc_put_u64(struct mc_buf *b, uint64_t v)
{
	uint8_t t[8];

	mc_be64(t, v);
	mc_put_raw(b, t, 8);
}

void mc_put_bytes(struct mc_buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = true;
		return;
	}
	mc_put_u32(b, (uint32_t)n);
	mc_put_raw(b, p, n);
}

void mc_rd_init(struct mc_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->ok = p != NULL || n == 0;
}

bool mc_rd_ok(const struct mc_rd *r)
{
	return r->ok;
}

const uint8_t *mc_get_view(struct mc_rd *r, size_t n)
{
	static const uint8_t empty[1];
	const uint8_t *p;

	if (!r->ok || n > r->left) {
		r->ok = false;
		return NULL;
	}
	if (n == 0)  /* success must never look like failure, even on empty input */
		return r->p ? r->p : empty;
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

void mc_get_raw(struct mc_rd *r, void *out, size_t n)
{
	const uint8_t *p = mc_get_view(r, n);

	if (p)
		memcpy(out, p, n);
	else if (n)
		memset(out, 0, n);
}

uint8_t mc_get_u8(struct mc_rd *r)
{
	const uint8_t *p = mc_get_view(r, 1);

	return p ? p[0] : 0;
}

uint16_t mc_get_u16(struct mc_rd *r)
{
	const uint8_t *p = mc_get_view(r, 2);

	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t mc_get_u32(struct mc_rd *r)
{
	const uint8_t *p = mc_get_view(r, 4);

	return p ? mc_from_be32(p) : 0;
}

uint64_t mc_get_u64(struct mc_rd *r)
{
	const uint8_t *p = mc_get_view(r, 8);

	return p ? mc_from_be64(p) : 0;
}

const uint8_t *mc_get_bytes(struct mc_rd *r, size_t max, size_t *n)
{
	uint32_t len = mc_get_u32(r);
	const uint8_t *p;

	*n = 0;
	if (!r->ok)
		return NULL;
	/* Both comparisons are done in size_t (len is widened, never summed),
	 * so a hostile 0xffffffff cannot wrap anything. */
	if ((size_t)len > max || (size_t)len > r->left) {
		r->ok = false;
		return NULL;
	}
	p = mc_get_view(r, len);
	if (!p)
		return NULL;
	*n = len;
	return p;
}

bool mc_rd_finish(const struct mc_rd *r)
{
	return r->ok && r->left == 0;
}

void mc_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t mc_from_be64(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void mc_be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

uint32_t mc_from_be32(const uint8_t in[4])
{
	return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
}
