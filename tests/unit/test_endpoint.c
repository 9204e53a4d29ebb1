// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <sys/socket.h>

#include "endpoint.h"
#include "suites.h"

START_TEST(ipv6_text_has_no_brackets_in_addr)
{
	struct vq_endpoint ep = { .port = 4000 };
	char buf[VQ_ADDRSTRLEN];

	ck_assert_int_eq(vq_addr_parse(&ep, "2001:db8::1"), 0);
	ck_assert_int_eq(ep.family, AF_INET6);
	ck_assert_str_eq(vq_addr_str(&ep, buf, sizeof(buf)), "2001:db8::1");
	ck_assert_str_eq(vq_endpoint_str(&ep, buf, sizeof(buf)),
			 "[2001:db8::1]:4000");
}
END_TEST

START_TEST(garbage_address_is_rejected)
{
	struct vq_endpoint ep = { 0 };

	ck_assert_int_eq(vq_addr_parse(&ep, "192.0.2.300"), -EINVAL);
	ck_assert_int_eq(vq_addr_parse(&ep, ""), -EINVAL);
	ck_assert_int_eq(ep.family, 0);
}
END_TEST

Suite *endpoint_suite(void)
{
	Suite *s = suite_create("endpoint");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, ipv6_text_has_no_brackets_in_addr);
	tcase_add_test(tc, garbage_address_is_rejected);
	suite_add_tcase(s, tc);
	return s;
}
