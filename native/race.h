/* The seed's reference-count races, run for real on two pthreads.
 *
 * Two threads, A and B, update the reference count of one shared object, exactly as the
 * simulator's scenarios describe (DESIGN.md): inc-inc (both increment, unchecked), inc-dec
 * (A increments, checked; B decrements and frees at 0) and dec-dec (both decrement from 2n).
 * Each runs in one of five modes: no lock, one global mutex, a mutex inside the object (freed,
 * as the seed does it, before it is unlocked; or unlocked first), or C11 atomics.
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
    RACE_UNLOCK_THEN_FREE = 6 /* object-lock, but dec_ref unlocks before it frees */
};
enum race_layout {
    RACE_ONE_THREAD = 0,     /* one thread, one object */
    RACE_ONE_OBJECT = 1,     /* two threads, one shared object */
    RACE_TWO_OBJECTS = 2,    /* two threads, one object each, on separate cache lines */
    RACE_FALSE_SHARING = 3   /* two threads, one object each, both counts in one cache line */
};

/* How many values one call can read: check, read, test (dec_ref). */
#define RACE_READS_PER_CALL 3

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

/* Nanoseconds per increment for one mode and layout: the wall time of the run divided by
 * the calls each thread makes (so two threads in perfect parallel cost what one costs alone).
 * Returns a negative value on failure. */
double race_cost(int mode, int layout, long iterations);

#endif /* GIL_LAB_RACE_H */
