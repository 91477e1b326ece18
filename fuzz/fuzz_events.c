/*
 * libFuzzer harness for the events reader: the input is one events
 * file.  The line reader cuts it into lines, fed in pieces whose size
 * the first byte picks so that lines also cross reads, and every line
 * is mapped to an event, as ingest does before it touches the
 * database.  Beyond what the sanitizers catch, it aborts when the
 * reader breaks its contract: lines within INGEST_LINE_MAX, offsets
 * within the input and counted in order.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../server/ingest.h"
#include "spampot_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct progress {
	uint64_t lines;
	uint64_t end;
	size_t size;
};

static int
map_line(
    void *arg, const char *line, size_t len, uint64_t line_no, uint64_t end)
{
	struct progress *p = arg;
	struct event ev;
	char why[256];

	if (line_no != p->lines + 1 || end <= p->end || end > p->size ||
	    end - p->end != len + 1)
		abort();
	if (line != NULL && len > INGEST_LINE_MAX)
		abort();
	p->lines = line_no;
	p->end = end;
	if (line == NULL)
		return 0;
	if (event_parse(line, len, &ev, why, sizeof(why)) == 0) {
		if (ev.kind >= EVENT_KIND_COUNT || ev.timestamp == NULL)
			abort();
		event_free(&ev);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct progress p = {0};
	struct line_reader r;
	size_t off = 0, step, n;

	if (size == 0)
		return 0;
	step = (size_t)data[0] * 61 + 1;
	data++;
	size--;
	p.size = size;
	line_reader_init(&r, 0, 0);
	while (off < size) {
		n = size - off < step ? size - off : step;
		line_reader_feed(&r, (const char *)data + off, n, map_line, &p);
		off += n;
		if (r.partial_len > INGEST_LINE_MAX || r.offset != p.end)
			abort();
	}
	if (r.partial_len + r.skipped != size - r.offset)
		abort();
	line_reader_free(&r);
	return 0;
}
