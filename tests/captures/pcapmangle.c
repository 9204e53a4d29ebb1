// SPDX-License-Identifier: GPL-2.0
/*
 * pcapmangle: copy a capture with packets reordered and duplicated, so
 * tests can show that learning survives what networks do to SIP.
 *
 * Reordering must stay physically possible or the test proves nothing:
 * an observer on the path can never see a 200 OK before the INVITE it
 * answers, nor a TCP segment after the ACK that covers it. So only two
 * consecutive payload-carrying packets of one flow (protocol, addresses,
 * ports) are swapped, and only when nothing they could depend on travelled
 * the other way between them: no UDP payload, and for TCP no packet at all.
 * That hits provisional and final responses sent back to back. Swapped
 * packets take each other's slot (and timestamp): time stays monotonic.
 *
 * TCP rarely qualifies, since every segment is acked, so -s splits each
 * TCP data segment in two and writes the second half first, as a network
 * reordering two segments of one send would: the reassembler has to hold
 * the tail of every message until its head arrives.
 *
 * Duplication counts per flow: packets 0, N, 2N... of every flow are
 * written again (a split segment as the whole original), as a UDP or a
 * spurious TCP retransmission would be. Counting from 0 per flow means the
 * first message each way (INVITE and its answer when N is 2) is among them.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKETS	(1u << 20)
#define SWAP_WINDOW	64	/* packets to look ahead for the flow's next */
#define MAX_FLOWS	4096

struct flow_key {
	uint8_t family;		/* 4, 6, or 0 when not TCP/UDP over IP */
	uint8_t proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

struct pkt {
	struct pcap_pkthdr hdr;
	uint8_t *data;
	struct flow_key key;
	size_t payload;		/* transport payload bytes */
	bool ctl;		/* TCP SYN, FIN or RST */
	bool swapped;
	size_t l3, l4, l4hdr;	/* header offsets, transport header length */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Offset of the network header for @dlt and its IP version, or -1. */
static long l3_offset(int dlt, const uint8_t *p, size_t len, int *version)
{
	*version = 0;
	switch (dlt) {
	case DLT_EN10MB: {
		size_t off = 12;
		uint16_t type;

		if (len < 14)
			return -1;
		type = be16(p + off);
		while ((type == 0x8100 || type == 0x88a8) && len >= off + 6) {
			off += 4;
			type = be16(p + off);
		}
		*version = type == 0x0800 ? 4 : type == 0x86dd ? 6 : 0;
		return (long)off + 2;
	}
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		*version = be16(p + 14) == 0x0800 ? 4 :
			   be16(p + 14) == 0x86dd ? 6 : 0;
		return 16;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		*version = be16(p) == 0x0800 ? 4 : be16(p) == 0x86dd ? 6 : 0;
		return 20;
	case DLT_RAW:
		if (len < 1)
			return -1;
		*version = p[0] >> 4;
		return 0;
	default:
		return -1;
	}
}

static void classify(int dlt, struct pkt *pk)
{
	const uint8_t *p = pk->data;
	size_t len = pk->hdr.caplen, off, l4len;
	struct flow_key *k = &pk->key;
	int version;
	long l3 = l3_offset(dlt, p, len, &version);

	memset(k, 0, sizeof(*k));
	if (l3 < 0)
		return;
	off = (size_t)l3;
	pk->l3 = off;
	if (version == 4) {
		size_t ihl, tot;

		if (len < off + 20 || (p[off] >> 4) != 4)
			return;
		ihl = (size_t)(p[off] & 0x0f) * 4;
		tot = be16(p + off + 2);
		/* fragments carry no ports: leave them out of every flow */
		if (ihl < 20 || be16(p + off + 6) & 0x3fff)
			return;
		if (tot < ihl || len < off + tot)
			return;
		k->proto = p[off + 9];
		memcpy(k->src, p + off + 12, 4);
		memcpy(k->dst, p + off + 16, 4);
		l4len = tot - ihl;
		off += ihl;
	} else if (version == 6) {
		if (len < off + 40 || (p[off] >> 4) != 6)
			return;
		/* extension headers are rare on SIP/RTP: not followed */
		k->proto = p[off + 6];
		memcpy(k->src, p + off + 8, 16);
		memcpy(k->dst, p + off + 24, 16);
		l4len = be16(p + off + 4);
		off += 40;
		if (len < off + l4len)
			return;
	} else {
		return;
	}

	if (k->proto == IPPROTO_UDP && l4len >= 8) {
		pk->payload = l4len - 8;
	} else if (k->proto == IPPROTO_TCP && l4len >= 20 &&
		   (size_t)(p[off + 12] >> 4) * 4 <= l4len) {
		pk->l4hdr = (size_t)(p[off + 12] >> 4) * 4;
		pk->payload = l4len - pk->l4hdr;
		pk->ctl = p[off + 13] & 0x07;
	} else {
		return;
	}
	pk->l4 = off;
	k->sport = be16(p + off);
	k->dport = be16(p + off + 2);
	k->family = (uint8_t)version;
}

static bool same_flow(const struct flow_key *a, const struct flow_key *b)
{
	return a->family && a->family == b->family && a->proto == b->proto &&
	       a->sport == b->sport && a->dport == b->dport &&
	       !memcmp(a->src, b->src, 16) && !memcmp(a->dst, b->dst, 16);
}

static bool reverse_flow(const struct flow_key *a, const struct flow_key *b)
{
	return a->family && a->family == b->family && a->proto == b->proto &&
	       a->sport == b->dport && a->dport == b->sport &&
	       !memcmp(a->src, b->dst, 16) && !memcmp(a->dst, b->src, 16);
}

/*
 * Index of the flow's next packet if both carry payload and swapping them
 * is plausible, or 0. Bare ACKs are not worth a swap and cause nothing;
 * SYN and FIN are causes as much as payload is.
 */
static size_t swap_partner(struct pkt *pk, size_t n, size_t i)
{
	if (!pk[i].payload || pk[i].ctl)
		return 0;
	for (size_t j = i + 1; j < n && j <= i + SWAP_WINDOW; j++) {
		if (same_flow(&pk[i].key, &pk[j].key))
			return pk[j].swapped || !pk[j].payload || pk[j].ctl ?
			       0 : j;
		if (reverse_flow(&pk[i].key, &pk[j].key) &&
		    (pk[j].payload || pk[j].ctl ||
		     pk[j].key.proto == IPPROTO_TCP))
			return 0;
	}
	return 0;
}

static void swap_data(struct pkt *a, struct pkt *b)
{
	struct pkt t = *a;

	/* contents move, slot timestamps stay; the flow is the same */
	a->data = b->data;
	a->hdr.caplen = b->hdr.caplen;
	a->hdr.len = b->hdr.len;
	a->payload = b->payload;
	a->ctl = b->ctl;
	b->data = t.data;
	b->hdr.caplen = t.hdr.caplen;
	b->hdr.len = t.hdr.len;
	b->payload = t.payload;
	b->ctl = t.ctl;
	a->swapped = b->swapped = true;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += be16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Build in @buf the segment carrying payload bytes [@start, @start + @n) of
 * TCP packet @pk: lengths, sequence number and both checksums fixed up.
 * Returns the new length.
 */
static size_t tcp_part(const struct pkt *pk, uint8_t *buf, size_t start,
		       size_t n)
{
	size_t hdrs = pk->l4 + pk->l4hdr, seglen = pk->l4hdr + n;
	uint8_t *ip = buf + pk->l3, *th = buf + pk->l4, pseudo[4];
	uint32_t seq, sum;

	memcpy(buf, pk->data, hdrs);
	memcpy(buf + hdrs, pk->data + hdrs + start, n);
	if (pk->key.family == 4) {
		put_be16(ip + 2, (uint16_t)(pk->l4 - pk->l3 + seglen));
		put_be16(ip + 10, 0);
		put_be16(ip + 10, csum_fold(csum_add(0, ip, pk->l4 - pk->l3)));
	} else {
		put_be16(ip + 4, (uint16_t)seglen);
	}
	seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
	      (uint32_t)th[6] << 8 | th[7];
	seq += (uint32_t)start;
	th[4] = seq >> 24;
	th[5] = seq >> 16;
	th[6] = seq >> 8;
	th[7] = seq;

	put_be16(th + 16, 0);
	sum = pk->key.family == 4 ? csum_add(0, ip + 12, 8) :
				    csum_add(0, ip + 8, 32);
	pseudo[0] = 0;
	pseudo[1] = IPPROTO_TCP;
	put_be16(pseudo + 2, (uint16_t)seglen);
	sum = csum_add(sum, pseudo, 4);
	sum = csum_add(sum, th, seglen);
	put_be16(th + 16, csum_fold(sum));
	return hdrs + n;
}

/* Write TCP data segment @pk as two segments, the second half first. */
static int dump_split(pcap_dumper_t *dumper, const struct pkt *pk)
{
	size_t half = pk->payload / 2;
	struct pcap_pkthdr h = pk->hdr;
	uint8_t *buf = malloc(pk->l4 + pk->l4hdr + pk->payload);

	if (!buf)
		return -ENOMEM;
	h.caplen = h.len = (bpf_u_int32)tcp_part(pk, buf, half,
						 pk->payload - half);
	pcap_dump((u_char *)dumper, &h, buf);
	h.caplen = h.len = (bpf_u_int32)tcp_part(pk, buf, 0, half);
	pcap_dump((u_char *)dumper, &h, buf);
	free(buf);
	return 0;
}

static bool splittable(const struct pkt *pk)
{
	/* only whole, unsliced segments: the headers get rewritten */
	return pk->key.family && pk->key.proto == IPPROTO_TCP &&
	       pk->payload >= 2 && pk->hdr.caplen == pk->hdr.len &&
	       pk->hdr.caplen == pk->l4 + pk->l4hdr + pk->payload;
}

/* Position of @pk within its flow; packets of no flow share one count. */
static unsigned long flow_seq(struct flow_key *keys, unsigned long *count,
			      size_t *nflows, const struct pkt *pk)
{
	size_t f;

	for (f = 0; f < *nflows; f++)
		if (!memcmp(&keys[f], &pk->key, sizeof(pk->key)))
			return count[f]++;
	if (*nflows == MAX_FLOWS)
		return count[0]++;
	keys[f] = pk->key;
	count[f] = 1;
	(*nflows)++;
	return 0;
}

static int mangle(const char *in, const char *out, unsigned int every_pair,
		  unsigned int every_dup, bool split)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	size_t n = 0, cap = 0, swaps = 0, dups = 0, eligible = 0, nflows = 0;
	size_t splits = 0;
	static struct flow_key keys[MAX_FLOWS];
	static unsigned long count[MAX_FLOWS];
	struct pkt *pk = NULL;
	pcap_dumper_t *dumper;
	pcap_t *rd, *wr;
	int dlt, ret, err = 0;

	rd = pcap_open_offline(in, errbuf);
	if (!rd) {
		fprintf(stderr, "pcapmangle: open %s: %s\n", in, errbuf);
		return -EIO;
	}
	dlt = pcap_datalink(rd);

	while ((ret = pcap_next_ex(rd, &h, &data)) == 1) {
		if (n == cap) {
			struct pkt *np;

			if (cap == MAX_PACKETS) {
				fprintf(stderr, "pcapmangle: %s: more than %u packets\n",
					in, MAX_PACKETS);
				err = -EFBIG;
				goto out_free;
			}
			cap = cap ? 2 * cap : 1024;
			np = realloc(pk, cap * sizeof(*pk));
			if (!np) {
				err = -ENOMEM;
				goto out_free;
			}
			pk = np;
		}
		memset(&pk[n], 0, sizeof(pk[n]));
		pk[n].hdr = *h;
		pk[n].data = malloc(h->caplen ? h->caplen : 1);
		if (!pk[n].data) {
			err = -ENOMEM;
			goto out_free;
		}
		memcpy(pk[n].data, data, h->caplen);
		classify(dlt, &pk[n]);
		n++;
	}
	if (ret == PCAP_ERROR) {
		fprintf(stderr, "pcapmangle: read %s: %s\n", in, pcap_geterr(rd));
		err = -EIO;
		goto out_free;
	}

	for (size_t i = 0; every_pair && i < n; i++) {
		size_t j;

		if (pk[i].swapped || !pk[i].key.family)
			continue;
		j = swap_partner(pk, n, i);
		if (!j)
			continue;
		if (eligible++ % every_pair == every_pair - 1) {
			swap_data(&pk[i], &pk[j]);
			swaps++;
		}
	}

	wr = pcap_open_dead(dlt, pcap_snapshot(rd));
	if (!wr) {
		err = -ENOMEM;
		goto out_free;
	}
	dumper = pcap_dump_open(wr, out);
	if (!dumper) {
		fprintf(stderr, "pcapmangle: create %s: %s\n", out,
			pcap_geterr(wr));
		err = -EIO;
		goto out_close_wr;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned long seq = flow_seq(keys, count, &nflows, &pk[i]);

		if (split && splittable(&pk[i])) {
			err = dump_split(dumper, &pk[i]);
			if (err)
				break;
			splits++;
		} else {
			pcap_dump((u_char *)dumper, &pk[i].hdr, pk[i].data);
		}
		if (every_dup && seq % every_dup == 0) {
			pcap_dump((u_char *)dumper, &pk[i].hdr, pk[i].data);
			dups++;
		}
	}
	if (!err && pcap_dump_flush(dumper)) {
		fprintf(stderr, "pcapmangle: write %s failed\n", out);
		err = -EIO;
	}
	pcap_dump_close(dumper);
	fprintf(stderr, "pcapmangle: %s: %zu packets, %zu pairs swapped "
		"(of %zu eligible), %zu TCP segments split, %zu duplicated\n",
		out, n, swaps, eligible, splits, dups);
out_close_wr:
	pcap_close(wr);
out_free:
	for (size_t i = 0; i < n; i++)
		free(pk[i].data);
	free(pk);
	pcap_close(rd);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pcapmangle [-r K] [-d N] [-s] IN.pcap OUT.pcap\n"
		"  -r K  swap every Kth plausible pair of same-flow packets "
		"(default 1, 0 = never)\n"
		"  -d N  write packets 0, N, 2N... of each flow twice "
		"(default 2, 0 = never)\n"
		"  -s    split TCP data segments, second half first\n");
}

static int parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || end == s || *end || x > 1000000)
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int every_pair = 1, every_dup = 2;
	bool split = false;
	int c;

	while ((c = getopt(argc, argv, "r:d:sh")) != -1) {
		switch (c) {
		case 'r':
			if (parse_uint(optarg, &every_pair))
				goto bad;
			break;
		case 'd':
			if (parse_uint(optarg, &every_dup))
				goto bad;
			break;
		case 's':
			split = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (argc - optind != 2)
		goto bad;
	return mangle(argv[optind], argv[optind + 1], every_pair, every_dup,
		      split) ? 1 : 0;
bad:
	usage(stderr);
	return 2;
}
