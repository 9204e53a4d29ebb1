// SPDX-License-Identifier: GPL-2.0
#include <check.h>
#include <errno.h>
#include <string.h>
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

static int prefix(struct vq_prefix *p, const char *s, char *err)
{
	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	return vq_prefix_parse(p, s, err, 256);
}

START_TEST(prefix_parses_ipv4_and_ipv6)
{
	struct vq_prefix p;
	char err[256], buf[VQ_PREFIXSTRLEN];

	ck_assert_int_eq(prefix(&p, "198.51.100.0/24", err), 0);
	ck_assert_int_eq(p.ep.family, AF_INET);
	ck_assert_uint_eq(p.len, 24);
	ck_assert_uint_eq(p.ep.addr[2], 100);
	ck_assert(!vq_prefix_is_host(&p));
	p.ep.port = 4000;
	ck_assert_str_eq(vq_prefix_str(&p, buf, sizeof(buf)),
			 "198.51.100.0/24:4000");

	ck_assert_int_eq(prefix(&p, "2001:db8:8000::/33", err), 0);
	ck_assert_int_eq(p.ep.family, AF_INET6);
	ck_assert_uint_eq(p.len, 33);
	p.ep.port = 4000;
	ck_assert_str_eq(vq_prefix_str(&p, buf, sizeof(buf)),
			 "[2001:db8:8000::/33]:4000");
	ck_assert_str_eq(vq_prefix_addr_str(&p, buf, sizeof(buf)),
			 "2001:db8:8000::/33");

	/* the whole address space, and a single address either way */
	ck_assert_int_eq(prefix(&p, "0.0.0.0/0", err), 0);
	ck_assert_uint_eq(p.len, 0);
	ck_assert_int_eq(prefix(&p, "192.0.2.7", err), 0);
	ck_assert_uint_eq(p.len, 32);
	ck_assert(vq_prefix_is_host(&p));
	ck_assert_int_eq(prefix(&p, "192.0.2.7/32", err), 0);
	ck_assert(vq_prefix_is_host(&p));
	p.ep.port = 5;
	ck_assert_str_eq(vq_prefix_str(&p, buf, sizeof(buf)), "192.0.2.7:5");
	ck_assert_int_eq(prefix(&p, "2001:db8::1/128", err), 0);
	ck_assert_uint_eq(p.len, 128);
	ck_assert_str_eq(vq_prefix_addr_str(&p, buf, sizeof(buf)),
			 "2001:db8::1");
}
END_TEST

START_TEST(prefix_with_host_bits_names_the_network)
{
	struct vq_prefix p = { .len = 7 };
	char err[256];

	ck_assert_int_eq(prefix(&p, "10.1.2.3/8", err), -EINVAL);
	ck_assert_str_eq(err, "10.1.2.3/8 has host bits set: the prefix is "
			      "10.0.0.0/8");
	/* a bit inside the byte the length ends in */
	ck_assert_int_eq(prefix(&p, "198.51.100.128/25", err), 0);
	ck_assert_int_eq(prefix(&p, "198.51.100.64/25", err), -EINVAL);
	ck_assert_str_eq(err, "198.51.100.64/25 has host bits set: the "
			      "prefix is 198.51.100.0/25");
	ck_assert_int_eq(prefix(&p, "2001:db8::1/64", err), -EINVAL);
	ck_assert_str_eq(err, "2001:db8::1/64 has host bits set: the prefix "
			      "is 2001:db8::/64");
	ck_assert_int_eq(prefix(&p, "0.0.0.1/0", err), -EINVAL);
}
END_TEST

START_TEST(prefix_bad_lengths_and_addresses_are_rejected)
{
	static const char *const bad_len[] = {
		"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/99999999999999999999",
		"2001:db8::/129", "10.0.0.0/8/8",
	};
	struct vq_prefix p = { .len = 7 };
	char err[256];

	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		ck_assert_msg(prefix(&p, bad_len[i], err) == -EINVAL,
			      "%s accepted", bad_len[i]);
		ck_assert_msg(strstr(err, "prefix length") != NULL, "%s: %s",
			      bad_len[i], err);
	}
	ck_assert_int_eq(prefix(&p, "10.0.0.0/33", err), -EINVAL);
	ck_assert_str_eq(err, "prefix length '33' is not 0-32, as an IPv4 "
			      "prefix needs");
	ck_assert_int_eq(prefix(&p, "2001:db8::/129", err), -EINVAL);
	ck_assert_str_eq(err, "prefix length '129' is not 0-128, as an IPv6 "
			      "prefix needs");

	ck_assert_int_eq(prefix(&p, "10.0.0/8", err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'10.0.0' is not an IPv4 or IPv6"));
	ck_assert_int_eq(prefix(&p, "/8", err), -EINVAL);
	ck_assert_int_eq(prefix(&p, "", err), -EINVAL);
	ck_assert_int_eq(prefix(&p, "host.example/24", err), -EINVAL);
	/* a failed parse leaves the prefix as it was */
	p.len = 7;
	ck_assert_int_eq(vq_prefix_parse(&p, "10.0.0.1/8", err, sizeof(err)),
			 -EINVAL);
	ck_assert_uint_eq(p.len, 7);
	ck_assert_int_eq(p.ep.family, 0);
}
END_TEST

Suite *endpoint_suite(void)
{
	Suite *s = suite_create("endpoint");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, ipv6_text_has_no_brackets_in_addr);
	tcase_add_test(tc, garbage_address_is_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("prefix");
	tcase_add_test(tc, prefix_parses_ipv4_and_ipv6);
	tcase_add_test(tc, prefix_with_host_bits_names_the_network);
	tcase_add_test(tc, prefix_bad_lengths_and_addresses_are_rejected);
	suite_add_tcase(s, tc);
	return s;
}
