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

/* What both threads share besides the object. Each hot field gets its own cache line so that
 * the bookkeeping does not add false sharing to the race being measured. */
typedef struct shared {
    race_object *object;
    pthread_mutex_t global_lock; /* per run, so a fork never inherits a lock held elsewhere */
    int experiment, mode, real_free;
    long iterations, record_calls;
    _Alignas(CACHE_LINE) start_gate gate;
    _Alignas(CACHE_LINE) atomic_int freed;   /* quarantine flag: kept outside the object */
    _Alignas(CACHE_LINE) atomic_int arrived; /* both threads left the recorded window */
    atomic_int released;
    long window_rc;
} shared;

enum role { INC_UNCHECKED, INC_CHECKED, DEC };

/* One thread's private state: counters and its own record buffer, never shared while running. */
typedef struct worker {
    _Alignas(CACHE_LINE) shared *shared;
    int role, is_a, recording;
    long increments, decrements, failed_checks, frees, use_after_free, double_free;
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
    gate(&s->gate, 2);
    clock_gettime(CLOCK_MONOTONIC, &w->start);
    for (long call = 0; call < s->iterations; call++) {
        if (in_window && call == window) {
            leave_window(w);
            in_window = 0;
        }
        int going;
        switch (w->role) {
        case INC_UNCHECKED: going = inc_unchecked(w); break;
        case INC_CHECKED: going = inc_checked(w); break;
        default: going = dec(w); break;
        }
        if (!going) break;
    }
    if (in_window) leave_window(w);
    clock_gettime(CLOCK_MONOTONIC, &w->end);
    return NULL;
}

static int valid(const race_params *p) {
    return p->experiment >= RACE_INC_INC && p->experiment <= RACE_DEC_DEC &&
           ((p->mode >= RACE_NONE && p->mode <= RACE_ATOMIC) || p->mode == RACE_UNLOCK_THEN_FREE) &&
           p->iterations >= 0 &&
           p->record_calls >= 0;
}

static int run(const race_params *p, race_result *r, long *record_a, long *record_b) {
    if (!valid(p)) return -1;
    race_object *object = aligned_alloc(CACHE_LINE, CACHE_LINE);
    if (object == NULL) return -1;
    memset(object, 0, CACHE_LINE);
    pthread_mutex_init(&object->lock, NULL);
    long initial = p->experiment == RACE_DEC_DEC ? 2 * p->iterations : 1;
    atomic_store(&object->rc, initial);

    shared s;
    memset(&s, 0, sizeof s);
    s.object = object;
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
    r->final_rc = atomic_load(&object->rc);
    r->window_rc = p->record_calls > 0 ? s.window_rc : r->final_rc;
    for (int i = 0; i < 2; i++) {
        r->increments += workers[i].increments;
        r->decrements += workers[i].decrements;
        r->failed_checks += workers[i].failed_checks;
        r->frees += workers[i].frees;
        r->use_after_free += workers[i].use_after_free;
        r->double_free += workers[i].double_free;
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

typedef struct cost_worker {
    _Alignas(CACHE_LINE) race_object *object;
    pthread_mutex_t *global_lock;
    start_gate *gate;
    int mode, parties;
    long iterations;
    struct timespec start, end;
} cost_worker;

static void *cost_work(void *arg) {
    cost_worker *w = arg;
    race_object *o = w->object;
    long n = w->iterations;
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
    default:
        for (long i = 0; i < n; i++) atomic_fetch_add_explicit(&o->rc, 1, memory_order_relaxed);
        break;
    }
    clock_gettime(CLOCK_MONOTONIC, &w->end);
    return NULL;
}

double race_cost(int mode, int layout, long iterations) {
    if (mode < RACE_NONE || mode > RACE_ATOMIC || layout < RACE_ONE_THREAD ||
        layout > RACE_FALSE_SHARING || iterations <= 0)
        return -1.0;
    /* Four cache lines: objects at offset 0 and 128 are on separate lines (128 also keeps the
     * adjacent-line prefetcher out of it); an object right after the first one (offset
     * sizeof(race_object), 48 bytes on x86-64) shares the first one's line: false sharing. */
    char *arena = aligned_alloc(2 * CACHE_LINE, 4 * CACHE_LINE);
    if (arena == NULL) return -1.0;
    memset(arena, 0, 4 * CACHE_LINE);
    race_object *objects[2] = {(race_object *)arena, (race_object *)arena};
    if (layout == RACE_TWO_OBJECTS) objects[1] = (race_object *)(arena + 2 * CACHE_LINE);
    if (layout == RACE_FALSE_SHARING) objects[1] = (race_object *)(arena + sizeof(race_object));
    for (int i = 0; i < 2; i++) pthread_mutex_init(&objects[i]->lock, NULL);
    pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
    start_gate start = {0, 0};
    int parties = layout == RACE_ONE_THREAD ? 1 : 2;
    cost_worker workers[2];
    pthread_t threads[2];
    int started = 0;
    for (int i = 0; i < parties; i++) {
        workers[i] = (cost_worker){.object = objects[i], .global_lock = &global_lock,
                                   .gate = &start, .mode = mode, .parties = parties,
                                   .iterations = iterations};
        if (start_pinned(&threads[i], i, cost_work, &workers[i]) != 0) break;
        started++;
    }
    if (started < parties) atomic_store(&start.start_at, 1);
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    double ns = -1.0;
    if (started == parties) {
        struct timespec *first = &workers[0].start, *last = &workers[0].end;
        for (int i = 1; i < parties; i++) {
            if (ns_between(&workers[i].start, first) > 0) first = &workers[i].start;
            if (ns_between(last, &workers[i].end) > 0) last = &workers[i].end;
        }
        ns = (double)ns_between(first, last) / (double)iterations;
    }
    free(arena);
    return ns;
}
