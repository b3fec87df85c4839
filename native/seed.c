/* The seed's first program, as the seed writes it: two threads each take 100000 references to
 * one object with a plain `obj->ref_counts++`, and main prints the count (correct: 200001).
 *
 * Not part of the lab's C extension. native/seed_build.py compiles it at -O0 and -O2 when the
 * package is built, keeps both programs and the disassembly of their counting loop, and the
 * native lab runs them as they are, to show why the lab's own race (race.c) is written
 * differently. Do not "fix" it: its flaws are the lesson.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int ref_counts;
} Object;

void *increase(void *arg) {
    Object *obj = (Object *)arg;
    for (int i = 0; i < 100000; i++)
        obj->ref_counts++;
    return NULL;
}

int main(void) {
    Object *obj = malloc(sizeof(Object));
    obj->ref_counts = 1;
    pthread_t t1, t2;
    pthread_create(&t1, NULL, increase, obj);
    pthread_create(&t2, NULL, increase, obj);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("%d\n", obj->ref_counts);
    free(obj);
    return 0;
}
