/* sockmap.h - answers to socketmap requests (Postfix and Sendmail) */
#ifndef SW_SOCKMAP_H
#define SW_SOCKMAP_H

#include <stddef.h>

#include "util/buf.h"
#include "global/policy.h"
#include "global/route.h"
#include "global/rpath.h"

/*
 * Map names: "transport" (Postfix's transport_maps) gets Postfix's
 * notation; "mailertable" (Sendmail's FEATURE(`mailertable') on the socket
 * map) and "spillway" Sendmail's.  Sendmail asks a socket map under its own
 * K name: in a sequence map (socket map first, the rendered mailertable
 * second: conf/sendmail.mc) the member cannot be called mailertable, and
 * the shipped snippet calls it "spillway".
 */
#define SW_SOCKMAP_SENDMAIL_MEMBER "spillway"

/* Longest request payload accepted ("transport " + an address). */
#define SW_SOCKMAP_MAX_REQUEST 10000

enum sw_sockmap_result {
    SW_SOCKMAP_FOUND,    /* OK <route> */
    SW_SOCKMAP_NOTFOUND, /* NOTFOUND: the MTA's static route */
    SW_SOCKMAP_BADMAP,   /* unknown map name: NOTFOUND, logged */
    SW_SOCKMAP_MALFORMED /* no "name key" shape: NOTFOUND, logged */
};

/*
 * Answer one request payload "<map> <key>" (DESIGN.md 5.1) into reply
 * (the payload of the reply netstring: "OK smtp:[alt]:587" or "NOTFOUND ").
 * A probing scope sends a share of its addresses to the primary (NOTFOUND,
 * or the primary named when partial); for Sendmail's mailertable, a share
 * of the lookups, drawn one by one, with the primary named (sockmap.c).
 * Every failure answers NOTFOUND: static routing is always safe, while a
 * TEMP or a hang stalls Postfix's address resolution (MTA-FACTS.md).
 */
enum sw_sockmap_result sw_sockmap_answer(const struct sw_policy *p, const struct sw_route *r,
                                         const char *payload, size_t len, struct sw_buf *reply);

/*
 * The answer the MTA's whole lookup for an address (or a bare domain)
 * gets, through sw_sockmap_answer() itself: Postfix asks transport_maps
 * once with the address (a bare domain: with postmaster@domain); Sendmail's mailertable asks with the host, then
 * ".parent" for each parent, then ".", and takes the first answer found.
 * keys gets the keys asked, as JSON strings separated by ", ".  A probing
 * scope's Sendmail answer is one draw of the share (sockmap.c).
 */
enum sw_sockmap_result sw_sockmap_walk(const struct sw_policy *p, const struct sw_route *r,
                                       bool mailertable, const char *address,
                                       struct sw_buf *keys, struct sw_buf *reply);

/*
 * The map "rp-sender" (SW_SOCKMAP_RP_MAP): Postfix's sender_canonical_maps
 * asks with an envelope sender, and gets its return-path address
 * (rpath.h) or NOTFOUND (return path off, no keys, a sender left alone).
 * Postfix also asks with "@domain" and the bare local part after a
 * NOTFOUND: those are not addresses and get NOTFOUND.  Any other map name
 * answers SW_SOCKMAP_BADMAP with reply untouched, for sw_sockmap_answer().
 */
#define SW_SOCKMAP_RP_MAP "rp-sender"
enum sw_sockmap_result sw_sockmap_rp_answer(const struct sw_rpath_conf *rp,
                                            const struct sw_tag_keys *keys, const char *payload,
                                            size_t len, time_t now, struct sw_buf *reply);

#endif
