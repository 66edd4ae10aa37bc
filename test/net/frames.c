/*
 * frames: hand-built Ethernet frames for the bridge attack tests (test/net/guard.test.ts), sent on
 * an AF_PACKET socket, so nothing in the sender's own stack (routes, ARP, martian checks) decides
 * what leaves. Built static by the test: zig cc -target x86_64-linux-musl -static.
 *
 *   frames mac IFACE                                   print IFACE's MAC address
 *   frames udp IFACE DSTMAC SRCMAC SRCIP DSTIP DPORT TEXT
 *                                                      one UDP datagram (source port 40000)
 *   frames arp IFACE DSTMAC SRCMAC OP SHA SPA THA TPA  an ARP request (OP 1) or reply (OP 2)
 *   frames ra IFACE SRCMAC PREFIX                      an IPv6 router advertisement to ff02::1,
 *                                                      lifetime 1800 s, PREFIX/64 autonomous
 *   frames raw IFACE DSTMAC SRCMAC ETHERTYPE           a frame of another protocol (46 zero bytes)
 *
 * SRCMAC "-" is IFACE's own address. Exit status 0 when the frame was sent.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: frames mac|udp|arp|ra|raw IFACE ...\n");
	exit(2);
}

static void own_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR");
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
}

static void parse_mac(const char *text, const char *ifname, uint8_t mac[6])
{
	unsigned int b[6];
	if (strcmp(text, "-") == 0) {
		own_mac(ifname, mac);
		return;
	}
	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
		fprintf(stderr, "bad MAC address %s\n", text);
		exit(2);
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
}

static void parse_ip4(const char *text, uint8_t ip[4])
{
	if (inet_pton(AF_INET, text, ip) != 1) {
		fprintf(stderr, "bad IPv4 address %s\n", text);
		exit(2);
	}
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void send_frame(const char *ifname, const uint8_t *frame, size_t len)
{
	int s = socket(AF_PACKET, SOCK_RAW, 0);
	if (s < 0)
		die("socket(AF_PACKET)");
	struct sockaddr_ll to;
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_ifindex = (int)if_nametoindex(ifname);
	to.sll_halen = 6;
	memcpy(to.sll_addr, frame, 6);
	if (to.sll_ifindex == 0)
		die("if_nametoindex");
	if (sendto(s, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		die("sendto");
	close(s);
}

/* Ethernet header: destination, source, type. */
static size_t ether(uint8_t *f, const char *ifname, const char *dst, const char *src, uint16_t type)
{
	parse_mac(dst, ifname, f);
	parse_mac(src, ifname, f + 6);
	put16(f + 12, type);
	return 14;
}

static int cmd_udp(char **a)
{
	uint8_t f[1514];
	memset(f, 0, sizeof(f));
	size_t n = ether(f, a[0], a[1], a[2], ETHERTYPE_IP);
	const char *text = a[6];
	size_t tlen = strlen(text);
	if (tlen > 1000)
		usage();
	uint8_t *ip = f + n, *udp = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + tlen));
	ip[8] = 64;
	ip[9] = 17;
	parse_ip4(a[3], ip + 12);
	parse_ip4(a[4], ip + 16);
	put16(ip + 10, fold(sum16(ip, 20, 0)));
	put16(udp, 40000);
	put16(udp + 2, (uint16_t)atoi(a[5]));
	put16(udp + 4, (uint16_t)(8 + tlen));
	memcpy(udp + 8, text, tlen); /* UDP checksum 0: none, allowed over IPv4 */
	send_frame(a[0], f, n + 20 + 8 + tlen < 60 ? 60 : n + 20 + 8 + tlen);
	return 0;
}

static int cmd_arp(char **a)
{
	uint8_t f[60];
	memset(f, 0, sizeof(f));
	size_t n = ether(f, a[0], a[1], a[2], ETHERTYPE_ARP);
	uint8_t *p = f + n;
	put16(p, 1);      /* Ethernet */
	put16(p + 2, ETHERTYPE_IP);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, (uint16_t)atoi(a[3]));
	parse_mac(a[4], a[0], p + 8);
	parse_ip4(a[5], p + 14);
	parse_mac(a[6], a[0], p + 18);
	parse_ip4(a[7], p + 24);
	send_frame(a[0], f, sizeof(f));
	return 0;
}

static int cmd_ra(char **a)
{
	uint8_t f[200], mac[6];
	memset(f, 0, sizeof(f));
	size_t n = ether(f, a[0], "33:33:00:00:00:01", a[1], ETHERTYPE_IPV6);
	memcpy(mac, f + 6, 6);
	uint8_t *ip6 = f + n, *icmp = ip6 + 40;
	size_t plen = 16 + 32 + 8; /* RA header, prefix information, source link-layer address */
	ip6[0] = 0x60;
	put16(ip6 + 4, (uint16_t)plen);
	ip6[6] = 58;  /* ICMPv6 */
	ip6[7] = 255; /* hop limit: RFC 4861 requires 255 */
	/* Source: fe80:: with the modified EUI-64 of the MAC. */
	ip6[8] = 0xfe;
	ip6[9] = 0x80;
	ip6[16] = mac[0] ^ 2;
	ip6[17] = mac[1];
	ip6[18] = mac[2];
	ip6[19] = 0xff;
	ip6[20] = 0xfe;
	ip6[21] = mac[3];
	ip6[22] = mac[4];
	ip6[23] = mac[5];
	/* Destination: ff02::1. */
	ip6[24] = 0xff;
	ip6[25] = 0x02;
	ip6[39] = 1;
	icmp[0] = 134; /* router advertisement */
	icmp[4] = 64;  /* current hop limit */
	put16(icmp + 6, 1800); /* router lifetime: a default router */
	uint8_t *pi = icmp + 16;
	pi[0] = 3; /* prefix information */
	pi[1] = 4;
	pi[2] = 64;
	pi[3] = 0xc0; /* on-link, autonomous */
	pi[4] = pi[8] = 0;
	pi[5] = pi[9] = 0x01;
	pi[6] = pi[10] = 0x51;
	pi[7] = pi[11] = 0x80; /* valid and preferred lifetimes: 86400 s */
	if (inet_pton(AF_INET6, a[2], pi + 16) != 1) {
		fprintf(stderr, "bad IPv6 prefix %s\n", a[2]);
		return 2;
	}
	uint8_t *sl = pi + 32;
	sl[0] = 1; /* source link-layer address */
	sl[1] = 1;
	memcpy(sl + 2, mac, 6);
	/* Checksum over the pseudo-header (addresses, length, next header) and the message. */
	uint32_t sum = sum16(ip6 + 8, 32, 0);
	sum += (uint32_t)plen + 58;
	sum = sum16(icmp, plen, sum);
	put16(icmp + 2, fold(sum));
	send_frame(a[0], f, n + 40 + plen);
	return 0;
}

static int cmd_raw(char **a)
{
	uint8_t f[60];
	memset(f, 0, sizeof(f));
	ether(f, a[0], a[1], a[2], (uint16_t)strtoul(a[3], NULL, 0));
	send_frame(a[0], f, sizeof(f));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	const char *cmd = argv[1];
	char **a = argv + 2;
	int n = argc - 2;
	if (strcmp(cmd, "mac") == 0 && n == 1) {
		uint8_t m[6];
		own_mac(a[0], m);
		printf("%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4], m[5]);
		return 0;
	}
	if (strcmp(cmd, "udp") == 0 && n == 7)
		return cmd_udp(a);
	if (strcmp(cmd, "arp") == 0 && n == 8)
		return cmd_arp(a);
	if (strcmp(cmd, "ra") == 0 && n == 3)
		return cmd_ra(a);
	if (strcmp(cmd, "raw") == 0 && n == 4)
		return cmd_raw(a);
	usage();
	return 2;
}
