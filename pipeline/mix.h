/*
 * mix - the 64-bit finaliser of MurmurHash3 (fmix64): every input bit
 * reaches every output bit.  Shared by dedupe's keys, the language
 * identifier's table and classify's feature rows; changing it changes
 * their keys and rows, so models and spill files with it.
 */
#ifndef REVPIPE_MIX_H
#define REVPIPE_MIX_H

#include <stdint.h>

static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#endif
