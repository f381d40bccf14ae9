import type { AuditContext, AuditWrite } from '../store/store.js';

/**
 * The audit row an admin use case hands to its store write (which records it in the same
 * transaction), or undefined when the caller gave no context (tests, internal setup).
 * `details` holds the changed fields and must never hold a key, token or secret.
 */
export function auditWrite(
  ctx: AuditContext | undefined,
  what: { action: string; targetType: string; targetId?: string; details?: Record<string, unknown> },
  now: number,
): AuditWrite | undefined {
  if (!ctx) return undefined;
  return {
    actor: ctx.actor, requestId: ctx.requestId, clientAddress: ctx.clientAddress,
    action: what.action, targetType: what.targetType, ...(what.targetId !== undefined ? { targetId: what.targetId } : {}),
    details: what.details ?? {}, at: now,
  };
}
