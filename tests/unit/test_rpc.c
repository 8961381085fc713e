/* SPDX-License-Identifier: Apache-2.0 */
/* JSON-RPC responses: results, the node's error object, and everything that
 * is not a JSON-RPC answer, each with its exit code. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "rpc.h"

static int parse(const char *s, long id, cJSON **res, struct mc_err *err)
{
	return mc_rpc_parse(s, strlen(s), id, res, err);
}

Test(rpc, a_result_is_returned)
{
	cJSON *res = NULL;
	uint64_t q;

	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"0x7a69\"}", 7, &res, NULL), 0);
	cr_assert_eq(mc_rpc_quantity(res, &q, NULL), 0);
	cr_assert_eq(q, 31337);
	cJSON_Delete(res);
}

Test(rpc, the_nodes_error_object_becomes_a_clear_message)
{
	cJSON *res = NULL;
	struct mc_err err = { 0 };

	cr_assert_eq(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32003,\"message\":\"insufficient funds for gas * price + value\"}}",
			   1, &res, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_not_null(strstr(err.msg, "insufficient funds"));
	cr_assert_not_null(strstr(err.msg, "-32003"));
	cr_assert_null(res);
}

Test(rpc, anything_else_is_a_protocol_error)
{
	static const char *bad[] = {
		"<html><body>502 Bad Gateway</body></html>",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":",
		"",
		"[]",
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":1}",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *res = NULL;
		struct mc_err err = { 0 };

		cr_assert_eq(parse(bad[i], 1, &res, &err), -1, "case %zu", i);
		cr_assert_eq(err.code, EX_PROTOCOL, "case %zu: %s", i, err.msg);
	}
}

Test(rpc, quantities_are_strict)
{
	static const char *bad[] = { "1", "0x", "0xg1", "0x10000000000000000", "12" };
	uint64_t q;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *v = cJSON_CreateString(bad[i]);

		cr_assert_eq(mc_rpc_quantity(v, &q, NULL), -1, "%s", bad[i]);
		cJSON_Delete(v);
	}
	{
		cJSON *n = cJSON_CreateNumber(5);

		cr_assert_eq(mc_rpc_quantity(n, &q, NULL), -1, "a number is not a quantity");
		cJSON_Delete(n);
	}
}

Test(rpc, an_unreachable_node_is_unavailable)
{
	struct mc_rpc *r;
	struct mc_err err = { 0 };
	uint64_t id;

	cr_assert_eq(mc_rpc_open("http://127.0.0.1:1", 2000, 1, &r, &err), 0);
	cr_assert_eq(mc_rpc_chain_id(r, &id, &err), -1);
	cr_assert_eq(err.code, EX_UNAVAILABLE, "%s", err.msg);
	mc_rpc_close(r);
	cr_assert_eq(mc_rpc_open("ftp://example", 1000, 0, &r, &err), -1);
	cr_assert_eq(err.code, EX_CONFIG);
}
