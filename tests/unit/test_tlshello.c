/*
 * The server name of a TLS ClientHello: found in a well-formed hello,
 * and never read past the bytes given, whatever the lengths claim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlshello.h"

static size_t
put16(uint8_t *p, size_t off, unsigned v)
{
	p[off] = (uint8_t)(v >> 8);
	p[off + 1] = (uint8_t)v;
	return off + 2;
}

/*
 * A ClientHello record with a supported_groups extension before the
 * server_name one, as browsers and curl send them.
 */
static size_t
build_hello(uint8_t *p, const char *name)
{
	size_t n = strlen(name), off = 0, hs, exts;

	p[off++] = 22; /* handshake */
	off = put16(p, off, 0x0301);
	off += 2;     /* record length, below */
	p[off++] = 1; /* ClientHello */
	off += 3;     /* handshake length, below */
	hs = off;
	off = put16(p, off, 0x0303);
	memset(p + off, 0xab, 32);
	off += 32;
	p[off++] = 0; /* session_id */
	off = put16(p, off, 2);
	off = put16(p, off, 0x1301);
	p[off++] = 1; /* compression: null */
	p[off++] = 0;
	off += 2; /* extensions length, below */
	exts = off;
	off = put16(p, off, 10); /* supported_groups */
	off = put16(p, off, 4);
	off = put16(p, off, 2);
	off = put16(p, off, 29);
	off = put16(p, off, 0); /* server_name */
	off = put16(p, off, (unsigned)(n + 5));
	off = put16(p, off, (unsigned)(n + 3));
	p[off++] = 0; /* host_name */
	off = put16(p, off, (unsigned)n);
	memcpy(p + off, name, n);
	off += n;
	put16(p, exts - 2, (unsigned)(off - exts));
	p[hs - 3] = 0;
	put16(p, hs - 2, (unsigned)(off - hs));
	put16(p, 3, (unsigned)(off - 5));
	return off;
}

static void
finds_server_name(void **state)
{
	uint8_t buf[512];
	char name[256];
	size_t len = build_hello(buf, "www.sni.test.example");

	(void)state;
	assert_true(tls_client_hello_sni(buf, len, name, sizeof(name)));
	assert_string_equal(name, "www.sni.test.example");
}

static void
long_name_cut_to_cap(void **state)
{
	uint8_t buf[512];
	char name[8];
	size_t len = build_hello(buf, "www.sni.test.example");

	(void)state;
	assert_true(tls_client_hello_sni(buf, len, name, sizeof(name)));
	assert_string_equal(name, "www.sni");
}

/* Every prefix, in a buffer of exactly that size, for ASan to watch. */
static void
truncated_hello_read_in_bounds(void **state)
{
	uint8_t full[512];
	char name[256];
	size_t len = build_hello(full, "www.sni.test.example"), i;

	(void)state;
	for (i = 0; i < len; i++) {
		uint8_t *p = malloc(i > 0 ? i : 1);

		memcpy(p, full, i);
		assert_false(tls_client_hello_sni(p, i, name, sizeof(name)));
		free(p);
	}
}

static void
lying_lengths_rejected(void **state)
{
	uint8_t buf[512];
	char name[256];
	size_t len = build_hello(buf, "www.sni.test.example");

	(void)state;
	/* The server_name list claims more than its extension holds. */
	buf[len - 20 - 4] = 0xff;
	assert_false(tls_client_hello_sni(buf, len, name, sizeof(name)));
}

static void
not_a_client_hello(void **state)
{
	uint8_t buf[512];
	char name[256];
	size_t len = build_hello(buf, "www.sni.test.example");

	(void)state;
	assert_false(tls_client_hello_sni(
	    (const uint8_t *)"GET / HTTP/1.0\r\n", 16, name, sizeof(name)));
	buf[5] = 2; /* ServerHello */
	assert_false(tls_client_hello_sni(buf, len, name, sizeof(name)));
	assert_false(tls_client_hello_sni(buf, 0, name, sizeof(name)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finds_server_name),
	    cmocka_unit_test(long_name_cut_to_cap),
	    cmocka_unit_test(truncated_hello_read_in_bounds),
	    cmocka_unit_test(lying_lengths_rejected),
	    cmocka_unit_test(not_a_client_hello),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
