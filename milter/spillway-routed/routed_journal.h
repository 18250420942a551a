/* routed_journal.h - the systemd journal as a mail log source (program-internal) */
#ifndef SW_ROUTED_JOURNAL_H
#define SW_ROUTED_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"
#include "util/logsrc.h"

struct event_base;
struct routed_journal;

/* One entry, rebuilt as a syslog line "IDENTIFIER[PID]: MESSAGE" (no
 * timestamp: when is __REALTIME_TIMESTAMP), with the verdict on its
 * writer from its trusted fields (_UID, _COMM, _SYSTEMD_UNIT). */
typedef void (*routed_journal_fn)(const char *line, size_t len, time_t when,
                                  enum sw_writer_verdict writer, void *ctx);

/* Follow the local system journal (dir "") or the journal files in dir,
 * from its end.  uids: the users whose entries may be evidence (copied).
 * NULL with a message in err. */
struct routed_journal *routed_journal_start(struct event_base *base, const char *dir,
                                            const uid_t *uids, size_t nuids, routed_journal_fn fn,
                                            void *ctx, struct sw_buf *err);
/* Entries read so far. */
unsigned long routed_journal_entries(const struct routed_journal *rj);
void routed_journal_stop(struct routed_journal *rj);

#endif
