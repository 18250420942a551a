/* history.c - the last decisions, for "spillwayctl history" */
#include "config.h"

#include <stdlib.h>

#include "global/history.h"

struct sw_history {
    struct sw_decision *ring;
    size_t capacity;
    size_t start; /* index of the oldest */
    size_t count;
};

/* sw_history_new - an empty ring */
struct sw_history *
sw_history_new(size_t capacity)
{
    struct sw_history *h = calloc(1, sizeof(*h));

    if (h == NULL || capacity == 0 || (h->ring = calloc(capacity, sizeof(*h->ring))) == NULL) {
        free(h);
        return NULL;
    }
    h->capacity = capacity;
    return h;
}

/* sw_history_free - release */
void
sw_history_free(struct sw_history *h)
{
    if (h == NULL)
        return;
    free(h->ring);
    free(h);
}

/* sw_history_add - keep a copy, dropping the oldest when full */
void
sw_history_add(struct sw_history *h, const struct sw_decision *d)
{
    if (h->count < h->capacity) {
        h->ring[(h->start + h->count++) % h->capacity] = *d;
        return;
    }
    h->ring[h->start] = *d;
    h->start = (h->start + 1) % h->capacity;
}

/* sw_history_count - entries kept */
size_t
sw_history_count(const struct sw_history *h)
{
    return h->count;
}

/* sw_history_get - oldest first */
const struct sw_decision *
sw_history_get(const struct sw_history *h, size_t i)
{
    return i < h->count ? &h->ring[(h->start + i) % h->capacity] : NULL;
}
