/*
 * The STARTTLS certificate; see tlscert.h.
 *
 * Mail servers mostly run self-signed or snake-oil certificates, so a
 * self-signed one is what a spammer's checker expects to meet.  Its
 * validity starts a year back, as a certificate made at install time
 * would, and runs ten years ahead.
 */
#include "tlscert.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define DAY_SECONDS       (24L * 60 * 60)
#define VALID_BEFORE_DAYS 365
#define VALID_AFTER_DAYS  3650

/* Put OpenSSL's last error, or what, into err. */
static void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();

	snprintf(err, errlen, "%s: %s", what,
	    e != 0 ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
}

/* True when cert's CN is names[0] and its DNS names are names[0..n). */
static bool
cert_names_match(X509 *cert, const char *const *names, int n)
{
	char cn[256];
	GENERAL_NAMES *sans;
	bool ok;

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
		NID_commonName, cn, sizeof(cn)) < 0 ||
	    strcmp(cn, names[0]) != 0)
		return false;
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (sans == NULL)
		return false;
	ok = sk_GENERAL_NAME_num(sans) == n;
	for (int i = 0; ok && i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const unsigned char *dns;

		if (g->type != GEN_DNS) {
			ok = false;
			break;
		}
		dns = ASN1_STRING_get0_data(g->d.dNSName);
		ok = (size_t)ASN1_STRING_length(g->d.dNSName) ==
			strlen(names[i]) &&
		    memcmp(dns, names[i], strlen(names[i])) == 0;
	}
	GENERAL_NAMES_free(sans);
	return ok;
}

/* Read a PEM file: a certificate when key is NULL, else a private key. */
static bool
read_pem(const char *path, X509 **cert, EVP_PKEY **key)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	if (cert != NULL)
		*cert = PEM_read_X509(f, NULL, NULL, NULL);
	else
		*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	return cert != NULL ? *cert != NULL : *key != NULL;
}

static bool
add_extension(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return false;
	ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* Build the "DNS:a,DNS:b" value of the subjectAltName extension. */
static bool
san_value(const char *const *names, int n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + len, size - len, "%sDNS:%s",
		    i > 0 ? "," : "", names[i]);

		if (w < 0 || (size_t)w >= size - len)
			return false;
		len += (size_t)w;
	}
	return true;
}

/* Make a self-signed certificate for names with a new P-256 key. */
static bool
make_cert(const char *const *names, int n, X509 **cert_out, EVP_PKEY **key_out)
{
	char sans[32 * 264];
	unsigned char serial[16];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *subject = X509_NAME_new();
	BIGNUM *bn = NULL;
	bool ok = false;

	if (key == NULL || cert == NULL || subject == NULL ||
	    RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* a positive serial number (RFC 5280) */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
		goto out;
	if (X509_set_version(cert, 2) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert),
		-VALID_BEFORE_DAYS * DAY_SECONDS) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert),
		VALID_AFTER_DAYS * DAY_SECONDS) == NULL)
		goto out;
	if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
		(const unsigned char *)names[0], -1, -1, 0) != 1 ||
	    X509_set_subject_name(cert, subject) != 1 ||
	    X509_set_issuer_name(cert, subject) != 1 ||
	    X509_set_pubkey(cert, key) != 1)
		goto out;
	if (!san_value(names, n, sans, sizeof(sans)) ||
	    !add_extension(cert, NID_subject_alt_name, sans) ||
	    !add_extension(cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_extension(cert, NID_key_usage, "critical,digitalSignature") ||
	    !add_extension(cert, NID_ext_key_usage, "serverAuth") ||
	    X509_sign(cert, key, EVP_sha256()) == 0)
		goto out;
	*cert_out = cert;
	*key_out = key;
	cert = NULL;
	key = NULL;
	ok = true;
out:
	BN_free(bn);
	X509_NAME_free(subject);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ok;
}

/* Write a PEM file through a temporary name, with the given mode. */
static bool
write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key)
{
	char tmp[PATH_MAX + 32];
	FILE *f;
	int fd, w;
	bool ok;

	w = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (w < 0 || (size_t)w >= sizeof(tmp))
		return false;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	ok = cert != NULL
	    ? PEM_write_X509(f, cert) == 1
	    : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp, path) == 0)
		return true;
	unlink(tmp);
	return false;
}

/* Load the stored pair when it still fits names, else make and store one. */
static bool
load_or_make(const char *dir, const char *const *names, int n, X509 **cert,
    EVP_PKEY **key, char *err, size_t errlen)
{
	char cert_path[PATH_MAX + 16], key_path[PATH_MAX + 16];

	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	if (read_pem(cert_path, cert, NULL) && read_pem(key_path, NULL, key) &&
	    cert_names_match(*cert, names, n) &&
	    X509_check_private_key(*cert, *key) == 1)
		return true;
	X509_free(*cert);
	EVP_PKEY_free(*key);
	*cert = NULL;
	*key = NULL;
	ERR_clear_error();
	if (!make_cert(names, n, cert, key)) {
		tls_error(err, errlen, "cannot create the TLS certificate");
		return false;
	}
	/* The key first: a certificate without its key is never left. */
	if (!write_pem(key_path, 0600, NULL, *key) ||
	    !write_pem(cert_path, 0644, *cert, NULL)) {
		snprintf(
		    err, errlen, "cannot write %s: %s", dir, strerror(errno));
		return false;
	}
	return true;
}

SSL_CTX *
tlscert_server_context(const char *spool, const char *const *names, int n,
    char *err, size_t errlen)
{
	char dir[PATH_MAX];
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;
	int w;

	if (n <= 0) {
		snprintf(err, errlen, "no host name for the TLS certificate");
		return NULL;
	}
	w = snprintf(dir, sizeof(dir), "%s/tls", spool);
	if (w < 0 || (size_t)w >= sizeof(dir) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		snprintf(err, errlen, "cannot create %s/tls: %s", spool,
		    strerror(errno));
		return NULL;
	}
	if (!load_or_make(dir, names, n, &cert, &key, err, errlen))
		goto out;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL || SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen, "cannot set up TLS");
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ctx;
}
