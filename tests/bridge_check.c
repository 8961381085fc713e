/* SPDX-License-Identifier: Apache-2.0 */
/* bridge_check URL - against a live Ethereum node (anvil in the tests):
 * checks the chain id, signs an anchor-shaped EIP-1559 transaction from
 * anvil's funded account 0 with our signer, sends it, and prints its hash.
 * The shell test then cross-checks it with cast. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "ethtx.h"
#include "rpc.h"

int main(int argc, char **argv)
{
	static const char key_hex[] = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
	uint8_t key[32], addr[20], hash[32], data[48];
	struct mc_rpc *r = NULL;
	struct mc_err err = { 0 };
	struct mc_eth_tx tx;
	struct mc_buf raw;
	uint64_t chain;
	char hex[65];
	int rc = -1;

	if (argc != 2 || mc_crypto_init() != 0 || mc_unhex(key_hex, key, 32) != 0)
		return 64;
	mc_buf_init(&raw);
	memset(&tx, 0, sizeof(tx));
	memcpy(data, "MDC1", 4);
	for (int i = 4; i < 48; i++)
		data[i] = (uint8_t)i;
	if (mc_rpc_open(argv[1], 5000, 2, &r, &err) != 0 || mc_rpc_chain_id(r, &chain, &err) != 0 ||
	    mc_eth_address(key, addr, &err) != 0 || mc_rpc_nonce(r, addr, &tx.nonce, &err) != 0)
		goto out;
	tx.chain_id = chain;
	tx.max_priority_fee = 1000000000;
	tx.max_fee = 3000000000;
	tx.gas_limit = 30000;
	tx.to[18] = 0xde;
	tx.to[19] = 0xad;
	tx.data = data;
	tx.data_len = sizeof(data);
	if (mc_eth_sign(&tx, key, &raw, hash, &err) != 0 || mc_rpc_send_raw(r, raw.data, raw.len, hash, &err) != 0)
		goto out;
	mc_hex(hash, 32, hex);
	printf("chain %llu nonce %llu tx 0x%s\n", (unsigned long long)chain, (unsigned long long)tx.nonce, hex);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "bridge_check: %s\n", err.msg);
	mc_buf_release(&raw);
	mc_rpc_close(r);
	return rc == 0 ? 0 : (err.code ? err.code : 70);
}
