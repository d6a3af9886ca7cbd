/*
 * Unit tests for arena.c and buf.c: alignment, large blocks, contents
 * surviving many chunks, buffers growing and being handed over.
 */
#include "autoconf.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "arena.h"
#include "buf.h"
#include "testutil.h"

START_TEST(t_arena_alignment_and_contents)
{
	struct arena *a = arena_new();
	char *strs[2000];
	char want[32];
	size_t i;
	void *p;

	for (i = 0; i < 2000; i++) {
		p = arena_alloc(a, 1 + i % 13);
		ck_assert_uint_eq((uintptr_t)p % alignof(max_align_t), 0);
		snprintf(want, sizeof want, "s%zu", i);
		strs[i] = arena_strdup(a, want);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(want, sizeof want, "s%zu", i);
		ck_assert_str_eq(strs[i], want);
	}
	ck_assert_uint_gt(arena_used(a), 2000);
	arena_free(a);
}
END_TEST

START_TEST(t_arena_large)
{
	struct arena *a = arena_new();
	char *big, *small;
	size_t n = 1 << 20;

	small = arena_strdup(a, "before");
	big = arena_alloc(a, n);
	memset(big, 'x', n);
	/* A big block does not take the place of the current chunk. */
	ck_assert_str_eq(arena_strndup(a, "after-and-more", 5), "after");
	ck_assert_str_eq(small, "before");
	ck_assert_int_eq(big[n - 1], 'x');
	ck_assert_ptr_nonnull(arena_calloc(a, 100, 8));
	ck_assert_int_eq(((char *)arena_calloc(a, 100, 8))[799], 0);
	arena_free(a);
	arena_free(NULL);
}
END_TEST

START_TEST(t_buf)
{
	struct buf b = BUF_INIT;
	char *s;
	size_t len, i;

	for (i = 0; i < 10000; i++)
		buf_addc(&b, 'a');
	ck_assert_uint_eq(b.len, 10000);
	buf_printf(&b, "%d-%s", 42, "x");
	ck_assert_str_eq(b.data + 10000, "42-x");
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	buf_adds(&b, "hello");
	buf_add(&b, " world", 6);
	s = buf_steal(&b, &len);
	ck_assert_str_eq(s, "hello world");
	ck_assert_uint_eq(len, 11);
	ck_assert_ptr_null(b.data);
	free(s);
	s = buf_steal(&b, &len);
	ck_assert_str_eq(s, "");
	free(s);
	buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, t_arena_alignment_and_contents);
	tcase_add_test(tc, t_arena_large);
	tcase_add_test(tc, t_buf);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
