/*
 * What a console's client sends (console.c documents the protocol): its hello, then frames of
 * input, end of input, window size, signals and its leaving; input is written to the container's
 * pty or stdin pipe without blocking, and what does not fit now waits for it to be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "helper.h"

/* Input for the container, written as far as it goes now; the rest waits for POLLOUT on in_to.
 * Without a stdin (no -i), it is dropped. */
void console_flush_in(struct relay *r)
{
	if (r->in_to >= 0)
		fcntl(r->in_to, F_SETFL, fcntl(r->in_to, F_GETFL) | O_NONBLOCK);
	while (g_console.in_at < g_console.in_len && r->in_to >= 0) {
		ssize_t n = write(r->in_to, g_console_buf.in + g_console.in_at, g_console.in_len - g_console.in_at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		g_console.in_at += (size_t)n;
	}
	g_console.in_len = g_console.in_at = 0;
}

/* 'e': a pty gets its EOF character, a pipe is closed. */
static void end_input(struct relay *r)
{
	console_flush_in(r);
	if (r->in_to < 0)
		return;
	if (r->in_to == r->pty_master) {
		struct termios t;
		char eof = 4;
		if (tcgetattr(r->pty_master, &t) == 0)
			eof = (char)t.c_cc[VEOF];
		g_console_buf.in[0] = eof;
		g_console.in_len = 1;
		console_flush_in(r);
		return;
	}
	close(r->in_to);
	r->in_to = -1;
}

static unsigned int be32(const unsigned char *b)
{
	return (unsigned int)b[0] << 24 | (unsigned int)b[1] << 16 | (unsigned int)b[2] << 8 | b[3];
}

/* A frame whose payload has all arrived. Returns -1 for a client that does not speak the protocol. */
static int frame(struct relay *r, pid_t child)
{
	unsigned int sig;
	switch (g_console.head[0]) {
	case 'i':
		return 0; /* its bytes went to g_console_buf.in as they came */
	case 'e':
		end_input(r);
		return 0;
	case 'w':
		g_console.rows = (unsigned short)(g_console.small[0] << 8 | g_console.small[1]);
		g_console.cols = (unsigned short)(g_console.small[2] << 8 | g_console.small[3]);
		if (r->pty_master >= 0)
			console_size(r->pty_master);
		return 0;
	case 's':
		sig = be32(g_console.small);
		if (sig == 0 || sig >= NSIG)
			return -1;
		if (child > 0)
			kill(child, (int)sig);
		if (sig == SIGTERM)
			r->stopping = 1;
		return 0;
	case 'd':
		g_console.owner = 0; /* it leaves on purpose: the container runs on */
		TRACE("7", "detached", "client=%d", g_console.client);
		return 0;
	}
	return -1;
}

/* What the client sent: its hello, then frames. Read only while no input waits for the container,
 * so one read's payload always fits. Returns -1 when the client is gone or speaks nonsense. */
int console_read(struct relay *r, pid_t child)
{
	unsigned char buf[CHUNK];
	ssize_t n = recv(g_console.client, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	for (size_t i = 0; i < (size_t)n;) {
		if (!g_console.greeted) {
			if (buf[i] == '\n') {
				i++;
				if (console_greet() < 0)
					return -1;
			} else if (g_console.hello_len + 1 < sizeof(g_console_buf.hello)) {
				g_console_buf.hello[g_console.hello_len++] = (char)buf[i++];
			} else {
				return -1;
			}
			continue;
		}
		if (g_console.head_len < 5) {
			g_console.head[g_console.head_len++] = buf[i++];
			if (g_console.head_len < 5)
				continue;
			g_console.left = be32(g_console.head + 1);
			g_console.small_len = 0;
			char t = (char)g_console.head[0];
			if (((t == 'w' || t == 's') && g_console.left != 4) || ((t == 'e' || t == 'd') && g_console.left != 0) || !strchr("iewsd", t))
				return -1;
		} else {
			size_t take = g_console.left < (size_t)n - i ? g_console.left : (size_t)n - i;
			if (g_console.head[0] == 'i') {
				memcpy(g_console_buf.in + g_console.in_len, buf + i, take);
				g_console.in_len += take;
			} else {
				memcpy(g_console.small + g_console.small_len, buf + i, take);
				g_console.small_len += take;
			}
			i += take;
			g_console.left -= take;
		}
		if (g_console.left == 0) {
			if (frame(r, child) < 0)
				return -1;
			g_console.head_len = 0;
		}
	}
	console_flush_in(r);
	return 0;
}
