/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "text.h"

bool mc_utf8_valid(const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i = 0;

	while (i < n) {
		uint8_t c;
		uint32_t cp;
		size_t len;
		uint64_t w;

		/* ASCII fast path, eight bytes at a time */
		while (n - i >= 8) {
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

bool mc_text_clean(const void *p, size_t n)
{
	const uint8_t *s = p;

	if (!mc_utf8_valid(p, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		/* C1 controls are U+0080..U+009F: encoded 0xc2 0x80..0x9f */
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

/* Code points that print as a space or as nothing: whitespace other than
 * U+0020 and invisible format characters (Unicode White_Space and
 * Default_Ignorable_Code_Point, those a name could hold). */
static bool blank_cp(uint32_t c)
{
	return c == 0xa0 || c == 0xad || c == 0x34f || c == 0x61c || c == 0x115f || c == 0x1160 ||
	       c == 0x1680 || c == 0x17b4 || c == 0x17b5 || (c >= 0x180b && c <= 0x180f) ||
	       (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
	       (c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0x3164 ||
	       (c >= 0xfe00 && c <= 0xfe0f) || c == 0xfeff || c == 0xffa0 || (c >= 0xfff0 && c <= 0xfff8) ||
	       (c >= 0x1bca0 && c <= 0x1bca3) || (c >= 0x1d173 && c <= 0x1d17a) ||
	       (c >= 0xe0000 && c <= 0xe0fff);
}

bool mc_name_plain(const void *p, size_t n)
{
	const uint8_t *s = p;

	if (n == 0 || !mc_text_clean(p, n) || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t len;

		if (s[i] < 0x80) {
			if (s[i] == ' ' && i + 1 < n && s[i + 1] == ' ')
				return false;
			i++;
			continue;
		}
		/* well-formed (mc_text_clean): the lead byte gives the length */
		len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		c = s[i] & (len == 4 ? 0x07 : len == 3 ? 0x0f : 0x1f);
		for (size_t k = 1; k < len; k++)
			c = c << 6 | (s[i + k] & 0x3f);
		if (blank_cp(c))
			return false;
		i += len;
	}
	return true;
}

int mc_time_parse(const char *s, uint64_t now_ms, int dir, uint64_t *out)
{
	struct tm tm;
	const char *p;
	char *end;
	long long off = 0;

	if (strcmp(s, "now") == 0) {
		*out = now_ms;
		return 0;
	}
	if ((s[0] == '+' || s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && !strchr(s, 'T') &&
	    !strchr(s + 1, '-')) {
		int sign = s[0] == '-' ? -1 : s[0] == '+' ? 1 : dir;
		unsigned long long v = strtoull(s + (s[0] == '+' || s[0] == '-'), &end, 10);
		unsigned long long unit;

		switch (*end) {
		case 'd': unit = 86400000ULL; break;
		case 'h': unit = 3600000ULL; break;
		case 'm': unit = 60000ULL; break;
		case 's': unit = 1000ULL; break;
		default: return -1;
		}
		if (end[1] != '\0' || end == s || v > 100000ULL * 365)
			return -1;
		if (sign < 0)
			*out = v * unit > now_ms ? 0 : now_ms - v * unit;
		else
			*out = now_ms + v * unit;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return -1;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
			int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');

			off = (long long)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
			p += 6;
		} else {
			return -1;
		}
	}
	if (*p != '\0')
		return -1;
	{
		time_t t = timegm(&tm);

		if (t == (time_t)-1 || (long long)t - off < 0)
			return -1;
		*out = (uint64_t)((long long)t - off) * 1000ULL;
	}
	return 0;
}

void mc_time_format(uint64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == UINT64_MAX) {
		snprintf(out, n, "-");
		return;
	}
	gmtime_r(&t, &tm);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

/* The length of the well-formed sequence at s[0..n) (n >= 1), 0 if none. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	return n >= 2 && mc_utf8_valid(s, 2) ? 2
	       : n >= 3 && mc_utf8_valid(s, 3) ? 3
	       : n >= 4 && mc_utf8_valid(s, 4) ? 4 : 0;
}

char *mc_utf8_lossy(const void *p, size_t n)
{
	const uint8_t *s = p;
	char *out, *o;
	size_t i = 0;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	o = out;
	while (i < n) {
		size_t l = utf8_seq(s + i, n - i);

		if (l) {
			memcpy(o, s + i, l);
			o += l;
			i += l;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

cJSON *mc_json_add_strn(cJSON *obj, const char *key, const void *p, size_t n)
{
	char *t = p ? mc_utf8_lossy(p, n) : NULL;
	cJSON *item = p ? (t ? cJSON_CreateString(t) : NULL) : cJSON_CreateNull();

	free(t);
	if (!item)
		return NULL;
	if (key ? !cJSON_AddItemToObject(obj, key, item) : !cJSON_AddItemToArray(obj, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

cJSON *mc_json_add_str(cJSON *obj, const char *key, const char *s)
{
	return mc_json_add_strn(obj, key, s, s ? strlen(s) : 0);
}

bool mc_token_valid(const void *p, size_t n, size_t max)
{
	const uint8_t *s = p;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool mc_mime_valid(const void *p, size_t n, size_t max)
{
	const uint8_t *s = p;
	int slashes = 0;

	if (n < 3 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
		if (s[i] == '/')
			slashes++;
	}
	return slashes == 1 && s[0] != '/' && s[n - 1] != '/';
}

bool mc_mime_json(const char *type)
{
	return type && strcasestr(type, "json") != NULL;
}
