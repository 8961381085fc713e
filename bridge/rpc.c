/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "crypto.h"
#include "i18n.h"
#include "keccak.h"
#include "rpc.h"

struct mc_rpc {
	CURL *curl;
	char *url;
	long timeout_ms;
	int retries;
	long next_id;
};

struct body {
	struct mc_buf b;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;

	if (b->b.len + n > MC_RPC_RESPONSE_MAX) {
		b->too_big = true;
		return 0;   /* aborts the transfer */
	}
	return mc_buf_append(&b->b, ptr, n) ? n : 0;
}

int mc_rpc_open(const char *url, long timeout_ms, int retries, struct mc_rpc **out,
		struct mc_err *err)
{
	struct mc_rpc *r;

	*out = NULL;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return mc_err_set(err, EX_CONFIG, _("the RPC URL '%s' is not http:// or https://"), url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return mc_err_set(err, EX_SOFTWARE, _("cannot initialise libcurl"));
	r = calloc(1, sizeof(*r));
	if (!r || !(r->url = strdup(url)) || !(r->curl = curl_easy_init())) {
		if (r)
			free(r->url);
		free(r);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	r->retries = retries >= 0 ? retries : 2;
	r->next_id = 1;
	*out = r;
	return 0;
}

void mc_rpc_close(struct mc_rpc *r)
{
	if (!r)
		return;
	curl_easy_cleanup(r->curl);
	free(r->url);
	free(r);
}

int mc_rpc_parse(const char *body, size_t n, long id, cJSON **result, struct mc_err *err)
{
	cJSON *root, *v, *res, *e;

	*result = NULL;
	root = cJSON_ParseWithLength(body, n);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return mc_err_set(err, EX_PROTOCOL, _("the node's answer is not a JSON-RPC response"));
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
		cJSON_Delete(root);
		return mc_err_set(err, EX_PROTOCOL, _("the node's answer is not JSON-RPC 2.0"));
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)id) {
		cJSON_Delete(root);
		return mc_err_set(err, EX_PROTOCOL, _("the node answered another request"));
	}
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (e) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

		mc_err_set(err, EX_DATAERR, _("the node refused: %s (code %d)"),
			   cJSON_IsString(msg) ? msg->valuestring : _("no message"),
			   cJSON_IsNumber(code) ? code->valueint : 0);
		cJSON_Delete(root);
		return -1;
	}
	res = cJSON_DetachItemFromObjectCaseSensitive(root, "result");
	cJSON_Delete(root);
	if (!res)
		return mc_err_set(err, EX_PROTOCOL, _("the node's answer has neither a result nor an error"));
	*result = res;
	return 0;
}

int mc_rpc_call(struct mc_rpc *r, const char *method, cJSON *params, cJSON **result,
		struct mc_err *err)
{
	cJSON *req = cJSON_CreateObject();
	char *text;
	long id = r->next_id++;
	int rc = -1;

	*result = NULL;
	cJSON_AddStringToObject(req, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(req, "id", (double)id);
	cJSON_AddStringToObject(req, "method", method);
	cJSON_AddItemToObject(req, "params", params ? params : cJSON_CreateArray());
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (int attempt = 0; attempt <= r->retries; attempt++) {
		struct body b = { 0 };
		struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
		long status = 0;
		CURLcode cc;

		curl_easy_reset(r->curl);
		curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms < 3000 ? r->timeout_ms : 3000L);
		curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, r->timeout_ms);
		curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 0L);
		cc = curl_easy_perform(r->curl);
		curl_slist_free_all(h);
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
		if (b.too_big) {
			mc_buf_release(&b.b);
			rc = mc_err_set(err, EX_PROTOCOL, _("the node's answer is larger than %u bytes"),
					MC_RPC_RESPONSE_MAX);
			break;
		}
		if (cc != CURLE_OK) {
			mc_buf_release(&b.b);
			rc = mc_err_set(err, EX_UNAVAILABLE, _("cannot reach the node at %s: %s"), r->url,
					curl_easy_strerror(cc));
			if (attempt < r->retries) {
				struct timespec ts = { 0, (long)(200000000L << attempt) };

				nanosleep(&ts, NULL);   /* 0.2 s, 0.4 s, ... */
			}
			continue;
		}
		if (status != 200 && !b.b.data) {
			rc = mc_err_set(err, EX_PROTOCOL, _("the node answered HTTP %ld"), status);
			break;
		}
		rc = mc_rpc_parse(b.b.data ? (const char *)b.b.data : "", b.b.len, id, result, err);
		if (rc != 0 && status != 200 && err && err->code == EX_PROTOCOL)
			mc_err_set(err, EX_PROTOCOL, _("the node answered HTTP %ld, not JSON-RPC"), status);
		mc_buf_release(&b.b);
		break;
	}
	free(text);
	return rc;
}

int mc_rpc_quantity(const cJSON *v, uint64_t *out, struct mc_err *err)
{
	const char *s;
	uint64_t x = 0;

	if (!cJSON_IsString(v) || strncmp(v->valuestring, "0x", 2) != 0 || !v->valuestring[2])
		return mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed quantity"));
	s = v->valuestring + 2;
	if (strlen(s) > 16)
		return mc_err_set(err, EX_PROTOCOL, _("the node answered a quantity over 64 bits"));
	for (; *s; s++) {
		int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 :
			(*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;

		if (d < 0)
			return mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed quantity"));
		x = (x << 4) | (uint64_t)d;
	}
	*out = x;
	return 0;
}

static int call_quantity(struct mc_rpc *r, const char *method, cJSON *params, uint64_t *out,
			 struct mc_err *err)
{
	cJSON *res;
	int rc;

	if (mc_rpc_call(r, method, params, &res, err) != 0)
		return -1;
	rc = mc_rpc_quantity(res, out, err);
	cJSON_Delete(res);
	return rc;
}

int mc_rpc_chain_id(struct mc_rpc *r, uint64_t *id, struct mc_err *err)
{
	return call_quantity(r, "eth_chainId", NULL, id, err);
}

static cJSON *hex_string(const uint8_t *p, size_t n)
{
	char hex[2 + 2 * 32 + 1] = "0x";

	mc_hex(p, n, hex + 2);
	return cJSON_CreateString(hex);
}

int mc_rpc_nonce_at(struct mc_rpc *r, const uint8_t addr[20], const char *tag, uint64_t *nonce,
		    struct mc_err *err)
{
	cJSON *params = cJSON_CreateArray();

	cJSON_AddItemToArray(params, hex_string(addr, 20));
	cJSON_AddItemToArray(params, cJSON_CreateString(tag));
	return call_quantity(r, "eth_getTransactionCount", params, nonce, err);
}

int mc_rpc_nonce(struct mc_rpc *r, const uint8_t addr[20], uint64_t *nonce, struct mc_err *err)
{
	return mc_rpc_nonce_at(r, addr, "pending", nonce, err);
}

int mc_rpc_balance(struct mc_rpc *r, const uint8_t addr[20], uint64_t *wei_low,
		   bool *over_64_bits, struct mc_err *err)
{
	cJSON *params = cJSON_CreateArray(), *res;
	int rc;

	cJSON_AddItemToArray(params, hex_string(addr, 20));
	cJSON_AddItemToArray(params, cJSON_CreateString("latest"));
	if (mc_rpc_call(r, "eth_getBalance", params, &res, err) != 0)
		return -1;
	*over_64_bits = false;
	*wei_low = 0;
	if (cJSON_IsString(res) && strncmp(res->valuestring, "0x", 2) == 0 &&
	    strlen(res->valuestring) > 18 && strlen(res->valuestring) <= 66) {
		*over_64_bits = true;   /* more than 2^64 wei (18.4 ETH) */
		rc = 0;
	} else {
		rc = mc_rpc_quantity(res, wei_low, err);
	}
	cJSON_Delete(res);
	return rc;
}

/* "0x" and exactly n bytes of hex. */
static int fixed_hex(const cJSON *v, uint8_t *out, size_t n, struct mc_err *err)
{
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 2 + 2 * n ||
	    strncmp(v->valuestring, "0x", 2) != 0 || mc_unhex(v->valuestring + 2, out, n) != 0)
		return mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed hash or address"));
	return 0;
}

static int member_quantity(const cJSON *o, const char *name, uint64_t *out, struct mc_err *err)
{
	return mc_rpc_quantity(cJSON_GetObjectItemCaseSensitive(o, name), out, err);
}

static int call_by_hash(struct mc_rpc *r, const char *method, const uint8_t h[32], cJSON **res,
			struct mc_err *err)
{
	cJSON *params = cJSON_CreateArray();

	cJSON_AddItemToArray(params, hex_string(h, 32));
	return mc_rpc_call(r, method, params, res, err);
}

int mc_rpc_receipt(struct mc_rpc *r, const uint8_t txhash[32], struct mc_rpc_receipt *out,
		   struct mc_err *err)
{
	cJSON *res;
	uint64_t status = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (call_by_hash(r, "eth_getTransactionReceipt", txhash, &res, err) != 0)
		return -1;
	if (!cJSON_IsNull(res)) {
		if (!cJSON_IsObject(res) || member_quantity(res, "blockNumber", &out->block_number, err) != 0 ||
		    fixed_hex(cJSON_GetObjectItemCaseSensitive(res, "blockHash"), out->block_hash, 32, err) != 0 ||
		    member_quantity(res, "gasUsed", &out->gas_used, err) != 0 ||
		    member_quantity(res, "status", &status, err) != 0)
			rc = mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed receipt: %s"),
					err && err->msg[0] ? err->msg : "");
		else {
			out->found = true;
			out->success = status == 1;
		}
	}
	cJSON_Delete(res);
	return rc;
}

/* A 256-bit quantity (r, s): 0x and 1 to 64 hex digits, big-endian into 32
 * bytes. */
static int quantity256(const cJSON *v, uint8_t out[32])
{
	char hex[65];
	size_t n;

	if (!cJSON_IsString(v) || strncmp(v->valuestring, "0x", 2) != 0)
		return -1;
	n = strlen(v->valuestring + 2);
	if (n == 0 || n > 64)
		return -1;
	memset(hex, '0', 64 - n);
	memcpy(hex + 64 - n, v->valuestring + 2, n + 1);
	return mc_unhex(hex, out, 32);
}

/* The fields that make the signed transaction (docs: signed_tx in rpc.h);
 * out->input is already filled. Leaves signed_tx false on anything else. */
static void parse_signed(const cJSON *res, struct mc_rpc_txinfo *out)
{
	struct mc_eth_tx *tx = &out->tx;
	const cJSON *al, *yp;
	uint64_t type, v;

	memset(tx, 0, sizeof(*tx));
	if (member_quantity(res, "type", &type, NULL) != 0 || (type != 0 && type != 2) ||
	    member_quantity(res, "nonce", &tx->nonce, NULL) != 0 ||
	    member_quantity(res, "gas", &tx->gas_limit, NULL) != 0 ||
	    member_quantity(res, "value", &tx->value, NULL) != 0 ||
	    fixed_hex(cJSON_GetObjectItemCaseSensitive(res, "to"), tx->to, 20, NULL) != 0 ||
	    quantity256(cJSON_GetObjectItemCaseSensitive(res, "r"), out->r) != 0 ||
	    quantity256(cJSON_GetObjectItemCaseSensitive(res, "s"), out->s) != 0)
		return;
	tx->data = out->input;
	tx->data_len = out->input_len;
	if (type == 2) {
		al = cJSON_GetObjectItemCaseSensitive(res, "accessList");
		yp = cJSON_GetObjectItemCaseSensitive(res, "yParity");
		if (member_quantity(res, "chainId", &tx->chain_id, NULL) != 0 ||
		    member_quantity(res, "maxPriorityFeePerGas", &tx->max_priority_fee, NULL) != 0 ||
		    member_quantity(res, "maxFeePerGas", &tx->max_fee, NULL) != 0 ||
		    (al && (!cJSON_IsArray(al) || cJSON_GetArraySize(al) != 0)) ||
		    mc_rpc_quantity(yp ? yp : cJSON_GetObjectItemCaseSensitive(res, "v"), &v, NULL) != 0 ||
		    v > 1)
			return;
		out->recid = (int)v;
	} else {
		tx->legacy = true;
		if (member_quantity(res, "gasPrice", &tx->gas_price, NULL) != 0 ||
		    member_quantity(res, "v", &v, NULL) != 0 || v < 35 || v > UINT64_MAX / 2)
			return;
		/* EIP-155: v = recid + 35 + 2 * chain id */
		tx->chain_id = (v - 35) / 2;
		out->recid = (int)((v - 35) % 2);
	}
	out->signed_tx = true;
}

int mc_rpc_tx_sender(const struct mc_rpc_txinfo *ti, const uint8_t txhash[32], uint8_t addr[20],
		     struct mc_err *err)
{
	struct mc_buf raw;
	uint8_t h[32];

	if (!ti->signed_tx)
		return mc_err_set(err, EX_DATAERR, _("the node did not give the transaction's signed fields"));
	mc_buf_init(&raw);
	mc_eth_encode_signed(&ti->tx, ti->recid, ti->r, ti->s, &raw);
	if (mc_buf_failed(&raw)) {
		mc_buf_release(&raw);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	mc_keccak256(raw.data, raw.len, h);
	mc_buf_release(&raw);
	if (memcmp(h, txhash, 32) != 0)
		return mc_err_set(err, EX_DATAERR, _("the transaction's fields as the node gives them do not hash to the transaction"));
	return mc_eth_recover(&ti->tx, ti->recid, ti->r, ti->s, addr, err);
}

int mc_rpc_txinfo_parse(const cJSON *res, struct mc_rpc_txinfo *out, struct mc_err *err)
{
	const cJSON *input, *bn;

	memset(out, 0, sizeof(*out));
	if (cJSON_IsNull(res))
		return 0;
	input = cJSON_GetObjectItemCaseSensitive(res, "input");
	bn = cJSON_GetObjectItemCaseSensitive(res, "blockNumber");
	if (!cJSON_IsObject(res) || !cJSON_IsString(input) || strncmp(input->valuestring, "0x", 2) != 0 ||
	    strlen(input->valuestring) % 2 != 0 || fixed_hex(cJSON_GetObjectItemCaseSensitive(res, "from"),
							     out->from, 20, err) != 0 ||
	    member_quantity(res, "nonce", &out->nonce, err) != 0)
		return mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed transaction"));
	out->input_len = (strlen(input->valuestring) - 2) / 2;
	if (out->input_len > sizeof(out->input) ||
	    mc_unhex(input->valuestring + 2, out->input, out->input_len) != 0)
		return mc_err_set(err, EX_DATAERR, _("the transaction's input is not an anchor"));
	parse_signed(res, out);
	if (bn && !cJSON_IsNull(bn)) {
		if (mc_rpc_quantity(bn, &out->block_number, err) != 0 ||
		    fixed_hex(cJSON_GetObjectItemCaseSensitive(res, "blockHash"), out->block_hash, 32, err) != 0)
			return -1;
		out->mined = true;
	}
	out->found = true;
	return 0;
}

int mc_rpc_tx(struct mc_rpc *r, const uint8_t txhash[32], struct mc_rpc_txinfo *out,
	      struct mc_err *err)
{
	cJSON *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if (call_by_hash(r, "eth_getTransactionByHash", txhash, &res, err) != 0)
		return -1;
	rc = mc_rpc_txinfo_parse(res, out, err);
	cJSON_Delete(res);
	return rc;
}

int mc_rpc_block(struct mc_rpc *r, const char *tag, uint64_t number, struct mc_rpc_block *out,
		 struct mc_err *err)
{
	cJSON *params = cJSON_CreateArray(), *res, *bf;
	char num[24];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!tag) {
		snprintf(num, sizeof(num), "0x%llx", (unsigned long long)number);
		tag = num;
	}
	cJSON_AddItemToArray(params, cJSON_CreateString(tag));
	cJSON_AddItemToArray(params, cJSON_CreateFalse());
	if (mc_rpc_call(r, "eth_getBlockByNumber", params, &res, err) != 0) {
		if (err->code != EX_DATAERR)
			return -1;
		/* the node answered with an error: it has no such block (a node
		 * without "finalized" says so this way) */
		memset(err, 0, sizeof(*err));
		return 0;
	}
	if (!cJSON_IsNull(res)) {
		if (!cJSON_IsObject(res) || member_quantity(res, "number", &out->number, err) != 0 ||
		    fixed_hex(cJSON_GetObjectItemCaseSensitive(res, "hash"), out->hash, 32, err) != 0) {
			rc = mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed block"));
		} else {
			bf = cJSON_GetObjectItemCaseSensitive(res, "baseFeePerGas");
			out->has_base_fee = bf && mc_rpc_quantity(bf, &out->base_fee, err) == 0;
			if (err)
				memset(err, 0, sizeof(*err));
			out->found = true;
		}
	}
	cJSON_Delete(res);
	return rc;
}

int mc_rpc_fees(struct mc_rpc *r, struct mc_rpc_fees *out, struct mc_err *err)
{
	cJSON *params, *res, *arr, *last;
	struct mc_rpc_block latest;
	int rc;

	memset(out, 0, sizeof(*out));
	if (mc_rpc_block(r, "latest", 0, &latest, err) != 0)
		return -1;
	if (!latest.found)
		return mc_err_set(err, EX_PROTOCOL, _("the node has no latest block"));
	if (!latest.has_base_fee) {
		out->legacy = true;
		return call_quantity(r, "eth_gasPrice", NULL, &out->gas_price, err);
	}
	params = cJSON_CreateArray();
	cJSON_AddItemToArray(params, cJSON_CreateString("0x1"));
	cJSON_AddItemToArray(params, cJSON_CreateString("latest"));
	cJSON_AddItemToArray(params, cJSON_CreateArray());
	if (mc_rpc_call(r, "eth_feeHistory", params, &res, err) != 0)
		return -1;
	arr = cJSON_GetObjectItemCaseSensitive(res, "baseFeePerGas");
	last = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1) : NULL;
	rc = mc_rpc_quantity(last, &out->base_fee, err);   /* the next block's */
	cJSON_Delete(res);
	if (rc != 0)
		return mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed fee history"));
	return call_quantity(r, "eth_maxPriorityFeePerGas", NULL, &out->tip, err);
}

bool mc_rpc_error_is(const struct mc_err *err, const char *what)
{
	char low[sizeof(err->msg)];
	size_t i;

	for (i = 0; i + 1 < sizeof(low) && err->msg[i]; i++)
		low[i] = (char)(err->msg[i] >= 'A' && err->msg[i] <= 'Z' ? err->msg[i] + 32 : err->msg[i]);
	low[i] = '\0';
	return err->code == EX_DATAERR && strstr(low, what) != NULL;
}

int mc_rpc_send_raw(struct mc_rpc *r, const uint8_t *raw, size_t n, uint8_t txhash[32],
		    struct mc_err *err)
{
	char *hex = malloc(2 * n + 3);
	cJSON *params = cJSON_CreateArray(), *res;
	int rc;

	if (!hex) {
		cJSON_Delete(params);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	hex[0] = '0';
	hex[1] = 'x';
	mc_hex(raw, n, hex + 2);
	cJSON_AddItemToArray(params, cJSON_CreateString(hex));
	free(hex);
	if (mc_rpc_call(r, "eth_sendRawTransaction", params, &res, err) != 0)
		return -1;
	rc = cJSON_IsString(res) && strlen(res->valuestring) == 66 &&
	     mc_unhex(res->valuestring + 2, txhash, 32) == 0
		     ? 0 : mc_err_set(err, EX_PROTOCOL, _("the node answered a malformed transaction hash"));
	cJSON_Delete(res);
	return rc;
}
