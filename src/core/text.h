/* SPDX-License-Identifier: Apache-2.0 */
/* text.h - checks on text that crosses our boundary. */
#ifndef MC_TEXT_H
#define MC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool mc_utf8_valid(const void *p, size_t n);
/* UTF-8 with no C0/C1 control characters and no DEL. */
bool mc_text_clean(const void *p, size_t n);
/* A display name that looks like what it is: clean text (above) with no
 * space at either end, no two spaces in a row, and no whitespace but
 * U+0020 nor invisible format characters (no-break and thin spaces,
 * zero-width characters, soft hyphen, byte order mark, ...): two names
 * that differ only there print alike. */
bool mc_name_plain(const void *p, size_t n);
/* A category or similar token: 1..max of [a-z0-9._-]. */
bool mc_token_valid(const void *p, size_t n, size_t max);
/* A MIME type: 1..max printable ASCII with one '/', no spaces. */
bool mc_mime_valid(const void *p, size_t n, size_t max);
/* A content type whose payload is JSON text ("json" in it, in any case: a
 * MIME type is case-insensitive), so UTF-8. */
bool mc_mime_json(const char *type);

/* The text of p..n as well-formed UTF-8: each byte that does not start a
 * well-formed sequence, and each NUL, becomes U+FFFD. Returns a malloc'd
 * NUL-terminated string (NULL: out of memory). */
char *mc_utf8_lossy(const void *p, size_t n);

/* Every string that output JSON carries goes in through these (cJSON
 * escapes but does not check UTF-8): s (NULL: JSON null) is added to obj
 * under key, made well-formed by mc_utf8_lossy(); to an array when key is
 * NULL. Return the new item, NULL when out of memory. */
struct cJSON;
struct cJSON *mc_json_add_str(struct cJSON *obj, const char *key, const char *s);
struct cJSON *mc_json_add_strn(struct cJSON *obj, const char *key, const void *p, size_t n);

/* Times: RFC 3339 ("2026-11-22T10:00:00Z", an offset, or a date alone),
 * "now", or relative ("30d", "12h", "15m", "90s", with an optional sign;
 * without one, dir (+1 or -1) says which way). Milliseconds since 1970. */
int mc_time_parse(const char *s, uint64_t now_ms, int dir, uint64_t *out);
/* "2026-11-22T10:00:00.123Z"; out holds at least 32 bytes. */
void mc_time_format(uint64_t ms, char *out, size_t n);

#endif
