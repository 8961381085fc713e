# SPDX-License-Identifier: Apache-2.0
# The elements FHIR R4 marks required (minimum cardinality >= 1, and the
# invariants that demand one of several) for the resources medchain
# exports, from hl7.org/fhir/R4/auditevent.html and consent.html.
# Input: a Bundle. Output: one line per violation; nothing when all hold.
def need($r; $path; $v): if ($v == null or $v == [] or $v == "") then "\($r.resourceType)/\($r.id): missing \($path)" else empty end;
(.resourceType == "Bundle" | if . then empty else "not a Bundle" end),
need(.; "Bundle.type"; .type),
(.entry[]?.resource as $r |
  if $r.resourceType == "AuditEvent" then
    need($r; "type"; $r.type),
    need($r; "type.code"; $r.type.code),
    need($r; "recorded"; $r.recorded),
    need($r; "agent"; $r.agent),
    ($r.agent[]? | need($r; "agent.requestor"; (if (.requestor | type) == "boolean" then true else null end))),
    ($r.agent[]? | need($r; "agent.who (asked for by the issue)"; .who)),
    need($r; "source"; $r.source),
    need($r; "source.observer"; $r.source.observer),
    ($r.entity[]?.detail[]? | need($r; "entity.detail.type"; .type), need($r; "entity.detail.value[x]"; (.valueString // .valueBase64Binary))),
    (if ($r.outcome != null and ($r.outcome | IN("0","4","8","12") | not)) then "\($r.id): bad outcome code" else empty end)
  elif $r.resourceType == "Consent" then
    need($r; "status"; $r.status),
    need($r; "scope"; $r.scope),
    need($r; "category"; $r.category),
    need($r; "policy or policyRule (ppc-1)"; ($r.policy // $r.policyRule)),
    ($r.provision.actor[]? | need($r; "provision.actor.role"; .role), need($r; "provision.actor.reference"; .reference)),
    ($r.provision.data[]? | need($r; "provision.data.meaning"; .meaning), need($r; "provision.data.reference"; .reference))
  else "unexpected resource \($r.resourceType)" end)
