/*
 * wasm2m.h: ABI v1 of wasm2m for a plugin written in C, as
 * sdk/abi/GUIDE.md states it: the numbers of the methods, host methods and
 * statuses, the three host imports, and the packing of a call's result.
 * The messages are encoded and decoded by hand with pb.h.
 */
#ifndef WASM2M_H
#define WASM2M_H

#include <stdint.h>

/* The minor version of ABI v1 this plugin was built against. */
#define WASM2M_ABI_MINOR 0

/* Methods: the host calls the guest (wasm2m_call). */
enum {
    M_MANIFEST = 1,
    M_START = 2,
    M_STOP = 3,
    M_OBJECT_LIST = 10,
    M_OBJECT_INSTANCES = 11,
    M_OBJECT_READ = 12,
    M_OBJECT_WRITE = 13,
    M_OBJECT_EXECUTE = 14,
    M_OBJECT_CREATE = 15,
    M_OBJECT_DELETE = 16,
    M_OBJECT_DISCOVER = 17,
    M_EVENT = 30,
};

/* Host methods: the guest calls the host (wasm2m_v1.call). */
enum {
    H_CHANGED = 1,
    H_KV_GET = 2,
    H_KV_PUT = 3,
    H_KV_DELETE = 4,
    H_KV_LIST = 5,
    H_REQUEST = 6,
};

/* Statuses: CoAP codes as class<<5 | detail. */
enum {
    S_OK = 0,
    S_BAD_REQUEST = 128,        /* 4.00 */
    S_FORBIDDEN = 131,          /* 4.03 */
    S_NOT_FOUND = 132,          /* 4.04 */
    S_METHOD_NOT_ALLOWED = 133, /* 4.05 */
    S_INTERNAL = 160,           /* 5.00 */
    S_NOT_IMPLEMENTED = 161,    /* 5.01 */
};

/* Node kinds and value types: abi.proto's NodeKind and ValueType. */
enum { K_OBJECT = 1, K_INSTANCE = 2, K_RESOURCE = 3, K_MULTIPLE_RESOURCE = 4, K_RESOURCE_INSTANCE = 5 };
enum { T_NONE = 0, T_STRING = 1, T_INTEGER = 2, T_UNSIGNED = 3, T_FLOAT = 4, T_BOOLEAN = 5,
       T_OPAQUE = 6, T_TIME = 7, T_OBJLNK = 8, T_CORELNK = 9 };

/* Resource operations: ResourceDef.operations bits. */
enum { OP_R = 1, OP_W = 2, OP_E = 4 };

#define WASM2M_NO_ID 65535u

/* The host's imports, module wasm2m_v1. */
__attribute__((import_module("wasm2m_v1"), import_name("log")))
void wasm2m_log(int32_t level, const void *ptr, int32_t len);

__attribute__((import_module("wasm2m_v1"), import_name("call")))
int32_t wasm2m_host_call(int32_t method, const void *ptr, int32_t len);

__attribute__((import_module("wasm2m_v1"), import_name("result")))
int32_t wasm2m_host_result(void *ptr, int32_t cap);

/* Log levels: slog's. */
enum { LOG_DEBUG = -4, LOG_INFO = 0, LOG_WARN = 4, LOG_ERROR = 8 };

/* The result of wasm2m_call and wasm2m_last_error: ptr<<32 | len on
 * success, -status on failure. */
static inline int64_t wasm2m_ok(const void *p, uint32_t n) {
    return (int64_t)((uint64_t)(uintptr_t)p << 32 | n);
}
static inline int64_t wasm2m_fail(int32_t status) { return -(int64_t)status; }

#endif
