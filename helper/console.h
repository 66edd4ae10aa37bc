/* Shared by console.c (the socket, its clients, output) and console_input.c (what a client sends);
 * nothing else needs it. */
#ifndef BOX_CONSOLE_H
#define BOX_CONSOLE_H

#include "helper.h"

#define CHUNK 16384

struct console {
	int listen, dirfd;         /* the socket, and its directory (the socket is unlinked by name) */
	const char *name;
	int tty;                   /* the container's command has a terminal */
	int client;                /* -1: none */
	int owner;                 /* the client is the run's caller */
	int greeted, notes;
	size_t hello_len;
	unsigned char head[5];     /* the frame being read: its header, then its payload */
	size_t head_len, left;
	unsigned char small[4];    /* 'w' and 's' payloads */
	size_t small_len;
	unsigned short rows, cols;
	size_t out_len, out_at;    /* of g_console_buf.out */
	size_t in_len, in_at;      /* of g_console_buf.in */
	int at_listen, at_client, at_in; /* their places in the relay's pollfd array, or -1 */
};
extern struct console g_console;

/* The buffers, apart: zero-initialised, they take no room in the helper's file nor memory until
 * a client uses them (the supervisor stays small). */
struct console_buffers {
	char hello[256];           /* the client's hello line, as it comes */
	char out[5 + CHUNK];       /* a frame to the client, not written yet */
	char in[CHUNK];            /* input for the container, not written yet */
};
extern struct console_buffers g_console_buf;

int console_greet(void);
int console_read(struct relay *r, pid_t child);
void console_flush_in(struct relay *r);

#endif
