/* The seed's reference-count races, run for real on two pthreads.
 *
 * Two threads, A and B, update the reference count of one shared object, exactly as the
 * simulator's scenarios describe (DESIGN.md): inc-inc (both increment, unchecked), inc-dec
 * (A increments, checked; B decrements and frees at 0) and dec-dec (both decrement from 2n).
 * Each runs in one of seven modes: no lock, one global mutex, a mutex inside the object (freed,
 * as the seed does it, before it is unlocked; or unlocked first), C11 atomics, or, on the
 * free-threaded object header of CPython 3.13t, biased reference counting (PEP 703: the owner's
 * local count, everyone else's atomic shared count, merged through a queue the owner drains)
 * or an immortal object (PEP 683: read, compared, never written). The free-threaded modes
 * follow docs/semantics.md: Py_INCREF and Py_DECREF have no check.
 *
 * Freeing is either observed (the object is quarantined: never really freed, each later access
 * and each second free is counted) or real (free() is called; only ever in a forked child, see
 * race_run_in_child). The Python side reaches this file only through app/lab/native.py.
 */
#ifndef GIL_LAB_RACE_H
#define GIL_LAB_RACE_H

#include <stddef.h>

enum race_experiment { RACE_INC_INC = 0, RACE_INC_DEC = 1, RACE_DEC_DEC = 2 };
enum race_mode {
    RACE_NONE = 0,
    RACE_GLOBAL_LOCK = 1,
    RACE_OBJECT_LOCK = 2,
    RACE_ATOMIC = 3,
    RACE_BIASED = 4,   /* 3.13t's header: A owns the object; A's updates are plain stores to
                        * its local count, B's atomic adds to the shared count (no checks) */
    RACE_IMMORTAL = 5, /* 3.13t's header on an immortal object: read, compare, never written */
    RACE_UNLOCK_THEN_FREE = 6 /* object-lock, but dec_ref unlocks before it frees */
};
enum race_layout {
    RACE_ONE_THREAD = 0,     /* one thread, one object (in biased mode: the owner) */
    RACE_ONE_OBJECT = 1,     /* two threads, one shared object (biased: the owner and another) */
    RACE_TWO_OBJECTS = 2,    /* two threads, one object each, on separate cache lines */
    RACE_FALSE_SHARING = 3,  /* two threads, one object each, both counts in one cache line */
    RACE_NOT_OWNER = 4       /* biased mode only: one thread, an object another thread owns */
};

/* How many values one call can read: check, read, test (dec_ref). */
#define RACE_READS_PER_CALL 3

/* Biased reference counting, as CPython 3.13t's Include/object.h lays it out: the shared count
 * is kept shifted left by RACE_SHARED_SHIFT, its low bits are flags. */
#define RACE_SHARED_SHIFT 2
#define RACE_SHARED_FLAGS 3
#define RACE_SHARED_MAYBE_WEAKREF 1
#define RACE_SHARED_QUEUED 2
#define RACE_SHARED_MERGED 3

/* An immortal object's local count (UINT32_MAX, 3.13t's _Py_IMMORTAL_REFCNT_LOCAL), which is
 * also what sys.getrefcount reports for one on 3.12 and 3.13. */
#define RACE_IMMORTAL_RC 4294967295

typedef struct race_params {
    int experiment;       /* enum race_experiment */
    int mode;             /* enum race_mode */
    long iterations;      /* calls per thread */
    int real_free;        /* 1: call free() (only in a child process!); 0: quarantine */
    long record_calls;    /* record the values read by each thread's first record_calls calls */
} race_params;

typedef struct race_result {
    long final_rc;        /* the count when both threads are done (last value if freed) */
    long increments;      /* increments that completed (both threads) */
    long decrements;      /* decrements that completed */
    long failed_checks;   /* calls that found rc <= 0 and stopped */
    long frees;           /* calls to free (1 is correct when the count reaches 0) */
    long use_after_free;  /* accesses to the object after it was freed */
    long double_free;     /* frees of an object already freed */
    long long elapsed_ns; /* from the start gate opening to the last thread finishing */
    long window_rc;       /* the count when both threads had left the recorded window */
    long recorded_a;      /* values in record_a */
    long recorded_b;      /* values in record_b */
    int read_freed;       /* some thread loaded the count after the free */
    long freed_value;     /* the first such load's value (A's if it made one): with a real
                             free(), what glibc left in the freed memory */
    /* Biased mode only (0 otherwise): the two counts as left at the end, and what it took. */
    long ref_local;       /* the owner's count */
    long ref_shared;      /* the shared word: count << RACE_SHARED_SHIFT | flags */
    long owned;           /* 1 while A still owns the object (not merged) */
    long queued;          /* times B queued the object to its owner */
    long merges;          /* merges of the two counts (owner's zero local, queue, or by B) */
} race_result;

/* Run one experiment in this process. record_a and record_b hold at least
 * record_calls * RACE_READS_PER_CALL values each (or are NULL when record_calls is 0).
 * real_free must be 0 here. Returns 0, or -1 on bad parameters or a failed pthread call. */
int race_run(const race_params *params, race_result *result, long *record_a, long *record_b);

/* Run one experiment in a forked child (real_free may be 1 there) and wait at most timeout_ms.
 * Returns 0 when the child finished normally (result filled in), the signal number when it
 * was killed by one (SIGKILL after a timeout), or -1 when the child could not be run. What the
 * child wrote to stderr (glibc's abort message) lands in message, NUL-terminated. */
int race_run_in_child(const race_params *params, race_result *result, char *message,
                      size_t message_size, int timeout_ms);

typedef struct race_cost_result {
    double ns_per_op;     /* the wall time divided by the calls each thread makes (so two
                           * threads in perfect parallel cost what one costs alone) */
    double thread_ns[2];  /* each thread's own time per call (the second is 0 with one thread) */
} race_cost_result;

/* Time `iterations` increments per thread for one mode and layout. Returns 0, or -1 on bad
 * parameters or a failed pthread call. */
int race_cost(int mode, int layout, long iterations, race_cost_result *result);

#endif /* GIL_LAB_RACE_H */
