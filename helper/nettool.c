/*
 * A rootless container's way out: pasta (passt) or slirp4netns, a program of the host's that joins
 * the container's user and network namespaces, gives it an interface, and carries its traffic
 * through ordinary sockets of the user's. The front end chose which, and every argument; a field
 * "{pid}" stands for the container's first process (supervise.c, step 4b).
 *
 *   1. started as the supervisor's child, dying with it (PR_SET_PDEATHSIG): a supervisor killed with
 *      SIGKILL leaves no tool behind
 *   2. ready once it writes to fd 3: pasta its pid (-P /proc/self/fd/3, written once the
 *      interface is configured), slirp4netns a byte (--ready-fd=3); if it ends first, or takes
 *      longer than the plan allows, the container does not start, and its last line says why
 *   3. the plan's requests to its API socket (slirp4netns's port forwards), each answered without
 *      an error
 *   4. stopped (SIGTERM, then SIGKILL) once the container ended (host.c, cleanup_after)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static struct {
	pid_t pid;  /* 0: none */
	int err_r;  /* its stderr, read only when it failed */
	const char *name;
} g_tool = { 0, -1, NULL };

/* The last line of what it wrote that says something (pasta without a syslog repeats "Failed to
 * send N bytes to syslog"). */
static void last_words(char *msg, size_t len)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	msg[0] = '\0';
	fcntl(g_tool.err_r, F_SETFL, O_NONBLOCK);
	while (got < sizeof(buf) - 1 && (n = read(g_tool.err_r, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "Failed to send", 14) != 0 && line[0])
			snprintf(msg, len, "%s", line);
}

/* 1. */
static int spawn(char **argv)
{
	static char *no_env[] = { NULL };
	int ready[2], err[2];
	pid_t parent = getpid();
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return fail(errno, "cannot create a pipe");
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		/* Every fd here is above 2 (0-2 are open); 3 may be one of them, so it is moved last. */
		int r = fcntl(ready[1], F_DUPFD_CLOEXEC, 10);
		if (null < 0 || r < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err[1], 2) < 0 || dup2(r, 3) < 0)
			_exit(126);
		syscall(SYS_close_range, 4, ~0u, 0);
		execve(argv[0], argv, no_env);
		_exit(127);
	}
	close(ready[1]);
	close(err[1]);
	if (pid < 0) {
		close(ready[0]);
		close(err[0]);
		return fail(errno, "cannot start %s", argv[0]);
	}
	g_tool.pid = pid;
	g_tool.err_r = err[0];
	return ready[0];
}

/* 3. One request, one connection; an answer holding "error" is a refusal. */
static int request(const char *socket_path, const char *req)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char reply[1024];
	size_t got = 0;
	ssize_t n;
	if (strlen(socket_path) >= sizeof(a.sun_path))
		return fail(0, "the socket path %s is too long", socket_path);
	strcpy(a.sun_path, socket_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		if (s >= 0)
			close(s);
		return fail(err, "cannot reach %s's API at %s", g_tool.name, socket_path);
	}
	int ret = write_all(s, req, strlen(req));
	shutdown(s, SHUT_WR);
	while (ret >= 0 && got < sizeof(reply) - 1 && (n = read(s, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	close(s);
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (ret < 0)
		return fail(-ret, "cannot talk to %s's API", g_tool.name);
	if (got == 0 || strstr(reply, "\"error\"") != NULL)
		return fail(0, "%s refused %s: %s", g_tool.name, req, got ? reply : "no answer");
	return 0;
}

int start_net_tool(const struct plan *p, pid_t container)
{
	const struct net_tool_plan *n = &p->net_tool;
	char pidtext[16], msg[300], b[32];
	int count = 0, ret;
	if (n->argv == NULL)
		return 0;
	while (n->argv[count])
		count++;
	char **argv = calloc((size_t)count + 1, sizeof(char *));
	if (argv == NULL)
		return fail(ENOMEM, "cannot start the container's network");
	snprintf(pidtext, sizeof(pidtext), "%d", (int)container);
	for (int i = 0; i < count; i++)
		argv[i] = strcmp(n->argv[i], "{pid}") == 0 ? pidtext : n->argv[i];
	g_tool.name = strrchr(argv[0], '/') + 1;
	int ready = spawn(argv);
	free(argv);
	if (ready < 0)
		return ready;
	/* 2. */
	struct pollfd pfd = { .fd = ready, .events = POLLIN };
	do
		ret = poll(&pfd, 1, (int)n->ready_ms);
	while (ret < 0 && errno == EINTR);
	ssize_t got = ret > 0 ? read(ready, b, sizeof(b)) : -1;
	close(ready);
	if (got <= 0) {
		int status = 0, ended = waitpid(g_tool.pid, &status, ret == 0 ? WNOHANG : 0) == g_tool.pid;
		last_words(msg, sizeof(msg));
		if (ended)
			g_tool.pid = 0;
		stop_net_tool();
		if (!ended)
			return fail(0, "%s did not set up the container's network within %u ms", g_tool.name, n->ready_ms);
		return fail(0, "%s could not set up the container's network: %s", g_tool.name,
			    msg[0] ? msg : WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "it cannot be run" : "it failed without a word");
	}
	TRACE("4b", "net-tool", "program=%s pid=%d", trace_token(n->argv[0]), (int)g_tool.pid);
	for (int i = 0; i < n->n_requests; i++) {
		if ((ret = request(n->api_socket, n->requests[i])) < 0) {
			stop_net_tool();
			return ret;
		}
	}
	return 0;
}

/* 4. */
void stop_net_tool(void)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 10 * 1000000 };
	if (g_tool.pid > 0) {
		kill(g_tool.pid, SIGTERM);
		for (int i = 0; i < 50; i++) {
			if (waitpid(g_tool.pid, NULL, WNOHANG) == g_tool.pid) {
				g_tool.pid = 0;
				break;
			}
			nanosleep(&pause, NULL);
		}
		if (g_tool.pid > 0) {
			kill(g_tool.pid, SIGKILL);
			waitpid(g_tool.pid, NULL, 0);
		}
		g_tool.pid = 0;
	}
	if (g_tool.err_r >= 0)
		close(g_tool.err_r);
	g_tool.err_r = -1;
}
