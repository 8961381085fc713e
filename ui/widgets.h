/* SPDX-License-Identifier: Apache-2.0 */
/* widgets.h - what the screens are drawn with: text cells that respect
 * display width (UTF-8, or ASCII on other locales), a list with a cursor
 * and paging, a detail pane, a form, a confirm dialog, a progress bar, and
 * the title and status lines. Colour only when the terminal has it and
 * neither NO_COLOR nor [console] colors = never says otherwise. */
#ifndef MC_UI_WIDGETS_H
#define MC_UI_WIDGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actions.h"
#include "app.h"
#include "ui_text.h"       /* mc_ui_copy */

enum mc_ui_style {
	MC_STYLE_NORMAL,
	MC_STYLE_TITLE,       /* the title bar */
	MC_STYLE_CURRENT,     /* the cursor row, the current tab */
	MC_STYLE_HEAD,        /* column heads, labels */
	MC_STYLE_OK,
	MC_STYLE_WARN,
	MC_STYLE_BAD,
	MC_STYLE_DIM,
};

void mc_ui_init_styles(struct mc_app *app);
/* Text at (y, x) in exactly width columns (cut or padded). */
void mc_ui_put(int y, int x, int width, enum mc_ui_style st, const char *utf8);
void mc_ui_putf(int y, int x, int width, enum mc_ui_style st, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The error line of a screen's model: err's message when rc (what its
 * load returned) is not 0, else "". */
void mc_ui_load_err(char *msg, size_t cap, int rc, const struct mc_err *err);
/* "42s ago", "5m ago", "3h ago", "2d ago" for an age in ms. */
void mc_ui_age(uint64_t ms, char *out, size_t n);
/* A row of cells, each cut or padded to display columns (not bytes: the
 * translations have accents): width > 0 left-aligned, < 0 right-aligned,
 * 0 the rest; one space between cells. */
void mc_ui_row(char *out, size_t n, const int *widths, const char *const *cells, int ncells);
/* Display width of a UTF-8 string. */
int mc_ui_width(const char *utf8);
/* An identity in a cell of width display columns: "Dr A (fdd1d306)"
 * (mc_identity_who); when it is wider, the name is cut, never the key
 * prefix (a name alone may be a revoked identity's, taken again). */
void mc_ui_who(char *out, size_t n, const char *name, const uint8_t pk[MC_PK_LEN], int width);

/* A list: count rows, a cursor and the first row shown. */
struct mc_list {
	int count;
	int cursor;
	int top;
};
/* Moves for the navigation actions; true when it moved. */
bool mc_list_action(struct mc_list *l, enum mc_action a, int page);
/* A list shown a page at a time (keyset paging): Down or PgDn on the last
 * row turns to the next page when can_next, Up or PgUp on the first row
 * to the previous one when can_prev. turn(app, next) moves to that page
 * and loads it; the cursor lands on the next page's first row or the
 * previous page's last. Any other move is mc_list_action's. */
bool mc_list_paged(struct mc_app *app, struct mc_list *l, int a, int page, bool can_next, bool can_prev,
		   void (*turn)(struct mc_app *app, bool next));
typedef void (*mc_list_row_fn)(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st);
void mc_list_draw(struct mc_list *l, int y, int x, int h, int w, const char *head,
		  mc_list_row_fn row, void *ctx);

/* A screen's list across the width, its heads at row top and its rows
 * down to bottom; empty two rows below the heads when it has no rows; the
 * hint (dim) on row bottom. */
void mc_list_body(struct mc_list *l, int top, int bottom, const char *head, mc_list_row_fn row, const char *empty,
		  const char *hint);

/* A detail pane: label/value pairs (values may be long; they are cut). */
void mc_detail_draw(int y, int x, int h, int w, const char *title, const char *const *labels,
		    const char *const *values, int n);

/* A modal form; fields are edited in place. 1 submitted, 0 cancelled. */
struct mc_form_field {
	const char *label;           /* translated */
	char value[256];
	bool hidden;                 /* never echoed (passphrases) */
	const char *const *choices;  /* a choice field: Left/Right cycles */
	int nchoices;
	int choice;
	const char *hint;            /* translated, may be NULL */
};
int mc_form_run(struct mc_app *app, const char *title, struct mc_form_field *f, int n);
/* Sets a text field's label and hint (translated; hint may be NULL) and,
 * when value is not NULL, its value (a copy, cut to fit). */
void mc_form_text(struct mc_form_field *f, const char *label, const char *hint, const char *value);
/* A yes/no question; true for yes. */
bool mc_confirm(struct mc_app *app, const char *question);
/* A scrollable text view of lines (modal; Esc or q closes). */
void mc_text_view(struct mc_app *app, const char *title, const char *text, size_t n);

void mc_progress_draw(int y, int x, int w, double frac, const char *label);
/* The title bar (screen tabs), the message line and the status line. */
void mc_chrome_draw(struct mc_app *app);

/* A key from the terminal, waiting at most ms (-1 forever); ERR if none. */
int mc_ui_getkey(int ms);

#endif
