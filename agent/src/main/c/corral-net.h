/* corral-net.c: a container's veth pair and eth0 (bridge networking). Both return 0, or -1 with msg set. */
#ifndef CORRAL_NET_H
#define CORRAL_NET_H
#include <stddef.h>
#include <sys/types.h>

int net_make_veth(const char *host_name, const char *bridge, const char *mac, pid_t pid, char *msg, size_t size);
int net_setup_eth0(const char *address, const char *gateway, char *msg, size_t size);

#endif
