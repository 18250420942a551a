/* routed_accept.h - accepting clients on a listener, within limits */
#ifndef SW_ROUTED_ACCEPT_H
#define SW_ROUTED_ACCEPT_H

#include <stddef.h>

#include "util/peercred.h"

/*
 * A listener hands each accepted connection (non-blocking, close-on-exec)
 * and its peer to cb.  The owner of the connection calls
 * routed_listener_release with the same peer when it closes it, so that
 * the peer's count goes down.  See routed_accept.c for the limits.
 */
struct event_base;
struct routed_listener;

typedef void (*routed_accept_fn)(int fd, const struct sw_peer *peer, void *arg);

/* name: for the log ("socketmap", "control"); priority: the event's. */
struct routed_listener *routed_listener_new(struct event_base *base, int fd, const char *name,
                                            int priority, size_t max_per_peer,
                                            routed_accept_fn cb, void *arg);
void routed_listener_release(struct routed_listener *l, const struct sw_peer *peer);
void routed_listener_refused(const struct routed_listener *l, unsigned long *over,
                             unsigned long *nofile);
void routed_listener_free(struct routed_listener *l);

#endif
