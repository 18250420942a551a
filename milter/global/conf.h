/* conf.h - spillway.conf: loading and validation (libconfig) */
#ifndef SW_CONF_H
#define SW_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"

/*
 * One immutable generation of the configuration.  It is built whole by
 * sw_conf_load() and never changed afterwards: a reload builds a new one
 * and swaps it in, so a bad file can never leave a half-applied config.
 */

#define SW_HOST_MAX_CONF 255 /* a nexthop host name */

enum sw_relay_role { SW_ROLE_PRIMARY, SW_ROLE_ALTERNATE };
enum sw_scope_kind { SW_SCOPE_DESTINATION, SW_SCOPE_POOL };

/* Evidence classes (DESIGN.md section 3), as bits for rule masks. */
#define SW_CLASS_REPUTATION 0x1
#define SW_CLASS_THROTTLE   0x2

struct sw_strv {
    char **v;
    size_t n;
};

/* relays[].probe { }: health probes (DESIGN.md 6).  Absent: not probed. */
struct sw_probe_conf {
    bool enabled;
    long interval;    /* seconds between probes of an up address (60) */
    long timeout;     /* a whole probe (10) */
    long backoff_max; /* longest wait between probes of a down address (900) */
    long fall, rise;  /* consecutive results that change a state (2, 2) */
    bool starttls;    /* require STARTTLS */
    bool verify;      /* verify the certificate against `name` */
    char *ca_file;    /* NULL: OpenSSL's default paths */
    char *name;       /* name to verify: default the nexthop's host */
    char *helo;       /* EHLO name: default the host name */
    char *mail_from;  /* with rcpt: MAIL FROM (default <>) */
    char *rcpt;       /* NULL: stop after EHLO (and TLS); else MAIL/RCPT/RSET */
};

struct sw_relay {
    char *name;
    char *nexthop;   /* Postfix form: [host]:port, host:port, host */
    char *transport; /* Postfix transport name, default "smtp" */
    char *mailer;    /* Sendmail mailer name, default "relay" */
    enum sw_relay_role role;
    int priority;       /* lower is preferred, like MX preference */
    int weight;         /* share among relays of equal priority */
    long max_per_hour;  /* 0: unlimited */
    char *jurisdiction; /* NULL: none declared */
    bool enabled;       /* initial administrative state */
    struct sw_probe_conf probe;
    char *host;         /* nexthop host, without brackets and port */
    int port;           /* nexthop port, 25 if none */
    bool mx;            /* no brackets: Postfix looks up MX records */
    int line;
};

struct sw_pool {
    char *name;
    struct sw_strv relays;
    struct sw_strv egress;       /* CIDRs, validated */
    struct sw_strv hosts;        /* host patterns, "*.outlook.com" */
    struct sw_strv destinations; /* empty: every destination */
    int line;
};

struct sw_rule {
    char *name;
    unsigned classes;
    enum sw_scope_kind scope;
    long events;
    long window;
    double ratio;
    long hold;
    long hold_max;
    double recover_share;
    long recover_successes;
    int line;
};

struct sw_residency {
    struct sw_strv destinations;
    struct sw_strv allow;
    int line;
};

/* routed.mta: which MTAs ask spillway-routed, and whose fail-static tables
 * it renders (routed_render.c) and whose answers explain shows. */
#define SW_WIRED_POSTFIX  1u
#define SW_WIRED_SENDMAIL 2u

struct sw_routed_conf {
    struct sw_strv socketmap; /* listeners: unix:/path, inet:127.0.0.1:port */
    char *control;
    char *evidence;
    char *state;
    char *render_dir;
    unsigned mta;         /* SW_WIRED_POSTFIX | SW_WIRED_SENDMAIL: the MTAs that ask */
    char *render_format;  /* Postfix tables: "lmdb", "cdb" or "none" */
    char *mailertable_format; /* Sendmail's mailertable: a makemap type, or "none" */
    char *makemap;        /* path of makemap(8) */
    char *sendmail_cf;    /* makemap -C: the sendmail.cf it reads, or NULL */
    char *postfix_config; /* config_directory for postmap -c, or NULL */
    char *maillog;        /* a source (util/logsrc.h): journal, postlog:FILE, syslog:FILE */
    char *maillog_trust;  /* "proven" (default) or "forgeable": accept a syslog source */
    struct sw_strv maillog_users; /* who may write evidence lines; NULL n: postfix, root */
    struct sw_strv flush; /* argv of the queue flush command */
    char *flush_etrn;     /* or an ETRN #mqueue at this SMTP endpoint (Sendmail) */
    struct sw_strv control_users;
    struct sw_strv control_groups;
    long history; /* decisions kept for "history" */
    char *metrics; /* Prometheus endpoint, unix:/path or inet:ADDR:PORT; NULL: none */
    long metrics_scopes; /* per-scope series at most (1000); the rest are counted */
    long clients_per_user; /* connections one user (or address) may hold per listener */
    long maillog_silence; /* seconds without a mail log line before it is "silent" */
};

/* milter.return_path { } (rpath.h) */
struct sw_rpath_conf {
    char *domain;                 /* fixed return-path domain, or NULL */
    char *subdomain;              /* label(s) put in front of a sender domain, or NULL */
    struct sw_strv sender_domains; /* where the subdomain form applies */
    struct sw_strv skip_senders;   /* globs: "local" parts or "local@domain" */
    struct sw_strv skip_recipients; /* globs on "local@domain": leave the sender alone */
    long max_age;                 /* seconds an address stays valid */
};

struct sw_milter_conf {
    bool present;     /* the file has a milter { } group */
    char *socket;     /* libmilter form: unix:/path or inet:port@127.0.0.1 */
    char *tag_keys;   /* key file; NULL: no tagging, every bounce untrusted */
    long tag_max_age; /* seconds a tag counts after the mail was sent */
    long rate;        /* evidence records per minute per SMTP client */
    long tag_cap;     /* trusted records one tag may give (guard.h) */
    struct sw_strv out_networks; /* outbound { networks }: clients whose mail is tagged */
    bool out_auth;               /* outbound { authenticated }: and SMTP AUTH senders' */
    struct sw_rpath_conf rp;     /* return_path { }: off when neither domain nor subdomain */
    char *user;       /* drop to this user after opening the socket */
    char *group;      /* group of the unix socket (mode 0660), e.g. "postfix" */
};

/* dns { }: how spillway-routed resolves relay names (c-ares). */
struct sw_dns_conf {
    char *resolver; /* "IP" or "IP:PORT" ("[IPv6]:PORT"), NULL: /etc/resolv.conf */
    long timeout;   /* per query, seconds (3) */
    long min_ttl;   /* re-resolve no sooner than this (10) */
    long max_ttl;   /* nor later (3600) */
};

struct sw_dnsbl_conf {
    struct sw_strv zones;
    char *resolver; /* as dns.resolver; NULL: dns.resolver */
    long interval;  /* seconds between checks of one address (900) */
    bool alternates; /* check the alternates' addresses too (true) */
};

/* cluster { }: several nodes sharing evidence and decisions (DESIGN.md 5.8) */
struct sw_cluster_conf {
    bool enabled;          /* the group is present */
    char *redis;           /* endpoint of the Redis master; NULL with sentinels */
    struct sw_strv sentinels; /* endpoints of Sentinels asked for the master */
    char *master;          /* the Sentinels' name for it */
    char *node;            /* this node's name (default: the host name) */
    char *key_file;        /* HMAC keys the nodes sign their records with */
    char *password_file;   /* Redis AUTH: "password" or "user password" */
    char *prefix;          /* of every key ("spillway:") */
    long timeout;          /* deadline of every Redis call, ms (1000) */
    long heartbeat;        /* seconds between a node's hellos (5) */
    long reassert;         /* seconds between re-assertions of own decisions (300) */
    long peer_timeout;     /* a peer without a hello for this long is gone (30) */
    long queue;            /* Redis calls in flight at most (1000) */
    long stream_max;       /* records the shared stream keeps (100000) */
};

/* A cluster node's name: [A-Za-z0-9._-]{1,64} (conf_cluster.c). */
bool sw_node_name_valid(const char *s);

struct sw_patterns;

struct sw_conf {
    char *path;
    char *patterns_file;          /* classify.patterns */
    int log_facility;             /* log_facility (syslog.h), LOG_MAIL by default */
    struct sw_patterns *patterns; /* compiled: shipped file + operator overrides */
    struct sw_routed_conf routed;
    struct sw_milter_conf milter;
    struct sw_dns_conf dns;
    struct sw_dnsbl_conf dnsbl;
    struct sw_cluster_conf cluster;
    struct sw_relay *relays;
    size_t nrelays;
    struct sw_pool *pools;
    size_t npools;
    struct sw_rule *rules;
    size_t nrules;
    struct sw_residency *residency;
    size_t nresidency;
};

/* Load and validate; on failure NULL and one "file:line: key: problem" in err. */
struct sw_conf *sw_conf_load(const char *path, struct sw_buf *err);
/* Only the pattern library a file names (classify.patterns, default the
 * shipped one) with its operator's patterns list, compiled; the rest of
 * the file is not checked.  NULL with err set. */
struct sw_patterns *sw_conf_load_patterns(const char *path, struct sw_buf *err);
/* The same from a string (fuzzing, tests); name is used in messages. */
struct sw_conf *sw_conf_load_string(const char *text, const char *name, struct sw_buf *err);
/* The effective configuration, every default written out, as a
 * spillway.conf that loads to the same values (conf_dump.c). */
void sw_conf_dump(const struct sw_conf *conf, struct sw_buf *out);
void sw_conf_free(struct sw_conf *conf);

const struct sw_relay *sw_conf_relay(const struct sw_conf *conf, const char *name);
/* The longest window of any rule, in seconds (0 without rules). */
long sw_conf_max_window(const struct sw_conf *conf);
const struct sw_pool *sw_conf_pool(const struct sw_conf *conf, const char *name);
/* The pool whose traffic goes to a destination (first pool whose
 * destinations match, else the first pool with a primary relay). */
const struct sw_pool *sw_conf_pool_for(const struct sw_conf *conf, const char *domain);
void sw_strv_free(struct sw_strv *sv);
/* Split a Postfix nexthop into host, port (25) and "MX lookup" (no
 * brackets).  false if it does not fit. */
bool sw_nexthop_split(const char *nexthop, char *host, size_t size, int *port, bool *mx);
/* "IP", "IP:PORT", "[IPv6]:PORT": a resolver address for c-ares. */
bool sw_resolver_valid(const char *s);
bool sw_strv_has(const struct sw_strv *sv, const char *s);
bool sw_strv_has_ci(const struct sw_strv *sv, const char *s);
/* Does a destination pattern ("example.com", "*.gov.uk", "*") match? */
bool sw_domain_match(const char *pattern, const char *domain);

#endif
