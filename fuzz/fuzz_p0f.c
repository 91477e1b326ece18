/*
 * libFuzzer harness for SYN signatures and the p0f database reader.
 * Each input is read both as the headers of a SYN and as a database.
 * Beyond what the sanitizers catch, it aborts when a signature taken
 * from a packet does not survive a trip through its text form.  It
 * also aborts when the text matches differently from the packet,
 * unless the fields the text rebuilds (timestamp, header length)
 * came out different.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p0f.h"
#include "synsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Entries of each window rule and TTL form, to drive the matcher. */
static const char fixed_db[] =
    "classes = win,unix,other\n"
    "[tcp:request]\n"
    "label = s:unix:Linux:3.11 and newer\n"
    "sig = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0\n"
    "label = g:unix:Linux:2.2.x-3.x\n"
    "sig = *:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0\n"
    "label = s:win:Windows:7 or 8\n"
    "sig = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n"
    "label = s:other:Test:modulo and mtu\n"
    "sig = 4:64:0:*:%1024,*:mss::*\n"
    "sig = 6:255:0:*:mtu*4,*:mss,nop,ws:flow:+\n"
    "label = s:!:NMap:SYN scan\n"
    "sig = *:64-:0:1460:1024,0:mss::0\n";

static struct p0f_db *
fixed(void)
{
	static struct p0f_db *db;

	if (db == NULL)
		db = p0f_db_parse(fixed_db, sizeof(fixed_db) - 1, NULL, NULL);
	return db;
}

static void
same_match(
    const struct p0f_db *db, const struct synsig *a, const struct synsig *b)
{
	struct p0f_match ma, mb;
	bool ra, rb;

	ra = p0f_match(db, a, &ma);
	rb = p0f_match(db, b, &mb);
	if (ra != rb || ma.line != mb.line || ma.fuzzy != mb.fuzzy ||
	    ma.distance != mb.distance)
		abort();
}

static void
check_text(const struct synsig *sig, const struct p0f_db *db)
{
	char text[SYNSIG_TEXT_MAX], again[SYNSIG_TEXT_MAX];
	struct synsig back;
	const char *why;

	if (synsig_format(sig, text, sizeof(text)) < 0)
		abort();
	if (synsig_parse(text, &back, &why) < 0)
		abort();
	if (synsig_format(&back, again, sizeof(again)) < 0 ||
	    strcmp(text, again) != 0)
		abort();
	if ((sig->ts1 != 0) != (back.ts1 != 0) ||
	    sig->header_len != back.header_len)
		return;
	same_match(fixed(), sig, &back);
	same_match(db, sig, &back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p0f_db *db;
	struct synsig sig;
	const char *why;
	uint8_t *copy;

	/* A private copy lets ASan catch a read past size bytes. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);

	db = p0f_db_parse((const char *)copy, size, NULL, NULL);
	if (synsig_from_packet(copy, size, &sig, &why) == SYNSIG_OK)
		check_text(&sig, db);
	else if (why == NULL)
		abort();
	p0f_db_free(db);
	free(copy);
	return 0;
}
