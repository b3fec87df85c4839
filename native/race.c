/* The seed's reference-count races in real C: see race.h for what each experiment does.
 *
 * Why the unlocked loop stays a loop: gcc -O2 turns `for (...) o->ref_counts++;` into one
 * `add n, (o)`, which cannot race. The count here is `volatile _Atomic long` and the unlocked
 * modes touch it only with relaxed atomic loads and stores: volatile makes every access an
 * observable side effect the compiler may neither merge nor hoist out of the loop, and _Atomic
 * makes the race defined behaviour (C11 data races on plain variables are undefined), while a
 * relaxed load and store compile to the same plain `mov`s as `ref_counts++` on x86 and arm64.
 * So each call is a separate load, add and store: the read-modify-write the seed is about.
 *
 * Why biased mode has an object of its own: CPython's free-threaded build replaces ob_refcnt with
 * three fields (ob_tid, ob_ref_local, ob_ref_shared); biased_object is that header, and the
 * functions below follow Include/object.h, Objects/object.c and Python/brc.c of 3.13.
 *
 * Why the start gate: two threads created one after the other barely overlap (creating the
 * second takes longer than a short run of the first). Both spin on a counter until both are
 * ready, so every run really races.
 */
#define _GNU_SOURCE
#include "race.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CACHE_LINE 64

typedef volatile _Atomic long counter;

/* One round of a wait for the other thread: spin briefly (it is usually a few hundred
 * nanoseconds away), then yield, in case it is waiting for the CPU we are spinning on. */
static inline void spin_pause(unsigned *rounds) {
    if (++*rounds < 4096) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield();
    }
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The start gate: each thread checks in; the last one to arrive sets a start time a little in
 * the future, and every thread spins until the clock reaches it. A shared clock, not a flag,
 * so that neither racer gets a head start (the one that flips a flag could go on at once,
 * while the other still has to see the news), and the main thread sleeps in pthread_join
 * instead of spinning for a CPU the racers need. */
#define GATE_LEAD_NS 50000LL

typedef struct start_gate {
    atomic_int ready;
    atomic_llong start_at; /* 0 until everyone has checked in */
} start_gate;

/* Racers run at the lowest CPU priority: they spin for whole cores, and on a classroom server
 * the pages students are waiting for must win those cores whenever they want one (a page is a
 * few milliseconds; a race loses nothing by waiting for it). On an idle machine nothing else
 * wants the cores and the race runs exactly as before. Linux keeps a nice value per thread, so
 * this lowers only the calling racer, never the server's own threads. */
#define RACER_NICE 19

static void gate(start_gate *g, int parties) {
    setpriority(PRIO_PROCESS, (id_t)gettid(), RACER_NICE);
    if (atomic_fetch_add(&g->ready, 1) == parties - 1)
        atomic_store(&g->start_at, now_ns() + GATE_LEAD_NS);
    long long start_at;
    unsigned rounds = 0;
    while ((start_at = atomic_load(&g->start_at)) == 0) spin_pause(&rounds);
    while (now_ns() < start_at) continue; /* tens of microseconds: no yield, or we start late */
}

/* Each racer gets a CPU of its own (the first two this process may use). Left to itself the
 * scheduler often queues both new threads on one CPU, and a short run then finishes before the
 * second thread is ever moved: no overlap, no race. With one CPU both share it, and the lab
 * says that no race can show. */
static int pinned_attr(pthread_attr_t *attr, int index) {
    cpu_set_t allowed, one;
    if (pthread_attr_init(attr) != 0) return -1;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 0;
    int wanted = index % CPU_COUNT(&allowed), seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (seen++ == wanted) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_attr_setaffinity_np(attr, sizeof one, &one);
            break;
        }
    }
    return 0;
}

static int start_pinned(pthread_t *thread, int index, void *(*body)(void *), void *arg) {
    pthread_attr_t attr;
    if (pinned_attr(&attr, index) != 0) return -1;
    int status = pthread_create(thread, &attr, body, arg);
    pthread_attr_destroy(&attr);
    return status;
}

/* The shared object. The count comes first, as ob_refcnt does in CPython; a real free() lets
 * glibc write its free-list pointer over it, which is what a use after free then reads. */
typedef struct race_object {
    counter rc;
    pthread_mutex_t lock; /* object-lock mode: the mutex lives (and dies) with the object */
} race_object;

/* The free-threaded object header (PEP 703): the owner thread, the count only the owner
 * writes (relaxed loads and stores, no atomic read-modify-write), and the count every other
 * thread updates atomically, shifted left by RACE_SHARED_SHIFT with flags in the low bits. */
typedef struct biased_object {
    volatile _Atomic uintptr_t tid;       /* ob_tid: the owner, 0 once the counts are merged */
    volatile _Atomic uint32_t ref_local;  /* ob_ref_local */
    volatile _Atomic long ref_shared;     /* ob_ref_shared */
} biased_object;

/* The calling thread's id as CPython's _Py_ThreadId reads it: the thread pointer, one
 * register read, so the owner's check costs a compare. */
static inline uintptr_t thread_id(void) {
    uintptr_t tid;
#if defined(__x86_64__)
    __asm__("movq %%fs:0, %0" : "=r"(tid));
#elif defined(__aarch64__)
    __asm__("mrs %0, tpidr_el0" : "=r"(tid));
#else
    tid = (uintptr_t)pthread_self();
#endif
    return tid;
}

/* The owner's queue of objects whose shared count another thread took below zero (brc.c keeps
 * one per thread; A is the only owner here). The owner drains it at its eval-breaker checks,
 * between calls; once it has exited, a queuer merges the counts itself. */
typedef struct brc_queue {
    pthread_mutex_t mutex;
    biased_object *objects[2]; /* the QUEUED flag lets an object in at most once */
    int count;
    int owner_gone;
    atomic_int eval_breaker; /* the bit _Py_brc_queue_object sets for the owner */
} brc_queue;

/* What both threads share besides the object. Each hot field gets its own cache line so that
 * the bookkeeping does not add false sharing to the race being measured. */
typedef struct shared {
    race_object *object;
    biased_object *biased;       /* biased, immortal: the same memory, as the 3.13t header */
    pthread_mutex_t global_lock; /* per run, so a fork never inherits a lock held elsewhere */
    int experiment, mode, real_free;
    long iterations, record_calls;
    _Alignas(CACHE_LINE) start_gate gate;
    _Alignas(CACHE_LINE) atomic_int freed;   /* quarantine flag: kept outside the object */
    _Alignas(CACHE_LINE) atomic_int arrived; /* both threads left the recorded window */
    atomic_int released;
    long window_rc;
    _Alignas(CACHE_LINE) brc_queue queue;
} shared;

enum role { INC_UNCHECKED, INC_CHECKED, DEC };

/* One thread's private state: counters and its own record buffer, never shared while running. */
typedef struct worker {
    _Alignas(CACHE_LINE) shared *shared;
    int role, is_a, recording;
    long increments, decrements, failed_checks, frees, use_after_free, double_free;
    long queued, merges; /* biased mode */
    uintptr_t tid;
    int read_freed;      /* this thread has loaded the count from freed memory */
    long freed_value;    /* the first value it loaded there */
    long *record, recorded;
    struct timespec start, end;
} worker;


static long long ns_between(const struct timespec *a, const struct timespec *b) {
    return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* Every access to the object first asks whether it was freed: that is the quarantine's count.
 * Returns whether it was. */
static inline int touch(worker *w) {
    int freed = atomic_load_explicit(&w->shared->freed, memory_order_relaxed);
    if (freed) w->use_after_free++;
    return freed;
}

static inline long seen(worker *w, long value) {
    if (w->recording) w->record[w->recorded++] = value;
    return value;
}

/* A load of the count. The first one from freed memory is kept: with a real free() it shows
 * what glibc left there (its free-list pointer), which is what a check after the free sees. */
static inline long rc_load(worker *w) {
    int after_free = touch(w);
    long value = atomic_load_explicit(&w->shared->object->rc, memory_order_relaxed);
    if (after_free && !w->read_freed) {
        w->read_freed = 1;
        w->freed_value = value;
    }
    return seen(w, value);
}

static inline void rc_store(worker *w, long value) {
    touch(w);
    atomic_store_explicit(&w->shared->object->rc, value, memory_order_relaxed);
}

static inline int lock_in_object(int mode) {
    return mode == RACE_OBJECT_LOCK || mode == RACE_UNLOCK_THEN_FREE;
}

static inline void lock(worker *w) {
    shared *s = w->shared;
    if (s->mode == RACE_GLOBAL_LOCK) {
        pthread_mutex_lock(&s->global_lock);
    } else if (lock_in_object(s->mode)) {
        /* Counted once the lock is taken, as the simulator's `lock` step is: a thread that
         * waited here while the other freed the object then locks freed memory. */
        pthread_mutex_lock(&s->object->lock);
        touch(w);
    }
}

static inline void unlock(worker *w) {
    shared *s = w->shared;
    if (s->mode == RACE_GLOBAL_LOCK) {
        pthread_mutex_unlock(&s->global_lock);
    } else if (lock_in_object(s->mode)) {
        touch(w);
        pthread_mutex_unlock(&s->object->lock);
    }
}

static void release_object(worker *w) {
    shared *s = w->shared;
    w->frees++;
    /* free() first, then the flag: a thread that sees the flag set then loads what free()
     * left in the memory (the flag's store orders free()'s writes before that load). */
    if (s->real_free) free(s->object); /* only ever in a child: race_run refuses real_free */
    if (atomic_exchange(&s->freed, 1)) w->double_free++;
}

/* ---- Biased reference counting, step by step as CPython 3.13t does it. ---- */

/* Py_INCREF: the owner stores local + 1 (no atomic read-modify-write: only it writes there);
 * any other thread adds to the shared count atomically. Returns 0 for an immortal object:
 * read, compared, nothing written. */
static inline int biased_inc(worker *w) {
    biased_object *o = w->shared->biased;
    touch(w);
    uint32_t local = atomic_load_explicit(&o->ref_local, memory_order_relaxed);
    uint32_t new_local = local + 1;
    if (new_local == 0) return 0; /* immortal */
    touch(w);
    if (atomic_load_explicit(&o->tid, memory_order_relaxed) == w->tid) {
        touch(w);
        atomic_store_explicit(&o->ref_local, new_local, memory_order_relaxed);
    } else {
        touch(w);
        atomic_fetch_add_explicit(&o->ref_shared, 1L << RACE_SHARED_SHIFT, memory_order_relaxed);
    }
    return 1;
}

/* _Py_ExplicitMergeRefcount: fold the local count into the shared one, mark it merged and give
 * up ownership. Returns the merged count. */
static long explicit_merge(worker *w, long extra) {
    biased_object *o = w->shared->biased;
    touch(w);
    long local = atomic_load_explicit(&o->ref_local, memory_order_relaxed);
    touch(w);
    atomic_store_explicit(&o->ref_local, 0, memory_order_relaxed);
    touch(w);
    atomic_store_explicit(&o->tid, 0, memory_order_relaxed);
    touch(w);
    long shared = atomic_load_explicit(&o->ref_shared, memory_order_relaxed), refcnt, new_shared;
    do {
        refcnt = (shared >> RACE_SHARED_SHIFT) + local + extra;
        new_shared = refcnt * (1L << RACE_SHARED_SHIFT) + RACE_SHARED_MERGED;
        touch(w);
    } while (!atomic_compare_exchange_strong(&o->ref_shared, &shared, new_shared));
    w->merges++;
    return refcnt;
}

/* _Py_brc_queue_object: hand the object (and the reference the queue now holds) to its owner,
 * or merge at once if the owner has exited. Returns 1 if this thread must free it. */
static int biased_dec(worker *w);

static int brc_queue_object(worker *w) {
    brc_queue *q = &w->shared->queue;
    touch(w);
    if (atomic_load(&w->shared->biased->tid) == 0)
        return biased_dec(w); /* the owner is merging right now: decrement again */
    pthread_mutex_lock(&q->mutex);
    if (q->owner_gone) {
        pthread_mutex_unlock(&q->mutex);
        return explicit_merge(w, -1) == 0;
    }
    q->objects[q->count++] = w->shared->biased;
    atomic_store_explicit(&q->eval_breaker, 1, memory_order_relaxed);
    pthread_mutex_unlock(&q->mutex);
    w->queued++;
    return 0;
}

/* _Py_brc_merge_refcounts (the owner, at an eval-breaker check) and, with `leaving`, what
 * _Py_brc_remove_thread does as the owner exits: merge every queued object, dropping the
 * queue's reference; free those that reach zero. */
static void brc_drain(worker *w, int leaving) {
    brc_queue *q = &w->shared->queue;
    if (!leaving && !atomic_load_explicit(&q->eval_breaker, memory_order_relaxed)) return;
    pthread_mutex_lock(&q->mutex);
    int count = q->count;
    q->count = 0;
    q->owner_gone = leaving;
    atomic_store_explicit(&q->eval_breaker, 0, memory_order_relaxed);
    pthread_mutex_unlock(&q->mutex);
    for (int i = 0; i < count; i++)
        if (explicit_merge(w, -1) == 0) release_object(w);
}

/* _Py_MergeZeroLocalRefcount: the owner's local count reached 0. Returns 1 to free. */
static int merge_zero_local(worker *w) {
    biased_object *o = w->shared->biased;
    touch(w);
    long shared = atomic_load_explicit(&o->ref_shared, memory_order_acquire);
    if (shared == 0) return 1;
    touch(w);
    atomic_store_explicit(&o->tid, 0, memory_order_relaxed);
    long new_shared;
    do {
        new_shared = (shared & ~(long)RACE_SHARED_FLAGS) | RACE_SHARED_MERGED;
        touch(w);
    } while (!atomic_compare_exchange_strong(&o->ref_shared, &shared, new_shared));
    w->merges++;
    return new_shared == RACE_SHARED_MERGED;
}

/* _Py_DecRefShared: take one off the shared count, or, if it holds no references and is not
 * merged, queue the object to its owner instead (the queue keeps the reference). Returns 1 to
 * free: the count is zero and merged. */
static int dec_shared(worker *w) {
    biased_object *o = w->shared->biased;
    touch(w);
    long shared = atomic_load_explicit(&o->ref_shared, memory_order_relaxed), new_shared;
    int should_queue;
    do {
        should_queue = shared == 0 || shared == RACE_SHARED_MAYBE_WEAKREF;
        new_shared = should_queue ? RACE_SHARED_QUEUED : shared - (1L << RACE_SHARED_SHIFT);
        touch(w);
    } while (!atomic_compare_exchange_strong(&o->ref_shared, &shared, new_shared));
    if (should_queue) return brc_queue_object(w);
    return new_shared == RACE_SHARED_MERGED;
}

/* Py_DECREF. Returns 1 if this thread must free the object, 0 if not, -1 for an immortal
 * object (read, compared, nothing written). */
static int biased_dec(worker *w) {
    biased_object *o = w->shared->biased;
    touch(w);
    uint32_t local = atomic_load_explicit(&o->ref_local, memory_order_relaxed);
    if (local == UINT32_MAX) return -1; /* immortal */
    touch(w);
    if (atomic_load_explicit(&o->tid, memory_order_relaxed) == w->tid) {
        local--;
        touch(w);
        atomic_store_explicit(&o->ref_local, local, memory_order_relaxed);
        return local == 0 ? merge_zero_local(w) : 0;
    }
    return dec_shared(w);
}

/* One call of the scenario on the free-threaded header: Py_INCREF or Py_DECREF, with no check
 * (CPython has none on this path). A checks its eval breaker first, as the interpreter does
 * between calls; a merge there that frees does not stop A's loop. A decrement that frees
 * stops the thread, as the seed's loop breaks. */
static int biased_call(worker *w) {
    if (w->is_a) brc_drain(w, 0);
    if (w->role != DEC) {
        w->increments += biased_inc(w);
        return 1;
    }
    int dead = biased_dec(w);
    if (dead < 0) return 1;
    w->decrements++;
    if (dead) {
        release_object(w);
        return 0;
    }
    return 1;
}

/* The seed's `obj->ref_counts++`: read, add, write. */
static inline int inc_unchecked(worker *w) {
    if (w->shared->mode == RACE_ATOMIC) {
        touch(w);
        seen(w, atomic_fetch_add_explicit(&w->shared->object->rc, 1, memory_order_relaxed));
    } else {
        lock(w);
        long value = rc_load(w);
        rc_store(w, value + 1);
        unlock(w);
    }
    w->increments++;
    return 1;
}

/* inc_ref that refuses an object whose count is already 0: check, then read, add, write. */
static inline int inc_checked(worker *w) {
    lock(w);
    if (rc_load(w) <= 0) {
        unlock(w);
        w->failed_checks++;
        return 0;
    }
    if (w->shared->mode == RACE_ATOMIC) {
        touch(w);
        seen(w, atomic_fetch_add_explicit(&w->shared->object->rc, 1, memory_order_relaxed));
    } else {
        long value = rc_load(w);
        rc_store(w, value + 1);
    }
    unlock(w);
    w->increments++;
    return 1;
}

/* dec_ref: check, read, subtract, write, test (a fresh read), free at 0 and stop. In atomic
 * mode the decrement and the test are one step. */
static inline int dec(worker *w) {
    lock(w);
    if (rc_load(w) <= 0) {
        unlock(w);
        w->failed_checks++;
        return 0;
    }
    int reached_zero;
    if (w->shared->mode == RACE_ATOMIC) {
        touch(w);
        /* acq_rel: whoever frees must see every other thread's accesses as done. */
        long before = seen(w, atomic_fetch_sub_explicit(&w->shared->object->rc, 1,
                                                        memory_order_acq_rel));
        reached_zero = before == 1;
    } else {
        long value = rc_load(w);
        rc_store(w, value - 1);
        reached_zero = rc_load(w) == 0;
    }
    w->decrements++;
    if (reached_zero) {
        /* The seed frees before it unlocks (as the simulator does): in object-lock mode that
         * unlock already touches freed memory. The last owner may as well unlock first. */
        if (w->shared->mode == RACE_UNLOCK_THEN_FREE) {
            unlock(w);
            release_object(w);
        } else {
            release_object(w);
            unlock(w);
        }
        return 0;
    }
    unlock(w);
    return 1;
}

/* Both threads meet after the recorded window (or when they stop inside it). The last to
 * arrive reads the count, which nobody is writing at that moment, then lets the other go.
 * Inside the window there is no synchronisation at all. */
static void leave_window(worker *w) {
    shared *s = w->shared;
    w->recording = 0;
    if (atomic_fetch_add(&s->arrived, 1) == 1) {
        s->window_rc = atomic_load_explicit(&s->object->rc, memory_order_relaxed);
        atomic_store(&s->released, 1);
    } else {
        unsigned rounds = 0;
        while (!atomic_load(&s->released)) spin_pause(&rounds);
    }
}

static void *work(void *arg) {
    worker *w = arg;
    shared *s = w->shared;
    long window = s->record_calls;
    int in_window = window > 0;
    w->recording = in_window && w->record != NULL;
    w->tid = thread_id();
    if (s->mode == RACE_BIASED && w->is_a) /* A made the object: it owns it */
        atomic_store_explicit(&s->biased->tid, w->tid, memory_order_relaxed);
    int free_threaded = s->biased != NULL;
    gate(&s->gate, 2);
    clock_gettime(CLOCK_MONOTONIC, &w->start);
    for (long call = 0; call < s->iterations; call++) {
        if (in_window && call == window) {
            leave_window(w);
            in_window = 0;
        }
        int going;
        if (free_threaded) {
            going = biased_call(w);
        } else {
            switch (w->role) {
            case INC_UNCHECKED: going = inc_unchecked(w); break;
            case INC_CHECKED: going = inc_checked(w); break;
            default: going = dec(w); break;
            }
        }
        if (!going) break;
    }
    if (free_threaded && w->is_a) brc_drain(w, 1);
    if (in_window) leave_window(w);
    clock_gettime(CLOCK_MONOTONIC, &w->end);
    return NULL;
}

static int valid(const race_params *p) {
    return p->experiment >= RACE_INC_INC && p->experiment <= RACE_DEC_DEC &&
           p->mode >= RACE_NONE && p->mode <= RACE_UNLOCK_THEN_FREE && p->iterations >= 0 &&
           p->record_calls >= 0;
}

static int run(const race_params *p, race_result *r, long *record_a, long *record_b) {
    if (!valid(p)) return -1;
    race_object *object = aligned_alloc(CACHE_LINE, CACHE_LINE);
    if (object == NULL) return -1;
    memset(object, 0, CACHE_LINE);
    pthread_mutex_init(&object->lock, NULL);
    long initial = p->experiment == RACE_DEC_DEC ? 2 * p->iterations : 1;
    shared s;
    memset(&s, 0, sizeof s);
    s.object = object;
    if (p->mode == RACE_BIASED || p->mode == RACE_IMMORTAL) {
        /* The same memory as the free-threaded header. dec-dec's 2n references: A's n in its
         * local count, B's n in the shared one. An immortal object: local UINT32_MAX, no owner. */
        memset(object, 0, CACHE_LINE);
        s.biased = (biased_object *)object;
        long local = p->experiment == RACE_DEC_DEC ? p->iterations : 1;
        if (p->mode == RACE_IMMORTAL) local = initial = RACE_IMMORTAL_RC;
        atomic_store(&s.biased->ref_local, (uint32_t)local);
        atomic_store(&s.biased->ref_shared, (initial - local) * (1L << RACE_SHARED_SHIFT));
        pthread_mutex_init(&s.queue.mutex, NULL);
    } else {
        atomic_store(&object->rc, initial);
    }
    pthread_mutex_init(&s.global_lock, NULL);
    s.experiment = p->experiment;
    s.mode = p->mode;
    s.real_free = p->real_free;
    s.iterations = p->iterations;
    s.record_calls = p->record_calls;

    worker workers[2];
    memset(workers, 0, sizeof workers);
    int roles[3][2] = {{INC_UNCHECKED, INC_UNCHECKED}, {INC_CHECKED, DEC}, {DEC, DEC}};
    long *records[2] = {record_a, record_b};
    pthread_t threads[2];
    int started = 0;
    for (int i = 0; i < 2; i++) {
        workers[i].shared = &s;
        workers[i].is_a = i == 0;
        workers[i].role = roles[p->experiment][i];
        workers[i].record = records[i];
        if (start_pinned(&threads[i], i, work, &workers[i]) != 0) break;
        started++;
    }
    if (started < 2) {
        atomic_store(&s.gate.start_at, 1); /* let a lone thread through, then give up */
        atomic_store(&s.released, 1);
        for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
        if (!p->real_free) free(object);
        return -1;
    }
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);

    memset(r, 0, sizeof *r);
    /* After a real free this reads freed memory: only a child process ever does that. */
    if (s.biased != NULL) {
        r->ref_local = atomic_load(&s.biased->ref_local);
        r->ref_shared = atomic_load(&s.biased->ref_shared);
        r->owned = atomic_load(&s.biased->tid) != 0;
        r->final_rc = r->ref_local + (r->ref_shared >> RACE_SHARED_SHIFT);
        pthread_mutex_destroy(&s.queue.mutex);
    } else {
        r->final_rc = atomic_load(&object->rc);
    }
    r->window_rc = p->record_calls > 0 ? s.window_rc : r->final_rc;
    for (int i = 0; i < 2; i++) {
        r->increments += workers[i].increments;
        r->decrements += workers[i].decrements;
        r->failed_checks += workers[i].failed_checks;
        r->frees += workers[i].frees;
        r->use_after_free += workers[i].use_after_free;
        r->double_free += workers[i].double_free;
        r->queued += workers[i].queued;
        r->merges += workers[i].merges;
    }
    for (int i = 0; i < 2 && !r->read_freed; i++) { /* A's first: in inc-dec only A reads */
        r->read_freed = workers[i].read_freed;
        r->freed_value = workers[i].freed_value;
    }
    r->recorded_a = workers[0].recorded;
    r->recorded_b = workers[1].recorded;
    const struct timespec *first = &workers[0].start, *last = &workers[0].end;
    if (ns_between(&workers[1].start, first) > 0) first = &workers[1].start;
    if (ns_between(last, &workers[1].end) > 0) last = &workers[1].end;
    r->elapsed_ns = ns_between(first, last);

    pthread_mutex_destroy(&s.global_lock);
    /* Observed freeing: the quarantined object is released only now, when no thread can
     * touch it any more. */
    if (!p->real_free) free(object);
    return 0;
}

int race_run(const race_params *params, race_result *result, long *record_a, long *record_b) {
    if (params->real_free) return -1; /* never a real free of a shared object in this process */
    if (params->record_calls > 0 && (record_a == NULL || record_b == NULL)) return -1;
    return run(params, result, record_a, record_b);
}

static void write_all(int fd, const void *data, size_t size) {
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        size -= (size_t)n;
    }
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* What a child sent back: its result on one pipe, its stderr on the other. */
struct child_output {
    char result[sizeof(race_result)];
    size_t got;
    char *message;
    size_t message_size, said;
};

/* One read from each pipe that has something; returns the bytes read. A pipe at end of file
 * is closed and left out from then on (poll ignores negative fds). */
static size_t read_ready(struct pollfd fds[2], struct child_output *o) {
    size_t total = 0;
    for (int i = 0; i < 2; i++) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char chunk[512];
        ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fds[i].fd);
            fds[i].fd = -1;
            continue;
        }
        total += (size_t)n;
        char *into = i == 0 ? o->result + o->got : o->message + o->said;
        size_t room = i == 0 ? sizeof o->result - o->got : o->message_size - 1 - o->said;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(into, chunk, take);
        if (i == 0) {
            o->got += take;
        } else {
            o->said += take;
            o->message[o->said] = '\0';
        }
    }
    return total;
}

/* Close every descriptor above stderr but `keep`. The parent's others (a process pool's pipes,
 * the sentinel its pool watches, a server's sockets) would otherwise stay open in the child:
 * a pool whose worker died would not see it die while the child lived. */
static void close_above(int first, int last) { /* [first, last], or to the end if last < 0 */
    if (first > last && last >= 0) return;
    if (close_range((unsigned)first, last < 0 ? ~0U : (unsigned)last, 0) == 0) return;
    long end = last < 0 ? sysconf(_SC_OPEN_MAX) - 1 : last; /* a kernel before 5.9 */
    for (long fd = first; fd <= end; fd++) close((int)fd);
}

static void close_inherited(int keep) {
    if (keep < 3) {
        close_above(3, -1);
        return;
    }
    close_above(3, keep - 1);
    close_above(keep + 1, -1);
}

int race_run_in_child(const race_params *params, race_result *result, char *message,
                      size_t message_size, int timeout_ms) {
    if (message_size == 0) return -1;
    message[0] = '\0';
    race_params p = *params;
    p.record_calls = 0; /* records stay in the child; replay uses observed runs */
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) return -1;
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: only C from here on, and _exit, never back into Python. */
        /* It must never outlive the process that waits for it: if that one is killed (the
         * lab's worker, say), nobody would time this child out, and a thread hung on a mutex
         * in freed memory would hang forever. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(4); /* the parent died before prctl took effect */
        /* The parent's handlers (Python's faulthandler, say) must not catch the child's
         * crash: the default action, death by the signal, is what the parent reports. */
        int fatal[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) signal(fatal[i], SIG_DFL);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core); /* an abort here is the lesson, not a core file */
        dup2(err[1], STDERR_FILENO);      /* glibc prints its abort message to fd 2 */
        close_inherited(out[1]);
        race_result child_result;
        int status = run(&p, &child_result, NULL, NULL);
        /* Carry on as a program would and allocate objects of the same size again: glibc
         * checks its free lists when it hands out memory, so this is where a list that a use
         * after free scribbled over is noticed (and aborts the child). */
        for (int i = 0; i < 2; i++) {
            void *volatile again = malloc(CACHE_LINE); /* the size the object was allocated with */
            (void)again;
        }
        if (status == 0) write_all(out[1], &child_result, sizeof child_result);
        _exit(status == 0 ? 0 : 3);
    }
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        return -1;
    }

    /* Read the result and stderr until the child has exited and both pipes are drained, or
     * the deadline passes. The child is reaped as soon as it exits (another child forked
     * meanwhile may hold copies of our pipes, so end-of-file alone could come late). */
    struct child_output output = {.message = message, .message_size = message_size};
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    long long deadline = now_ms() + timeout_ms;
    int status = 0, reaped = 0, timed_out = 0;
    while (!reaped) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(fds, 2, left < 20 ? (int)left : 20) > 0) read_ready(fds, &output);
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) reaped = 1;
        else if (done < 0 && errno != EINTR) break;
    }
    if (reaped) {
        while (poll(fds, 2, 0) > 0 && read_ready(fds, &output) > 0) continue;
    } else {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
        if (timed_out)
            snprintf(message, message_size, "ran past %d ms and was killed (a thread hung, "
                     "e.g. on a mutex in freed memory)", timeout_ms);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    if (timed_out) return SIGKILL;
    if (WIFSIGNALED(status)) return WTERMSIG(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && output.got == sizeof output.result) {
        memcpy(result, output.result, sizeof output.result);
        return 0;
    }
    return -1;
}

/* ---- Lock cost: the inc_ref of inc-inc alone, without the quarantine's bookkeeping. ---- */

/* Branch hints where CPython's own build gets the same layout from profile-guided optimisation
 * (its release builds use PGO): the owner's path and the immortal return fall through. */
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

typedef struct cost_worker {
    _Alignas(CACHE_LINE) race_object *object;
    biased_object *biased; /* biased mode: the object, as the free-threaded header */
    pthread_mutex_t *global_lock;
    start_gate *gate;
    int mode, parties, owner;
    long iterations;
    struct timespec start, end;
} cost_worker;

static void *cost_work(void *arg) {
    cost_worker *w = arg;
    race_object *o = w->object;
    biased_object *b = w->biased;
    long n = w->iterations;
    uintptr_t self = thread_id();
    if (w->owner) atomic_store_explicit(&b->tid, self, memory_order_relaxed);
    gate(w->gate, w->parties);
    clock_gettime(CLOCK_MONOTONIC, &w->start);
    switch (w->mode) {
    case RACE_NONE:
        for (long i = 0; i < n; i++) {
            long value = atomic_load_explicit(&o->rc, memory_order_relaxed);
            atomic_store_explicit(&o->rc, value + 1, memory_order_relaxed);
        }
        break;
    case RACE_GLOBAL_LOCK:
    case RACE_OBJECT_LOCK: {
        pthread_mutex_t *m = w->mode == RACE_GLOBAL_LOCK ? w->global_lock : &o->lock;
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(m);
            long value = atomic_load_explicit(&o->rc, memory_order_relaxed);
            atomic_store_explicit(&o->rc, value + 1, memory_order_relaxed);
            pthread_mutex_unlock(m);
        }
        break;
    }
    case RACE_ATOMIC:
        for (long i = 0; i < n; i++) atomic_fetch_add_explicit(&o->rc, 1, memory_order_relaxed);
        break;
    case RACE_BIASED: /* Py_INCREF of 3.13t, as biased_inc without the quarantine */
        for (long i = 0; i < n; i++) {
            uint32_t new_local = atomic_load_explicit(&b->ref_local, memory_order_relaxed) + 1;
            if (unlikely(new_local == 0)) continue;
            if (likely(atomic_load_explicit(&b->tid, memory_order_relaxed) == self))
                atomic_store_explicit(&b->ref_local, new_local, memory_order_relaxed);
            else
                atomic_fetch_add_explicit(&b->ref_shared, 1L << RACE_SHARED_SHIFT,
                                          memory_order_relaxed);
        }
        break;
    default: /* RACE_IMMORTAL: Py_INCREF of 3.13t on an immortal object: read, compare, return */
        for (long i = 0; i < n; i++) {
            uint32_t new_local = atomic_load_explicit(&b->ref_local, memory_order_relaxed) + 1;
            if (likely(new_local == 0)) continue;
            atomic_store_explicit(&b->ref_local, new_local, memory_order_relaxed);
        }
        break;
    }
    clock_gettime(CLOCK_MONOTONIC, &w->end);
    return NULL;
}

int race_cost(int mode, int layout, long iterations, race_cost_result *result) {
    if (mode < RACE_NONE || mode > RACE_IMMORTAL || layout < RACE_ONE_THREAD ||
        layout > RACE_NOT_OWNER || (layout == RACE_NOT_OWNER && mode != RACE_BIASED) ||
        iterations <= 0)
        return -1;
    /* Four cache lines: objects at offset 0 and 128 are on separate lines (128 also keeps the
     * adjacent-line prefetcher out of it); an object right after the first one (at its size:
     * 48 bytes on x86-64, 24 for the biased header) shares the first one's line. */
    char *arena = aligned_alloc(2 * CACHE_LINE, 4 * CACHE_LINE);
    if (arena == NULL) return -1;
    memset(arena, 0, 4 * CACHE_LINE);
    int free_threaded = mode == RACE_BIASED || mode == RACE_IMMORTAL;
    size_t size = free_threaded ? sizeof(biased_object) : sizeof(race_object);
    char *places[2] = {arena, arena};
    if (layout == RACE_TWO_OBJECTS) places[1] = arena + 2 * CACHE_LINE;
    if (layout == RACE_FALSE_SHARING) places[1] = arena + size;
    if (!free_threaded) {
        for (int i = 0; i < 2; i++) pthread_mutex_init(&((race_object *)places[i])->lock, NULL);
    } else if (mode == RACE_IMMORTAL) {
        for (int i = 0; i < 2; i++) atomic_store(&((biased_object *)places[i])->ref_local, UINT32_MAX);
    } else if (layout == RACE_NOT_OWNER) { /* owned by this thread, which never touches it */
        atomic_store(&((biased_object *)arena)->tid, thread_id());
    }
    pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
    start_gate start = {0, 0};
    int parties = layout == RACE_ONE_THREAD || layout == RACE_NOT_OWNER ? 1 : 2;
    cost_worker workers[2];
    pthread_t threads[2];
    int started = 0;
    for (int i = 0; i < parties; i++) {
        /* Biased: the first thread owns its object; with two objects, each owns its own. */
        int owner = mode == RACE_BIASED && layout != RACE_NOT_OWNER &&
                    (i == 0 || places[1] != places[0]);
        workers[i] = (cost_worker){.object = (race_object *)places[i],
                                   .biased = (biased_object *)places[i],
                                   .global_lock = &global_lock, .gate = &start, .mode = mode,
                                   .parties = parties, .owner = owner, .iterations = iterations};
        if (start_pinned(&threads[i], i, cost_work, &workers[i]) != 0) break;
        started++;
    }
    if (started < parties) atomic_store(&start.start_at, 1);
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    int status = -1;
    if (started == parties) {
        memset(result, 0, sizeof *result);
        struct timespec *first = &workers[0].start, *last = &workers[0].end;
        for (int i = 0; i < parties; i++) {
            if (ns_between(&workers[i].start, first) > 0) first = &workers[i].start;
            if (ns_between(last, &workers[i].end) > 0) last = &workers[i].end;
            result->thread_ns[i] =
                (double)ns_between(&workers[i].start, &workers[i].end) / (double)iterations;
        }
        result->ns_per_op = (double)ns_between(first, last) / (double)iterations;
        status = 0;
    }
    free(arena);
    return status;
}
