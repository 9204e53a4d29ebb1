/* SPDX-License-Identifier: GPL-2.0 */
/* Every module's Check suite; add one line per test file. */
#ifndef VOIPQ_TEST_SUITES_H
#define VOIPQ_TEST_SUITES_H

#include <check.h>

Suite *endpoint_suite(void);
Suite *dialog_suite(void);
Suite *rtpstats_suite(void);
Suite *emodel_suite(void);
Suite *decode_suite(void);
Suite *ipfrag_suite(void);
Suite *reasm_suite(void);
Suite *capture_suite(void);
Suite *analyze_suite(void);
Suite *live_suite(void);
Suite *ctl_suite(void);
Suite *dedup_suite(void);
Suite *route_suite(void);
Suite *config_suite(void);
Suite *sdp_suite(void);
Suite *sip_suite(void);
Suite *rate_suite(void);
Suite *shaper_state_suite(void);
Suite *clock_suite(void);

static Suite *(*const vq_suites[])(void) = {
	endpoint_suite,
	dialog_suite,
	rtpstats_suite,
	emodel_suite,
	decode_suite,
	ipfrag_suite,
	reasm_suite,
	capture_suite,
	analyze_suite,
	live_suite,
	ctl_suite,
	dedup_suite,
	route_suite,
	config_suite,
	sdp_suite,
	sip_suite,
	rate_suite,
	shaper_state_suite,
	clock_suite,
	NULL,
};

#endif
