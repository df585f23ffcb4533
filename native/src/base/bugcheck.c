/* exalloc - native core
 * bugcheck.c: the fatal path (NT's "bug check") and the raise emulation.
 *
 * Every check that fails calls _exa_bugcheck(code, p1..p4): the five values are recorded for
 * the calling thread (exa_last_bugcheck), then the process-wide handler runs. The default
 * handler prints NT's STOP line and aborts; a handler that returns lets the failing call back
 * out with nothing changed. KeBugCheckEx (exalloc_nt.h) never returns: if the handler
 * returns, it aborts. */
#include "base/base.h"
#include "base/hooks.h"

#include <stdio.h>

static exa_atomic(uintptr_t) exa_bugcheck_handler_fn;  /* exa_bugcheck_fn, 0 = default */
static exa_atomic(uintptr_t) exa_bugcheck_handler_ctx;
static exa_atomic(uintptr_t) exa_raise_handler_fn;
static exa_atomic(uintptr_t) exa_raise_handler_ctx;

static _Thread_local exa_bugcheck_info_t exa_tls_bugcheck;
static _Thread_local exa_status_t exa_tls_status;

void exa_set_bugcheck_handler(exa_bugcheck_fn handler, void *context) {
    exa_atomic_store_release(&exa_bugcheck_handler_ctx, (uintptr_t)context);
    exa_atomic_store_release(&exa_bugcheck_handler_fn, (uintptr_t)handler);
}

void exa_bugcheck_abort(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, void *context) {
    (void)context;
    char line[160];
    int n = snprintf(line, sizeof line, "*** STOP: 0x%08X (0x%016llX, 0x%016llX, 0x%016llX, 0x%016llX)\n",
                     (unsigned)code, p1, p2, p3, p4);
    if (n > 0) _exa_os_write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    /* The crash-dump analog: culprit, live tags, live blocks (stderr or EXALLOC_DUMP_PATH). */
    if (_exa_hooks.fatal_dump != NULL) _exa_hooks.fatal_dump(code, p1, p2, p3, p4);
    _exa_os_abort();
}

void exa_bugcheck_record(uint32_t code, exa_u64 p1, exa_u64 p2, exa_u64 p3, exa_u64 p4, void *context) {
    /* The record itself is written by _exa_bugcheck before any handler runs. */
    (void)code, (void)p1, (void)p2, (void)p3, (void)p4, (void)context;
}

void _exa_bugcheck(uint32_t code, uint64_t p1, uint64_t p2, uint64_t p3, uint64_t p4) {
    exa_bugcheck_info_t *r = &exa_tls_bugcheck;
    r->code = code;
    r->parameter1 = p1;
    r->parameter2 = p2;
    r->parameter3 = p3;
    r->parameter4 = p4;
    r->sequence++;
    _exa_tls.bugchecks++;
    exa_bugcheck_fn fn = (exa_bugcheck_fn)exa_atomic_load_acquire(&exa_bugcheck_handler_fn);
    void *ctx = (void *)exa_atomic_load_acquire(&exa_bugcheck_handler_ctx);
    if (fn == NULL) fn = exa_bugcheck_abort;
    fn(code, p1, p2, p3, p4, ctx);
}

exa_status_t exa_last_bugcheck(exa_bugcheck_info_t *out) {
    if (out == NULL) return EXA_STATUS_INVALID_PARAMETER;
    *out = exa_tls_bugcheck;
    return EXA_STATUS_SUCCESS;
}

void exa_set_raise_handler(exa_raise_fn handler, void *context) {
    exa_atomic_store_release(&exa_raise_handler_ctx, (uintptr_t)context);
    exa_atomic_store_release(&exa_raise_handler_fn, (uintptr_t)handler);
}

void _exa_raise(exa_status_t status) {
    exa_tls_status = status;
    exa_raise_fn fn = (exa_raise_fn)exa_atomic_load_acquire(&exa_raise_handler_fn);
    if (fn != NULL) fn(status, (void *)exa_atomic_load_acquire(&exa_raise_handler_ctx));
}

void _exa_note_status(exa_status_t status) { exa_tls_status = status; }

exa_status_t exa_last_status(void) { return exa_tls_status; }

void exa_clear_last_status(void) { exa_tls_status = EXA_STATUS_SUCCESS; }
