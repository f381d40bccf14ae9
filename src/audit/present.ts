import type { AuditEntryRecord } from '../store/store.js';

/** An audit entry as the admin API and the CLI's --json show it. */
export function presentAuditEntry(e: AuditEntryRecord): Record<string, unknown> {
  return {
    id: e.id, object: 'audit_entry', at: new Date(e.at).toISOString(), actor: e.actor, action: e.action,
    target_type: e.targetType, target_id: e.targetId, user_id: e.userId, details: e.details, request_id: e.requestId, client_address: e.clientAddress,
  };
}
