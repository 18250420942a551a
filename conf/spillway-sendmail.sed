# conf/spillway-sendmail.sed - the example spillway.conf of a Sendmail build
# (./configure --with-mta=sendmail), made by make from conf/spillway.conf,
# the Postfix example, so that the two cannot drift apart.  Each edit names
# the line it replaces; Makefile.am refuses the result if any Postfix name
# is left in it (an edit that no longer matches), and tests/install.sh runs
# the installed file.
1,4c\
# spillway.conf - example configuration for a Sendmail host (libconfig\
# syntax; spillway.conf(5)), installed by a Sendmail build (./configure\
# --with-mta=sendmail); the defaults it repeats are that build's.
s|^    #mta = "postfix";|    mta = "sendmail";|
/^    mta = "sendmail";/a\
    # After each change of route and at start, ask Sendmail to run its\
    # queue (ETRN #mqueue): spillway-routed's user cannot run sendmail -q.\
    #flush_etrn = "inet:127.0.0.1:25";
/^    # Where Postfix asks for routes/,/^    socketmap = /c\
    # Where Sendmail's mailertable asks for routes (conf/sendmail.mc,\
    # SPILLWAY_SOCKETMAP): the unix socket in spillway-routed's\
    # RuntimeDirectory /run/spillway (0755, the socket 0666; root's sendmail\
    # connects), or the loopback port (inet:10027@127.0.0.1 in sendmail.mc).\
    socketmap = ["unix:/run/spillway/socketmap", "inet:127.0.0.1:10027"];
s|^    render_dir = "/var/lib/spillway/postfix";    # fail-static tables for Postfix$|    render_dir = "/var/lib/spillway/sendmail";   # fail-static mailertable for Sendmail|
s|^    render_format = "lmdb";                      # or "cdb"$|    #mailertable_format = "hash";                # makemap's type, or "btree"; "none": no table|
/^    #   "postlog:.*Postfix's maillog_file/d
s|^    #maillog_users = \["postfix", "root"\];        # whose lines count (default)$|    #maillog_users = ["root"];                   # whose lines count (Sendmail runs as root)|
/^    # Postfix: smtpd_milters = /,/^    socket = /c\
    # Sendmail: INPUT_MAIL_FILTER(`spillway', `S=unix:/run/spillway-milter/milter.sock, ...')\
    # (conf/sendmail.mc, SPILLWAY_MILTER); the directory is the milter's\
    # RuntimeDirectory (spillway-milter 0750), root's sendmail connects.\
    socket = "unix:/run/spillway-milter/milter.sock";
s|^    group = "postfix";       # the socket's group, so Postfix can connect$|    group = "spillway-milter";   # the socket's group (root's sendmail connects)|
/^    # Run after a switch so deferred mail takes the new route at once$/,/^    flush = \["\/usr\/sbin\/postqueue", "-f"\];$/d
