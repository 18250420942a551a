/* listen.h - listener endpoints: "unix:/path" and "inet:ADDR:PORT" */
#ifndef SW_LISTEN_H
#define SW_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"

#define SW_LISTEN_PATH_MAX 107 /* sun_path less the terminator */

struct sw_endpoint {
    bool is_unix;
    char path[SW_LISTEN_PATH_MAX + 1]; /* unix */
    char host[64];                     /* inet: numeric address */
    int port;
};

/* Parse "unix:/path", "inet:127.0.0.1:10027" or "inet:[::1]:10027". */
bool sw_endpoint_parse(const char *spec, struct sw_endpoint *ep, struct sw_buf *err);
/* Bind and listen (non-blocking, close-on-exec).  A stale unix socket is
 * replaced, a live one (a process listens on it) is an error; mode
 * applies to unix sockets.  -1 with a message on failure. */
int sw_endpoint_listen(const struct sw_endpoint *ep, int backlog, mode_t mode, struct sw_buf *err);
/* Connect (blocking, for clients and tests); -1 with a message on failure. */
int sw_endpoint_connect(const struct sw_endpoint *ep, struct sw_buf *err);

#endif
