// SPDX-License-Identifier: GPL-2.0
/* One runner for every module's Suite; `CK_RUN_SUITE=name` runs just one. */
#include <check.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (size_t i = 0; vq_suites[i]; i++)
		srunner_add_suite(sr, vq_suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
