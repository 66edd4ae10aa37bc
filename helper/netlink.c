/*
 * The few netlink requests box needs, written out by hand (box must not depend on iproute2):
 * create a bridge, a veth pair whose peer lands in the container's network namespace, put a link
 * on a bridge, bring it up, rename it, give it an address, and add a default route. Each request
 * waits for the kernel's acknowledgement and returns its error as a negative errno.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

struct req {
	struct nlmsghdr h;
	char buf[1024];
};

/* An attribute of len bytes: data's, or zeros when data is NULL (a header filled in afterwards). */
static struct rtattr *attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len && data)
		memcpy(RTA_DATA(a), data, len);
	else if (len)
		memset(RTA_DATA(a), 0, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void attr_end(struct nlmsghdr *h, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)nest);
}

static int talk(struct nlmsghdr *h)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 1;
	int ret = 0;
	if (send(fd, h, h->nlmsg_len, 0) < 0) {
		ret = -errno;
	} else {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *r = (struct nlmsghdr *)buf;
		if (n < 0)
			ret = -errno;
		else if (n >= (ssize_t)sizeof(*r) && r->nlmsg_type == NLMSG_ERROR)
			ret = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
	close(fd);
	return ret;
}

/* A request with its fixed header (ifinfomsg, ifaddrmsg, rtmsg) zeroed; returns that header. */
static void *start_msg(struct req *m, unsigned short type, unsigned short flags, size_t header)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_len = NLMSG_LENGTH(header);
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = flags;
	return NLMSG_DATA(&m->h);
}

static void link_msg(struct req *m, unsigned short type, unsigned short flags, int index)
{
	struct ifinfomsg *ifi = start_msg(m, type, flags, sizeof(struct ifinfomsg));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
}

/* A bridge; with a MAC, the bridge keeps it (else the kernel takes the lowest of its ports' and
 * changes it as ports come and go). */
int nl_create_bridge(const char *name, const unsigned char *mac)
{
	struct req m;
	link_msg(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	attr(&m.h, IFLA_IFNAME, name, strlen(name) + 1);
	if (mac)
		attr(&m.h, IFLA_ADDRESS, mac, 6);
	struct rtattr *info = attr(&m.h, IFLA_LINKINFO, NULL, 0);
	attr(&m.h, IFLA_INFO_KIND, "bridge", 7);
	attr_end(&m.h, info);
	return talk(&m.h);
}

/* A veth pair: host_name stays here, peer_name is created in the network namespace of pid, with
 * peer_mac as its address when given. */
int nl_create_veth(const char *host_name, const char *peer_name, pid_t pid, const unsigned char *peer_mac)
{
	struct req m;
	link_msg(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	attr(&m.h, IFLA_IFNAME, host_name, strlen(host_name) + 1);
	struct rtattr *info = attr(&m.h, IFLA_LINKINFO, NULL, 0);
	attr(&m.h, IFLA_INFO_KIND, "veth", 5);
	struct rtattr *data = attr(&m.h, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer = attr(&m.h, VETH_INFO_PEER, NULL, sizeof(struct ifinfomsg));
	attr(&m.h, IFLA_IFNAME, peer_name, strlen(peer_name) + 1);
	if (peer_mac)
		attr(&m.h, IFLA_ADDRESS, peer_mac, 6);
	uint32_t p = (uint32_t)pid;
	attr(&m.h, IFLA_NET_NS_PID, &p, sizeof(p));
	attr_end(&m.h, peer);
	attr_end(&m.h, data);
	attr_end(&m.h, info);
	return talk(&m.h);
}

/* Up, and on a bridge when master is not 0. */
int nl_link_up(const char *name, int master)
{
	int index = (int)if_nametoindex(name);
	if (index == 0)
		return -errno;
	struct req m;
	link_msg(&m, RTM_NEWLINK, 0, index);
	struct ifinfomsg *ifi = NLMSG_DATA(&m.h);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (master) {
		uint32_t mi = (uint32_t)master;
		attr(&m.h, IFLA_MASTER, &mi, sizeof(mi));
	}
	return talk(&m.h);
}

int nl_add_address(const char *name, const struct ipv4_cidr *cidr)
{
	int index = (int)if_nametoindex(name);
	if (index == 0)
		return -errno;
	struct req m;
	struct ifaddrmsg *ifa = start_msg(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct ifaddrmsg));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)cidr->prefix;
	ifa->ifa_index = (unsigned)index;
	attr(&m.h, IFA_LOCAL, &cidr->addr, sizeof(cidr->addr));
	attr(&m.h, IFA_ADDRESS, &cidr->addr, sizeof(cidr->addr));
	return talk(&m.h);
}

int nl_default_route(struct in_addr gateway)
{
	struct req m;
	struct rtmsg *rt = start_msg(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	attr(&m.h, RTA_GATEWAY, &gateway, sizeof(gateway));
	return talk(&m.h);
}

/* A link gone now rather than when the kernel gets round to a dead namespace; gone already is fine. */
int nl_delete_link(const char *name)
{
	int index = (int)if_nametoindex(name);
	if (index == 0)
		return 0;
	struct req m;
	link_msg(&m, RTM_DELLINK, 0, index);
	int ret = talk(&m.h);
	return ret == -ENODEV ? 0 : ret;
}
