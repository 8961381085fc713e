/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "codec.h"
#include "i18n.h"
#include "identity.h"
#include "screens.h"
#include "util.h"
#include "widgets.h"

static bool g_color;
static bool g_ascii;

void mc_ui_init_styles(struct mc_app *app)
{
	g_color = app->color;
	g_ascii = app->ascii;
	if (!g_color)
		return;
	start_color();
	use_default_colors();
	init_pair(1, COLOR_BLACK, COLOR_CYAN);    /* title */
	init_pair(2, COLOR_BLACK, COLOR_WHITE);   /* current */
	init_pair(3, COLOR_CYAN, -1);             /* head */
	init_pair(4, COLOR_GREEN, -1);
	init_pair(5, COLOR_YELLOW, -1);
	init_pair(6, COLOR_RED, -1);
}

static attr_t style_attr(enum mc_ui_style st)
{
	if (!g_color) {
		switch (st) {
		case MC_STYLE_TITLE: case MC_STYLE_CURRENT: return A_REVERSE;
		case MC_STYLE_HEAD: case MC_STYLE_BAD: return A_BOLD;
		case MC_STYLE_WARN: return A_UNDERLINE;
		case MC_STYLE_DIM: return A_DIM;
		default: return A_NORMAL;
		}
	}
	switch (st) {
	case MC_STYLE_TITLE: return COLOR_PAIR(1);
	case MC_STYLE_CURRENT: return COLOR_PAIR(2);
	case MC_STYLE_HEAD: return COLOR_PAIR(3) | A_BOLD;
	case MC_STYLE_OK: return COLOR_PAIR(4);
	case MC_STYLE_WARN: return COLOR_PAIR(5) | A_BOLD;
	case MC_STYLE_BAD: return COLOR_PAIR(6) | A_BOLD;
	case MC_STYLE_DIM: return A_DIM;
	default: return A_NORMAL;
	}
}

/* UTF-8 to wide characters; anything undecodable or a control character
 * becomes '?' (text from the chain is never trusted to steer the terminal). */
static size_t to_wide(const char *s, wchar_t *out, size_t cap)
{
	mbstate_t st;
	size_t n = 0;

	memset(&st, 0, sizeof(st));
	while (*s && n + 1 < cap) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, s, MB_CUR_MAX, &st);

		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&st, 0, sizeof(st));
			wc = L'?';
			r = 1;
		}
		if (wc < 0x20 || wc == 0x7f || (wc >= 0x80 && wc < 0xa0))
			wc = L'?';
		if (g_ascii && wc > 0x7e)
			wc = L'?';
		out[n++] = wc;
		s += r;
	}
	out[n] = L'\0';
	return n;
}

void mc_ui_load_err(char *msg, size_t cap, int rc, const struct mc_err *err)
{
	mc_ui_copy(msg, cap, rc != 0 ? err->msg : "");
}

int mc_ui_width(const char *utf8)
{
	wchar_t w[1024];
	size_t n = to_wide(utf8, w, MC_ARRAY_LEN(w));
	int cols = 0;

	for (size_t i = 0; i < n; i++) {
		int cw = wcwidth(w[i]);

		cols += cw > 0 ? cw : 1;
	}
	return cols;
}

/* Appends s cut or padded to w display columns (right-aligned when right). */
static size_t cell(char *out, size_t n, size_t o, const char *s, int w, bool right)
{
	mbstate_t st;
	const char *p = s, *end = s;
	int cols = 0;
	size_t len;

	memset(&st, 0, sizeof(st));
	while (*p) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, p, MB_CUR_MAX, &st);
		int cw;

		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&st, 0, sizeof(st));
			r = 1;
			cw = 1;
		} else {
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 1;
		}
		if (w > 0 && cols + cw > w)
			break;
		cols += cw;
		p += r;
		end = p;
	}
	len = (size_t)(end - s);
	if (right)
		for (; cols < w && o + 1 < n; cols++)
			out[o++] = ' ';
	if (o + len >= n)
		len = o < n ? n - o - 1 : 0;
	memcpy(out + o, s, len);
	o += len;
	if (!right)
		for (; cols < w && o + 1 < n; cols++)
			out[o++] = ' ';
	out[o < n ? o : n - 1] = '\0';
	return o;
}

void mc_ui_row(char *out, size_t n, const int *widths, const char *const *cells, int ncells)
{
	size_t o = 0;

	if (!n)
		return;
	out[0] = '\0';
	for (int i = 0; i < ncells; i++) {
		int w = widths[i];

		if (i && o + 1 < n)
			out[o++] = ' ';
		o = cell(out, n, o, cells[i] ? cells[i] : "", w < 0 ? -w : w, w < 0);
	}
}

void mc_ui_who(char *out, size_t n, const char *name, const uint8_t pk[MC_PK_LEN], int width)
{
	char cut[4 * MC_NAME_MAX + 8];
	int room = width - (MC_WHO_PREFIX + 3) - 1;   /* " (" prefix ")", and the cut's mark */
	size_t l;

	mc_identity_who(name, pk, out, n);
	if (mc_ui_width(out) <= width || room < 1)
		return;
	l = cell(cut, sizeof(cut) - 4, 0, name, room, false);
	while (l > 0 && cut[l - 1] == ' ')   /* cell's padding, or the name's own space at the cut */
		l--;
	/* marked, so a cut "Dr Alexandra" never reads as another "Dr A" */
	memcpy(cut + l, g_ascii ? "~" : "\xe2\x80\xa6" /* U+2026 */, g_ascii ? 2 : 4);
	mc_identity_who(cut, pk, out, n);
}

void mc_ui_put(int y, int x, int width, enum mc_ui_style st, const char *utf8)
{
	wchar_t w[1024];
	size_t n;
	int cols = 0;
	attr_t a = style_attr(st);

	if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	if (x + width > COLS)
		width = COLS - x;
	n = to_wide(utf8 ? utf8 : "", w, MC_ARRAY_LEN(w));
	attron(a);
	move(y, x);
	for (size_t i = 0; i < n; i++) {
		int cw = wcwidth(w[i]);

		if (cw < 1)
			cw = 1;
		if (cols + cw > width)
			break;
		addnwstr(&w[i], 1);
		cols += cw;
	}
	for (; cols < width; cols++)
		addch(' ');
	attroff(a);
}

void mc_ui_putf(int y, int x, int width, enum mc_ui_style st, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mc_ui_put(y, x, width, st, buf);
}

/* ---- list ----------------------------------------------------------------- */

bool mc_list_action(struct mc_list *l, enum mc_action a, int page)
{
	int old = l->cursor;

	if (page < 1)
		page = 1;
	switch (a) {
	case MC_ACT_UP: l->cursor--; break;
	case MC_ACT_DOWN: l->cursor++; break;
	case MC_ACT_PGUP: l->cursor -= page; break;
	case MC_ACT_PGDN: l->cursor += page; break;
	case MC_ACT_HOME: l->cursor = 0; break;
	case MC_ACT_END: l->cursor = l->count - 1; break;
	default: return false;
	}
	if (l->cursor >= l->count)
		l->cursor = l->count - 1;
	if (l->cursor < 0)
		l->cursor = 0;
	return l->cursor != old;
}

void mc_list_body(struct mc_list *l, int top, int bottom, const char *head, mc_list_row_fn row, const char *empty,
		  const char *hint)
{
	mc_list_draw(l, top, 1, bottom - top, COLS - 2, head, row, NULL);
	if (!l->count)
		mc_ui_put(top + 2, 2, COLS - 3, MC_STYLE_DIM, empty);
	mc_ui_put(bottom, 1, COLS - 2, MC_STYLE_DIM, hint);
}

bool mc_list_paged(struct mc_app *app, struct mc_list *l, int a, int page, bool can_next, bool can_prev,
		   void (*turn)(struct mc_app *app, bool next))
{
	bool next = (a == MC_ACT_DOWN || a == MC_ACT_PGDN) && can_next && l->cursor == l->count - 1;
	bool prev = (a == MC_ACT_UP || a == MC_ACT_PGUP) && can_prev && l->cursor == 0;

	if (!next && !prev)
		return mc_list_action(l, (enum mc_action)a, page);
	if (next)
		l->cursor = l->top = 0;
	turn(app, next);
	if (prev)
		l->cursor = l->count - 1;
	return true;
}

void mc_list_draw(struct mc_list *l, int y, int x, int h, int w, const char *head,
		  mc_list_row_fn row, void *ctx)
{
	int body = h - (head ? 1 : 0);

	if (head)
		mc_ui_put(y++, x, w, MC_STYLE_HEAD, head);
	if (body < 1)
		return;
	if (l->cursor >= l->count)
		l->cursor = l->count > 0 ? l->count - 1 : 0;
	if (l->cursor < l->top)
		l->top = l->cursor;
	if (l->cursor >= l->top + body)
		l->top = l->cursor - body + 1;
	if (l->top < 0)
		l->top = 0;
	for (int i = 0; i < body; i++) {
		int r = l->top + i;
		char buf[1024] = "";
		enum mc_ui_style st = MC_STYLE_NORMAL;

		if (r < l->count) {
			row(ctx, r, buf, sizeof(buf), &st);
			if (r == l->cursor)
				st = MC_STYLE_CURRENT;
		}
		mc_ui_put(y + i, x, w, st, buf);
	}
}

/* ---- detail pane ------------------------------------------------------------ */

void mc_detail_draw(int y, int x, int h, int w, const char *title, const char *const *labels,
		    const char *const *values, int n)
{
	int lw = 0;

	for (int i = 0; i < n; i++) {
		int lw_i = mc_ui_width(labels[i]);

		if (lw_i > lw)
			lw = lw_i;
	}
	if (lw > w / 2)
		lw = w / 2;
	if (title)
		mc_ui_put(y++, x, w, MC_STYLE_HEAD, title), h--;
	for (int i = 0; i < h; i++) {
		if (i < n) {
			mc_ui_put(y + i, x, lw + 1, MC_STYLE_DIM, labels[i]);
			mc_ui_put(y + i, x + lw + 2, w - lw - 2, MC_STYLE_NORMAL, values[i]);
		} else {
			mc_ui_put(y + i, x, w, MC_STYLE_NORMAL, "");
		}
	}
}

/* ---- modal widgets ------------------------------------------------------------ */

int mc_ui_getkey(int ms)
{
	wint_t wc;
	int r;

	timeout(ms);
	r = get_wch(&wc);
	if (r == ERR)
		return ERR;
	if (r == KEY_CODE_YES)
		return (int)wc;
	return (int)wc;
}

/* A key for a modal widget: after a resize the screen behind is drawn
 * again and the widget redraws itself (-1). */
static int modal_key(struct mc_app *app)
{
	int key;

	refresh();
	key = mc_ui_getkey(-1);
	if (key == KEY_RESIZE) {
		clear();
		mc_screen_redraw(app);
		return -1;
	}
	return key;
}

static void box_at(int y, int x, int h, int w, const char *title)
{
	for (int i = 0; i < h; i++)
		mc_ui_put(y + i, x, w, MC_STYLE_NORMAL, "");
	attron(A_BOLD);
	mvhline(y, x, g_ascii ? '-' : ACS_HLINE, w);
	mvhline(y + h - 1, x, g_ascii ? '-' : ACS_HLINE, w);
	mvvline(y, x, g_ascii ? '|' : ACS_VLINE, h);
	mvvline(y, x + w - 1, g_ascii ? '|' : ACS_VLINE, h);
	mvaddch(y, x, g_ascii ? '+' : ACS_ULCORNER);
	mvaddch(y, x + w - 1, g_ascii ? '+' : ACS_URCORNER);
	mvaddch(y + h - 1, x, g_ascii ? '+' : ACS_LLCORNER);
	mvaddch(y + h - 1, x + w - 1, g_ascii ? '+' : ACS_LRCORNER);
	attroff(A_BOLD);
	if (title)
		mc_ui_putf(y, x + 2, w - 4, MC_STYLE_HEAD, " %s ", title);
}

static void value_shown(const struct mc_form_field *f, char *out, size_t n)
{
	if (f->choices) {
		snprintf(out, n, "< %s >", f->choices[f->choice]);
	} else if (f->hidden) {
		size_t l = strlen(f->value);

		snprintf(out, n, "%s", l ? "********" : "");
	} else {
		snprintf(out, n, "%s", f->value);
	}
}

/* Removes the last UTF-8 character. */
static void backspace(char *s)
{
	size_t l = strlen(s);

	while (l > 0) {
		l--;
		if (((unsigned char)s[l] & 0xc0) != 0x80)
			break;
	}
	s[l] = '\0';
}

void mc_form_text(struct mc_form_field *f, const char *label, const char *hint, const char *value)
{
	f->label = label;
	f->hint = hint;
	if (value)
		mc_ui_copy(f->value, sizeof(f->value), value);
}

int mc_form_run(struct mc_app *app, const char *title, struct mc_form_field *f, int n)
{
	int cur = 0;

	curs_set(1);
	for (;;) {
		int w = COLS - 4 > 76 ? 76 : COLS - 4, h = 2 * n + 4, y, x, lw = 0, key;

		if (h > LINES - 2)
			h = LINES - 2;
		y = (LINES - h) / 2;
		x = (COLS - w) / 2;
		for (int i = 0; i < n; i++) {
			int lwi = mc_ui_width(f[i].label);

			if (lwi > lw)
				lw = lwi;
		}
		if (lw > w / 3)
			lw = w / 3;
		box_at(y, x, h, w, title);
		for (int i = 0; i < n && 1 + 2 * i < h - 2; i++) {
			char shown[300];

			value_shown(&f[i], shown, sizeof(shown));
			mc_ui_put(y + 1 + 2 * i, x + 2, lw + 1, i == cur ? MC_STYLE_HEAD : MC_STYLE_DIM, f[i].label);
			mc_ui_put(y + 1 + 2 * i, x + lw + 4, w - lw - 6, i == cur ? MC_STYLE_CURRENT : MC_STYLE_NORMAL,
				  shown);
			if (f[i].hint && 2 + 2 * i < h - 2)
				mc_ui_put(y + 2 + 2 * i, x + lw + 4, w - lw - 6, MC_STYLE_DIM, f[i].hint);
		}
		mc_ui_put(y + h - 2, x + 2, w - 4, MC_STYLE_DIM,
			  _("Tab/Down next field, Left/Right choose, Enter accept, Esc cancel"));
		{
			char shown[300];

			value_shown(&f[cur], shown, sizeof(shown));
			move(y + 1 + 2 * cur, x + lw + 4 + (f[cur].choices ? 0 : mc_ui_width(shown)));
		}
		if ((key = modal_key(app)) < 0)
			continue;
		if (key == 27) {
			curs_set(0);
			return 0;
		}
		if (key == '\n' || key == '\r' || key == KEY_ENTER) {
			if (cur < n - 1) {
				cur++;
				continue;
			}
			curs_set(0);
			return 1;
		}
		if (key == '\t' || key == KEY_DOWN) {
			cur = (cur + 1) % n;
		} else if (key == KEY_BTAB || key == KEY_UP) {
			cur = (cur + n - 1) % n;
		} else if (f[cur].choices && (key == KEY_LEFT || key == KEY_RIGHT || key == ' ')) {
			f[cur].choice = (f[cur].choice + (key == KEY_LEFT ? f[cur].nchoices - 1 : 1)) % f[cur].nchoices;
		} else if (!f[cur].choices && (key == KEY_BACKSPACE || key == 127 || key == 8)) {
			backspace(f[cur].value);
		} else if (!f[cur].choices && key >= 0x20 && key != 0x7f && key < KEY_MIN) {
			char mb[8];
			mbstate_t st;
			size_t l = strlen(f[cur].value), k;

			memset(&st, 0, sizeof(st));
			k = wcrtomb(mb, (wchar_t)key, &st);
			if (k != (size_t)-1 && l + k < sizeof(f[cur].value)) {
				memcpy(f[cur].value + l, mb, k);
				f[cur].value[l + k] = '\0';
			}
		}
	}
}

bool mc_confirm(struct mc_app *app, const char *question)
{
	for (;;) {
		int w = COLS - 4 > 70 ? 70 : COLS - 4, h = 5, y = (LINES - h) / 2, x = (COLS - w) / 2, key;

		box_at(y, x, h, w, _("Confirm"));
		mc_ui_put(y + 1, x + 2, w - 4, MC_STYLE_NORMAL, question);
		mc_ui_put(y + 3, x + 2, w - 4, MC_STYLE_DIM, _("y yes, n or Esc no"));
		if ((key = modal_key(app)) < 0)
			continue;
		if (key == 'y' || key == 'Y')
			return true;
		if (key == 'n' || key == 'N' || key == 27)
			return false;
	}
}

/* A line of a text view: where it starts in the text and its bytes. */
struct text_line {
	const char *p;
	size_t len;
};

/* Splits text into lines (an mc_buf of struct text_line) at each newline
 * and wherever a line would pass wrap characters (UTF-8 aware). On OOM
 * the lines so far are kept. */
static void text_split(const char *text, size_t n, int wrap, struct mc_buf *out)
{
	for (size_t i = 0, start = 0, chars = 0; i <= n; i++) {
		bool cont = i < n && ((unsigned char)text[i] & 0xc0) == 0x80;
		struct text_line l;

		if (!cont && i < n && text[i] != '\n')
			chars++;
		if (!(i == n || text[i] == '\n' || (!cont && chars > (size_t)wrap)))
			continue;
		l.p = text + start;
		l.len = i - start;
		if (!mc_buf_append(out, &l, sizeof(l)))
			break;
		if (i < n && text[i] != '\n') {
			start = i;      /* a wrapped line goes on here */
			chars = 1;
		} else {
			start = i + 1;
			chars = 0;
		}
	}
}

/* The view's box: lines from top, h - 2 of them, and where they are. */
static void text_page(const char *title, const struct text_line *lines, size_t nlines, int top, int h)
{
	box_at(1, 0, LINES - 2, COLS, title);
	for (int i = 0; i < h - 2 && i + 1 < LINES; i++) {
		char buf[1024];
		size_t idx = (size_t)(top + i);

		if (idx < nlines) {
			size_t l = lines[idx].len < sizeof(buf) - 1 ? lines[idx].len : sizeof(buf) - 1;

			memcpy(buf, lines[idx].p, l);
			buf[l] = '\0';
		} else {
			buf[0] = '\0';
		}
		mc_ui_put(2 + i, 2, COLS - 4, MC_STYLE_NORMAL, buf);
	}
	mc_ui_putf(LINES - 3, 2, COLS - 4, MC_STYLE_DIM, _("lines %d-%d of %zu; Up/Down/PgUp/PgDn scroll, Esc or q close"),
		   nlines ? top + 1 : 0, (int)((size_t)top + (size_t)(h - 2) < nlines ? top + h - 2 : (int)nlines),
		   nlines);
	refresh();
}

/* The first line shown after key, kept within the text. */
static int text_scroll(int top, int key, int page, size_t nlines)
{
	if (key == KEY_DOWN || key == 'j')
		top++;
	else if (key == KEY_UP || key == 'k')
		top--;
	else if (key == KEY_NPAGE || key == ' ')
		top += page;
	else if (key == KEY_PPAGE)
		top -= page;
	if (top > (int)nlines - page)
		top = (int)nlines - page;
	return top < 0 ? 0 : top;
}

void mc_text_view(struct mc_app *app, const char *title, const char *text, size_t n)
{
	/* split into lines once; the view scrolls over them */
	struct mc_buf b;
	int top = 0;

	mc_buf_init(&b);
	text_split(text, n, COLS - 4 > 10 ? COLS - 4 : 10, &b);
	for (;;) {
		const struct text_line *lines = (const struct text_line *)(void *)b.data;
		size_t nlines = b.len / sizeof(*lines);
		int h = LINES - 4, key;

		text_page(title, lines, nlines, top, h);
		key = mc_ui_getkey(-1);
		if (key == 27 || key == 'q')
			break;
		if (key == KEY_RESIZE) {
			clear();
			mc_screen_redraw(app);
		}
		top = text_scroll(top, key, h - 2, nlines);
	}
	mc_buf_release(&b);
	clear();
}

void mc_progress_draw(int y, int x, int w, double frac, const char *label)
{
	int lw = mc_ui_width(label) + 1, bw = w - lw - 2, fill;

	if (bw < 4) {
		mc_ui_put(y, x, w, MC_STYLE_NORMAL, label);
		return;
	}
	mc_ui_put(y, x, lw, MC_STYLE_NORMAL, label);
	if (frac < 0) {
		/* indeterminate: a block that sweeps */
		int pos = (int)((uint64_t)time(NULL) % (unsigned)bw);

		mvaddch(y, x + lw, '[');
		for (int i = 0; i < bw; i++)
			addch(i >= pos && i < pos + 3 ? (g_ascii ? '#' : ACS_CKBOARD) : ' ');
		addch(']');
		return;
	}
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * bw);
	mvaddch(y, x + lw, '[');
	for (int i = 0; i < bw; i++)
		addch(i < fill ? (g_ascii ? '#' : ACS_BLOCK) : (g_ascii ? '.' : ' '));
	addch(']');
}

/* ---- chrome ----------------------------------------------------------------- */

void mc_ui_age(uint64_t ms, char *out, size_t n)
{
	uint64_t s = ms / 1000;

	if (s < 120)
		snprintf(out, n, _("%llus ago"), (unsigned long long)s);
	else if (s < 7200)
		snprintf(out, n, _("%llum ago"), (unsigned long long)(s / 60));
	else if (s < 172800)
		snprintf(out, n, _("%lluh ago"), (unsigned long long)(s / 3600));
	else
		snprintf(out, n, _("%llud ago"), (unsigned long long)(s / 86400));
}

void mc_chrome_draw(struct mc_app *app)
{
	int x = 0;
	char age[32], status[512], roles[128], alerts[64], nodes[64];

	/* title: the tabs */
	mc_ui_put(0, 0, COLS, MC_STYLE_TITLE, " medchain ");
	x = 10;
	for (int i = 0; i < MC_SCR__COUNT && x < COLS; i++) {
		const struct mc_screen *s = &mc_screens[i];
		char tab[64];
		int tw;

		snprintf(tab, sizeof(tab), "%c %s ", s->key, _(s->title));
		tw = mc_ui_width(tab);
		mc_ui_put(0, x, tw, (int)app->screen == i ? MC_STYLE_CURRENT : MC_STYLE_TITLE, tab);
		x += tw;
	}
	/* the message line: a running job, or the last result */
	if (mc_job_running(&app->job)) {
		char label[320];
		uint64_t el = (mc_now_ms_mono() - app->job.started_ms) / 1000;

		snprintf(label, sizeof(label), _("%s, %llus (Esc cancels)%s%s"), app->job.label, (unsigned long long)el,
			 app->job.last_line[0] ? ": " : "", app->job.last_line);
		mc_progress_draw(LINES - 2, 0, COLS,
				 app->job.total ? (double)app->job.done / (double)app->job.total : -1.0, label);
	} else {
		mc_ui_put(LINES - 2, 0, COLS, app->msg_err ? MC_STYLE_BAD : MC_STYLE_NORMAL, app->msg);
	}
	/* the status line */
	if (app->anchored)
		mc_ui_age(app->anchor_age_ms, age, sizeof(age));
	else
		snprintf(age, sizeof(age), "%s", _("none"));
	mc_roles_format(app->me.roles, roles, sizeof(roles));
	snprintf(alerts, sizeof(alerts), P_("%u alert", "%u alerts", app->alerts), app->alerts);
	if (app->dash && app->dash->validators > 1) {
		char lhex[17];

		mc_hex(app->dash->leader, 4, lhex);
		/* L10N: the status line's nodes part: the view and the leader's key prefix */
		snprintf(nodes, sizeof(nodes), _("view %llu, leader %s"), (unsigned long long)app->dash->view, lhex);
	} else {
		snprintf(nodes, sizeof(nodes), "%s", _("single node"));
	}
	/* L10N: the status line: name (roles) | nodes | height | last anchor age | alerts; keep it short (80 columns) */
	snprintf(status, sizeof(status), _(" %s (%s) | %s | height %llu | anchor %s | %s%s"),
		 app->me.name, roles, nodes, (unsigned long long)app->height, age, alerts,
		 app->verify_failed ? _(" | VERIFY FAILED") : "");
	mc_ui_put(LINES - 1, 0, COLS, app->alerts || app->verify_failed ? MC_STYLE_WARN : MC_STYLE_TITLE, status);
}
