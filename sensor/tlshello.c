/* TLS ClientHello server name; see tlshello.h. */
#include "tlshello.h"

#include <string.h>

/* A read cursor that fails, and stays failed, past its end. */
struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static unsigned
take(struct cursor *c, size_t n)
{
	unsigned v = 0;

	if (c->bad || n > c->left) {
		c->bad = true;
		return 0;
	}
	while (n-- > 0) {
		v = v << 8 | *c->p++;
		c->left--;
	}
	return v;
}

static void
skip(struct cursor *c, size_t n)
{
	if (c->bad || n > c->left) {
		c->bad = true;
		return;
	}
	c->p += n;
	c->left -= n;
}

/* A sub-cursor over the next n bytes of c, which moves past them. */
static struct cursor
sub(struct cursor *c, size_t n)
{
	struct cursor s = {c->p, n, c->bad || n > c->left};

	skip(c, n);
	return s;
}

#define TLS_HANDSHAKE       22
#define TLS_CLIENT_HELLO    1
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME   0

/* Walk the server_name list for its host_name entry. */
static bool
find_host_name(struct cursor *ext, char *out, size_t cap)
{
	struct cursor list = sub(ext, take(ext, 2));

	while (!list.bad && list.left > 0) {
		unsigned type = take(&list, 1);
		struct cursor name = sub(&list, take(&list, 2));
		size_t n;

		if (list.bad || name.bad)
			return false;
		if (type != TLS_SNI_HOST_NAME || name.left == 0)
			continue;
		n = name.left < cap - 1 ? name.left : cap - 1;
		memcpy(out, name.p, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/*
 * The next n bytes of c, or as many as arrived: the first bytes of a
 * tunnel may end inside a long record, and the name comes early.
 */
static struct cursor
sub_upto(struct cursor *c, size_t n)
{
	return sub(c, n < c->left ? n : c->left);
}

bool
tls_client_hello_sni(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	struct cursor c = {buf, len, false}, rec, hs, exts;

	if (cap == 0 || take(&c, 1) != TLS_HANDSHAKE)
		return false;
	skip(&c, 2); /* record version */
	rec = sub_upto(&c, take(&c, 2));
	if (take(&rec, 1) != TLS_CLIENT_HELLO)
		return false;
	hs = sub_upto(&rec, take(&rec, 3));
	skip(&hs, 2 + 32);       /* client_version, random */
	skip(&hs, take(&hs, 1)); /* session_id */
	skip(&hs, take(&hs, 2)); /* cipher_suites */
	skip(&hs, take(&hs, 1)); /* compression_methods */
	exts = sub_upto(&hs, take(&hs, 2));
	while (!exts.bad && exts.left > 0) {
		unsigned type = take(&exts, 2);
		struct cursor ext = sub(&exts, take(&exts, 2));

		if (exts.bad || ext.bad)
			return false;
		if (type == TLS_EXT_SERVER_NAME)
			return find_host_name(&ext, out, cap);
	}
	return false;
}
