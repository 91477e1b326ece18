/*
 * The server name (SNI, RFC 6066 section 3) of a TLS ClientHello, read
 * from the first bytes a client sent into a tunnel that leads nowhere.
 * The bytes are hostile: every length is checked against what arrived.
 */
#ifndef SPAMPOT_TLSHELLO_H
#define SPAMPOT_TLSHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Find the host_name of the server_name extension in buf, a TLS record
 * that starts a ClientHello.  Returns true with the name in out (cut to
 * cap - 1 bytes, NUL-terminated); false for anything else, including a
 * ClientHello cut short before the extension.
 */
bool tls_client_hello_sni(
    const uint8_t *buf, size_t len, char *out, size_t cap);

#endif
