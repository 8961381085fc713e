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
#include <stddef.h>
#include <stdint.h>

#include "err.h"

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

#endif
