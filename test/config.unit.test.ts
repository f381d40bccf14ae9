import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { defaultCatalogPath } from '../src/paths.js';

describe('loadConfig defaults', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.ok(path.isAbsolute(c.dataDir));
    assert.equal(c.publicUrl, 'http://localhost:8080');
    assert.equal(c.adminToken, null);
    assert.equal(c.metricsToken, null);
    assert.equal(c.catalogPath, defaultCatalogPath);
    assert.equal(c.cancelRefundPercent, 100);
    assert.equal(c.executorEnabled, true);
    assert.equal(c.executorConcurrency, 16);
    assert.equal(c.leaseMs, 30_000);
    assert.equal(c.maxAttempts, 3);
    assert.equal(c.pollMs, 1_000);
    assert.equal(c.shutdownGraceMs, 30_000);
    assert.equal(c.syncWaitMs, 60_000);
    assert.equal(c.defaultRateLimitPerMinute, 60);
    assert.equal(c.bodyLimitBytes, 1_048_576);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.dashboardEnabled, true);
  });

  it('reads GENJOBS_TRUST_PROXY as a list of proxies, empty (no proxy trusted) by default and when off', () => {
    assert.deepEqual(loadConfig({}).trustedProxies, []);
    assert.deepEqual(loadConfig({ GENJOBS_TRUST_PROXY: 'off' }).trustedProxies, []);
    assert.deepEqual(loadConfig({ GENJOBS_TRUST_PROXY: ' 10.0.0.5, 10.1.0.0/16 ,loopback,::1,fd00::/8 ' }).trustedProxies, ['10.0.0.5', '10.1.0.0/16', 'loopback', '::1', 'fd00::/8']);
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '', GENJOBS_ADMIN_TOKEN: '', PUBLIC_URL: '', GENJOBS_EXECUTOR: '', LOG_LEVEL: '', DATA_DIR: '' });
    assert.equal(c.port, 8080);
    assert.equal(c.adminToken, null);
    assert.equal(c.publicUrl, 'http://localhost:8080');
    assert.equal(c.executorEnabled, true);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.dataDir, path.resolve('./data'));
  });

  it('reads set values, derives PUBLIC_URL from PORT and trims its trailing slashes', () => {
    assert.equal(loadConfig({ PORT: '9000' }).publicUrl, 'http://localhost:9000');
    const c = loadConfig({
      PORT: '9000', DATA_DIR: 'some/where', PUBLIC_URL: 'https://genjobs.example.com/', GENJOBS_ADMIN_TOKEN: 'a'.repeat(16),
      GENJOBS_CANCEL_REFUND_PERCENT: '50', GENJOBS_EXECUTOR: 'off', LOG_LEVEL: 'warn',
    });
    assert.equal(c.port, 9000);
    assert.equal(c.dataDir, path.resolve('some/where'));
    assert.equal(c.publicUrl, 'https://genjobs.example.com');
    assert.equal(c.adminToken, 'a'.repeat(16));
    assert.equal(c.cancelRefundPercent, 50);
    assert.equal(c.executorEnabled, false);
    assert.equal(c.logLevel, 'warn');
    assert.equal(loadConfig({ GENJOBS_EXECUTOR: 'TRUE' }).executorEnabled, true);
    assert.equal(loadConfig({ GENJOBS_DASHBOARD: 'off' }).dashboardEnabled, false);
    assert.equal(loadConfig({ GENJOBS_CANCEL_REFUND_PERCENT: '0' }).cancelRefundPercent, 0);
    assert.equal(loadConfig({ PORT: ' 9001 ' }).port, 9001);
  });
});

describe('loadConfig refuses bad values', () => {
  /** [variable, value, what the message must say to set]. */
  const bad: [string, string, RegExp][] = [
    ['PORT', 'abc', /set it to a whole number from 0 to 65535/],
    ['PORT', '70000', /set it to a whole number from 0 to 65535/],
    ['PORT', '80.5', /set it to a whole number from 0 to 65535/],
    ['PORT', ' ', /set it to a whole number from 0 to 65535/],
    ['PORT', '0x1F90', /set it to a whole number from 0 to 65535/],
    ['PORT', '1e3', /set it to a whole number from 0 to 65535/],
    ['GENJOBS_CANCEL_REFUND_PERCENT', '101', /set it to a whole number from 0 to 100/],
    ['GENJOBS_CANCEL_REFUND_PERCENT', '-1', /set it to a whole number from 0 to 100/],
    ['GENJOBS_EXECUTOR', 'maybe', /set it to true or false/],
    ['PUBLIC_URL', 'not-a-url', /set it to the address clients reach this server at/],
    ['PUBLIC_URL', 'ftp://x', /must be an http:\/\/ or https:\/\/ URL/],
    ['GENJOBS_ADMIN_TOKEN', 'tok3n-xyz', /use at least 16 random characters/],
    ['GENJOBS_ADMIN_TOKEN', 'a'.repeat(15), /use at least 16 random characters/],
    ['GENJOBS_METRICS_TOKEN', 'm'.repeat(15), /use at least 16 random characters/],
    ['LOG_LEVEL', 'loud', /set it to one of fatal, error, warn, info, debug, trace, silent/],
    ['GENJOBS_BODY_LIMIT', '10', /set it to a whole number from 1024 to 1073741824/],
    ['GENJOBS_RETAIN_COMPLETED', '30', /set it to an age with its unit, such as 30d/],
    ['GENJOBS_RETAIN_FAILED', 'soon', /set it to an age with its unit, such as 30d/],
    ['GENJOBS_RETAIN_CANCELLED', '12h', /jobs are kept at least 1d \(24h, the idempotency window/],
    ['GENJOBS_TRUST_PROXY', 'true', /list the addresses of your proxies instead/],
    ['GENJOBS_TRUST_PROXY', '10.0.0.5,proxy.internal', /"proxy\.internal" is not an address, a CIDR range or one of loopback/],
    ['GENJOBS_TRUST_PROXY', '10.0.0.0/33', /"10\.0\.0\.0\/33" is not an address, a CIDR range/],
    ['GENJOBS_RETENTION_BATCH', '0', /set it to a whole number from 1 to 10000/],
    ['GENJOBS_RETENTION_EVERY_MS', '10', /set it to a whole number from 1000 to 86400000/],
  ];
  for (const [name, value, says] of bad) {
    it(`throws a ConfigError naming ${name} and what to set for ${name}=${JSON.stringify(value)}`, () => {
      assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.equal(err.name, 'ConfigError');
        assert.ok(err.message.startsWith(name), `"${err.message}" should start with ${name}`);
        assert.match(err.message, says);
        // The token itself is a secret: a message about it must not repeat it.
        if (name === 'GENJOBS_ADMIN_TOKEN' || name === 'GENJOBS_METRICS_TOKEN') assert.equal(err.message.includes(value), false);
        else assert.ok(err.message.includes(`"${value}"`), `"${err.message}" should quote the bad value`);
        return true;
      });
    });
  }
});

describe('loadConfig retention', () => {
  it('keeps every job by default', () => {
    const c = loadConfig({});
    assert.deepEqual(c.retainMs, { completed: null, failed: null, cancelled: null });
    assert.equal(c.retentionBatchSize, 500);
    assert.equal(c.retentionEveryMs, 60_000);
    assert.equal(c.retentionPauseMs, 20);
  });

  it('reads an age per final status, with its unit, and off', () => {
    const c = loadConfig({ GENJOBS_RETAIN_COMPLETED: '30d', GENJOBS_RETAIN_FAILED: '90 days', GENJOBS_RETAIN_CANCELLED: 'off', GENJOBS_RETENTION_BATCH: '100' });
    assert.deepEqual(c.retainMs, { completed: 30 * 86_400_000, failed: 90 * 86_400_000, cancelled: null });
    assert.equal(c.retentionBatchSize, 100);
    assert.equal(loadConfig({ GENJOBS_RETAIN_FAILED: '36h' }).retainMs.failed, 36 * 3_600_000);
    assert.equal(loadConfig({ GENJOBS_RETAIN_FAILED: '1d' }).retainMs.failed, 86_400_000);
  });

  it('refuses the American spelling rather than ignoring it', () => {
    assert.throws(() => loadConfig({ GENJOBS_RETAIN_CANCELED: '30d' }), (err: unknown) => err instanceof ConfigError && /set GENJOBS_RETAIN_CANCELLED instead/.test(err.message));
  });
});
