/* mim-status.c: status strings, the abort handler of MIM_ASSERT, backend error text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mim-backend-impl.h"

int mim_errf(char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
        mim_utf8_make_valid(err);
    }
    return -1;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, surrogates or code
 * points above U+10FFFF), 0 if there is none; the NUL terminator fails every continuation test. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xc2 && c <= 0xdf ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] >= 0x90))
        return 0;
    return len;
}

void mim_utf8_make_valid(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (p && *p) {
        size_t len = utf8_seq_len(p);
        if (len) {
            p += len;
        } else {
            *p++ = '?';
        }
    }
}

const char *mim_status_str(mim_status st)
{
    switch (st) {
    case MIM_OK:
        return "ok";
    case MIM_ERR_NOMEM:
        return "out of memory";
    case MIM_ERR_SHAPE:
        return "shape mismatch";
    case MIM_ERR_ARG:
        return "bad argument";
    case MIM_ERR_UNSUPPORTED:
        return "not supported";
    case MIM_ERR_BACKEND:
        return "backend failure";
    case MIM_ERR_STATE:
        return "call out of order";
    case MIM_ERR_IO:
        return "i/o error";
    case MIM_ERR_FORMAT:
        return "malformed data";
    }
    return "unknown status";
}

static mim_abort_fn abort_fn;

void mim_set_abort_handler(mim_abort_fn fn)
{
    abort_fn = fn;
}

void mim__assert_fail(const char *file, int line, const char *msg)
{
    if (abort_fn)
        abort_fn(file, line, msg);
    fprintf(stderr, "mimica engine: %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    abort();
}

mim_status mim__backend_error(mim_backend *be, mim_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err, sizeof be->err, fmt, ap);
    va_end(ap);
    return st;
}
