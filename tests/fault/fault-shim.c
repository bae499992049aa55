/* fault-shim.c: allocation and I/O failures on demand (see fault-shim.h). Each wrapped function
 * F is reached as __wrap_F (the linker's --wrap=F) and reaches the C library as __real_F. */
#define _GNU_SOURCE
#include "fault-shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

static fault_mode g_mode = FAULT_OFF;
static long g_at, g_seen, g_failed;
static char g_dir[4096];
static size_t g_dir_len;

#define MAX_FD 4096
static unsigned char g_tracked[MAX_FD]; /* fds of files created under g_dir while armed */

const char *fault_mode_name(fault_mode mode)
{
    switch (mode) {
    case FAULT_ALLOC:
        return "alloc";
    case FAULT_ENOSPC:
        return "enospc";
    case FAULT_EIO:
        return "eio";
    case FAULT_SHORT:
        return "short";
    default:
        return "off";
    }
}

void fault_arm(fault_mode mode, long at, const char *dir)
{
    __atomic_store_n(&g_seen, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&g_failed, 0, __ATOMIC_SEQ_CST);
    g_at = at;
    snprintf(g_dir, sizeof g_dir, "%s", dir ? dir : "");
    g_dir_len = strlen(g_dir);
    while (g_dir_len > 1 && g_dir[g_dir_len - 1] == '/')
        g_dir[--g_dir_len] = 0;
    __atomic_store_n(&g_mode, mode, __ATOMIC_SEQ_CST);
}

long fault_disarm(void)
{
    __atomic_store_n(&g_mode, FAULT_OFF, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&g_seen, __ATOMIC_SEQ_CST);
}

long fault_n_failed(void)
{
    return __atomic_load_n(&g_failed, __ATOMIC_SEQ_CST);
}

static int io_mode(void)
{
    fault_mode m = __atomic_load_n(&g_mode, __ATOMIC_SEQ_CST);
    return m == FAULT_ENOSPC || m == FAULT_EIO || m == FAULT_SHORT;
}

/* Counts one point; 1: fail it. *first: it is the first failing point. */
static int point(fault_mode kind, int *first)
{
    fault_mode m = __atomic_load_n(&g_mode, __ATOMIC_SEQ_CST);
    if (m == FAULT_OFF || (kind == FAULT_ALLOC) != (m == FAULT_ALLOC))
        return 0;
    long seen = __atomic_add_fetch(&g_seen, 1, __ATOMIC_SEQ_CST);
    if (g_at <= 0 || seen < g_at)
        return 0;
    __atomic_add_fetch(&g_failed, 1, __ATOMIC_SEQ_CST);
    if (first)
        *first = seen == g_at;
    return 1;
}

static int io_point(int *first)
{
    return point(FAULT_ENOSPC, first);
}

static int io_errno(void)
{
    return __atomic_load_n(&g_mode, __ATOMIC_SEQ_CST) == FAULT_EIO ? EIO : ENOSPC;
}

static int under_dir(const char *path)
{
    return io_mode() && path && g_dir_len && !strncmp(path, g_dir, g_dir_len) &&
           path[g_dir_len] == '/';
}

static int tracked(int fd)
{
    return fd >= 0 && fd < MAX_FD && g_tracked[fd];
}

static void track(int fd, int on)
{
    if (fd >= 0 && fd < MAX_FD)
        g_tracked[fd] = (unsigned char)on;
}

/* ---- allocations ------------------------------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__real_aligned_alloc(size_t align, size_t n);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off);

void *__wrap_malloc(size_t n)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strdup(s);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_aligned_alloc(align, n);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return __real_mmap(addr, len, prot, flags, fd, off);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    if (point(FAULT_ALLOC, NULL)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return __real_mmap64(addr, len, prot, flags, fd, off);
}

/* ---- files ------------------------------------------------------------------------------ */

FILE *__real_fopen(const char *path, const char *mode);
FILE *__real_fopen64(const char *path, const char *mode);
int __real_mkstemp(char *tmpl);
int __real_mkstemp64(char *tmpl);
ssize_t __real_write(int fd, const void *buf, size_t n);
size_t __real_fwrite(const void *p, size_t size, size_t n, FILE *f);
int __real_fflush(FILE *f);
int __real_fsync(int fd);
int __real_close(int fd);
int __real_fclose(FILE *f);
int __real_rename(const char *from, const char *to);

static FILE *open_stream(FILE *(*real)(const char *, const char *), const char *path,
                         const char *mode)
{
    int writes = strpbrk(mode, "wa+") != NULL;
    if (writes && under_dir(path)) {
        if (io_point(NULL)) {
            errno = io_errno();
            return NULL;
        }
        FILE *f = real(path, mode);
        if (f)
            track(fileno(f), 1);
        return f;
    }
    return real(path, mode);
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
    return open_stream(__real_fopen, path, mode);
}

FILE *__wrap_fopen64(const char *path, const char *mode)
{
    return open_stream(__real_fopen64, path, mode);
}

static int make_temp(int (*real)(char *), char *tmpl)
{
    if (under_dir(tmpl)) {
        if (io_point(NULL)) {
            errno = io_errno();
            return -1;
        }
        int fd = real(tmpl);
        track(fd, 1);
        return fd;
    }
    return real(tmpl);
}

int __wrap_mkstemp(char *tmpl)
{
    return make_temp(__real_mkstemp, tmpl);
}

int __wrap_mkstemp64(char *tmpl)
{
    return make_temp(__real_mkstemp64, tmpl);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    int first = 0;
    if (tracked(fd) && io_point(&first)) {
        if (first && g_mode == FAULT_SHORT && n > 1)
            return __real_write(fd, buf, n / 2);
        errno = io_errno();
        return -1;
    }
    return __real_write(fd, buf, n);
}

size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    int first = 0;
    if (f && tracked(fileno(f)) && io_point(&first)) {
        size_t done = 0;
        if (first && g_mode == FAULT_SHORT && size && n * size > 1)
            done = __real_fwrite(p, 1, n * size / 2, f) / size;
        /* glibc's stdio retries a partial write(); a short fwrite means a write then failed */
        errno = io_errno();
        return done;
    }
    return __real_fwrite(p, size, n, f);
}

int __wrap_fflush(FILE *f)
{
    if (f && tracked(fileno(f)) && io_point(NULL)) {
        errno = io_errno();
        return EOF;
    }
    return __real_fflush(f);
}

int __wrap_fsync(int fd)
{
    if (!tracked(fd))
        return __real_fsync(fd);
    if (io_point(NULL)) {
        errno = io_errno();
        return -1;
    }
    return 0; /* no sync: nothing here outlives a power cut, and syncing makes the test slow */
}

int __wrap_close(int fd)
{
    if (!tracked(fd))
        return __real_close(fd);
    track(fd, 0);
    int fail = io_point(NULL);
    int rc = __real_close(fd);
    if (fail) {
        errno = io_errno();
        return -1;
    }
    return rc;
}

int __wrap_fclose(FILE *f)
{
    if (!f || !tracked(fileno(f)))
        return __real_fclose(f);
    track(fileno(f), 0);
    int fail = io_point(NULL);
    int rc = __real_fclose(f);
    if (fail) {
        errno = io_errno();
        return EOF;
    }
    return rc;
}

int __wrap_rename(const char *from, const char *to)
{
    if (under_dir(to) && io_point(NULL)) {
        errno = io_errno();
        return -1;
    }
    return __real_rename(from, to);
}
