/* Check suite: the Prometheus text renderer (escaping, histograms) and the registry. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "core/metrics.h"

START_TEST(test_escape_label_values)
{
	struct metrics_text t = { 0 };
	struct metrics_label l[2] = { { "a", "back\\slash \"quoted\"\nnext" }, { "b", "plain" } };

	metrics_text_sample(&t, "m", l, 2, 3);
	ck_assert_int_eq(t.err, 0);
	ck_assert_str_eq(t.p, "m{a=\"back\\\\slash \\\"quoted\\\"\\nnext\",b=\"plain\"} 3\n");
	metrics_text_free(&t);

	metrics_text_sample(&t, "bare", NULL, 0, 0.25);
	ck_assert_str_eq(t.p, "bare 0.25\n");
	metrics_text_free(&t);
}
END_TEST

START_TEST(test_help_escape_and_type)
{
	struct metrics_text t = { 0 };

	/* HELP escapes backslash and line feed, never the double quote. */
	metrics_text_header(&t, "x_total", "counter", "a \"b\" c\\d\ne");
	ck_assert_str_eq(t.p, "# HELP x_total a \"b\" c\\\\d\\ne\n# TYPE x_total counter\n");
	metrics_text_free(&t);
}
END_TEST

START_TEST(test_histogram_buckets)
{
	static const double b[] = { 0.1, 1, 10 };
	const struct metrics_bounds bounds = { b, 3 };
	struct metrics_histogram h;
	struct metrics_text t = { 0 };
	struct metrics_label l = { "route", "/x" };

	memset(&h, 0, sizeof(h));
	metrics_histogram_observe(&h, &bounds, 0.05); /* <= 0.1 */
	metrics_histogram_observe(&h, &bounds, 0.1);  /* le is inclusive */
	metrics_histogram_observe(&h, &bounds, 0.5);  /* <= 1 */
	metrics_histogram_observe(&h, &bounds, 20);   /* above every bound */
	metrics_histogram_observe(&h, &bounds, -1);   /* a clock step: counted as 0 */
	metrics_text_histogram(&t, "lat_seconds", &l, 1, &h, &bounds);
	ck_assert_int_eq(t.err, 0);
	ck_assert_str_eq(t.p, "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 3\n"
			      "lat_seconds_bucket{route=\"/x\",le=\"1\"} 4\n"
			      "lat_seconds_bucket{route=\"/x\",le=\"10\"} 4\n"
			      "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 5\n"
			      "lat_seconds_sum{route=\"/x\"} 20.65\n"
			      "lat_seconds_count{route=\"/x\"} 5\n");
	metrics_text_free(&t);
}
END_TEST

/* The registry: a route pattern is one series whatever the path, and the status is a label. */
START_TEST(test_registry_render)
{
	struct metrics_scrape s = { .devices_ok = true, .longpolls = 7, .version = "1.2\"3" };
	struct timespec start;
	char *text = NULL;
	size_t len = 0;

	metrics_reset();
	clock_gettime(CLOCK_MONOTONIC, &start);
	metrics_http_request("GET", "/api/v1/devices/{}", false, 200, &start);
	metrics_http_request("GET", "/api/v1/devices/{}", false, 200, &start);
	metrics_http_request("GET", "/api/v1/devices/{}", false, 404, &start);
	metrics_http_request("BREW", NULL, false, 404, &start);
	metrics_enroll_status(201);
	metrics_enroll_status(409);
	metrics_store_busy();
	s.devices[1][1] = 2;
	ck_assert_int_eq(metrics_render(&s, &text, &len), 0);
	ck_assert_uint_eq(len, strlen(text));
	CHECK_HAS_ALL(text,
		      "keyway_build_info{version=\"1.2\\\"3\"} 1\n",
		      "keyway_http_requests_total{method=\"GET\",route=\"/api/v1/devices/{}\",status=\"200\"} 2\n",
		      "keyway_http_requests_total{method=\"GET\",route=\"/api/v1/devices/{}\",status=\"404\"} 1\n",
		      "keyway_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1\n",
		      "keyway_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/devices/{}\"} 3\n",
		      "keyway_enrollments_total{outcome=\"success\"} 1\n",
		      "keyway_enrollments_total{outcome=\"conflict\"} 1\n",
		      "keyway_devices{state=\"suspended\",role=\"gateway\"} 2\n",
		      "keyway_longpolls_parked 7\n",
		      "keyway_store_busy_total 1\n");
	/* No directory: no sync series (a "last success" of 0 would look like a stale sync). */
	ck_assert_ptr_null(strstr(text, "keyway_ldap_sync"));
	free(text);

	s.directory = true;
	metrics_sync_run(METRICS_SYNC_OK, 1.5, 1700000000);
	metrics_sync_run(METRICS_SYNC_HELD, 0.2, 1700000100);
	metrics_login_failure(METRICS_LOGIN_INVALID_CREDENTIALS);
	ck_assert_int_eq(metrics_render(&s, &text, &len), 0);
	CHECK_HAS_ALL(text,
		      "keyway_ldap_sync_runs_total{outcome=\"ok\"} 1\n",
		      "keyway_ldap_sync_held_mass_changes_total 1\n",
		      "keyway_ldap_sync_last_success_timestamp_seconds 1700000000\n",
		      "keyway_ldap_sync_duration_seconds_count 2\n",
		      "keyway_login_failures_total{reason=\"invalid_credentials\"} 1\n");
	free(text);
	metrics_reset();
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_escape_label_values,
		test_help_escape_and_type,
		test_histogram_buckets,
		test_registry_render,
	};

	return CHECK_RUN_TESTS("metrics", NULL, NULL, 0, tests);
}
