/* SPDX-License-Identifier: Apache-2.0 */
/* notify.h - telling systemd how `medchain serve` is doing (sd_notify):
 * READY=1 once it listens with its store open, WATCHDOG=1 from the engine's
 * loop (so a hung engine stops the pings and systemd restarts the node),
 * STATUS= with the height, STOPPING=1 on the way out. Every call is a no-op
 * outside a Type=notify unit ($NOTIFY_SOCKET unset). */
#ifndef MC_NOTIFY_H
#define MC_NOTIFY_H

#include <stdint.h>

/* Reads $WATCHDOG_USEC (and $WATCHDOG_PID) once, before the engine starts. */
void mc_notify_init(void);
void mc_notify_ready(const char *listen, uint64_t height);
/* From the engine's loop, every pass: a watchdog ping every half interval,
 * and STATUS= when the height moved (at most once a second). Cheap when
 * there is nothing to send. */
void mc_notify_tick(void *ctx, uint64_t height);
void mc_notify_stopping(void);

#endif
