/* Checking a stored body against its name; see bodyfile.h. */
#include "bodyfile.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "spampot_limits.h"
#include "util.h"

bool
body_file_verified(const char *path, const char *sha)
{
	unsigned char in[65536], out[65536], md[32];
	char hex[65];
	ZSTD_DStream *zs = ZSTD_createDStream();
	EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
	uint64_t total = 0;
	size_t rc = 1, n;
	bool ok = false;
	FILE *fp;

	if (zs == NULL || md_ctx == NULL ||
	    EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) != 1 ||
	    (fp = fopen(path, "rbe")) == NULL)
		goto done;
	while ((n = fread(in, 1, sizeof(in), fp)) > 0) {
		ZSTD_inBuffer ib = {in, n, 0};

		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = {out, sizeof(out), 0};

			rc = ZSTD_decompressStream(zs, &ob, &ib);
			if (ZSTD_isError(rc))
				goto close;
			total += ob.pos;
			if (total > SMTP_MESSAGE_SIZE_MAX)
				goto close;
			EVP_DigestUpdate(md_ctx, out, ob.pos);
		}
	}
	if (rc == 0 && !ferror(fp) &&
	    EVP_DigestFinal_ex(md_ctx, md, NULL) == 1) {
		hex_encode(md, sizeof(md), hex);
		ok = strcmp(hex, sha) == 0;
	}
close:
	fclose(fp);
done:
	ZSTD_freeDStream(zs);
	EVP_MD_CTX_free(md_ctx);
	return ok;
}
