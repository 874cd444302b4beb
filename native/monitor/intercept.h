// The monitor's handling of seccomp user notifications (intercept.c).
#ifndef WARREN_MONITOR_INTERCEPT_H
#define WARREN_MONITOR_INTERCEPT_H

#include <poll.h>

// Poll slots intercept_pollfds may fill: the listening socket, connections
// whose listener has not arrived yet, and the listeners.
#define INTERCEPT_MAX_FDS 64

// Binds the SOCK_SEQPACKET socket `name` (relative to the working
// directory) where the native child sends listener fds. -1 with errno.
int intercept_open(const char *name);
// Fills pfd (room for INTERCEPT_MAX_FDS) with what to poll; returns how many.
int intercept_pollfds(struct pollfd *pfd);
// Handles the events of the n slots intercept_pollfds filled.
void intercept_events(struct pollfd *pfd, int n);
// Removes the socket.
void intercept_close(const char *name);

#endif
