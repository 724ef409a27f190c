/*
 * arena - bump allocator for memory that dies together.
 *
 * The driver gives each stage `ctx->scratch` and resets it after every
 * record: allocate freely while handling one record, never free() arena
 * memory, never keep a pointer into it past the call.
 */
#ifndef REVPIPE_ARENA_H
#define REVPIPE_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block	*head;
	size_t			 used;	/* bytes used in head */
};

#define ARENA_INIT	{ NULL, 0 }

/* Memory for `n` bytes, aligned for any type; aborts when out of memory. */
void	*arena_alloc(struct arena *a, size_t n);
/* A NUL-terminated copy of `n` bytes at `p`. */
char	*arena_strndup(struct arena *a, const char *p, size_t n);
/* Forget all allocations; keeps the first block for reuse. */
void	 arena_reset(struct arena *a);
/* Free every block. */
void	 arena_release(struct arena *a);

#endif
