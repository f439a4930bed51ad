// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// Sluice's XDP steering program: sends to the AF_XDP socket of the receiving queue only
// the frames the userspace stack owns, and passes everything else to the kernel.
//
// Redirected (bpf_redirect_map(&xsks, rx_queue_index, XDP_PASS)):
//   - ARP whose target protocol address is one of ours (RFC 826);
//   - IPv4 ICMP to one of our addresses;
//   - IPv4 TCP and UDP to one of our addresses, every port: the kernel does not hold the
//     address, so only the stack can answer a closed port (RST, RFC 9293 §3.10.7.1; ICMP
//     port unreachable, RFC 1122 §4.1.3.1);
//   - every IPv4 fragment to one of our addresses whose protocol is TCP, UDP or ICMP: a
//     non-first fragment carries no port, and the stack reassembles (RFC 791 §3.2), so the
//     whole datagram goes to it rather than being split between it and the kernel.
// With no socket in the queue's XSKMAP slot, the redirect falls back to XDP_PASS.
//
// Share-address mode (SLUICE_SHARE_ADDRESS in `flags`), for a host whose kernel holds the
// address too: TCP and UDP go to the stack only on a (protocol, port) registered in
// `ports`, the rest to the kernel; ARP requests for the address pass to the kernel (which
// answers with the same MAC and learns the asker), ARP replies go to the stack (which
// asked).
//
// Frames with one 802.1Q tag are considered when the tag matches the configured VLAN;
// untagged frames only when no VLAN is configured. The layout of `struct sluice_config`
// and the counter indices are mirrored by stack/src/xdp/program.rs.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SLUICE_MAX_ADDRS 8
#define SLUICE_MAX_QUEUES 64

#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_ARP_BE bpf_htons(0x0806)
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

struct sluice_config {
	__u32 addrs[SLUICE_MAX_ADDRS]; // IPv4 addresses, network byte order
	__u32 addr_count;              // how many of `addrs` are valid
	__u32 vlan_id;                 // 802.1Q VLAN of the stack, 0 for untagged
	__u32 flags;                   // SLUICE_SHARE_ADDRESS
};

// The kernel holds our addresses too: steer TCP and UDP by registered port.
#define SLUICE_SHARE_ADDRESS 1u
#define ARP_OP_REQUEST 1

// Index of each per-CPU counter.
enum sluice_counter {
	CNT_REDIRECTED = 0,     // handed to the XSKMAP (a socket sat in the slot)
	CNT_REDIRECTED_FRAGMENT, // of which IPv4 fragments
	CNT_PASS_NOT_IP,         // neither IPv4 nor ARP (IPv6, LLDP, ...)
	CNT_PASS_NOT_OURS,       // to an address that is not ours (incl. broadcast, ARP for others)
	CNT_PASS_PROTOCOL,       // IPv4 to us, but not ICMP, TCP or UDP
	CNT_PASS_PORT,           // share-address mode: TCP or UDP to a port not registered
	CNT_PASS_VLAN,           // 802.1Q tag of another VLAN, stacked tags, or an unexpected tag
	CNT_PASS_MALFORMED,      // truncated or invalid headers
	CNT_PASS_NO_SOCKET,      // ours, but no AF_XDP socket in the queue's slot
	CNT_PASS_SHARED_ARP,     // share-address mode: ARP request for our address, kernel answers
	CNT_COUNT,
};

struct port_key {
	__u8 protocol; // IPPROTO_TCP or IPPROTO_UDP
	__u8 pad;
	__u16 port; // host byte order
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct port_key);
	__type(value, __u32);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SLUICE_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 index, int action)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &index);
	if (value)
		*value += 1;
	return action;
}

static __always_inline int is_ours(const struct sluice_config *cfg, __u32 addr)
{
#pragma unroll
	for (int i = 0; i < SLUICE_MAX_ADDRS; i++) {
		if ((__u32)i >= cfg->addr_count)
			return 0;
		if (cfg->addrs[i] == addr)
			return 1;
	}
	return 0;
}

static __always_inline int redirect(struct xdp_md *ctx, int fragment)
{
	int action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
	if (action != XDP_REDIRECT)
		return count(CNT_PASS_NO_SOCKET, action);
	if (fragment)
		count(CNT_REDIRECTED_FRAGMENT, 0);
	return count(CNT_REDIRECTED, action);
}

// ARP for IPv4 over Ethernet: htype, ptype, hlen, plen, oper, sha, spa, tha, tpa.
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 oper;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

static __always_inline int steer_arp(struct xdp_md *ctx, const struct sluice_config *cfg, void *l3,
				     void *data_end)
{
	struct arp_eth_ipv4 *arp = l3;
	if ((void *)(arp + 1) > data_end)
		return count(CNT_PASS_MALFORMED, XDP_PASS);
	if (arp->htype != bpf_htons(1) || arp->ptype != ETH_P_IP_BE || arp->hlen != ETH_ALEN ||
	    arp->plen != 4)
		return count(CNT_PASS_MALFORMED, XDP_PASS);
	__u32 target;
	__builtin_memcpy(&target, arp->tpa, sizeof(target));
	if (!is_ours(cfg, target))
		return count(CNT_PASS_NOT_OURS, XDP_PASS);
	if ((cfg->flags & SLUICE_SHARE_ADDRESS) && arp->oper == bpf_htons(ARP_OP_REQUEST))
		return count(CNT_PASS_SHARED_ARP, XDP_PASS);
	return redirect(ctx, 0);
}

static __always_inline int steer_ipv4(struct xdp_md *ctx, const struct sluice_config *cfg, void *l3,
				      void *data_end)
{
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > data_end)
		return count(CNT_PASS_MALFORMED, XDP_PASS);
	if (ip->version != 4 || ip->ihl < 5)
		return count(CNT_PASS_MALFORMED, XDP_PASS);
	if (!is_ours(cfg, ip->daddr))
		return count(CNT_PASS_NOT_OURS, XDP_PASS);

	__u8 protocol = ip->protocol;
	if (protocol != IPPROTO_ICMP && protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return count(CNT_PASS_PROTOCOL, XDP_PASS);
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return redirect(ctx, 1);
	if (protocol == IPPROTO_ICMP || !(cfg->flags & SLUICE_SHARE_ADDRESS))
		return redirect(ctx, 0);

	// Share-address mode. TCP and UDP both start with the source and destination ports.
	__u32 header_len = (__u32)ip->ihl * 4;
	__be16 *l4_ports = (void *)ip + header_len;
	if ((void *)(l4_ports + 2) > data_end)
		return count(CNT_PASS_MALFORMED, XDP_PASS);
	struct port_key key = { .protocol = protocol, .pad = 0, .port = bpf_ntohs(l4_ports[1]) };
	if (!bpf_map_lookup_elem(&ports, &key))
		return count(CNT_PASS_PORT, XDP_PASS);
	return redirect(ctx, 0);
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	__u32 zero = 0;
	const struct sluice_config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return XDP_PASS;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return count(CNT_PASS_MALFORMED, XDP_PASS);

	void *l3 = eth + 1;
	__be16 proto = eth->h_proto;
	if (proto == ETH_P_8021Q_BE) {
		// One 802.1Q tag: TCI (priority, DEI, VLAN id) and the inner EtherType.
		__be16 *tag = l3;
		if ((void *)(tag + 2) > data_end)
			return count(CNT_PASS_MALFORMED, XDP_PASS);
		if (cfg->vlan_id == 0 || (bpf_ntohs(tag[0]) & 0x0fff) != cfg->vlan_id)
			return count(CNT_PASS_VLAN, XDP_PASS);
		proto = tag[1];
		l3 = tag + 2;
		if (proto == ETH_P_8021Q_BE)
			return count(CNT_PASS_VLAN, XDP_PASS);
	} else if (cfg->vlan_id != 0 && (proto == ETH_P_IP_BE || proto == ETH_P_ARP_BE)) {
		return count(CNT_PASS_VLAN, XDP_PASS);
	}

	if (proto == ETH_P_ARP_BE)
		return steer_arp(ctx, cfg, l3, data_end);
	if (proto == ETH_P_IP_BE)
		return steer_ipv4(ctx, cfg, l3, data_end);
	return count(CNT_PASS_NOT_IP, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
