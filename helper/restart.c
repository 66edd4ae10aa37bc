/*
 * A detached container's restart policy (docker's --restart), decided by the supervisor each time
 * the command ended (supervise.c, step 8):
 *
 *   no              never
 *   on-failure[:N]  when it ended with a status other than 0, at most N times (0: no limit)
 *   always          every time
 *   unless-stopped  every time, as always: the two differ only across a restart of docker's
 *                   daemon, and box has none; nothing of a container survives a reboot
 *
 * Never after a person stopped it: box stop's SIGTERM reached the supervisor, or the plan's stopped
 * file exists (box stop and box kill make it before they signal). Before each start again, a
 * back-off, as docker's: the plan's first delay (100 ms), doubled for each restart after it, capped
 * (at 1 minute); a run that lasted the plan's reset time (10 s) starts it over. A command that
 * fails at once, a fork bomb or an OOM kill make no restart come sooner. The wait is spent in the
 * relay (relay.c, relay_wait), which takes signals meanwhile: SIGTERM ends it, and the restarts.
 */
#include <fcntl.h>
#include <unistd.h>

#include "helper.h"

static int wanted(const struct restart *r, unsigned int restarts, int status)
{
	switch (r->policy) {
	case RESTART_NO:
		return 0;
	case RESTART_ON_FAILURE:
		return status != 0 && (r->max == 0 || restarts < r->max);
	case RESTART_ALWAYS:
	case RESTART_UNLESS_STOPPED:
		return 1;
	}
	return 0;
}

static int stopped(const struct restart *r, const struct relay *rl)
{
	return rl->stopping || (r->stopped_file && faccessat(AT_FDCWD, r->stopped_file, F_OK, AT_SYMLINK_NOFOLLOW) == 0);
}

/* Whether the policy starts the container again after this run (no person stopped it). */
int restart_wanted(const struct plan *p, unsigned int restarts, const struct relay *rl, int status)
{
	return wanted(&p->restart, restarts, status) && !stopped(&p->restart, rl);
}

/* The back-off before the next run. Returns 1 when it is to start again, 0 when a person stopped it
 * meanwhile. */
int restart_wait(const struct plan *p, unsigned int restarts, unsigned int *backoff_ms, struct relay *rl, long long ran_ms)
{
	const struct restart *r = &p->restart;
	if (ran_ms >= (long long)r->reset_ms)
		*backoff_ms = 0;
	*backoff_ms = *backoff_ms == 0 ? r->first_ms : *backoff_ms >= r->cap_ms / 2 ? r->cap_ms : *backoff_ms * 2;
	TRACE("8", "restart", "ran-ms=%lld backoff-ms=%u restarts=%u", ran_ms, *backoff_ms, restarts);
	return relay_wait(rl, *backoff_ms) == 0 && !stopped(r, rl);
}
