/* pb.c: see pb.h. */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

void pb_reset(pb_writer *w) {
    w->len = 0;
    w->failed = 0;
}

static int grow(pb_writer *w, size_t more) {
    if (w->failed) return 0;
    if (w->len + more <= w->cap) return 1;
    size_t c = w->cap ? w->cap : 256;
    while (c < w->len + more) c *= 2;
    uint8_t *b = realloc(w->buf, c);
    if (!b) {
        w->failed = 1;
        return 0;
    }
    w->buf = b;
    w->cap = c;
    return 1;
}

static size_t put_varint(uint8_t *b, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

int pb_reserve(pb_writer *w, size_t n) { return grow(w, n); }

static void raw_varint(pb_writer *w, uint64_t v) {
    if (grow(w, 10)) w->len += put_varint(w->buf + w->len, v);
}

static void tag(pb_writer *w, uint32_t field, int type) { raw_varint(w, (uint64_t)field << 3 | (uint64_t)type); }

void pb_varint(pb_writer *w, uint32_t field, uint64_t v) {
    if (v == 0) return;
    tag(w, field, PB_VARINT);
    raw_varint(w, v);
}

void pb_sint64(pb_writer *w, uint32_t field, int64_t v) {
    pb_varint(w, field, (uint64_t)v << 1 ^ (uint64_t)(v >> 63));
}

void pb_bool(pb_writer *w, uint32_t field, int v) { pb_varint(w, field, v ? 1 : 0); }

void pb_double(pb_writer *w, uint32_t field, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    if (bits == 0) return; /* +0; -0 has its sign bit and is written */
    tag(w, field, PB_I64);
    if (!grow(w, 8)) return;
    for (int i = 0; i < 8; i++) w->buf[w->len++] = (uint8_t)(bits >> (8 * i));
}

void pb_bytes(pb_writer *w, uint32_t field, const void *p, size_t n) {
    if (n == 0) return;
    tag(w, field, PB_LEN);
    raw_varint(w, n);
    if (!grow(w, n)) return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void pb_string(pb_writer *w, uint32_t field, const char *s) { pb_bytes(w, field, s, strlen(s)); }

void pb_packed(pb_writer *w, uint32_t field, const uint32_t *v, size_t n) {
    if (n == 0) return;
    size_t start = pb_begin(w);
    for (size_t i = 0; i < n; i++) raw_varint(w, v[i]);
    pb_end(w, field, start);
}

size_t pb_begin(pb_writer *w) { return w->len; }

void pb_end(pb_writer *w, uint32_t field, size_t start) {
    if (w->failed) return;
    uint8_t hdr[20];
    size_t n = w->len - start;
    size_t h = put_varint(hdr, (uint64_t)field << 3 | PB_LEN);
    h += put_varint(hdr + h, n);
    if (!grow(w, h)) return;
    memmove(w->buf + start + h, w->buf + start, n);
    memcpy(w->buf + start, hdr, h);
    w->len += h;
}

static int get_varint(pb_reader *r, uint64_t *v) {
    uint64_t x = 0;
    for (int s = 0; s < 70 && r->p < r->end; s += 7) {
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

int pb_next(pb_reader *r, pb_field *f) {
    if (r->p >= r->end) return 0;
    uint64_t t;
    if (!get_varint(r, &t) || t >> 3 == 0 || t >> 3 > UINT32_MAX) return -1;
    f->num = (uint32_t)(t >> 3);
    f->type = (int)(t & 7);
    f->u = 0;
    f->p = NULL;
    f->n = 0;
    switch (f->type) {
    case PB_VARINT:
        return get_varint(r, &f->u) ? 1 : -1;
    case PB_I64:
    case PB_I32: {
        size_t n = f->type == PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n) return -1;
        for (size_t i = 0; i < n; i++) f->u |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 1;
    }
    case PB_LEN: {
        uint64_t n;
        if (!get_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return -1;
        f->p = r->p;
        f->n = (size_t)n;
        r->p += n;
        return 1;
    }
    }
    return -1; /* groups (3, 4) and wire types 6, 7 */
}

int pb_ids(const pb_field *f, uint32_t *ids, size_t max, size_t *n, uint64_t limit) {
    if (f->type == PB_VARINT) { /* one element, unpacked */
        if (*n >= max || f->u > limit) return -1;
        ids[(*n)++] = (uint32_t)f->u;
        return 0;
    }
    if (f->type != PB_LEN) return -1;
    pb_reader r = pb_read(f->p, f->n);
    while (r.p < r.end) {
        uint64_t v;
        if (!get_varint(&r, &v) || *n >= max || v > limit) return -1;
        ids[(*n)++] = (uint32_t)v;
    }
    return 0;
}
