// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <net/if.h>

#include "route.h"
#include "suites.h"

#define D VQ_TESTDATA "/route/"

START_TEST(ipv4_default_route_names_the_wan)
{
	char dev[IF_NAMESIZE] = "";

	ck_assert_int_eq(vq_default_route_dev(dev, sizeof(dev), D "ipv4_default_wan0",
					      D "ipv6_default_ppp0"), 0);
	ck_assert_str_eq(dev, "wan0");
}
END_TEST

START_TEST(ipv6_default_route_when_no_ipv4_one)
{
	char dev[IF_NAMESIZE] = "";

	ck_assert_int_eq(vq_default_route_dev(dev, sizeof(dev), D "ipv4_none",
					      D "ipv6_default_ppp0"), 0);
	ck_assert_str_eq(dev, "ppp0");
}
END_TEST

START_TEST(no_default_route_is_enoent)
{
	char dev[IF_NAMESIZE] = "";

	ck_assert_int_eq(vq_default_route_dev(dev, sizeof(dev), D "ipv4_none",
					      D "ipv4_none"), -ENOENT);
}
END_TEST

Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("default");

	tcase_add_test(tc, ipv4_default_route_names_the_wan);
	tcase_add_test(tc, ipv6_default_route_when_no_ipv4_one);
	tcase_add_test(tc, no_default_route_is_enoent);
	suite_add_tcase(s, tc);
	return s;
}
