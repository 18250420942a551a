/* milter_gen.c - the daemon's shared state, and what a reload replaces */

/*
 * Callbacks run on libmilter's threads, one per SMTP session, while a
 * reload (SIGUSR1) builds a new generation on the signal thread.  A
 * generation is reference counted under one mutex: a callback takes it
 * for the moment it needs it, and the last holder of a replaced one frees
 * it.  A bad configuration or key file leaves the old generation in place.
 *
 * This file owns the one struct milter of the process (milter.h) and its
 * lock, so that every other file of the program calls down to it and
 * nothing calls back up into milter_main.c.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"

struct milter sw_milter = { .lock = PTHREAD_MUTEX_INITIALIZER, .evidence_fd = -1 };

/* milter_gen_load - a new generation from the files */
struct milter_gen *
milter_gen_load(const char *path, struct sw_buf *err)
{
    struct milter_gen *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    if ((g->conf = sw_conf_load(path, err)) == NULL) {
        free(g);
        return NULL;
    }
    if (g->conf->milter.tag_keys && !sw_tag_keys_load(g->conf->milter.tag_keys, &g->keys, err)) {
        sw_conf_free(g->conf);
        free(g);
        return NULL;
    }
    g->refs = 1; /* the reference of sw_milter.gen */
    return g;
}

static void
gen_free(struct milter_gen *g)
{
    sw_conf_free(g->conf);
    OPENSSL_cleanse(&g->keys, sizeof(g->keys));
    free(g);
}

/* milter_gen_get - the current generation, referenced */
struct milter_gen *
milter_gen_get(void)
{
    struct milter_gen *g;

    pthread_mutex_lock(&sw_milter.lock);
    if ((g = sw_milter.gen) != NULL)
        g->refs++;
    pthread_mutex_unlock(&sw_milter.lock);
    return g;
}

/* milter_gen_put - done with it */
void
milter_gen_put(struct milter_gen *g)
{
    bool last;

    if (g == NULL)
        return;
    pthread_mutex_lock(&sw_milter.lock);
    last = --g->refs == 0;
    pthread_mutex_unlock(&sw_milter.lock);
    if (last)
        gen_free(g);
}

/* milter_gen_swap - make g current (it carries one reference) */
void
milter_gen_swap(struct milter_gen *g)
{
    struct milter_gen *old;

    pthread_mutex_lock(&sw_milter.lock);
    old = sw_milter.gen;
    sw_milter.gen = g;
    pthread_mutex_unlock(&sw_milter.lock);
    milter_gen_put(old);
}

/* milter_stat_add - counters shared by the session threads */
void
milter_stat_add(unsigned long *counter, unsigned long n)
{
    pthread_mutex_lock(&sw_milter.lock);
    *counter += n;
    pthread_mutex_unlock(&sw_milter.lock);
}
