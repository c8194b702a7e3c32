/*
 * corral-net: a container's bridge networking, for corral-shim (see docs/design.md, "The network").
 *
 *   net_make_veth    the monitor (host netns), right after init's clone: ONE rtnetlink request creates the
 *                    veth pair with the host end already on the bridge and up and the peer created directly in
 *                    init's network namespace as eth0 (IFLA_NET_NS_PID), so no rename and no move follow.
 *   net_setup_eth0   init (in its netns), before the command: address, up, default route, by ioctl.
 *
 * No process is added to the launch: the daemon prepares the bridge and the rules once per network; per
 * container it costs one netlink round trip in the monitor and four ioctls in init. When the container's
 * netns goes (its last process exited) the kernel deletes both ends of the pair.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "corral-net.h"

#define NL_BUF 1024

struct nlreq {
    char buf[NL_BUF];
    size_t len;
};

static struct rtattr *nl_put(struct nlreq *r, unsigned short type, const void *data, size_t size)
{
    struct rtattr *a = (struct rtattr *)(r->buf + NLMSG_ALIGN(r->len));
    size_t total = RTA_LENGTH(size);
    if (NLMSG_ALIGN(r->len) + RTA_ALIGN(total) > sizeof r->buf)
        return NULL;
    a->rta_type = type;
    a->rta_len = (unsigned short)total;
    if (size)
        memcpy(RTA_DATA(a), data, size);
    r->len = NLMSG_ALIGN(r->len) + RTA_ALIGN(total);
    return a;
}

static void nl_end(struct nlreq *r, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)(r->buf + r->len - (char *)nest);
}

static int parse_mac(const char *s, unsigned char mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return -1;
        mac[i] = (unsigned char)v[i];
    }
    return 0;
}

/* One request, its ack: 0 or -errno. */
static int nl_talk(int fd, struct nlreq *r)
{
    struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
    h->nlmsg_len = (unsigned)r->len;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, r->buf, r->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return -errno;
    char ans[NL_BUF];
    for (;;) {
        ssize_t n = recv(fd, ans, sizeof ans, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (struct nlmsghdr *m = (struct nlmsghdr *)ans; NLMSG_OK(m, (size_t)n); m = NLMSG_NEXT(m, n))
            if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == h->nlmsg_seq)
                return ((struct nlmsgerr *)NLMSG_DATA(m))->error;
    }
}

static void nl_start(struct nlreq *r, unsigned short type, unsigned short flags, unsigned seq)
{
    memset(r, 0, sizeof *r);
    struct nlmsghdr *h = (struct nlmsghdr *)r->buf;
    h->nlmsg_type = type;
    h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = seq;
    r->len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
}

static int delete_link(int fd, const char *name)
{
    struct nlreq r;
    nl_start(&r, RTM_DELLINK, 0, 2);
    nl_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
    return nl_talk(fd, &r);
}

int net_make_veth(const char *host_name, const char *bridge, const char *mac, pid_t pid, char *msg, size_t size)
{
    unsigned char hw[6];
    if (parse_mac(mac, hw) < 0) {
        snprintf(msg, size, "net_mac: not a MAC address: %.40s", mac);
        return -1;
    }
    unsigned master = if_nametoindex(bridge);
    if (master == 0) {
        snprintf(msg, size, "bridge %.40s: %s", bridge, strerror(errno));
        return -1;
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        snprintf(msg, size, "netlink socket: %s", strerror(errno));
        return -1;
    }
    int err = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct nlreq r;
        nl_start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 1);
        struct ifinfomsg *ifi = NLMSG_DATA((struct nlmsghdr *)r.buf);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        nl_put(&r, IFLA_IFNAME, host_name, strlen(host_name) + 1);
        nl_put(&r, IFLA_MASTER, &master, sizeof master);
        struct rtattr *linkinfo = nl_put(&r, IFLA_LINKINFO, NULL, 0);
        nl_put(&r, IFLA_INFO_KIND, "veth", 5);
        struct rtattr *data = nl_put(&r, IFLA_INFO_DATA, NULL, 0);
        struct rtattr *peer = nl_put(&r, VETH_INFO_PEER, NULL, 0);
        struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
        r.len += sizeof peer_ifi; /* the peer's ifinfomsg precedes its attributes */
        memcpy((char *)RTA_DATA(peer), &peer_ifi, sizeof peer_ifi);
        nl_put(&r, IFLA_IFNAME, "eth0", 5);
        nl_put(&r, IFLA_ADDRESS, hw, sizeof hw);
        unsigned ns_pid = (unsigned)pid;
        if (!nl_put(&r, IFLA_NET_NS_PID, &ns_pid, sizeof ns_pid)) {
            snprintf(msg, size, "veth %.20s: request too long", host_name);
            close(fd);
            return -1;
        }
        nl_end(&r, peer);
        nl_end(&r, data);
        nl_end(&r, linkinfo);
        err = nl_talk(fd, &r);
        /* A pair of the same name left by this container's earlier run whose netns the kernel is still tearing
         * down: the name is this container's own (the agent derives it from the bridge and the container). */
        if (err != -EEXIST || attempt == 1)
            break;
        delete_link(fd, host_name);
    }
    close(fd);
    if (err < 0) {
        snprintf(msg, size, "create veth %.20s on %.20s: %s", host_name, bridge, strerror(-err));
        return -1;
    }
    return 0;
}

static int parse_cidr(const char *s, struct in_addr *addr, int *prefix)
{
    char ip[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof ip)
        return -1;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = 0;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || p < 1 || p > 30 || inet_pton(AF_INET, ip, addr) != 1)
        return -1;
    *prefix = (int)p;
    return 0;
}

int net_setup_eth0(const char *address, const char *gateway, char *msg, size_t size)
{
    struct in_addr addr, gw;
    int prefix;
    if (parse_cidr(address, &addr, &prefix) < 0) {
        snprintf(msg, size, "net_address: not an IPv4 address/prefix: %.40s", address);
        return -1;
    }
    if (inet_pton(AF_INET, gateway, &gw) != 1) {
        snprintf(msg, size, "net_gateway: not an IPv4 address: %.40s", gateway);
        return -1;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(msg, size, "eth0: socket: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr = addr;
    const char *step = "set the address of eth0";
    if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
        goto fail;
    sin->sin_addr.s_addr = htonl(0xffffffffu << (32 - prefix));
    step = "set the netmask of eth0";
    if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
        goto fail;
    step = "bring eth0 up";
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        goto fail;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
        goto fail;
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    ((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
    ((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
    ((struct sockaddr_in *)&rt.rt_gateway)->sin_family = AF_INET;
    ((struct sockaddr_in *)&rt.rt_gateway)->sin_addr = gw;
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = "eth0";
    step = "add the default route";
    if (ioctl(s, SIOCADDRT, &rt) < 0)
        goto fail;
    close(s);
    return 0;
fail:
    snprintf(msg, size, "%s: %s", step, strerror(errno));
    close(s);
    return -1;
}
