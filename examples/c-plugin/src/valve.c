/*
 * valve.c: a wasm2m object plugin written in C against ABI v1
 * (sdk/abi/GUIDE.md), with no wasm2m code and no protobuf library: the
 * messages are encoded and decoded by hand (pb.c).
 *
 * It implements object 26241, Valve (a private object id; its definition is
 * examples/custom-object/26241.xml, the same object as the Go example's):
 *
 *   0 Open               RW Boolean  mandatory
 *   1 Position           RW Integer  0..100 %
 *   2 Flow Rate          R  Float    l/min: 12 × Position/100 while open
 *   3 Cycle Count        R  Integer  times opened
 *   4 Reset Cycle Count  E
 *   5 Name               RW String   at most 64 bytes
 *
 * Each valve is one key of the plugin's key-value space ("valve/<id>",
 * 7 + n bytes: open, position, cycle count little-endian, name), because
 * the host runs a pool of instances of the module, each with its own
 * memory; the module keeps only its buffers. The first start creates valve
 * 0 and the key "init", so that valves the server deleted stay deleted.
 * Opening a valve or moving it changes its flow rate and cycle count
 * without a write of them: the plugin reports those paths with the
 * Changed host method, so that observations of them fire.
 *
 * Build with ./build.sh (clang for wasm32-wasi, a WASI reactor).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "wasm2m.h"

#define OBJECT_ID 26241u
#define MAX_VALVES 16
#define MAX_NAME 64
#define MAX_FLOW 12.0 /* l/min, fully open */

enum { R_OPEN = 0, R_POSITION = 1, R_FLOW = 2, R_CYCLES = 3, R_RESET = 4, R_NAME = 5 };

typedef struct {
    uint32_t id;
    const char *name;
    uint32_t ops;
    int type;
    int mandatory;
    const char *units;
    const char *range; /* RangeEnumeration: "" or "0..100" */
    double min, max;
    const char *description;
} resource_def;

static const resource_def resources[] = {
    {R_OPEN, "Open", OP_R | OP_W, T_BOOLEAN, 1, "", "", 0, 0, "Whether the valve is open."},
    {R_POSITION, "Position", OP_R | OP_W, T_INTEGER, 0, "%", "0..100", 0, 100, "How far the valve opens when it is open."},
    {R_FLOW, "Flow Rate", OP_R, T_FLOAT, 0, "l/min", "", 0, 0, "The flow through the valve now."},
    {R_CYCLES, "Cycle Count", OP_R, T_INTEGER, 0, "", "", 0, 0, "How many times the valve was opened."},
    {R_RESET, "Reset Cycle Count", OP_E, T_NONE, 0, "", "", 0, 0, "Sets the Cycle Count to 0."},
    {R_NAME, "Name", OP_R | OP_W, T_STRING, 0, "", "", 0, 0, "What the valve is called."},
};
#define NRES (sizeof resources / sizeof resources[0])

static const resource_def *resource(uint32_t id) {
    for (size_t i = 0; i < NRES; i++)
        if (resources[i].id == id) return &resources[i];
    return NULL;
}

typedef struct {
    int open;
    int64_t position;
    int64_t cycles;
    char name[MAX_NAME + 1];
} valve;

static valve fresh(void) {
    valve v = {0, 100, 0, ""};
    return v;
}

/* ---------------------------------------------------------------------
 * Buffers: all owned by the module, reused across calls. */

static uint8_t *call_buf; /* the call buffer the host writes requests to */
static size_t call_cap;
static pb_writer out;     /* the response of the current call */
static pb_writer hreq;    /* a request to the host */
static pb_writer hresp;   /* the host's response, copied by result */
static char err_text[256];
static size_t err_len;

/* fail records why the call fails and returns its status, negated. */
static int64_t fail(int32_t status, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(err_text, sizeof err_text, format, ap);
    va_end(ap);
    err_len = n < 0 ? 0 : (size_t)n < sizeof err_text ? (size_t)n : sizeof err_text - 1;
    return wasm2m_fail(status);
}

static void logf_(int32_t level, const char *format, ...) {
    char b[256];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(b, sizeof b, format, ap);
    va_end(ap);
    if (n > 0) wasm2m_log(level, b, n < (int)sizeof b ? n : (int)sizeof b - 1);
}

/* ---------------------------------------------------------------------
 * Host calls. */

/* host calls host method m with the request in hreq; the response (or the
 * error text) ends up in hresp. It returns 0 or the failure's status. */
static int32_t host(int32_t m) {
    int32_t n = wasm2m_host_call(m, hreq.buf, (int32_t)hreq.len);
    int32_t want = n < 0 ? 1024 : n; /* an error text is at most 1024 bytes */
    pb_reset(&hresp);
    if (want > 0) {
        if (!pb_reserve(&hresp, (size_t)want)) return S_INTERNAL;
        int32_t got = wasm2m_host_result(hresp.buf, want);
        hresp.len = got < 0 ? 0 : (size_t)got;
    }
    return n < 0 ? -n : 0;
}

static void key_of(char *k, size_t cap, uint32_t id) { snprintf(k, cap, "valve/%u", id); }

/* load reads valve id: 0, S_NOT_FOUND or the host call's status. */
static int32_t load(uint32_t id, valve *v) {
    char k[32];
    key_of(k, sizeof k, id);
    pb_reset(&hreq);
    pb_string(&hreq, 1, k);
    int32_t s = host(H_KV_GET);
    if (s) return s;
    int found = 0;
    const uint8_t *b = NULL;
    size_t n = 0;
    pb_reader r = pb_read(hresp.buf, hresp.len);
    pb_field f;
    int more;
    while ((more = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.type == PB_VARINT) found = f.u != 0;
        if (f.num == 2 && f.type == PB_LEN) b = f.p, n = f.n;
    }
    if (more < 0) return S_INTERNAL;
    if (!found) return S_NOT_FOUND;
    if (n < 6 || n > 6 + MAX_NAME) return S_INTERNAL;
    v->open = b[0] != 0;
    v->position = b[1];
    v->cycles = (int64_t)((uint32_t)b[2] | (uint32_t)b[3] << 8 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 24);
    memcpy(v->name, b + 6, n - 6);
    v->name[n - 6] = 0;
    return 0;
}

static int32_t save(uint32_t id, const valve *v) {
    char k[32];
    uint8_t b[6 + MAX_NAME];
    size_t n = strlen(v->name);
    uint32_t c = (uint32_t)v->cycles;
    b[0] = (uint8_t)v->open;
    b[1] = (uint8_t)v->position;
    b[2] = (uint8_t)c, b[3] = (uint8_t)(c >> 8), b[4] = (uint8_t)(c >> 16), b[5] = (uint8_t)(c >> 24);
    memcpy(b + 6, v->name, n);
    key_of(k, sizeof k, id);
    pb_reset(&hreq);
    pb_string(&hreq, 1, k);
    pb_bytes(&hreq, 2, b, 6 + n); /* never empty: 6 bytes at least */
    return host(H_KV_PUT);
}

static int32_t erase(uint32_t id) {
    char k[32];
    key_of(k, sizeof k, id);
    pb_reset(&hreq);
    pb_string(&hreq, 1, k);
    return host(H_KV_DELETE);
}

/* list returns the ids of the valves, ascending, in ids (at most
 * MAX_VALVES + 1; more keys than that is a broken store). */
static int32_t list(uint32_t *ids, size_t *n) {
    char after[32] = "";
    *n = 0;
    for (;;) {
        pb_reset(&hreq);
        pb_string(&hreq, 1, "valve/");
        pb_string(&hreq, 2, after);
        int32_t s = host(H_KV_LIST);
        if (s) return s;
        int more = 0, got = 0, rc;
        pb_reader r = pb_read(hresp.buf, hresp.len);
        pb_field f;
        while ((rc = pb_next(&r, &f)) > 0) {
            if (f.num == 2 && f.type == PB_VARINT) more = f.u != 0;
            if (f.num != 1 || f.type != PB_LEN) continue;
            got = 1;
            if (f.n >= sizeof after) return S_INTERNAL;
            memcpy(after, f.p, f.n);
            after[f.n] = 0;
            char *end;
            unsigned long id = strtoul(after + 6, &end, 10);
            if (*end || end == after + 6 || id > 65534) continue; /* not one of ours */
            if (*n > MAX_VALVES) return S_INTERNAL;
            ids[(*n)++] = (uint32_t)id;
        }
        if (rc < 0) return S_INTERNAL;
        if (!more || !got) break;
    }
    /* The keys sort as text (valve/10 before valve/2): sort as numbers. */
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            uint32_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    return 0;
}

/* changed reports resources res[0..n) of valve id as changed. */
static int32_t changed(uint32_t id, const uint32_t *res, size_t n) {
    if (n == 0) return 0;
    pb_reset(&hreq);
    for (size_t i = 0; i < n; i++) {
        uint32_t ids[3] = {OBJECT_ID, id, res[i]};
        size_t p = pb_begin(&hreq);
        pb_packed(&hreq, 1, ids, 3);
        pb_end(&hreq, 1, p);
    }
    return host(H_CHANGED);
}

/* ---------------------------------------------------------------------
 * Decoding requests. */

#define BAD(...) fail(S_BAD_REQUEST, __VA_ARGS__)

/* path_of decodes an embedded Path into ids; returns the count or -1. */
static int path_of(const pb_field *pf, uint32_t ids[4]) {
    if (pf->type != PB_LEN) return -1;
    size_t n = 0;
    pb_reader r = pb_read(pf->p, pf->n);
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0)
        if (f.num == 1 && pb_ids(&f, ids, 4, &n, 65534) < 0) return -1;
    return rc < 0 ? -1 : (int)n;
}

/* node is a decoded Node: its kind, id and value; children stay encoded
 * in raw, to be walked with next_child. */
typedef struct {
    uint64_t kind, id;
    int has_value;
    uint64_t vtype;
    int64_t integer;
    double flt;
    int boolean;
    const uint8_t *bytes;
    size_t nbytes;
    const uint8_t *raw;
    size_t nraw;
} node;

static int value_of(const pb_field *vf, node *nd) {
    if (vf->type != PB_LEN) return -1;
    nd->has_value = 1;
    pb_reader r = pb_read(vf->p, vf->n);
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        switch (f.num) {
        case 1: nd->vtype = f.u; break;
        case 2: nd->integer = pb_zigzag(f.u); break;
        case 4: memcpy(&nd->flt, &f.u, 8); break;
        case 5: nd->boolean = f.u != 0; break;
        case 6: nd->bytes = f.p, nd->nbytes = f.n; break;
        }
    }
    return rc;
}

static int node_of(const uint8_t *p, size_t n, node *nd) {
    memset(nd, 0, sizeof *nd);
    nd->raw = p, nd->nraw = n;
    pb_reader r = pb_read(p, n);
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.type == PB_VARINT) nd->kind = f.u;
        if (f.num == 2 && f.type == PB_VARINT) nd->id = f.u;
        if (f.num == 3 && value_of(&f, nd) < 0) return -1;
    }
    return rc;
}

/* next_child decodes the next child of parent from *r: 1, 0 at the end,
 * -1 if malformed. */
static int next_child(pb_reader *r, node *child) {
    pb_field f;
    int rc;
    while ((rc = pb_next(r, &f)) > 0)
        if (f.num == 4 && f.type == PB_LEN) return node_of(f.p, f.n, child) < 0 ? -1 : 1;
    return rc;
}

/* set applies resource node nd to v; 0 or a failure (see fail). */
static int64_t set(valve *v, const node *nd) {
    const resource_def *d = nd->id <= 65534 ? resource((uint32_t)nd->id) : NULL;
    if (!d) return fail(S_NOT_FOUND, "valve has no resource %llu", (unsigned long long)nd->id);
    if (!(d->ops & OP_W)) return fail(S_METHOD_NOT_ALLOWED, "resource %u (%s) is not writable", d->id, d->name);
    if (nd->kind != K_RESOURCE) return BAD("resource %u (%s) is a single resource, not node kind %llu", d->id, d->name, (unsigned long long)nd->kind);
    if (nd->vtype != (uint64_t)d->type) return BAD("resource %u (%s) takes type %d, not %llu", d->id, d->name, d->type, (unsigned long long)nd->vtype);
    switch (d->id) {
    case R_OPEN:
        v->open = nd->boolean;
        break;
    case R_POSITION:
        if (nd->integer < 0 || nd->integer > 100) return BAD("position %lld out of 0..100", (long long)nd->integer);
        v->position = nd->integer;
        break;
    case R_NAME:
        if (nd->nbytes > MAX_NAME) return BAD("name longer than %d bytes", MAX_NAME);
        memcpy(v->name, nd->bytes, nd->nbytes);
        v->name[nd->nbytes] = 0;
        if (strlen(v->name) != nd->nbytes) return BAD("name holds a NUL byte");
        break;
    }
    return 0;
}

/* set_instance applies the resources of instance node nd to v. */
static int64_t set_instance(valve *v, const node *nd) {
    if (nd->kind != K_INSTANCE) return BAD("node kind %llu, want an instance", (unsigned long long)nd->kind);
    pb_reader r = pb_read(nd->raw, nd->nraw);
    node c;
    int rc;
    while ((rc = next_child(&r, &c)) > 0) {
        int64_t e = set(v, &c);
        if (e) return e;
    }
    return rc < 0 ? BAD("malformed node") : 0;
}

/* ---------------------------------------------------------------------
 * Encoding responses. */

static void value_field(pb_writer *w, const valve *v, uint32_t res) {
    size_t p = pb_begin(w);
    switch (res) {
    case R_OPEN:
        pb_varint(w, 1, T_BOOLEAN);
        pb_bool(w, 5, v->open);
        break;
    case R_POSITION:
        pb_varint(w, 1, T_INTEGER);
        pb_sint64(w, 2, v->position);
        break;
    case R_FLOW:
        pb_varint(w, 1, T_FLOAT);
        pb_double(w, 4, v->open ? MAX_FLOW * (double)v->position / 100 : 0);
        break;
    case R_CYCLES:
        pb_varint(w, 1, T_INTEGER);
        pb_sint64(w, 2, v->cycles);
        break;
    case R_NAME:
        pb_varint(w, 1, T_STRING);
        pb_string(w, 6, v->name);
        break;
    }
    pb_end(w, 3, p);
}

static void resource_node(pb_writer *w, uint32_t field, const valve *v, uint32_t res) {
    size_t p = pb_begin(w);
    pb_varint(w, 1, K_RESOURCE);
    pb_varint(w, 2, res);
    value_field(w, v, res);
    pb_end(w, field, p);
}

static void instance_node(pb_writer *w, uint32_t field, uint32_t id, const valve *v) {
    size_t p = pb_begin(w);
    pb_varint(w, 1, K_INSTANCE);
    pb_varint(w, 2, id);
    for (size_t i = 0; i < NRES; i++)
        if (resources[i].ops & OP_R) resource_node(w, 4, v, resources[i].id);
    pb_end(w, field, p);
}

static int64_t respond(void) {
    if (out.failed) return fail(S_INTERNAL, "out of memory");
    return wasm2m_ok(out.buf, (uint32_t)out.len);
}

static int64_t host_failed(int32_t s, const char *what) {
    char text[128];
    size_t n = hresp.len < sizeof text - 1 ? hresp.len : sizeof text - 1;
    memcpy(text, hresp.buf ? (const char *)hresp.buf : "", n);
    text[n] = 0;
    return fail(s ? s : S_INTERNAL, "%s: %s", what, text);
}

/* ---------------------------------------------------------------------
 * Methods. */

static int64_t manifest(void) {
    pb_string(&out, 1, "objects.cvalve");
    pb_string(&out, 2, "object");
    pb_varint(&out, 3, WASM2M_ABI_MINOR);
    pb_string(&out, 4, "Valve (C)");
    pb_string(&out, 5, "1.0.0");
    pb_string(&out, 6, "Object 26241 Valve, written in C against ABI v1 with a hand-written protobuf encoder.");
    pb_string(&out, 7, "changed");
    pb_string(&out, 7, "kv");
    return respond();
}

static int64_t start(void) {
    pb_reset(&hreq);
    pb_string(&hreq, 1, "init");
    int32_t s = host(H_KV_GET);
    if (s) return host_failed(s, "kv get init");
    pb_reader r = pb_read(hresp.buf, hresp.len);
    pb_field f;
    int found = 0;
    while (pb_next(&r, &f) > 0)
        if (f.num == 1 && f.u) found = 1;
    if (found) return respond();
    valve v = fresh();
    strcpy(v.name, "valve 0");
    if ((s = save(0, &v))) return host_failed(s, "kv put valve/0");
    pb_reset(&hreq);
    pb_string(&hreq, 1, "init");
    pb_bytes(&hreq, 2, "1", 1);
    if ((s = host(H_KV_PUT))) return host_failed(s, "kv put init");
    logf_(LOG_INFO, "first start: valve 0 created");
    return respond();
}

static int64_t object_list(void) {
    size_t o = pb_begin(&out);
    pb_varint(&out, 1, OBJECT_ID);
    pb_string(&out, 2, "Valve");
    pb_string(&out, 3, "A valve that opens, closes and throttles a flow of water.");
    pb_string(&out, 4, "urn:oma:lwm2m:x:26241");
    pb_string(&out, 5, "1.0");
    pb_string(&out, 6, "1.1");
    pb_bool(&out, 7, 1);
    for (size_t i = 0; i < NRES; i++) {
        const resource_def *d = &resources[i];
        size_t p = pb_begin(&out);
        pb_varint(&out, 1, d->id);
        pb_string(&out, 2, d->name);
        pb_varint(&out, 3, d->ops);
        pb_bool(&out, 5, d->mandatory);
        pb_varint(&out, 6, (uint64_t)d->type);
        pb_string(&out, 7, d->range);
        pb_bool(&out, 8, d->range[0] != 0);
        pb_double(&out, 9, d->min);
        pb_double(&out, 10, d->max);
        pb_string(&out, 11, d->units);
        pb_string(&out, 12, d->description);
        pb_end(&out, 9, p);
    }
    pb_end(&out, 1, o);
    return respond();
}

/* request_path decodes the path of a request whose field 1 is a Path (and
 * whose other fields it skips): ids and their count, or -1. */
static int request_path(const uint8_t *req, size_t n, uint32_t ids[4]) {
    pb_reader r = pb_read(req, n);
    pb_field f;
    int rc, count = 0;
    while ((rc = pb_next(&r, &f)) > 0)
        if (f.num == 1 && (count = path_of(&f, ids)) < 0) return -1;
    return rc < 0 ? -1 : count;
}

/* target checks the object and instance of a path of n ids: 0 and the
 * valve loaded, or a failure. */
static int64_t target(const uint32_t *ids, int n, valve *v) {
    if (n < 0) return BAD("malformed request");
    if (n == 0) return BAD("the root path is not an object's");
    if (ids[0] != OBJECT_ID) return fail(S_NOT_FOUND, "no object %u", ids[0]);
    if (n == 1) return 0;
    int32_t s = load(ids[1], v);
    if (s == S_NOT_FOUND) return fail(S_NOT_FOUND, "no valve /%u/%u", ids[0], ids[1]);
    if (s) return host_failed(s, "kv get");
    return 0;
}

static int64_t object_instances(const uint8_t *req, size_t n) {
    uint64_t object = 0;
    pb_reader r = pb_read(req, n);
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0)
        if (f.num == 1 && f.type == PB_VARINT) object = f.u;
    if (rc < 0) return BAD("malformed request");
    if (object != OBJECT_ID) return fail(S_NOT_FOUND, "no object %llu", (unsigned long long)object);
    uint32_t ids[MAX_VALVES + 1];
    size_t count;
    int32_t s = list(ids, &count);
    if (s) return host_failed(s, "kv list");
    pb_packed(&out, 1, ids, count);
    return respond();
}

static int64_t object_read(const uint8_t *req, size_t n) {
    uint32_t ids[4];
    int count = request_path(req, n, ids);
    valve v;
    int64_t e = target(ids, count, &v);
    if (e) return e;
    size_t p = pb_begin(&out);
    switch (count) {
    case 1: { /* the object: every instance */
        uint32_t all[MAX_VALVES + 1];
        size_t k;
        int32_t s = list(all, &k);
        if (s) return host_failed(s, "kv list");
        pb_varint(&out, 1, K_OBJECT);
        pb_varint(&out, 2, OBJECT_ID);
        for (size_t i = 0; i < k; i++) {
            if ((s = load(all[i], &v)) == S_NOT_FOUND) continue; /* deleted meanwhile */
            if (s) return host_failed(s, "kv get");
            instance_node(&out, 4, all[i], &v);
        }
        pb_end(&out, 1, p);
        return respond();
    }
    case 2:
        instance_node(&out, 1, ids[1], &v);
        return respond();
    case 3: {
        const resource_def *d = resource(ids[2]);
        if (!d) return fail(S_NOT_FOUND, "valve has no resource %u", ids[2]);
        if (!(d->ops & OP_R)) return fail(S_METHOD_NOT_ALLOWED, "resource %u (%s) is not readable", d->id, d->name);
        resource_node(&out, 1, &v, d->id);
        return respond();
    }
    }
    return fail(S_NOT_FOUND, "resource %u is single: no resource instance %u", ids[2], ids[3]);
}

/* report tells the host what changed from a to b besides what was
 * written: the flow rate and the cycle count. */
static int64_t report(uint32_t id, const valve *a, const valve *b) {
    uint32_t res[2];
    size_t n = 0;
    if (a->open != b->open || (b->open && a->position != b->position)) res[n++] = R_FLOW;
    if (a->cycles != b->cycles) res[n++] = R_CYCLES;
    int32_t s = changed(id, res, n);
    return s ? host_failed(s, "changed") : 0;
}

static int64_t object_write(const uint8_t *req, size_t n) {
    uint32_t ids[4];
    int count = -1, replace = 0;
    const uint8_t *np = NULL;
    size_t nn = 0;
    pb_reader r = pb_read(req, n);
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && (count = path_of(&f, ids)) < 0) return BAD("malformed path");
        if (f.num == 2 && f.type == PB_LEN) np = f.p, nn = f.n;
        if (f.num == 3 && f.type == PB_VARINT) replace = f.u != 0;
    }
    if (rc < 0) return BAD("malformed request");
    if (count < 0) count = 0; /* no path: the root */
    valve v;
    int64_t e = target(ids, count, &v);
    if (e) return e;
    if (count == 1) return fail(S_METHOD_NOT_ALLOWED, "write needs an instance or resource path");
    if (count == 4) return fail(S_NOT_FOUND, "resource %u is single: no resource instance %u", ids[2], ids[3]);
    node nd;
    if (node_of(np, nn, &nd) < 0) return BAD("malformed node");
    valve w = v;
    if (count == 2) {
        if (replace) { /* what the request does not give goes back to its default */
            valve d = fresh();
            w.open = d.open, w.position = d.position, strcpy(w.name, d.name);
        }
        if ((e = set_instance(&w, &nd))) return e;
    } else {
        const resource_def *d = resource(ids[2]);
        if (!d) return fail(S_NOT_FOUND, "valve has no resource %u", ids[2]);
        if (!(d->ops & OP_W)) return fail(S_METHOD_NOT_ALLOWED, "resource %u (%s) is not writable", d->id, d->name);
        if (nd.id != ids[2]) return BAD("node id %llu at resource %u", (unsigned long long)nd.id, ids[2]);
        if ((e = set(&w, &nd))) return e;
    }
    if (w.open && !v.open) w.cycles++;
    int32_t s = save(ids[1], &w);
    if (s) return host_failed(s, "kv put");
    if ((e = report(ids[1], &v, &w))) return e;
    return respond();
}

static int64_t object_execute(const uint8_t *req, size_t n) {
    uint32_t ids[4];
    int count = request_path(req, n, ids);
    valve v;
    int64_t e = target(ids, count, &v);
    if (e) return e;
    if (count < 3) return fail(S_METHOD_NOT_ALLOWED, "execute needs a resource path");
    const resource_def *d = resource(ids[2]);
    if (!d) return fail(S_NOT_FOUND, "valve has no resource %u", ids[2]);
    if (!(d->ops & OP_E) || count == 4) return fail(S_METHOD_NOT_ALLOWED, "resource %u (%s) is not executable", d->id, d->name);
    valve w = v;
    w.cycles = 0;
    int32_t s = save(ids[1], &w);
    if (s) return host_failed(s, "kv put");
    logf_(LOG_INFO, "cycle count reset instance=%u", ids[1]);
    if ((e = report(ids[1], &v, &w))) return e;
    return respond();
}

static int64_t object_create(const uint8_t *req, size_t n) {
    uint64_t object = 0;
    const uint8_t *np = NULL;
    size_t nn = 0;
    int has_node = 0;
    pb_reader r = pb_read(req, n);
    pb_field f;
    int rc;
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.type == PB_VARINT) object = f.u;
        if (f.num == 2 && f.type == PB_LEN) np = f.p, nn = f.n, has_node = 1;
    }
    if (rc < 0) return BAD("malformed request");
    if (object != OBJECT_ID) return fail(S_NOT_FOUND, "no object %llu", (unsigned long long)object);
    node nd = {0};
    nd.id = WASM2M_NO_ID;
    nd.kind = K_INSTANCE;
    if (has_node && node_of(np, nn, &nd) < 0) return BAD("malformed node");
    uint32_t ids[MAX_VALVES + 1];
    size_t count;
    int32_t s = list(ids, &count);
    if (s) return host_failed(s, "kv list");
    if (count >= MAX_VALVES) return BAD("%d valves already, the most there may be", MAX_VALVES);
    uint32_t id = (uint32_t)nd.id;
    if (nd.id == WASM2M_NO_ID) {
        for (id = 0;; id++) { /* the lowest free id */
            size_t i = 0;
            while (i < count && ids[i] != id) i++;
            if (i == count) break;
        }
    } else if (nd.id > 65534) {
        return BAD("instance id %llu", (unsigned long long)nd.id);
    } else {
        for (size_t i = 0; i < count; i++)
            if (ids[i] == id) return BAD("valve %u exists", id);
    }
    valve v = fresh(), w = v;
    if (has_node) {
        int64_t e = set_instance(&w, &nd);
        if (e) return e;
    }
    if (w.open && !v.open) w.cycles++;
    if ((s = save(id, &w))) return host_failed(s, "kv put");
    logf_(LOG_INFO, "valve created instance=%u", id);
    pb_varint(&out, 1, id);
    return respond();
}

static int64_t object_delete(const uint8_t *req, size_t n) {
    uint32_t ids[4];
    int count = request_path(req, n, ids);
    valve v;
    int64_t e = target(ids, count, &v);
    if (e) return e;
    if (count != 2) return fail(S_METHOD_NOT_ALLOWED, "delete needs an instance path");
    int32_t s = erase(ids[1]);
    if (s) return host_failed(s, "kv delete");
    logf_(LOG_INFO, "valve deleted instance=%u", ids[1]);
    return respond();
}

/* ---------------------------------------------------------------------
 * Exports. */

__attribute__((export_name("wasm2m_abi_v1"))) int32_t wasm2m_abi_v1(void) { return WASM2M_ABI_MINOR; }

__attribute__((export_name("wasm2m_buffer"))) uint8_t *wasm2m_buffer(int32_t size) {
    if (size < 0) __builtin_trap(); /* over 2 GiB: the host never asks */
    if ((size_t)size > call_cap || !call_buf) {
        uint8_t *b = realloc(call_buf, size ? (size_t)size : 1);
        /* Out of memory: 0 says so; the host writes nothing, fails the
         * call and discards this instance (GUIDE.md, "Exports"). */
        if (!b) return 0;
        call_buf = b;
        call_cap = (size_t)size;
    }
    return call_buf;
}

__attribute__((export_name("wasm2m_call"))) int64_t wasm2m_call(int32_t method, int32_t len) {
    if (len < 0 || (size_t)len > call_cap) return fail(S_BAD_REQUEST, "request of %d bytes, buffer of %zu", len, call_cap);
    const uint8_t *req = call_buf;
    size_t n = (size_t)len;
    pb_reset(&out);
    err_len = 0;
    switch (method) {
    case M_MANIFEST: return manifest();
    case M_START: return start();
    case M_STOP: return respond();
    case M_OBJECT_LIST: return object_list();
    case M_OBJECT_INSTANCES: return object_instances(req, n);
    case M_OBJECT_READ: return object_read(req, n);
    case M_OBJECT_WRITE: return object_write(req, n);
    case M_OBJECT_EXECUTE: return object_execute(req, n);
    case M_OBJECT_CREATE: return object_create(req, n);
    case M_OBJECT_DELETE: return object_delete(req, n);
    }
    return fail(S_NOT_IMPLEMENTED, "method %d is not implemented", method);
}

__attribute__((export_name("wasm2m_last_error"))) int64_t wasm2m_last_error(void) {
    return err_len ? wasm2m_ok(err_text, (uint32_t)err_len) : 0;
}
