/*
 * Envelope recovery from message headers.  The header blocks named
 * after corpus files are copied verbatim from the SpamAssassin public
 * corpus (spam-1 and spam-2); the others are written for one case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "mailparse.h"

/* Parse text from an exact-size heap copy, so ASan reports any overread. */
static struct mail_envelope *
parse_bytes(const char *text, size_t len)
{
	struct mail_envelope *env = malloc(sizeof(*env));
	char *copy = malloc(len > 0 ? len : 1);

	assert_non_null(env);
	assert_non_null(copy);
	memcpy(copy, text, len);
	mail_parse(copy, len, env);
	free(copy);
	return env;
}

static struct mail_envelope *
parse(const char *text)
{
	return parse_bytes(text, strlen(text));
}

static void
assert_origin(const struct mail_envelope *env, const char *want)
{
	char text[INET6_ADDRSTRLEN];
	const void *a;

	assert_true(env->has_origin);
	if (env->origin.ss_family == AF_INET)
		a = &((const struct sockaddr_in *)&env->origin)->sin_addr;
	else
		a = &((const struct sockaddr_in6 *)&env->origin)->sin6_addr;
	assert_non_null(
	    inet_ntop(env->origin.ss_family, a, text, sizeof(text)));
	assert_string_equal(text, want);
}

/* Replace every LF of text by CRLF; the caller frees the result. */
static char *
to_crlf(const char *text)
{
	char *out = malloc(2 * strlen(text) + 1), *o = out;

	assert_non_null(out);
	for (; *text != '\0'; text++) {
		if (*text == '\n')
			*o++ = '\r';
		*o++ = *text;
	}
	*o = '\0';
	return out;
}

/* spam-1/00001.7848dde101aa985090474a91ec93fcf0, header only. */
static const char corpus_webnote_pop[] =
    "From 12a1mailbot1@web.de  Thu Aug 22 13:17:22 2002\n"
    "Return-Path: <12a1mailbot1@web.de>\n"
    "Delivered-To: zzzz@localhost.spamassassin.taint.org\n"
    "Received: from localhost (localhost [127.0.0.1])\n"
    "\tby phobos.labs.spamassassin.taint.org (Postfix) with ESMTP id "
    "136B943C32\n"
    "\tfor <zzzz@localhost>; Thu, 22 Aug 2002 08:17:21 -0400 (EDT)\n"
    "Received: from mail.webnote.net [193.120.211.219]\n"
    "\tby localhost with POP3 (fetchmail-5.9.0)\n"
    "\tfor zzzz@localhost (single-drop); Thu, 22 Aug 2002 13:17:21 +0100 "
    "(IST)\n"
    "Received: from dd_it7 ([210.97.77.167])\n"
    "\tby webnote.net (8.9.3/8.9.3) with ESMTP id NAA04623\n"
    "\tfor <zzzz@spamassassin.taint.org>; Thu, 22 Aug 2002 13:09:41 "
    "+0100\n"
    "From: 12a1mailbot1@web.de\n"
    "Received: from r-smtp.korea.com - 203.122.2.197 by dd_it7  with "
    "Microsoft SMTPSVC(5.5.1775.675.6);\n"
    "\t Sat, 24 Aug 2002 09:42:10 +0900\n"
    "To: <dcek1a1@netsgo.com>\n"
    "Subject: Life Insurance - Why Pay More?\n"
    "Date: Wed, 21 Aug 2002 20:31:57 -1600\n"
    "MIME-Version: 1.0\n"
    "Message-ID: <0103c1042001882DD_IT7@dd_it7>\n"
    "Content-Type: text/html; charset=\"iso-8859-1\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.0 Transitional//EN\">\n";

/* spam-2/00004.bdcc075fa4beb5157b5dd6cd41d8887b, header only. */
static const char corpus_forwarded[] =
    "From jordan23@mailexcite.com  Mon Jun 24 17:04:20 2002\n"
    "Return-Path: merchantsworld2001@juno.com\n"
    "Delivery-Date: Thu May 16 11:03:55 2002\n"
    "Received: from mandark.labs.netnoteinc.com ([213.105.180.140]) by\n"
    "    dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id g4GA3qe29480 "
    "for\n"
    "    <jm@jmason.org>; Thu, 16 May 2002 11:03:52 +0100\n"
    "Received: from webnote.net (mail.webnote.net [193.120.211.219]) by\n"
    "    mandark.labs.netnoteinc.com (8.11.2/8.11.2) with ESMTP id "
    "g4GA3oD28650 for\n"
    "    <jm@netnoteinc.com>; Thu, 16 May 2002 11:03:51 +0100\n"
    "Received: from webcust2.hightowertech.com "
    "(webcust2.hightowertech.com\n"
    "    [216.41.166.100]) by webnote.net (8.9.3/8.9.3) with ESMTP id "
    "BAA11067 for\n"
    "    <jm@netnoteinc.com>; Thu, 16 May 2002 01:58:00 +0100\n"
    "Received: from html ([199.35.236.73]) by webcust2.hightowertech.com  "
    "with\n"
    "    Microsoft SMTPSVC(5.5.1877.197.19); Wed, 15 May 2002 13:50:57 "
    "-0700\n"
    "From: jordan23@mailexcite.com\n"
    "To: ranmoore@swbell.net\n"
    "Subject: New Improved Fat Burners, Now With TV Fat Absorbers! "
    "Time:7:20:54 AM\n"
    "MIME-Version: 1.0\n"
    "\n"
    "body\n";

/* spam-2/00001.317e78fa8ee2f54cd4890fdc09ba8176, header only. */
static const char corpus_list[] =
    "From ilug-admin@linux.ie  Tue Aug  6 11:51:02 2002\n"
    "Return-Path: <ilug-admin@linux.ie>\n"
    "Delivered-To: yyyy@localhost.netnoteinc.com\n"
    "Received: from localhost (localhost [127.0.0.1])\n"
    "\tby phobos.labs.netnoteinc.com (Postfix) with ESMTP id 9E1F5441DD\n"
    "\tfor <jm@localhost>; Tue,  6 Aug 2002 06:48:09 -0400 (EDT)\n"
    "Received: from phobos [127.0.0.1]\n"
    "\tby localhost with IMAP (fetchmail-5.9.0)\n"
    "\tfor jm@localhost (single-drop); Tue, 06 Aug 2002 11:48:09 +0100 "
    "(IST)\n"
    "Received: from lugh.tuatha.org (root@lugh.tuatha.org "
    "[194.125.145.45]) by\n"
    "    dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id g72LqWv13294 "
    "for\n"
    "    <jm-ilug@jmason.org>; Fri, 2 Aug 2002 22:52:32 +0100\n"
    "Received: from lugh (root@localhost [127.0.0.1]) by lugh.tuatha.org\n"
    "    (8.9.3/8.9.3) with ESMTP id WAA31224; Fri, 2 Aug 2002 22:50:17 "
    "+0100\n"
    "Received: from bettyjagessar.com (w142.z064000057.nyc-ny.dsl.cnc.net\n"
    "    [64.0.57.142]) by lugh.tuatha.org (8.9.3/8.9.3) with ESMTP id "
    "WAA31201 for\n"
    "    <ilug@linux.ie>; Fri, 2 Aug 2002 22:50:11 +0100\n"
    "X-Authentication-Warning: lugh.tuatha.org: Host "
    "w142.z064000057.nyc-ny.dsl.cnc.net\n"
    "    [64.0.57.142] claimed to be bettyjagessar.com\n"
    "Received: from 64.0.57.142 [202.63.165.34] by bettyjagessar.com\n"
    "    (SMTPD32-7.06 EVAL) id A42A7FC01F2; Fri, 02 Aug 2002 02:18:18 "
    "-0400\n"
    "Message-Id: <1028311679.886@0.57.142>\n"
    "To: ilug@linux.ie\n"
    "From: \"Start Now\" <startnow2002@hotmail.com>\n"
    "Subject: [ILUG] STOP THE MLM INSANITY\n"
    "\n"
    "body\n";

/* spam-1/00085.f63a9484ac582233db057dbb45dc0eaf, header only. */
static const char corpus_forged_below[] =
    "From dwftan@earthlink.com  Mon Aug 26 15:49:19 2002\n"
    "Return-Path: <dwftan@earthlink.com>\n"
    "Delivered-To: zzzz@localhost.spamassassin.taint.org\n"
    "Received: from localhost (localhost [127.0.0.1])\n"
    "\tby phobos.labs.spamassassin.taint.org (Postfix) with ESMTP id "
    "A05FC47C87\n"
    "\tfor <zzzz@localhost>; Mon, 26 Aug 2002 10:41:54 -0400 (EDT)\n"
    "Received: from phobos [127.0.0.1]\n"
    "\tby localhost with IMAP (fetchmail-5.9.0)\n"
    "\tfor zzzz@localhost (single-drop); Mon, 26 Aug 2002 15:41:54 +0100 "
    "(IST)\n"
    "Received: from webnote.net (mail.webnote.net [193.120.211.219]) by\n"
    "    dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id g7P1imZ27560 "
    "for\n"
    "    <zzzz@jmason.org>; Sun, 25 Aug 2002 02:44:48 +0100\n"
    "Received: from 148.235.82.114 ([206.112.72.3]) by webnote.net\n"
    "    (8.9.3/8.9.3) with SMTP id CAA18619 for <zzzz@jmason.org>; Sun,\n"
    "    25 Aug 2002 02:44:44 +0100\n"
    "Message-Id: <200208250144.CAA18619@webnote.net>\n"
    "Received: from unknown (201.187.168.97) by smtp-server1.cfl.rr.com "
    "with\n"
    "    QMQP; Aug, 25 2002 9:25:17 AM +0400\n"
    "Received: from unknown (124.215.35.163) by rly-xw01.mx.aol.com with "
    "QMQP;\n"
    "    Aug, 25 2002 8:14:22 AM +0600\n"
    "From: bwiTim Fai <dwftan@earthlink.com>\n"
    "To: Friend@webnote.net\n"
    "Cc: \n"
    "\n"
    "body\n";

static void
corpus_fetchmail_hop_skipped(void **state)
{
	struct mail_envelope *env = parse(corpus_webnote_pop);

	(void)state;
	/* The POP3 hop names the mailbox provider, not the sender. */
	assert_origin(env, "210.97.77.167");
	assert_string_equal(env->helo, "dd_it7");
	assert_string_equal(env->sender, "12a1mailbot1@web.de");
	assert_int_equal(env->rcpt_count, 2);
	assert_string_equal(env->rcpt[0], "dcek1a1@netsgo.com");
	assert_string_equal(
	    env->rcpt[1], "zzzz@localhost.spamassassin.taint.org");
	assert_false(env->rcpt_fallback);
	assert_int_equal(env->start,
	    strchr(corpus_webnote_pop, '\n') + 1 - corpus_webnote_pop);
	assert_int_equal(env->body_start,
	    strstr(corpus_webnote_pop, "\n\n") + 2 - corpus_webnote_pop);
	free(env);
}

static void
corpus_forward_chain_followed(void **state)
{
	struct mail_envelope *env = parse(corpus_forwarded);

	(void)state;
	/* Each field was written by the relay the field above names. */
	assert_origin(env, "199.35.236.73");
	assert_string_equal(env->helo, "html");
	assert_string_equal(env->sender, "merchantsworld2001@juno.com");
	assert_int_equal(env->rcpt_count, 1);
	assert_string_equal(env->rcpt[0], "ranmoore@swbell.net");
	free(env);
}

static void
corpus_list_server_passed(void **state)
{
	struct mail_envelope *env = parse(corpus_list);

	(void)state;
	/*
	 * The list server's loopback hop is passed; the field below the
	 * DSL host was written by a host that no relay above names.
	 */
	assert_origin(env, "64.0.57.142");
	assert_string_equal(env->helo, "bettyjagessar.com");
	assert_string_equal(env->sender, "ilug-admin@linux.ie");
	assert_int_equal(env->rcpt_count, 2);
	assert_string_equal(env->rcpt[0], "ilug@linux.ie");
	assert_string_equal(env->rcpt[1], "yyyy@localhost.netnoteinc.com");
	free(env);
}

static void
corpus_forged_fields_ignored(void **state)
{
	struct mail_envelope *env = parse(corpus_forged_below);

	(void)state;
	assert_origin(env, "206.112.72.3");
	assert_string_equal(env->helo, "[148.235.82.114]");
	assert_int_equal(env->rcpt_count, 2);
	assert_string_equal(env->rcpt[0], "Friend@webnote.net");
	free(env);
}

static void
crlf_same_as_lf(void **state)
{
	const char *const messages[] = {
	    corpus_webnote_pop,
	    corpus_forwarded,
	    corpus_list,
	    corpus_forged_below,
	};
	struct mail_envelope *lf, *crlf;
	size_t i, k;
	char *text, *body;

	(void)state;
	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		text = to_crlf(messages[i]);
		lf = parse(messages[i]);
		crlf = parse(text);
		assert_int_equal(lf->has_origin, crlf->has_origin);
		assert_memory_equal(
		    &lf->origin, &crlf->origin, sizeof(lf->origin));
		assert_string_equal(lf->sender, crlf->sender);
		assert_string_equal(lf->helo, crlf->helo);
		assert_int_equal(lf->rcpt_count, crlf->rcpt_count);
		for (k = 0; k < lf->rcpt_count; k++)
			assert_string_equal(lf->rcpt[k], crlf->rcpt[k]);
		body = to_crlf(messages[i] + lf->body_start);
		assert_string_equal(text + crlf->body_start, body);
		free(body);
		free(lf);
		free(crlf);
		free(text);
	}
}

static void
crlf_body_start(void **state)
{
	char *text = to_crlf("Subject: x\nTo: a@b.example\n\nline\n");
	struct mail_envelope *env = parse(text);

	(void)state;
	assert_string_equal(text + env->body_start, "line\r\n");
	assert_int_equal(env->start, 0);
	free(env);
	free(text);
}

static void
folded_address_lists(void **state)
{
	struct mail_envelope *env =
	    parse("To: \"Smith, John\" <john@example.org>,\n"
		  "\tjane@example.org (Jane Doe),\n"
		  "  Friends: a@example.net, <b@example.net>;,\n"
		  "  JOHN@EXAMPLE.ORG\n"
		  "Cc: <@relay.example:c@example.com>, not an address,\n"
		  " \"quoted <x@y.example>\" <d@example.com>\n"
		  "Delivered-To: john@example.org\n"
		  "X-Original-To: e@example.com\n"
		  "\n");

	(void)state;
	assert_int_equal(env->rcpt_count, 7);
	assert_string_equal(env->rcpt[0], "john@example.org");
	assert_string_equal(env->rcpt[1], "jane@example.org");
	assert_string_equal(env->rcpt[2], "a@example.net");
	assert_string_equal(env->rcpt[3], "b@example.net");
	assert_string_equal(env->rcpt[4], "c@example.com");
	assert_string_equal(env->rcpt[5], "d@example.com");
	assert_string_equal(env->rcpt[6], "e@example.com");
	assert_false(env->rcpt_fallback);
	free(env);
}

static void
sender_sources(void **state)
{
	struct mail_envelope *env;

	(void)state;
	env = parse("Return-Path: <>\nFrom: a@example.org\n\n");
	assert_string_equal(env->sender, "");
	free(env);

	env = parse("From: Someone <a@example.org>\nTo: b@example.org\n\n");
	assert_string_equal(env->sender, "a@example.org");
	free(env);

	env = parse("Return-Path: <bad address>\nFrom: c@example.org\n\n");
	assert_string_equal(env->sender, "c@example.org");
	free(env);

	env = parse("Subject: no sender\n\n");
	assert_string_equal(env->sender, "");
	free(env);
}

static void
no_recipients_fallback(void **state)
{
	struct mail_envelope *env = parse(
	    "To: undisclosed-recipients:;\nCc: \nSubject: hi\n\nTo: x@y.z\n");

	(void)state;
	assert_int_equal(env->rcpt_count, 1);
	assert_true(env->rcpt_fallback);
	assert_string_equal(env->rcpt[0], MAIL_FALLBACK_RCPT);
	free(env);
}

static void
no_received_no_origin(void **state)
{
	struct mail_envelope *env = parse(
	    "From: a@example.org\nTo: b@example.org\n\n"
	    "Received: from x ([8.8.8.8]) by y.example; body, not header\n");

	(void)state;
	assert_false(env->has_origin);
	assert_string_equal(env->helo, MAIL_FALLBACK_HELO);
	free(env);
}

static void
private_addresses_no_origin(void **state)
{
	struct mail_envelope *env =
	    parse("Received: from a (a [10.1.2.3]) by b.example; date\n"
		  "Received: from c (c [192.168.7.1]) by d.example; date\n"
		  "Received: from e (e [100.64.0.9]) by f.example; date\n"
		  "Received: from g (g [169.254.1.1]) by h.example; date\n"
		  "Received: from i (i [198.51.100.7]) by j.example; date\n"
		  "Received: from k (k [IPv6:fe80::1]) by l.example; date\n"
		  "Received: from m (m [IPv6:fd00::5]) by n.example; date\n"
		  "Received: from o (o [224.0.0.1]) by p.example; date\n"
		  "Received: from q (q [::1]) by r.example; date\n"
		  "To: a@example.org\n\n");

	(void)state;
	assert_false(env->has_origin);
	free(env);
}

static void
ipv6_literal_origin(void **state)
{
	struct mail_envelope *env = parse(
	    "Received: from localhost (localhost [127.0.0.1]) by mx.example;"
	    " date\n"
	    "Received: from sender.example.net (sender.example.net\n"
	    " [IPv6:2a00:1450:4001:82b::200e]) by mx.example.org with ESMTPS;"
	    " date\n\n");

	(void)state;
	assert_origin(env, "2a00:1450:4001:82b::200e");
	assert_string_equal(env->helo, "sender.example.net");
	free(env);
}

static void
ipv6_documentation_skipped(void **state)
{
	struct mail_envelope *env = parse(
	    "Received: from a.example ([2001:db8::25]) by b.example; date\n"
	    "Received: from c.example ([2a01:4f8::1]) by a.example; date\n"
	    "\n");

	(void)state;
	/* The first hop is not public, so the second one is the top. */
	assert_origin(env, "2a01:4f8::1");
	free(env);
}

static void
bracketed_preferred_over_bare(void **state)
{
	struct mail_envelope *env;

	(void)state;
	env = parse("Received: from 81.2.69.142 [81.2.69.160] by x.example;"
		    " date\n\n");
	assert_origin(env, "81.2.69.160");
	free(env);

	env = parse("Received: from unknown (HELO 81.2.69.142) (81.2.69.144)"
		    " by x.example with SMTP; date\n\n");
	assert_origin(env, "81.2.69.144");
	free(env);

	env = parse("Received: from r-smtp.korea.com - 203.122.2.197 by"
		    " dd_it7 with Microsoft SMTPSVC; date\n\n");
	assert_origin(env, "203.122.2.197");
	free(env);
}

static void
address_inside_names_ignored(void **state)
{
	struct mail_envelope *env =
	    parse("Received: from host-81-2-69-142.dsl.example "
		  "(81.2.69.142.rev.example) by mx.example; date\n\n");

	(void)state;
	assert_false(env->has_origin);
	free(env);
}

static void
fetch_only_no_origin(void **state)
{
	struct mail_envelope *env =
	    parse("Received: from mail.webnote.net [193.120.211.219]\n"
		  "\tby localhost with POP3 (fetchmail-5.9.0)\n"
		  "\tfor zzzz@localhost (single-drop); Thu, 22 Aug 2002\n"
		  "Received: (qmail 1234 invoked from network); date\n"
		  "Received: by mx.example with SMTP id 1; date\n\n");

	(void)state;
	assert_false(env->has_origin);
	free(env);
}

static void
undotted_name_not_followed(void **state)
{
	struct mail_envelope *env = parse(
	    "Received: from dd_it7 ([210.97.77.167]) by webnote.net; date\n"
	    "Received: from x (x [203.122.2.197]) by dd_it7; date\n\n");

	(void)state;
	assert_origin(env, "210.97.77.167");
	free(env);
}

static void
non_field_line_ends_header(void **state)
{
	struct mail_envelope *env = parse(
	    "To: a@example.org\nthis is not a field\nCc: b@example.org\n");

	(void)state;
	assert_int_equal(env->rcpt_count, 1);
	assert_string_equal(env->rcpt[0], "a@example.org");
	assert_int_equal(env->body_start, strlen("To: a@example.org\n"));
	free(env);
}

static void
obsolete_space_before_colon(void **state)
{
	struct mail_envelope *env = parse("To : a@example.org\n\n");

	(void)state;
	assert_int_equal(env->rcpt_count, 1);
	assert_string_equal(env->rcpt[0], "a@example.org");
	free(env);
}

static void
recipients_bounded(void **state)
{
	size_t cap = 64 * 1024, len = 0, i;
	char *text = malloc(cap);
	struct mail_envelope *env;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "To: ");
	for (i = 0; i < 3 * REPLAY_RCPT_MAX; i++)
		len += (size_t)snprintf(
		    text + len, cap - len, "user%zu@example.org,\n ", i);
	len += (size_t)snprintf(text + len, cap - len, "last@example.org\n\n");
	env = parse_bytes(text, len);
	assert_int_equal(env->rcpt_count, REPLAY_RCPT_MAX);
	assert_string_equal(env->rcpt[0], "user0@example.org");
	assert_string_equal(
	    env->rcpt[REPLAY_RCPT_MAX - 1], "user99@example.org");
	free(env);
	free(text);
}

static void
overlong_address_rejected(void **state)
{
	char text[SMTP_ADDRESS_MAX * 2 + 64];
	struct mail_envelope *env;
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "To: <");
	memset(text + n, 'a', SMTP_ADDRESS_MAX);
	n += SMTP_ADDRESS_MAX;
	n += (size_t)snprintf(
	    text + n, sizeof(text) - n, "@example.org>, ok@example.org\n\n");
	env = parse_bytes(text, n);
	assert_int_equal(env->rcpt_count, 1);
	assert_string_equal(env->rcpt[0], "ok@example.org");
	free(env);
}

static void
overlong_received_bounded(void **state)
{
	size_t cap = 256 * 1024, len = 0;
	char *text = malloc(cap);
	struct mail_envelope *env;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(
	    text + len, cap - len, "Received: from x.example (");
	while (len + 64 < cap / 2)
		len += (size_t)snprintf(text + len, cap - len, "word ");
	len += (size_t)snprintf(
	    text + len, cap - len, "[81.2.69.142]) by y.example; date\n\n");
	env = parse_bytes(text, len);
	assert_origin(env, "81.2.69.142");
	free(env);
	free(text);
}

static void
binary_header_bytes(void **state)
{
	static const char text[] =
	    "Subject: \xff\xfe\x00\x01 junk\n"
	    "To: \x80\x81@example.org, ok@example.org\x00\n"
	    "Received: from x\x00y ([81.2.69.142\x00]) by\xff z.example; d\n"
	    "Received: from a ([1.2.3.4\xff]) by b.example; date\n"
	    "\n";
	struct mail_envelope *env = parse_bytes(text, sizeof(text) - 1);
	size_t i;

	(void)state;
	/* A NUL or 8-bit byte separates words, so the address is found. */
	assert_origin(env, "81.2.69.142");
	for (i = 0; i < env->rcpt_count; i++)
		assert_null(strpbrk(env->rcpt[i], "\r\n <>"));
	free(env);
}

static void
every_prefix_parses(void **state)
{
	const char *text = corpus_list;
	size_t len = strlen(text), n;
	struct mail_envelope *env;

	(void)state;
	for (n = 0; n <= len; n++) {
		env = parse_bytes(text, n);
		assert_true(env->start <= n);
		assert_true(env->body_start <= n);
		assert_true(env->rcpt_count >= 1);
		assert_true(env->rcpt_count <= REPLAY_RCPT_MAX);
		free(env);
	}
}

static void
public_address_table(void **state)
{
	static const struct {
		const char *text;
		bool is_public;
	} cases[] = {
	    {"8.8.8.8", true},
	    {"210.97.77.167", true},
	    {"0.1.2.3", false},
	    {"10.0.0.1", false},
	    {"100.63.255.255", true},
	    {"100.64.0.1", false},
	    {"100.127.255.255", false},
	    {"100.128.0.0", true},
	    {"127.0.0.1", false},
	    {"169.254.10.10", false},
	    {"172.15.255.255", true},
	    {"172.16.0.1", false},
	    {"172.31.255.255", false},
	    {"172.32.0.0", true},
	    {"192.0.2.1", false},
	    {"192.168.1.1", false},
	    {"198.18.0.1", false},
	    {"198.19.255.255", false},
	    {"198.20.0.0", true},
	    {"198.51.100.1", false},
	    {"203.0.113.9", false},
	    {"224.0.0.1", false},
	    {"239.255.255.255", false},
	    {"240.0.0.1", false},
	    {"255.255.255.255", false},
	    {"2a00:1450::1", true},
	    {"2001:db8::1", false},
	    {"3fff::1", false},
	    {"::1", false},
	    {"::", false},
	    {"fe80::1", false},
	    {"fc00::1", false},
	    {"ff02::1", false},
	    {"::ffff:8.8.8.8", true},
	    {"::ffff:10.0.0.1", false},
	};
	struct sockaddr_storage ss;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ss, 0, sizeof(ss));
		if (strchr(cases[i].text, ':') != NULL) {
			ss.ss_family = AF_INET6;
			assert_int_equal(
			    inet_pton(AF_INET6, cases[i].text,
				&((struct sockaddr_in6 *)&ss)->sin6_addr),
			    1);
		} else {
			ss.ss_family = AF_INET;
			assert_int_equal(
			    inet_pton(AF_INET, cases[i].text,
				&((struct sockaddr_in *)&ss)->sin_addr),
			    1);
		}
		if (mail_addr_is_public((struct sockaddr *)&ss) !=
		    cases[i].is_public)
			fail_msg("%s: expected %s", cases[i].text,
			    cases[i].is_public ? "public" : "not public");
	}
}

static void
mbox_split(void **state)
{
	static const char mbox[] =
	    "From a@example.org Thu Aug 22 13:17:22 2002\n"
	    "To: one@example.org\n\nbody one\n>From quoted\n\n"
	    "From b@example.org Thu Aug 22 13:17:23 2002\n"
	    "To: two@example.org\n\nbody two\n\n"
	    "From c@example.org Thu Aug 22 13:17:24 2002\n"
	    "To: three@example.org\n\nbody three\n";
	size_t pos = 0, start, len, count = 0;
	const char *want_end[] = {
	    ">From quoted\n", "body two\n", "body three\n"};
	struct mail_envelope *env;

	(void)state;
	while (mail_mbox_next(mbox, sizeof(mbox) - 1, &pos, &start, &len)) {
		size_t tail = strlen(want_end[count]);

		assert_true(count < 3);
		assert_memory_equal(mbox + start, "From ", 5);
		assert_true(len >= tail);
		assert_memory_equal(
		    mbox + start + len - tail, want_end[count], tail);
		env = parse_bytes(mbox + start, len);
		assert_true(env->start > 0);
		assert_int_equal(env->rcpt_count, 1);
		assert_false(env->rcpt_fallback);
		free(env);
		count++;
	}
	assert_int_equal(count, 3);
	assert_int_equal(pos, sizeof(mbox) - 1);
}

static void
mbox_empty(void **state)
{
	size_t pos = 0, start = 0, len = 0;

	(void)state;
	assert_false(mail_mbox_next("", 0, &pos, &start, &len));
	assert_false(mail_mbox_next("no separator\n", 13, &pos, &start, &len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(corpus_fetchmail_hop_skipped),
	    cmocka_unit_test(corpus_forward_chain_followed),
	    cmocka_unit_test(corpus_list_server_passed),
	    cmocka_unit_test(corpus_forged_fields_ignored),
	    cmocka_unit_test(crlf_same_as_lf),
	    cmocka_unit_test(crlf_body_start),
	    cmocka_unit_test(folded_address_lists),
	    cmocka_unit_test(sender_sources),
	    cmocka_unit_test(no_recipients_fallback),
	    cmocka_unit_test(no_received_no_origin),
	    cmocka_unit_test(private_addresses_no_origin),
	    cmocka_unit_test(ipv6_literal_origin),
	    cmocka_unit_test(ipv6_documentation_skipped),
	    cmocka_unit_test(bracketed_preferred_over_bare),
	    cmocka_unit_test(address_inside_names_ignored),
	    cmocka_unit_test(fetch_only_no_origin),
	    cmocka_unit_test(undotted_name_not_followed),
	    cmocka_unit_test(non_field_line_ends_header),
	    cmocka_unit_test(obsolete_space_before_colon),
	    cmocka_unit_test(recipients_bounded),
	    cmocka_unit_test(overlong_address_rejected),
	    cmocka_unit_test(overlong_received_bounded),
	    cmocka_unit_test(binary_header_bytes),
	    cmocka_unit_test(every_prefix_parses),
	    cmocka_unit_test(public_address_table),
	    cmocka_unit_test(mbox_split),
	    cmocka_unit_test(mbox_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
