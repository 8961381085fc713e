/* The canonical codec: round trips, big-endian layout, and a reader that
 * refuses every truncation, over-limit or oversized length and trailing
 * bytes, with sticky errors. */
#include "config.h"

#include <criterion/criterion.h>
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
