/* tsan-glib.c: happens-before annotations for GLib's futex-based primitives, for `make
 * check-tsan` only (LD_PRELOADed into the ThreadSanitizer build's tests and mimica-cli).
 *
 * On Linux GLib 2.74 implements GMutex, GCond, GAsyncQueue and GMainContext on raw futexes and
 * atomics inside an uninstrumented libglib, so TSan sees none of their synchronisation and
 * reports every handoff through them as a race. Each wrapper calls the real function
 * (dlsym RTLD_NEXT) and tells TSan the edge it makes: unlock/push/attach release the object,
 * lock/pop/dispatch acquire it. A refcount drop releases and acquires the object, so the last
 * unref (and the finalize it runs) comes after every earlier user. Only calls made from our
 * (instrumented) code are seen: GLib binds its internal calls to itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib-object.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

#define REAL(ret, name, ...)                                                                       \
    static ret (*real)(__VA_ARGS__);                                                               \
    if (!real)                                                                                     \
    real = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

void g_mutex_lock(GMutex *m)
{
    REAL(void, "g_mutex_lock", GMutex *);
    real(m);
    __tsan_acquire(m);
}

gboolean g_mutex_trylock(GMutex *m)
{
    REAL(gboolean, "g_mutex_trylock", GMutex *);
    gboolean ok = real(m);
    if (ok)
        __tsan_acquire(m);
    return ok;
}

void g_mutex_unlock(GMutex *m)
{
    REAL(void, "g_mutex_unlock", GMutex *);
    __tsan_release(m);
    real(m);
}

void g_cond_wait(GCond *c, GMutex *m)
{
    REAL(void, "g_cond_wait", GCond *, GMutex *);
    __tsan_release(m);
    real(c, m);
    __tsan_acquire(m);
}

gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
    REAL(gboolean, "g_cond_wait_until", GCond *, GMutex *, gint64);
    __tsan_release(m);
    gboolean r = real(c, m, end_time);
    __tsan_acquire(m);
    return r;
}

void g_async_queue_push(GAsyncQueue *q, gpointer data)
{
    REAL(void, "g_async_queue_push", GAsyncQueue *, gpointer);
    __tsan_release(q);
    real(q, data);
}

void g_async_queue_push_front(GAsyncQueue *q, gpointer data)
{
    REAL(void, "g_async_queue_push_front", GAsyncQueue *, gpointer);
    __tsan_release(q);
    real(q, data);
}

gpointer g_async_queue_pop(GAsyncQueue *q)
{
    REAL(gpointer, "g_async_queue_pop", GAsyncQueue *);
    gpointer r = real(q);
    __tsan_acquire(q);
    return r;
}

gpointer g_async_queue_try_pop(GAsyncQueue *q)
{
    REAL(gpointer, "g_async_queue_try_pop", GAsyncQueue *);
    gpointer r = real(q);
    __tsan_acquire(q);
    return r;
}

gpointer g_async_queue_timeout_pop(GAsyncQueue *q, guint64 timeout)
{
    REAL(gpointer, "g_async_queue_timeout_pop", GAsyncQueue *, guint64);
    gpointer r = real(q, timeout);
    __tsan_acquire(q);
    return r;
}

/* An idle or timeout source's callback: released when set and when the source is attached (the
 * worker's writes before), acquired when it runs on the owner's thread. */
typedef struct {
    GSourceFunc func;
    gpointer data;
    GDestroyNotify notify;
} Trampoline;

static gboolean trampoline_run(gpointer p)
{
    Trampoline *t = p;
    __tsan_acquire(t);
    GSource *s = g_main_current_source();
    if (s)
        __tsan_acquire(s);
    return t->func(t->data);
}

static void trampoline_free(gpointer p)
{
    Trampoline *t = p;
    __tsan_acquire(t);
    if (t->notify)
        t->notify(t->data);
    g_free(t);
}

void g_source_set_callback(GSource *s, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
    REAL(void, "g_source_set_callback", GSource *, GSourceFunc, gpointer, GDestroyNotify);
    if (s->source_funcs != &g_idle_funcs && s->source_funcs != &g_timeout_funcs) {
        __tsan_release(s); /* a custom source calls its callback its own way */
        real(s, func, data, notify);
        return;
    }
    Trampoline *t = g_new(Trampoline, 1);
    *t = (Trampoline){func, data, notify};
    __tsan_release(t);
    real(s, trampoline_run, t, trampoline_free);
}

guint g_source_attach(GSource *s, GMainContext *ctx)
{
    REAL(guint, "g_source_attach", GSource *, GMainContext *);
    __tsan_release(s);
    return real(s, ctx);
}

void g_object_unref(gpointer obj)
{
    REAL(void, "g_object_unref", gpointer);
    __tsan_release(obj);
    __tsan_acquire(obj);
    real(obj);
}

void g_atomic_rc_box_release_full(gpointer box, GDestroyNotify clear)
{
    REAL(void, "g_atomic_rc_box_release_full", gpointer, GDestroyNotify);
    __tsan_release(box);
    __tsan_acquire(box);
    real(box, clear);
}

void g_atomic_rc_box_release(gpointer box)
{
    REAL(void, "g_atomic_rc_box_release", gpointer);
    __tsan_release(box);
    __tsan_acquire(box);
    real(box);
}
