/*
 * pb.h: the part of the protobuf binary format (proto3) that ABI v1 uses,
 * by hand, as sdk/abi/GUIDE.md ("The wire encoding") describes it: a
 * growing writer with nested messages, and a reader that returns one field
 * at a time and skips what it does not know. No protobuf library.
 */
#ifndef PB_H
#define PB_H

#include <stddef.h>
#include <stdint.h>

/* Wire types. */
enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

/* pb_writer is a growing buffer. An allocation failure sets failed and
 * makes every later write a no-op. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} pb_writer;

void pb_reset(pb_writer *w);
/* pb_reserve makes room for n more bytes at buf+len; 0 if it cannot. */
int pb_reserve(pb_writer *w, size_t n);
void pb_varint(pb_writer *w, uint32_t field, uint64_t v);      /* left out when 0 */
void pb_sint64(pb_writer *w, uint32_t field, int64_t v);       /* zigzag; left out when 0 */
void pb_bool(pb_writer *w, uint32_t field, int v);             /* left out when false */
void pb_double(pb_writer *w, uint32_t field, double v);        /* left out when +0 */
void pb_bytes(pb_writer *w, uint32_t field, const void *p, size_t n); /* left out when empty */
void pb_string(pb_writer *w, uint32_t field, const char *s);
void pb_packed(pb_writer *w, uint32_t field, const uint32_t *v, size_t n);
/* pb_begin starts an embedded message; pb_end writes it as field (even
 * when empty: an empty message differs from an absent one only where
 * abi.proto says so, and writing it is always valid). */
size_t pb_begin(pb_writer *w);
void pb_end(pb_writer *w, uint32_t field, size_t start);

/* pb_field is one field read. */
typedef struct {
    uint32_t num;
    int type;
    uint64_t u;          /* PB_VARINT, PB_I64 (the bits), PB_I32 */
    const uint8_t *p;    /* PB_LEN */
    size_t n;            /* PB_LEN */
} pb_field;

typedef struct {
    const uint8_t *p, *end;
} pb_reader;

static inline pb_reader pb_read(const void *p, size_t n) {
    pb_reader r = {(const uint8_t *)p, (const uint8_t *)p + n};
    return r;
}

/* pb_next reads the next field: 1 when it did, 0 at the end, -1 for
 * malformed input (a truncated field, a varint over 10 bytes, a group or
 * an unknown wire type, field number 0). */
int pb_next(pb_reader *r, pb_field *f);

/* pb_zigzag decodes a sint64. */
static inline int64_t pb_zigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

/* pb_ids decodes the ids of a repeated uint32 field, packed or not, into
 * ids (at most max, each at most limit), counting them in *n; -1 if
 * malformed or too many. */
int pb_ids(const pb_field *f, uint32_t *ids, size_t max, size_t *n, uint64_t limit);

#endif
