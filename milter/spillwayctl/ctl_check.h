/* ctl_check.h - spillwayctl check and genkey (no daemon; ctl_check.c, ctl_genkey.c) */
#ifndef SW_CTL_CHECK_H
#define SW_CTL_CHECK_H

/* Checks the configuration and the host; postconf: the postconf(1) to
 * ask.  Exit status: 0 no error, 1 an error found, 2 the configuration
 * does not validate. */
int ctl_check(const char *conf_path, const char *postconf);
/* Writes a new tag key file (never over an existing one); 0 or 1. */
int ctl_genkey(const char *conf_path, const char *path);

#endif
