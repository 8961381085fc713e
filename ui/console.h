/* SPDX-License-Identifier: Apache-2.0 */
/* console.h - the console's entry (ui/app.c), which main.c calls when
 * medchain runs with no command on a terminal. The one ui header the
 * command layer includes; ui itself never includes the command layer. */
#ifndef MC_CONSOLE_H
#define MC_CONSOLE_H

struct mc_cli;

/* Runs the ncurses console for the session in cli until the operator
 * quits; returns a sysexits.h code. */
int mc_console_main(struct mc_cli *cli);

#endif
