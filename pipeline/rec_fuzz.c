/*
 * rec_fuzz - libFuzzer target for the record framing (rec_parse, mp_skip),
 * checked against msgpack-c's own unpacker: whenever we accept a map,
 * msgpack-c must accept the same bytes with the same length.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "rec.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct rec r;
	struct mp_val v;
	size_t used, off;
	int rc;

	memset(&r, 0, sizeof(r));
	while (p < end) {
		rc = rec_parse(&r, p, (size_t)(end - p), &used);
		if (rc == MP_OK) {
			msgpack_unpacked u;
			size_t at = 0;

			msgpack_unpacked_init(&u);
			if (msgpack_unpack_next(&u, p, (size_t)(end - p), &at) !=
			    MSGPACK_UNPACK_SUCCESS || at != used ||
			    u.data.type != MSGPACK_OBJECT_MAP)
				__builtin_trap();
			msgpack_unpacked_destroy(&u);
			/* Every key we indexed must be found again. */
			for (off = 0; off < r.nkeys; off++)
				if (r.kv[off].val + r.kv[off].vlen > end)
					__builtin_trap();
		}
		if (used == 0)
			break;
		p += used;
	}
	p = (const char *)data;
	while (p < end && mp_next(&p, end, &v) == MP_OK)
		;
	rec_release(&r);
	return 0;
}
