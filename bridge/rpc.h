/* SPDX-License-Identifier: Apache-2.0 */
/* rpc.h - an Ethereum JSON-RPC client (libcurl, cJSON).
 *
 * Every call has a connect and a total timeout, retries transport failures
 * with backoff, bounds the response size, checks the JSON-RPC envelope and
 * the id, and turns the node's error object into a clear message. Exit
 * codes: EX_UNAVAILABLE when the node cannot be reached, EX_PROTOCOL when
 * it answers with something that is not a JSON-RPC response (an HTML error
 * page, truncated or oversized JSON), EX_DATAERR when it answers with an
 * error object. */
#ifndef MC_RPC_H
#define MC_RPC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ethtx.h"

#define MC_RPC_RESPONSE_MAX (4u << 20)

struct mc_rpc;

int mc_rpc_open(const char *url, long timeout_ms, int retries, struct mc_rpc **out,
		struct mc_err *err);
void mc_rpc_close(struct mc_rpc *r);

/* Calls method with params (a JSON array, consumed). *result is the
 * "result" member, owned by the caller (cJSON_Delete). */
int mc_rpc_call(struct mc_rpc *r, const char *method, cJSON *params, cJSON **result,
		struct mc_err *err);

/* Parses one response body for request id `id` (pure; fuzzed). */
int mc_rpc_parse(const char *body, size_t n, long id, cJSON **result, struct mc_err *err);

/* "0x..." quantities. */
int mc_rpc_quantity(const cJSON *v, uint64_t *out, struct mc_err *err);
/* Convenience calls. */
int mc_rpc_chain_id(struct mc_rpc *r, uint64_t *id, struct mc_err *err);
int mc_rpc_nonce(struct mc_rpc *r, const uint8_t addr[20], uint64_t *nonce, struct mc_err *err);
int mc_rpc_send_raw(struct mc_rpc *r, const uint8_t *raw, size_t n, uint8_t txhash[32],
		    struct mc_err *err);

/* The account's transaction count at a block tag ("latest", "pending"). */
int mc_rpc_nonce_at(struct mc_rpc *r, const uint8_t addr[20], const char *tag, uint64_t *nonce,
		    struct mc_err *err);
int mc_rpc_balance(struct mc_rpc *r, const uint8_t addr[20], uint64_t *wei_low,
		   bool *over_64_bits, struct mc_err *err);

/* A receipt: found false while unknown or pending. */
struct mc_rpc_receipt {
	bool found;
	bool success;              /* status 0x1 */
	uint64_t block_number;
	uint8_t block_hash[32];
	uint64_t gas_used;
};
int mc_rpc_receipt(struct mc_rpc *r, const uint8_t txhash[32], struct mc_rpc_receipt *out,
		   struct mc_err *err);

/* A transaction by hash: found false when the node does not know it. */
struct mc_rpc_txinfo {
	bool found;
	bool mined;
	uint64_t block_number;
	uint8_t block_hash[32];
	uint8_t from[20];
	uint64_t nonce;
	uint8_t input[256];
	size_t input_len;          /* longer inputs are refused (not an anchor) */
	/* The signed transaction as the node describes it, for recovering its
	 * sender instead of taking `from` on trust: signed is false when a
	 * field is missing, out of range, or of a form medchain never sends
	 * (a type other than 0 or 2, an access list, pre-EIP-155 v). tx.data
	 * points into input: valid while this struct is, never after a copy. */
	bool signed_tx;
	struct mc_eth_tx tx;
	int recid;
	uint8_t r[32], s[32];
};
int mc_rpc_tx(struct mc_rpc *r, const uint8_t txhash[32], struct mc_rpc_txinfo *out,
	      struct mc_err *err);
/* mc_rpc_tx()'s reading of an eth_getTransactionByHash result. */
int mc_rpc_txinfo_parse(const cJSON *res, struct mc_rpc_txinfo *out, struct mc_err *err);
/* The sender of a transaction mc_rpc_tx() found, recovered from its
 * signature: 0 when ti->tx signed with ti's signature hashes to txhash
 * (so the fields are the transaction's own) and the signature recovers
 * an address; EX_DATAERR otherwise. */
int mc_rpc_tx_sender(const struct mc_rpc_txinfo *ti, const uint8_t txhash[32], uint8_t addr[20],
		     struct mc_err *err) __attribute__((warn_unused_result));

/* A block by tag ("latest", "finalized") or number (tag NULL): found false
 * when the node has none (a node without "finalized" answers an error, also
 * reported as found false). */
struct mc_rpc_block {
	bool found;
	uint64_t number;
	uint8_t hash[32];
	bool has_base_fee;
	uint64_t base_fee;
};
int mc_rpc_block(struct mc_rpc *r, const char *tag, uint64_t number, struct mc_rpc_block *out,
		 struct mc_err *err);

/* Fees for a transaction to be mined soon: EIP-1559 (the next block's base
 * fee from eth_feeHistory and eth_maxPriorityFeePerGas), or legacy
 * (eth_gasPrice) when the chain has no base fee. */
struct mc_rpc_fees {
	bool legacy;
	uint64_t base_fee;         /* next block's (EIP-1559) */
	uint64_t tip;              /* EIP-1559 priority fee */
	uint64_t gas_price;        /* legacy */
};
int mc_rpc_fees(struct mc_rpc *r, struct mc_rpc_fees *out, struct mc_err *err);

/* The node's error message contains this lowercase text (for the
 * well-known answers to eth_sendRawTransaction: "already known",
 * "nonce too low", "underpriced", "insufficient funds"). */
bool mc_rpc_error_is(const struct mc_err *err, const char *what);

#endif
