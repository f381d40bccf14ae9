import { requestJson } from './http.js';
import type { ApiKey, AuditEntry, LedgerEntry, List, QueueSummary, User, Worker } from './types.js';

/** The audit log's query (`GET /admin/v1/audit`). */
export interface AuditFilter { action?: string; target_id?: string; user_id?: string; starting_after?: string }

/** The admin API (`/admin/v1`) with the operator's token. Not part of the SDK: plain fetch, here only. */
export class AdminApi {
  constructor(private readonly token: string) {}

  private call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) {
    return requestJson<T>(`/admin/v1${path}`, this.token, { method, ...(body !== undefined ? { body } : {}) });
  }

  users(startingAfter?: string): Promise<List<User>> {
    return this.call('GET', `/users?limit=20${startingAfter ? `&starting_after=${encodeURIComponent(startingAfter)}` : ''}`);
  }

  user(id: string): Promise<User> {
    return this.call('GET', `/users/${encodeURIComponent(id)}`);
  }

  createUser(body: { name?: string; credits?: number; api_access?: boolean }): Promise<User> {
    return this.call('POST', '/users', body);
  }

  setApiAccess(id: string, apiAccess: boolean): Promise<User> {
    return this.call('PATCH', `/users/${encodeURIComponent(id)}`, { api_access: apiAccess });
  }

  grantCredits(id: string, amount: number, reason?: string): Promise<{ user_id: string; credits: number }> {
    return this.call('POST', `/users/${encodeURIComponent(id)}/credits`, { amount, ...(reason ? { reason } : {}) });
  }

  ledger(id: string): Promise<List<LedgerEntry>> {
    return this.call('GET', `/users/${encodeURIComponent(id)}/ledger`);
  }

  keys(id: string): Promise<List<ApiKey>> {
    return this.call('GET', `/users/${encodeURIComponent(id)}/keys`);
  }

  createKey(id: string, body: { name?: string; rate_limit_per_minute?: number }): Promise<ApiKey> {
    return this.call('POST', `/users/${encodeURIComponent(id)}/keys`, body);
  }

  revokeKey(id: string, keyId: string): Promise<ApiKey> {
    return this.call('DELETE', `/users/${encodeURIComponent(id)}/keys/${encodeURIComponent(keyId)}`);
  }

  workers(): Promise<List<Worker>> {
    return this.call('GET', '/workers');
  }

  createWorker(body: { name?: string; models: string[] }): Promise<Worker> {
    return this.call('POST', '/workers', body);
  }

  revokeWorker(id: string): Promise<Worker> {
    return this.call('DELETE', `/workers/${encodeURIComponent(id)}`);
  }

  queue(): Promise<QueueSummary> {
    return this.call('GET', '/queue');
  }

  audit(filter: AuditFilter): Promise<List<AuditEntry>> {
    const query = new URLSearchParams({ limit: '20' });
    for (const [k, v] of Object.entries(filter)) if (v) query.set(k, v);
    return this.call('GET', `/audit?${query}`);
  }
}
