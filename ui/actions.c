/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <curses.h>

#include "actions.h"
#include "app.h"
#include "i18n.h"
#include "tx.h"
#include "util.h"

#define ANY 0
/* Consent is given by the patient or recorded by staff who record consent
 * forms; a grantee (a clinician) may give up their own grant. */
#define GRANTERS (MC_ROLE_ADMIN | MC_ROLE_REGISTRAR | MC_ROLE_PATIENT)
#define REVOKERS (GRANTERS | MC_ROLE_CLINICIAN)

/* L10N: the first six are the screens' names, shown as tabs in the title
 * bar: keep them short (all seven tabs share 70 columns). The others are
 * the Help screen's explanations of each key; key names stay as they are. */
const struct mc_action_def mc_actions[] = {
	{ MC_ACT_SCREEN_1, '1', "1", MC_SCOPE_GLOBAL, N_("Dashboard"), ANY },
	{ MC_ACT_SCREEN_2, '2', "2", MC_SCOPE_GLOBAL, N_("Nodes"), ANY },
	{ MC_ACT_SCREEN_3, '3', "3", MC_SCOPE_GLOBAL, N_("Records"), ANY },
	{ MC_ACT_SCREEN_4, '4', "4", MC_SCOPE_GLOBAL, N_("Consent"), ANY },
	{ MC_ACT_SCREEN_5, '5', "5", MC_SCOPE_GLOBAL, N_("Audit"), ANY },
	{ MC_ACT_SCREEN_6, '6', "6", MC_SCOPE_GLOBAL, N_("Anchors"), ANY },
	{ MC_ACT_HELP, '?', "?", MC_SCOPE_GLOBAL, N_("help"), ANY },
	{ MC_ACT_QUIT, 'q', "q", MC_SCOPE_GLOBAL, N_("quit"), ANY },
	{ MC_ACT_UP, KEY_UP, "Up/k", MC_SCOPE_GLOBAL, N_("up"), ANY },
	{ MC_ACT_UP, 'k', NULL, MC_SCOPE_GLOBAL, NULL, ANY },
	{ MC_ACT_DOWN, KEY_DOWN, "Down/j", MC_SCOPE_GLOBAL, N_("down"), ANY },
	{ MC_ACT_DOWN, 'j', NULL, MC_SCOPE_GLOBAL, NULL, ANY },
	{ MC_ACT_PGUP, KEY_PPAGE, "PgUp", MC_SCOPE_GLOBAL, N_("page up"), ANY },
	{ MC_ACT_PGDN, KEY_NPAGE, "PgDn", MC_SCOPE_GLOBAL, N_("page down"), ANY },
	{ MC_ACT_HOME, KEY_HOME, "Home", MC_SCOPE_GLOBAL, N_("first"), ANY },
	{ MC_ACT_END, KEY_END, "End", MC_SCOPE_GLOBAL, N_("last"), ANY },
	{ MC_ACT_REFRESH, 'r', "r", MC_SCOPE_GLOBAL, N_("reload"), ANY },
	{ MC_ACT_CANCEL, 27, "Esc", MC_SCOPE_GLOBAL, N_("cancel a job, close"), ANY },
	{ MC_ACT_VERIFY, 'V', "V", MC_SCR_DASHBOARD, N_("verify the whole chain, in the background"), ANY },
	{ MC_ACT_ACK_ALERT, 'a', "a", MC_SCR_DASHBOARD,
	  N_("acknowledge the selected alert (Up/Down select it), with a reason; recorded on the chain"),
	  MC_ROLE_ADMIN },
	{ MC_ACT_OPEN, '\n', "Enter", MC_SCR_RECORDS, N_("read it: asks the purpose; consent checked, read audited"),
	  MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT },
	{ MC_ACT_OPEN, KEY_ENTER, NULL, MC_SCR_RECORDS, NULL, MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT },
	{ MC_ACT_BREAK_GLASS, 'b', "b", MC_SCR_RECORDS, N_("emergency read with a reason; flagged"),
	  MC_ROLE_CLINICIAN },
	{ MC_ACT_HISTORY, 'h', "h", MC_SCR_RECORDS, N_("the record's versions"), ANY },
	{ MC_ACT_FILTER, '/', "/", MC_SCR_RECORDS, N_("filter by patient and category"), ANY },
	{ MC_ACT_GRANT, 'g', "g", MC_SCR_CONSENT, N_("new grant (a form)"), GRANTERS },
	{ MC_ACT_REVOKE, 'x', "x", MC_SCR_CONSENT, N_("revoke the grant, with a reason"), REVOKERS },
	{ MC_ACT_FILTER, '/', "/", MC_SCR_CONSENT, N_("filter by patient and grantee"), ANY },
	{ MC_ACT_ACTIVE, 'a', "a", MC_SCR_CONSENT, N_("active grants only, or all"), ANY },
	{ MC_ACT_EXPIRING, 'e', "e", MC_SCR_CONSENT, N_("grants ending within 7 days, or all"), ANY },
	{ MC_ACT_FILTER, '/', "/", MC_SCR_AUDIT, N_("filter by patient, actor, outcome and time"), ANY },
	{ MC_ACT_FOLLOW, 'f', "f", MC_SCR_AUDIT, N_("follow: show new events as they come"), ANY },
	{ MC_ACT_EXPORT, 'e', "e", MC_SCR_AUDIT, N_("export what the filter shows: CSV or FHIR"),
	  MC_ROLE_ADMIN | MC_ROLE_AUDITOR },
	{ MC_ACT_ANCHOR_NOW, 'a', "a", MC_SCR_ANCHORS, N_("anchor now (in the background)"),
	  MC_ROLE_ADMIN | MC_ROLE_NODE | MC_ROLE_ANCHOR },
	{ MC_ACT_VERIFY_PROOF, 'v', "v", MC_SCR_ANCHORS, N_("verify a proof bundle file"), ANY },
};
const size_t mc_nactions = MC_ARRAY_LEN(mc_actions);

enum mc_action mc_action_for(int screen, int key)
{
	for (size_t i = 0; i < mc_nactions; i++)
		if (mc_actions[i].scope == screen && mc_actions[i].key == key)
			return mc_actions[i].action;
	for (size_t i = 0; i < mc_nactions; i++)
		if (mc_actions[i].scope == MC_SCOPE_GLOBAL && mc_actions[i].key == key)
			return mc_actions[i].action;
	return MC_ACT_NONE;
}
