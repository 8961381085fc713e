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
	struct mc_rpc *r;
	struct mc_err err = { 0 };
	struct mc_eth_tx tx;
	struct mc_buf raw;
	uint64_t chain;
	char hex[65];

	if (argc != 2 || mc_crypto_init() != 0 || mc_unhex(key_hex, key, 32) != 0)
		return 64;
	if (mc_rpc_open(argv[1], 5000, 2, &r, &err) != 0 || mc_rpc_chain_id(r, &chain, &err) != 0 ||
	    mc_eth_address(key, addr, &err) != 0)
		goto fail;
	memset(&tx, 0, sizeof(tx));
	tx.chain_id = chain;
	if (mc_rpc_nonce(r, addr, &tx.nonce, &err) != 0)
		goto fail;
	tx.max_priority_fee = 1000000000;
	tx.max_fee = 3000000000;
	tx.gas_limit = 30000;
	memset(tx.to, 0, 20);
	tx.to[18] = 0xde;
	tx.to[19] = 0xad;
	memcpy(data, "MDC1", 4);
	for (int i = 4; i < 48; i++)
		data[i] = (uint8_t)i;
	tx.data = data;
	tx.data_len = sizeof(data);
	mc_buf_init(&raw);
	if (mc_eth_sign(&tx, key, &raw, hash, &err) != 0 || mc_rpc_send_raw(r, raw.data, raw.len, hash, &err) != 0)
		goto fail;
	mc_hex(hash, 32, hex);
	printf("chain %llu nonce %llu tx 0x%s\n", (unsigned long long)chain, (unsigned long long)tx.nonce, hex);
	mc_buf_release(&raw);
	mc_rpc_close(r);
	return 0;
fail:
	fprintf(stderr, "bridge_check: %s\n", err.msg);
	return err.code ? err.code : 70;
}
