/* SPDX-License-Identifier: Apache-2.0 */
/* JSON-RPC responses: results, the node's error object, and everything that
 * is not a JSON-RPC answer, each with its exit code. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>
#include <sysexits.h>

#include "crypto.h"
#include "rpc.h"
#include "util.h"

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

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
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

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
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

/* anvil's eth_getTransactionByHash answer for reference vector A
 * (shared/reference/ethereum-rpc-and-faults.md): sent by 0xf39f...2266. */
static const char TX_A[] =
	"{\"type\":\"0x2\",\"chainId\":\"0x7a69\",\"nonce\":\"0x0\",\"gas\":\"0x7530\","
	"\"maxFeePerGas\":\"0x77359400\",\"maxPriorityFeePerGas\":\"0x3b9aca00\","
	"\"to\":\"0x000000000000000000000000000000000000dead\",\"value\":\"0x0\",\"accessList\":[],"
	"\"input\":\"0x4d4443310102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
	"2425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748\","
	"\"r\":\"0x4bf1bdcfb51925731dcd8019267fe29b1635e4f16c248b4a877c67e05f331c1f\","
	"\"s\":\"0x73e438e4c5a1e0f81496e1dd52df62c209fb4f78d357a8671c02dc0621079e8f\","
	"\"yParity\":\"0x1\",\"v\":\"0x1\","
	"\"hash\":\"0x7f28aa098d30b34e7fcacdce5610c027b0922f0e020b478f1c474631226e8cb8\","
	"\"blockHash\":\"0x68e70baade05815416961d6b206f6c3342c56ba340d7ca8a3084d77780db427f\","
	"\"blockNumber\":\"0x1\",\"transactionIndex\":\"0x0\","
	"\"from\":\"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"gasPrice\":\"0x77359400\"}";

/* The sender of TX_A with member `name` set to `value` (NULL: as is):
 * 0 and the address, or -1 and the error. */
static int sender_of(const char *name, const char *value, uint8_t addr[20], struct mc_err *err)
{
	cJSON *res = cJSON_Parse(TX_A);
	struct mc_rpc_txinfo ti;
	uint8_t hash[32];
	int rc;

	cr_assert_not_null(res);
	if (name)
		cJSON_ReplaceItemInObjectCaseSensitive(res, name, cJSON_CreateString(value));
	cr_assert_eq(mc_unhex("7f28aa098d30b34e7fcacdce5610c027b0922f0e020b478f1c474631226e8cb8", hash, 32), 0);
	cr_assert_eq(mc_rpc_txinfo_parse(res, &ti, err), 0, "%s", err->msg);
	rc = mc_rpc_tx_sender(&ti, hash, addr, err);
	cJSON_Delete(res);
	return rc;
}

Test(rpc, the_sender_is_recovered_from_the_signature_not_taken_from_the_node)
{
	uint8_t addr[20], me[20];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_unhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266", me, 20), 0);
	cr_assert_eq(sender_of(NULL, NULL, addr, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(addr, me, 20), 0, "the signer of vector A");
	cr_assert_eq(sender_of("from", "0x0000000000000000000000000000000000001092", addr, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(addr, me, 20), 0, "a lying `from` changes nothing recovered");
	/* a field rewritten to fit a lie no longer hashes to the transaction */
	cr_assert_eq(sender_of("nonce", "0x1", addr, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_not_null(strstr(err.msg, "hash"), "%s", err.msg);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(sender_of("s", "0x1", addr, &err), -1, "another signature, another hash");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(sender_of("yParity", "0x7", addr, &err), -1, "no such recovery id");
	cr_assert_not_null(strstr(err.msg, "signed fields"), "%s", err.msg);
}
