/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "grants.h"
#include "i18n.h"
#include "text.h"

int mc_grants_each(struct mc_txn *t, const uint8_t *subject, const uint8_t *grantee,
		   mc_grant_each_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc, vr = 0;

	if (mc_cursor_open(t, MC_DB_GRANTS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, NULL, NULL, err); rc == 0 && vr == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		struct mc_grant_state gs;
		struct mc_grant g;

		if (kn != MC_GRANT_ID_LEN || mc_grant_state_get(t, k, &gs, err) != 0 ||
		    mc_grant_decode(gs.body, gs.body_len, &g, err) != 0) {
			vr = -1;
			break;
		}
		if ((subject && memcmp(g.subject, subject, MC_HASH_LEN) != 0) ||
		    (grantee && memcmp(g.grantee, grantee, MC_PK_LEN) != 0))
			continue;
		vr = fn(t, &gs, &g, ctx, err);
	}
	mc_cursor_close(c);
	return rc < 0 || vr < 0 ? -1 : 0;
}

const char *mc_grant_status(const struct mc_grant_state *gs, const struct mc_grant *g, bool grantee_active,
			    uint64_t now)
{
	if (gs->revoked_at != MC_TIME_OPEN)
		return "revoked";
	if (!grantee_active)
		return "grantee-revoked";
	if (now < g->not_before)
		return "not-yet-valid";
	if (now > g->not_after)
		return "expired";
	return "active";
}

int mc_grant_grantee(struct mc_txn *t, const struct mc_grant *g, struct mc_identity *who, bool *active,
		     struct mc_err *err)
{
	int rc = mc_identity_get(t, g->grantee, who, err);

	if (rc < 0)
		return -1;
	if (rc != 0) {
		memset(who, 0, sizeof(*who));
		snprintf(who->name, sizeof(who->name), "?");
	}
	*active = rc == 0 && who->revoked == MC_NOT_REVOKED;
	return 0;
}

void mc_grant_scope_text(const struct mc_grant *g, char *out, size_t n)
{
	size_t sl = 0;

	if (!n)
		return;
	out[0] = '\0';
	if (g->all_categories)
		sl = (size_t)snprintf(out, n, "*");
	for (unsigned i = 0; i < g->ncat && sl < n; i++)
		sl += (size_t)snprintf(out + sl, n - sl, "%s%.*s", sl ? "," : "", (int)g->cat_len[i],
				       (const char *)g->cat[i]);
	if (g->nrec && sl < n)
		snprintf(out + sl, n - sl, "%s%u record(s)", sl ? "," : "", (unsigned)g->nrec);
}

int mc_grant_scope_parse(const char *s, struct mc_grant *g, char *store, size_t cap, struct mc_err *err)
{
	size_t used = 0;

	g->ncat = 0;
	if (strcmp(s, "*") == 0) {
		g->all_categories = true;
		return 0;
	}
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *t = s;
		size_t l = n;

		while (l && *t == ' ')
			t++, l--;
		while (l && t[l - 1] == ' ')
			l--;
		if (l && (!mc_token_valid(t, l, MC_CATEGORY_MAX) || g->ncat >= MC_SCOPE_CATS_MAX || used + l > cap))
			return mc_err_set(err, EX_USAGE,
					  _("a scope is '*' or up to %d categories of a-z, 0-9, '.', '_', '-' separated by commas"),
					  MC_SCOPE_CATS_MAX);
		if (l) {
			memcpy(store + used, t, l);
			g->cat[g->ncat] = (const uint8_t *)store + used;
			g->cat_len[g->ncat++] = l;
			used += l;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}
