/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "chain.h"
#include "i18n.h"
#include "notify.h"

static uint64_t watchdog_every_ms;   /* 0: no watchdog; set before threads */
static _Atomic bool ready;
/* the engine thread's alone */
static uint64_t last_ping_ms, last_status_ms, last_height = UINT64_MAX;

void mc_notify_init(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		watchdog_every_ms = usec / 2000 ? usec / 2000 : 1;
}

void mc_notify_ready(const char *listen, uint64_t height)
{
	char status[300];

	/* L10N: systemd shows it in systemctl status */
	snprintf(status, sizeof(status), _("listening on %.200s, height %llu"), listen, (unsigned long long)height);
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	atomic_store(&ready, true);
}

void mc_notify_tick(void *ctx, uint64_t height)
{
	uint64_t now = mc_now_ms();

	(void)ctx;
	if (watchdog_every_ms && now - last_ping_ms >= watchdog_every_ms) {
		sd_notify(0, "WATCHDOG=1");
		last_ping_ms = now;
	}
	if (atomic_load(&ready) && height != last_height && now - last_status_ms >= 1000) {
		char status[100];

		/* L10N: systemd shows it in systemctl status */
		snprintf(status, sizeof(status), _("serving, height %llu"), (unsigned long long)height);
		sd_notifyf(0, "STATUS=%s", status);
		last_height = height;
		last_status_ms = now;
	}
}

void mc_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
