/*
 * Probe detection: a message that names the sensor's own address and
 * proxy port, or goes to a test recipient, is a probe; addresses that
 * only look alike and other ports are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe.h"

static char reason[128];

static bool
check(const struct probe_marks *m, const char *msg, const char *rcpt)
{
	const char *rcpts[1] = {rcpt};

	reason[0] = '\0';
	return probe_check_message(m, (const unsigned char *)msg, strlen(msg),
	    rcpts, rcpt != NULL ? 1 : 0, reason, sizeof(reason));
}

static void
marks_init(struct probe_marks *m)
{
	memset(m, 0, sizeof(*m));
	probe_add_addr(m, "192.0.2.10");
	probe_add_port(m, 8080);
	probe_add_port(m, 3128);
}

static void
address_and_port_forms(void **state)
{
	struct probe_marks m;

	(void)state;
	marks_init(&m);
	assert_true(check(&m, "Subject: 192.0.2.10:8080\r\n\r\nhi", NULL));
	assert_string_equal(reason, "address 192.0.2.10:8080 in message");
	assert_true(
	    check(&m, "Subject: x\r\n\r\nproxy 192.0.2.10 3128 ok", NULL));
	assert_true(check(&m, "Subject: x\r\n\r\n192.0.2.10:8080", NULL));
	assert_true(check(&m, "192.0.2.10\t8080\r\n", NULL));
}

static void
lookalikes_are_not_probes(void **state)
{
	struct probe_marks m;

	(void)state;
	marks_init(&m);
	assert_false(check(&m, "Subject: 192.0.2.10:80800\r\n", NULL));
	assert_false(check(&m, "Subject: 192.0.2.10:25\r\n", NULL));
	assert_false(check(&m, "Subject: 1192.0.2.10:8080\r\n", NULL));
	assert_false(check(&m, "Subject: 5.192.0.2.10:8080\r\n", NULL));
	assert_false(check(&m, "Subject: 192.0.2.10\r\n\r\n8080", NULL));
	assert_false(check(&m, "cheap pills", NULL));
	/* The address alone, at the very end, with no port. */
	assert_false(check(&m, "from 192.0.2.10", NULL));
}

static void
second_occurrence_found(void **state)
{
	struct probe_marks m;

	(void)state;
	marks_init(&m);
	assert_true(check(&m, "192.0.2.10:1 then 192.0.2.10:3128", NULL));
	assert_string_equal(reason, "address 192.0.2.10:3128 in message");
}

static void
recipient_patterns(void **state)
{
	static const char patterns[2][CONFIG_PATTERN_MAX] = {
	    "proxycheck*@*",
	    "*@probe.test.example",
	};
	struct probe_marks m;

	(void)state;
	marks_init(&m);
	m.rcpt_patterns = patterns;
	m.nrcpt_patterns = 2;
	assert_true(check(&m, "spam", "ProxyCheck42@mail.test.example"));
	assert_string_equal(reason, "recipient matches proxycheck*@*");
	assert_true(check(&m, "spam", "a@probe.test.example"));
	assert_false(check(&m, "spam", "victim@target.example"));
}

static void
marks_bounded_and_unique(void **state)
{
	struct probe_marks m;
	int i;

	(void)state;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < 3 * PROBE_PORTS_MAX; i++)
		probe_add_port(&m, 1000 + i % (2 * PROBE_PORTS_MAX));
	assert_int_equal(m.nports, PROBE_PORTS_MAX);
	probe_add_addr(&m, "192.0.2.1");
	probe_add_addr(&m, "192.0.2.1");
	probe_add_addr(&m, "");
	probe_add_addr(&m, NULL);
	assert_int_equal(m.naddrs, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(address_and_port_forms),
	    cmocka_unit_test(lookalikes_are_not_probes),
	    cmocka_unit_test(second_occurrence_found),
	    cmocka_unit_test(recipient_patterns),
	    cmocka_unit_test(marks_bounded_and_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
