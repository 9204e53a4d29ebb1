// SPDX-License-Identifier: GPL-2.0
/*
 * SDP → media streams. libosip2 does the line parsing; this file applies
 * the rules that decide where media will arrive: media-level c= overrides
 * session-level c=, a=rtcp overrides port+1, a=rtcp-mux folds RTCP into the
 * RTP port once both offer and answer carry it (dialog.c decides), port 0
 * disables a stream, and c=0.0.0.0 is the old way to hold.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>

#include "sdp.h"

#define SDP_MAX_BODY 65536
#define SDP_PAD 4
/*
 * Payload formats one m= line may list. libosip2 appends each to a list by
 * walking it from the head, so 32,000 formats cost over half a second;
 * real offers list up to a few dozen (a WebRTC video line about 40).
 */
#define SDP_MAX_FORMATS 128

/* RFC 3551 static payload types a phone may use without an rtpmap. */
static const struct {
	uint8_t pt;
	const char *name;
	uint32_t clock;
} static_pts[] = {
	{ 0, "PCMU", 8000 },  { 3, "GSM", 8000 },   { 4, "G723", 8000 },
	{ 5, "DVI4", 8000 },  { 6, "DVI4", 16000 }, { 7, "LPC", 8000 },
	{ 8, "PCMA", 8000 },  { 9, "G722", 8000 },  { 10, "L16", 44100 },
	{ 11, "L16", 44100 }, { 12, "QCELP", 8000 }, { 13, "CN", 8000 },
	{ 14, "MPA", 90000 }, { 15, "G728", 8000 }, { 18, "G729", 8000 },
	{ 26, "JPEG", 90000 }, { 31, "H261", 90000 }, { 34, "H263", 90000 },
};

const char *vq_media_type_str(uint8_t media)
{
	switch (media) {
	case VQ_MEDIA_AUDIO:
		return "audio";
	case VQ_MEDIA_VIDEO:
		return "video";
	case VQ_MEDIA_IMAGE:
		return "image";
	case VQ_MEDIA_TEXT:
		return "text";
	default:
		return "other";
	}
}

const char *vq_media_dir_str(uint8_t dir)
{
	switch (dir) {
	case VQ_DIR_SENDONLY:
		return "sendonly";
	case VQ_DIR_RECVONLY:
		return "recvonly";
	case VQ_DIR_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

static uint8_t media_type(const char *m)
{
	if (!m)
		return VQ_MEDIA_OTHER;
	if (!strcasecmp(m, "audio"))
		return VQ_MEDIA_AUDIO;
	if (!strcasecmp(m, "video"))
		return VQ_MEDIA_VIDEO;
	if (!strcasecmp(m, "image"))
		return VQ_MEDIA_IMAGE;
	if (!strcasecmp(m, "text"))
		return VQ_MEDIA_TEXT;
	return VQ_MEDIA_OTHER;
}

/* Strict decimal in [0, max]; -EINVAL for anything else. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned long digit = (unsigned long)(*s - '0');

		/* Checked before multiplying: no wrap near ULONG_MAX. */
		if (v > (max - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	if (*s && *s != ' ' && *s != '/')
		return -EINVAL;
	*out = v;
	return 0;
}

/* "RTP/AVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVPF", ...: a transport carrying RTP. */
static bool is_rtp_proto(const char *proto)
{
	return proto && strcasestr(proto, "RTP/");
}

static bool is_multicast(const struct vq_endpoint *ep)
{
	if (ep->family == AF_INET)
		return (ep->addr[0] & 0xf0) == 0xe0;
	return ep->addr[0] == 0xff;
}

/*
 * "IN IP4 192.0.2.1/127" style connection data. libosip2 splits off the
 * multicast TTL, but be strict about what remains: one address of the
 * declared family.
 */
static int parse_conn(const char *nettype, const char *addrtype,
		      const char *addr, struct vq_endpoint *ep)
{
	char buf[VQ_ADDRSTRLEN];
	size_t n;

	if (!nettype || !addrtype || !addr || strcasecmp(nettype, "IN"))
		return -EINVAL;
	n = strcspn(addr, "/ ");
	/* Some UAs (sipp among them) bracket IPv6 addresses; accept that. */
	if (n > 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, addr, n);
	buf[n] = '\0';
	if (vq_addr_parse(ep, buf))
		return -EINVAL;
	if (!strcasecmp(addrtype, "IP4") ? ep->family != AF_INET
	    : !strcasecmp(addrtype, "IP6") ? ep->family != AF_INET6
					    : true)
		return -EINVAL;
	return 0;
}

static uint8_t dir_of(const char *field, uint8_t cur)
{
	if (!strcasecmp(field, "sendrecv"))
		return VQ_DIR_SENDRECV;
	if (!strcasecmp(field, "sendonly"))
		return VQ_DIR_SENDONLY;
	if (!strcasecmp(field, "recvonly"))
		return VQ_DIR_RECVONLY;
	if (!strcasecmp(field, "inactive"))
		return VQ_DIR_INACTIVE;
	return cur;
}

/*
 * Lists are walked with an iterator: osip_list_get(list, i) starts from the
 * head every time.
 */
#define for_each_elem(e, list, it)                                   \
	for ((e) = osip_list_get_first((list), &(it)); (e);         \
	     (e) = osip_list_get_next(&(it)))

static uint32_t bw_as(osip_list_t *bws)
{
	osip_list_iterator_t it;
	sdp_bandwidth_t *b;
	unsigned long v;

	for_each_elem(b, bws, it) {
		if (b->b_bwtype && !strcasecmp(b->b_bwtype, "AS") &&
		    !parse_uint(b->b_bandwidth, 10000000, &v))
			return (uint32_t)v;
	}
	return 0;
}

/* a=rtpmap:<pt> <name>/<clock>[/<channels>] for the stream's first pt. */
static void apply_rtpmap(struct vq_codec *c, const char *value)
{
	unsigned long pt, clock;
	const char *name, *slash;
	size_t n;

	if (parse_uint(value, 127, &pt) || pt != c->pt)
		return;
	name = strchr(value, ' ');
	if (!name)
		return;
	name++;
	slash = strchr(name, '/');
	if (!slash)
		return;
	n = (size_t)(slash - name);
	if (n == 0 || n >= sizeof(c->name))
		return;
	if (parse_uint(slash + 1, 10000000, &clock))
		return;
	memcpy(c->name, name, n);
	c->name[n] = '\0';
	c->clock_rate = (uint32_t)clock;
}

/* a=rtcp:<port> [IN IP4 <addr>] (RFC 3605). */
static void apply_rtcp(struct vq_sdp_stream *s, const char *value)
{
	char nettype[8], addrtype[8], addr[VQ_ADDRSTRLEN];
	struct vq_endpoint ep = s->rtp;
	unsigned long port;

	if (parse_uint(value, 65535, &port) || port == 0)
		return;
	if (sscanf(value, "%*u %7s %7s %47s", nettype, addrtype, addr) == 3) {
		if (parse_conn(nettype, addrtype, addr, &ep))
			return;
		/* "a=rtcp:9 IN IP4 0.0.0.0" (ICE, RFC 8839): no address yet. */
		if (vq_addr_is_unspecified(&ep)) {
			s->has_rtcp = false;
			return;
		}
	}
	ep.port = (uint16_t)port;
	s->rtcp = ep;
	s->has_rtcp = true;
}

static void apply_attrs(struct vq_sdp_stream *s, osip_list_t *attrs,
			bool *rtcp_attr)
{
	osip_list_iterator_t it;
	sdp_attribute_t *a;

	for_each_elem(a, attrs, it) {
		const char *f = a->a_att_field, *v = a->a_att_value;

		if (!f)
			continue;
		s->dir = dir_of(f, s->dir);
		if (!v) {
			if (!strcasecmp(f, "rtcp-mux"))
				s->rtcp_mux = true;
			continue;
		}
		if (!strcasecmp(f, "rtpmap")) {
			apply_rtpmap(&s->codec, v);
		} else if (!strcasecmp(f, "ptime")) {
			unsigned long ms;

			if (!parse_uint(v, 1000, &ms))
				s->codec.ptime_ms = (uint16_t)ms;
		} else if (!strcasecmp(f, "rtcp") && rtcp_attr) {
			*rtcp_attr = true;
			apply_rtcp(s, v);
		}
	}
}

static void static_codec(struct vq_codec *c)
{
	for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++) {
		if (static_pts[i].pt == c->pt) {
			strcpy(c->name, static_pts[i].name);
			c->clock_rate = static_pts[i].clock;
			return;
		}
	}
}

static int parse_stream(sdp_media_t *m, const struct vq_endpoint *sess_c,
			uint8_t sess_dir, uint32_t sess_bw,
			struct vq_sdp_stream *s)
{
	sdp_connection_t *c;
	unsigned long port, pt;
	bool rtcp_attr = false;
	const char *first_pt;

	memset(s, 0, sizeof(*s));
	s->media = media_type(m->m_media);
	s->dir = sess_dir;
	if (parse_uint(m->m_port, 65535, &port))
		return -EINVAL;

	c = osip_list_get(&m->c_connections, 0);
	if (c) {
		if (parse_conn(c->c_nettype, c->c_addrtype, c->c_addr, &s->rtp))
			return -EINVAL;
	} else if (sess_c) {
		s->rtp = *sess_c;
	} else if (port != 0) {
		return -EINVAL; /* RFC 4566 5.7: c= required somewhere */
	}

	s->rtp.port = (uint16_t)port;
	s->rtp.proto = (m->m_proto && !strncasecmp(m->m_proto, "TCP", 3))
			       ? IPPROTO_TCP
			       : IPPROTO_UDP;
	s->disabled = port == 0;
	s->hold_addr = !s->disabled && vq_addr_is_unspecified(&s->rtp);
	s->multicast = is_multicast(&s->rtp);

	first_pt = osip_list_get(&m->m_payloads, 0);
	if (first_pt && !parse_uint(first_pt, 127, &pt)) {
		s->codec.pt = (uint8_t)pt;
		static_codec(&s->codec);
	} else if (first_pt && strlen(first_pt) < sizeof(s->codec.name)) {
		/* Not an RTP payload type ("t38"): the format names the codec. */
		strcpy(s->codec.name, first_pt);
	}
	s->codec.bw_kbps = bw_as(&m->b_bandwidths);
	if (!s->codec.bw_kbps)
		s->codec.bw_kbps = sess_bw;

	/*
	 * RTCP on port+1 is an RTP rule (RFC 3550 11); UDPTL (T.38) and other
	 * non-RTP transports have no companion port. RTP over TCP (RFC 4571)
	 * carries RTCP in the same connection.
	 */
	s->rtcp = s->rtp;
	s->rtcp.port = (uint16_t)(port + 1);
	s->has_rtcp = port != 0 && port < 65535 &&
		      s->rtp.proto == IPPROTO_UDP && is_rtp_proto(m->m_proto);
	apply_attrs(s, &m->a_attributes, &rtcp_attr);
	/*
	 * a=rtcp-mux leaves the RTCP port in place: an offerer whose answer
	 * lacks it sends and receives RTCP there (RFC 5761 5.1.1).
	 */
	if (rtcp_attr && s->rtcp.port == s->rtp.port &&
	    vq_endpoint_eq(&s->rtcp, &s->rtp)) {
		/* a=rtcp naming the RTP port is mux by another spelling. */
		s->has_rtcp = false;
	}
	return 0;
}

/* An m= line listing more than SDP_MAX_FORMATS formats in @buf (NUL-ended). */
static bool too_many_formats(const char *buf)
{
	for (const char *l = buf; l; l = strpbrk(l, "\r\n")) {
		unsigned int spaces = 0;

		l += *l == '\r' || *l == '\n';
		if (l[0] != 'm' || l[1] != '=')
			continue;
		/* "m=<media> <port> <proto> <fmt> ...": two spaces before any. */
		for (; *l && *l != '\r' && *l != '\n'; l++)
			if (*l == ' ' && ++spaces > SDP_MAX_FORMATS + 2)
				return true;
		if (!*l)
			break;
	}
	return false;
}

int vq_sdp_parse(const char *body, size_t len, struct vq_sdp *out)
{
	struct vq_endpoint sess_c = { 0 };
	bool have_sess_c = false;
	uint8_t sess_dir = VQ_DIR_SENDRECV;
	sdp_message_t *sdp = NULL;
	osip_list_iterator_t it;
	sdp_attribute_t *a;
	sdp_media_t *m;
	uint32_t sess_bw;
	unsigned long ver;
	char *buf;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (len > SDP_MAX_BODY)
		return -E2BIG;
	/*
	 * libosip2 steps over a line's CR and LF before looking for the next
	 * line, so a body ending in a bare CR makes it read one byte past the
	 * terminator: pad with NULs.
	 */
	buf = calloc(1, len + SDP_PAD);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, body, len);

	if (too_many_formats(buf)) {
		err = -E2BIG;
		goto out_free_buf;
	}
	if (sdp_message_init(&sdp) || !sdp) {
		err = -ENOMEM;
		goto out_free_buf;
	}
	if (sdp_message_parse(sdp, buf) != 0) {
		err = -EINVAL;
		goto out_free_sdp;
	}

	if (sdp->c_connection) {
		sdp_connection_t *c = sdp->c_connection;

		if (parse_conn(c->c_nettype, c->c_addrtype, c->c_addr, &sess_c)) {
			err = -EINVAL;
			goto out_free_sdp;
		}
		have_sess_c = true;
	}
	for_each_elem(a, &sdp->a_attributes, it)
		if (a->a_att_field)
			sess_dir = dir_of(a->a_att_field, sess_dir);
	sess_bw = bw_as(&sdp->b_bandwidths);
	if (!parse_uint(sdp->o_sess_version, UINT64_MAX / 10, &ver))
		out->sess_version = ver;

	for_each_elem(m, &sdp->m_medias, it) {
		struct vq_sdp_stream s;

		err = parse_stream(m, have_sess_c ? &sess_c : NULL, sess_dir,
				   sess_bw, &s);
		if (err)
			goto out_free_sdp;
		if (out->n_streams == VQ_SDP_MAX_STREAMS) {
			out->n_ignored++;
			continue;
		}
		out->streams[out->n_streams++] = s;
	}

out_free_sdp:
	sdp_message_free(sdp);
out_free_buf:
	free(buf);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}
