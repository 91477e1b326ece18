/*
 * The certificate the SMTP emulator presents after STARTTLS: a
 * self-signed ECDSA P-256 certificate for the configured host names,
 * kept in the spool under tls/ so that a client meets the same
 * certificate across restarts, as it would at a real mail server.
 */
#ifndef SPAMPOT_TLSCERT_H
#define SPAMPOT_TLSCERT_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * Load spool/tls/cert.pem and spool/tls/key.pem, or create them when
 * they are missing, unreadable or name other hosts than names[0..n),
 * and return a TLS server context that uses them.  The certificate's
 * common name is names[0] and its subject alternative names are all of
 * them.  Returns NULL with a message in err on failure.  Call it
 * before dropping privileges: the key file is readable only by its
 * owner.
 */
SSL_CTX *tlscert_server_context(const char *spool, const char *const *names,
    int n, char *err, size_t errlen);

#endif
