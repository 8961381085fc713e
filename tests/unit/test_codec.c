/* SPDX-License-Identifier: Apache-2.0 */
/* The canonical codec: round trips, big-endian layout, and a reader that
 * refuses every truncation, over-limit or oversized length and trailing
 * bytes, with sticky errors. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "codec.h"

Test(codec, empty_reader_finishes_and_refuses_any_read)
{
	struct mc_rd r;

	mc_rd_init(&r, NULL, 0);
	cr_assert(mc_rd_finish(&r));
	cr_assert_eq(mc_get_u8(&r), 0);
	cr_assert_not(mc_rd_ok(&r));
	cr_assert_not(mc_rd_finish(&r));
}

Test(codec, zero_length_view_of_empty_input_succeeds_with_non_null)
{
	struct mc_rd r;

	mc_rd_init(&r, NULL, 0);
	cr_assert_not_null(mc_get_view(&r, 0), "success must not look like failure");
	cr_assert(mc_rd_ok(&r));
	cr_assert(mc_rd_finish(&r));
}

Test(codec, huge_length_with_max_uint32_limit_and_short_input_is_refused)
{
	/* 0xffffffff is within the limit here: only the remaining-bytes check
	 * stands between it and an out-of-bounds view. */
	uint8_t in[6] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
	struct mc_rd r;
	size_t n = 99;

	mc_rd_init(&r, in, sizeof(in));
	cr_assert_null(mc_get_bytes(&r, UINT32_MAX, &n));
	cr_assert_eq(n, 0);
	cr_assert_not(mc_rd_ok(&r));
	cr_assert_not(mc_rd_finish(&r));
}

Test(codec, length_one_past_the_remaining_bytes_is_refused)
{
	uint8_t in[7] = { 0, 0, 0, 3, 'a', 'b' };
	struct mc_rd r;
	size_t n;

	mc_rd_init(&r, in, 6);
	cr_assert_null(mc_get_bytes(&r, 100, &n));
	cr_assert_not(mc_rd_ok(&r));
}

Test(codec, failed_reads_zero_their_outputs)
{
	uint8_t in[2] = { 0xff, 0xff }, out[4] = { 9, 9, 9, 9 };
	struct mc_rd r;

	mc_rd_init(&r, in, sizeof(in));
	mc_get_raw(&r, out, 4);
	cr_assert_arr_eq(out, ((uint8_t[4]){ 0 }), 4);
	cr_assert_eq(mc_get_u8(&r), 0);
	cr_assert_eq(mc_get_u16(&r), 0);
	cr_assert_eq(mc_get_u32(&r), 0);
	cr_assert_eq(mc_get_u64(&r), 0);
	cr_assert_null(mc_get_view(&r, 0), "even an empty view fails once failed");
	mc_get_raw(&r, out, 0);
}

#if SIZE_MAX > UINT32_MAX
Test(codec, put_bytes_longer_than_a_u32_length_marks_the_writer_failed)
{
	struct mc_buf b;

	mc_buf_init(&b);
	/* The length is refused before the pointer is touched. */
	mc_put_bytes(&b, "", (size_t)UINT32_MAX + 1);
	cr_assert(mc_buf_failed(&b));
	cr_assert_eq(b.len, 0);
	mc_buf_release(&b);
}
#endif

Test(codec, writer_errors_are_sticky_until_reset)
{
	struct mc_buf b;

	mc_buf_init(&b);
	cr_assert(mc_buf_reserve(&b, 0));
	mc_put_u32(&b, 1);
	cr_assert_not(mc_buf_reserve(&b, SIZE_MAX - 2), "len + n would overflow");
	mc_put_u8(&b, 1);
	mc_put_u16(&b, 1);
	mc_put_u32(&b, 1);
	mc_put_u64(&b, 1);
	mc_put_raw(&b, "x", 1);
	mc_put_bytes(&b, "x", 1);
	cr_assert_eq(b.len, 4, "every put after a failure is a no-op");
	cr_assert_not(mc_buf_reserve(&b, 1), "reserve is sticky too");
	mc_buf_reset(&b);
	cr_assert_not(mc_buf_failed(&b));
	cr_assert_eq(b.len, 0);
	mc_put_u8(&b, 7);
	cr_assert_eq(b.len, 1);
	cr_assert_eq(b.data[0], 7);
	mc_buf_release(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_not(mc_buf_failed(&b));
}

Test(codec, extreme_integer_values_round_trip)
{
	struct mc_buf b;
	struct mc_rd r;

	mc_buf_init(&b);
	mc_put_u8(&b, 0);
	mc_put_u8(&b, UINT8_MAX);
	mc_put_u16(&b, 0);
	mc_put_u16(&b, UINT16_MAX);
	mc_put_u32(&b, 0);
	mc_put_u32(&b, UINT32_MAX);
	mc_put_u64(&b, 0);
	mc_put_u64(&b, UINT64_MAX);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_eq(mc_get_u8(&r), 0);
	cr_assert_eq(mc_get_u8(&r), UINT8_MAX);
	cr_assert_eq(mc_get_u16(&r), 0);
	cr_assert_eq(mc_get_u16(&r), UINT16_MAX);
	cr_assert_eq(mc_get_u32(&r), 0);
	cr_assert_eq(mc_get_u32(&r), UINT32_MAX);
	cr_assert_eq(mc_get_u64(&r), 0);
	cr_assert_eq(mc_get_u64(&r), UINT64_MAX);
	cr_assert(mc_rd_finish(&r));
	mc_buf_release(&b);
}

Test(codec, raw_fields_and_views_round_trip_without_prefix)
{
	struct mc_buf b;
	struct mc_rd r;
	uint8_t key[32], back[32];
	const uint8_t *v;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7);
	mc_buf_init(&b);
	mc_put_raw(&b, key, 32);
	mc_put_raw(&b, "tail", 4);
	mc_put_raw(&b, NULL, 0);
	cr_assert_eq(b.len, 36, "raw fields carry no length prefix");
	mc_rd_init(&r, b.data, b.len);
	mc_get_raw(&r, back, 32);
	cr_assert_arr_eq(back, key, 32);
	v = mc_get_view(&r, 4);
	cr_assert_eq(v, b.data + 32, "a view borrows the input");
	cr_assert_arr_eq(v, "tail", 4);
	cr_assert(mc_rd_finish(&r));
	mc_buf_release(&b);
}

Test(codec, big_endian_key_helpers_round_trip)
{
	uint8_t k8[8], k4[4];
	static const uint8_t w8[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	static const uint8_t w4[4] = { 0xfe, 0xdc, 0xba, 0x98 };

	mc_be64(k8, 0x0123456789abcdefULL);
	cr_assert_arr_eq(k8, w8, 8);
	cr_assert_eq(mc_from_be64(k8), 0x0123456789abcdefULL);
	mc_be32(k4, 0xfedcba98U);
	cr_assert_arr_eq(k4, w4, 4);
	cr_assert_eq(mc_from_be32(k4), 0xfedcba98U);
	mc_be64(k8, UINT64_MAX);
	cr_assert_eq(mc_from_be64(k8), UINT64_MAX);
	mc_be32(k4, 0);
	cr_assert_eq(mc_from_be32(k4), 0);
}

Test(codec, bytes_at_exactly_the_limit_are_accepted_and_one_more_refused)
{
	struct mc_buf b;
	struct mc_rd r;
	size_t n;

	mc_buf_init(&b);
	mc_put_bytes(&b, "abcd", 4);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_not_null(mc_get_bytes(&r, 4, &n));
	cr_assert_eq(n, 4);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_null(mc_get_bytes(&r, 3, &n));
	cr_assert_not(mc_rd_ok(&r));
	mc_buf_release(&b);
}

Test(codec, integers_are_big_endian_and_round_trip)
{
	struct mc_buf b;
	struct mc_rd r;
	static const uint8_t want[] = { 0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
					0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

	mc_buf_init(&b);
	mc_put_u8(&b, 0xab);
	mc_put_u16(&b, 0x1234);
	mc_put_u32(&b, 0xdeadbeef);
	mc_put_u64(&b, 0x0102030405060708ULL);
	cr_assert_eq(b.len, sizeof(want));
	cr_assert_arr_eq(b.data, want, sizeof(want));
	mc_rd_init(&r, b.data, b.len);
	cr_assert_eq(mc_get_u8(&r), 0xab);
	cr_assert_eq(mc_get_u16(&r), 0x1234);
	cr_assert_eq(mc_get_u32(&r), 0xdeadbeef);
	cr_assert_eq(mc_get_u64(&r), 0x0102030405060708ULL);
	cr_assert(mc_rd_finish(&r));
	mc_buf_release(&b);
}

Test(codec, bytes_round_trip_including_empty)
{
	struct mc_buf b;
	struct mc_rd r;
	size_t n;
	const uint8_t *p;

	mc_buf_init(&b);
	mc_put_bytes(&b, "hello", 5);
	mc_put_bytes(&b, "", 0);
	mc_rd_init(&r, b.data, b.len);
	p = mc_get_bytes(&r, 10, &n);
	cr_assert_eq(n, 5);
	cr_assert_arr_eq(p, "hello", 5);
	p = mc_get_bytes(&r, 10, &n);
	cr_assert_not_null(p, "an empty string is a valid, non-NULL view");
	cr_assert_eq(n, 0);
	cr_assert(mc_rd_finish(&r));
	mc_buf_release(&b);
}

Test(codec, reader_refuses_every_truncation)
{
	struct mc_buf b;

	mc_buf_init(&b);
	mc_put_u32(&b, 7);
	mc_put_bytes(&b, "abcdefgh", 8);
	mc_put_u64(&b, 9);
	for (size_t n = 0; n < b.len; n++) {
		struct mc_rd r;
		size_t len;

		mc_rd_init(&r, b.data, n);
		mc_get_u32(&r);
		mc_get_bytes(&r, 64, &len);
		mc_get_u64(&r);
		cr_assert_not(mc_rd_finish(&r), "truncation to %zu accepted", n);
	}
	mc_buf_release(&b);
}

Test(codec, over_limit_and_oversized_lengths_are_refused)
{
	uint8_t huge[8] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd' };
	uint8_t four[8] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd' };
	struct mc_rd r;
	size_t n = 99;

	mc_rd_init(&r, huge, sizeof(huge));
	cr_assert_null(mc_get_bytes(&r, SIZE_MAX, &n));
	cr_assert_eq(n, 0);
	cr_assert_not(mc_rd_ok(&r));
	mc_rd_init(&r, four, sizeof(four));
	cr_assert_null(mc_get_bytes(&r, 3, &n), "a length over the limit is refused");
	mc_rd_init(&r, four, sizeof(four));
	cr_assert_not_null(mc_get_bytes(&r, 4, &n));
	cr_assert(mc_rd_finish(&r));
}

Test(codec, trailing_bytes_fail_finish_and_errors_are_sticky)
{
	uint8_t in[3] = { 1, 2, 3 };
	struct mc_rd r;

	mc_rd_init(&r, in, sizeof(in));
	cr_assert_eq(mc_get_u16(&r), 0x0102);
	cr_assert(mc_rd_ok(&r));
	cr_assert_not(mc_rd_finish(&r), "one byte left over");
	cr_assert_eq(mc_get_u16(&r), 0, "short read");
	cr_assert_eq(mc_get_u8(&r), 0, "sticky: even a read that would fit fails");
	cr_assert_not(mc_rd_ok(&r));
}

Test(codec, reserve_guards_against_size_overflow)
{
	struct mc_buf b;

	mc_buf_init(&b);
	mc_put_u8(&b, 1);
	cr_assert_not(mc_buf_reserve(&b, SIZE_MAX));
	cr_assert(mc_buf_failed(&b));
	mc_put_u8(&b, 2);
	cr_assert_eq(b.len, 1, "puts after a failure are no-ops");
	mc_buf_reset(&b);
	cr_assert_not(mc_buf_failed(&b));
	mc_buf_release(&b);
}

Test(codec, large_buffers_grow)
{
	struct mc_buf b;
	uint8_t chunk[1000];

	memset(chunk, 0x5a, sizeof(chunk));
	mc_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		mc_put_raw(&b, chunk, sizeof(chunk));
	cr_assert_eq(b.len, 1000000);
	cr_assert_eq(b.data[999999], 0x5a);
	mc_buf_release(&b);
}

/* mc_buf as the growable text buffer: what is appended or printed stays
 * NUL-terminated past len, across growth. */
Test(codec, appended_and_printed_text_grows_and_stays_nul_terminated)
{
	struct mc_buf b;
	char big[5000];

	mc_buf_init(&b);
	cr_assert(mc_buf_append(&b, "", 0));
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq((char *)b.data, "");
	cr_assert(mc_buf_append(&b, "ab", 2));
	mc_buf_printf(&b, "-%d-", 42);
	cr_assert_eq(b.len, 6);
	cr_assert_str_eq((char *)b.data, "ab-42-");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mc_buf_printf(&b, "%s|", big);   /* larger than any room left: grows once */
	cr_assert_eq(b.len, 6 + sizeof(big));
	cr_assert_eq(b.data[b.len], '\0');
	cr_assert_eq(b.data[b.len - 1], '|');
	cr_assert_not(mc_buf_failed(&b));
	mc_buf_release(&b);
}
