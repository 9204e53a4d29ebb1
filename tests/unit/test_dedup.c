// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "suites.h"

#define MS 1000000ull

static const char invite[] = "INVITE sip:bob@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n";

START_TEST(same_message_on_two_interfaces_counts_once)
{
	struct vq_dedup *d = calloc(1, sizeof(*d));

	ck_assert(!vq_dedup_seen(d, (const uint8_t *)invite, sizeof(invite), 1000 * MS));
	ck_assert(vq_dedup_seen(d, (const uint8_t *)invite, sizeof(invite), 1001 * MS));
	ck_assert_uint_eq(d->dups, 1);
	free(d);
}
END_TEST

START_TEST(retransmission_after_t1_is_not_a_duplicate)
{
	struct vq_dedup *d = calloc(1, sizeof(*d));

	ck_assert(!vq_dedup_seen(d, (const uint8_t *)invite, sizeof(invite), 1000 * MS));
	ck_assert(!vq_dedup_seen(d, (const uint8_t *)invite, sizeof(invite), 1500 * MS));
	ck_assert_uint_eq(d->dups, 0);
	free(d);
}
END_TEST

START_TEST(different_messages_are_not_duplicates)
{
	struct vq_dedup *d = calloc(1, sizeof(*d));
	char msg[64];

	for (int i = 0; i < 5000; i++) {
		int n = snprintf(msg, sizeof(msg), "BYE sip:%d SIP/2.0\r\n", i);

		ck_assert(!vq_dedup_seen(d, (const uint8_t *)msg, (size_t)n, 1000 * MS));
	}
	ck_assert_uint_eq(d->dups, 0);
	free(d);
}
END_TEST

Suite *dedup_suite(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, same_message_on_two_interfaces_counts_once);
	tcase_add_test(tc, retransmission_after_t1_is_not_a_duplicate);
	tcase_add_test(tc, different_messages_are_not_duplicates);
	suite_add_tcase(s, tc);
	return s;
}
