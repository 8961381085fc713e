/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the ALERT_ACK body decoder. What it accepts must be a
 * bounded, clean reason and a kind that is not 0, and must encode back to
 * exactly the input (one encoding per acknowledgement). */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "text.h"
#include "tx.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_alert_ack a;
	struct mc_buf b;

	fuzz_init();
	if (mc_alert_ack_decode(data, size, &a, NULL) != 0)
		return 0;
	if (a.kind == 0 || a.reason_len == 0 || a.reason_len > MC_REASON_MAX ||
	    !mc_text_clean(a.reason, a.reason_len))
		__builtin_trap();
	mc_buf_init(&b);
	mc_alert_ack_encode(&a, &b);
	if (mc_buf_failed(&b) || b.len != size || memcmp(b.data, data, size) != 0)
		__builtin_trap();
	mc_buf_release(&b);
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const char *const reasons[] = {
		"called the ER: a real emergency",
		"validator n3 is down for planned maintenance until 18:00",
		"r\xc3\xa9union: cl\xc3\xa9 recharg\xc3\xa9" "e",
	};
	struct mc_alert_ack a;

	if (k >= (int)(MC_ARRAY_LEN(reasons)))
		return false;
	memset(&a, 0, sizeof(a));
	a.kind = (uint8_t)(1 + 4 * k);
	for (int i = 0; i < MC_ALERT_ID_LEN; i++)
		a.id[i] = (uint8_t)(0x5a + 17 * i + k);
	a.reason = (const uint8_t *)reasons[k];
	a.reason_len = strlen(reasons[k]);
	mc_alert_ack_encode(&a, out);
	return true;
}
