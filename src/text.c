#include "config.h"

#include <string.h>

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
