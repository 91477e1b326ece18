/* Results shared by the incremental parsers of peer input. */
#ifndef SPAMPOT_PARSE_H
#define SPAMPOT_PARSE_H

enum parse_result {
	PARSE_ERROR = -1,	/* malformed or over a limit: answer and close */
	PARSE_MORE = 0,		/* valid so far, more bytes are needed */
	PARSE_OK = 1,		/* complete; the parser reports bytes used */
};

#endif
