/* SPDX-License-Identifier: Apache-2.0 */
/* codec.h - the canonical binary encoding.
 *
 * Fixed field order, big-endian integers, byte strings prefixed with a u32
 * length, fixed-size fields raw. One encoder and one decoder per type (in
 * tx.c, block.c, records.c); this module supplies the primitives.
 *
 * Writer: a growable buffer. Errors (allocation) are sticky: after one, all
 * puts are no-ops and mc_buf_failed() is true.
 *
 * Reader: bounds-checked. Errors are sticky: after the first short read or
 * over-limit length, every get returns zeros/NULL and mc_rd_ok() is false.
 * mc_rd_finish() fails unless the reader is ok AND consumed every byte.
 */
#ifndef MC_CODEC_H
#define MC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mc_buf {
	uint8_t *data;  /* owned; free with mc_buf_release() */
	size_t len;
	size_t cap;
	bool failed;
};

void mc_buf_init(struct mc_buf *b);
/* Frees the storage and re-initialises. */
void mc_buf_release(struct mc_buf *b);
/* Keeps the storage, sets len to 0 (failed is cleared too). */
void mc_buf_reset(struct mc_buf *b);
bool mc_buf_failed(const struct mc_buf *b);
/* Ensures room for n more bytes; returns false (and marks failed) on OOM. */
bool mc_buf_reserve(struct mc_buf *b, size_t n);
/* Appends n bytes and keeps a NUL after them (not counted in len), for
 * what is read as text; false (and marks failed) on OOM. */
bool mc_buf_append(struct mc_buf *b, const void *p, size_t n);
/* Appends printf-formatted text, the same way (NUL kept after it). */
void mc_buf_printf(struct mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mc_put_u8(struct mc_buf *b, uint8_t v);
void mc_put_u16(struct mc_buf *b, uint16_t v);
void mc_put_u32(struct mc_buf *b, uint32_t v);
void mc_put_u64(struct mc_buf *b, uint64_t v);
/* n raw bytes, no prefix (fixed-size fields such as keys and hashes). */
void mc_put_raw(struct mc_buf *b, const void *p, size_t n);
/* u32 length then the bytes. */
void mc_put_bytes(struct mc_buf *b, const void *p, size_t n);

struct mc_rd {
	const uint8_t *p;
	size_t left;
	bool ok;
};

void mc_rd_init(struct mc_rd *r, const void *p, size_t n);
bool mc_rd_ok(const struct mc_rd *r);
uint8_t mc_get_u8(struct mc_rd *r);
uint16_t mc_get_u16(struct mc_rd *r);
uint32_t mc_get_u32(struct mc_rd *r);
uint64_t mc_get_u64(struct mc_rd *r);
/* Copies n raw bytes into out (zeroes out on failure). */
void mc_get_raw(struct mc_rd *r, void *out, size_t n);
/* Reads a u32-prefixed byte string of at most max bytes. Returns a pointer
 * into the reader's input (borrowed, valid as long as the input) and sets
 * *n; NULL with *n = 0 on failure. A zero-length string returns a non-NULL
 * pointer. */
const uint8_t *mc_get_bytes(struct mc_rd *r, size_t max, size_t *n);
/* Borrows n raw bytes from the input without copying; NULL on failure. */
const uint8_t *mc_get_view(struct mc_rd *r, size_t n);
/* True when ok and no bytes are left. */
bool mc_rd_finish(const struct mc_rd *r);

/* Big-endian helpers for LMDB keys. */
void mc_be64(uint8_t out[8], uint64_t v);
uint64_t mc_from_be64(const uint8_t in[8]);
void mc_be32(uint8_t out[4], uint32_t v);
uint32_t mc_from_be32(const uint8_t in[4]);

#endif
